// Package profiles holds blesim's built-in devices: a Peripheral core that
// brings up its controller, advertises and serves GATT, the profiles built
// on it (Generic, Oximeter, HeartRate) and a Central that scans, connects,
// discovers, reads and subscribes. Each device is wired with a send
// function for its H4 packets and a Receive method for its controller's:
//
//	oxi, err := profiles.NewOximeter(log, sched, oxiSend, profiles.OximeterConfig{
//		PeripheralConfig: profiles.PeripheralConfig{Name: "Oxi", Connectable: true}})
//	central, err := profiles.NewCentral(log, sched, cenSend, profiles.CentralConfig{
//		Target: "Oxi", Read: []att.UUID{profiles.UUIDPLXFeatures},
//		Subscribe: []att.UUID{profiles.UUIDPLXContinuous}, Hold: 10 * time.Second})
//	central.OnEvent = func(e profiles.Event) { log.Info("central", zap.Any("event", e)) }
//	// oxiSend/cenSend pass H4 packets to each controller; the wiring
//	// delivers controller → host packets to oxi.Receive / central.Receive.
//	oxi.Start()
//	central.Start()
//	sched.RunFor(20 * sim.Second)
package profiles

import (
	"encoding/binary"
	"fmt"

	"blesim/hosts/att"
)

// AD types (Core Specification Supplement Part A §1, Assigned Numbers §2.3).
const (
	ADFlags          uint8 = 0x01
	ADIncomplete16   uint8 = 0x02
	ADComplete16     uint8 = 0x03
	ADIncomplete128  uint8 = 0x06
	ADComplete128    uint8 = 0x07
	ADShortName      uint8 = 0x08
	ADCompleteName   uint8 = 0x09
	ADTxPower        uint8 = 0x0A
	ADAppearance     uint8 = 0x19
	ADManufacturer   uint8 = 0xFF
	maxLegacyADLen         = 31
	flagsGeneralDisc uint8 = 0x02 // LE General Discoverable Mode
	flagsNoBREDR     uint8 = 0x04 // BR/EDR Not Supported
)

// AD is one AD structure: length, type, data (Core v5.4 Vol 3 Part C §11).
type AD struct {
	Type uint8
	Data []byte
}

// ParseAD splits advertising or scan response data into AD structures. A
// zero length octet ends the significant part (§11); a structure running
// past the end is an error.
func ParseAD(b []byte) ([]AD, error) {
	var out []AD
	for i := 0; i < len(b); {
		n := int(b[i])
		if n == 0 {
			break
		}
		if i+1+n > len(b) {
			return out, fmt.Errorf("profiles: AD structure at offset %d says %d bytes, %d left", i, n, len(b)-i-1)
		}
		out = append(out, AD{Type: b[i+1], Data: b[i+2 : i+1+n]})
		i += 1 + n
	}
	return out, nil
}

// LocalName returns the Complete (0x09) or else Shortened (0x08) Local
// Name in AD data.
func LocalName(b []byte) (string, bool) {
	ads, _ := ParseAD(b)
	short, found := "", false
	for _, a := range ads {
		switch a.Type {
		case ADCompleteName:
			return string(a.Data), true
		case ADShortName:
			short, found = string(a.Data), true
		}
	}
	return short, found
}

type adBuilder struct{ b []byte }

func (w *adBuilder) room() int { return maxLegacyADLen - len(w.b) }

// add appends a structure if it fits and reports whether it did.
func (w *adBuilder) add(typ uint8, data []byte) bool {
	if 2+len(data) > w.room() {
		return false
	}
	w.b = append(w.b, byte(1+len(data)), typ)
	w.b = append(w.b, data...)
	return true
}

// addName appends the Complete Local Name, or as much of it as fits as a
// Shortened Local Name.
func (w *adBuilder) addName(name string) {
	if name == "" || w.add(ADCompleteName, []byte(name)) {
		return
	}
	if n := w.room() - 2; n > 0 {
		w.add(ADShortName, []byte(name[:n]))
	}
}

func uuidList(uuids []att.UUID, want16 bool) []byte {
	var b []byte
	for _, u := range uuids {
		if v, ok := u.Short(); ok && want16 {
			b = binary.LittleEndian.AppendUint16(b, v)
		} else if !ok && !want16 {
			b = append(b, u[:]...)
		}
	}
	return b
}

// BuildAdvData builds legacy advertising data (≤ 31 bytes): Flags 0x06 (LE
// General Discoverable, BR/EDR not supported), the Complete Local Name (or
// a Shortened one), the 16-bit service UUIDs if they fit and the TX Power
// Level if it fits.
func BuildAdvData(name string, services []att.UUID, txPower int8) []byte {
	w := &adBuilder{}
	w.add(ADFlags, []byte{flagsGeneralDisc | flagsNoBREDR})
	w.addName(name)
	if l := uuidList(services, true); len(l) > 0 {
		w.add(ADComplete16, l)
	}
	w.add(ADTxPower, []byte{byte(txPower)})
	return w.b
}

// BuildScanRsp builds scan response data: Appearance, 128-bit service
// UUIDs if they fit, and the name again if it fits.
func BuildScanRsp(name string, appearance uint16, services []att.UUID) []byte {
	w := &adBuilder{}
	w.add(ADAppearance, binary.LittleEndian.AppendUint16(nil, appearance))
	if l := uuidList(services, false); len(l) > 0 && len(l) <= 16 {
		w.add(ADComplete128, l)
	}
	w.addName(name)
	return w.b
}
