package pdu

import (
	"encoding/binary"
	"fmt"
	"iter"
)

// ADType is an advertising data type (Core Specification Supplement Part A
// §1; values from Assigned Numbers §2.3).
type ADType uint8

// AD types blesim uses.
const (
	ADFlags             ADType = 0x01 // Flags (Supplement Part A §1.3)
	ADIncompleteUUID16  ADType = 0x02 // Incomplete List of 16-bit Service UUIDs (§1.1)
	ADCompleteUUID16    ADType = 0x03 // Complete List of 16-bit Service UUIDs (§1.1)
	ADIncompleteUUID128 ADType = 0x06 // Incomplete List of 128-bit Service UUIDs (§1.1)
	ADCompleteUUID128   ADType = 0x07 // Complete List of 128-bit Service UUIDs (§1.1)
	ADShortLocalName    ADType = 0x08 // Shortened Local Name (§1.2)
	ADCompleteLocalName ADType = 0x09 // Complete Local Name (§1.2)
	ADTxPower           ADType = 0x0A // Tx Power Level (§1.5)
	ADServiceData16     ADType = 0x16 // Service Data - 16-bit UUID (§1.11)
	ADAppearance        ADType = 0x19 // Appearance (§1.12)
	ADMeshPBADV         ADType = 0x29 // PB-ADV (Mesh Protocol §5.2.1)
	ADMeshMessage       ADType = 0x2A // Mesh Message (Mesh Protocol §3.3.1)
	ADMeshBeacon        ADType = 0x2B // Mesh Beacon (Mesh Protocol §3.10)
	ADManufacturerData  ADType = 0xFF // Manufacturer Specific Data (§1.4)
)

// MaxADDataLen is the most data one AD structure holds: its Length octet
// counts the type octet and the data.
const MaxADDataLen = 254

// Flags AD bits (Supplement Part A §1.3).
const (
	ADFlagLELimited         = 0x01 // LE Limited Discoverable Mode
	ADFlagLEGeneral         = 0x02 // LE General Discoverable Mode
	ADFlagBREDRNotSupported = 0x04 // BR/EDR Not Supported
)

// ADStructure is one AD structure: its type and data (aliasing the input).
type ADStructure struct {
	Type ADType
	Data []byte
}

// ADs iterates over the AD structures in b (Core v5.4 Vol 3 Part C §11:
// Length, AD Type, AD Data). A zero Length octet ends the data early (the
// rest is padding). On malformed data it yields one error and stops; it never
// panics. The yielded Data aliases b.
func ADs(b []byte) iter.Seq2[ADStructure, error] {
	return func(yield func(ADStructure, error) bool) {
		for off := 0; off < len(b); {
			n := int(b[off])
			if n == 0 {
				return
			}
			if off+1+n > len(b) {
				yield(ADStructure{}, fmt.Errorf("%w: AD structure at offset %d has Length %d but only %d octets follow", ErrAD, off, n, len(b)-off-1))
				return
			}
			s := ADStructure{Type: ADType(b[off+1]), Data: b[off+2 : off+1+n]}
			if !yield(s, nil) {
				return
			}
			off += 1 + n
		}
	}
}

// ADList is a parsed list of AD structures.
type ADList []ADStructure

// ParseAD parses all AD structures of b (see ADs). The data aliases b.
func ParseAD(b []byte) (ADList, error) {
	var l ADList
	for s, err := range ADs(b) {
		if err != nil {
			return nil, err
		}
		l = append(l, s)
	}
	return l, nil
}

// Get returns the data of the first structure of type t.
func (l ADList) Get(t ADType) ([]byte, bool) {
	for _, s := range l {
		if s.Type == t {
			return s.Data, true
		}
	}
	return nil, false
}

// Flags returns the first octet of the Flags structure.
func (l ADList) Flags() (uint8, bool) {
	d, ok := l.Get(ADFlags)
	if !ok || len(d) < 1 {
		return 0, false
	}
	return d[0], true
}

// LocalName returns the complete local name, or else the shortened one;
// complete tells which.
func (l ADList) LocalName() (name string, complete, ok bool) {
	if d, ok := l.Get(ADCompleteLocalName); ok {
		return string(d), true, true
	}
	if d, ok := l.Get(ADShortLocalName); ok {
		return string(d), false, true
	}
	return "", false, false
}

