package transport

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/network"
	"blesim/linklayer/sim"
)

var (
	testNet = mcrypto.Key{0x11}
	testDev = DevKey(mcrypto.Key{0x22})
)

func pair(t *testing.T) (*sim.Scheduler, *node, *node) {
	sched := sim.New(1)
	a := newNode(t, sched, 0x0001, testNet, 5)
	b := newNode(t, sched, 0x0002, testNet, 5)
	a.devKeys, b.devKeys = []Key{testDev}, []Key{testDev}
	return sched, a, b
}

func payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

func send(t *testing.T, a *node, dst uint16, p []byte, res *[]error) {
	require.NoError(t, a.tr.SendAccess(Message{Subnet: a.sub, Src: a.addr, Dst: dst, TTL: 5, Key: testDev, Payload: p},
		func(err error) { *res = append(*res, err) }))
}

// TestSegmentLost (MESH/NODE/TNPT): a lost segment is reported missing by
// the receiver's acknowledgment timer and sent again; the message arrives
// once and the sender learns it was delivered.
func TestSegmentLost(t *testing.T) {
	sched, a, b := pair(t)
	link(a, b, func(i int, _ []byte) bool { return i == 1 }) // segment 1, first time
	link(b, a, nil)
	var res []error
	p := payload(40) // 44 octets with the TransMIC: 4 segments
	send(t, a, 0x0002, p, &res)
	sched.RunFor(3 * sim.Second)
	require.Equal(t, []error{nil}, res)
	require.Len(t, b.got, 1)
	require.Equal(t, p, b.got[0].Payload)
	require.Equal(t, 1, a.tr.Stats.Retransmissions)
	require.Equal(t, 5, a.tr.Stats.SegmentsOut, "4 segments and segment 1 again")
	require.GreaterOrEqual(t, b.tr.Stats.AcksOut, 2, "the partial acknowledgment and the final one")
}

// TestUnacknowledged: without acknowledgments the sender tries the
// initial round and two retransmission rounds (SAR Unicast Retransmissions
// Without Progress Count 2), then reports ErrTimeout.
func TestUnacknowledged(t *testing.T) {
	sched, a, _ := pair(t)
	var res []error
	send(t, a, 0x0002, payload(20), &res)
	sched.RunFor(10 * sim.Second)
	require.Equal(t, []error{ErrTimeout}, res)
	require.Equal(t, 3*2, a.tr.Stats.SegmentsOut)
	require.Zero(t, a.tr.Pending())
}

// TestRetransmissionTimer: the retransmissions timer waits the unicast
// interval plus the increment per hop (§3.5.3.3): with TTL 5, 200 ms +
// 4 × 50 ms after the last segment.
func TestRetransmissionTimer(t *testing.T) {
	sched, a, _ := pair(t)
	var at []sim.Time
	a.out = func([]byte) { at = append(at, sched.Now()) }
	var res []error
	send(t, a, 0x0002, payload(20), &res)
	sched.RunFor(2 * sim.Second)
	require.GreaterOrEqual(t, len(at), 4)
	require.Equal(t, 60*sim.Millisecond, at[1].Sub(at[0]), "segment interval")
	require.Equal(t, 400*sim.Millisecond, at[2].Sub(at[1]), "unicast retransmissions timer at TTL 5")
}

// TestBusy: a Segment Acknowledgment with BlockAck 0 cancels the
// transfer with ErrBusy.
func TestBusy(t *testing.T) {
	sched, a, b := pair(t)
	link(a, b, nil)
	link(b, a, nil)
	b.tr.sar.MaxIncoming = -1 // no room at all
	var res []error
	send(t, a, 0x0002, payload(20), &res)
	sched.RunFor(2 * sim.Second)
	require.Equal(t, []error{ErrBusy}, res)
	require.Empty(t, b.got)
}

// TestDiscardTimer: a message missing a segment for the SAR Discard
// Timeout (10 s) is dropped (§3.5.3.4).
func TestDiscardTimer(t *testing.T) {
	sched, a, b := pair(t)
	link(a, b, func(i int, _ []byte) bool { return i%2 == 1 }) // segment 1 never arrives
	var res []error
	send(t, a, 0x0002, payload(20), &res)
	sched.RunFor(9 * sim.Second)
	require.Zero(t, b.tr.Stats.Discarded)
	sched.RunFor(12 * sim.Second)
	require.Equal(t, 1, b.tr.Stats.Discarded)
	require.Empty(t, b.got)
}

// TestMulticastSegmented: to a group address nothing is acknowledged; the
// sender sends 1 + SAR Multicast Retransmissions Count rounds and reports
// success; the receiver delivers the message once.
func TestMulticastSegmented(t *testing.T) {
	sched, a, b := pair(t)
	link(a, b, nil)
	b.groups = []uint16{0xC001}
	app := AppKey(1, 0, mcrypto.Key{0x33})
	b.appKeys = []Key{app}
	var res []error
	require.NoError(t, a.tr.SendAccess(Message{Subnet: a.sub, Src: 1, Dst: 0xC001, TTL: 5, Key: app, Payload: payload(30)},
		func(err error) { res = append(res, err) }))
	sched.RunFor(3 * sim.Second)
	require.Equal(t, []error{nil}, res)
	require.Equal(t, 3*3, a.tr.Stats.SegmentsOut)
	require.Len(t, b.got, 1)
	require.Zero(t, b.tr.Stats.AcksOut)
}

