// Package pbadv is the PB-ADV provisioning bearer (Mesh Protocol v1.1
// §5.2.1) and the generic provisioning layer over it (§5.3): links opened
// with Link Open / Link ACK and closed with Link Close, provisioning PDUs
// carried in transactions (Transaction Start, Continuation and
// Acknowledgment) with segmentation, reassembly, FCS, retransmission and
// timeouts. PB-ADV PDUs travel in AD type 0x29; unprovisioned devices
// announce themselves with Unprovisioned Device beacons (AD type 0x2B).
//
// The package is transport-independent: a Bearer sends AD structures (the
// wiring turns them into LE Set Advertising Data over HCI, or an in-memory
// Air delivers them), and Receive takes every received advertising data
// blob. Timers run on an injected *sim.Scheduler.
package pbadv

import (
	"encoding/binary"
	"fmt"

	"blesim/linklayer/pdu"
)

// Sizes of the PB-ADV PDU (§5.2.1, §5.3.1).
const (
	// MaxPDULen is the largest PB-ADV PDU: Link ID (4), Transaction Number
	// (1) and a Generic Provisioning PDU of at most 24 octets, so that with
	// its AD header it fits 31 octets of advertising data.
	MaxPDULen = 29
	headerLen = 5
	// FirstSegmentMax is the data of a Transaction Start PDU (24 - 4).
	FirstSegmentMax = 20
	// ContinuationMax is the data of a Transaction Continuation PDU (24 - 1).
	ContinuationMax = 23
	// MaxSegN is the largest SegN (6 bits).
	MaxSegN = 0x3f
	// MaxTransactionLen is the longest provisioning PDU a transaction can
	// carry: 20 + 63 × 23 octets.
	MaxTransactionLen = FirstSegmentMax + MaxSegN*ContinuationMax
)

// GPCF is the Generic Provisioning Control Format: the 2 low bits of the
// first octet of a Generic Provisioning PDU (§5.3.1).
type GPCF uint8

// Generic Provisioning PDU formats.
const (
	TransactionStart        GPCF = 0b00
	TransactionAck          GPCF = 0b01
	TransactionContinuation GPCF = 0b10
	BearerControl           GPCF = 0b11
)

func (g GPCF) String() string {
	return [...]string{"Transaction Start", "Transaction Acknowledgment", "Transaction Continuation", "Provisioning Bearer Control"}[g&3]
}

// Opcode is a Provisioning Bearer Control opcode (§5.3.1.4).
type Opcode uint8

// Bearer control opcodes.
const (
	LinkOpen  Opcode = 0x00
	LinkACK   Opcode = 0x01
	LinkClose Opcode = 0x02
)

func (o Opcode) String() string {
	switch o {
	case LinkOpen:
		return "Link Open"
	case LinkACK:
		return "Link ACK"
	case LinkClose:
		return "Link Close"
	}
	return fmt.Sprintf("bearer opcode %#02x (RFU)", uint8(o))
}

// PDU is one PB-ADV PDU, decoded.
type PDU struct {
	LinkID uint32
	Trans  uint8 // Transaction Number
	Kind   GPCF
	// Seg is SegN (the last segment's index) of a Transaction Start and the
	// Segment Index of a Transaction Continuation.
	Seg         uint8
	TotalLength uint16 // Transaction Start
	FCS         uint8  // Transaction Start
	Data        []byte // segment data of Start / Continuation (aliases the input)
	Opcode      Opcode // Bearer Control
	UUID        [16]byte
	Reason      uint8 // Link Close
}

