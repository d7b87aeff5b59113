package linklayer

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// testHost records everything a controller sends to its host.
type testHost struct {
	t    testing.TB
	c    *Controller
	pkts [][]byte // H4 packets, in order
}

func (h *testHost) sink(pkt []byte) { h.pkts = append(h.pkts, slices.Clone(pkt)) }

// cmd sends an HCI command.
func (h *testHost) cmd(op hci.Opcode, params ...any) {
	var w hci.Writer
	for _, p := range params {
		switch v := p.(type) {
		case uint8:
			w.U8(v)
		case uint16:
			w.U16(v)
		case int:
			w.U16(uint16(v))
		case []byte:
			w.Bytes(v)
		default:
			h.t.Fatalf("cmd: unsupported parameter type %T", p)
		}
	}
	h.c.FromHost(hci.H4(hci.CommandPacket, hci.NewCommand(op, w.B)))
}

// acl sends ACL data.
func (h *testHost) acl(handle uint16, pb uint8, data []byte) {
	h.c.FromHost(hci.H4(hci.ACLPacket, hci.NewACL(handle, pb, data)))
}

// events returns the events with code.
func (h *testHost) events(code hci.EventCode) []hci.Event {
	var out []hci.Event
	for _, p := range h.pkts {
		if hci.PacketType(p[0]) == hci.EventPacket && hci.Event(p[1:]).Code() == code {
			out = append(out, hci.Event(p[1:]))
		}
	}
	return out
}

// leMeta returns the parameters (after the subevent code) of LE Meta
// events with subevent sub.
func (h *testHost) leMeta(sub uint8) [][]byte {
	var out [][]byte
	for _, e := range h.events(hci.EvtLEMeta) {
		if e.Subevent() == sub {
			out = append(out, e.Params()[1:])
		}
	}
	return out
}

// complete returns the return parameters of the last Command Complete for
// op.
func (h *testHost) complete(op hci.Opcode) []byte {
	h.t.Helper()
	evs := h.events(hci.EvtCommandComplete)
	for i := len(evs) - 1; i >= 0; i-- {
		cc := hci.CommandComplete(evs[i].Params())
		if cc.Opcode() == op {
			return cc.Return()
		}
	}
	h.t.Fatalf("no Command Complete for %v", op)
	return nil
}

// cmdStatus returns the status of the last Command Status for op.
func (h *testHost) cmdStatus(op hci.Opcode) hci.Status {
	h.t.Helper()
	evs := h.events(hci.EvtCommandStatus)
	for i := len(evs) - 1; i >= 0; i-- {
		cs := hci.CommandStatus(evs[i].Params())
		if cs.Opcode() == op {
			return cs.Status()
		}
	}
	h.t.Fatalf("no Command Status for %v", op)
	return 0
}

// disconnections returns the reasons of Disconnection Complete events.
func (h *testHost) disconnections() []hci.Status {
	var out []hci.Status
	for _, e := range h.events(hci.EvtDisconnectionComplete) {
		p := e.Params()
		out = append(out, hci.Status(p[3]))
	}
	return out
}

// completedPackets sums Number Of Completed Packets for handle.
func (h *testHost) completedPackets(handle uint16) int {
	n := 0
	for _, e := range h.events(hci.EvtNumberOfCompletedPackets) {
		p := e.Params()
		for i := 0; i < int(p[0]); i++ {
			if binary.LittleEndian.Uint16(p[1+4*i:]) == handle {
				n += int(binary.LittleEndian.Uint16(p[3+4*i:]))
			}
		}
	}
	return n
}

// aclIn returns the ACL packets received from the controller.
func (h *testHost) aclIn() []hci.ACL {
	var out []hci.ACL
	for _, p := range h.pkts {
		if hci.PacketType(p[0]) == hci.ACLPacket {
			out = append(out, hci.ACL(p[1:]))
		}
	}
	return out
}

// messages reassembles received ACL packets into higher-layer messages
// (PB 0b10 starts one, 0b01 continues it).
func (h *testHost) messages() [][]byte {
	var out [][]byte
	for _, a := range h.aclIn() {
		if a.PB() == hci.PBFirstFlushable || len(out) == 0 {
			out = append(out, slices.Clone(a.Data()))
			continue
		}
		out[len(out)-1] = append(out[len(out)-1], a.Data()...)
	}
	return out
}

