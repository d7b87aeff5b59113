package radio

import (
	"math"

	"blesim/linklayer/sim"
)

// transmission is a packet in the air with at least one possible receiver.
// Records are pooled by the medium; one scheduler event delivers it to all
// of its receivers.
type transmission struct {
	m      *Medium
	rx     Reception
	pos    Position
	power  int8
	buf    []byte
	cands  []candidate
	interf []interferer
	timer  *sim.Timer // reused: delivery at the end of the air time
}

// candidate is a port that was listening when the packet started.
type candidate struct {
	p     *Port
	epoch uint32
}

// interferer is an overlapping transmission on the same channel.
type interferer struct {
	pos   Position
	power int8
}

// maxPooledPDU bounds the buffers kept on the free list.
const maxPooledPDU = 512

func (m *Medium) get() *transmission {
	if n := len(m.free); n > 0 {
		t := m.free[n-1]
		m.free[n-1] = nil
		m.free = m.free[:n-1]
		return t
	}
	t := &transmission{m: m}
	t.timer = m.s.NewTimer(t.deliver)
	return t
}

func (m *Medium) put(t *transmission) {
	clear(t.cands)
	t.cands = t.cands[:0]
	t.interf = t.interf[:0]
	t.rx = Reception{}
	if cap(t.buf) > maxPooledPDU {
		t.buf = nil
	}
	m.free = append(m.free, t)
}

// start puts a packet from p on its channel: it notes the listeners that
// may receive it, records mutual interference with the packets already in
// the air on the channel, and schedules the delivery if anyone listens.
func (m *Medium) start(p *Port, pkt Packet, now, end sim.Time) {
	ch := pkt.Channel
	var t *transmission
	ls := m.listeners[ch]
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		if l.until != 0 && l.until <= now {
			l.Idle() // its receive window closed: swap-removes it from ls
			ls = m.listeners[ch]
			i--
			continue
		}
		if l.typeMask != 0 && ch >= AdvChannel37 && len(pkt.PDU) > 0 && l.typeMask&(1<<(pkt.PDU[0]&0x0F)) == 0 {
			continue
		}
		if l.aa == pkt.AccessAddress && l != p && (l.radio == nil || l.radio != p.radio) {
			if t == nil {
				t = m.get()
			}
			t.cands = append(t.cands, candidate{l, l.epoch})
		}
	}
	// Prune ended packets and record overlaps with the ones still in the air.
	act := m.active[ch]
	j := 0
	for i := range act {
		a := &act[i]
		if a.end <= now {
			continue
		}
		if t != nil {
			t.interf = append(t.interf, interferer{a.pos, a.power})
		}
		if a.rec != nil {
			a.rec.interf = append(a.rec.interf, interferer{p.pos, p.power})
		}
		if j != i {
			act[j] = *a
		}
		j++
	}
	if j < len(act) {
		clear(act[j:])
		act = act[:j]
	}
	m.active[ch] = append(act, activeTx{end: end, pos: p.pos, power: p.power, rec: t})
	if t == nil {
		return
	}
	t.buf = append(t.buf[:0], pkt.PDU...)
	t.rx = Reception{
		Packet: Packet{Channel: ch, AccessAddress: pkt.AccessAddress, PDU: t.buf},
		Start:  now,
		End:    end,
	}
	t.pos, t.power = p.pos, p.power
	t.timer.Reset(end)
}

// deliver runs at the end of the air time: it hands the packet to every
// candidate that kept listening, is in range, did not transmit meanwhile,
// is not drowned by an overlapping packet and is not randomly lost.
func (t *transmission) deliver() {
	m := t.m
	st := &m.stats
	for i := range t.cands {
		c := t.cands[i]
		p := c.p
		if p.epoch != c.epoch || p.detached {
			st.Interrupted++
			continue
		}
		if p.txEnd > t.rx.Start && p.txStart < t.rx.End {
			st.Interrupted++ // half duplex
			continue
		}
		if p.until != 0 && p.until < t.rx.End {
			st.Interrupted++ // the receive window closed during the packet
			continue
		}
		d2 := clampD2(dist2(t.pos, p.pos))
		if d2 > m.maxD2(t.power) {
			st.BelowSensitivity++
			continue
		}
		if t.drowned(p.pos, d2) {
			st.Collisions++
			continue
		}
		if m.cfg.LossRate > 0 && m.s.Rand().Float64() < m.cfg.LossRate {
			st.RandomLoss++
			continue
		}
		t.rx.cfg, t.rx.power, t.rx.d2, t.rx.rssiSet = &m.cfg, t.power, d2, false
		st.Deliveries++
		p.r.Receive(&t.rx)
	}
	m.put(t)
}

// drowned reports whether an overlapping packet reaches at (squared
// distance d2 from this packet's sender) within CaptureDB of this packet.
func (t *transmission) drowned(at Position, d2 float64) bool {
	for _, in := range t.interf {
		if clampD2(dist2(in.pos, at)) < d2*t.m.captureRatio(in.power, t.power) {
			return true
		}
	}
	return false
}

func toInt8(v float64) int8 {
	v = math.Round(v)
	switch {
	case v > math.MaxInt8:
		return math.MaxInt8
	case v < math.MinInt8:
		return math.MinInt8
	}
	return int8(v)
}
