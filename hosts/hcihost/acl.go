package hcihost

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"blesim/vhci/hci"
)

// Errors returned by SendACL.
var (
	ErrNotReady     = errors.New("hcihost: LE ACL buffers unknown (run Bringup first)")
	ErrNotConnected = errors.New("hcihost: no such connection")
	ErrPDUTooLong   = errors.New("hcihost: L2CAP PDU too long")
	ErrMalformedPDU = errors.New("hcihost: PDU is not a basic L2CAP frame")
)

// aclState is LE ACL data flow control (Core v5.4 Vol 4 Part E §4.1.1):
// the host sends no more ACL packets than the controller has buffers and
// gets credits back from Number Of Completed Packets (§7.7.19).
type aclState struct {
	dataLen int // max ACL data per packet
	total   int // controller's buffer count
	free    int // buffers free now

	queue    []outPacket
	inflight map[uint16]int // per handle: sent, not yet completed
	conns    map[uint16]*rxState
	onData   []func(handle uint16, pdu []byte)
}

type outPacket struct {
	handle uint16
	pkt    []byte // H4 packet
}

// rxState reassembles one connection's incoming L2CAP PDU.
type rxState struct {
	buf    []byte
	want   int  // total PDU length, -1 until the basic header is complete
	active bool // a start fragment was received and the PDU is incomplete
}

func (a *aclState) init() {
	a.inflight = map[uint16]int{}
	a.conns = map[uint16]*rxState{}
}

// setBuffers records the controller's LE ACL buffers.
func (h *Host) setBuffers(dataLen, num int) {
	h.acl.dataLen = dataLen
	h.acl.total = num
	h.acl.free = num
	h.acl.queue = nil
	clear(h.acl.inflight)
}

// OnACL registers fn for every reassembled incoming L2CAP PDU (basic header
// included). Handlers share pdu and must not modify it.
func (h *Host) OnACL(fn func(handle uint16, pdu []byte)) { h.acl.onData = append(h.acl.onData, fn) }

// ACLBuffersFree returns the number of LE ACL buffers the host believes are
// free in the controller.
func (h *Host) ACLBuffersFree() int { return h.acl.free }

// ACLQueued returns the number of ACL packets waiting for a controller
// buffer.
func (h *Host) ACLQueued() int { return len(h.acl.queue) }

// SendACL fragments one L2CAP PDU (basic header included) into ACL packets
// of at most the controller's LE ACL data length — the first with packet
// boundary flag 0b00 (first non-automatically-flushable), the rest 0b01
// (continuing) — and queues them behind the controller's buffer credits
// (Vol 4 Part E §5.4.2, Vol 3 Part A §7.2.1).
func (h *Host) SendACL(handle uint16, pdu []byte) error {
	if h.acl.dataLen == 0 || h.acl.total == 0 {
		return ErrNotReady
	}
	if _, ok := h.acl.conns[handle]; !ok {
		return fmt.Errorf("%w: handle 0x%03x", ErrNotConnected, handle)
	}
	if len(pdu) < 4 || int(binary.LittleEndian.Uint16(pdu))+4 != len(pdu) {
		return fmt.Errorf("%w: %d bytes", ErrMalformedPDU, len(pdu))
	}
	pb := hci.PBFirstNonFlushable
	for off := 0; off < len(pdu); off += h.acl.dataLen {
		end := min(off+h.acl.dataLen, len(pdu))
		pkt := hci.NewACL(handle, pb, pdu[off:end])
		h.acl.queue = append(h.acl.queue, outPacket{handle: handle, pkt: append([]byte{byte(hci.ACLPacket)}, pkt...)})
		pb = hci.PBContinuing
	}
	h.pumpACL()
	return nil
}

func (h *Host) pumpACL() {
	for h.acl.free > 0 && len(h.acl.queue) > 0 {
		p := h.acl.queue[0]
		h.acl.queue = h.acl.queue[1:]
		h.acl.free--
		h.acl.inflight[p.handle]++
		h.send(p.pkt)
	}
}

