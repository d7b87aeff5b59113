package stack_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/generic"
	"blesim/hosts/mesh/internal/meshtest"
	"blesim/hosts/mesh/stack"
	"blesim/hosts/mesh/store"
	"blesim/linklayer/sim"
)

const node = 0x0100

func quiet(t *testing.T) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)) }

func onOff(t *testing.T, n *meshtest.Net, on bool) error {
	var err error
	done := false
	n.Client.OnOff.Set(node, 0, on, func(_ generic.Status, e error) { err, done = e, true })
	n.Wait(30*sim.Second, func() bool { return done })
	require.True(t, done)
	return err
}

// TestStateFile (part 6): a node's keys, address, bindings, sequence
// number and replay protection list survive a restart from its state
// file; the file is private (0600) and written atomically (no temporary
// file left); Node Reset deletes it.
func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.json")
	n := meshtest.New(t, quiet(t))
	nd := n.AddNode(node, meshtest.NodeConfig{StatePath: path})
	cfg := n.Client.Cfg
	var st stack.Status
	cfg.AppKeyAdd(node, 0, 0, meshtest.AppKey, func(s stack.Status, err error) { require.NoError(t, err); st = s })
	n.Run(5 * sim.Second)
	require.Equal(t, stack.StatusSuccess, st)
	cfg.ModelAppBind(node, 0, node, 0, access.SIGModel(access.ModelOnOffServer), func(s stack.Status, err error) { require.NoError(t, err) })
	n.Run(5 * sim.Second)
	require.NoError(t, onOff(t, n, true))
	used := nd.Stack.Seq()
	require.NotZero(t, used)

	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1, "no temporary file left")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var saved store.State
	require.NoError(t, json.Unmarshal(raw, &saved))
	require.Equal(t, uint16(node), saved.Address)
	require.GreaterOrEqual(t, saved.SeqLimit, used, "the reserved block covers every SEQ used")
	require.Len(t, saved.AppKeys, 1)
	require.Contains(t, saved.RPL, "0x0001")

	// Restart: a new process loads the file (the old node is gone from
	// the air).
	n.Air.Drop = func(from, to int, _ []byte) bool { return from == 1 || to == 1 }
	again := n.NewNode(meshtest.NodeConfig{StatePath: path})
	require.NoError(t, again.Stack.Load())
	require.True(t, again.Stack.Provisioned())
	require.Equal(t, uint16(node), again.Stack.Address())
	require.GreaterOrEqual(t, again.Stack.Seq(), used, "never reuse a SEQ")
	require.Equal(t, []uint16{0}, again.OnOff.Model().AppKeys())
	e, ok := again.Stack.RPL(0x0001)
	require.True(t, ok)
	require.NotZero(t, e.Seq)

	// It stays in the network: the client switches it off.
	require.NoError(t, onOff(t, n, false))
	require.False(t, again.OnOff.OnOff())

	// Node Reset forgets it.
	reset := false
	n.Client.Cfg.NodeReset(node, 0, func(err error) { require.NoError(t, err); reset = true })
	n.Wait(10*sim.Second, func() bool { return reset })
	n.Run(sim.Second)
	require.False(t, again.Stack.Provisioned())
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorIs(t, again.Stack.Load(), store.ErrNotFound)
}

// TestSeqReserve: sequence numbers are reserved in blocks; a crash (the
// file as last written) never hands out a SEQ already used.
func TestSeqReserve(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.json")
	sched := sim.New(1)
	st, err := stack.New(stack.Config{Sched: sched, StatePath: path, SeqBlock: 8})
	require.NoError(t, err)
	require.NoError(t, st.Provision(5, 0, [16]byte{1}, 0, 9, [16]byte{2}, [16]byte{}))
	require.Equal(t, stack.StatusSuccess, st.AddAppKey(0, 0, [16]byte{3}))
	for i := 0; i < 20; i++ {
		require.NoError(t, st.Send(stack.Outgoing{Dst: 0xC000, TTL: 0}, access.NewMessage(0x01, []byte{1}), nil))
		// A crash here: what the file says must be beyond every SEQ used.
		saved, err := store.Load(path)
		require.NoError(t, err)
		require.GreaterOrEqual(t, saved.SeqLimit, st.Seq(), "after %d messages", i+1)
		require.LessOrEqual(t, saved.SeqLimit, st.Seq()+8)
	}
}

// TestLoadErrors: a broken or foreign state file is refused with a clear
// error.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	mk := func(elems int) *stack.Stack {
		locs := make([]uint16, elems)
		st, err := stack.New(stack.Config{Sched: sim.New(1), StatePath: filepath.Join(dir, "s.json"), Locations: locs})
		require.NoError(t, err)
		return st
	}
	require.ErrorIs(t, mk(1).Load(), store.ErrNotFound)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json"), []byte("{nope"), 0o600))
	require.Error(t, mk(1).Load())
	two := mk(2)
	require.NoError(t, two.Provision(0x10, 0, [16]byte{1}, 0, 0, [16]byte{2}, [16]byte{}))
	err := mk(1).Load()
	require.ErrorContains(t, err, "2 elements")
	_, err = stack.New(stack.Config{Sched: sim.New(1), DefaultTTL: 1})
	require.Error(t, err)
}

// TestIVUpdateResetsSeq: when the transmit IV Index moves on, SEQ starts
// again from 0 (§3.11.5) and the state file follows.
func TestIVUpdateResetsSeq(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.json")
	sched := sim.New(1)
	st, err := stack.New(stack.Config{Sched: sched, StatePath: path})
	require.NoError(t, err)
	require.NoError(t, st.Provision(5, 0, [16]byte{1}, 0, 9, [16]byte{2}, [16]byte{}))
	require.Equal(t, stack.StatusSuccess, st.AddAppKey(0, 0, [16]byte{3}))
	st.SetSeq(stack.IVUpdateThreshold)
	require.NoError(t, st.Send(stack.Outgoing{Dst: 0xC000}, access.NewMessage(0x01, []byte{1}), nil))
	require.True(t, st.Net.IV().Updating, "MESH/NODE/IVU/BV-03-C a node running out of SEQs starts an update")
	require.Equal(t, uint32(10), st.Net.IV().Index)
	require.Greater(t, st.Seq(), uint32(stack.IVUpdateThreshold), "the old index is used until the update completes")
	sched.RunFor(97 * 3600 * sim.Second)
	require.False(t, st.Net.IV().Updating)
	require.Zero(t, st.Seq())
	saved, err := store.Load(path)
	require.NoError(t, err)
	require.Equal(t, uint32(10), saved.IVIndex)
	require.False(t, saved.IVUpdate)
}
