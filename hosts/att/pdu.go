// Package att is the Attribute Protocol of blesim's built-in hosts
// (Core v5.4 Vol 3 Part F): the PDU codec (pdu.go), UUIDs and the per
// connection bearer that runs request/response and indication/confirmation
// transactions with the 30 s ATT timeout (bearer.go).
package att

import (
	"errors"
	"fmt"

	"blesim/vhci/hci"
)

// Opcode is an ATT opcode (Vol 3 Part F §3.3.1, §3.4.8).
type Opcode uint8

// ATT opcodes.
const (
	OpErrorRsp           Opcode = 0x01
	OpExchangeMTUReq     Opcode = 0x02
	OpExchangeMTURsp     Opcode = 0x03
	OpFindInfoReq        Opcode = 0x04
	OpFindInfoRsp        Opcode = 0x05
	OpFindByTypeValueReq Opcode = 0x06
	OpFindByTypeValueRsp Opcode = 0x07
	OpReadByTypeReq      Opcode = 0x08
	OpReadByTypeRsp      Opcode = 0x09
	OpReadReq            Opcode = 0x0A
	OpReadRsp            Opcode = 0x0B
	OpReadBlobReq        Opcode = 0x0C
	OpReadBlobRsp        Opcode = 0x0D
	OpReadMultipleReq    Opcode = 0x0E
	OpReadMultipleRsp    Opcode = 0x0F
	OpReadByGroupTypeReq Opcode = 0x10
	OpReadByGroupTypeRsp Opcode = 0x11
	OpWriteReq           Opcode = 0x12
	OpWriteRsp           Opcode = 0x13
	OpPrepareWriteReq    Opcode = 0x16
	OpPrepareWriteRsp    Opcode = 0x17
	OpExecuteWriteReq    Opcode = 0x18
	OpExecuteWriteRsp    Opcode = 0x19
	OpHandleValueNtf     Opcode = 0x1B
	OpHandleValueInd     Opcode = 0x1D
	OpHandleValueCfm     Opcode = 0x1E
	OpWriteCmd           Opcode = 0x52
	OpSignedWriteCmd     Opcode = 0xD2
)

// IsCommand reports whether the Command Flag (bit 6) is set: commands get no
// response, not even an error (§3.3.1).
func (o Opcode) IsCommand() bool { return o&0x40 != 0 }

// IsRequest reports whether o is a request the server must answer.
func (o Opcode) IsRequest() bool {
	switch o {
	case OpExchangeMTUReq, OpFindInfoReq, OpFindByTypeValueReq, OpReadByTypeReq, OpReadReq, OpReadBlobReq,
		OpReadMultipleReq, OpReadByGroupTypeReq, OpWriteReq, OpPrepareWriteReq, OpExecuteWriteReq:
		return true
	}
	return !o.IsCommand() && !o.isKnown() // unknown non-command PDUs are treated as requests (§3.4.1.1)
}

// IsResponse reports whether o answers a request.
func (o Opcode) IsResponse() bool {
	switch o {
	case OpErrorRsp, OpExchangeMTURsp, OpFindInfoRsp, OpFindByTypeValueRsp, OpReadByTypeRsp, OpReadRsp, OpReadBlobRsp,
		OpReadMultipleRsp, OpReadByGroupTypeRsp, OpWriteRsp, OpPrepareWriteRsp, OpExecuteWriteRsp:
		return true
	}
	return false
}

func (o Opcode) isKnown() bool { _, ok := opNames[o]; return ok }

