// Package hcihost is the host side of HCI for blesim's built-in hosts: it
// speaks to its controller exactly as the Linux kernel does, through H4
// packets (Core v5.4 Vol 4 Part A §2 for the packet indicators, Vol 4 Part E
// for the commands and events).
//
// A Host owns:
//   - the command queue, which honours Num_HCI_Command_Packets from Command
//     Complete and Command Status (Vol 4 Part E §4.4);
//   - event dispatch: every event is parsed into a typed value (see events.go)
//     and handed to the functions registered with OnEvent;
//   - LE ACL data flow control from LE Read Buffer Size and Number Of
//     Completed Packets (Vol 4 Part E §4.1.1, §7.7.19), fragmentation of
//     outgoing L2CAP PDUs and reassembly of incoming ones (see acl.go).
//
// Everything runs on the simulation goroutine and is callback-style: send is
// asynchronous and no reply is ever expected inside it.
package hcihost

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// CommandTimeout is how long a command may wait for its Command Complete or
// Command Status before its callback gets ErrCommandTimeout. It is the
// Linux kernel's HCI_CMD_TIMEOUT.
const CommandTimeout = 2 * sim.Second

// Errors passed to command callbacks.
var (
	ErrCommandTimeout = errors.New("hcihost: command timed out")
	ErrBadReturn      = errors.New("hcihost: malformed return parameters")
)

// CommandFunc receives a command's outcome. For commands answered by Command
// Complete, ret holds the return parameters after the status octet and err is
// the status as an error (nil on success). For commands answered by Command
// Status, ret is nil and err is the status; the completion itself arrives
// later as an event.
type CommandFunc func(ret []byte, err error)

type pendingCmd struct {
	op     hci.Opcode
	params []byte
	cb     CommandFunc
	timer  *sim.Timer
}

// Host is the host side of one HCI link.
type Host struct {
	log   *zap.Logger
	sched *sim.Scheduler
	send  func(h4 []byte)

	credits  int           // Num_HCI_Command_Packets the controller allows now
	queue    []*pendingCmd // waiting for a credit
	inflight []*pendingCmd // sent, waiting for Command Complete/Status

	handlers []func(Event)

	acl aclState

	// Filled in by Bringup.
	Info ControllerInfo
}

// ControllerInfo is what Bringup learnt about the controller.
type ControllerInfo struct {
	Addr              hci.BDAddr // Read BD_ADDR (public address)
	HCIVersion        uint8
	HCIRevision       uint16
	LMPVersion        uint8
	Manufacturer      uint16
	LMPSubversion     uint16
	SupportedCommands [64]byte
	LMPFeatures       [8]byte
	LEFeatures        [8]byte
	ACLDataLen        int // LE_ACL_Data_Packet_Length (or the shared BR/EDR value)
	ACLNumPackets     int // Total_Num_LE_ACL_Data_Packets
}

// SupportsCommand reports whether the Supported_Commands bit (octet, bit) is
// set (Core v5.4 Vol 4 Part E §6.27).
func (c *ControllerInfo) SupportsCommand(octet, bit int) bool {
	if octet < 0 || octet >= len(c.SupportedCommands) || bit < 0 || bit > 7 {
		return false
	}
	return c.SupportedCommands[octet]&(1<<bit) != 0
}

// New returns a Host that passes H4 packets to its controller through send.
// The wiring must call Receive for every H4 packet coming from the
// controller.
func New(log *zap.Logger, sched *sim.Scheduler, send func(h4 []byte)) *Host {
	h := &Host{log: log, sched: sched, send: send, credits: 1}
	h.acl.init()
	return h
}

// Logger returns the host's logger.
func (h *Host) Logger() *zap.Logger { return h.log }

// Scheduler returns the simulation scheduler the host runs on.
func (h *Host) Scheduler() *sim.Scheduler { return h.sched }

// OnEvent registers fn for every event from the controller, parsed into one
// of the types in events.go. Handlers run in registration order.
func (h *Host) OnEvent(fn func(Event)) { h.handlers = append(h.handlers, fn) }

