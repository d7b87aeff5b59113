// Package smpcrypto holds the cryptographic toolbox of the Security Manager
// (Core v5.4 Vol 3 Part H §2.2): the legacy functions e, c1 and s1, the LE
// Secure Connections functions f4, f5, f6 and g2, the key conversion
// functions h6, h7 and h8 (with the LTK ↔ link key derivations of §2.4.2.4
// and §2.4.2.5), ah for resolvable private addresses (§2.2.2, Vol 6 Part B
// §1.3.2.2), and P-256 ECDH (p256.go) on crypto/ecdh.
//
// Byte order: every value passed to or returned by these functions is in
// the spec's order, most significant octet first, exactly as the sample
// data of Vol 3 Part H Appendix D prints it. SMP PDUs and HCI carry the
// same values least significant octet first; Reverse converts.
package smpcrypto

import (
	"crypto/aes"
	"encoding/binary"

	"blesim/hosts/crypto/cmac"
)

// Reverse returns b with its octets in the opposite order (spec order ↔
// wire order). It does not modify b.
func Reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i, v := range b {
		out[len(b)-1-i] = v
	}
	return out
}

// Rev16 reverses a 128-bit value.
func Rev16(b [16]byte) [16]byte {
	var o [16]byte
	for i := range b {
		o[15-i] = b[i]
	}
	return o
}

// Rev32 reverses a 256-bit value.
func Rev32(b [32]byte) [32]byte {
	var o [32]byte
	for i := range b {
		o[31-i] = b[i]
	}
	return o
}

// E is the security function e (Vol 3 Part H §2.2.1): AES-128 (FIPS-197)
// encryption of plaintext with key, most significant octet first.
func E(key, plaintext [16]byte) [16]byte {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("smpcrypto: " + err.Error()) // unreachable: 16-byte key
	}
	var out [16]byte
	b.Encrypt(out[:], plaintext[:])
	return out
}

func xor16(a, b [16]byte) [16]byte {
	for i := range a {
		a[i] ^= b[i]
	}
	return a
}

// C1 is the legacy confirm value generation function c1 (§2.2.3):
//
//	p1 = pres || preq || rat' || iat'
//	p2 = padding || ia || ra
//	c1 = e(k, e(k, r XOR p1) XOR p2)
//
// preq and pres are the 7-octet Pairing Request and Response commands
// (code included) and ia, ra the initiating and responding device
// addresses, all most significant octet first (the reverse of the PDU and
// HCI byte order); iat and rat are the address types (0 public, 1 random).
func C1(k, r [16]byte, preq, pres [7]byte, iat, rat uint8, ia, ra [6]byte) [16]byte {
	var p1, p2 [16]byte
	copy(p1[0:7], pres[:])
	copy(p1[7:14], preq[:])
	p1[14] = rat & 1
	p1[15] = iat & 1
	copy(p2[4:10], ia[:])
	copy(p2[10:16], ra[:])
	return E(k, xor16(E(k, xor16(r, p1)), p2))
}

// S1 is the legacy key generation function s1 (§2.2.4): r' is the least
// significant 64 bits of r1 followed by the least significant 64 bits of
// r2, and s1 = e(k, r'). It makes the STK from TK, Srand (r1) and Mrand
// (r2).
func S1(k, r1, r2 [16]byte) [16]byte {
	var r [16]byte
	copy(r[0:8], r1[8:16])
	copy(r[8:16], r2[8:16])
	return E(k, r)
}

// F4 is the LE Secure Connections confirm value generation function f4
// (§2.2.6): AES-CMAC_X(U || V || Z), with U and V 256-bit public key X
// coordinates (or, in OOB, the same one twice) and Z one octet.
func F4(u, v [32]byte, x [16]byte, z uint8) [16]byte {
	m := make([]byte, 0, 65)
	m = append(m, u[:]...)
	m = append(m, v[:]...)
	m = append(m, z)
	return cmac.Sum(x[:], m)
}

// saltF5 is the SALT of f5 (§2.2.7).
var saltF5 = [16]byte{0x6c, 0x88, 0x83, 0x91, 0xaa, 0xf5, 0xa5, 0x38, 0x60, 0x37, 0x0b, 0xdb, 0x5a, 0x60, 0x83, 0xbe}

// keyIDBtle is the keyID of f5, "btle".
var keyIDBtle = [4]byte{0x62, 0x74, 0x6c, 0x65}

