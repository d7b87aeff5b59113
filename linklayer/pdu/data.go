package pdu

import "fmt"

// LLID is the 2-bit Link Layer ID of a data physical channel PDU header
// (Core v5.4 Vol 6 Part B §2.4, Table 2.18).
type LLID uint8

// LLID values (§2.4).
const (
	LLIDReserved LLID = 0b00
	// LLIDContinuation: LL Data PDU, continuation fragment of an L2CAP
	// message, or an empty PDU.
	LLIDContinuation LLID = 0b01
	// LLIDStart: LL Data PDU, start of an L2CAP message or a complete L2CAP
	// message with no fragmentation.
	LLIDStart LLID = 0b10
	// LLIDControl: LL Control PDU.
	LLIDControl LLID = 0b11
)

func (l LLID) String() string {
	switch l {
	case LLIDContinuation:
		return "LL Data (continuation/empty)"
	case LLIDStart:
		return "LL Data (start)"
	case LLIDControl:
		return "LL Control"
	}
	return "LLID reserved"
}

// Sizes of data physical channel PDU parts (§2.4, §2.4.1).
const (
	DataHeaderLen  = 2   // header without CTEInfo
	MaxDataPayload = 251 // maximum LL Data PDU payload (LE Data Length Extension)
	MICLen         = 4   // MIC appended to encrypted non-empty PDUs (§2.4)
)

// DataHeader is the decoded header of a data physical channel PDU (§2.4,
// Figure 2.19): LLID (bits 0-1), NESN (2), SN (3), MD (4), CP (5), RFU (6-7),
// Length (second octet, payload plus MIC, not counting CTEInfo).
type DataHeader struct {
	LLID   LLID
	NESN   bool // next expected sequence number
	SN     bool // sequence number
	MD     bool // more data
	CP     bool // CTEInfo present (a third header octet follows)
	Length uint8
}

// Bytes encodes the header's first two octets.
func (h DataHeader) Bytes() [2]byte {
	b := byte(h.LLID) & 0x03
	if h.NESN {
		b |= 1 << 2
	}
	if h.SN {
		b |= 1 << 3
	}
	if h.MD {
		b |= 1 << 4
	}
	if h.CP {
		b |= 1 << 5
	}
	return [2]byte{b, h.Length}
}

// ParseDataHeader decodes the first two octets of b.
func ParseDataHeader(b []byte) (DataHeader, error) {
	if len(b) < DataHeaderLen {
		return DataHeader{}, fmt.Errorf("%w: data PDU header needs %d octets, have %d", ErrShort, DataHeaderLen, len(b))
	}
	return DataHeader{
		LLID:   LLID(b[0] & 0x03),
		NESN:   b[0]&(1<<2) != 0,
		SN:     b[0]&(1<<3) != 0,
		MD:     b[0]&(1<<4) != 0,
		CP:     b[0]&(1<<5) != 0,
		Length: b[1],
	}, nil
}

// DataPDU is a view of a data physical channel PDU: header (2 octets, or 3
// with CTEInfo) and payload (plus MIC when encrypted), without preamble,
// access address and CRC. Getters return zero values where the slice is too
// short; use ParseData on PDUs from the air.
type DataPDU []byte

// ParseData checks the framing of a data physical channel PDU (§2.4) and
// returns it as a view aliasing b: the header is present, LLID is not the
// reserved value, the Length field matches the octets present and an LL
// Control PDU is not empty. It does not look inside the payload (which may
// still be encrypted); check a decrypted control payload with
// ValidateControl. It never panics.
func ParseData(b []byte) (DataPDU, error) {
	h, err := ParseDataHeader(b)
	if err != nil {
		return nil, err
	}
	hl := DataHeaderLen
	if h.CP {
		hl++
		if len(b) < hl {
			return nil, fmt.Errorf("%w: CP is set but the CTEInfo octet is missing", ErrShort)
		}
	}
	if int(h.Length) != len(b)-hl {
		return nil, fmt.Errorf("%w: data PDU Length field %d, but %d payload octets present", ErrLength, h.Length, len(b)-hl)
	}
	switch h.LLID {
	case LLIDReserved:
		return nil, fmt.Errorf("%w: LLID 0b00 is reserved", ErrType)
	case LLIDControl:
		if h.Length == 0 {
			return nil, fmt.Errorf("%w: LL Control PDU with no opcode", ErrPayloadLength)
		}
	}
	return DataPDU(b), nil
}