// Command queues an HCI command. cb (may be nil) runs once with the outcome.
// Commands go out in order, no more at a time than the controller's
// Num_HCI_Command_Packets allows.
func (h *Host) Command(op hci.Opcode, params []byte, cb CommandFunc) {
	if len(params) > 255 {
		if cb != nil {
			cb(nil, fmt.Errorf("hcihost: %s: %d parameter bytes (max 255)", op, len(params)))
		}
		return
	}
	h.queue = append(h.queue, &pendingCmd{op: op, params: append([]byte(nil), params...), cb: cb})
	h.pumpCommands()
}

func (h *Host) pumpCommands() {
	for h.credits > 0 && len(h.queue) > 0 {
		c := h.queue[0]
		h.queue = h.queue[1:]
		h.credits--
		h.inflight = append(h.inflight, c)
		c.timer = h.sched.After(CommandTimeout, func() { h.timeout(c) })
		pkt := hci.NewCommand(c.op, c.params)
		h.send(append([]byte{byte(hci.CommandPacket)}, pkt...))
	}
}

func (h *Host) timeout(c *pendingCmd) {
	if !h.removeInflight(c) {
		return
	}
	h.log.Error("HCI command timed out", zap.Stringer("opcode", c.op))
	// Like the kernel, assume the controller can take a command again.
	if h.credits == 0 {
		h.credits = 1
	}
	if c.cb != nil {
		c.cb(nil, fmt.Errorf("%w: %s", ErrCommandTimeout, c.op))
	}
	h.pumpCommands()
}

func (h *Host) removeInflight(c *pendingCmd) bool {
	for i, p := range h.inflight {
		if p == c {
			h.inflight = append(h.inflight[:i], h.inflight[i+1:]...)
			return true
		}
	}
	return false
}

// takeInflight removes and returns the oldest in-flight command with op.
func (h *Host) takeInflight(op hci.Opcode) *pendingCmd {
	for i, p := range h.inflight {
		if p.op == op {
			h.inflight = append(h.inflight[:i], h.inflight[i+1:]...)
			p.timer.Stop()
			return p
		}
	}
	return nil
}

// Receive takes one H4 packet from the controller (0x04 event or 0x02 ACL).
// Malformed input is logged and dropped; it never panics.
func (h *Host) Receive(h4 []byte) {
	if len(h4) == 0 {
		h.log.Error("empty H4 packet from controller")
		return
	}
	switch hci.PacketType(h4[0]) {
	case hci.EventPacket:
		h.receiveEvent(hci.Event(h4[1:]))
	case hci.ACLPacket:
		h.receiveACL(hci.ACL(h4[1:]))
	default:
		h.log.Error("unexpected H4 packet type from controller", zap.Stringer("type", hci.PacketType(h4[0])), zap.Int("len", len(h4)))
	}
}

