// Package pbgatt is the PB-GATT provisioning bearer (Mesh Protocol v1.1
// §5.2.2): the Mesh Provisioning Service (0x1827) with its Data In (0x2ADB)
// and Data Out (0x2ADC) characteristics (§7.1), and the proxy protocol's
// segmentation and reassembly (§6.3) that carries provisioning PDUs in
// Proxy PDUs of message type 0x03. A PB-GATT link is the GATT connection:
// closing the link disconnects.
package pbgatt

import (
	"fmt"

	"blesim/linklayer/sim"
)

// Proxy PDU message types (§6.3.1).
const (
	MessageNetwork      = 0x00
	MessageBeacon       = 0x01
	MessageProxyConfig  = 0x02
	MessageProvisioning = 0x03
)

// SAR is the Segmentation And Reassembly field: the 2 high bits of the
// Proxy PDU's first octet (§6.3.1).
type SAR uint8

// SAR values.
const (
	SARComplete     SAR = 0b00
	SARFirst        SAR = 0b01
	SARContinuation SAR = 0b10
	SARLast         SAR = 0b11
)

// SARTimeout is the proxy protocol's reassembly timeout (§6.3.2): a
// message not complete 20 s after its first segment ends the connection.
const SARTimeout = 20 * sim.Second

// MaxMessageLen bounds a reassembled message (well above the 66 octets of
// the longest provisioning PDU).
const MaxMessageLen = 1024

// Segment splits a message into Proxy PDUs of at most maxPDU octets each
// (ATT_MTU − 3 for Write Without Response and notifications): one Complete
// PDU when it fits, else First, Continuation…, Last (§6.3.2).
func Segment(msgType uint8, msg []byte, maxPDU int) ([][]byte, error) {
	if maxPDU < 2 {
		return nil, fmt.Errorf("pb-gatt: Proxy PDU size %d", maxPDU)
	}
	if len(msg) == 0 || len(msg) > MaxMessageLen {
		return nil, fmt.Errorf("pb-gatt: message of %d octets", len(msg))
	}
	room := maxPDU - 1
	if len(msg) <= room {
		return [][]byte{append([]byte{byte(SARComplete)<<6 | msgType&0x3f}, msg...)}, nil
	}
	var out [][]byte
	for off := 0; off < len(msg); off += room {
		sar := SARContinuation
		switch {
		case off == 0:
			sar = SARFirst
		case off+room >= len(msg):
			sar = SARLast
		}
		end := min(off+room, len(msg))
		out = append(out, append([]byte{byte(sar)<<6 | msgType&0x3f}, msg[off:end]...))
	}
	return out, nil
}

// Reassembler collects Proxy PDUs into messages (§6.3.2). Any SAR violation
// (a Continuation or Last without a First, a Complete or First in the
// middle of a message, a change of message type, an over-long message) or
// the SAR timeout is an error, on which the connection must be closed.
type Reassembler struct {
	sched   *sim.Scheduler
	timer   *sim.Timer
	typ     uint8
	buf     []byte
	active  bool
	onMsg   func(msgType uint8, msg []byte)
	onError func(err error)
}

// NewReassembler returns a reassembler that passes whole messages to
// onMsg and violations and timeouts to onError. sched may be nil (no
// timeout).
func NewReassembler(sched *sim.Scheduler, onMsg func(msgType uint8, msg []byte), onError func(error)) *Reassembler {
	r := &Reassembler{sched: sched, onMsg: onMsg, onError: onError}
	if sched != nil {
		r.timer = sched.NewTimer(func() {
			r.reset()
			r.onError(fmt.Errorf("pb-gatt: proxy SAR timeout (%v)", SARTimeout))
		})
	}
	return r
}

func (r *Reassembler) reset() {
	r.active, r.buf = false, r.buf[:0]
	if r.timer != nil {
		r.timer.Stop()
	}
}

// Stop cancels a reassembly in progress (the connection closed).
func (r *Reassembler) Stop() { r.reset() }

// Receive takes one Proxy PDU.
func (r *Reassembler) Receive(pdu []byte) {
	if len(pdu) < 2 {
		r.fail("Proxy PDU of %d octets", len(pdu))
		return
	}
	sar, typ, data := SAR(pdu[0]>>6), pdu[0]&0x3f, pdu[1:]
	if len(data) > MaxMessageLen {
		r.fail("Proxy PDU of %d octets", len(pdu))
		return
	}
	switch sar {
	case SARComplete:
		if r.active {
			r.fail("Complete Proxy PDU inside a segmented message")
			return
		}
		r.onMsg(typ, append([]byte(nil), data...))
	case SARFirst:
		if r.active {
			r.fail("First Proxy PDU inside a segmented message")
			return
		}
		r.active, r.typ = true, typ
		r.buf = append(r.buf[:0], data...)
		if r.timer != nil {
			r.timer.ResetAfter(SARTimeout)
		}
	case SARContinuation, SARLast:
		if !r.active {
			r.fail("%s Proxy PDU without a First", map[SAR]string{SARContinuation: "Continuation", SARLast: "Last"}[sar])
			return
		}
		if typ != r.typ {
			r.fail("message type %#02x in a message of type %#02x", typ, r.typ)
			return
		}
		if len(r.buf)+len(data) > MaxMessageLen {
			r.fail("message longer than %d octets", MaxMessageLen)
			return
		}
		r.buf = append(r.buf, data...)
		if sar == SARLast {
			msg := append([]byte(nil), r.buf...)
			r.reset()
			r.onMsg(typ, msg)
		}
	}
}

func (r *Reassembler) fail(format string, args ...any) {
	r.reset()
	r.onError(fmt.Errorf("pb-gatt: "+format, args...))
}
