package vectors

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCopiesMatchShared checks that the copies here are the files in
// ../shared/vectors, when that directory exists (it does not on a clean
// clone of this repository alone).
func TestCopiesMatchShared(t *testing.T) {
	for _, name := range []string{"mesh_crypto.json", "mesh_provisioning.json"} {
		shared, err := os.ReadFile(filepath.Join(SharedDir(), name))
		if err != nil {
			t.Logf("%s: no shared copy (%v); testing the local one only", name, err)
			continue
		}
		local, err := os.ReadFile(filepath.Join(Dir(), name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(shared, local) {
			t.Errorf("%s differs from %s: copy it again", name, filepath.Join(SharedDir(), name))
		}
	}
	var c Crypto
	Load(t, "mesh_crypto.json", &c)
	var p Provisioning
	Load(t, "mesh_provisioning.json", &p)
	var s Samples
	Load(t, "mesh_samples.json", &s)
	if len(c.K2) == 0 || len(p.Transcript.Steps) == 0 || len(s.Network) == 0 {
		t.Fatal("empty vector sets")
	}
}
