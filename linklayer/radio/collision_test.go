package radio

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/linklayer/sim"
)

func TestCollisionEqualStrengthLosesBoth(t *testing.T) {
	s, m := newWorld(1)
	a, _ := attach(s, m, "a", -10)
	b, _ := attach(s, m, "b", 10)
	rx, r := attach(s, m, "rx", 0)
	rx.Listen(37, aa)
	a.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 1, 'a'}})
	s.RunFor(50) // partial overlap
	b.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 1, 'b'}})
	s.RunFor(sim.Millisecond)
	assert.Empty(t, r.got)
	assert.Equal(t, uint64(2), m.Stats().Collisions)
}

func TestCollisionCapture(t *testing.T) {
	s, m := newWorld(1)
	strong, _ := attach(s, m, "strong", 1) // -40 dBm at rx
	weak, _ := attach(s, m, "weak", -2)    // -46.02 dBm at rx: 6.02 dB weaker
	rx, r := attach(s, m, "rx", 0)
	rx.Listen(38, aa)
	weak.Transmit(Packet{Channel: 38, AccessAddress: aa, PDU: []byte{2, 1, 'w'}})
	strong.Transmit(Packet{Channel: 38, AccessAddress: aa, PDU: []byte{2, 1, 's'}})
	s.RunFor(sim.Millisecond)
	require.Len(t, r.got, 1)
	assert.Equal(t, "\x02\x01s", r.got[0].pdu)

	// Just under the 6 dB margin: both lost.
	weak.SetPosition(Position{X: -1.9}) // 5.58 dB weaker
	weak.Transmit(Packet{Channel: 38, AccessAddress: aa, PDU: []byte{2, 1, 'w'}})
	strong.Transmit(Packet{Channel: 38, AccessAddress: aa, PDU: []byte{2, 1, 's'}})
	s.RunFor(sim.Millisecond)
	assert.Len(t, r.got, 1)
}

func TestCollisionIsPerChannelAndTime(t *testing.T) {
	s, m := newWorld(1)
	a, _ := attach(s, m, "a", -10)
	b, _ := attach(s, m, "b", 10)
	r37p, r37 := attach(s, m, "r37", 0)
	r38p, r38 := attach(s, m, "r38", 0)
	r37p.Listen(37, aa)
	r38p.Listen(38, aa)
	// Different channels at the same time: no interference.
	a.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	b.Transmit(Packet{Channel: 38, AccessAddress: aa, PDU: []byte{2, 0}})
	s.RunFor(sim.Millisecond)
	assert.Len(t, r37.got, 1)
	assert.Len(t, r38.got, 1)
	// Back to back on one channel (second starts when the first ends): both arrive.
	end := a.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	s.RunUntil(end)
	b.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	s.RunFor(sim.Millisecond)
	assert.Len(t, r37.got, 3)
	// Another access address on the same channel still interferes.
	a.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	b.Transmit(Packet{Channel: 37, AccessAddress: 0x11223344, PDU: []byte{2, 0}})
	s.RunFor(sim.Millisecond)
	assert.Len(t, r37.got, 3)
	// An interferer that starts after the packet but before it ends counts too.
	a.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: make([]byte, 39)})
	s.RunFor(300)
	b.Transmit(Packet{Channel: 37, AccessAddress: 0x11223344, PDU: []byte{2, 0}})
	s.RunFor(sim.Millisecond)
	assert.Len(t, r37.got, 3)
}

func TestListeningMustBeContinuous(t *testing.T) {
	s, m := newWorld(1)
	tx, _ := attach(s, m, "tx", 0)
	p, r := attach(s, m, "rx", 1)
	send := func() { tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}}) }

	send() // starts before the port listens
	s.RunFor(10)
	p.Listen(37, aa)
	s.RunFor(sim.Millisecond)
	assert.Empty(t, r.got)

	send() // listening again on the same channel is harmless
	s.RunFor(10)
	p.Listen(37, aa)
	s.RunFor(sim.Millisecond)
	assert.Len(t, r.got, 1)

	send() // retuning away and back loses it
	s.RunFor(10)
	p.Listen(38, aa)
	p.Listen(37, aa)
	s.RunFor(sim.Millisecond)
	assert.Len(t, r.got, 1)

	send() // idle in between loses it
	s.RunFor(10)
	p.Idle()
	s.RunFor(sim.Millisecond)
	assert.Len(t, r.got, 1)
	ch, a, on := p.Listening()
	assert.False(t, on)
	p.Listen(39, aa)
	ch, a, on = p.Listening()
	assert.True(t, on)
	assert.Equal(t, Channel(39), ch)
	assert.Equal(t, aa, a)
}

