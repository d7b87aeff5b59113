package pdu

import (
	"fmt"

	"blesim/vhci/hci"
)

// AdvPDUType is the 4-bit PDU Type of an advertising physical channel PDU
// (Core v5.4 Vol 6 Part B §2.3, Table 2.3).
type AdvPDUType uint8

// Advertising physical channel PDU types (§2.3). Only the legacy types
// (0..6) are parsed; the extended ones are reserved for later.
const (
	TypeAdvInd        AdvPDUType = 0x0 // ADV_IND
	TypeAdvDirectInd  AdvPDUType = 0x1 // ADV_DIRECT_IND
	TypeAdvNonconnInd AdvPDUType = 0x2 // ADV_NONCONN_IND
	TypeScanReq       AdvPDUType = 0x3 // SCAN_REQ
	TypeScanRsp       AdvPDUType = 0x4 // SCAN_RSP
	TypeConnectInd    AdvPDUType = 0x5 // CONNECT_IND
	TypeAdvScanInd    AdvPDUType = 0x6 // ADV_SCAN_IND
	TypeAdvExtInd     AdvPDUType = 0x7 // ADV_EXT_IND (extended advertising; not parsed)
)

func (t AdvPDUType) String() string {
	switch t {
	case TypeAdvInd:
		return "ADV_IND"
	case TypeAdvDirectInd:
		return "ADV_DIRECT_IND"
	case TypeAdvNonconnInd:
		return "ADV_NONCONN_IND"
	case TypeScanReq:
		return "SCAN_REQ"
	case TypeScanRsp:
		return "SCAN_RSP"
	case TypeConnectInd:
		return "CONNECT_IND"
	case TypeAdvScanInd:
		return "ADV_SCAN_IND"
	case TypeAdvExtInd:
		return "ADV_EXT_IND"
	}
	return fmt.Sprintf("AdvPDUType(%d)", uint8(t))
}

// Sizes of advertising PDU parts (§2.3).
const (
	AdvHeaderLen  = 2  // PDU header: type/flags octet + Length octet
	AddrLen       = 6  // AdvA, ScanA, InitA, TargetA
	MaxAdvDataLen = 31 // AdvData and ScanRspData of legacy PDUs
	LLDataLen     = 22 // CONNECT_IND LLData (§2.3.3.1)
)

// payloadRange returns the allowed payload lengths for a legacy PDU type
// (§2.3.1 and §2.3.2, §2.3.3).
func payloadRange(t AdvPDUType) (lo, hi int, ok bool) {
	switch t {
	case TypeAdvInd, TypeAdvNonconnInd, TypeAdvScanInd, TypeScanRsp:
		return AddrLen, AddrLen + MaxAdvDataLen, true
	case TypeAdvDirectInd, TypeScanReq:
		return 2 * AddrLen, 2 * AddrLen, true
	case TypeConnectInd:
		return 2*AddrLen + LLDataLen, 2*AddrLen + LLDataLen, true
	}
	return 0, 0, false
}

// AdvHeader is the decoded 16-bit header of an advertising physical channel
// PDU (§2.3, Figure 2.5): PDU Type (bits 0-3), RFU (bit 4), ChSel (bit 5),
// TxAdd (bit 6), RxAdd (bit 7), Length (second octet).
type AdvHeader struct {
	Type   AdvPDUType
	ChSel  bool // sender supports Channel Selection Algorithm #2 (ADV_IND, ADV_DIRECT_IND, CONNECT_IND)
	TxAdd  bool // the sender's address field is random (true) or public
	RxAdd  bool // the receiver's address field is random (true) or public
	Length uint8
}

// Bytes encodes the header.
func (h AdvHeader) Bytes() [2]byte {
	b := byte(h.Type) & 0x0F
	if h.ChSel {
		b |= 1 << 5
	}
	if h.TxAdd {
		b |= 1 << 6
	}
	if h.RxAdd {
		b |= 1 << 7
	}
	return [2]byte{b, h.Length}
}

// ParseAdvHeader decodes the first two octets of b.
func ParseAdvHeader(b []byte) (AdvHeader, error) {
	if len(b) < AdvHeaderLen {
		return AdvHeader{}, fmt.Errorf("%w: advertising PDU header needs %d octets, have %d", ErrShort, AdvHeaderLen, len(b))
	}
	return AdvHeader{
		Type:   AdvPDUType(b[0] & 0x0F),
		ChSel:  b[0]&(1<<5) != 0,
		TxAdd:  b[0]&(1<<6) != 0,
		RxAdd:  b[0]&(1<<7) != 0,
		Length: b[1],
	}, nil
}