// Parse decodes a PB-ADV PDU (the data of an AD structure of type 0x29)
// and checks its structure: sizes, SegN/TotalLength consistency, padding
// bits, known bearer opcodes. It never panics.
func Parse(b []byte) (PDU, error) {
	var p PDU
	if len(b) < headerLen+1 || len(b) > MaxPDULen {
		return p, fmt.Errorf("pb-adv: PDU of %d octets (want 6..29)", len(b))
	}
	p.LinkID = binary.BigEndian.Uint32(b)
	p.Trans = b[4]
	gp := b[headerLen:]
	p.Kind = GPCF(gp[0] & 3)
	p.Seg = gp[0] >> 2
	switch p.Kind {
	case TransactionStart:
		if len(gp) < 5 {
			return p, fmt.Errorf("pb-adv: Transaction Start of %d octets (want 5..24)", len(gp))
		}
		p.TotalLength = binary.BigEndian.Uint16(gp[1:])
		p.FCS = gp[3]
		p.Data = gp[4:]
		total, n := int(p.TotalLength), len(p.Data)
		switch {
		case total == 0:
			return p, fmt.Errorf("pb-adv: Transaction Start with TotalLength 0")
		case p.Seg == 0 && n != total:
			return p, fmt.Errorf("pb-adv: unsegmented Transaction Start with %d octets, TotalLength %d", n, total)
		case p.Seg > 0 && n != FirstSegmentMax:
			return p, fmt.Errorf("pb-adv: first of %d segments has %d octets (want %d)", p.Seg+1, n, FirstSegmentMax)
		case p.Seg > 0 && (total <= FirstSegmentMax+ContinuationMax*(int(p.Seg)-1) || total > FirstSegmentMax+ContinuationMax*int(p.Seg)):
			return p, fmt.Errorf("pb-adv: TotalLength %d does not need SegN %d", total, p.Seg)
		}
	case TransactionAck:
		if p.Seg != 0 || len(gp) != 1 {
			return p, fmt.Errorf("pb-adv: Transaction Acknowledgment with padding %#02x and %d octets", p.Seg, len(gp))
		}
	case TransactionContinuation:
		p.Data = gp[1:]
		if p.Seg == 0 || len(p.Data) == 0 {
			return p, fmt.Errorf("pb-adv: Transaction Continuation with index %d and %d octets", p.Seg, len(p.Data))
		}
	case BearerControl:
		p.Opcode = Opcode(p.Seg)
		p.Seg = 0
		params := gp[1:]
		switch p.Opcode {
		case LinkOpen:
			if len(params) != 16 {
				return p, fmt.Errorf("pb-adv: Link Open with %d parameter octets (want 16)", len(params))
			}
			copy(p.UUID[:], params)
		case LinkACK:
			if len(params) != 0 {
				return p, fmt.Errorf("pb-adv: Link ACK with %d parameter octets", len(params))
			}
		case LinkClose:
			if len(params) != 1 {
				return p, fmt.Errorf("pb-adv: Link Close with %d parameter octets (want 1)", len(params))
			}
			p.Reason = params[0]
		default:
			return p, fmt.Errorf("pb-adv: %v", p.Opcode)
		}
	}
	return p, nil
}

// Marshal encodes the PDU.
func (p PDU) Marshal() []byte {
	b := make([]byte, headerLen, MaxPDULen)
	binary.BigEndian.PutUint32(b, p.LinkID)
	b[4] = p.Trans
	switch p.Kind {
	case TransactionStart:
		b = append(b, p.Seg<<2|byte(TransactionStart))
		b = binary.BigEndian.AppendUint16(b, p.TotalLength)
		b = append(b, p.FCS)
		b = append(b, p.Data...)
	case TransactionAck:
		b = append(b, byte(TransactionAck))
	case TransactionContinuation:
		b = append(b, p.Seg<<2|byte(TransactionContinuation))
		b = append(b, p.Data...)
	case BearerControl:
		b = append(b, byte(p.Opcode)<<2|byte(BearerControl))
		switch p.Opcode {
		case LinkOpen:
			b = append(b, p.UUID[:]...)
		case LinkClose:
			b = append(b, p.Reason)
		}
	}
	return b
}

// AD wraps a PB-ADV PDU in an AD structure (Length, 0x29, PDU).
func AD(pbadv []byte) []byte {
	return append([]byte{byte(1 + len(pbadv)), byte(pdu.ADMeshPBADV)}, pbadv...)
}

