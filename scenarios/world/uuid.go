package world

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// UUID is a GATT attribute type: a 16-bit Bluetooth SIG assigned number
// or a full 128-bit UUID.
//
// A 128-bit UUID in the Bluetooth base form
// 0000xxxx-0000-1000-8000-00805f9b34fb is the same UUID as the 16-bit
// xxxx (Core v5.4 Vol 3 Part B §2.5.1) and is stored as such, so two UUIDs
// made by UUID16, UUID128 or ParseUUID compare equal with == exactly when
// they name the same attribute type. The zero UUID is the nil 128-bit UUID.
type UUID struct {
	be    [16]byte // the 128-bit value, most significant octet first
	short bool     // be is the base UUID with a 16-bit value in be[2:4]
}

// baseUUID is the Bluetooth base UUID 00000000-0000-1000-8000-00805f9b34fb,
// most significant octet first.
var baseUUID = [16]byte{0, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0x80, 0x5f, 0x9b, 0x34, 0xfb}

// UUID16 returns the UUID of a 16-bit assigned number, e.g. UUID16(0x180F)
// for the Battery Service.
func UUID16(v uint16) UUID {
	u := UUID{be: baseUUID, short: true}
	u.be[2], u.be[3] = byte(v>>8), byte(v)
	return u
}

// UUID128 returns the UUID with the given 128-bit value, most significant
// octet first (the order it is written in). A value in the Bluetooth base
// form becomes the 16-bit UUID it stands for.
func UUID128(be [16]byte) UUID {
	u := UUID{be: be}
	if be[0] == 0 && be[1] == 0 && [12]byte(be[4:]) == [12]byte(baseUUID[4:]) {
		u.short = true
	}
	return u
}

// ParseUUID parses a 16-bit UUID written as four hex digits ("180F",
// "0x180f") or a 128-bit UUID in the usual 8-4-4-4-12 form
// ("6e400001-b5a3-f393-e0a9-e50e24dcca9e"). Hex digits may be upper or
// lower case.
func ParseUUID(s string) (UUID, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	switch {
	case len(h) == 4 && isHex(h):
		b, _ := hex.DecodeString(h)
		return UUID16(uint16(b[0])<<8 | uint16(b[1])), nil
	case len(h) == 8 && isHex(h):
		return UUID{}, fmt.Errorf("%s looks like a 32-bit UUID, which GATT does not use: write the 16-bit form (4 hex digits) or the full 128-bit form", quote(s))
	case len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-':
		h = s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
		if !isHex(h) {
			break
		}
		var be [16]byte
		_, _ = hex.Decode(be[:], []byte(h))
		if be == ([16]byte{}) {
			return UUID{}, fmt.Errorf("the nil UUID %s is not an attribute type", s)
		}
		return UUID128(be), nil
	}
	return UUID{}, fmt.Errorf("want a 16-bit UUID such as \"180F\" or a 128-bit UUID such as \"6e400001-b5a3-f393-e0a9-e50e24dcca9e\", got %s", quote(s))
}

// isHex reports whether s is non-empty and all hex digits.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// Is16 reports whether u is a 16-bit UUID (a value on the Bluetooth base).
func (u UUID) Is16() bool { return u.short }

// Uint16 returns the 16-bit value of a 16-bit UUID, or 0 for a 128-bit one.
func (u UUID) Uint16() uint16 {
	if !u.short {
		return 0
	}
	return uint16(u.be[2])<<8 | uint16(u.be[3])
}

// Bytes returns the UUID as it is sent on air (ATT, advertising data):
// little-endian, 2 bytes for a 16-bit UUID and 16 bytes otherwise.
func (u UUID) Bytes() []byte {
	if u.short {
		return []byte{u.be[3], u.be[2]}
	}
	b := make([]byte, 16)
	for i := range b {
		b[i] = u.be[15-i]
	}
	return b
}

// String returns "180F" for a 16-bit UUID (four upper-case hex digits)
// and the lower-case 8-4-4-4-12 form for a 128-bit one.
func (u UUID) String() string {
	if u.short {
		return fmt.Sprintf("%04X", u.Uint16())
	}
	h := hex.EncodeToString(u.be[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Properties is a set of GATT characteristic properties. The bits have the
// values of the characteristic declaration's Properties field
// (Core v5.4 Vol 3 Part G §3.3.1.1), so a profile builder can use it as is.
type Properties uint8

// Characteristic properties a world file can declare.
const (
	PropRead                 Properties = 0x02 // "read"
	PropWriteWithoutResponse Properties = 0x04 // "write-without-response"
	PropWrite                Properties = 0x08 // "write"
	PropNotify               Properties = 0x10 // "notify"
	PropIndicate             Properties = 0x20 // "indicate"
)

// propertyNames maps the world-file spelling of each property to its bit,
// in the order String lists them.
var propertyNames = []struct {
	name string
	bit  Properties
}{
	{"read", PropRead},
	{"write", PropWrite},
	{"write-without-response", PropWriteWithoutResponse},
	{"notify", PropNotify},
	{"indicate", PropIndicate},
}

// Has reports whether p includes every property in q.
func (p Properties) Has(q Properties) bool { return p&q == q }

// String lists the properties as a world file spells them: "read, notify".
func (p Properties) String() string {
	var names []string
	for _, n := range propertyNames {
		if p&n.bit != 0 {
			names = append(names, n.name)
			p &^= n.bit
		}
	}
	if p != 0 {
		names = append(names, fmt.Sprintf("0x%02X", uint8(p)))
	}
	return strings.Join(names, ", ")
}