// airPDU is one data channel packet seen on air.
type airPDU struct {
	from    *radio.Port
	ch      radio.Channel
	pdu     []byte
	start   sim.Time
	counter uint16 // the sender's connection event counter
}

// world is two controllers on one medium, connected by the test itself.
type world struct {
	t        testing.TB
	s        *sim.Scheduler
	m        *radio.Medium
	cen, per *testHost
	cc, pc   *conn
	air      []airPDU
}

var (
	centralAddr    = hci.BDAddr{0x01, 0x00, 0x00, 0x00, 0x00, 0xC0}
	peripheralAddr = hci.BDAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0xC0}
)

func newWorld(t testing.TB, seed uint64, log *zap.Logger) *world {
	if log == nil {
		log = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	s := sim.New(seed)
	m := radio.NewMedium(s, radio.Config{})
	w := &world{t: t, s: s, m: m}
	w.cen = &testHost{t: t, c: New(s, m, Config{Name: "central", Address: centralAddr}, log)}
	w.per = &testHost{t: t, c: New(s, m, Config{Name: "peripheral", Address: peripheralAddr,
		Position: radio.Position{X: 2}}, log)}
	for _, h := range []*testHost{w.cen, w.per} {
		h.c.SetHostSink(h.sink)
		// LE Meta events on, as every LE host does (the default mask has them off).
		h.cmd(hci.OpSetEventMask, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00, 0x20})
	}
	m.SetTap(func(tx *radio.Reception, from *radio.Port) {
		if tx.Channel.IsAdvertising() {
			return
		}
		a := airPDU{from: from, ch: tx.Channel, pdu: slices.Clone(tx.PDU), start: tx.Start}
		for _, cn := range []*conn{w.cc, w.pc} {
			if cn != nil && cn.port == from {
				a.counter = cn.ev.counter
			}
		}
		w.air = append(w.air, a)
	})
	return w
}

// defaultConnParams is a 30 ms connection with a 1 s supervision timeout.
func defaultConnParams() connParams {
	return connParams{
		AccessAddress: 0x71764129,
		CRCInit:       0x123456,
		WinSize:       2,
		WinOffset:     1,
		Interval:      24,
		Latency:       0,
		Timeout:       100,
		ChM:           [5]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x1F},
		Hop:           7,
		SCA:           5,
	}
}

// connect creates the connection on both sides as a CONNECT_IND that ended
// now would, and runs until it is established.
func (w *world) connect(p connParams) {
	w.t.Helper()
	end := w.s.Now()
	w.cc = w.cen.c.newConn(RoleCentral, 1, peerInfo{addr: peripheralAddr}, p, end)
	w.pc = w.per.c.newConn(RolePeripheral, 1, peerInfo{addr: centralAddr}, p, end)
	ok := w.s.RunWhile(end.Add(sim.Second), func() bool { return !(w.cc.established && w.pc.established) })
	require.True(w.t, ok, "connection not established")
}

// runUntil runs the simulation until cond holds, failing after limit.
func (w *world) runUntil(limit sim.Duration, cond func() bool, what string) {
	w.t.Helper()
	ok := w.s.RunWhile(w.s.Now().Add(limit), func() bool { return !cond() })
	require.True(w.t, ok, "timed out waiting for %s", what)
}

// ctrlOnAir returns the LL control PDUs sent by port, as payloads.
func (w *world) ctrlOnAir(from *radio.Port) []pdu.ControlPDU {
	var out []pdu.ControlPDU
	for _, a := range w.air {
		d, err := pdu.ParseData(a.pdu)
		if err != nil || a.from != from || d.LLID() != pdu.LLIDControl {
			continue
		}
		out = append(out, pdu.ControlPDU(d.Payload()))
	}
	return out
}

// uniqueCtrl drops retransmissions: consecutive identical PDUs.
func uniqueOps(cs []pdu.ControlPDU) []pdu.Opcode {
	var ops []pdu.Opcode
	var last []byte
	for _, c := range cs {
		if slices.Equal(c, last) {
			continue
		}
		last = c
		ops = append(ops, c.Opcode())
	}
	return ops
}

