package radio

import "blesim/linklayer/sim"

// Port is one device's radio on a Medium. Its methods must be called on the
// simulation goroutine.
type Port struct {
	m     *Medium
	radio *Radio // the device the port belongs to (nil: a radio of its own)
	r     Receiver
	pos   Position
	power int8

	ch        Channel
	aa        uint32
	listening bool
	until     sim.Time // listening ends here (0: until Idle)
	typeMask  uint16   // advertising PDU types accepted (0: all)
	idx       int      // index in m.listeners[ch], -1 when idle
	epoch     uint32   // bumped whenever reception is interrupted
	detached  bool

	txStart, txEnd sim.Time // air time of the port's latest transmission
}

// Transmit puts pkt on air now and returns the end of its air time. The PDU
// is copied. A detached port transmits nothing. The port keeps its listening
// state, but receives nothing that overlaps its own transmission.
func (p *Port) Transmit(pkt Packet) (end sim.Time) {
	m := p.m
	now := m.s.Now()
	end = now.Add(AirTime(len(pkt.PDU)))
	if p.detached {
		return end
	}
	p.txStart, p.txEnd = now, end
	m.stats.Transmissions++
	if m.tap != nil {
		m.tapRx = Reception{Packet: pkt, Start: now, End: end}
		m.tap(&m.tapRx, p)
		m.tapRx = Reception{}
	}
	if !pkt.Channel.Valid() {
		return end
	}
	m.start(p, pkt, now, end)
	return end
}

// Listen makes the port receive, from now on, packets on ch whose access
// address is aa. Listening again on the same channel and address changes
// nothing; anything else interrupts packets being received. An invalid
// channel makes the port idle. A port without a Receiver stays idle.
func (p *Port) Listen(ch Channel, aa uint32) { p.ListenUntil(ch, aa, 0) }

// ListenUntil is Listen for a receive window that closes by itself at
// until: packets ending after it are not received, and the port is idle
// from then on, without the caller scheduling an event to stop listening.
// until 0 means no end.
func (p *Port) ListenUntil(ch Channel, aa uint32, until sim.Time) {
	if p.detached || p.r == nil {
		return
	}
	if p.listening && p.ch == ch && p.aa == aa {
		p.until = until
		return
	}
	p.Idle()
	if !ch.Valid() {
		return
	}
	l := &p.m.listeners[ch]
	p.ch, p.aa, p.listening, p.idx, p.until = ch, aa, true, len(*l), until
	*l = append(*l, p)
}

// Idle stops receiving; packets being received are lost.
func (p *Port) Idle() {
	p.epoch++
	if !p.listening {
		return
	}
	l := p.m.listeners[p.ch]
	last := len(l) - 1
	if p.idx != last {
		l[p.idx] = l[last]
		l[p.idx].idx = p.idx
	}
	l[last] = nil
	p.m.listeners[p.ch] = l[:last]
	p.listening, p.idx = false, -1
}

// AcceptAdvTypes restricts, on the advertising channels, which advertising
// PDU types (the 4-bit PDU Type, Core v5.4 Vol 6 Part B §2.3) are handed to
// the receiver: bit t of mask accepts type t; 0 accepts everything. It
// models the link layer dropping, at its receiver, PDUs it has no use for
// (an advertiser only wants SCAN_REQ and CONNECT_IND), so the medium does
// not schedule deliveries nobody reads. Filtered packets still interfere.
func (p *Port) AcceptAdvTypes(mask uint16) { p.typeMask = mask }

// Listening returns the channel and access address the port listens on, and
// whether it listens at all.
func (p *Port) Listening() (Channel, uint32, bool) {
	if p.listening && p.until != 0 && p.until <= p.m.s.Now() {
		p.Idle()
	}
	return p.ch, p.aa, p.listening
}

// SetPosition moves the port. Packets in the air are received at the
// receiver's position when they end, from the sender's position when they
// started.
func (p *Port) SetPosition(pos Position) { p.pos = pos }

// Position returns the port's position.
func (p *Port) Position() Position { return p.pos }

// SetTxPower sets the transmit power in dBm for later transmissions.
func (p *Port) SetTxPower(dBm int8) { p.power = dBm }

// TxPower returns the transmit power in dBm.
func (p *Port) TxPower() int8 { return p.power }

// Detach removes the port from the medium for good: it stops receiving and
// later transmissions go nowhere. Its packets already in the air still
// arrive.
func (p *Port) Detach() {
	p.Idle()
	p.detached = true
}
