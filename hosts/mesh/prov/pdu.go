// Package prov is the Bluetooth Mesh provisioning protocol (Mesh Protocol
// v1.1 §5.4) for both roles, the provisioner and the unprovisioned device,
// as transport-independent state machines: a bearer (PB-ADV, PB-GATT, or a
// test) feeds each session whole provisioning PDUs with Receive and carries
// the PDUs it sends over a Link.
//
// Supported: the BTM_ECDH_P256_CMAC_AES128_AES_CCM and
// BTM_ECDH_P256_HMAC_SHA256_AES_CCM algorithms, the device's public key in
// band or out of band (routes A1, A2), and no-OOB, static-OOB, output-OOB
// and input-OOB authentication (routes B1..B4). Certificate-based
// provisioning (the record PDUs) is not: a device answers them with
// Invalid PDU.
//
// Everything runs on the caller's goroutine (the simulation goroutine);
// randomness comes from an injected io.Reader, never a global source.
package prov

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PDUType is the type of a provisioning PDU: the low 6 bits of its first
// octet (§5.4.1).
type PDUType uint8

// Provisioning PDU types (§5.4.1).
const (
	TypeInvite         PDUType = 0x00
	TypeCapabilities   PDUType = 0x01
	TypeStart          PDUType = 0x02
	TypePublicKey      PDUType = 0x03
	TypeInputComplete  PDUType = 0x04
	TypeConfirmation   PDUType = 0x05
	TypeRandom         PDUType = 0x06
	TypeData           PDUType = 0x07
	TypeComplete       PDUType = 0x08
	TypeFailed         PDUType = 0x09
	TypeRecordRequest  PDUType = 0x0A // v1.1, certificate-based provisioning
	TypeRecordResponse PDUType = 0x0B
	TypeRecordsGet     PDUType = 0x0C
	TypeRecordsList    PDUType = 0x0D
)

func (t PDUType) String() string {
	names := [...]string{"Invite", "Capabilities", "Start", "Public Key", "Input Complete",
		"Confirmation", "Random", "Data", "Complete", "Failed",
		"Record Request", "Record Response", "Records Get", "Records List"}
	if int(t) < len(names) {
		return "Provisioning " + names[t]
	}
	return fmt.Sprintf("Provisioning PDU type %#02x (RFU)", uint8(t))
}

// ErrorCode is the Error Code of a Provisioning Failed PDU (§5.4.1.10).
type ErrorCode uint8

// Provisioning error codes.
const (
	Prohibited            ErrorCode = 0x00
	InvalidPDU            ErrorCode = 0x01 // the PDU type is not recognized
	InvalidFormat         ErrorCode = 0x02 // parameters out of range or wrong length
	UnexpectedPDU         ErrorCode = 0x03 // not expected at this point of the procedure
	ConfirmationFailed    ErrorCode = 0x04 // the confirmation value did not verify
	OutOfResources        ErrorCode = 0x05
	DecryptionFailed      ErrorCode = 0x06 // the Data block did not decrypt
	UnexpectedError       ErrorCode = 0x07
	CannotAssignAddresses ErrorCode = 0x08 // no consecutive unicast addresses for all elements
	InvalidData           ErrorCode = 0x09 // v1.1: the Data block holds unacceptable values
)

func (e ErrorCode) String() string {
	names := [...]string{"Prohibited", "Invalid PDU", "Invalid Format", "Unexpected PDU",
		"Confirmation Failed", "Out of Resources", "Decryption Failed", "Unexpected Error",
		"Cannot Assign Addresses", "Invalid Data"}
	if int(e) < len(names) {
		return fmt.Sprintf("%s (%#02x)", names[e], uint8(e))
	}
	return fmt.Sprintf("RFU error code %#02x", uint8(e))
}

// Error is a provisioning failure: the error code a device sends in
// Provisioning Failed (or, on the provisioner, the code that best describes
// why it closed the link) and what went wrong.
type Error struct {
	Code ErrorCode
	Msg  string
}

func (e *Error) Error() string { return "provisioning: " + e.Code.String() + ": " + e.Msg }

func errf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the error code of err: its *Error's code, or
// UnexpectedError for any other error.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return UnexpectedError
}

// Parameter lengths of the fixed-size PDUs (§5.4.1).
const (
	InviteLen       = 1
	CapabilitiesLen = 11
	StartLen        = 5
	PublicKeyLen    = 64
	DataLen         = 25 // plaintext provisioning data
	DataPDULen      = DataLen + 8
	FailedLen       = 1
)