func TestHalfDuplex(t *testing.T) {
	s, m := newWorld(1)
	tx, _ := attach(s, m, "tx", 0)
	p, r := attach(s, m, "rx", 1)
	p.Listen(37, aa)
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: make([]byte, 20)})
	s.RunFor(20)
	p.Transmit(Packet{Channel: 12, AccessAddress: 0x55667788, PDU: []byte{1, 0}}) // another channel, still deaf
	s.RunFor(sim.Millisecond)
	assert.Empty(t, r.got)
	assert.Equal(t, uint64(1), m.Stats().Interrupted)
	// Still listening afterwards.
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	s.RunFor(sim.Millisecond)
	assert.Len(t, r.got, 1)
}

func TestDetach(t *testing.T) {
	s, m := newWorld(1)
	tx, _ := attach(s, m, "tx", 0)
	p, r := attach(s, m, "rx", 1)
	q, qr := attach(s, m, "rx2", 2)
	p.Listen(37, aa)
	q.Listen(37, aa)
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	tx.Detach() // in the air already: still arrives
	p.Detach()  // detached receiver: does not
	s.RunFor(sim.Millisecond)
	assert.Empty(t, r.got)
	assert.Len(t, qr.got, 1)
	tx.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	p.Listen(37, aa) // no effect
	s.RunFor(sim.Millisecond)
	assert.Len(t, qr.got, 1)
	_, _, on := p.Listening()
	assert.False(t, on)
}

func TestTapSeesEveryTransmissionOnce(t *testing.T) {
	s, m := newWorld(1)
	a, _ := attach(s, m, "a", 0)
	p, _ := attach(s, m, "p", 1)
	p.Listen(37, aa)
	type seen struct {
		from       *Port
		ch         Channel
		pdu        string
		rssi       int8
		start, end sim.Time
	}
	var taps []seen
	m.SetTap(func(tx *Reception, from *Port) {
		taps = append(taps, seen{from, tx.Channel, string(tx.PDU), tx.RSSI(), tx.Start, tx.End})
	})
	e1 := a.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	e2 := a.Transmit(Packet{Channel: 20, AccessAddress: 0x1234, PDU: []byte{1, 1, 9}}) // nobody listens
	p.Transmit(Packet{Channel: 99, AccessAddress: aa, PDU: []byte{2, 0}})              // invalid channel
	s.RunFor(sim.Millisecond)
	require.Len(t, taps, 3)
	assert.Equal(t, seen{a, 37, "\x02\x00", 0, 0, e1}, taps[0])
	assert.Equal(t, seen{a, 20, "\x01\x01\x09", 0, 0, e2}, taps[1])
	assert.Equal(t, p, taps[2].from)
	m.SetTap(nil)
	a.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: []byte{2, 0}})
	assert.Len(t, taps, 3)
}

func TestNilReceiverAndBadInput(t *testing.T) {
	s, m := newWorld(1)
	p := m.Attach(Position{}, 0, nil)
	p.Listen(37, aa) // no receiver: stays idle
	_, _, on := p.Listening()
	assert.False(t, on)
	q, r := attach(s, m, "q", 0)
	q.Listen(200, aa) // invalid channel: idle
	_, _, on = q.Listening()
	assert.False(t, on)
	assert.NotPanics(t, func() {
		p.Transmit(Packet{Channel: 255, PDU: nil})
		p.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: nil})
		q.SetPosition(Position{X: 1e308, Y: -1e308})
		q.Listen(37, aa)
		p.Transmit(Packet{Channel: 37, AccessAddress: aa, PDU: make([]byte, 1000)})
		s.RunFor(sim.Second)
	})
	assert.Empty(t, r.got) // 1e308 m away
}

func TestNoAllocationsPerTransmission(t *testing.T) {
	s, m := newWorld(1)
	tx, _ := attach(s, m, "tx", 0)
	rx := m.Attach(Position{X: 1}, 0, countRx{new(int)})
	rx.Listen(37, aa)
	pdu := make([]byte, 39)
	pkt := Packet{Channel: 37, AccessAddress: aa, PDU: pdu}
	run := func() {
		tx.Transmit(pkt)
		s.RunFor(sim.Millisecond)
	}
	run()
	// One allocation is the scheduler's Timer (sim.At allocates one per
	// event); the medium itself allocates nothing.
	assert.LessOrEqual(t, testing.AllocsPerRun(200, run), 1.0)
	silent := Packet{Channel: 38, AccessAddress: aa, PDU: pdu} // nobody listens: no event at all
	assert.Equal(t, 0.0, testing.AllocsPerRun(200, func() { tx.Transmit(silent); s.RunFor(sim.Millisecond) }))
}

type countRx struct{ n *int }

func (c countRx) Receive(*Reception) { *c.n++ }