// AdvPDU is a view of an advertising physical channel PDU: header and
// payload, without preamble, access address and CRC. Getters return zero
// values where the slice is too short; call Validate (or use ParseAdv) on
// PDUs from the air before trusting the fields.
type AdvPDU []byte

// ParseAdv checks b as a legacy advertising PDU (§2.3) and returns it as a
// view (aliasing b). It rejects a header shorter than 2 octets, a Length
// field that disagrees with len(b), reserved/extended PDU types and a
// payload length outside the range for the type (e.g. ADV_IND 6..37,
// SCAN_REQ exactly 12, CONNECT_IND exactly 34). It never panics.
func ParseAdv(b []byte) (AdvPDU, error) {
	p := AdvPDU(b)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate reports why p is not a well-formed legacy advertising PDU, or nil.
func (p AdvPDU) Validate() error {
	h, err := ParseAdvHeader(p)
	if err != nil {
		return err
	}
	if int(h.Length) != len(p)-AdvHeaderLen {
		return fmt.Errorf("%w: %v Length field %d, but %d payload octets present", ErrLength, h.Type, h.Length, len(p)-AdvHeaderLen)
	}
	lo, hi, ok := payloadRange(h.Type)
	if !ok {
		return fmt.Errorf("%w: advertising PDU type %v", ErrType, h.Type)
	}
	if int(h.Length) < lo || int(h.Length) > hi {
		if lo == hi {
			return fmt.Errorf("%w: %v payload must be %d octets, got %d", ErrPayloadLength, h.Type, lo, h.Length)
		}
		return fmt.Errorf("%w: %v payload must be %d..%d octets, got %d", ErrPayloadLength, h.Type, lo, hi, h.Length)
	}
	return nil
}

// Header decodes the header (zero value if p is shorter than 2 octets).
func (p AdvPDU) Header() AdvHeader {
	h, _ := ParseAdvHeader(p)
	return h
}

// Type returns the PDU type.
func (p AdvPDU) Type() AdvPDUType { return p.Header().Type }

// ChSel returns the ChSel bit.
func (p AdvPDU) ChSel() bool { return p.Header().ChSel }

// TxAdd returns the TxAdd bit (true: the sender's address is random).
func (p AdvPDU) TxAdd() bool { return p.Header().TxAdd }

// RxAdd returns the RxAdd bit (true: the target's address is random).
func (p AdvPDU) RxAdd() bool { return p.Header().RxAdd }

// Length returns the header's Length field.
func (p AdvPDU) Length() uint8 { return p.Header().Length }

// SetChSel sets or clears the ChSel bit in place (no-op on a short slice).
func (p AdvPDU) SetChSel(on bool) {
	if len(p) == 0 {
		return
	}
	if on {
		p[0] |= 1 << 5
	} else {
		p[0] &^= 1 << 5
	}
}

// Payload returns the payload: the octets after the header, limited by the
// Length field and by len(p).
func (p AdvPDU) Payload() []byte {
	if len(p) < AdvHeaderLen {
		return nil
	}
	n := min(int(p[1]), len(p)-AdvHeaderLen)
	return p[AdvHeaderLen : AdvHeaderLen+n]
}

func addrAt(b []byte, off int) hci.BDAddr {
	var a hci.BDAddr
	if off >= 0 && off+AddrLen <= len(b) {
		copy(a[:], b[off:off+AddrLen])
	}
	return a
}

// AdvA returns the advertiser's address: the first payload field of ADV_IND,
// ADV_DIRECT_IND, ADV_NONCONN_IND, ADV_SCAN_IND and SCAN_RSP, the second of
// SCAN_REQ and CONNECT_IND. Zero for other types.
func (p AdvPDU) AdvA() hci.BDAddr {
	switch p.Type() {
	case TypeAdvInd, TypeAdvDirectInd, TypeAdvNonconnInd, TypeAdvScanInd, TypeScanRsp:
		return addrAt(p.Payload(), 0)
	case TypeScanReq, TypeConnectInd:
		return addrAt(p.Payload(), AddrLen)
	}
	return hci.BDAddr{}
}

// TargetA returns the target address of ADV_DIRECT_IND (§2.3.1.2).
func (p AdvPDU) TargetA() hci.BDAddr {
	if p.Type() != TypeAdvDirectInd {
		return hci.BDAddr{}
	}
	return addrAt(p.Payload(), AddrLen)
}

// ScanA returns the scanner's address of SCAN_REQ (§2.3.2.1).
func (p AdvPDU) ScanA() hci.BDAddr {
	if p.Type() != TypeScanReq {
		return hci.BDAddr{}
	}
	return addrAt(p.Payload(), 0)
}

// InitA returns the initiator's address of CONNECT_IND (§2.3.3.1).
func (p AdvPDU) InitA() hci.BDAddr {
	if p.Type() != TypeConnectInd {
		return hci.BDAddr{}
	}
	return addrAt(p.Payload(), 0)
}

// AdvData returns the AdvData of ADV_IND, ADV_NONCONN_IND and ADV_SCAN_IND
// (nil for other types). It aliases p.
func (p AdvPDU) AdvData() []byte {
	switch p.Type() {
	case TypeAdvInd, TypeAdvNonconnInd, TypeAdvScanInd:
		return tail(p.Payload(), AddrLen)
	}
	return nil
}

// ScanRspData returns the ScanRspData of SCAN_RSP (nil for other types). It
// aliases p.
func (p AdvPDU) ScanRspData() []byte {
	if p.Type() != TypeScanRsp {
		return nil
	}
	return tail(p.Payload(), AddrLen)
}

// LLData decodes the LLData of CONNECT_IND (§2.3.3.1). It returns an error
// for other types or a short PDU.
func (p AdvPDU) LLData() (LLData, error) {
	if t := p.Type(); t != TypeConnectInd {
		return LLData{}, fmt.Errorf("%w: LLData is only in CONNECT_IND, not %v", ErrType, t)
	}
	return ParseLLData(tail(p.Payload(), 2*AddrLen))
}

func tail(b []byte, off int) []byte {
	if off > len(b) {
		return nil
	}
	return b[off:]
}

func build(t AdvPDUType, txAdd, rxAdd bool, parts ...[]byte) AdvPDU {
	n := 0
	for _, q := range parts {
		n += len(q)
	}
	h := AdvHeader{Type: t, TxAdd: txAdd, RxAdd: rxAdd, Length: uint8(n)}.Bytes()
	b := make([]byte, 0, AdvHeaderLen+n)
	b = append(b, h[:]...)
	for _, q := range parts {
		b = append(b, q...)
	}
	return b
}

func buildWithData(t AdvPDUType, advA hci.BDAddr, txAdd bool, data []byte) (AdvPDU, error) {
	if len(data) > MaxAdvDataLen {
		return nil, fmt.Errorf("%w: %v data is %d octets, at most %d", ErrTooLong, t, len(data), MaxAdvDataLen)
	}
	return build(t, txAdd, false, advA[:], data), nil
}

// AdvInd builds an ADV_IND (§2.3.1.1): connectable scannable undirected.
// txAdd tells whether advA is a random address. advData is at most 31 octets.
func AdvInd(advA hci.BDAddr, txAdd bool, advData []byte) (AdvPDU, error) {
	return buildWithData(TypeAdvInd, advA, txAdd, advData)
}

// AdvNonconnInd builds an ADV_NONCONN_IND (§2.3.1.3).
func AdvNonconnInd(advA hci.BDAddr, txAdd bool, advData []byte) (AdvPDU, error) {
	return buildWithData(TypeAdvNonconnInd, advA, txAdd, advData)
}

// AdvScanInd builds an ADV_SCAN_IND (§2.3.1.4).
func AdvScanInd(advA hci.BDAddr, txAdd bool, advData []byte) (AdvPDU, error) {
	return buildWithData(TypeAdvScanInd, advA, txAdd, advData)
}

// ScanRsp builds a SCAN_RSP (§2.3.2.2). scanRspData is at most 31 octets.
func ScanRsp(advA hci.BDAddr, txAdd bool, scanRspData []byte) (AdvPDU, error) {
	return buildWithData(TypeScanRsp, advA, txAdd, scanRspData)
}

// AdvDirectInd builds an ADV_DIRECT_IND (§2.3.1.2). txAdd/rxAdd tell whether
// advA/targetA are random addresses.
func AdvDirectInd(advA hci.BDAddr, txAdd bool, targetA hci.BDAddr, rxAdd bool) AdvPDU {
	return build(TypeAdvDirectInd, txAdd, rxAdd, advA[:], targetA[:])
}

// ScanReq builds a SCAN_REQ (§2.3.2.1). txAdd/rxAdd tell whether scanA/advA
// are random addresses.
func ScanReq(scanA hci.BDAddr, txAdd bool, advA hci.BDAddr, rxAdd bool) AdvPDU {
	return build(TypeScanReq, txAdd, rxAdd, scanA[:], advA[:])
}

// ConnectInd builds a CONNECT_IND (§2.3.3.1). txAdd/rxAdd tell whether
// initA/advA are random addresses. Set ChSel with SetChSel when the
// initiator supports Channel Selection Algorithm #2.
func ConnectInd(initA hci.BDAddr, txAdd bool, advA hci.BDAddr, rxAdd bool, ll LLData) AdvPDU {
	var lld [LLDataLen]byte
	ll.Put(lld[:])
	return build(TypeConnectInd, txAdd, rxAdd, initA[:], advA[:], lld[:])
}