// UUID16s returns every 16-bit service UUID of the complete and incomplete
// lists (a trailing odd octet is ignored).
func (l ADList) UUID16s() []uint16 {
	var u []uint16
	for _, s := range l {
		if s.Type != ADCompleteUUID16 && s.Type != ADIncompleteUUID16 {
			continue
		}
		for i := 0; i+2 <= len(s.Data); i += 2 {
			u = append(u, binary.LittleEndian.Uint16(s.Data[i:]))
		}
	}
	return u
}

// TxPower returns the Tx Power Level in dBm.
func (l ADList) TxPower() (int8, bool) {
	d, ok := l.Get(ADTxPower)
	if !ok || len(d) < 1 {
		return 0, false
	}
	return int8(d[0]), true
}

// Appearance returns the Appearance value.
func (l ADList) Appearance() (uint16, bool) {
	d, ok := l.Get(ADAppearance)
	if !ok || len(d) < 2 {
		return 0, false
	}
	return binary.LittleEndian.Uint16(d), true
}

// ServiceData16 returns the UUID and data of the first Service Data - 16-bit
// UUID structure.
func (l ADList) ServiceData16() (uuid uint16, data []byte, ok bool) {
	d, ok := l.Get(ADServiceData16)
	if !ok || len(d) < 2 {
		return 0, nil, false
	}
	return binary.LittleEndian.Uint16(d), d[2:], true
}

// ManufacturerData returns the company identifier and data of the first
// Manufacturer Specific Data structure.
func (l ADList) ManufacturerData() (company uint16, data []byte, ok bool) {
	d, ok := l.Get(ADManufacturerData)
	if !ok || len(d) < 2 {
		return 0, nil, false
	}
	return binary.LittleEndian.Uint16(d), d[2:], true
}

// AppendAD appends one AD structure (Length, type, data) to dst. data is at
// most 254 octets.
func AppendAD(dst []byte, t ADType, data []byte) ([]byte, error) {
	if len(data) > MaxADDataLen {
		return dst, fmt.Errorf("%w: AD type 0x%02X data is %d octets, at most %d", ErrTooLong, uint8(t), len(data), MaxADDataLen)
	}
	dst = append(dst, byte(len(data)+1), byte(t))
	return append(dst, data...), nil
}

// ADBuilder builds advertising or scan response data. Errors are sticky and
// reported by Bytes. The zero value is ready to use.
type ADBuilder struct {
	b   []byte
	err error
}

// Add appends a structure of type t.
func (a *ADBuilder) Add(t ADType, data []byte) *ADBuilder {
	if a.err == nil {
		a.b, a.err = AppendAD(a.b, t, data)
	}
	return a
}

// Flags appends a Flags structure.
func (a *ADBuilder) Flags(f uint8) *ADBuilder { return a.Add(ADFlags, []byte{f}) }

// UUID16 appends a complete or incomplete list of 16-bit service UUIDs.
func (a *ADBuilder) UUID16(complete bool, uuids ...uint16) *ADBuilder {
	d := make([]byte, 0, 2*len(uuids))
	for _, u := range uuids {
		d = binary.LittleEndian.AppendUint16(d, u)
	}
	t := ADIncompleteUUID16
	if complete {
		t = ADCompleteUUID16
	}
	return a.Add(t, d)
}

// LocalName appends a complete or shortened local name.
func (a *ADBuilder) LocalName(name string, complete bool) *ADBuilder {
	t := ADShortLocalName
	if complete {
		t = ADCompleteLocalName
	}
	return a.Add(t, []byte(name))
}

// TxPower appends a Tx Power Level structure.
func (a *ADBuilder) TxPower(dBm int8) *ADBuilder { return a.Add(ADTxPower, []byte{byte(dBm)}) }

// Appearance appends an Appearance structure.
func (a *ADBuilder) Appearance(v uint16) *ADBuilder {
	return a.Add(ADAppearance, binary.LittleEndian.AppendUint16(nil, v))
}

// ServiceData16 appends Service Data for a 16-bit UUID.
func (a *ADBuilder) ServiceData16(uuid uint16, data []byte) *ADBuilder {
	return a.Add(ADServiceData16, append(binary.LittleEndian.AppendUint16(nil, uuid), data...))
}

// ManufacturerData appends Manufacturer Specific Data.
func (a *ADBuilder) ManufacturerData(company uint16, data []byte) *ADBuilder {
	return a.Add(ADManufacturerData, append(binary.LittleEndian.AppendUint16(nil, company), data...))
}

// Bytes returns the data built so far, or the first error. Legacy
// advertising PDUs carry at most MaxAdvDataLen (31) octets; the PDU builders
// check that.
func (a *ADBuilder) Bytes() ([]byte, error) {
	if a.err != nil {
		return nil, a.err
	}
	return a.b, nil
}
