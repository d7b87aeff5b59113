package linklayer

import (
	"go.uber.org/zap"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
)

// txWindow is a transmit window (Vol 6 Part B §4.5.3, §5.1.1): the central
// sends its first packet of event ev somewhere in [start, start+size); if
// the peripheral misses it, the window moves by connInterval per event.
type txWindow struct {
	ev    uint16
	start sim.Time
	size  sim.Duration
}

// eventState is the connection event timing (§4.5.1, §4.5.5, §4.5.6).
type eventState struct {
	counter  uint16   // connEventCounter of the current or next event
	anchor   sim.Time // central: anchor of counter; peripheral: last anchor point seen
	anchorEv uint16   // peripheral: the event counter of anchor
	win      *txWindow

	inEvent     bool
	ch          radio.Channel
	listening   bool
	acceptUntil sim.Time // latest start of the packet being waited for
	first       bool     // peripheral: no packet from the central yet in this event
	sentMD      bool     // MD of the last packet sent in this event
	rxMD        bool     // MD of the last packet received in this event
	skipped     uint16   // peripheral: events skipped in a row (latency)

	timer   *sim.Timer // next event, or the next step within the event (reused)
	action  func()     // what timer runs
	rxTimer *sim.Timer // end of the current receive window (reused)

	// Bound once at newConn, so scheduling allocates nothing.
	centralFn, peripheralFn, afterTxFn, replyFn func()
}

// at arms the event timer to run fn at t, replacing what was pending.
func (e *eventState) at(t sim.Time, fn func()) {
	e.action = fn
	e.timer.Reset(t)
}

// initTimers creates the connection's reusable timers.
func (cn *conn) initTimers() {
	e := &cn.ev
	e.timer = cn.c.sched.NewTimer(func() { e.action() })
	e.rxTimer = cn.c.sched.NewTimer(cn.rxTimeout)
	e.centralFn, e.peripheralFn, e.afterTxFn, e.replyFn = cn.centralEvent, cn.peripheralEvent, cn.afterTx, cn.replyNow
	cn.svTimer = cn.c.sched.NewTimer(cn.svCheck)
}

func (e *eventState) stopTimers() {
	e.timer.Stop()
	e.rxTimer.Stop()
}

// maxRxAir is the longest data channel packet on the 1M PHY: a Length
// field of 255 (251 octets and a MIC), 2120 µs.
func maxRxAir() sim.Duration { return radio.AirTime(pdu.DataHeaderLen + 255) }

// startTiming schedules the first connection event. The central uses the
// start of the transmit window as its first anchor point; the peripheral
// listens over the whole window, widened (§4.5.3).
func (cn *conn) startTiming(winStart sim.Time, winSize sim.Duration, connectIndEnd sim.Time) {
	if cn.role == RoleCentral {
		cn.ev.anchor = winStart
		cn.ev.at(winStart, cn.ev.centralFn)
		return
	}
	cn.ev.anchor = connectIndEnd // reference for window widening
	cn.ev.win = &txWindow{ev: 0, start: winStart, size: winSize}
	cn.ev.at(cn.listenStart(0), cn.ev.peripheralFn)
}

// expected returns, for the peripheral, the earliest start of the central's
// first packet in event ev and how long after it the packet may still
// start (the transmit window size, zero at a known anchor).
func (cn *conn) expected(ev uint16) (sim.Time, sim.Duration) {
	if w := cn.ev.win; w != nil {
		return w.start.Add(sim.Duration(ev-w.ev) * cn.intervalDur()), w.size
	}
	return cn.ev.anchor.Add(sim.Duration(ev-cn.ev.anchorEv) * cn.intervalDur()), 0
}

// listenStart returns when the peripheral opens its receiver for event ev:
// the expected start minus the window widening (§4.5.5).
func (cn *conn) listenStart(ev uint16) sim.Time {
	start, _ := cn.expected(ev)
	return start.Add(-cn.widening(start.Sub(cn.ev.anchor)))
}

// centralEvent starts a connection event of the central: it transmits at the
// anchor point (§4.5.5).
func (cn *conn) centralEvent() {
	if cn.closed {
		return
	}
	cn.ev.inEvent = true
	cn.ev.ch = cn.channel(cn.ev.counter)
	cn.ev.sentMD, cn.ev.rxMD = false, false
	cn.exchange()
}

// peripheralEvent opens the peripheral's receive window for the event,
// unless peripheral latency lets it sleep through it (§4.5.1).
func (cn *conn) peripheralEvent() {
	if cn.closed {
		return
	}
	if cn.canSkip() {
		cn.ev.skipped++
		cn.nextEvent()
		return
	}
	cn.ev.skipped = 0
	start, span := cn.expected(cn.ev.counter)
	ww := cn.widening(start.Sub(cn.ev.anchor))
	cn.ev.inEvent = true
	cn.ev.first = true
	cn.ev.sentMD, cn.ev.rxMD = false, false
	cn.ev.ch = cn.channel(cn.ev.counter)
	cn.listen(start.Add(span+ww), cn.ev.counter+1)
}

// listen opens the receiver for a packet that must start by acceptUntil.
// The packet is only delivered at its end, so the window stays open for a
// maximum-length packet, but never past the peripheral's next event.
func (cn *conn) listen(acceptUntil sim.Time, nextEv uint16) {
	cn.port.Listen(cn.ev.ch, cn.aa)
	cn.ev.listening = true
	cn.ev.acceptUntil = acceptUntil
	deadline := acceptUntil.Add(maxRxAir() + jitter)
	if cn.role == RolePeripheral {
		if next := cn.listenStart(nextEv); deadline >= next {
			deadline = next - 1
		}
	}
	cn.ev.rxTimer.Stop()
	cn.ev.rxTimer.Reset(deadline)
}