// Parse splits a provisioning PDU into its type and parameters (§5.4.1).
// An RFU type or non-zero padding bits give InvalidPDU; a length that no
// PDU of that type has gives InvalidFormat. Confirmation and Random may be
// 16 (CMAC algorithm) or 32 (HMAC algorithm) octets; the session checks
// which one it expects. The parameters alias pdu.
func Parse(pdu []byte) (PDUType, []byte, error) {
	if len(pdu) == 0 {
		return 0, nil, errf(InvalidFormat, "empty provisioning PDU")
	}
	if pdu[0]&0xc0 != 0 {
		return 0, nil, errf(InvalidPDU, "padding bits of octet 0 are %#02x", pdu[0]&0xc0)
	}
	t, p := PDUType(pdu[0]), pdu[1:]
	bad := func(want string) (PDUType, []byte, error) {
		return t, nil, errf(InvalidFormat, "%v with %d parameter octets (want %s)", t, len(p), want)
	}
	switch t {
	case TypeInvite, TypeFailed:
		if len(p) != 1 {
			return bad("1")
		}
	case TypeCapabilities:
		if len(p) != CapabilitiesLen {
			return bad("11")
		}
	case TypeStart:
		if len(p) != StartLen {
			return bad("5")
		}
	case TypePublicKey:
		if len(p) != PublicKeyLen {
			return bad("64")
		}
	case TypeInputComplete, TypeComplete, TypeRecordsGet:
		if len(p) != 0 {
			return bad("0")
		}
	case TypeConfirmation, TypeRandom:
		if len(p) != 16 && len(p) != 32 {
			return bad("16 or 32")
		}
	case TypeData:
		if len(p) != DataPDULen {
			return bad("33")
		}
	case TypeRecordRequest:
		if len(p) != 6 {
			return bad("6")
		}
	case TypeRecordResponse:
		if len(p) < 7 {
			return bad("at least 7")
		}
	case TypeRecordsList:
		if len(p) < 2 || len(p)%2 != 0 {
			return bad("2 + 2n")
		}
	default:
		return t, nil, errf(InvalidPDU, "%v", t)
	}
	return t, p, nil
}

// Algorithms is the Algorithms field of Provisioning Capabilities, a bit
// mask (§5.4.1.2).
type Algorithms uint16

// Algorithm bits.
const (
	AlgorithmsCMAC Algorithms = 1 << AlgorithmCMAC // BTM_ECDH_P256_CMAC_AES128_AES_CCM
	AlgorithmsHMAC Algorithms = 1 << AlgorithmHMAC // BTM_ECDH_P256_HMAC_SHA256_AES_CCM
)

// Has reports whether a is in the mask.
func (m Algorithms) Has(a Algorithm) bool { return a <= 15 && m&(1<<a) != 0 }

// Algorithm is the Algorithm field of Provisioning Start (§5.4.1.3).
type Algorithm uint8

// Provisioning algorithms.
const (
	AlgorithmCMAC Algorithm = 0x00 // BTM_ECDH_P256_CMAC_AES128_AES_CCM
	AlgorithmHMAC Algorithm = 0x01 // BTM_ECDH_P256_HMAC_SHA256_AES_CCM (v1.1)
)

func (a Algorithm) String() string {
	switch a {
	case AlgorithmCMAC:
		return "BTM_ECDH_P256_CMAC_AES128_AES_CCM"
	case AlgorithmHMAC:
		return "BTM_ECDH_P256_HMAC_SHA256_AES_CCM"
	}
	return fmt.Sprintf("algorithm %#02x (RFU)", uint8(a))
}

// AuthSize is the length of the AuthValue, Random and Confirmation values
// of the algorithm: 16 octets for CMAC, 32 for HMAC (§5.4.2.4).
func (a Algorithm) AuthSize() int {
	if a == AlgorithmHMAC {
		return 32
	}
	return 16
}

// OutputActions is the Output OOB Action field of Capabilities (§5.4.1.2).
type OutputActions uint16

// Output OOB action bits.
const (
	OutputBlink        OutputActions = 1 << ActionBlink
	OutputBeep         OutputActions = 1 << ActionBeep
	OutputVibrate      OutputActions = 1 << ActionVibrate
	OutputNumeric      OutputActions = 1 << ActionOutputNumeric
	OutputAlphanumeric OutputActions = 1 << ActionOutputAlphanumeric
)

// InputActions is the Input OOB Action field of Capabilities (§5.4.1.2).
type InputActions uint16

// Input OOB action bits.
const (
	InputPush         InputActions = 1 << ActionPush
	InputTwist        InputActions = 1 << ActionTwist
	InputNumeric      InputActions = 1 << ActionInputNumeric
	InputAlphanumeric InputActions = 1 << ActionInputAlphanumeric
)

