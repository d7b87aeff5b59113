package att

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"blesim/linklayer/sim"
)

// TransactionTimeout is the ATT transaction timeout (Vol 3 Part F §3.3.3).
// After a timeout no more ATT PDUs are sent on the bearer.
const TransactionTimeout = 30 * sim.Second

// Errors passed to transaction callbacks.
var (
	ErrTimeout = errors.New("att: transaction timed out (30 s)")
	ErrClosed  = errors.New("att: bearer closed")
)

// Server handles the requests and commands a Bearer receives. Requests must
// be answered with exactly one PDU sent with Bearer.Send.
type Server interface {
	ServeATT(b *Bearer, pdu []byte)
}

type request struct {
	req PDU
	cb  func(PDU, error)
}

type indication struct {
	handle uint16
	value  []byte
	cb     func(error)
}

// Bearer is the ATT bearer of one connection (the fixed channel 0x0004): it
// runs the client's request/response transactions one at a time, the
// server's indication/confirmation transactions one at a time, confirms
// indications it receives and hands requests and commands to its Server.
type Bearer struct {
	log   *zap.Logger
	sched *sim.Scheduler
	send  func([]byte) error
	mtu   int

	server Server

	queue    []*request
	cur      *request
	curTimer *sim.Timer

	indQueue []*indication
	curInd   *indication
	indTimer *sim.Timer

	dead bool

	// OnNotification receives notifications and indications (the bearer
	// confirms indications after it returns).
	OnNotification func(handle uint16, value []byte, indication bool)
	// OnTimeout is called when a transaction times out; the bearer is
	// then dead (the owner normally disconnects).
	OnTimeout func()
}

// NewBearer returns a bearer that sends ATT PDUs with send (normally
// l2cap.Conn.Send on CID 0x0004) and hands requests to server (may be nil).
func NewBearer(log *zap.Logger, sched *sim.Scheduler, send func([]byte) error, server Server) *Bearer {
	return &Bearer{log: log, sched: sched, send: send, mtu: DefaultMTU, server: server}
}

// MTU returns the current ATT_MTU.
func (b *Bearer) MTU() int { return b.mtu }

// SetMTU sets ATT_MTU after an exchange (never below the default).
func (b *Bearer) SetMTU(mtu int) { b.mtu = max(mtu, DefaultMTU) }

// SetServer sets the request handler.
func (b *Bearer) SetServer(s Server) { b.server = s }

// Dead reports whether the bearer timed out or closed.
func (b *Bearer) Dead() bool { return b.dead }

// Send sends one PDU unless the bearer is dead.
func (b *Bearer) Send(p PDU) {
	b.sendRaw(p.Marshal())
}

func (b *Bearer) sendRaw(raw []byte) {
	if b.dead {
		return
	}
	if len(raw) > b.mtu {
		b.log.Error("ATT PDU longer than ATT_MTU; truncated", zap.Stringer("opcode", Opcode(raw[0])), zap.Int("len", len(raw)), zap.Int("mtu", b.mtu))
		raw = raw[:b.mtu]
	}
	if err := b.send(raw); err != nil {
		b.log.Error("ATT send failed", zap.Error(err))
	}
}

// Request queues a client request; cb gets the response PDU, or the Error
// Response's ErrorCode, ErrTimeout or ErrClosed as err.
func (b *Bearer) Request(req PDU, cb func(rsp PDU, err error)) {
	if b.dead {
		cb(nil, ErrClosed)
		return
	}
	b.queue = append(b.queue, &request{req: req, cb: cb})
	b.nextRequest()
}

func (b *Bearer) nextRequest() {
	if b.cur != nil || len(b.queue) == 0 || b.dead {
		return
	}
	b.cur = b.queue[0]
	b.queue = b.queue[1:]
	b.curTimer = b.sched.After(TransactionTimeout, func() { b.timeout(fmt.Sprintf("no response to %s", b.cur.req.Opcode())) })
	b.Send(b.cur.req)
}

// Notify sends a Handle Value Notification, truncating the value to
// ATT_MTU-3 (§3.4.7.1).
func (b *Bearer) Notify(handle uint16, value []byte) {
	if len(value) > b.mtu-3 {
		value = value[:b.mtu-3]
	}
	b.Send(HandleValueNtf{Handle: handle, Value: value})
}

// Indicate queues a Handle Value Indication; only one is outstanding at a
// time (§3.4.7.2). cb (may be nil) gets nil on confirmation.
func (b *Bearer) Indicate(handle uint16, value []byte, cb func(error)) {
	if cb == nil {
		cb = func(error) {}
	}
	if b.dead {
		cb(ErrClosed)
		return
	}
	b.indQueue = append(b.indQueue, &indication{handle: handle, value: append([]byte(nil), value...), cb: cb})
	b.nextIndication()
}