var opNames = map[Opcode]string{
	OpErrorRsp: "Error Response", OpExchangeMTUReq: "Exchange MTU Request", OpExchangeMTURsp: "Exchange MTU Response",
	OpFindInfoReq: "Find Information Request", OpFindInfoRsp: "Find Information Response",
	OpFindByTypeValueReq: "Find By Type Value Request", OpFindByTypeValueRsp: "Find By Type Value Response",
	OpReadByTypeReq: "Read By Type Request", OpReadByTypeRsp: "Read By Type Response",
	OpReadReq: "Read Request", OpReadRsp: "Read Response", OpReadBlobReq: "Read Blob Request", OpReadBlobRsp: "Read Blob Response",
	OpReadMultipleReq: "Read Multiple Request", OpReadMultipleRsp: "Read Multiple Response",
	OpReadByGroupTypeReq: "Read By Group Type Request", OpReadByGroupTypeRsp: "Read By Group Type Response",
	OpWriteReq: "Write Request", OpWriteRsp: "Write Response", OpPrepareWriteReq: "Prepare Write Request",
	OpPrepareWriteRsp: "Prepare Write Response", OpExecuteWriteReq: "Execute Write Request", OpExecuteWriteRsp: "Execute Write Response",
	OpHandleValueNtf: "Handle Value Notification", OpHandleValueInd: "Handle Value Indication",
	OpHandleValueCfm: "Handle Value Confirmation", OpWriteCmd: "Write Command", OpSignedWriteCmd: "Signed Write Command",
}

func (o Opcode) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return fmt.Sprintf("Opcode(0x%02x)", uint8(o))
}

// ErrorCode is an ATT error code (Vol 3 Part F §3.4.1.1, table 3.4). It
// implements error.
type ErrorCode uint8

// ATT error codes.
const (
	ErrInvalidHandle            ErrorCode = 0x01
	ErrReadNotPermitted         ErrorCode = 0x02
	ErrWriteNotPermitted        ErrorCode = 0x03
	ErrInvalidPDU               ErrorCode = 0x04
	ErrInsufficientAuthn        ErrorCode = 0x05
	ErrRequestNotSupported      ErrorCode = 0x06
	ErrInvalidOffset            ErrorCode = 0x07
	ErrInsufficientAuthz        ErrorCode = 0x08
	ErrPrepareQueueFull         ErrorCode = 0x09
	ErrAttributeNotFound        ErrorCode = 0x0A
	ErrAttributeNotLong         ErrorCode = 0x0B
	ErrEncryptionKeySizeTooShrt ErrorCode = 0x0C
	ErrInvalidAttrValueLength   ErrorCode = 0x0D
	ErrUnlikely                 ErrorCode = 0x0E
	ErrInsufficientEncryption   ErrorCode = 0x0F
	ErrUnsupportedGroupType     ErrorCode = 0x10
	ErrInsufficientResources    ErrorCode = 0x11
	ErrValueNotAllowed          ErrorCode = 0x13
	ErrCCCDImproperlyConfigured ErrorCode = 0xFD // Core Specification Supplement Part B §1.2
)

var errNames = map[ErrorCode]string{
	ErrInvalidHandle: "Invalid Handle", ErrReadNotPermitted: "Read Not Permitted", ErrWriteNotPermitted: "Write Not Permitted",
	ErrInvalidPDU: "Invalid PDU", ErrInsufficientAuthn: "Insufficient Authentication", ErrRequestNotSupported: "Request Not Supported",
	ErrInvalidOffset: "Invalid Offset", ErrInsufficientAuthz: "Insufficient Authorization", ErrPrepareQueueFull: "Prepare Queue Full",
	ErrAttributeNotFound: "Attribute Not Found", ErrAttributeNotLong: "Attribute Not Long",
	ErrEncryptionKeySizeTooShrt: "Encryption Key Size Too Short", ErrInvalidAttrValueLength: "Invalid Attribute Value Length",
	ErrUnlikely: "Unlikely Error", ErrInsufficientEncryption: "Insufficient Encryption", ErrUnsupportedGroupType: "Unsupported Group Type",
	ErrInsufficientResources: "Insufficient Resources", ErrValueNotAllowed: "Value Not Allowed",
	ErrCCCDImproperlyConfigured: "Client Characteristic Configuration Descriptor Improperly Configured",
}

func (e ErrorCode) Error() string {
	if n, ok := errNames[e]; ok {
		return fmt.Sprintf("ATT %s (0x%02x)", n, uint8(e))
	}
	return fmt.Sprintf("ATT error 0x%02x", uint8(e))
}

// DefaultMTU is ATT_MTU before an MTU exchange on LE (§3.2.8).
const DefaultMTU = 23

// MaxAttrLen is the maximum attribute value length (§3.2.9).
const MaxAttrLen = 512

