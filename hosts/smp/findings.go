package smp

import (
	"bytes"
	"encoding/hex"
	"fmt"
)

// FindingCode names a conformance finding: something the peer did that
// the specification forbids or that defeats its security.
type FindingCode string

// Finding codes.
const (
	// FindingKeyNotNegotiated: the peer distributed a key the pairing
	// feature exchange did not negotiate (Vol 3 Part H §3.6.1).
	FindingKeyNotNegotiated FindingCode = "key-not-negotiated"
	// FindingNonRandomKey: key material or a nonce is not random (all
	// octets equal, a counting sequence, a short repeating pattern, too
	// few distinct octets, or one of the specification's sample values);
	// §2.3.5.6 and §2.4.2 require keys and nonces from a random source.
	FindingNonRandomKey FindingCode = "non-random-key"
	// FindingSecurityRequestIgnored: the central neither paired nor
	// encrypted within the timeout after a Security Request (§2.4.6).
	FindingSecurityRequestIgnored FindingCode = "security-request-ignored"
	// FindingPublicKeyReused: the peer used an ECDH public key it had
	// already used in an earlier pairing (§2.3.5.6.1 recommends a new
	// key pair for every pairing).
	FindingPublicKeyReused FindingCode = "public-key-reused"
	// FindingDebugKey: the peer used the LE Secure Connections debug
	// public key (§2.3.5.6.1), so anyone can decrypt the link.
	FindingDebugKey FindingCode = "debug-public-key"
	// FindingInvalidPublicKey: the peer's public key is not on P-256, or
	// is our own key reflected back.
	FindingInvalidPublicKey FindingCode = "invalid-public-key"
	// FindingValueOutOfRange: a Pairing Request/Response or Security
	// Request field is out of range or sets reserved bits (§3.5.1).
	FindingValueOutOfRange FindingCode = "value-out-of-range"
	// FindingUnexpectedPDU: an SMP command arrived in a state where it is
	// not allowed.
	FindingUnexpectedPDU FindingCode = "unexpected-pdu"
	// FindingInvalidIdentityAddress: Identity Address Information carries
	// a type other than public/static random, or a random address that is
	// not static (§3.6.5).
	FindingInvalidIdentityAddress FindingCode = "invalid-identity-address"
)

// Finding is one conformance finding about the peer.
type Finding struct {
	Code    FindingCode
	Message string
	// PDU is the SMP command that shows it (nil when it is an absence,
	// e.g. an ignored Security Request).
	PDU    []byte
	Handle uint16
	Peer   Address
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s: %s", f.Code, f.Message)
	if f.PDU != nil {
		s += " (PDU " + hex.EncodeToString(f.PDU) + ")"
	}
	return s
}

// specSamples are sample values printed in the Core specification (Vol 3
// Part H Appendix D, Vol 6 Part C) and FIPS/RFC test vectors, most
// significant octet first; keys equal to them (in either order) are not
// random.
var specSamples = func() [][]byte {
	var out [][]byte
	for _, s := range []string{
		"4c68384139f574d836bcf34e9dfb01bf", // LL encryption sample LTK
		"ec0234a357c8ad05341010a60a397d9b", // ah IRK / h6 W
		"5783d52156ad6f0e6388274ec6702ee0", // c1 r
		"d5cb8454d177733effffb2ec712baeab", // f4 X / f5 N1
		"a6e8e7cc25a75f6e216583f7ff3dc4cf", // f5 N2
		"12a3343bb453bb5408da42d20c2d0fc8", // f6 R
		"2965f176a1084a02fd3f6a20ce636e20", // f5 MacKey
		"6986791169d7cd23980522b594750a38", // f5 LTK
		"368df9bce3264b58bd066c33334fbf64", // CTKD LTK
		"2b7e151628aed2a6abf7158809cf4f3c", // RFC 4493 key
		"000f0e0d0c0b0a091122334455667788", // s1 r1
		"010203040506070899aabbccddeeff00", // s1 r2
		"9a1fe1f0e8b0f49b5b4216ae796da062", // s1 STK
	} {
		b, _ := hex.DecodeString(s)
		out = append(out, b, reverse(b))
	}
	return out
}()

func reverse(b []byte) []byte {
	o := make([]byte, len(b))
	for i, v := range b {
		o[len(b)-1-i] = v
	}
	return o
}

// NonRandom reports why b (key material or a nonce) does not look random,
// or "" when it does: all octets equal, an arithmetic progression of
// octets (00 01 02…, ff ee dd…), a repeating pattern of 2 or 4 octets,
// too few distinct octets for its length, or a specification sample
// value. b is what is significant (a key reduced to its key size without
// the zero padding). Values shorter than 6 octets are not judged.
func NonRandom(b []byte) string {
	if len(b) < 6 {
		return ""
	}
	for _, s := range specSamples {
		if bytes.Equal(b, s) {
			return "a sample value from the specification"
		}
	}
	step := b[1] - b[0]
	prog := true
	for i := 2; i < len(b); i++ {
		if b[i]-b[i-1] != step {
			prog = false
			break
		}
	}
	if prog {
		switch {
		case step == 0:
			return fmt.Sprintf("all octets are 0x%02x", b[0])
		case step >= 0x80:
			return fmt.Sprintf("a counting sequence (down by 0x%02x)", -step)
		}
		return fmt.Sprintf("a counting sequence (up by 0x%02x)", step)
	}
	for _, p := range []int{2, 4} {
		if len(b) >= 2*p && bytes.Equal(b[p:], b[:len(b)-p]) {
			return fmt.Sprintf("a repeating %d-octet pattern", p)
		}
	}
	distinct := map[byte]bool{}
	for _, v := range b {
		distinct[v] = true
	}
	// For 16 random octets fewer than 9 distinct values happens with
	// probability below 1e-9; scale the limit with the length.
	if limit := len(b) / 2; len(distinct) <= limit {
		return fmt.Sprintf("only %d distinct octets in %d", len(distinct), len(b))
	}
	return ""
}