// canSkip reports whether the peripheral may sleep through this event:
// latency allows it and it has nothing to send or wait for (§4.5.1).
func (cn *conn) canSkip() bool {
	return cn.role == RolePeripheral && cn.established && cn.ev.win == nil &&
		cn.ev.skipped < cn.latency && !cn.arq.busy() && cn.procs.idle() && !cn.enc.busy()
}

// exchange transmits the next packet; afterTx continues when it has left
// the antenna.
func (cn *conn) exchange() {
	air := cn.nextAir()
	md := pdu.DataPDU(air).MD()
	end := cn.port.Transmit(radio.Packet{Channel: cn.ev.ch, AccessAddress: cn.aa, PDU: air, CRCInit: cn.crcInit})
	cn.ev.sentMD = md
	cn.ev.timer.Stop()
	cn.ev.at(end, cn.ev.afterTxFn)
}

// afterTx runs when our packet has been sent. A received LL_TERMINATE_IND
// has now been acknowledged, so the connection ends (§5.1.6). Otherwise the
// central waits for the peripheral's reply, and the peripheral waits for
// the central's next packet while either side has more data (§4.5.6).
func (cn *conn) afterTx() {
	if cn.closed {
		return
	}
	now := cn.c.sched.Now()
	if cn.arq.termRx {
		cn.end(cn.arq.termReason)
		return
	}
	if cn.role == RoleCentral {
		cn.listen(now.Add(tIFS+jitter), cn.ev.counter+1)
		return
	}
	if cn.ev.rxMD || cn.ev.sentMD || cn.arq.awaitingTerminateAck() {
		cn.listen(now.Add(tIFS+jitter), cn.ev.counter+1)
		return
	}
	cn.closeEvent()
}

// Receive implements radio.Receiver: a packet on our channel and access
// address has ended. rx.PDU is only valid during the call.
func (cn *conn) Receive(rx *radio.Reception) {
	if cn.closed || !cn.ev.listening || rx.Channel != cn.ev.ch || rx.AccessAddress != cn.aa {
		return
	}
	if rx.Start > cn.ev.acceptUntil {
		cn.log.Debug("packet started after the receive window", zap.Stringer("start", rx.Start),
			zap.Stringer("accept_until", cn.ev.acceptUntil))
		return
	}
	cn.ev.listening = false
	cn.ev.rxTimer.Stop()
	if cn.role == RolePeripheral && cn.ev.first {
		// The anchor point is the start of the central's first packet
		// of the event (§4.5.5); it also ends any transmit window.
		cn.ev.first = false
		cn.ev.anchor = rx.Start
		cn.ev.anchorEv = cn.ev.counter
		cn.ev.win = nil
	}
	h, ok := cn.rxPDU(rx.PDU)
	if cn.closed {
		return
	}
	if !ok {
		// Like a CRC error: the event closes (§4.5.6).
		cn.closeEvent()
		return
	}
	cn.rxValid(rx)
	cn.ev.rxMD = h.MD
	if cn.role == RolePeripheral {
		// The peripheral always answers T_IFS after the central's packet.
		cn.ev.timer.Stop()
		cn.ev.at(rx.End.Add(tIFS), cn.ev.replyFn)
		return
	}
	if cn.arq.termRx || ((cn.ev.sentMD || h.MD) && cn.room(rx.End)) {
		cn.ev.timer.Stop()
		cn.ev.at(rx.End.Add(tIFS), cn.ev.replyFn)
		return
	}
	cn.closeEvent()
}

func (cn *conn) replyNow() {
	if !cn.closed {
		cn.exchange()
	}
}

// room reports whether the central can fit one more exchange (its packet,
// T_IFS, the longest reply) before the next anchor point, leaving the
// peripheral its window widening.
func (cn *conn) room(now sim.Time) bool {
	tx := radio.AirTime(pdu.DataHeaderLen + int(cn.dl.effTxOctets) + pdu.MICLen)
	rx := radio.AirTime(pdu.DataHeaderLen + int(cn.dl.effRxOctets) + pdu.MICLen)
	done := now.Add(tIFS + tx + tIFS + rx)
	iv := cn.intervalDur()
	guard := cn.widening(iv*sim.Duration(1+cn.latency)) + tIFS
	return done <= cn.ev.anchor.Add(iv-guard)
}

// rxTimeout closes the event when the awaited packet did not come (§4.5.6).
func (cn *conn) rxTimeout() {
	if cn.closed {
		return
	}
	cn.ev.listening = false
	cn.closeEvent()
}

// closeEvent ends the connection event: the radio goes idle, completed host
// packets are reported, and the next event is scheduled.
func (cn *conn) closeEvent() {
	cn.port.Idle()
	cn.ev.inEvent = false
	cn.ev.listening = false
	cn.ev.stopTimers()
	cn.flushCompleted()
	if cn.closed {
		return
	}
	cn.nextEvent()
}

// nextEvent advances connEventCounter, applies what takes effect at that
// instant (§5.1.1, §5.1.2) and schedules the event.
func (cn *conn) nextEvent() {
	if cn.role == RoleCentral {
		cn.ev.anchor = cn.ev.anchor.Add(cn.intervalDur())
	}
	cn.ev.counter++
	cn.applyInstants()
	if cn.closed {
		return
	}
	cn.ev.timer.Stop()
	if cn.role == RoleCentral {
		cn.ev.at(cn.ev.anchor, cn.ev.centralFn)
		return
	}
	cn.ev.at(cn.listenStart(cn.ev.counter), cn.ev.peripheralFn)
}
