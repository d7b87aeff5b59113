package linklayer

import (
	"slices"

	"go.uber.org/zap"

	"blesim/linklayer/pdu"
	"blesim/vhci/hci"
)

// txPDU is the PDU in flight: sent, and resent unchanged until the peer
// acknowledges it (Vol 6 Part B §4.5.9).
type txPDU struct {
	llid    pdu.LLID
	payload []byte // as on air (sealed when encrypted)
	ctrl    pdu.Opcode
	onAck   func()
	aclEnd  bool // the last fragment of the oldest host packet
}

// ctrlOut is a queued LL control PDU. build runs when the PDU is first
// sent, so procedures with an instant pick it then, and the encryption
// procedures switch encryption at it (it runs before the PDU is sealed).
type ctrlOut struct {
	build func() []byte
	onAck func()
	enc   bool // an encryption procedure PDU: sent while enc.txPaused holds the rest back
}

// hostPacket is one ACL data packet from the host, held (and counted
// against the controller's buffers) until all its fragments are
// acknowledged.
type hostPacket struct {
	data  []byte
	start bool // PB 0b00: starts a higher-layer message
	off   int  // octets already handed to fragments
}

// arqState is the acknowledgement and flow control state (§4.5.9) and the
// transmit queues.
type arqState struct {
	sn, nesn  bool // transmitSeqNum, nextExpectedSeqNum
	inflight  *txPDU
	ctrlQ     []ctrlOut
	acl       []*hostPacket
	aclNext   int // index in acl of the packet being fragmented
	completed int // acknowledged host packets not yet reported

	terminating bool       // our LL_TERMINATE_IND is queued or sent
	termLocal   hci.Status // what our host is told when it ends
	termRx      bool       // the peer's LL_TERMINATE_IND was received
	termReason  hci.Status // its error code
}

func (a *arqState) dataPending() bool { return a.aclNext < len(a.acl) }

// busy reports whether anything is waiting to be sent or acknowledged.
func (a *arqState) busy() bool {
	return (a.inflight != nil && len(a.inflight.payload) > 0) || len(a.ctrlQ) > 0 ||
		a.dataPending() || a.terminating || a.termRx
}

func (a *arqState) awaitingTerminateAck() bool {
	return a.inflight != nil && a.inflight.llid == pdu.LLIDControl && a.inflight.ctrl == pdu.OpTerminateInd
}

// sendCtrl queues an LL control PDU; onAck (optional) runs when the peer
// acknowledges it.
func (cn *conn) sendCtrl(payload []byte, onAck func()) {
	cn.sendCtrlLazy(func() []byte { return payload }, onAck)
}

// sendCtrlLazy queues an LL control PDU built when it is first sent.
func (cn *conn) sendCtrlLazy(build func() []byte, onAck func()) {
	if cn.arq.terminating {
		return
	}
	cn.arq.ctrlQ = append(cn.arq.ctrlQ, ctrlOut{build: build, onAck: onAck})
}

// moreData is the MD bit (§4.5.6): something else that may be sent now is
// queued after the PDU being sent.
func (cn *conn) moreData() bool {
	return cn.nextCtrl() >= 0 || cn.dataAllowed()
}

// nextCtrl returns the index in ctrlQ of the control PDU to send next, or
// -1. While an encryption procedure holds the link (§5.1.3.1), only its own
// PDUs go; the others wait in order. LL_TERMINATE_IND always goes (a
// terminating link's queue holds nothing else).
func (cn *conn) nextCtrl() int {
	a := &cn.arq
	if len(a.ctrlQ) == 0 {
		return -1
	}
	if !cn.enc.txPaused || a.terminating {
		return 0
	}
	for i, q := range a.ctrlQ {
		if q.enc {
			return i
		}
	}
	return -1
}

// dataAllowed reports whether a fragment of host data may be sent now: not
// while terminating, nor during an encryption procedure (§5.1.3.1: the
// host's packets stay queued until it ends).
func (cn *conn) dataAllowed() bool {
	a := &cn.arq
	return a.dataPending() && !a.terminating && !a.termRx && !cn.enc.txPaused
}

