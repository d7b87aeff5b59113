package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"blesim/linklayer/sim"
	"blesim/scenarios/world"
	"blesim/vhci"
	"blesim/vhci/hci"
)

// TestH4SocketController: a host dialling the H4 socket gets a controller
// with the world's first controller address, and its commands are answered
// while the simulation runs in real time (as `serve --hci-listen` does).
func TestH4SocketController(t *testing.T) {
	w, err := world.Parse("w.yaml", []byte("controllers:\n  - address: \"00:AA:01:00:00:07\"\n"))
	require.NoError(t, err)
	ew, err := Build(w, Options{Log: zaptest.NewLogger(t)})
	require.NoError(t, err)
	srv, err := vhci.Listen("tcp:127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close()
	go func() {
		tr, err := srv.Accept()
		if err != nil {
			return
		}
		ew.Sched.Post(func() { _, _ = ew.AttachExternal(tr, "h4-1") })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { ew.Sched.RunRealtime(ctx, sim.NewRealClock()); close(done) }()

	host, err := vhci.Dial(srv.Addr())
	require.NoError(t, err)
	defer host.Close()
	ask := func(op hci.Opcode) hci.CommandComplete {
		require.NoError(t, host.WritePacket(hci.H4(hci.CommandPacket, hci.NewCommand(op, nil))))
		pkt, err := host.ReadPacket()
		require.NoError(t, err)
		typ, body, err := hci.SplitH4(pkt)
		require.NoError(t, err)
		require.Equal(t, hci.EventPacket, typ)
		e := hci.Event(body)
		require.Equal(t, hci.EvtCommandComplete, e.Code())
		cc := hci.CommandComplete(e.Params())
		require.Equal(t, op, cc.Opcode())
		require.Equal(t, hci.StatusSuccess, cc.Status())
		return cc
	}
	ask(hci.OpReset)
	ret := ask(hci.OpReadBDADDR).Return()
	var a hci.BDAddr
	copy(a[:], ret[1:7])
	require.Equal(t, "00:AA:01:00:00:07", a.String())

	// An unknown command gets Command Status 0x01, not silence.
	require.NoError(t, host.WritePacket(hci.H4(hci.CommandPacket, hci.NewCommand(hci.MakeOpcode(0x3f, 0x123), nil))))
	pkt, err := host.ReadPacket()
	require.NoError(t, err)
	_, body, _ := hci.SplitH4(pkt)
	require.Equal(t, hci.EvtCommandStatus, hci.Event(body).Code())
	require.Equal(t, hci.StatusUnknownCommand, hci.CommandStatus(hci.Event(body).Params()).Status())
	cancel()
	<-done
}

// TestControlSocket: requests over the control socket run in the
// simulation and answer with a clear message.
func TestControlSocket(t *testing.T) {
	w, err := world.Parse("w.yaml", []byte("devices:\n  - name: Oxi\n    profile: oximeter\n"))
	require.NoError(t, err)
	ew, err := Build(w, Options{Log: zaptest.NewLogger(t)})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { ew.Sched.RunRealtime(ctx, sim.NewRealClock()); close(done) }()
	r := ew.Control(ControlRequest{Device: "Oxi", Command: "move", Args: []string{"40", "2"}})
	require.True(t, r.OK, r.Message)
	require.Contains(t, ew.Control(ControlRequest{Device: "Oxi", Command: "status"}).Message, "position [40, 2]")
	r = ew.Control(ControlRequest{Device: "Nobody", Command: "status"})
	require.False(t, r.OK)
	require.Contains(t, r.Message, `no device "Nobody"; devices: Oxi`)
	r = ew.Control(ControlRequest{Device: "Oxi", Command: "explode"})
	require.False(t, r.OK)
	require.Contains(t, r.Message, "unknown command")
	cancel()
	<-done
}