// Errors from Parse.
var (
	ErrUnknownOpcode = errors.New("att: unknown opcode")
	ErrMalformed     = errors.New("att: malformed PDU")
)

// PDU is a decoded ATT PDU.
type PDU interface {
	Opcode() Opcode
	Marshal() []byte
}

// HandleUUID is one Find Information Response entry.
type HandleUUID struct {
	Handle uint16
	UUID   UUID
}

// HandleRange is one Find By Type Value Response entry.
type HandleRange struct{ Found, GroupEnd uint16 }

// HandleValue is one Read By Type Response entry.
type HandleValue struct {
	Handle uint16
	Value  []byte
}

// GroupValue is one Read By Group Type Response entry.
type GroupValue struct {
	Start, End uint16
	Value      []byte
}

// PDU types (Vol 3 Part F §3.4). Values alias the parsed bytes.
type (
	ErrorRsp struct {
		Req    Opcode
		Handle uint16
		Code   ErrorCode
	}
	ExchangeMTUReq     struct{ MTU uint16 }
	ExchangeMTURsp     struct{ MTU uint16 }
	FindInfoReq        struct{ Start, End uint16 }
	FindInfoRsp        struct{ Entries []HandleUUID } // all 16-bit or all 128-bit
	FindByTypeValueReq struct {
		Start, End uint16
		Type       uint16
		Value      []byte
	}
	FindByTypeValueRsp struct{ Handles []HandleRange }
	ReadByTypeReq      struct {
		Start, End uint16
		Type       UUID
	}
	ReadByTypeRsp      struct{ Entries []HandleValue } // values of equal length
	ReadReq            struct{ Handle uint16 }
	ReadRsp            struct{ Value []byte }
	ReadBlobReq        struct{ Handle, Offset uint16 }
	ReadBlobRsp        struct{ Value []byte }
	ReadMultipleReq    struct{ Handles []uint16 }
	ReadMultipleRsp    struct{ Values []byte }
	ReadByGroupTypeReq struct {
		Start, End uint16
		Type       UUID
	}
	ReadByGroupTypeRsp struct{ Entries []GroupValue } // values of equal length
	WriteReq           struct {
		Handle uint16
		Value  []byte
	}
	WriteRsp struct{}
	WriteCmd struct {
		Handle uint16
		Value  []byte
	}
	SignedWriteCmd struct {
		Handle    uint16
		Value     []byte
		Signature [12]byte
	}
	PrepareWriteReq struct {
		Handle, Offset uint16
		Value          []byte
	}
	PrepareWriteRsp struct {
		Handle, Offset uint16
		Value          []byte
	}
	ExecuteWriteReq struct{ Flags uint8 } // 0x00 cancel, 0x01 write
	ExecuteWriteRsp struct{}
	HandleValueNtf  struct {
		Handle uint16
		Value  []byte
	}
	HandleValueInd struct {
		Handle uint16
		Value  []byte
	}
	HandleValueCfm struct{}
)