// Header decodes the header (zero value if p is shorter than 2 octets).
func (p DataPDU) Header() DataHeader {
	h, _ := ParseDataHeader(p)
	return h
}

// LLID returns the LLID field.
func (p DataPDU) LLID() LLID { return p.Header().LLID }

// NESN returns the NESN bit.
func (p DataPDU) NESN() bool { return p.Header().NESN }

// SN returns the SN bit.
func (p DataPDU) SN() bool { return p.Header().SN }

// MD returns the MD bit.
func (p DataPDU) MD() bool { return p.Header().MD }

// CP returns the CP bit.
func (p DataPDU) CP() bool { return p.Header().CP }

// Length returns the Length field.
func (p DataPDU) Length() uint8 { return p.Header().Length }

// CTEInfo returns the CTEInfo octet and whether CP is set and it is present.
func (p DataPDU) CTEInfo() (byte, bool) {
	if !p.CP() || len(p) < DataHeaderLen+1 {
		return 0, false
	}
	return p[2], true
}

// Payload returns the payload (and MIC, if encrypted): the octets after the
// header, limited by the Length field and by len(p). It aliases p.
func (p DataPDU) Payload() []byte {
	if len(p) < DataHeaderLen {
		return nil
	}
	hl := DataHeaderLen
	if p.CP() {
		hl++
	}
	if len(p) < hl {
		return nil
	}
	n := min(int(p[1]), len(p)-hl)
	return p[hl : hl+n]
}

func (p DataPDU) setBit(bit uint, on bool) {
	if len(p) == 0 {
		return
	}
	if on {
		p[0] |= 1 << bit
	} else {
		p[0] &^= 1 << bit
	}
}

// SetNESN sets the NESN bit in place (no-op on an empty slice).
func (p DataPDU) SetNESN(on bool) { p.setBit(2, on) }

// SetSN sets the SN bit in place.
func (p DataPDU) SetSN(on bool) { p.setBit(3, on) }

// SetMD sets the MD bit in place.
func (p DataPDU) SetMD(on bool) { p.setBit(4, on) }

// Data builds a data channel PDU with the given LLID and payload (which
// includes the MIC when encrypted). SN, NESN and MD start clear; set them
// with the setters when the PDU is sent. The payload is at most 255 octets.
func Data(llid LLID, payload []byte) (DataPDU, error) {
	return AppendData(nil, DataHeader{LLID: llid}, payload)
}

// AppendData appends a data channel PDU with header h (its Length and CP are
// taken from payload, CP cleared) and payload to dst.
func AppendData(dst []byte, h DataHeader, payload []byte) (DataPDU, error) {
	if len(payload) > 255 {
		return nil, fmt.Errorf("%w: data PDU payload is %d octets, at most 255", ErrTooLong, len(payload))
	}
	if h.LLID == LLIDReserved {
		return nil, fmt.Errorf("%w: LLID 0b00 is reserved", ErrType)
	}
	h.CP = false
	h.Length = uint8(len(payload))
	hb := h.Bytes()
	dst = append(dst, hb[:]...)
	return append(dst, payload...), nil
}

// Empty returns an empty PDU (LLID 0b01, Length 0), used to acknowledge and
// keep the connection alive (§2.4).
func Empty() DataPDU { return DataPDU{byte(LLIDContinuation), 0} }

// Control wraps an LL control payload (opcode + CtrData, as made by the
// Build... functions) into an LL Control PDU (LLID 0b11).
func Control(payload []byte) (DataPDU, error) {
	if len(payload) == 0 {
		return nil, fmt.Errorf("%w: LL Control PDU with no opcode", ErrPayloadLength)
	}
	return Data(LLIDControl, payload)
}
