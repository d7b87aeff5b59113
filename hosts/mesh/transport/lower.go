// Package transport is the mesh lower and upper transport layers (Mesh
// Protocol v1.1 §3.5, §3.6): the four lower transport PDU formats and the
// Segment Acknowledgment message (§3.5.2), segmentation and reassembly with
// acknowledgments, retransmissions, the acknowledgment and discard timers
// (§3.5.3), and the upper transport security of access messages with an
// AppKey (AKF=1, AID) or the device key (AKF=0) and a 32- or 64-bit
// TransMIC (§3.6.2, §3.9.7.1).
//
// The Layer sits on a network.Layer. Keys, addresses, sequence numbers and
// the replay protection list belong to the node (hosts/mesh/stack) and are
// reached through the Layer's Config.
package transport

import (
	"encoding/binary"
	"fmt"
)

// Lower transport limits (§3.5.2).
const (
	MaxUnsegAccess  = 15 // upper transport access PDU in one unsegmented PDU (TransMIC included)
	MinUnsegAccess  = 5  // one octet of access payload and a 32-bit TransMIC
	SegAccessSize   = 12 // octets of a full access segment
	MaxUnsegControl = 11 // parameters of an unsegmented control message
	SegControlSize  = 8  // octets of a full control segment
	MaxSegments     = 32 // SegN is 5 bits
	// MaxAccessPDU is the largest upper transport access PDU: 32 segments
	// of 12 octets.
	MaxAccessPDU = MaxSegments * SegAccessSize
	// MaxControlPDU is the largest upper transport control PDU: 32 segments
	// of 8 octets.
	MaxControlPDU = MaxSegments * SegControlSize
)

// OpSegmentAck is the control opcode of the Segment Acknowledgment message
// (§3.5.2.3.1).
const OpSegmentAck uint8 = 0x00

// Lower is one lower transport PDU (§3.5.2). Access PDUs (CTL=0) carry
// AKF and AID, control PDUs (CTL=1) an opcode; segmented ones (Seg) carry
// SZMIC (access only), SeqZero, SegO and SegN. Payload is the whole upper
// transport PDU of an unsegmented message, or one segment.
type Lower struct {
	CTL     bool
	Seg     bool
	AKF     bool
	AID     uint8 // 6 bits
	Opcode  uint8 // 7 bits
	SZMIC   bool
	SeqZero uint16 // 13 bits
	SegO    uint8  // 5 bits
	SegN    uint8  // 5 bits
	Payload []byte
}

// SegmentSize is the size of a full segment of this kind of PDU.
func (l Lower) SegmentSize() int {
	if l.CTL {
		return SegControlSize
	}
	return SegAccessSize
}

// ParseLower decodes a lower transport PDU; ctl is the CTL bit of the
// network PDU that carried it. Payload aliases b.
func ParseLower(ctl bool, b []byte) (Lower, error) {
	l := Lower{CTL: ctl}
	if len(b) == 0 {
		return l, fmt.Errorf("lower transport: empty PDU")
	}
	l.Seg = b[0]&0x80 != 0
	if ctl {
		l.Opcode = b[0] & 0x7f
	} else {
		l.AKF = b[0]&0x40 != 0
		l.AID = b[0] & 0x3f
	}
	if !l.Seg {
		l.Payload = b[1:]
		switch {
		case !ctl && (len(l.Payload) < MinUnsegAccess || len(l.Payload) > MaxUnsegAccess):
			return l, fmt.Errorf("lower transport: unsegmented access PDU of %d octets (want %d..%d)", len(l.Payload), MinUnsegAccess, MaxUnsegAccess)
		case ctl && len(l.Payload) > MaxUnsegControl:
			return l, fmt.Errorf("lower transport: unsegmented control PDU of %d parameter octets (at most %d)", len(l.Payload), MaxUnsegControl)
		case ctl && l.Opcode == OpSegmentAck && len(l.Payload) != 6:
			return l, fmt.Errorf("lower transport: Segment Acknowledgment of %d octets (want 6)", len(l.Payload))
		}
		return l, nil
	}
	if len(b) < 5 {
		return l, fmt.Errorf("lower transport: segmented PDU of %d octets (at least 5)", len(b))
	}
	h := uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if ctl {
		if h&0x800000 != 0 {
			return l, fmt.Errorf("lower transport: segmented control PDU with the RFU bit set")
		}
		if l.Opcode == OpSegmentAck {
			return l, fmt.Errorf("lower transport: a Segment Acknowledgment cannot be segmented")
		}
	} else {
		l.SZMIC = h&0x800000 != 0
	}
	l.SeqZero = uint16(h>>10) & 0x1fff
	l.SegO = uint8(h>>5) & 0x1f
	l.SegN = uint8(h) & 0x1f
	l.Payload = b[4:]
	if l.SegO > l.SegN {
		return l, fmt.Errorf("lower transport: SegO %d > SegN %d", l.SegO, l.SegN)
	}
	if n := l.SegmentSize(); len(l.Payload) > n {
		return l, fmt.Errorf("lower transport: segment of %d octets (at most %d)", len(l.Payload), n)
	}
	return l, nil
}