func TestConnEstablishes(t *testing.T) {
	w := newWorld(t, 1, nil)
	w.connect(defaultConnParams())
	w.s.RunFor(2 * sim.Second)
	require.False(t, w.cc.closed)
	require.False(t, w.pc.closed)
	require.Empty(t, w.cen.disconnections())
	require.Empty(t, w.per.disconnections())
	// About 2 s / 30 ms events passed on both sides, in step.
	require.InDelta(t, 2000/30, int(w.cc.ev.counter), 3)
	require.InDelta(t, int(w.cc.ev.counter), int(w.pc.ev.counter), 1)
	// Every central packet was on the CSA #1 channel of its event.
	csa := pdu.CSA1{Hop: 7}
	var want []radio.Channel
	for range int(w.cc.ev.counter) {
		want = append(want, radio.Channel(csa.Next(pdu.AllChannels())))
	}
	for _, a := range w.air {
		if a.from == w.cc.port && int(a.counter) < len(want) {
			require.Equal(t, want[a.counter], a.ch, "event %d", a.counter)
		}
	}
	// Read RSSI reports the last packet's RSSI (2 m in free space: -46 dBm).
	w.cen.cmd(hci.OpReadRSSI, 1)
	ret := w.cen.complete(hci.OpReadRSSI)
	require.Equal(t, []byte{0, 1, 0, byte(0xD2)}, ret)
}

// TestConnViaCreateConnection runs the whole path: advertising, LE Create
// Connection, CONNECT_IND (the lead's code calls newConn on both sides),
// then data and a disconnect.
func TestConnViaCreateConnection(t *testing.T) {
	w := newWorld(t, 30, nil)
	// ADV_IND every 20 ms on all three channels.
	w.per.cmd(hci.OpLESetAdvertisingParameters, 0x20, 0x20, uint8(0), uint8(0), uint8(0), make([]byte, 6), uint8(7), uint8(0))
	require.Equal(t, []byte{0}, w.per.complete(hci.OpLESetAdvertisingParameters))
	w.per.cmd(hci.OpLESetAdvertisingEnable, uint8(1))
	require.Equal(t, []byte{0}, w.per.complete(hci.OpLESetAdvertisingEnable))
	w.cen.cmd(hci.OpLECreateConnection, 0x60, 0x60, uint8(0), uint8(0), peripheralAddr[:], uint8(0),
		24, 24, 0, 100, 0, 0)
	require.Equal(t, hci.StatusSuccess, w.cen.cmdStatus(hci.OpLECreateConnection))
	w.runUntil(2*sim.Second, func() bool {
		return len(w.cen.leMeta(hci.LEConnectionComplete)) == 1 && len(w.per.leMeta(hci.LEConnectionComplete)) == 1
	}, "connection complete")
	hc := binary.LittleEndian.Uint16(w.cen.leMeta(hci.LEConnectionComplete)[0][1:])
	hp := binary.LittleEndian.Uint16(w.per.leMeta(hci.LEConnectionComplete)[0][1:])
	w.cen.acl(hc, hci.PBFirstNonFlushable, payload(1, 60))
	w.per.acl(hp, hci.PBFirstNonFlushable, payload(2, 10))
	w.runUntil(sim.Second, func() bool {
		return w.cen.completedPackets(hc) == 1 && w.per.completedPackets(hp) == 1
	}, "data")
	w.s.RunFor(100 * sim.Millisecond)
	require.Equal(t, [][]byte{payload(1, 60)}, w.per.messages())
	require.Equal(t, [][]byte{payload(2, 10)}, w.cen.messages())
	w.per.cmd(hci.OpDisconnect, hp, uint8(0x13))
	w.runUntil(sim.Second, func() bool {
		return len(w.cen.disconnections()) == 1 && len(w.per.disconnections()) == 1
	}, "disconnect")
	require.Equal(t, []hci.Status{hci.StatusRemoteUserTerminated}, w.cen.disconnections())
	require.Equal(t, []hci.Status{hci.StatusLocalHostTerminated}, w.per.disconnections())
}
