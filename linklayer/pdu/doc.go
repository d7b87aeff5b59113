// Package pdu encodes and decodes LE air PDUs (Core v5.4 Vol 6 Part B §2):
// advertising physical channel PDUs (§2.3), data physical channel PDUs and
// LL control PDUs (§2.4), plus the pieces of the link layer that are pure
// functions of those bytes: the channel selection algorithms (§4.5.8), access
// address generation (§2.1.2), the CRC (§3.1.1) and advertising data (AD)
// structures (Core Specification Supplement Part A §1).
//
// PDUs are byte slices. View types (AdvPDU, DataPDU, ControlPDU) have getters
// that never panic: on a slice too short for a field they return the zero
// value. Use the Parse functions to check a PDU received from the air before
// trusting its fields; they return errors that wrap the sentinel errors below
// and never panic on any input.
package pdu

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these, so
// callers can test with errors.Is.
var (
	// ErrShort: the buffer is too short to hold the header or a field.
	ErrShort = errors.New("pdu: too short")
	// ErrLength: the header's Length field does not match the bytes present.
	ErrLength = errors.New("pdu: length field mismatch")
	// ErrPayloadLength: the payload length is out of range for the PDU type.
	ErrPayloadLength = errors.New("pdu: payload length out of range for type")
	// ErrType: a reserved or unsupported PDU type or LLID.
	ErrType = errors.New("pdu: reserved or unsupported type")
	// ErrUnknownOpcode: an LL control opcode this package does not know. The
	// link layer answers it with LL_UNKNOWN_RSP (§2.4.2.8); the error is an
	// *UnknownOpcodeError that carries the opcode.
	ErrUnknownOpcode = errors.New("pdu: unknown LL control opcode")
	// ErrControlLength: an LL control PDU whose CtrData length is wrong for
	// its opcode.
	ErrControlLength = errors.New("pdu: wrong CtrData length for opcode")
	// ErrTooLong: a builder was given more data than the PDU can carry.
	ErrTooLong = errors.New("pdu: data too long")
	// ErrAD: malformed advertising data.
	ErrAD = errors.New("pdu: malformed AD structure")
	// ErrParam: a field value outside the range the specification allows.
	ErrParam = errors.New("pdu: parameter out of range")
)