// nextAir returns the packet to transmit now: the PDU in flight again if it
// was not acknowledged, else the next one (control PDUs first, then host
// data, else an empty PDU), with the current SN, NESN and MD.
func (cn *conn) nextAir() []byte {
	a := &cn.arq
	if a.inflight == nil {
		a.inflight = cn.pickPDU()
	}
	p := a.inflight
	h := pdu.DataHeader{LLID: p.llid, NESN: a.nesn, SN: a.sn, MD: cn.moreData()}
	air, err := pdu.AppendData(make([]byte, 0, pdu.DataHeaderLen+len(p.payload)), h, p.payload)
	if err != nil { // cannot happen: payloads are at most 251+MIC octets
		cn.log.Error("building data PDU", zap.Error(err))
		air = pdu.Empty()
	}
	return air
}

// pickPDU takes the next PDU to send: a control PDU, else a fragment of
// host data, else an empty PDU. A new non-empty PDU is sealed here, once,
// when encryption is on: retransmissions resend the same octets and the
// packet counter advances once per new PDU (Vol 6 Part E §2.1). Empty PDUs
// are never encrypted.
func (cn *conn) pickPDU() *txPDU {
	a := &cn.arq
	var p *txPDU
	switch i := cn.nextCtrl(); {
	case i >= 0:
		q := a.ctrlQ[i]
		if i == 0 {
			a.ctrlQ = a.ctrlQ[1:]
		} else { // an encryption PDU overtakes the ones held back
			a.ctrlQ = append(a.ctrlQ[:i:i], a.ctrlQ[i+1:]...)
		}
		payload := q.build()
		p = &txPDU{llid: pdu.LLIDControl, payload: payload, ctrl: pdu.Opcode(payload[0]), onAck: q.onAck}
		cn.log.Debug("LL control PDU sent", zap.Stringer("op", p.ctrl), zap.Binary("pdu", payload),
			zap.Bool("encrypted", cn.enc.tx))
	case cn.dataAllowed():
		hp := a.acl[a.aclNext]
		n := min(cn.dl.fragSize(cn.enc.tx), len(hp.data)-hp.off)
		p = &txPDU{llid: pdu.LLIDContinuation, payload: hp.data[hp.off : hp.off+n]}
		if hp.start && hp.off == 0 {
			p.llid = pdu.LLIDStart
		}
		hp.off += n
		if hp.off == len(hp.data) {
			p.aclEnd = true
			a.aclNext++
		}
	default:
		return &txPDU{llid: pdu.LLIDContinuation}
	}
	if cn.enc.tx && len(p.payload) > 0 {
		sealed, err := cn.seal(p.llid, p.payload)
		if err != nil {
			// The 39-bit packet counter is used up (2^39 PDUs: never in
			// practice). Nothing more can be sent securely.
			cn.log.Error("cannot encrypt", zap.Error(err))
			cn.c.sched.After(0, func() { cn.micFailure("packet counter exhausted") })
			return &txPDU{llid: pdu.LLIDContinuation}
		}
		p.payload = sealed
	}
	return p
}

// acked handles the acknowledgement of the PDU in flight (§4.5.9).
func (cn *conn) acked() {
	a := &cn.arq
	p := a.inflight
	a.inflight = nil
	a.sn = !a.sn
	if p.aclEnd && len(a.acl) > 0 {
		a.acl = a.acl[1:]
		a.aclNext--
		a.completed++
	}
	if p.onAck != nil {
		p.onAck()
	}
}

