package generic_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/generic"
	"blesim/hosts/mesh/internal/meshtest"
	"blesim/hosts/mesh/stack"
	"blesim/linklayer/sim"
)

const node = 0x0100

func setup(t *testing.T) (*meshtest.Net, *meshtest.Node, []generic.Change) {
	n := meshtest.New(t, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	nd := n.AddNode(node, meshtest.NodeConfig{})
	require.Equal(t, stack.StatusSuccess, nd.Stack.AddAppKey(0, 0, meshtest.AppKey))
	require.Equal(t, stack.StatusSuccess, nd.Stack.Bind(node, nd.OnOff.Model().ID, 0))
	return n, nd, nil
}

func get(t *testing.T, n *meshtest.Net, f func(done func(generic.Status, error))) generic.Status {
	t.Helper()
	var st *generic.Status
	f(func(s generic.Status, err error) {
		require.NoError(t, err)
		st = &s
	})
	n.Wait(10*sim.Second, func() bool { return st != nil })
	require.NotNil(t, st)
	return *st
}

// TestOnOffServer (MMDL/SR/GOO): Get, Set, Set Unacknowledged, the TID
// window, and the change events.
func TestOnOffServer(t *testing.T) {
	n, nd, _ := setup(t)
	var changes []generic.Change
	nd.OnOff.OnChange = func(c generic.Change) { changes = append(changes, c) }
	c := n.Client.OnOff

	require.Equal(t, generic.Status{}, get(t, n, func(d func(generic.Status, error)) { c.Get(node, 0, d) }), "MMDL/SR/GOO/BV-01-C off at start")
	require.True(t, get(t, n, func(d func(generic.Status, error)) { c.Set(node, 0, true, d) }).Present, "MMDL/SR/GOO/BV-02-C Set")
	require.True(t, nd.OnOff.OnOff())
	require.NoError(t, c.SetUnacknowledged(node, 0, false))
	n.Run(sim.Second)
	require.False(t, nd.OnOff.OnOff(), "MMDL/SR/GOO/BV-03-C Set Unacknowledged")
	require.Equal(t, []generic.Change{{OnOff: true, Src: 1}, {OnOff: false, Src: 1}}, changes)

	// The same TID from the same client within 6 s is a retransmission:
	// answered, not executed.
	send := func(on bool, tid uint8) {
		require.NoError(t, n.Client.Stack.Send(stack.Outgoing{Dst: node, AppIndex: 0, TTL: 5},
			access.NewMessage(generic.OpOnOffSetUnack, generic.Set{OnOff: on, TID: tid}.Marshal()), nil))
		n.Run(500 * sim.Millisecond)
	}
	send(true, 77)
	require.True(t, nd.OnOff.OnOff())
	nd.OnOff.Set(false)
	send(true, 77)
	require.False(t, nd.OnOff.OnOff(), "MMDL/SR/GOO/BV-04-C repeated TID within 6 s ignored")
	n.Run(7 * sim.Second)
	send(true, 77)
	require.True(t, nd.OnOff.OnOff(), "the same TID after 6 s is a new transaction")
}

// TestOnOffTransition: a Set with a transition time and delay reports the
// target and the remaining time, and changes the state when the time is
// up.
func TestOnOffTransition(t *testing.T) {
	n, nd, _ := setup(t)
	tt := generic.TransitionFor(2 * sim.Second)
	require.NoError(t, n.Client.Stack.Send(stack.Outgoing{Dst: node, AppIndex: 0, TTL: 5},
		access.NewMessage(generic.OpOnOffSetUnack, generic.Set{OnOff: true, TID: 1, Transition: &tt, Delay: 20}.Marshal()), nil))
	n.Run(500 * sim.Millisecond)
	require.False(t, nd.OnOff.OnOff())
	st := get(t, n, func(d func(generic.Status, error)) { n.Client.OnOff.Get(node, 0, d) })
	require.False(t, st.Present)
	require.NotNil(t, st.Target)
	require.True(t, *st.Target)
	require.Greater(t, st.Remaining.Duration(), sim.Duration(0))
	n.Run(2 * sim.Second)
	require.True(t, nd.OnOff.OnOff())
}

// TestOnOffMessages: the parameter formats and their invalid forms.
func TestOnOffMessages(t *testing.T) {
	tt := generic.TransitionTime(0x41)
	require.Equal(t, []byte{1, 9, 0x41, 3}, generic.Set{OnOff: true, TID: 9, Transition: &tt, Delay: 3}.Marshal())
	for _, bad := range [][]byte{{2, 0}, {1}, {1, 0, 0x3F, 0}, {1, 0, 0}, {0, 0, 0, 0, 0}} {
		_, err := generic.ParseSet(bad)
		require.Error(t, err, "% x", bad)
	}
	require.Equal(t, sim.Duration(1*sim.Second), generic.TransitionTime(0x41).Duration())
	require.Equal(t, 100*sim.Millisecond*62, generic.TransitionTime(62).Duration())
	require.Equal(t, generic.TransitionTime(0x40|12), generic.TransitionFor(12*sim.Second))
	on := true
	s, err := generic.ParseStatus(generic.Status{Present: false, Target: &on, Remaining: 5}.Marshal())
	require.NoError(t, err)
	require.True(t, *s.Target)
	_, err = generic.ParseStatus([]byte{3})
	require.Error(t, err)
}

// TestOnOffNeedsBinding: without the AppKey bound to it the server
// ignores the message.
func TestOnOffNeedsBinding(t *testing.T) {
	n, nd, _ := setup(t)
	require.Equal(t, stack.StatusSuccess, nd.Stack.Unbind(node, nd.OnOff.Model().ID, 0))
	var err error
	done := false
	n.Client.OnOff.Set(node, 0, true, func(_ generic.Status, e error) { err, done = e, true })
	n.Wait(30*sim.Second, func() bool { return done })
	require.ErrorIs(t, err, stack.ErrNoResponse)
	require.False(t, nd.OnOff.OnOff())
}
