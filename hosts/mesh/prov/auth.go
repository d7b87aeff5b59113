package prov

import (
	"crypto/ecdh"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// OOBValue is what a person carries between the two sides for output and
// input OOB authentication (§5.4.2.4): a count (blink, beep, vibrate,
// push, twist), a number (numeric actions), or a string of digits and
// upper-case letters (alphanumeric actions).
type OOBValue struct {
	Number uint32
	Text   string // set for the alphanumeric actions
}

// Num is a numeric OOB value.
func Num(n uint32) OOBValue { return OOBValue{Number: n} }

// Text is an alphanumeric OOB value.
func Text(s string) OOBValue { return OOBValue{Text: s} }

func (v OOBValue) String() string {
	if v.Text != "" {
		return v.Text
	}
	return strconv.FormatUint(uint64(v.Number), 10)
}

// alphabet is the character set of alphanumeric OOB values.
const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// ParseOOBValue reads what a user typed for an action: digits for counts
// and numbers, or up to size characters 0-9/A-Z for alphanumeric actions.
func ParseOOBValue(alphanumeric bool, size uint8, s string) (OOBValue, error) {
	s = strings.TrimSpace(s)
	if alphanumeric {
		s = strings.ToUpper(s)
		if len(s) == 0 || len(s) > int(size) || strings.Trim(s, alphabet) != "" {
			return OOBValue{}, fmt.Errorf("provisioning: %q is not 1..%d characters 0-9/A-Z", s, size)
		}
		return Text(s), nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || len(s) > int(size) {
		return OOBValue{}, fmt.Errorf("provisioning: %q is not a number of at most %d digits", s, size)
	}
	return Num(uint32(n)), nil
}

// isAlpha reports whether the Start selects an alphanumeric action.
func (s Start) isAlpha() bool {
	return (s.Method == OutputOOB && OutputAction(s.Action) == ActionOutputAlphanumeric) ||
		(s.Method == InputOOB && InputAction(s.Action) == ActionInputAlphanumeric)
}

// isCount reports whether the Start selects a counting action (blink,
// beep, vibrate, push, twist), whose value is at least 1.
func (s Start) isCount() bool {
	return (s.Method == OutputOOB && OutputAction(s.Action) <= ActionVibrate) ||
		(s.Method == InputOOB && InputAction(s.Action) <= ActionTwist)
}

// randomOOB draws the value the outputting side shows (§5.4.2.4): Size
// random characters for alphanumeric actions, a number below 10^Size for
// numeric ones, and a count 1..10^Size-1 for the counting actions.
func randomOOB(r io.Reader, s Start) (OOBValue, error) {
	if s.isAlpha() {
		b := make([]byte, s.Size)
		if _, err := io.ReadFull(r, b); err != nil {
			return OOBValue{}, err
		}
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		return Text(string(b)), nil
	}
	var raw [4]byte
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return OOBValue{}, err
	}
	mod := uint32(1)
	for range s.Size {
		mod *= 10
	}
	n := binary.BigEndian.Uint32(raw[:])
	if s.isCount() {
		return Num(n%(mod-1) + 1), nil
	}
	return Num(n % mod), nil
}

// authValue is the AuthValue of the chosen method (§5.4.2.4), 16 or 32
// octets per algorithm: zeros for No OOB; the static OOB value, truncated
// or zero-padded, for Static OOB; the number as a big-endian integer, or
// the string's ASCII octets followed by zeros, for output and input OOB.
func authValue(s Start, static []byte, v OOBValue) []byte {
	a := make([]byte, s.Algorithm.AuthSize())
	switch s.Method {
	case StaticOOB:
		copy(a, static)
	case OutputOOB, InputOOB:
		if s.isAlpha() {
			copy(a, v.Text)
		} else {
			binary.BigEndian.PutUint32(a[len(a)-4:], v.Number)
		}
	}
	return a
}

// NewKey draws a P-256 private key from r: 32 octets read as a big-endian
// integer, drawn again until it is a valid scalar (1..n-1). It reads r
// itself rather than calling ecdh's GenerateKey, which since Go 1.26 ignores
// its reader, so a simulation seeded with the same value gets the same keys.
func NewKey(r io.Reader) (*ecdh.PrivateKey, error) {
	var b [32]byte
	for range 64 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("provisioning: drawing a P-256 key: %w", err)
		}
		if k, err := ecdh.P256().NewPrivateKey(b[:]); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("provisioning: no valid P-256 scalar in 64 draws")
}

// PublicKeyBytes returns the 64-octet X||Y form of a P-256 public key, as
// the Provisioning Public Key PDU carries it (§5.4.1.4).
func PublicKeyBytes(k *ecdh.PublicKey) []byte { return k.Bytes()[1:] }

// ParsePublicKey checks that X||Y (64 octets, big-endian) is a point on
// P-256 (§5.4.2.3: each side shall check the peer's key is valid).
func ParsePublicKey(xy []byte) (*ecdh.PublicKey, error) {
	if len(xy) != PublicKeyLen {
		return nil, fmt.Errorf("provisioning: public key of %d octets (want 64)", len(xy))
	}
	k, err := ecdh.P256().NewPublicKey(append([]byte{4}, xy...))
	if err != nil {
		return nil, fmt.Errorf("provisioning: invalid P-256 public key: %w", err)
	}
	return k, nil
}