// Marshal encodes the PDU.
func (l Lower) Marshal() []byte {
	out := make([]byte, 0, 4+len(l.Payload))
	var b0 byte
	if l.Seg {
		b0 = 0x80
	}
	if l.CTL {
		b0 |= l.Opcode & 0x7f
	} else {
		if l.AKF {
			b0 |= 0x40
		}
		b0 |= l.AID & 0x3f
	}
	out = append(out, b0)
	if l.Seg {
		h := uint32(l.SeqZero&0x1fff)<<10 | uint32(l.SegO&0x1f)<<5 | uint32(l.SegN&0x1f)
		if l.SZMIC && !l.CTL {
			h |= 0x800000
		}
		out = append(out, byte(h>>16), byte(h>>8), byte(h))
	}
	return append(out, l.Payload...)
}

// SegmentAck is the Segment Acknowledgment message (§3.5.2.3.1): OBO is
// set by a Friend acknowledging for a Low Power node; bit n of BlockAck
// acknowledges segment n. A BlockAck of 0 means the receiver cannot take
// the message (it is busy).
type SegmentAck struct {
	OBO      bool
	SeqZero  uint16
	BlockAck uint32
}

// ParseSegmentAck decodes the parameters of a Segment Acknowledgment.
func ParseSegmentAck(p []byte) (SegmentAck, error) {
	if len(p) != 6 {
		return SegmentAck{}, fmt.Errorf("lower transport: Segment Acknowledgment of %d octets (want 6)", len(p))
	}
	h := binary.BigEndian.Uint16(p)
	return SegmentAck{OBO: h&0x8000 != 0, SeqZero: (h >> 2) & 0x1fff, BlockAck: binary.BigEndian.Uint32(p[2:])}, nil
}

// Params encodes the parameters (after the opcode octet).
func (a SegmentAck) Params() []byte {
	h := (a.SeqZero & 0x1fff) << 2
	if a.OBO {
		h |= 0x8000
	}
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, h), a.BlockAck)
}

// Lower returns the acknowledgment as an unsegmented control PDU.
func (a SegmentAck) Lower() Lower {
	return Lower{CTL: true, Opcode: OpSegmentAck, Payload: a.Params()}
}

// SeqAuth returns the 56-bit SeqAuth (IV Index || SEQ of the first
// segment, §3.5.3.1) of a segment with sequence number seq sent with
// ivIndex and carrying seqZero: the largest value not above IV||SEQ whose
// low 13 bits are seqZero.
func SeqAuth(ivIndex, seq uint32, seqZero uint16) uint64 {
	full := uint64(ivIndex)<<24 | uint64(seq&0xffffff)
	return full - uint64((seq-uint32(seqZero))&0x1fff)
}
