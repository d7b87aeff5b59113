// Package hci is the HCI packet codec: commands, events and ACL data as
// byte-slice views with bounds-checked getters, plus builders
// (Core v5.4 Vol 4 Part E §5.4, and the UART transport's packet indicators,
// Vol 4 Part A §2).
//
// A view never copies: it aliases the bytes it was made from, and its
// getters never panic on short input. Use Validate (or the Parse* functions)
// before trusting lengths.
package hci

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PacketType is the H4 packet indicator that precedes every packet on a
// UART-style transport and on /dev/vhci (Core v5.4 Vol 4 Part A §2).
type PacketType uint8

// H4 packet indicators.
const (
	CommandPacket PacketType = 0x01
	ACLPacket     PacketType = 0x02
	SCOPacket     PacketType = 0x03
	EventPacket   PacketType = 0x04
	ISOPacket     PacketType = 0x05
	VendorPacket  PacketType = 0xff // /dev/vhci's own vendor packet
)

func (t PacketType) String() string {
	switch t {
	case CommandPacket:
		return "Command"
	case ACLPacket:
		return "ACL"
	case SCOPacket:
		return "SCO"
	case EventPacket:
		return "Event"
	case ISOPacket:
		return "ISO"
	case VendorPacket:
		return "Vendor"
	}
	return fmt.Sprintf("PacketType(0x%02x)", uint8(t))
}

// Errors returned by the parsers. They wrap these so callers can errors.Is.
var (
	ErrShort     = errors.New("hci: packet too short")
	ErrLength    = errors.New("hci: length field does not match packet size")
	ErrType      = errors.New("hci: unknown packet type")
	ErrTooLong   = errors.New("hci: packet longer than allowed")
	ErrParameter = errors.New("hci: invalid parameter")
)

// Command is a view of an HCI command packet without the H4 indicator:
// opcode (2), parameter length (1), parameters (Core v5.4 Vol 4 Part E §5.4.1).
type Command []byte

// CommandHeaderLen is the size of the command header.
const CommandHeaderLen = 3

// Opcode returns the opcode, or 0 when the header is truncated.
func (c Command) Opcode() Opcode {
	if len(c) < 2 {
		return 0
	}
	return Opcode(binary.LittleEndian.Uint16(c))
}

// Params returns the parameters (bounded by both the length field and the
// slice, so it never panics).
func (c Command) Params() []byte {
	if len(c) < CommandHeaderLen {
		return nil
	}
	n := int(c[2])
	if CommandHeaderLen+n > len(c) {
		return c[CommandHeaderLen:]
	}
	return c[CommandHeaderLen : CommandHeaderLen+n]
}

// Validate checks the header and that the length field matches.
func (c Command) Validate() error {
	if len(c) < CommandHeaderLen {
		return fmt.Errorf("%w: command of %d bytes", ErrShort, len(c))
	}
	if int(c[2]) != len(c)-CommandHeaderLen {
		return fmt.Errorf("%w: command %s says %d parameter bytes, has %d", ErrLength, c.Opcode(), c[2], len(c)-CommandHeaderLen)
	}
	return nil
}

// NewCommand builds a command packet (without H4 indicator).
func NewCommand(op Opcode, params []byte) Command {
	if len(params) > 255 {
		panic("hci: command parameters longer than 255 bytes")
	}
	b := make([]byte, CommandHeaderLen+len(params))
	binary.LittleEndian.PutUint16(b, uint16(op))
	b[2] = byte(len(params))
	copy(b[3:], params)
	return b
}

// EventCode is an HCI event code (Core v5.4 Vol 4 Part E §7.7).
type EventCode uint8

// Event codes.
const (
	EvtDisconnectionComplete        EventCode = 0x05 // §7.7.5
	EvtEncryptionChange             EventCode = 0x08 // §7.7.8
	EvtReadRemoteVersionComplete    EventCode = 0x0C // §7.7.12
	EvtCommandComplete              EventCode = 0x0E // §7.7.14
	EvtCommandStatus                EventCode = 0x0F // §7.7.15
	EvtHardwareError                EventCode = 0x10
	EvtNumberOfCompletedPackets     EventCode = 0x13 // §7.7.19
	EvtDataBufferOverflow           EventCode = 0x1A
	EvtEncryptionKeyRefreshComplete EventCode = 0x30 // §7.7.39
	EvtLEMeta                       EventCode = 0x3E // §7.7.65
	EvtAuthPayloadTimeoutExpired    EventCode = 0x57
)

// LE Meta subevent codes (Core v5.4 Vol 4 Part E §7.7.65).
const (
	LEConnectionComplete         uint8 = 0x01
	LEAdvertisingReport          uint8 = 0x02
	LEConnectionUpdateComplete   uint8 = 0x03
	LEReadRemoteFeaturesComplete uint8 = 0x04
	LELongTermKeyRequest         uint8 = 0x05
	LERemoteConnParamRequest     uint8 = 0x06
	LEDataLengthChange           uint8 = 0x07
	LEEnhancedConnectionComplete uint8 = 0x0A
	LEDirectedAdvertisingReport  uint8 = 0x0B
	LEChannelSelectionAlgorithm  uint8 = 0x14
)

// Event is a view of an HCI event packet without the H4 indicator:
// event code (1), parameter length (1), parameters.
type Event []byte

// EventHeaderLen is the size of the event header.
const EventHeaderLen = 2

// Code returns the event code, or 0 when empty.
func (e Event) Code() EventCode {
	if len(e) < 1 {
		return 0
	}
	return EventCode(e[0])
}

// Params returns the event parameters, bounded by the slice.
func (e Event) Params() []byte {
	if len(e) < EventHeaderLen {
		return nil
	}
	n := int(e[1])
	if EventHeaderLen+n > len(e) {
		return e[EventHeaderLen:]
	}
	return e[EventHeaderLen : EventHeaderLen+n]
}

