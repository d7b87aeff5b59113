// Package smp is the Security Manager Protocol of blesim's built-in hosts
// (Core v5.4 Vol 3 Part H): LE legacy pairing and LE Secure Connections in
// both roles, key distribution and bonding, Security Request, the SMP
// timeout and repeated-attempts rules, and starting encryption through
// HCI with the resulting keys. It also checks what the peer does and
// reports conformance findings.
//
// Byte order: every 128-bit and 256-bit value in this package (PDU
// fields, keys in the bond store) is kept as SMP and HCI carry it, least
// significant octet first — btmon prints keys the same way. The crypto
// functions in hosts/crypto/smpcrypto take the spec's order (most
// significant octet first); the conversion happens where they are called.
package smp

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"blesim/vhci/hci"
)

// Code is an SMP command code (Vol 3 Part H §3.3, table 3.3).
type Code uint8

// SMP command codes.
const (
	CodePairingRequest             Code = 0x01
	CodePairingResponse            Code = 0x02
	CodePairingConfirm             Code = 0x03
	CodePairingRandom              Code = 0x04
	CodePairingFailed              Code = 0x05
	CodeEncryptionInformation      Code = 0x06
	CodeCentralIdentification      Code = 0x07
	CodeIdentityInformation        Code = 0x08
	CodeIdentityAddressInformation Code = 0x09
	CodeSigningInformation         Code = 0x0A
	CodeSecurityRequest            Code = 0x0B
	CodePairingPublicKey           Code = 0x0C
	CodePairingDHKeyCheck          Code = 0x0D
	CodeKeypressNotification       Code = 0x0E
)

var codeNames = map[Code]string{
	CodePairingRequest: "Pairing Request", CodePairingResponse: "Pairing Response",
	CodePairingConfirm: "Pairing Confirm", CodePairingRandom: "Pairing Random", CodePairingFailed: "Pairing Failed",
	CodeEncryptionInformation: "Encryption Information", CodeCentralIdentification: "Central Identification",
	CodeIdentityInformation: "Identity Information", CodeIdentityAddressInformation: "Identity Address Information",
	CodeSigningInformation: "Signing Information", CodeSecurityRequest: "Security Request",
	CodePairingPublicKey: "Pairing Public Key", CodePairingDHKeyCheck: "Pairing DHKey Check",
	CodeKeypressNotification: "Pairing Keypress Notification",
}

func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("SMP code 0x%02x", uint8(c))
}

// pduLen is each command's total length, code included (§3.5, §3.6).
var pduLen = map[Code]int{
	CodePairingRequest: 7, CodePairingResponse: 7, CodePairingConfirm: 17, CodePairingRandom: 17,
	CodePairingFailed: 2, CodeEncryptionInformation: 17, CodeCentralIdentification: 11,
	CodeIdentityInformation: 17, CodeIdentityAddressInformation: 8, CodeSigningInformation: 17,
	CodeSecurityRequest: 2, CodePairingPublicKey: 65, CodePairingDHKeyCheck: 17, CodeKeypressNotification: 2,
}

// Reason is a Pairing Failed reason (§3.5.5, table 3.7). It is an error.
type Reason uint8

// Pairing Failed reasons.
const (
	ReasonPasskeyEntryFailed          Reason = 0x01
	ReasonOOBNotAvailable             Reason = 0x02
	ReasonAuthenticationRequirements  Reason = 0x03
	ReasonConfirmValueFailed          Reason = 0x04
	ReasonPairingNotSupported         Reason = 0x05
	ReasonEncryptionKeySize           Reason = 0x06
	ReasonCommandNotSupported         Reason = 0x07
	ReasonUnspecified                 Reason = 0x08
	ReasonRepeatedAttempts            Reason = 0x09
	ReasonInvalidParameters           Reason = 0x0A
	ReasonDHKeyCheckFailed            Reason = 0x0B
	ReasonNumericComparisonFailed     Reason = 0x0C
	ReasonBREDRPairingInProgress      Reason = 0x0D
	ReasonCrossTransportKeyNotAllowed Reason = 0x0E
	ReasonKeyRejected                 Reason = 0x0F
)

var reasonNames = map[Reason]string{
	ReasonPasskeyEntryFailed: "Passkey Entry Failed", ReasonOOBNotAvailable: "OOB Not Available",
	ReasonAuthenticationRequirements: "Authentication Requirements", ReasonConfirmValueFailed: "Confirm Value Failed",
	ReasonPairingNotSupported: "Pairing Not Supported", ReasonEncryptionKeySize: "Encryption Key Size",
	ReasonCommandNotSupported: "Command Not Supported", ReasonUnspecified: "Unspecified Reason",
	ReasonRepeatedAttempts: "Repeated Attempts", ReasonInvalidParameters: "Invalid Parameters",
	ReasonDHKeyCheckFailed: "DHKey Check Failed", ReasonNumericComparisonFailed: "Numeric Comparison Failed",
	ReasonBREDRPairingInProgress: "BR/EDR Pairing In Progress", ReasonCrossTransportKeyNotAllowed: "Cross-transport Key Derivation/Generation Not Allowed",
	ReasonKeyRejected: "Key Rejected",
}

