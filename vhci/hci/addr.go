package hci

import (
	"fmt"
	"strconv"
	"strings"
)

// BDAddr is a Bluetooth device address in over-the-air (little-endian)
// byte order: BDAddr[0] is the least significant octet
// (Core v5.4 Vol 2 Part B §1.2, Vol 6 Part B §1.3).
type BDAddr [6]byte

// AddressType is the LE address type used in HCI commands and events
// (Core v5.4 Vol 4 Part E §7.8.12).
type AddressType uint8

// LE address types.
const (
	AddrPublic         AddressType = 0x00
	AddrRandom         AddressType = 0x01
	AddrPublicIdentity AddressType = 0x02 // resolved RPA, identity is public
	AddrRandomIdentity AddressType = 0x03 // resolved RPA, identity is random static
)

func (t AddressType) String() string {
	switch t {
	case AddrPublic:
		return "public"
	case AddrRandom:
		return "random"
	case AddrPublicIdentity:
		return "public-identity"
	case AddrRandomIdentity:
		return "random-identity"
	}
	return fmt.Sprintf("AddressType(%d)", uint8(t))
}

// String formats the address the usual way, most significant octet first:
// "C0:11:22:33:44:55".
func (a BDAddr) String() string {
	return fmt.Sprintf("%02X:%02X:%02X:%02X:%02X:%02X", a[5], a[4], a[3], a[2], a[1], a[0])
}

// ParseBDAddr parses "C0:11:22:33:44:55" (most significant octet first).
func ParseBDAddr(s string) (BDAddr, error) {
	var a BDAddr
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return a, fmt.Errorf("bad Bluetooth address %q: want six hex octets separated by ':', e.g. C0:11:22:33:44:55", s)
	}
	for i, p := range parts {
		if len(p) != 2 {
			return a, fmt.Errorf("bad Bluetooth address %q: octet %q is not two hex digits", s, p)
		}
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return a, fmt.Errorf("bad Bluetooth address %q: octet %q is not hex", s, p)
		}
		a[5-i] = byte(v)
	}
	return a, nil
}

// IsStaticRandom reports whether a random address has the static form:
// its two most significant bits are 0b11 (Core v5.4 Vol 6 Part B §1.3.2.1).
func (a BDAddr) IsStaticRandom() bool { return a[5]&0xC0 == 0xC0 }

// IsResolvablePrivate reports whether a random address has the resolvable
// private form (most significant bits 0b01, Vol 6 Part B §1.3.2.2).
func (a BDAddr) IsResolvablePrivate() bool { return a[5]&0xC0 == 0x40 }