// numCompleted handles Number Of Completed Packets (§7.7.19): Num_Handles,
// then Num_Handles pairs of (Connection_Handle, Num_Completed_Packets).
func (h *Host) numCompleted(p []byte) {
	r := hci.NewReader(p)
	n := int(r.U8())
	type pair struct{ handle, count uint16 }
	var pairs []pair
	for i := 0; i < n; i++ {
		pairs = append(pairs, pair{r.U16() & 0x0fff, r.U16()})
	}
	if err := r.Exact(); err != nil {
		h.log.Error("malformed Number Of Completed Packets", zap.Error(err), zap.Binary("params", p))
		return
	}
	for _, pr := range pairs {
		got := int(pr.count)
		if have := h.acl.inflight[pr.handle]; got > have {
			h.log.Error("controller completed more ACL packets than were sent",
				zap.Uint16("handle", pr.handle), zap.Int("completed", got), zap.Int("in_flight", have))
			got = have
		}
		h.acl.inflight[pr.handle] -= got
		if h.acl.inflight[pr.handle] == 0 {
			delete(h.acl.inflight, pr.handle)
		}
		h.acl.free += got
	}
	h.pumpACL()
}

func (h *Host) aclConnected(handle uint16) {
	h.acl.conns[handle] = &rxState{want: -1}
}

// aclDisconnected forgets a connection. Its packets still in the controller
// are considered flushed, so their buffers return to the host without a
// Number Of Completed Packets event (Vol 4 Part E §7.7.19), and packets
// still queued for it are dropped.
func (h *Host) aclDisconnected(handle uint16) {
	delete(h.acl.conns, handle)
	h.acl.free += h.acl.inflight[handle]
	delete(h.acl.inflight, handle)
	q := h.acl.queue[:0]
	for _, p := range h.acl.queue {
		if p.handle != handle {
			q = append(q, p)
		}
	}
	h.acl.queue = q
	h.pumpACL()
}

// receiveACL reassembles incoming ACL data into L2CAP PDUs. The controller
// marks the first fragment with PB 0b10 (0b00 is tolerated) and the rest
// with 0b01 (Vol 4 Part E §5.4.2).
func (h *Host) receiveACL(a hci.ACL) {
	if err := a.Validate(); err != nil {
		h.log.Error("malformed ACL packet", zap.Error(err), zap.Binary("acl", a))
		return
	}
	handle := a.Handle()
	rx, ok := h.acl.conns[handle]
	if !ok {
		h.log.Error("ACL data for unknown connection handle", zap.Uint16("handle", handle))
		return
	}
	data := a.Data()
	switch a.PB() {
	case hci.PBFirstFlushable, hci.PBFirstNonFlushable:
		if rx.active {
			h.log.Error("ACL start fragment before the previous PDU was complete; dropping it",
				zap.Uint16("handle", handle), zap.Int("have", len(rx.buf)), zap.Int("want", rx.want))
		}
		rx.buf = append([]byte(nil), data...)
		rx.want, rx.active = -1, true
	case hci.PBContinuing:
		if !rx.active {
			h.log.Error("ACL continuing fragment without a start fragment; dropped", zap.Uint16("handle", handle), zap.Int("len", len(data)))
			return
		}
		rx.buf = append(rx.buf, data...)
	default:
		h.log.Error("ACL packet with reserved packet boundary flag; dropped", zap.Uint16("handle", handle), zap.Uint8("pb", a.PB()))
		return
	}
	if rx.want < 0 && len(rx.buf) >= 4 {
		rx.want = 4 + int(binary.LittleEndian.Uint16(rx.buf))
	}
	if rx.want < 0 {
		return
	}
	if len(rx.buf) > rx.want {
		h.log.Error("ACL fragments longer than the L2CAP PDU; dropped",
			zap.Uint16("handle", handle), zap.Int("have", len(rx.buf)), zap.Int("want", rx.want))
		rx.buf, rx.want, rx.active = nil, -1, false
		return
	}
	if len(rx.buf) < rx.want {
		return
	}
	pdu := rx.buf
	rx.buf, rx.want, rx.active = nil, -1, false
	for _, fn := range h.acl.onData {
		fn(handle, pdu)
	}
}