// Capabilities is the Provisioning Capabilities PDU (§5.4.1.2).
type Capabilities struct {
	Elements      uint8
	Algorithms    Algorithms
	PublicKeyOOB  bool // Public Key Type bit 0: the device's public key is available out of band
	StaticOOB     bool // OOB Type bit 0: static OOB information available
	OnlyOOBAuth   bool // OOB Type bit 1 (v1.1): only OOB-authenticated provisioning supported
	OutputSize    uint8
	OutputActions OutputActions
	InputSize     uint8
	InputActions  InputActions
}

// Marshal returns the 11 parameter octets.
func (c Capabilities) Marshal() []byte {
	b := make([]byte, 0, CapabilitiesLen)
	b = append(b, c.Elements)
	b = binary.BigEndian.AppendUint16(b, uint16(c.Algorithms))
	b = append(b, bit(c.PublicKeyOOB, 0x01), bit(c.StaticOOB, 0x01)|bit(c.OnlyOOBAuth, 0x02), c.OutputSize)
	b = binary.BigEndian.AppendUint16(b, uint16(c.OutputActions))
	b = append(b, c.InputSize)
	return binary.BigEndian.AppendUint16(b, uint16(c.InputActions))
}

// PDU returns the whole Provisioning Capabilities PDU.
func (c Capabilities) PDU() []byte { return append([]byte{byte(TypeCapabilities)}, c.Marshal()...) }

func bit(b bool, v byte) byte {
	if b {
		return v
	}
	return 0
}

// ParseCapabilities decodes the 11 parameter octets and checks them the
// way a provisioner must (§5.4.1.2): at least one element, an algorithm,
// OOB sizes of 0..8 with actions exactly when the size is non-zero. RFU
// bits are ignored.
func ParseCapabilities(p []byte) (Capabilities, error) {
	var c Capabilities
	if len(p) != CapabilitiesLen {
		return c, errf(InvalidFormat, "Capabilities of %d octets", len(p))
	}
	c.Elements = p[0]
	c.Algorithms = Algorithms(binary.BigEndian.Uint16(p[1:]))
	c.PublicKeyOOB = p[3]&0x01 != 0
	c.StaticOOB = p[4]&0x01 != 0
	c.OnlyOOBAuth = p[4]&0x02 != 0
	c.OutputSize = p[5]
	c.OutputActions = OutputActions(binary.BigEndian.Uint16(p[6:]))
	c.InputSize = p[8]
	c.InputActions = InputActions(binary.BigEndian.Uint16(p[9:]))
	switch {
	case c.Elements == 0:
		return c, errf(InvalidFormat, "Capabilities: 0 elements (prohibited)")
	case c.Algorithms&(AlgorithmsCMAC|AlgorithmsHMAC) == 0:
		return c, errf(InvalidFormat, "Capabilities: no known algorithm in %#04x", uint16(c.Algorithms))
	case c.OutputSize > 8 || c.InputSize > 8:
		return c, errf(InvalidFormat, "Capabilities: OOB size %d/%d (RFU above 8)", c.OutputSize, c.InputSize)
	case (c.OutputSize == 0) != (c.OutputActions&0x1f == 0):
		return c, errf(InvalidFormat, "Capabilities: output OOB size %d with actions %#04x", c.OutputSize, uint16(c.OutputActions))
	case (c.InputSize == 0) != (c.InputActions&0x0f == 0):
		return c, errf(InvalidFormat, "Capabilities: input OOB size %d with actions %#04x", c.InputSize, uint16(c.InputActions))
	}
	return c, nil
}

// AuthMethod is the Authentication Method of Provisioning Start
// (§5.4.1.3).
type AuthMethod uint8

// Authentication methods: routes B1..B4.
const (
	NoOOB     AuthMethod = 0x00 // B1
	StaticOOB AuthMethod = 0x01 // B2
	OutputOOB AuthMethod = 0x02 // B3: the device outputs, the user inputs on the provisioner
	InputOOB  AuthMethod = 0x03 // B4: the provisioner outputs, the user inputs on the device
)

func (m AuthMethod) String() string {
	switch m {
	case NoOOB:
		return "No OOB"
	case StaticOOB:
		return "Static OOB"
	case OutputOOB:
		return "Output OOB"
	case InputOOB:
		return "Input OOB"
	}
	return fmt.Sprintf("method %#02x (RFU)", uint8(m))
}

// OutputAction is the Authentication Action of Start with Output OOB.
type OutputAction uint8

// Output OOB actions (§5.4.1.3).
const (
	ActionBlink              OutputAction = 0x00
	ActionBeep               OutputAction = 0x01
	ActionVibrate            OutputAction = 0x02
	ActionOutputNumeric      OutputAction = 0x03
	ActionOutputAlphanumeric OutputAction = 0x04
)

func (a OutputAction) String() string {
	names := [...]string{"Blink", "Beep", "Vibrate", "Output Numeric", "Output Alphanumeric"}
	if int(a) < len(names) {
		return names[a]
	}
	return fmt.Sprintf("output action %#02x (RFU)", uint8(a))
}

