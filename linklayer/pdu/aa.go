package pdu

import (
	"math/bits"
	"math/rand/v2"
)

// AdvertisingAccessAddress is the access address of all advertising
// physical channel packets (Core v5.4 Vol 6 Part B §2.1.2).
const AdvertisingAccessAddress uint32 = 0x8E89BED6

// AdvertisingCRCInit is the CRC preset of advertising physical channel
// packets (§3.1.1).
const AdvertisingCRCInit uint32 = 0x555555

// ValidAccessAddress reports whether aa meets the rules of §2.1.2 for the
// access address of a new connection:
//   - it is not the advertising access address,
//   - it does not differ from the advertising access address in only one bit,
//   - its four octets are not all equal,
//   - it has no more than six consecutive zeros or ones,
//   - it has no more than 24 transitions,
//   - it has at least two transitions in its six most significant bits.
func ValidAccessAddress(aa uint32) bool {
	if bits.OnesCount32(aa^AdvertisingAccessAddress) <= 1 {
		return false
	}
	if b := aa & 0xFF; aa == b|b<<8|b<<16|b<<24 {
		return false
	}
	// Transitions: bit i differs from bit i+1, for i in 0..30.
	t := (aa ^ aa>>1) & 0x7FFFFFFF
	if bits.OnesCount32(t) > 24 {
		return false
	}
	// Six most significant bits are 31..26: transitions between 26..31 are
	// bits 26..30 of t.
	if bits.OnesCount32(t>>26&0x1F) < 2 {
		return false
	}
	// Longest run of equal bits: seven equal bits in a row means six
	// consecutive zero bits in t somewhere in positions 0..30.
	run := 1
	for i := 0; i < 31; i++ {
		if t>>i&1 == 0 {
			run++
			if run > 6 {
				return false
			}
		} else {
			run = 1
		}
	}
	return true
}

// NewAccessAddress draws random access addresses from r until one meets the
// rules of §2.1.2 (ValidAccessAddress). The caller must still make sure it
// differs from the access addresses of its other connections.
func NewAccessAddress(r *rand.Rand) uint32 {
	for {
		if aa := r.Uint32(); ValidAccessAddress(aa) {
			return aa
		}
	}
}

// NewCRCInit draws a random 24-bit CRCInit for a new connection (§2.3.3.1).
func NewCRCInit(r *rand.Rand) uint32 { return r.Uint32() & 0xFFFFFF }
