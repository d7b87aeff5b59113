package pbadv

import (
	"go.uber.org/zap"

	"blesim/hosts/mesh/prov"
	"blesim/linklayer/sim"
)

// Bearer is the advertising bearer PB-ADV sends on: Send transmits one AD
// structure (Length, AD type, data) as advertising data. The wiring turns
// it into HCI LE Set Advertising Data + Enable on a controller, or an Air
// delivers it in memory.
type Bearer interface {
	Send(ad []byte)
}

// Handler is the provisioning layer above a link: prov.DeviceSession and
// prov.ProvisionerSession implement it.
type Handler interface {
	Receive(pdu []byte)
	LinkClosed(reason prov.CloseReason)
}

// Timing of the generic provisioning layer.
const (
	// DefaultRetransmitInterval is how often an unacknowledged transaction
	// (or Link Open) is sent again.
	DefaultRetransmitInterval = 500 * sim.Millisecond
	// TransactionTimeout: a transaction not acknowledged within 30 s
	// closes the link with reason Timeout (§5.3.2).
	TransactionTimeout = 30 * sim.Second
	// LinkTimeout: a Link Open not answered, or an open link silent, for
	// 60 s is given up (§5.3.2, §5.4.4).
	LinkTimeout = 60 * sim.Second
)

// Config tunes an endpoint. Zero fields take the defaults.
type Config struct {
	RetransmitInterval sim.Duration // default 500 ms
	TransactionTimeout sim.Duration // default 30 s
	LinkTimeout        sim.Duration // default 60 s
	// CloseRepeats is how many times Link Close is sent (default 3), one
	// retransmit interval apart: the peer does not acknowledge it.
	CloseRepeats int
}

func (c Config) withDefaults() Config {
	if c.RetransmitInterval <= 0 {
		c.RetransmitInterval = DefaultRetransmitInterval
	}
	if c.TransactionTimeout <= 0 {
		c.TransactionTimeout = TransactionTimeout
	}
	if c.LinkTimeout <= 0 {
		c.LinkTimeout = LinkTimeout
	}
	if c.CloseRepeats <= 0 {
		c.CloseRepeats = 3
	}
	return c
}

type linkState uint8

const (
	opening linkState = iota // provisioner: Link Open sent, waiting for Link ACK
	open
	closed
)

// Link is one PB-ADV link (§5.3.2). It implements prov.Link: Send queues
// a provisioning PDU as the next transaction, Close sends Link Close.
type Link struct {
	log     *zap.Logger
	sched   *sim.Scheduler
	bearer  Bearer
	cfg     Config
	id      uint32
	uuid    [16]byte
	device  bool // the device's end (transaction numbers 0x80..0xFF)
	state   linkState
	handler Handler
	onClose func(*Link)

	// transmit side
	queue   [][]byte
	txSegs  [][]byte // AD structures of the pending transaction
	txTrans uint8
	txBusy  bool
	nextTx  uint8
	retx    *sim.Timer // retransmission of the transaction or Link Open
	txTimer *sim.Timer // transaction timeout
	idle    *sim.Timer // link establishment / idle link timeout

	// receive side
	rxExpect uint8
	rxLast   int // last completed transaction, -1 before the first
	rx       reassembly

	// Stats, for tests and traces.
	Retransmissions int
}

func newLink(log *zap.Logger, sched *sim.Scheduler, b Bearer, cfg Config, id uint32, uuid [16]byte, device bool) *Link {
	l := &Link{log: log.With(zap.Uint32("link", id)), sched: sched, bearer: b, cfg: cfg, id: id, uuid: uuid, device: device, rxLast: -1}
	if device {
		l.nextTx, l.rxExpect = 0x80, 0x00
	} else {
		l.nextTx, l.rxExpect = 0x00, 0x80
	}
	l.retx = sched.NewTimer(l.retransmit)
	l.txTimer = sched.NewTimer(func() {
		l.log.Info("transaction timeout", zap.Uint8("trans", l.txTrans))
		l.Close(prov.CloseTimeout)
	})
	l.idle = sched.NewTimer(func() {
		l.log.Info("link timeout", zap.Bool("established", l.state == open))
		l.Close(prov.CloseTimeout)
	})
	l.idle.ResetAfter(cfg.LinkTimeout)
	return l
}

// ID is the Link ID.
func (l *Link) ID() uint32 { return l.id }

// UUID is the Device UUID the link was opened to.
func (l *Link) UUID() [16]byte { return l.uuid }

// Open reports whether the link is established and not closed.
func (l *Link) Open() bool { return l.state == open }

// Closed reports whether the link is closed.
func (l *Link) Closed() bool { return l.state == closed }

// SetHandler sets the provisioning layer that receives the link's PDUs.
func (l *Link) SetHandler(h Handler) { l.handler = h }

func (l *Link) sendPDU(p PDU) { l.bearer.Send(AD(p.Marshal())) }

func (l *Link) control(op Opcode, reason uint8) {
	l.sendPDU(PDU{LinkID: l.id, Kind: BearerControl, Opcode: op, UUID: l.uuid, Reason: reason})
}