// InputAction is the Authentication Action of Start with Input OOB.
type InputAction uint8

// Input OOB actions (§5.4.1.3).
const (
	ActionPush              InputAction = 0x00
	ActionTwist             InputAction = 0x01
	ActionInputNumeric      InputAction = 0x02
	ActionInputAlphanumeric InputAction = 0x03
)

func (a InputAction) String() string {
	names := [...]string{"Push", "Twist", "Input Numeric", "Input Alphanumeric"}
	if int(a) < len(names) {
		return names[a]
	}
	return fmt.Sprintf("input action %#02x (RFU)", uint8(a))
}

// Start is the Provisioning Start PDU (§5.4.1.3).
type Start struct {
	Algorithm    Algorithm
	PublicKeyOOB bool // route A2: the device's public key comes out of band
	Method       AuthMethod
	Action       uint8 // an OutputAction or InputAction, 0 otherwise
	Size         uint8 // 1..8 for output and input OOB, 0 otherwise
}

// Marshal returns the 5 parameter octets.
func (s Start) Marshal() []byte {
	return []byte{byte(s.Algorithm), bit(s.PublicKeyOOB, 1), byte(s.Method), s.Action, s.Size}
}

// PDU returns the whole Provisioning Start PDU.
func (s Start) PDU() []byte { return append([]byte{byte(TypeStart)}, s.Marshal()...) }

// ParseStart decodes the 5 parameter octets. A Public Key value other than
// 0x00 or 0x01 is InvalidFormat; the rest is checked against capabilities
// by Check.
func ParseStart(p []byte) (Start, error) {
	if len(p) != StartLen {
		return Start{}, errf(InvalidFormat, "Start of %d octets", len(p))
	}
	if p[1] > 1 {
		return Start{}, errf(InvalidFormat, "Start: Public Key %#02x (RFU)", p[1])
	}
	return Start{Algorithm: Algorithm(p[0]), PublicKeyOOB: p[1] == 1, Method: AuthMethod(p[2]), Action: p[3], Size: p[4]}, nil
}

// Check reports whether s is a valid choice for a device with
// capabilities c (§5.4.1.3, §5.4.2.2); every violation is InvalidFormat.
func (s Start) Check(c Capabilities) error {
	if s.Algorithm > AlgorithmHMAC || !c.Algorithms.Has(s.Algorithm) {
		return errf(InvalidFormat, "Start: %v not offered (algorithms %#04x)", s.Algorithm, uint16(c.Algorithms))
	}
	if s.PublicKeyOOB && !c.PublicKeyOOB {
		return errf(InvalidFormat, "Start: OOB public key, but the device has none")
	}
	switch s.Method {
	case NoOOB, StaticOOB:
		if s.Action != 0 || s.Size != 0 {
			return errf(InvalidFormat, "Start: %v with action %d size %d (want 0, 0)", s.Method, s.Action, s.Size)
		}
		if s.Method == StaticOOB && !c.StaticOOB {
			return errf(InvalidFormat, "Start: static OOB, but the device has none")
		}
		if s.Method == NoOOB && c.OnlyOOBAuth {
			return errf(InvalidFormat, "Start: No OOB, but the device supports only OOB-authenticated provisioning")
		}
	case OutputOOB:
		if s.Action > uint8(ActionOutputAlphanumeric) || c.OutputActions&(1<<s.Action) == 0 {
			return errf(InvalidFormat, "Start: output action %v not offered (%#04x)", OutputAction(s.Action), uint16(c.OutputActions))
		}
		if s.Size == 0 || s.Size > c.OutputSize {
			return errf(InvalidFormat, "Start: output OOB size %d (device supports 1..%d)", s.Size, c.OutputSize)
		}
	case InputOOB:
		if s.Action > uint8(ActionInputAlphanumeric) || c.InputActions&(1<<s.Action) == 0 {
			return errf(InvalidFormat, "Start: input action %v not offered (%#04x)", InputAction(s.Action), uint16(c.InputActions))
		}
		if s.Size == 0 || s.Size > c.InputSize {
			return errf(InvalidFormat, "Start: input OOB size %d (device supports 1..%d)", s.Size, c.InputSize)
		}
	default:
		return errf(InvalidFormat, "Start: %v", s.Method)
	}
	return nil
}

// Route names the provisioning route of a Start in the terms of the
// issue and the test tables: A1/A2 (public key in band / out of band)
// and B1..B4 (no, static, output, input OOB).
func (s Start) Route() string {
	a := "A1"
	if s.PublicKeyOOB {
		a = "A2"
	}
	return fmt.Sprintf("%sB%d", a, int(s.Method)+1)
}
