package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSaveLoad: a state file round-trips, is private, replaces the old one
// atomically, and Remove deletes it.
func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.json")
	_, err := Load(path)
	require.ErrorIs(t, err, ErrNotFound)
	s := &State{Address: 0x0102, Elements: 2, DevKey: Key{1, 2}, IVIndex: 7, SeqLimit: 512,
		NetKeys: []NetKey{{Index: 0, Key: Key{3}}}, AppKeys: []AppKey{{Index: 1, NetIndex: 0, Key: Key{4}}},
		Models: []Model{{Element: 1, Model: "1000", AppKeys: []uint16{1}, Subs: []uint16{0xC000}}},
		RPL:    map[string]RPLEntry{RPLKey(1): {Seq: 99, IVIndex: 7}}, DefaultTTL: 5, Beacon: true}
	require.NoError(t, Save(path, s))
	got, err := Load(path)
	require.NoError(t, err)
	require.Equal(t, s, got)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	s.SeqLimit = 768
	require.NoError(t, Save(path, s))
	got, err = Load(path)
	require.NoError(t, err)
	require.Equal(t, uint32(768), got.SeqLimit)
	ents, _ := os.ReadDir(dir)
	require.Len(t, ents, 1, "no temporary file left behind")

	a, err := ParseRPLKey(RPLKey(0x1234))
	require.NoError(t, err)
	require.Equal(t, uint16(0x1234), a)

	require.NoError(t, Remove(path))
	require.NoError(t, Remove(path), "removing twice is fine")
	_, err = Load(path)
	require.ErrorIs(t, err, ErrNotFound)
}

// TestLoadRefuses: files that are not a node's state are refused.
func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"garbage":    "{",
		"version":    `{"version": 9, "unicast_address": 1, "net_keys": [{"index": 0, "key": "00000000000000000000000000000000"}]}`,
		"no address": `{"version": 1, "net_keys": [{"index": 0, "key": "00000000000000000000000000000000"}]}`,
		"no netkey":  `{"version": 1, "unicast_address": 1}`,
		"bad key":    `{"version": 1, "unicast_address": 1, "net_keys": [{"index": 0, "key": "00"}]}`,
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		_, err := Load(p)
		require.Error(t, err, name)
	}
	// A missing directory is created (TestSaveCreatesTheDirectory); a
	// parent that is a file is an error.
	require.Error(t, Save(filepath.Join(dir, "garbage", "x.json"), &State{}), "a parent that is a file")
}

// TestSaveCreatesTheDirectory: a node whose state file lives in a
// directory that does not exist yet still persists its state.
func TestSaveCreatesTheDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "Lamp.mesh.json")
	require.NoError(t, Save(path, &State{}))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