func (h *Host) receiveEvent(e hci.Event) {
	if err := e.Validate(); err != nil {
		h.log.Error("malformed HCI event", zap.Error(err), zap.Binary("event", e))
		return
	}
	p := e.Params()
	switch e.Code() {
	case hci.EvtCommandComplete:
		if len(p) < 3 {
			h.log.Error("malformed Command Complete", zap.Binary("params", p))
			return
		}
		cc := hci.CommandComplete(p)
		h.credits = int(cc.NumPackets())
		if op := cc.Opcode(); op != 0 {
			c := h.takeInflight(op)
			if c == nil {
				h.log.Warn("Command Complete for a command not in flight", zap.Stringer("opcode", op))
			} else if c.cb != nil {
				ret := cc.Return()
				var err error
				if len(ret) == 0 {
					err = fmt.Errorf("%w: %s: no status", ErrBadReturn, op)
				} else {
					err = hci.Status(ret[0]).Err()
					ret = ret[1:]
				}
				c.cb(ret, err)
			}
		}
		h.pumpCommands()
		return
	case hci.EvtCommandStatus:
		if len(p) != 4 {
			h.log.Error("malformed Command Status", zap.Binary("params", p))
			return
		}
		cs := hci.CommandStatus(p)
		h.credits = int(cs.NumPackets())
		if op := cs.Opcode(); op != 0 {
			c := h.takeInflight(op)
			if c == nil {
				h.log.Warn("Command Status for a command not in flight", zap.Stringer("opcode", op))
			} else if c.cb != nil {
				c.cb(nil, cs.Status().Err())
			}
		}
		h.pumpCommands()
		return
	case hci.EvtNumberOfCompletedPackets:
		h.numCompleted(p)
		return
	}
	ev, err := parseEvent(e)
	if err != nil {
		h.log.Error("malformed HCI event", zap.Error(err), zap.Binary("event", e))
		return
	}
	if dc, ok := ev.(DisconnectionComplete); ok && dc.Status == hci.StatusSuccess {
		h.aclDisconnected(dc.Handle)
	}
	if cc, ok := ev.(ConnectionComplete); ok && cc.Status == hci.StatusSuccess {
		h.aclConnected(cc.Handle)
	}
	if rp, ok := ev.(RemoteConnParamRequest); ok {
		h.acceptRemoteConnParams(rp)
	}
	if m, ok := ev.(multiEvent); ok {
		for _, one := range m {
			h.dispatch(one)
		}
		return
	}
	h.dispatch(ev)
}

func (h *Host) dispatch(ev Event) {
	for _, fn := range h.handlers {
		fn(ev)
	}
}

// acceptRemoteConnParams answers the LE Remote Connection Parameter Request
// event (Vol 4 Part E §7.7.65.6) by accepting the peer's maximum interval,
// as the Linux kernel does for valid parameters; invalid ones are refused
// with Unacceptable Connection Parameters (§7.8.32).
func (h *Host) acceptRemoteConnParams(rp RemoteConnParamRequest) {
	w := &hci.Writer{}
	w.U16(rp.Handle)
	if !ValidConnParams(rp.IntervalMin, rp.IntervalMax, rp.Latency, rp.Timeout) {
		w.U8(uint8(hci.StatusUnacceptableConnectionParams))
		h.Command(hci.OpLERemoteConnParamReqNegReply, w.B, h.logErr("LE Remote Connection Parameter Request Negative Reply"))
		return
	}
	w.U16(rp.IntervalMin).U16(rp.IntervalMax).U16(rp.Latency).U16(rp.Timeout).U16(0).U16(0)
	h.Command(hci.OpLERemoteConnParamReqReply, w.B, h.logErr("LE Remote Connection Parameter Request Reply"))
}

// ValidConnParams checks connection parameters against the ranges of
// Core v5.4 Vol 4 Part E §7.8.18 (intervals in 1.25 ms, timeout in 10 ms):
// 6 ≤ min ≤ max ≤ 3200, latency ≤ 499, 10 ≤ timeout ≤ 3200 and
// timeout > (1 + latency) × max × 2 (Vol 6 Part B §4.5.2).
func ValidConnParams(min, max, latency, timeout uint16) bool {
	if min < 6 || max > 3200 || min > max || latency > 499 || timeout < 10 || timeout > 3200 {
		return false
	}
	// timeout*10ms > (1+latency)*max*1.25ms*2  <=>  timeout*4 > (1+latency)*max
	return uint32(timeout)*4 > (1+uint32(latency))*uint32(max)
}

// logErr returns a CommandFunc that only logs a failure.
func (h *Host) logErr(what string) CommandFunc {
	return func(_ []byte, err error) {
		if err != nil {
			h.log.Error(what+" failed", zap.Error(err))
		}
	}
}

// Disconnect sends HCI Disconnect (Vol 4 Part E §7.1.6). cb fires on the
// Command Status; the Disconnection Complete event follows.
func (h *Host) Disconnect(handle uint16, reason hci.Status, cb CommandFunc) {
	w := &hci.Writer{}
	w.U16(handle).U8(uint8(reason))
	h.Command(hci.OpDisconnect, w.B, cb)
}
