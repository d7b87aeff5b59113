package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/att"
	"blesim/hosts/profiles"
	"blesim/scenarios/world"
)

const bondWorld = `seed: 5
devices:
  - name: Phone
    profile: central
    address: "00:AA:02:00:00:01"
    address_type: public
  - name: Lock
    profile: generic
    position: [1, 0]
    services:
      - uuid: "1815"
        characteristics:
          - uuid: "2A56"
            properties: [read]
            value: "hex:01"
            security: encrypted
`

// session runs one world with the given state dir until the central has
// read the protected value and disconnected; it returns the central's
// events.
func session(t *testing.T, stateDir string) []profiles.Event {
	t.Helper()
	w, err := world.Parse("w.yaml", []byte(bondWorld))
	require.NoError(t, err)
	ew, err := Build(w, Options{Log: zaptest.NewLogger(t), StateDir: stateDir,
		CentralConfig: func(world.Device) profiles.CentralConfig {
			return profiles.CentralConfig{Target: "Lock", Read: []att.UUID{att.UUID16(0x2A56)}, Hold: 1e8}
		}})
	require.NoError(t, err)
	ew.Start()
	c := runUntilDisconnected(ew, "Phone")
	require.NoError(t, ew.Close())
	return c.Events
}

// TestBondsSurviveARestart: the first run pairs and bonds; a second run
// with the same state directory (a restarted blesim) encrypts from the
// stored bonds on both sides without pairing again.
func TestBondsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	first := session(t, dir)
	var paired bool
	for _, e := range first {
		if _, ok := e.(profiles.PairingComplete); ok {
			paired = true
		}
	}
	require.True(t, paired, "first run pairs: %v", first)
	for _, f := range []string{"Lock.bonds.json", "Phone.bonds.json"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, "bonds are kept in the state dir")
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}

	second := session(t, dir)
	var fromBond, readOK bool
	for _, e := range second {
		switch ev := e.(type) {
		case profiles.PairingStarted:
			t.Fatalf("the second run paired again: %v", second)
		case profiles.EncryptionChanged:
			fromBond = fromBond || (ev.Enabled && ev.FromBond)
		case profiles.Read:
			readOK = len(ev.Value) == 1 && ev.Value[0] == 1
		}
	}
	require.True(t, fromBond, "encrypted with the stored LTK: %v", second)
	require.True(t, readOK, "read the protected value: %v", second)
}
