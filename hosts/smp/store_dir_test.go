package smp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStoreCreatesItsDirectory: a bond file in a directory that does not
// exist yet (serve's default state dir on first run) is still saved.
func TestStoreCreatesItsDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "sub", "Lock.bonds.json")
	st, err := OpenStore(path)
	require.NoError(t, err)
	require.NoError(t, st.Save())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