func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("Reason(0x%02x)", uint8(r))
}

func (r Reason) Error() string { return fmt.Sprintf("smp: %s (0x%02x)", r.String(), uint8(r)) }

// IOCapability is the IO Capability field (§3.5.1, table 3.4).
type IOCapability uint8

// IO capabilities.
const (
	DisplayOnly     IOCapability = 0x00
	DisplayYesNo    IOCapability = 0x01
	KeyboardOnly    IOCapability = 0x02
	NoInputNoOutput IOCapability = 0x03
	KeyboardDisplay IOCapability = 0x04
)

var ioNames = []string{"DisplayOnly", "DisplayYesNo", "KeyboardOnly", "NoInputNoOutput", "KeyboardDisplay"}

func (c IOCapability) String() string {
	if int(c) < len(ioNames) {
		return ioNames[c]
	}
	return fmt.Sprintf("IOCapability(0x%02x)", uint8(c))
}

// Valid reports whether c is one of the five defined values.
func (c IOCapability) Valid() bool { return c <= KeyboardDisplay }

// ParseIOCapability parses a name as String prints it, case-insensitive
// and ignoring '-' and '_' ("display-only", "keyboard_display"), or
// "none" for NoInputNoOutput, for configuration loaders.
func ParseIOCapability(s string) (IOCapability, error) {
	k := make([]byte, 0, len(s))
	for i := range len(s) {
		if s[i] != '-' && s[i] != '_' && s[i] != ' ' {
			k = append(k, s[i])
		}
	}
	if equalFold(string(k), "none") {
		return NoInputNoOutput, nil
	}
	for i, n := range ioNames {
		if equalFold(string(k), n) {
			return IOCapability(i), nil
		}
	}
	return 0, fmt.Errorf("unknown IO capability %q (want display-only, display-yes-no, keyboard-only, no-input-no-output or keyboard-display)", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// AuthReq is the Authentication Requirements field (§3.5.1, figure 3.3).
type AuthReq uint8

// AuthReq bits.
const (
	AuthBonding      AuthReq = 0x01 // Bonding_Flags = 0b01 Bonding
	AuthBondingMask  AuthReq = 0x03 // 0b10 and 0b11 are reserved
	AuthMITM         AuthReq = 0x04
	AuthSC           AuthReq = 0x08
	AuthKeypress     AuthReq = 0x10
	AuthCT2          AuthReq = 0x20
	AuthReservedMask AuthReq = 0xC0
)

// Bonding reports whether Bonding_Flags is 0b01.
func (a AuthReq) Bonding() bool { return a&AuthBondingMask == AuthBonding }

func (a AuthReq) String() string {
	s := "No Bonding"
	switch a & AuthBondingMask {
	case AuthBonding:
		s = "Bonding"
	case 0x02, 0x03:
		s = fmt.Sprintf("Bonding_Flags 0b%02b (reserved)", uint8(a&AuthBondingMask))
	}
	for _, f := range []struct {
		bit  AuthReq
		name string
	}{{AuthMITM, "MITM"}, {AuthSC, "SC"}, {AuthKeypress, "Keypress"}, {AuthCT2, "CT2"}} {
		if a&f.bit != 0 {
			s += ", " + f.name
		}
	}
	if a&AuthReservedMask != 0 {
		s += fmt.Sprintf(", reserved bits 0x%02x", uint8(a&AuthReservedMask))
	}
	return s
}

// KeyDist is an Initiator/Responder Key Distribution field (§3.6.1,
// figure 3.11).
type KeyDist uint8

// Key distribution bits.
const (
	DistEncKey       KeyDist = 0x01 // LTK, EDIV and Rand (legacy only)
	DistIdKey        KeyDist = 0x02 // IRK and identity address
	DistSignKey      KeyDist = 0x04 // CSRK
	DistLinkKey      KeyDist = 0x08 // BR/EDR link key derivation (ignored: LE only)
	DistReservedMask KeyDist = 0xF0
	DistAll                  = DistEncKey | DistIdKey | DistSignKey
)

func (k KeyDist) String() string {
	if k == 0 {
		return "<none>"
	}
	s := ""
	for _, f := range []struct {
		bit  KeyDist
		name string
	}{{DistEncKey, "EncKey"}, {DistIdKey, "IdKey"}, {DistSignKey, "Sign"}, {DistLinkKey, "LinkKey"}} {
		if k&f.bit != 0 {
			if s != "" {
				s += " "
			}
			s += f.name
		}
	}
	if k&DistReservedMask != 0 {
		s += fmt.Sprintf(" reserved 0x%02x", uint8(k&DistReservedMask))
	}
	return s
}

// Key is a 128-bit key (LTK, IRK, CSRK) in SMP/HCI byte order, least
// significant octet first. Its text form is the hex of those octets, as
// btmon prints keys.
type Key [16]byte

func (k Key) String() string { return hex.EncodeToString(k[:]) }

// MarshalText encodes the key as 32 hex digits.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes 32 hex digits.
func (k *Key) UnmarshalText(b []byte) error {
	if len(b) != 32 {
		return fmt.Errorf("smp: key %q: want 32 hex digits", b)
	}
	_, err := hex.Decode(k[:], b)
	if err != nil {
		return fmt.Errorf("smp: key %q: %w", b, err)
	}
	return nil
}

// PDU is one SMP command.
type PDU interface {
	Code() Code
	Marshal() []byte
}

// PairingParams are the fields of Pairing Request and Pairing Response
// (§3.5.1, §3.5.2), kept raw so out-of-range values can be reported.
type PairingParams struct {
	IOCap       IOCapability
	OOB         uint8 // 0x00 not present, 0x01 present; others reserved
	AuthReq     AuthReq
	MaxKeySize  uint8 // 7..16
	InitKeyDist KeyDist
	RespKeyDist KeyDist
}

// The SMP commands (§3.5, §3.6). 128-bit and 256-bit values are in wire
// order.
type (
	PairingRequest   struct{ PairingParams }
	PairingResponse  struct{ PairingParams }
	PairingConfirm   struct{ Value [16]byte }
	PairingRandom    struct{ Value [16]byte }
	PairingFailedPDU struct{ Reason Reason }
	// EncryptionInformation carries the LTK (§3.6.2).
	EncryptionInformation struct{ LTK Key }
	// CentralIdentification carries EDIV and Rand (§3.6.3).
	CentralIdentification struct {
		EDIV uint16
		Rand uint64
	}
	// IdentityInformation carries the IRK (§3.6.4).
	IdentityInformation struct{ IRK Key }
	// IdentityAddressInformation carries the identity address (§3.6.5):
	// type 0x00 public, 0x01 static random.
	IdentityAddressInformation struct {
		AddrType hci.AddressType
		Addr     hci.BDAddr
	}
	// SigningInformation carries the CSRK (§3.6.6).
	SigningInformation struct{ CSRK Key }
	SecurityRequest    struct{ AuthReq AuthReq }
	// PairingPublicKey carries a P-256 public key, each coordinate least
	// significant octet first (§3.5.6).
	PairingPublicKey  struct{ X, Y [32]byte }
	PairingDHKeyCheck struct{ Value [16]byte }
	// KeypressNotification (§3.5.8): 0 entry started, 1 digit entered,
	// 2 digit erased, 3 cleared, 4 entry completed.
	KeypressNotification struct{ Type uint8 }
)

func (PairingRequest) Code() Code             { return CodePairingRequest }
func (PairingResponse) Code() Code            { return CodePairingResponse }
func (PairingConfirm) Code() Code             { return CodePairingConfirm }
func (PairingRandom) Code() Code              { return CodePairingRandom }
func (PairingFailedPDU) Code() Code           { return CodePairingFailed }
func (EncryptionInformation) Code() Code      { return CodeEncryptionInformation }
func (CentralIdentification) Code() Code      { return CodeCentralIdentification }
func (IdentityInformation) Code() Code        { return CodeIdentityInformation }
func (IdentityAddressInformation) Code() Code { return CodeIdentityAddressInformation }
func (SigningInformation) Code() Code         { return CodeSigningInformation }
func (SecurityRequest) Code() Code            { return CodeSecurityRequest }
func (PairingPublicKey) Code() Code           { return CodePairingPublicKey }
func (PairingDHKeyCheck) Code() Code          { return CodePairingDHKeyCheck }
func (KeypressNotification) Code() Code       { return CodeKeypressNotification }

func (p PairingParams) marshal(c Code) []byte {
	return []byte{byte(c), byte(p.IOCap), p.OOB, byte(p.AuthReq), p.MaxKeySize, byte(p.InitKeyDist), byte(p.RespKeyDist)}
}

func v16(c Code, v [16]byte) []byte { return append([]byte{byte(c)}, v[:]...) }

func (p PairingRequest) Marshal() []byte        { return p.marshal(CodePairingRequest) }
func (p PairingResponse) Marshal() []byte       { return p.marshal(CodePairingResponse) }
func (p PairingConfirm) Marshal() []byte        { return v16(CodePairingConfirm, p.Value) }
func (p PairingRandom) Marshal() []byte         { return v16(CodePairingRandom, p.Value) }
func (p PairingFailedPDU) Marshal() []byte      { return []byte{byte(CodePairingFailed), byte(p.Reason)} }
func (p EncryptionInformation) Marshal() []byte { return v16(CodeEncryptionInformation, p.LTK) }
func (p IdentityInformation) Marshal() []byte   { return v16(CodeIdentityInformation, p.IRK) }
func (p SigningInformation) Marshal() []byte    { return v16(CodeSigningInformation, p.CSRK) }
func (p SecurityRequest) Marshal() []byte       { return []byte{byte(CodeSecurityRequest), byte(p.AuthReq)} }
func (p PairingDHKeyCheck) Marshal() []byte     { return v16(CodePairingDHKeyCheck, p.Value) }
func (p KeypressNotification) Marshal() []byte {
	return []byte{byte(CodeKeypressNotification), p.Type}
}

func (p CentralIdentification) Marshal() []byte {
	b := []byte{byte(CodeCentralIdentification)}
	b = binary.LittleEndian.AppendUint16(b, p.EDIV)
	return binary.LittleEndian.AppendUint64(b, p.Rand)
}

func (p IdentityAddressInformation) Marshal() []byte {
	return append([]byte{byte(CodeIdentityAddressInformation), byte(p.AddrType)}, p.Addr[:]...)
}

func (p PairingPublicKey) Marshal() []byte {
	b := append([]byte{byte(CodePairingPublicKey)}, p.X[:]...)
	return append(b, p.Y[:]...)
}

// Errors from Parse. ErrUnknownCode maps to Pairing Failed 0x07 Command
// Not Supported, ErrBadLength to 0x0A Invalid Parameters.
var (
	ErrEmpty       = errors.New("smp: empty PDU")
	ErrUnknownCode = errors.New("smp: reserved command code")
	ErrBadLength   = errors.New("smp: PDU length does not match its command")
)

// Parse decodes one SMP PDU (the payload of an L2CAP frame on CID 0x0006).
// The length must be exactly the command's (§3.3); field values are not
// range-checked here (the pairing state machine reports them). It never
// panics.
func Parse(b []byte) (PDU, error) {
	if len(b) == 0 {
		return nil, ErrEmpty
	}
	c := Code(b[0])
	n, ok := pduLen[c]
	if !ok {
		return nil, fmt.Errorf("%w 0x%02x", ErrUnknownCode, b[0])
	}
	if len(b) != n {
		return nil, fmt.Errorf("%w: %s of %d octets (want %d)", ErrBadLength, c, len(b), n)
	}
	p := b[1:]
	var v [16]byte
	if n == 17 {
		copy(v[:], p)
	}
	switch c {
	case CodePairingRequest, CodePairingResponse:
		pp := PairingParams{IOCap: IOCapability(p[0]), OOB: p[1], AuthReq: AuthReq(p[2]), MaxKeySize: p[3],
			InitKeyDist: KeyDist(p[4]), RespKeyDist: KeyDist(p[5])}
		if c == CodePairingRequest {
			return PairingRequest{pp}, nil
		}
		return PairingResponse{pp}, nil
	case CodePairingConfirm:
		return PairingConfirm{v}, nil
	case CodePairingRandom:
		return PairingRandom{v}, nil
	case CodePairingFailed:
		return PairingFailedPDU{Reason(p[0])}, nil
	case CodeEncryptionInformation:
		return EncryptionInformation{Key(v)}, nil
	case CodeCentralIdentification:
		return CentralIdentification{EDIV: binary.LittleEndian.Uint16(p), Rand: binary.LittleEndian.Uint64(p[2:])}, nil
	case CodeIdentityInformation:
		return IdentityInformation{Key(v)}, nil
	case CodeIdentityAddressInformation:
		var a hci.BDAddr
		copy(a[:], p[1:])
		return IdentityAddressInformation{AddrType: hci.AddressType(p[0]), Addr: a}, nil
	case CodeSigningInformation:
		return SigningInformation{Key(v)}, nil
	case CodeSecurityRequest:
		return SecurityRequest{AuthReq(p[0])}, nil
	case CodePairingPublicKey:
		var k PairingPublicKey
		copy(k.X[:], p[:32])
		copy(k.Y[:], p[32:])
		return k, nil
	case CodePairingDHKeyCheck:
		return PairingDHKeyCheck{v}, nil
	default: // CodeKeypressNotification
		return KeypressNotification{p[0]}, nil
	}
}