// F5 is the LE Secure Connections key generation function f5 (§2.2.7):
// T = AES-CMAC_SALT(W), then MacKey = AES-CMAC_T(0 || "btle" || N1 || N2 ||
// A1 || A2 || 256) and LTK the same with counter 1. W is the DHKey; A1 and
// A2 are the address type octet followed by the 48-bit address.
func F5(w [32]byte, n1, n2 [16]byte, a1, a2 [7]byte) (macKey, ltk [16]byte) {
	t := cmac.Sum(saltF5[:], w[:])
	m := make([]byte, 53)
	copy(m[1:5], keyIDBtle[:])
	copy(m[5:21], n1[:])
	copy(m[21:37], n2[:])
	copy(m[37:44], a1[:])
	copy(m[44:51], a2[:])
	binary.BigEndian.PutUint16(m[51:], 256)
	m[0] = 0
	macKey = cmac.Sum(t[:], m)
	m[0] = 1
	ltk = cmac.Sum(t[:], m)
	return macKey, ltk
}

// F6 is the LE Secure Connections check value generation function f6
// (§2.2.8): AES-CMAC_W(N1 || N2 || R || IOcap || A1 || A2). IOcap is the
// AuthReq, OOB data flag and IO capability octets of the device's pairing
// command, in that order.
func F6(w, n1, n2, r [16]byte, iocap [3]byte, a1, a2 [7]byte) [16]byte {
	m := make([]byte, 0, 65)
	m = append(m, n1[:]...)
	m = append(m, n2[:]...)
	m = append(m, r[:]...)
	m = append(m, iocap[:]...)
	m = append(m, a1[:]...)
	m = append(m, a2[:]...)
	return cmac.Sum(w[:], m)
}

// G2 is the LE Secure Connections numeric comparison value generation
// function g2 (§2.2.9): AES-CMAC_X(U || V || Y) mod 2^32. The six digits
// shown to the user are G2(...) % 1,000,000.
func G2(u, v [32]byte, x, y [16]byte) uint32 {
	m := make([]byte, 0, 80)
	m = append(m, u[:]...)
	m = append(m, v[:]...)
	m = append(m, y[:]...)
	t := cmac.Sum(x[:], m)
	return binary.BigEndian.Uint32(t[12:])
}

// H6 is the link key conversion function h6 (§2.2.10):
// AES-CMAC_W(keyID).
func H6(w [16]byte, keyID [4]byte) [16]byte { return cmac.Sum(w[:], keyID[:]) }

// H7 is the link key conversion function h7 (§2.2.11):
// AES-CMAC_SALT(W).
func H7(salt, w [16]byte) [16]byte { return cmac.Sum(salt[:], w[:]) }

// H8 is the function h8 (§2.2.12): AES-CMAC_IK(keyID) with IK =
// AES-CMAC_S(K).
func H8(k, s [16]byte, keyID [4]byte) [16]byte {
	ik := cmac.Sum(s[:], k[:])
	return cmac.Sum(ik[:], keyID[:])
}

// Key IDs and salts of the cross-transport key derivation (§2.4.2.4,
// §2.4.2.5).
var (
	keyIDLebr = [4]byte{'l', 'e', 'b', 'r'}
	keyIDBrle = [4]byte{'b', 'r', 'l', 'e'}
	keyIDTmp1 = [4]byte{'t', 'm', 'p', '1'}
	keyIDTmp2 = [4]byte{'t', 'm', 'p', '2'}
	saltTmp1  = [16]byte{12: 't', 13: 'm', 14: 'p', 15: '1'}
	saltTmp2  = [16]byte{12: 't', 13: 'm', 14: 'p', 15: '2'}
)

// LTKToLinkKey derives a BR/EDR link key from an LE Secure Connections
// LTK (§2.4.2.4): ILK = h7(SALT "tmp1", LTK) when both devices set CT2,
// else h6(LTK, "tmp1"); LinkKey = h6(ILK, "lebr").
func LTKToLinkKey(ltk [16]byte, ct2 bool) [16]byte {
	var ilk [16]byte
	if ct2 {
		ilk = H7(saltTmp1, ltk)
	} else {
		ilk = H6(ltk, keyIDTmp1)
	}
	return H6(ilk, keyIDLebr)
}

// LinkKeyToLTK derives an LE LTK from a BR/EDR link key (§2.4.2.5): ILTK =
// h7(SALT "tmp2", LinkKey) with CT2, else h6(LinkKey, "tmp2"); LTK =
// h6(ILTK, "brle").
func LinkKeyToLTK(linkKey [16]byte, ct2 bool) [16]byte {
	var iltk [16]byte
	if ct2 {
		iltk = H7(saltTmp2, linkKey)
	} else {
		iltk = H6(linkKey, keyIDTmp2)
	}
	return H6(iltk, keyIDBrle)
}

// MaskKey reduces a 128-bit key (most significant octet first) to size
// octets by zeroing its 16-size most significant octets (Vol 3 Part H
// §2.3.4). Sizes outside 7..16 leave the key unchanged.
func MaskKey(k [16]byte, size int) [16]byte {
	if size < 7 || size >= 16 {
		return k
	}
	for i := 0; i < 16-size; i++ {
		k[i] = 0
	}
	return k
}