// Validate checks the header and that the length field matches.
func (e Event) Validate() error {
	if len(e) < EventHeaderLen {
		return fmt.Errorf("%w: event of %d bytes", ErrShort, len(e))
	}
	if int(e[1]) != len(e)-EventHeaderLen {
		return fmt.Errorf("%w: event 0x%02x says %d parameter bytes, has %d", ErrLength, e[0], e[1], len(e)-EventHeaderLen)
	}
	return nil
}

// Subevent returns the LE Meta subevent code, or 0 for other events.
func (e Event) Subevent() uint8 {
	p := e.Params()
	if e.Code() != EvtLEMeta || len(p) < 1 {
		return 0
	}
	return p[0]
}

// NewEvent builds an event packet.
func NewEvent(code EventCode, params []byte) Event {
	if len(params) > 255 {
		panic("hci: event parameters longer than 255 bytes")
	}
	b := make([]byte, EventHeaderLen+len(params))
	b[0] = byte(code)
	b[1] = byte(len(params))
	copy(b[2:], params)
	return b
}

// NewLEMeta builds an LE Meta event with the given subevent.
func NewLEMeta(sub uint8, params []byte) Event {
	p := make([]byte, 1+len(params))
	p[0] = sub
	copy(p[1:], params)
	return NewEvent(EvtLEMeta, p)
}

// NewCommandComplete builds Command Complete (§7.7.14). ret holds the
// return parameters, normally starting with the status.
func NewCommandComplete(numPackets uint8, op Opcode, ret []byte) Event {
	p := make([]byte, 3+len(ret))
	p[0] = numPackets
	binary.LittleEndian.PutUint16(p[1:], uint16(op))
	copy(p[3:], ret)
	return NewEvent(EvtCommandComplete, p)
}

// NewCommandStatus builds Command Status (§7.7.15).
func NewCommandStatus(status Status, numPackets uint8, op Opcode) Event {
	p := []byte{byte(status), numPackets, 0, 0}
	binary.LittleEndian.PutUint16(p[2:], uint16(op))
	return NewEvent(EvtCommandStatus, p)
}

// CommandComplete is a view of Command Complete parameters.
type CommandComplete []byte

// NumPackets returns Num_HCI_Command_Packets.
func (c CommandComplete) NumPackets() uint8 { return at(c, 0) }

// Opcode returns Command_Opcode.
func (c CommandComplete) Opcode() Opcode { return Opcode(le16(c, 1)) }

// Return returns the return parameters.
func (c CommandComplete) Return() []byte {
	if len(c) < 3 {
		return nil
	}
	return c[3:]
}

// Status returns the first return parameter, which is the status for
// every command blesim uses.
func (c CommandComplete) Status() Status { return Status(at(c, 3)) }

// CommandStatus is a view of Command Status parameters.
type CommandStatus []byte

// Status returns the status.
func (c CommandStatus) Status() Status { return Status(at(c, 0)) }

// NumPackets returns Num_HCI_Command_Packets.
func (c CommandStatus) NumPackets() uint8 { return at(c, 1) }

// Opcode returns Command_Opcode.
func (c CommandStatus) Opcode() Opcode { return Opcode(le16(c, 2)) }

// ACL is a view of an HCI ACL data packet: handle and flags (2), data
// length (2), data (Core v5.4 Vol 4 Part E §5.4.2).
type ACL []byte

// ACLHeaderLen is the size of the ACL header.
const ACLHeaderLen = 4

// Packet boundary flags (§5.4.2).
const (
	PBFirstNonFlushable uint8 = 0x00 // host to controller: first packet of a higher-layer message
	PBContinuing        uint8 = 0x01
	PBFirstFlushable    uint8 = 0x02 // controller to host: first packet
)

// Handle returns the 12-bit connection handle.
func (a ACL) Handle() uint16 { return le16(a, 0) & 0x0fff }

// PB returns the packet boundary flag.
func (a ACL) PB() uint8 { return uint8(le16(a, 0)>>12) & 0x3 }

// BC returns the broadcast flag.
func (a ACL) BC() uint8 { return uint8(le16(a, 0)>>14) & 0x3 }

// Data returns the payload, bounded by the slice.
func (a ACL) Data() []byte {
	if len(a) < ACLHeaderLen {
		return nil
	}
	n := int(le16(a, 2))
	if ACLHeaderLen+n > len(a) {
		return a[ACLHeaderLen:]
	}
	return a[ACLHeaderLen : ACLHeaderLen+n]
}

// Validate checks the header and that the length field matches.
func (a ACL) Validate() error {
	if len(a) < ACLHeaderLen {
		return fmt.Errorf("%w: ACL packet of %d bytes", ErrShort, len(a))
	}
	if int(le16(a, 2)) != len(a)-ACLHeaderLen {
		return fmt.Errorf("%w: ACL packet says %d data bytes, has %d", ErrLength, le16(a, 2), len(a)-ACLHeaderLen)
	}
	return nil
}

// NewACL builds an ACL data packet.
func NewACL(handle uint16, pb uint8, data []byte) ACL {
	b := make([]byte, ACLHeaderLen+len(data))
	binary.LittleEndian.PutUint16(b, handle&0x0fff|uint16(pb&3)<<12)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(data)))
	copy(b[4:], data)
	return b
}

func at(b []byte, i int) uint8 {
	if i < 0 || i >= len(b) {
		return 0
	}
	return b[i]
}

func le16(b []byte, i int) uint16 {
	if i < 0 || i+2 > len(b) {
		return 0
	}
	return binary.LittleEndian.Uint16(b[i:])
}
