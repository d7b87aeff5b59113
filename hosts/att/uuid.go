package att

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// UUID is a Bluetooth UUID, stored as 128 bits in little-endian (air)
// order. 16- and 32-bit UUIDs are aliases within the Bluetooth Base UUID
// 00000000-0000-1000-8000-00805F9B34FB (Core v5.4 Vol 3 Part B §2.5.1), so
// UUID16(0x180D) == MustParseUUID("0000180d-0000-1000-8000-00805f9b34fb").
type UUID [16]byte

var baseUUID = UUID{0xFB, 0x34, 0x9B, 0x5F, 0x80, 0x00, 0x00, 0x80, 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0}

// UUID16 returns the 128-bit form of a 16-bit UUID.
func UUID16(v uint16) UUID {
	u := baseUUID
	binary.LittleEndian.PutUint16(u[12:], v)
	return u
}

// UUID32 returns the 128-bit form of a 32-bit UUID.
func UUID32(v uint32) UUID {
	u := baseUUID
	binary.LittleEndian.PutUint32(u[12:], v)
	return u
}

// Short returns the 16-bit value when u is a 16-bit UUID.
func (u UUID) Short() (uint16, bool) {
	if [12]byte(u[:12]) != [12]byte(baseUUID[:12]) || u[14] != 0 || u[15] != 0 {
		return 0, false
	}
	return binary.LittleEndian.Uint16(u[12:]), true
}

// Is16 reports whether u is a 16-bit UUID.
func (u UUID) Is16() bool { _, ok := u.Short(); return ok }

// Bytes returns the shortest form used in ATT PDUs: 2 octets for a 16-bit
// UUID, 16 otherwise (ATT only carries 16- and 128-bit UUIDs,
// Vol 3 Part F §3.2.1).
func (u UUID) Bytes() []byte {
	if v, ok := u.Short(); ok {
		return binary.LittleEndian.AppendUint16(nil, v)
	}
	return append([]byte(nil), u[:]...)
}

// ParseUUID reads a 2-, 4- or 16-octet little-endian UUID.
func ParseUUID(b []byte) (UUID, error) {
	switch len(b) {
	case 2:
		return UUID16(binary.LittleEndian.Uint16(b)), nil
	case 4:
		return UUID32(binary.LittleEndian.Uint32(b)), nil
	case 16:
		return UUID(b), nil
	}
	return UUID{}, fmt.Errorf("att: UUID of %d octets (want 2, 4 or 16)", len(b))
}

// ParseUUIDString parses "180D", "0x180D", "0000180d" or the 36-character
// form "0000180d-0000-1000-8000-00805f9b34fb".
func ParseUUIDString(s string) (UUID, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	switch len(t) {
	case 4, 8:
		v, err := strconv.ParseUint(t, 16, 32)
		if err != nil {
			return UUID{}, fmt.Errorf("att: bad UUID %q", s)
		}
		if len(t) == 4 {
			return UUID16(uint16(v)), nil
		}
		return UUID32(uint32(v)), nil
	case 36:
		h := strings.ReplaceAll(t, "-", "")
		if len(h) != 32 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
			return UUID{}, fmt.Errorf("att: bad UUID %q", s)
		}
		be, err := hex.DecodeString(h)
		if err != nil {
			return UUID{}, fmt.Errorf("att: bad UUID %q", s)
		}
		var u UUID
		for i := range u {
			u[i] = be[15-i]
		}
		return u, nil
	}
	return UUID{}, fmt.Errorf("att: bad UUID %q: want 4 or 8 hex digits or the 36-character form", s)
}

// MustParseUUID is ParseUUIDString that panics; for constants in code.
func MustParseUUID(s string) UUID {
	u, err := ParseUUIDString(s)
	if err != nil {
		panic(err)
	}
	return u
}

// String returns "180D" for 16-bit UUIDs and the 36-character form
// otherwise.
func (u UUID) String() string {
	if v, ok := u.Short(); ok {
		return fmt.Sprintf("%04X", v)
	}
	return u.Long()
}

// Long returns the 36-character form, lowercase, for every UUID
// ("00002a19-0000-1000-8000-00805f9b34fb"), as BlueZ writes UUIDs.
func (u UUID) Long() string {
	var be [16]byte
	for i := range be {
		be[i] = u[15-i]
	}
	h := hex.EncodeToString(be[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// MarshalText implements encoding.TextMarshaler.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (so config loaders can
// read "2A37" or a 128-bit UUID string).
func (u *UUID) UnmarshalText(b []byte) error {
	v, err := ParseUUIDString(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}