// Send queues a provisioning PDU; transactions go out one at a time, each
// after the previous one is acknowledged, and not before the link is open.
func (l *Link) Send(pdu []byte) {
	if l.state == closed {
		return
	}
	l.queue = append(l.queue, append([]byte(nil), pdu...))
	l.pump()
}

// pump starts the next transaction when none is pending.
func (l *Link) pump() {
	if l.state != open || l.txBusy || len(l.queue) == 0 {
		return
	}
	pdu := l.queue[0]
	l.queue = l.queue[1:]
	segs, err := Segment(l.id, l.nextTx, pdu)
	if err != nil {
		l.log.Error("cannot segment provisioning PDU", zap.Error(err))
		l.Close(prov.CloseFail)
		return
	}
	l.txTrans, l.txBusy = l.nextTx, true
	l.nextTx = next(l.nextTx)
	l.txSegs = l.txSegs[:0]
	for _, s := range segs {
		l.txSegs = append(l.txSegs, AD(s.Marshal()))
	}
	l.transmit()
	l.txTimer.ResetAfter(l.cfg.TransactionTimeout)
}

// next is the following transaction number: 0x00..0x7F for the
// provisioner and 0x80..0xFF for the device, wrapping inside the range.
func next(t uint8) uint8 { return t&0x80 | (t+1)&0x7f }

func (l *Link) transmit() {
	for _, ad := range l.txSegs {
		l.bearer.Send(ad)
	}
	l.retx.ResetAfter(l.cfg.RetransmitInterval)
}

func (l *Link) retransmit() {
	switch {
	case l.state == opening:
		l.Retransmissions++
		l.control(LinkOpen, 0)
		l.retx.ResetAfter(l.cfg.RetransmitInterval)
	case l.state == open && l.txBusy:
		l.Retransmissions++
		l.transmit()
	}
}

// acked completes the pending transaction.
func (l *Link) acked() {
	l.txBusy = false
	l.retx.Stop()
	l.txTimer.Stop()
	l.pump()
}

// Close closes the link (§5.3.2): Link Close goes out CloseRepeats times,
// the handler learns the reason, pending transactions are dropped.
func (l *Link) Close(reason prov.CloseReason) {
	if l.state == closed {
		return
	}
	wasOpen := l.state == open
	l.shut()
	if wasOpen || !l.device {
		n := l.cfg.CloseRepeats
		var send func()
		send = func() {
			l.control(LinkClose, uint8(reason))
			if n--; n > 0 {
				l.sched.After(l.cfg.RetransmitInterval, send)
			}
		}
		send()
	}
	l.notifyClosed(reason)
}

// shut stops everything without telling the peer.
func (l *Link) shut() {
	l.state = closed
	l.queue = nil
	l.txBusy = false
	l.retx.Stop()
	l.txTimer.Stop()
	l.idle.Stop()
	l.rx.reset()
}

func (l *Link) notifyClosed(reason prov.CloseReason) {
	if l.onClose != nil {
		l.onClose(l)
	}
	if l.handler != nil {
		l.handler.LinkClosed(reason)
	}
}

// receive handles a PB-ADV PDU addressed to this link.
func (l *Link) receive(p PDU) {
	if l.state == closed {
		return
	}
	switch p.Kind {
	case BearerControl:
		switch p.Opcode {
		case LinkACK:
			if !l.device && l.state == opening {
				l.state = open
				l.retx.Stop()
				l.idle.ResetAfter(l.cfg.LinkTimeout)
				l.log.Debug("link open")
				l.pump()
			}
		case LinkOpen:
			if l.device && p.UUID == l.uuid {
				l.control(LinkACK, 0) // our ACK was lost: the provisioner retransmits Link Open
			}
		case LinkClose:
			l.log.Debug("link closed by peer", zap.Uint8("reason", p.Reason))
			l.shut()
			l.notifyClosed(prov.CloseReason(p.Reason))
		}
	case TransactionAck:
		if l.state == open && l.txBusy && p.Trans == l.txTrans {
			l.idle.ResetAfter(l.cfg.LinkTimeout)
			l.acked()
		}
	case TransactionStart, TransactionContinuation:
		if l.state == open {
			l.receiveSegment(p)
		}
	}
}

func (l *Link) receiveSegment(p PDU) {
	if int(p.Trans) == l.rxLast {
		// A retransmission of a transaction we completed: our ack was lost.
		l.sendPDU(PDU{LinkID: l.id, Trans: p.Trans, Kind: TransactionAck})
		return
	}
	if p.Trans != l.rxExpect {
		l.log.Debug("ignoring transaction", zap.Uint8("trans", p.Trans), zap.Uint8("expected", l.rxExpect))
		return
	}
	whole, err := l.rx.add(p)
	if err != nil {
		l.log.Info("discarding transaction", zap.Uint8("trans", p.Trans), zap.Error(err))
		return
	}
	if whole == nil {
		return
	}
	l.rxLast, l.rxExpect = int(p.Trans), next(p.Trans)
	l.idle.ResetAfter(l.cfg.LinkTimeout)
	l.sendPDU(PDU{LinkID: l.id, Trans: p.Trans, Kind: TransactionAck})
	if l.txBusy {
		// The peer answered, so it has our transaction: its ack was lost.
		l.acked()
	}
	if l.handler != nil {
		l.handler.Receive(whole)
	}
}
