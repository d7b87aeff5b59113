// Package access is the mesh access layer's message format and the
// node's composition (Mesh Protocol v1.1 §3.7, §4.2.2): opcodes of one,
// two and three octets (§3.7.3.1), access messages, SIG and vendor model
// identifiers, elements, and Composition Data page 0 (§4.2.2.1).
//
// Mesh model parameters are little-endian (§3.7.3), unlike the lower
// layers.
package access

import (
	"encoding/binary"
	"fmt"
)

// Opcode is an access opcode held as its octets read big-endian: a
// one-octet opcode is 0x00..0x7E, a two-octet one 0x8000..0xBFFF, and a
// three-octet (vendor) one 0xC00000..0xFFFFFF whose last two octets are
// the Company Identifier as sent (little-endian).
type Opcode uint32

// VendorOpcode returns the three-octet opcode op (6 bits) of company.
func VendorOpcode(op uint8, company uint16) Opcode {
	return Opcode(0xC00000 | uint32(op&0x3f)<<16 | uint32(company&0xff)<<8 | uint32(company>>8))
}

// Len is the number of octets of the opcode (0 for an invalid one).
func (o Opcode) Len() int {
	switch {
	case o < 0x7F:
		return 1
	case o >= 0x8000 && o <= 0xBFFF:
		return 2
	case o >= 0xC00000 && o <= 0xFFFFFF:
		return 3
	}
	return 0
}

// Company is the Company Identifier of a vendor opcode.
func (o Opcode) Company() (uint16, bool) {
	if o.Len() != 3 {
		return 0, false
	}
	return uint16(o&0xff)<<8 | uint16(o>>8&0xff), true
}

// Append appends the opcode's octets to b.
func (o Opcode) Append(b []byte) []byte {
	switch o.Len() {
	case 1:
		return append(b, byte(o))
	case 2:
		return append(b, byte(o>>8), byte(o))
	case 3:
		return append(b, byte(o>>16), byte(o>>8), byte(o))
	}
	return b
}

func (o Opcode) String() string {
	switch o.Len() {
	case 1:
		return fmt.Sprintf("0x%02X", uint32(o))
	case 2:
		return fmt.Sprintf("0x%04X", uint32(o))
	}
	return fmt.Sprintf("0x%06X", uint32(o))
}

// MaxPayload is the largest access payload: 384 octets of upper transport
// PDU less a 32-bit TransMIC (§3.7.3).
const MaxPayload = 380

// Message is an access message: opcode and parameters.
type Message struct {
	Opcode Opcode
	Params []byte
}

// NewMessage builds a message.
func NewMessage(op Opcode, params ...[]byte) Message {
	var p []byte
	for _, x := range params {
		p = append(p, x...)
	}
	return Message{Opcode: op, Params: p}
}

// Marshal returns the access payload.
func (m Message) Marshal() []byte {
	b := m.Opcode.Append(make([]byte, 0, 3+len(m.Params)))
	return append(b, m.Params...)
}

// Parse decodes an access payload (§3.7.3.1). The opcode 0x7F is RFU;
// Params aliases b.
func Parse(b []byte) (Message, error) {
	if len(b) == 0 {
		return Message{}, fmt.Errorf("access: empty message")
	}
	if len(b) > MaxPayload {
		return Message{}, fmt.Errorf("access: message of %d octets (at most %d)", len(b), MaxPayload)
	}
	var n int
	switch {
	case b[0] == 0x7F:
		return Message{}, fmt.Errorf("access: opcode 0x7F is reserved")
	case b[0]&0x80 == 0:
		n = 1
	case b[0]&0xC0 == 0x80:
		n = 2
	default:
		n = 3
	}
	if len(b) < n {
		return Message{}, fmt.Errorf("access: %d-octet opcode in %d octets", n, len(b))
	}
	var op uint32
	for _, c := range b[:n] {
		op = op<<8 | uint32(c)
	}
	return Message{Opcode: Opcode(op), Params: b[n:]}, nil
}

// ModelID identifies a model: a 16-bit SIG model, or a vendor model
// (Company Identifier and 16-bit model number).
type ModelID struct {
	Vendor  bool
	Company uint16
	ID      uint16
}

// SIGModel returns the ID of a Bluetooth SIG model.
func SIGModel(id uint16) ModelID { return ModelID{ID: id} }

// VendorModel returns the ID of a vendor model.
func VendorModel(company, id uint16) ModelID { return ModelID{Vendor: true, Company: company, ID: id} }

// Append appends the Model Identifier as configuration messages carry
// it: 2 octets for a SIG model, 4 (Company Identifier first) for a vendor
// model, little-endian (§4.3.2).
func (m ModelID) Append(b []byte) []byte {
	if m.Vendor {
		b = binary.LittleEndian.AppendUint16(b, m.Company)
	}
	return binary.LittleEndian.AppendUint16(b, m.ID)
}

// ParseModelID decodes a 2- or 4-octet Model Identifier.
func ParseModelID(b []byte) (ModelID, error) {
	switch len(b) {
	case 2:
		return SIGModel(binary.LittleEndian.Uint16(b)), nil
	case 4:
		return VendorModel(binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])), nil
	}
	return ModelID{}, fmt.Errorf("access: Model Identifier of %d octets (want 2 or 4)", len(b))
}

func (m ModelID) String() string {
	if m.Vendor {
		return fmt.Sprintf("%04X:%04X", m.Company, m.ID)
	}
	return fmt.Sprintf("%04X", m.ID)
}

// SIG model identifiers used by blesim (Assigned Numbers).
const (
	ModelConfigServer uint16 = 0x0000
	ModelConfigClient uint16 = 0x0001
	ModelHealthServer uint16 = 0x0002
	ModelHealthClient uint16 = 0x0003
	ModelOnOffServer  uint16 = 0x1000
	ModelOnOffClient  uint16 = 0x1001
)
