package smpcrypto

import (
	"io"

	"blesim/vhci/hci"
)

// Ah is the random address hash function ah (Vol 3 Part H §2.2.2):
// e(k, padding || r) mod 2^24, with k the IRK and r the 24-bit prand,
// most significant octet first.
func Ah(irk [16]byte, r [3]byte) [3]byte {
	var p [16]byte
	copy(p[13:], r[:])
	e := E(irk, p)
	return [3]byte{e[13], e[14], e[15]}
}

// RPAFromPrand builds the resolvable private address of prand (whose two
// most significant bits are forced to 0b01) under irk: hash in the 24
// least significant bits, prand in the 24 most significant
// (Vol 6 Part B §1.3.2.2). The result is in hci.BDAddr (wire) order.
func RPAFromPrand(irk [16]byte, prand [3]byte) hci.BDAddr {
	prand[0] = prand[0]&0x3f | 0x40
	h := Ah(irk, prand)
	return hci.BDAddr{h[2], h[1], h[0], prand[2], prand[1], prand[0]}
}

// GenerateRPA makes a fresh resolvable private address for irk with a
// prand drawn from rnd. The random part of prand (22 bits) is never all
// zeros or all ones (§1.3.2.2).
func GenerateRPA(irk [16]byte, rnd io.Reader) (hci.BDAddr, error) {
	for {
		var p [3]byte
		if _, err := io.ReadFull(rnd, p[:]); err != nil {
			return hci.BDAddr{}, err
		}
		bits := uint32(p[0]&0x3f)<<16 | uint32(p[1])<<8 | uint32(p[2])
		if bits == 0 || bits == 0x3fffff {
			continue
		}
		return RPAFromPrand(irk, p), nil
	}
}

// ResolveRPA reports whether addr is a resolvable private address made
// with irk (§1.3.2.3): it recomputes the hash of the address's prand.
func ResolveRPA(irk [16]byte, addr hci.BDAddr) bool {
	if !addr.IsResolvablePrivate() {
		return false
	}
	h := Ah(irk, [3]byte{addr[5], addr[4], addr[3]})
	return h == [3]byte{addr[2], addr[1], addr[0]}
}