func (ErrorRsp) Opcode() Opcode           { return OpErrorRsp }
func (ExchangeMTUReq) Opcode() Opcode     { return OpExchangeMTUReq }
func (ExchangeMTURsp) Opcode() Opcode     { return OpExchangeMTURsp }
func (FindInfoReq) Opcode() Opcode        { return OpFindInfoReq }
func (FindInfoRsp) Opcode() Opcode        { return OpFindInfoRsp }
func (FindByTypeValueReq) Opcode() Opcode { return OpFindByTypeValueReq }
func (FindByTypeValueRsp) Opcode() Opcode { return OpFindByTypeValueRsp }
func (ReadByTypeReq) Opcode() Opcode      { return OpReadByTypeReq }
func (ReadByTypeRsp) Opcode() Opcode      { return OpReadByTypeRsp }
func (ReadReq) Opcode() Opcode            { return OpReadReq }
func (ReadRsp) Opcode() Opcode            { return OpReadRsp }
func (ReadBlobReq) Opcode() Opcode        { return OpReadBlobReq }
func (ReadBlobRsp) Opcode() Opcode        { return OpReadBlobRsp }
func (ReadMultipleReq) Opcode() Opcode    { return OpReadMultipleReq }
func (ReadMultipleRsp) Opcode() Opcode    { return OpReadMultipleRsp }
func (ReadByGroupTypeReq) Opcode() Opcode { return OpReadByGroupTypeReq }
func (ReadByGroupTypeRsp) Opcode() Opcode { return OpReadByGroupTypeRsp }
func (WriteReq) Opcode() Opcode           { return OpWriteReq }
func (WriteRsp) Opcode() Opcode           { return OpWriteRsp }
func (WriteCmd) Opcode() Opcode           { return OpWriteCmd }
func (SignedWriteCmd) Opcode() Opcode     { return OpSignedWriteCmd }
func (PrepareWriteReq) Opcode() Opcode    { return OpPrepareWriteReq }
func (PrepareWriteRsp) Opcode() Opcode    { return OpPrepareWriteRsp }
func (ExecuteWriteReq) Opcode() Opcode    { return OpExecuteWriteReq }
func (ExecuteWriteRsp) Opcode() Opcode    { return OpExecuteWriteRsp }
func (HandleValueNtf) Opcode() Opcode     { return OpHandleValueNtf }
func (HandleValueInd) Opcode() Opcode     { return OpHandleValueInd }
func (HandleValueCfm) Opcode() Opcode     { return OpHandleValueCfm }

func w(op Opcode) *hci.Writer { return (&hci.Writer{}).U8(uint8(op)) }

func (p ErrorRsp) Marshal() []byte {
	return w(OpErrorRsp).U8(uint8(p.Req)).U16(p.Handle).U8(uint8(p.Code)).B
}
func (p ExchangeMTUReq) Marshal() []byte { return w(OpExchangeMTUReq).U16(p.MTU).B }
func (p ExchangeMTURsp) Marshal() []byte { return w(OpExchangeMTURsp).U16(p.MTU).B }
func (p FindInfoReq) Marshal() []byte    { return w(OpFindInfoReq).U16(p.Start).U16(p.End).B }
func (p FindInfoRsp) Marshal() []byte {
	b := w(OpFindInfoRsp)
	format := uint8(1)
	if len(p.Entries) > 0 && !p.Entries[0].UUID.Is16() {
		format = 2
	}
	b.U8(format)
	for _, e := range p.Entries {
		b.U16(e.Handle)
		if format == 1 {
			b.Bytes(e.UUID.Bytes())
		} else {
			b.Bytes(e.UUID[:])
		}
	}
	return b.B
}
func (p FindByTypeValueReq) Marshal() []byte {
	return w(OpFindByTypeValueReq).U16(p.Start).U16(p.End).U16(p.Type).Bytes(p.Value).B
}
func (p FindByTypeValueRsp) Marshal() []byte {
	b := w(OpFindByTypeValueRsp)
	for _, h := range p.Handles {
		b.U16(h.Found).U16(h.GroupEnd)
	}
	return b.B
}
func (p ReadByTypeReq) Marshal() []byte {
	return w(OpReadByTypeReq).U16(p.Start).U16(p.End).Bytes(p.Type.Bytes()).B
}
func (p ReadByTypeRsp) Marshal() []byte {
	b := w(OpReadByTypeRsp)
	n := 2
	if len(p.Entries) > 0 {
		n += len(p.Entries[0].Value)
	}
	b.U8(uint8(n))
	for _, e := range p.Entries {
		b.U16(e.Handle).Bytes(e.Value)
	}
	return b.B
}
func (p ReadReq) Marshal() []byte         { return w(OpReadReq).U16(p.Handle).B }
func (p ReadRsp) Marshal() []byte         { return w(OpReadRsp).Bytes(p.Value).B }
func (p ReadBlobReq) Marshal() []byte     { return w(OpReadBlobReq).U16(p.Handle).U16(p.Offset).B }
func (p ReadBlobRsp) Marshal() []byte     { return w(OpReadBlobRsp).Bytes(p.Value).B }
func (p ReadMultipleRsp) Marshal() []byte { return w(OpReadMultipleRsp).Bytes(p.Values).B }
func (p ReadMultipleReq) Marshal() []byte {
	b := w(OpReadMultipleReq)
	for _, h := range p.Handles {
		b.U16(h)
	}
	return b.B
}
func (p ReadByGroupTypeReq) Marshal() []byte {
	return w(OpReadByGroupTypeReq).U16(p.Start).U16(p.End).Bytes(p.Type.Bytes()).B
}
func (p ReadByGroupTypeRsp) Marshal() []byte {
	b := w(OpReadByGroupTypeRsp)
	n := 4
	if len(p.Entries) > 0 {
		n += len(p.Entries[0].Value)
	}
	b.U8(uint8(n))
	for _, e := range p.Entries {
		b.U16(e.Start).U16(e.End).Bytes(e.Value)
	}
	return b.B
}
func (p WriteReq) Marshal() []byte { return w(OpWriteReq).U16(p.Handle).Bytes(p.Value).B }
func (WriteRsp) Marshal() []byte   { return []byte{byte(OpWriteRsp)} }
func (p WriteCmd) Marshal() []byte { return w(OpWriteCmd).U16(p.Handle).Bytes(p.Value).B }
func (p SignedWriteCmd) Marshal() []byte {
	return w(OpSignedWriteCmd).U16(p.Handle).Bytes(p.Value).Bytes(p.Signature[:]).B
}
func (p PrepareWriteReq) Marshal() []byte {
	return w(OpPrepareWriteReq).U16(p.Handle).U16(p.Offset).Bytes(p.Value).B
}
func (p PrepareWriteRsp) Marshal() []byte {
	return w(OpPrepareWriteRsp).U16(p.Handle).U16(p.Offset).Bytes(p.Value).B
}
func (p ExecuteWriteReq) Marshal() []byte { return w(OpExecuteWriteReq).U8(p.Flags).B }
func (ExecuteWriteRsp) Marshal() []byte   { return []byte{byte(OpExecuteWriteRsp)} }
func (p HandleValueNtf) Marshal() []byte  { return w(OpHandleValueNtf).U16(p.Handle).Bytes(p.Value).B }
func (p HandleValueInd) Marshal() []byte  { return w(OpHandleValueInd).U16(p.Handle).Bytes(p.Value).B }
func (HandleValueCfm) Marshal() []byte    { return []byte{byte(OpHandleValueCfm)} }