// rxPDU is the receive path of a data channel PDU (§4.5.9): decryption of
// a new non-empty PDU when encryption is on, acknowledgement of our PDU in
// flight, then acceptance of new data. A duplicate (old SN) is acknowledged
// again but not delivered twice, and not decrypted again (the counter
// advances once per new PDU). A MIC failure ends the connection before
// anything in the packet is acted on, acknowledgement included (enc.go). It
// reports false for a packet that cannot be received (malformed framing,
// too long), which the caller treats like a CRC error. It never panics on
// any input.
func (cn *conn) rxPDU(b []byte) (pdu.DataHeader, bool) {
	p, err := pdu.ParseData(b)
	if err != nil {
		cn.log.Debug("malformed data channel PDU", zap.Error(err), zap.Binary("pdu", b))
		return pdu.DataHeader{}, false
	}
	h := p.Header()
	payload := p.Payload()
	limit := connMaxOctets
	if cn.enc.rx {
		limit += pdu.MICLen
	}
	if len(payload) > limit {
		cn.log.Debug("data channel PDU longer than the receive buffer", zap.Int("len", len(payload)))
		return h, false
	}
	a := &cn.arq
	isNew := h.SN == a.nesn
	if isNew && cn.enc.rx && len(payload) > 0 {
		payload, err = cn.open(b[0], payload)
		if err != nil {
			cn.micFailure(err.Error())
			return h, true
		}
	}
	if h.NESN != a.sn && a.inflight != nil {
		cn.acked()
		if cn.closed {
			return h, true
		}
	}
	if !isNew {
		return h, true // duplicate
	}
	a.nesn = !a.nesn
	cn.deliver(h.LLID, payload)
	return h, true
}

// deliver hands a new PDU up: LL control PDUs to the procedures, LL data to
// the host as HCI ACL data (LLID 0b10 → PB 0b10 first automatically
// flushable, LLID 0b01 → PB 0b01 continuing; Vol 4 Part E §5.4.2).
func (cn *conn) deliver(llid pdu.LLID, payload []byte) {
	if cn.arq.termRx {
		return // nothing after LL_TERMINATE_IND
	}
	if cn.enc.busy() && cn.encUnexpected(llid, payload) {
		cn.micFailure("unexpected PDU during the encryption procedure")
		return
	}
	switch llid {
	case pdu.LLIDControl:
		cn.onControl(slices.Clone(payload))
	case pdu.LLIDStart:
		cn.c.sendACL(hci.NewACL(cn.handle, hci.PBFirstFlushable, payload))
	case pdu.LLIDContinuation:
		if len(payload) > 0 {
			cn.c.sendACL(hci.NewACL(cn.handle, hci.PBContinuing, payload))
		}
	}
}

// aclInUse counts the host packets the controller holds, against the
// aclNumDataPackets buffers it reports in LE Read Buffer Size.
func (c *Controller) aclInUse() int {
	n := 0
	for _, cn := range c.conns {
		n += len(cn.arq.acl)
	}
	return n
}

// aclFromHost takes an ACL data packet from the host (already validated)
// and queues it on its connection. The LL fragments it when it is sent,
// into PDUs no longer than the connection's effective maximum (§4.5.10).
//
// A host that overruns the controller's buffers (more than
// aclNumDataPackets unacknowledged packets, or a packet longer than
// aclDataPacketLength) loses the packet: it is dropped and reported with
// Data Buffer Overflow (Vol 4 Part E §7.7.26), as a real controller with
// finite buffers would.
func (c *Controller) aclFromHost(a hci.ACL) {
	cn := c.conns[a.Handle()]
	if cn == nil || cn.closed {
		c.log.Warn("ACL data for unknown connection handle dropped", zap.Uint16("handle", a.Handle()))
		return
	}
	data := a.Data()
	var start bool
	switch a.PB() {
	case hci.PBFirstNonFlushable, hci.PBFirstFlushable:
		start = true
	case hci.PBContinuing:
	default:
		cn.log.Warn("ACL data with reserved packet boundary flag dropped", zap.Uint8("pb", a.PB()))
		return
	}
	if len(data) > aclDataPacketLength || c.aclInUse() >= aclNumDataPackets {
		cn.log.Warn("host overran the ACL buffers; packet dropped",
			zap.Int("len", len(data)), zap.Int("in_use", c.aclInUse()))
		c.sendEvent(hci.NewEvent(hci.EvtDataBufferOverflow, []byte{0x01})) // Link_Type ACL
		return
	}
	if len(data) == 0 {
		// Nothing to put on air; the buffer is free at once.
		cn.arq.completed++
		return
	}
	cn.arq.acl = append(cn.arq.acl, &hostPacket{data: slices.Clone(data), start: start})
}