// TestOneAtATime: two segmented messages to one destination go one
// after the other, the second with sequence numbers after the first's
// retransmissions (else the receiver's replay protection would drop it).
func TestOneAtATime(t *testing.T) {
	sched, a, b := pair(t)
	link(a, b, func(i int, _ []byte) bool { return i == 0 })
	link(b, a, nil)
	var res []error
	send(t, a, 0x0002, payload(20), &res)
	send(t, a, 0x0002, payload(21), &res)
	require.Equal(t, 2, a.tr.Pending())
	sched.RunFor(5 * sim.Second)
	require.Equal(t, []error{nil, nil}, res)
	require.Len(t, b.got, 2)
	require.Less(t, b.got[0].Seq, b.got[1].Seq)
	require.Len(t, b.got[1].Payload, 21)
}

// TestReplayedMessage (MESH/NODE/NET): an old message replayed with its
// own SEQ is dropped by the replay protection list; a new one passes.
func TestReplayedMessage(t *testing.T) {
	sched, a, b := pair(t)
	var res []error
	send(t, a, 0x0002, payload(5), &res)
	sched.RunFor(sim.Second)
	first := a.sent[0]
	b.net.Receive(first)
	require.Len(t, b.got, 1)
	// Drop the cache so that only the RPL can stop it.
	b2 := newNode(t, sched, 0x0002, testNet, 5)
	b2.devKeys, b2.rpl = b.devKeys, b.rpl
	b2.net.Receive(first)
	require.Empty(t, b2.got)
	require.Equal(t, 1, b2.tr.Stats.Replayed)
	send(t, a, 0x0002, payload(6), &res)
	sched.RunFor(sim.Second)
	b2.net.Receive(a.sent[1])
	require.Len(t, b2.got, 1)
}

// TestSendErrors: bad parameters are refused before anything is sent.
func TestSendErrors(t *testing.T) {
	_, a, _ := pair(t)
	bad := []Message{
		{Subnet: nil, Src: 1, Dst: 2, Key: testDev, Payload: []byte{1}},
		{Subnet: a.sub, Src: 0x8000, Dst: 2, Key: testDev, Payload: []byte{1}},
		{Subnet: a.sub, Src: 1, Dst: 0, Key: testDev, Payload: []byte{1}},
		{Subnet: a.sub, Src: 1, Dst: 0x8001, Key: testDev, Payload: []byte{1}},
		{Subnet: a.sub, Src: 1, Dst: 2, TTL: 1, Key: testDev, Payload: []byte{1}},
		{Subnet: a.sub, Src: 1, Dst: 2, Key: testDev, Payload: nil},
		{Subnet: a.sub, Src: 1, Dst: 2, Key: testDev, Payload: make([]byte, 381)},
	}
	for i, m := range bad {
		require.Error(t, a.tr.SendAccess(m, nil), "case %d", i)
	}
	require.Empty(t, a.sent)
	require.NoError(t, a.tr.SendAccess(Message{Subnet: a.sub, Src: 1, Dst: 2, Key: testDev, Payload: make([]byte, 380)}, nil))
}

// TestSegmentedControl: a control message too long for one PDU is
// segmented with 8-octet segments and reassembled.
func TestSegmentedControl(t *testing.T) {
	sched, a, b := pair(t)
	link(a, b, nil)
	link(b, a, nil)
	p := payload(20)
	var res []error
	require.NoError(t, a.tr.SendControl(a.sub, 1, 2, 5, 0x0A, p, func(err error) { res = append(res, err) }))
	sched.RunFor(2 * sim.Second)
	require.Equal(t, []error{nil}, res)
	require.Len(t, b.ctl, 1)
	require.Equal(t, uint8(0x0A), b.ctl[0].Opcode)
	require.True(t, bytes.Equal(p, b.ctl[0].Params))
}

// FuzzReassembly feeds arbitrary lower transport PDUs (headers from the
// input) to a receiver: segments of every shape, duplicates, overlapping
// messages. It must never panic, and whatever it delivers was opened with
// the device key.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0x00, 0x10, 0x80, 0x00, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xff, 0x00, 0x11, 0x80, 0x00, 0x00, 0x21, 1, 2})
	f.Add([]byte{0x01, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		sched := sim.New(1)
		n := newNode(t, sched, 0x0002, testNet, 5)
		n.devKeys = []Key{testDev}
		// Records: flags (bit 0 CTL, bits 1..2 source), SEQ low octet,
		// then the lower transport PDU up to a 0xff separator.
		for len(b) >= 3 {
			rec := b
			if i := bytes.IndexByte(b[2:], 0xff); i >= 0 {
				rec, b = b[:2+i], b[3+i:]
			} else {
				b = nil
			}
			p := &network.PDU{Subnet: n.sub, IVIndex: 5, Transport: rec[2:]}
			p.CTL, p.SRC, p.SEQ, p.DST, p.TTL = rec[0]&1 != 0, 0x0100+uint16(rec[0]>>1&3), uint32(rec[1])<<4, 0x0002, 3
			n.tr.Receive(p)
			sched.RunFor(sim.Duration(rec[1]) * sim.Millisecond)
		}
		sched.RunFor(30 * sim.Second)
		for _, a := range n.got {
			require.True(t, a.Key.Device)
		}
	})
}

// FuzzLower: the lower transport parser never panics, and what parses
// encodes back to the same octets.
func FuzzLower(f *testing.F) {
	f.Add(false, []byte{0x80, 0x26, 0xac, 0x01, 1, 2, 3})
	f.Add(true, []byte{0x00, 0xa6, 0xac, 0x00, 0x00, 0x00, 0x02})
	f.Add(false, []byte{0x66, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, ctl bool, b []byte) {
		l, err := ParseLower(ctl, b)
		if err != nil {
			return
		}
		require.Equal(t, b, l.Marshal())
		if ctl && !l.Seg && l.Opcode == OpSegmentAck {
			a, err := ParseSegmentAck(l.Payload)
			require.NoError(t, err)
			require.Equal(t, l.Payload[2:], a.Params()[2:])
		}
	})
}