func malformed(op Opcode, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, op, fmt.Sprintf(format, args...))
}

// Parse decodes one ATT PDU. It never panics; errors wrap ErrMalformed or
// ErrUnknownOpcode.
func Parse(b []byte) (PDU, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty PDU", ErrMalformed)
	}
	op := Opcode(b[0])
	r := hci.NewReader(b[1:])
	var p PDU
	switch op {
	case OpErrorRsp:
		p = ErrorRsp{Req: Opcode(r.U8()), Handle: r.U16(), Code: ErrorCode(r.U8())}
	case OpExchangeMTUReq:
		p = ExchangeMTUReq{MTU: r.U16()}
	case OpExchangeMTURsp:
		p = ExchangeMTURsp{MTU: r.U16()}
	case OpFindInfoReq:
		p = FindInfoReq{Start: r.U16(), End: r.U16()}
	case OpFindInfoRsp:
		format := r.U8()
		size := map[uint8]int{1: 2, 2: 16}[format]
		if size == 0 || r.Len() == 0 || r.Len()%(2+size) != 0 {
			return nil, malformed(op, "format %d with %d data bytes", format, r.Len())
		}
		var rsp FindInfoRsp
		for r.Len() > 0 {
			h := r.U16()
			u, _ := ParseUUID(r.Bytes(size))
			rsp.Entries = append(rsp.Entries, HandleUUID{h, u})
		}
		p = rsp
	case OpFindByTypeValueReq:
		p = FindByTypeValueReq{Start: r.U16(), End: r.U16(), Type: r.U16(), Value: r.Rest()}
	case OpFindByTypeValueRsp:
		if r.Len() == 0 || r.Len()%4 != 0 {
			return nil, malformed(op, "%d data bytes", r.Len())
		}
		var rsp FindByTypeValueRsp
		for r.Len() > 0 {
			rsp.Handles = append(rsp.Handles, HandleRange{r.U16(), r.U16()})
		}
		p = rsp
	case OpReadByTypeReq, OpReadByGroupTypeReq:
		s, e := r.U16(), r.U16()
		rest := r.Rest()
		if len(rest) != 2 && len(rest) != 16 {
			return nil, malformed(op, "attribute type of %d bytes", len(rest))
		}
		u, _ := ParseUUID(rest)
		if op == OpReadByTypeReq {
			p = ReadByTypeReq{Start: s, End: e, Type: u}
		} else {
			p = ReadByGroupTypeReq{Start: s, End: e, Type: u}
		}
	case OpReadByTypeRsp:
		n := int(r.U8())
		if n < 2 || r.Len() == 0 || r.Len()%n != 0 {
			return nil, malformed(op, "length %d with %d data bytes", n, r.Len())
		}
		var rsp ReadByTypeRsp
		for r.Len() > 0 {
			rsp.Entries = append(rsp.Entries, HandleValue{Handle: r.U16(), Value: r.Bytes(n - 2)})
		}
		p = rsp
	case OpReadByGroupTypeRsp:
		n := int(r.U8())
		if n < 4 || r.Len() == 0 || r.Len()%n != 0 {
			return nil, malformed(op, "length %d with %d data bytes", n, r.Len())
		}
		var rsp ReadByGroupTypeRsp
		for r.Len() > 0 {
			rsp.Entries = append(rsp.Entries, GroupValue{Start: r.U16(), End: r.U16(), Value: r.Bytes(n - 4)})
		}
		p = rsp
	case OpReadReq:
		p = ReadReq{Handle: r.U16()}
	case OpReadRsp:
		p = ReadRsp{Value: r.Rest()}
	case OpReadBlobReq:
		p = ReadBlobReq{Handle: r.U16(), Offset: r.U16()}
	case OpReadBlobRsp:
		p = ReadBlobRsp{Value: r.Rest()}
	case OpReadMultipleReq:
		if r.Len() < 4 || r.Len()%2 != 0 {
			return nil, malformed(op, "%d handle bytes (need two or more handles)", r.Len())
		}
		var req ReadMultipleReq
		for r.Len() > 0 {
			req.Handles = append(req.Handles, r.U16())
		}
		p = req
	case OpReadMultipleRsp:
		p = ReadMultipleRsp{Values: r.Rest()}
	case OpWriteReq:
		p = WriteReq{Handle: r.U16(), Value: r.Rest()}
	case OpWriteRsp:
		p = WriteRsp{}
	case OpWriteCmd:
		p = WriteCmd{Handle: r.U16(), Value: r.Rest()}
	case OpSignedWriteCmd:
		h := r.U16()
		if r.Len() < 12 {
			return nil, malformed(op, "no room for the 12-byte signature")
		}
		rest := r.Rest()
		sw := SignedWriteCmd{Handle: h, Value: rest[:len(rest)-12]}
		copy(sw.Signature[:], rest[len(rest)-12:])
		p = sw
	case OpPrepareWriteReq:
		p = PrepareWriteReq{Handle: r.U16(), Offset: r.U16(), Value: r.Rest()}
	case OpPrepareWriteRsp:
		p = PrepareWriteRsp{Handle: r.U16(), Offset: r.U16(), Value: r.Rest()}
	case OpExecuteWriteReq:
		p = ExecuteWriteReq{Flags: r.U8()}
	case OpExecuteWriteRsp:
		p = ExecuteWriteRsp{}
	case OpHandleValueNtf:
		p = HandleValueNtf{Handle: r.U16(), Value: r.Rest()}
	case OpHandleValueInd:
		p = HandleValueInd{Handle: r.U16(), Value: r.Rest()}
	case OpHandleValueCfm:
		p = HandleValueCfm{}
	default:
		return nil, fmt.Errorf("%w: 0x%02x", ErrUnknownOpcode, uint8(op))
	}
	if err := r.Exact(); err != nil {
		return nil, malformed(op, "%v", err)
	}
	return p, nil
}