// FCS is the Frame Check Sequence of a provisioning PDU: the 8-bit CRC of
// 3GPP TS 27.010 §5.2.1.6 (polynomial x^8+x^2+x+1, reflected, initial
// value 0xFF, ones' complement of the remainder) over the whole PDU (§5.3.1.1).
func FCS(b []byte) uint8 {
	fcs := uint8(0xff)
	for _, c := range b {
		fcs ^= c
		for range 8 {
			if fcs&1 != 0 {
				fcs = fcs>>1 ^ 0xe0
			} else {
				fcs >>= 1
			}
		}
	}
	return 0xff - fcs
}

// Segment splits a provisioning PDU into the PB-ADV PDUs of one
// transaction (§5.3.1.1–5.3.1.3): a Transaction Start with SegN,
// TotalLength, FCS and the first 20 octets, then Transaction
// Continuations of 23.
func Segment(linkID uint32, trans uint8, prov []byte) ([]PDU, error) {
	if len(prov) == 0 || len(prov) > MaxTransactionLen {
		return nil, fmt.Errorf("pb-adv: provisioning PDU of %d octets (want 1..%d)", len(prov), MaxTransactionLen)
	}
	first := min(len(prov), FirstSegmentMax)
	segN := (len(prov) - first + ContinuationMax - 1) / ContinuationMax
	out := []PDU{{LinkID: linkID, Trans: trans, Kind: TransactionStart, Seg: uint8(segN),
		TotalLength: uint16(len(prov)), FCS: FCS(prov), Data: prov[:first]}}
	for i, off := 1, first; off < len(prov); i, off = i+1, off+ContinuationMax {
		out = append(out, PDU{LinkID: linkID, Trans: trans, Kind: TransactionContinuation, Seg: uint8(i),
			Data: prov[off:min(off+ContinuationMax, len(prov))]})
	}
	return out, nil
}

// reassembly collects the segments of one incoming transaction, in any
// order (§5.3.1.3).
type reassembly struct {
	active bool
	trans  uint8
	start  *PDU
	segs   [MaxSegN + 1][]byte
	have   uint64
}

func (r *reassembly) reset() { *r = reassembly{} }

// add stores a Start or Continuation segment of transaction p.Trans. It
// returns the provisioning PDU once all segments are in and the FCS
// matches; bad is set when the transaction is inconsistent (it is then
// discarded, and the sender's retransmission starts it again).
func (r *reassembly) add(p PDU) (whole []byte, bad error) {
	if !r.active || r.trans != p.Trans {
		r.reset()
		r.active, r.trans = true, p.Trans
	}
	idx := p.Seg & MaxSegN // Continuation: the Segment Index
	if p.Kind == TransactionStart {
		s := p
		s.Data = nil
		r.start = &s
		idx = 0
	}
	r.segs[idx] = append(r.segs[idx][:0], p.Data...)
	r.have |= 1 << idx
	if r.start == nil {
		return nil, nil
	}
	segN := int(r.start.Seg)
	if r.have>>(segN+1) != 0 {
		r.reset()
		return nil, fmt.Errorf("pb-adv: segment index above SegN %d", segN)
	}
	if r.have != 1<<(segN+1)-1 {
		return nil, nil
	}
	total := int(r.start.TotalLength)
	if total == 0 || total > FirstSegmentMax+ContinuationMax*segN || (segN > 0 && total <= FirstSegmentMax+ContinuationMax*(segN-1)) {
		r.reset()
		return nil, fmt.Errorf("pb-adv: TotalLength %d with SegN %d", total, segN)
	}
	out := make([]byte, 0, total)
	for i := 0; i <= segN; i++ {
		want := ContinuationMax
		if i == 0 {
			want = min(total, FirstSegmentMax)
		} else if i == segN {
			want = total - FirstSegmentMax - ContinuationMax*(segN-1)
		}
		if len(r.segs[i]) != want {
			r.reset()
			return nil, fmt.Errorf("pb-adv: segment %d has %d octets (want %d)", i, len(r.segs[i]), want)
		}
		out = append(out, r.segs[i]...)
	}
	fcs := r.start.FCS
	r.reset()
	if FCS(out) != fcs {
		return nil, fmt.Errorf("pb-adv: FCS %#02x, computed %#02x", fcs, FCS(out))
	}
	return out, nil
}
