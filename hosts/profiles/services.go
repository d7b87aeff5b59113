package profiles

import (
	"fmt"
	"math"
	"strings"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
)

// Assigned numbers used by the profiles (Assigned Numbers §3.4, §3.8).
var (
	UUIDBatteryService    = att.UUID16(0x180F)
	UUIDBatteryLevel      = att.UUID16(0x2A19)
	UUIDDeviceInformation = att.UUID16(0x180A)
	UUIDManufacturerName  = att.UUID16(0x2A29)
	UUIDModelNumber       = att.UUID16(0x2A24)
	UUIDFirmwareRevision  = att.UUID16(0x2A26)
	UUIDDeviceName        = att.UUID16(0x2A00)
	UUIDAppearance        = att.UUID16(0x2A01)
)

// BatteryService returns the Battery Service 0x180F (BAS 1.0) with Battery
// Level 0x2A19 (read, notify), and its characteristic for updates.
func BatteryService(level uint8) (*gatt.Service, *gatt.Characteristic) {
	c := &gatt.Characteristic{UUID: UUIDBatteryLevel, Props: gatt.PropRead | gatt.PropNotify, Value: []byte{min(level, 100)}, MaxLen: 1}
	return &gatt.Service{UUID: UUIDBatteryService, Characteristics: []*gatt.Characteristic{c}}, c
}

// DeviceInformationService returns the Device Information Service 0x180A
// (DIS 1.1) with Manufacturer Name "blesim", the model number and firmware
// revision "blesim-1".
func DeviceInformationService(model string) *gatt.Service {
	return &gatt.Service{UUID: UUIDDeviceInformation, Characteristics: []*gatt.Characteristic{
		{UUID: UUIDManufacturerName, Props: gatt.PropRead, Value: []byte("blesim")},
		{UUID: UUIDModelNumber, Props: gatt.PropRead, Value: []byte(model)},
		{UUID: UUIDFirmwareRevision, Props: gatt.PropRead, Value: []byte("blesim-1")},
	}}
}

// SFLOAT special values (IEEE 11073-20601 §F.8, as used by the GATT
// Specification Supplement §2.3).
const (
	SFloatNaN   uint16 = 0x07FF
	SFloatNRes  uint16 = 0x0800
	SFloatPInf  uint16 = 0x07FE
	SFloatNInf  uint16 = 0x0802
	sfloatMaxM         = 2045 // largest mantissa that is not a special value
	sfloatMinE         = -8
	sfloatMaxE         = 7
	sfloatTenth        = 1 // decimals kept by EncodeSFloat when possible
)

// EncodeSFloat encodes v as a 16-bit SFLOAT: a 4-bit signed exponent (base
// 10) over a 12-bit signed mantissa. It keeps up to one decimal, e.g.
// 97.5 → mantissa 975, exponent -1 (0xF3CF); 72 → 0x0048.
func EncodeSFloat(v float64) uint16 {
	if math.IsNaN(v) {
		return SFloatNaN
	}
	if math.IsInf(v, 1) {
		return SFloatPInf
	}
	if math.IsInf(v, -1) {
		return SFloatNInf
	}
	e := 0
	m := v
	// Use one decimal when the value has one and it fits.
	if r := math.Round(v * 10); r != math.Round(v)*10 && math.Abs(r) <= sfloatMaxM {
		m, e = r, -sfloatTenth
	} else {
		m = math.Round(v)
	}
	for math.Abs(m) > sfloatMaxM && e < sfloatMaxE {
		m = math.Round(m / 10)
		e++
	}
	if math.Abs(m) > sfloatMaxM {
		if m > 0 {
			return SFloatPInf
		}
		return SFloatNInf
	}
	return uint16(e&0xF)<<12 | uint16(int16(m))&0x0FFF
}

// DecodeSFloat decodes an SFLOAT (NaN for the special values).
func DecodeSFloat(s uint16) float64 {
	switch s {
	case SFloatNaN, SFloatNRes, 0x0801:
		return math.NaN()
	case SFloatPInf:
		return math.Inf(1)
	case SFloatNInf:
		return math.Inf(-1)
	}
	m := int16(s<<4) >> 4
	e := int8(s>>8) >> 4
	return float64(m) * math.Pow10(int(e))
}

// ParseProps parses property names ("read", "write", "write-without-response",
// "notify", "indicate", "broadcast") into gatt.Props, for config loaders.
func ParseProps(names []string) (gatt.Props, error) {
	var p gatt.Props
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "read":
			p |= gatt.PropRead
		case "write":
			p |= gatt.PropWrite
		case "write-without-response", "write_without_response", "write-no-response":
			p |= gatt.PropWriteNoRsp
		case "notify":
			p |= gatt.PropNotify
		case "indicate":
			p |= gatt.PropIndicate
		case "broadcast":
			p |= gatt.PropBroadcast
		default:
			return 0, fmt.Errorf("unknown characteristic property %q (want read, write, write-without-response, notify, indicate or broadcast)", n)
		}
	}
	return p, nil
}