// PendingIndications returns the number of indications queued or awaiting
// confirmation.
func (b *Bearer) PendingIndications() int {
	n := len(b.indQueue)
	if b.curInd != nil {
		n++
	}
	return n
}

func (b *Bearer) nextIndication() {
	if b.curInd != nil || len(b.indQueue) == 0 || b.dead {
		return
	}
	b.curInd = b.indQueue[0]
	b.indQueue = b.indQueue[1:]
	v := b.curInd.value
	if len(v) > b.mtu-3 {
		v = v[:b.mtu-3]
	}
	b.indTimer = b.sched.After(TransactionTimeout, func() { b.timeout("no confirmation of indication") })
	b.Send(HandleValueInd{Handle: b.curInd.handle, Value: v})
}

func (b *Bearer) timeout(what string) {
	b.log.Error("ATT transaction timeout; bearer closed", zap.String("what", what))
	b.fail(ErrTimeout)
	if b.OnTimeout != nil {
		b.OnTimeout()
	}
}

// Close fails every pending transaction with ErrClosed (call it on
// disconnection).
func (b *Bearer) Close() { b.fail(ErrClosed) }

func (b *Bearer) fail(err error) {
	if b.dead {
		return
	}
	b.dead = true
	b.curTimer.Stop()
	b.indTimer.Stop()
	reqs := b.queue
	if b.cur != nil {
		reqs = append([]*request{b.cur}, reqs...)
	}
	inds := b.indQueue
	if b.curInd != nil {
		inds = append([]*indication{b.curInd}, inds...)
	}
	b.cur, b.queue, b.curInd, b.indQueue = nil, nil, nil, nil
	for _, r := range reqs {
		r.cb(nil, err)
	}
	for _, i := range inds {
		i.cb(err)
	}
}

// Receive handles one ATT PDU from the peer. Malformed PDUs are dropped
// with a log (requests get Invalid PDU from the Server).
func (b *Bearer) Receive(raw []byte) {
	if b.dead {
		return
	}
	if len(raw) == 0 {
		b.log.Error("empty ATT PDU; dropped")
		return
	}
	op := Opcode(raw[0])
	switch {
	case op.IsResponse():
		b.response(raw)
	case op == OpHandleValueNtf || op == OpHandleValueInd:
		p, err := Parse(raw)
		if err != nil {
			b.log.Error("malformed notification/indication; dropped", zap.Error(err))
			return
		}
		if n, ok := p.(HandleValueNtf); ok {
			if b.OnNotification != nil {
				b.OnNotification(n.Handle, n.Value, false)
			}
			return
		}
		ind := p.(HandleValueInd)
		if b.OnNotification != nil {
			b.OnNotification(ind.Handle, ind.Value, true)
		}
		b.Send(HandleValueCfm{})
	case op == OpHandleValueCfm:
		if len(raw) != 1 {
			b.log.Error("malformed Handle Value Confirmation; dropped")
			return
		}
		if b.curInd == nil {
			b.log.Warn("confirmation without an outstanding indication; ignored")
			return
		}
		ind := b.curInd
		b.curInd = nil
		b.indTimer.Stop()
		ind.cb(nil)
		b.nextIndication()
	default:
		if b.server != nil {
			b.server.ServeATT(b, raw)
			return
		}
		if !op.IsCommand() {
			b.Send(ErrorRsp{Req: op, Code: ErrRequestNotSupported})
		}
	}
}

func (b *Bearer) response(raw []byte) {
	p, err := Parse(raw)
	if err != nil {
		b.log.Error("malformed ATT response; dropped", zap.Error(err))
		if b.cur != nil && Opcode(raw[0]) == b.cur.req.Opcode()+1 {
			// A broken answer to our request ends the transaction with
			// an error instead of waiting for a timeout.
			b.finish(nil, err)
		}
		return
	}
	if b.cur == nil {
		b.log.Warn("ATT response without a pending request; ignored", zap.Stringer("opcode", p.Opcode()))
		return
	}
	want := b.cur.req.Opcode()
	if e, ok := p.(ErrorRsp); ok {
		if e.Req != want {
			b.log.Warn("Error Response for another request; ignored", zap.Stringer("req", e.Req), zap.Stringer("pending", want))
			return
		}
		b.finish(nil, e.Code)
		return
	}
	if p.Opcode() != want+1 {
		b.log.Warn("ATT response does not match the pending request; ignored", zap.Stringer("opcode", p.Opcode()), zap.Stringer("pending", want))
		return
	}
	b.finish(p, nil)
}

func (b *Bearer) finish(p PDU, err error) {
	r := b.cur
	b.cur = nil
	b.curTimer.Stop()
	r.cb(p, err)
	b.nextRequest()
}
