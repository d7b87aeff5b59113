// Package config is the Configuration Server and Configuration Client
// models (Mesh Protocol v1.1 §4.4.1, §4.4.2) and their messages (§4.3.2):
// Composition Data, AppKeys, model-to-AppKey bindings, subscriptions,
// publication, Default TTL, Relay, Beacon, Network Transmit and Node
// Reset. They are secured with the device key (§4.4.1).
//
// Parameters are little-endian; pairs of 12-bit key indexes are packed
// into three octets (§4.3.1.1).
package config

import (
	"encoding/binary"
	"fmt"

	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/stack"
)

// Configuration message opcodes (§4.3.4).
const (
	OpAppKeyAdd               access.Opcode = 0x00
	OpAppKeyUpdate            access.Opcode = 0x01
	OpCompositionDataStatus   access.Opcode = 0x02
	OpModelPublicationSet     access.Opcode = 0x03
	OpAppKeyDelete            access.Opcode = 0x8000
	OpAppKeyGet               access.Opcode = 0x8001
	OpAppKeyList              access.Opcode = 0x8002
	OpAppKeyStatus            access.Opcode = 0x8003
	OpCompositionDataGet      access.Opcode = 0x8008
	OpBeaconGet               access.Opcode = 0x8009
	OpBeaconSet               access.Opcode = 0x800A
	OpBeaconStatus            access.Opcode = 0x800B
	OpDefaultTTLGet           access.Opcode = 0x800C
	OpDefaultTTLSet           access.Opcode = 0x800D
	OpDefaultTTLStatus        access.Opcode = 0x800E
	OpFriendGet               access.Opcode = 0x800F
	OpFriendSet               access.Opcode = 0x8010
	OpFriendStatus            access.Opcode = 0x8011
	OpGATTProxyGet            access.Opcode = 0x8012
	OpGATTProxySet            access.Opcode = 0x8013
	OpGATTProxyStatus         access.Opcode = 0x8014
	OpModelPublicationGet     access.Opcode = 0x8018
	OpModelPublicationStatus  access.Opcode = 0x8019
	OpModelSubscriptionAdd    access.Opcode = 0x801B
	OpModelSubscriptionDelete access.Opcode = 0x801C
	OpModelSubscriptionDelAll access.Opcode = 0x801D
	OpModelSubscriptionOverwr access.Opcode = 0x801E
	OpModelSubscriptionStatus access.Opcode = 0x801F
	OpNetworkTransmitGet      access.Opcode = 0x8023
	OpNetworkTransmitSet      access.Opcode = 0x8024
	OpNetworkTransmitStatus   access.Opcode = 0x8025
	OpRelayGet                access.Opcode = 0x8026
	OpRelaySet                access.Opcode = 0x8027
	OpRelayStatus             access.Opcode = 0x8028
	OpModelAppBind            access.Opcode = 0x803D
	OpModelAppStatus          access.Opcode = 0x803E
	OpModelAppUnbind          access.Opcode = 0x803F
	OpNetKeyGet               access.Opcode = 0x8042
	OpNetKeyList              access.Opcode = 0x8043
	OpNodeReset               access.Opcode = 0x8049
	OpNodeResetStatus         access.Opcode = 0x804A
	OpSIGModelAppGet          access.Opcode = 0x804B
	OpSIGModelAppList         access.Opcode = 0x804C
	OpVendorModelAppGet       access.Opcode = 0x804D
	OpVendorModelAppList      access.Opcode = 0x804E
)

// PackKeyIndexes encodes key indexes as §4.3.1.1 does: two 12-bit
// indexes in three octets, the first in the low bits, and a last odd
// index in two octets.
func PackKeyIndexes(idx ...uint16) []byte {
	var b []byte
	for i := 0; i+1 < len(idx); i += 2 {
		v := uint32(idx[i]&0xfff) | uint32(idx[i+1]&0xfff)<<12
		b = append(b, byte(v), byte(v>>8), byte(v>>16))
	}
	if len(idx)%2 == 1 {
		b = binary.LittleEndian.AppendUint16(b, idx[len(idx)-1]&0xfff)
	}
	return b
}

// UnpackKeyIndexes decodes a list of packed key indexes.
func UnpackKeyIndexes(b []byte) ([]uint16, error) {
	var out []uint16
	for len(b) >= 3 {
		v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		out = append(out, uint16(v&0xfff), uint16(v>>12))
		b = b[3:]
	}
	switch len(b) {
	case 0:
	case 2:
		v := binary.LittleEndian.Uint16(b)
		if v > 0xfff {
			return out, fmt.Errorf("config: key index %#04x", v)
		}
		out = append(out, v)
	default:
		return out, fmt.Errorf("config: packed key indexes end with %d octet(s)", len(b))
	}
	return out, nil
}

// KeyPair is the NetKeyIndexAndAppKeyIndex field.
type KeyPair struct{ Net, App uint16 }

func (k KeyPair) pack() []byte { return PackKeyIndexes(k.Net, k.App) }

func unpackPair(b []byte) KeyPair {
	v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	return KeyPair{Net: uint16(v & 0xfff), App: uint16(v >> 12)}
}

// AppKeyAdd builds Config AppKey Add.
func AppKeyAdd(netIdx, appIdx uint16, key [16]byte) access.Message {
	return access.NewMessage(OpAppKeyAdd, KeyPair{netIdx, appIdx}.pack(), key[:])
}

// AppKeyStatus is Config AppKey Status.
type AppKeyStatus struct {
	Status stack.Status
	Keys   KeyPair
}

// ParseAppKeyStatus decodes Config AppKey Status.
func ParseAppKeyStatus(p []byte) (AppKeyStatus, error) {
	if len(p) != 4 {
		return AppKeyStatus{}, lenErr("AppKey Status", p, 4)
	}
	return AppKeyStatus{Status: stack.Status(p[0]), Keys: unpackPair(p[1:])}, nil
}

// CompositionDataGet builds Config Composition Data Get.
func CompositionDataGet(page uint8) access.Message {
	return access.NewMessage(OpCompositionDataGet, []byte{page})
}

// ParseCompositionDataStatus decodes Config Composition Data Status: the
// page number and page 0.
func ParseCompositionDataStatus(p []byte) (uint8, access.Composition, error) {
	if len(p) < 1 {
		return 0, access.Composition{}, lenErr("Composition Data Status", p, 11)
	}
	c, err := access.ParseComposition(p[1:])
	return p[0], c, err
}

// ModelApp is the parameters of Config Model App Bind, Unbind and
// Status.
type ModelApp struct {
	Status   stack.Status // Status only
	Element  uint16
	AppIndex uint16
	Model    access.ModelID
}

// ModelAppBind builds Config Model App Bind.
func ModelAppBind(element, appIdx uint16, model access.ModelID) access.Message {
	return access.NewMessage(OpModelAppBind, ModelApp{Element: element, AppIndex: appIdx, Model: model}.params())
}

// ModelAppUnbind builds Config Model App Unbind.
func ModelAppUnbind(element, appIdx uint16, model access.ModelID) access.Message {
	return access.NewMessage(OpModelAppUnbind, ModelApp{Element: element, AppIndex: appIdx, Model: model}.params())
}

func (m ModelApp) params() []byte {
	b := binary.LittleEndian.AppendUint16(nil, m.Element)
	b = binary.LittleEndian.AppendUint16(b, m.AppIndex)
	return m.Model.Append(b)
}

func parseModelApp(p []byte) (ModelApp, error) {
	if len(p) != 6 && len(p) != 8 {
		return ModelApp{}, fmt.Errorf("config: Model App message of %d octets (want 6 or 8)", len(p))
	}
	m, _ := access.ParseModelID(p[4:])
	return ModelApp{Element: binary.LittleEndian.Uint16(p), AppIndex: binary.LittleEndian.Uint16(p[2:]), Model: m}, nil
}

// ParseModelAppStatus decodes Config Model App Status.
func ParseModelAppStatus(p []byte) (ModelApp, error) {
	if len(p) < 1 {
		return ModelApp{}, lenErr("Model App Status", p, 7)
	}
	m, err := parseModelApp(p[1:])
	m.Status = stack.Status(p[0])
	return m, err
}

// ModelSub is the parameters of the Config Model Subscription messages.
type ModelSub struct {
	Status  stack.Status // Status only
	Element uint16
	Address uint16
	Model   access.ModelID
}

// ModelSubscriptionAdd builds Config Model Subscription Add.
func ModelSubscriptionAdd(element, addr uint16, model access.ModelID) access.Message {
	b := binary.LittleEndian.AppendUint16(nil, element)
	b = binary.LittleEndian.AppendUint16(b, addr)
	return access.NewMessage(OpModelSubscriptionAdd, model.Append(b))
}

// ParseModelSubscriptionStatus decodes Config Model Subscription Status.
func ParseModelSubscriptionStatus(p []byte) (ModelSub, error) {
	if len(p) != 7 && len(p) != 9 {
		return ModelSub{}, fmt.Errorf("config: Model Subscription Status of %d octets (want 7 or 9)", len(p))
	}
	m, _ := access.ParseModelID(p[5:])
	return ModelSub{Status: stack.Status(p[0]), Element: binary.LittleEndian.Uint16(p[1:]),
		Address: binary.LittleEndian.Uint16(p[3:]), Model: m}, nil
}

// NodeReset builds Config Node Reset.
func NodeReset() access.Message { return access.NewMessage(OpNodeReset) }

// DefaultTTLSet builds Config Default TTL Set.
func DefaultTTLSet(ttl uint8) access.Message { return access.NewMessage(OpDefaultTTLSet, []byte{ttl}) }

// RelaySet builds Config Relay Set.
func RelaySet(on bool, retransmit uint8) access.Message {
	v := byte(0)
	if on {
		v = 1
	}
	return access.NewMessage(OpRelaySet, []byte{v, retransmit})
}

// BeaconSet builds Config Beacon Set.
func BeaconSet(on bool) access.Message {
	v := byte(0)
	if on {
		v = 1
	}
	return access.NewMessage(OpBeaconSet, []byte{v})
}

func lenErr(what string, p []byte, want int) error {
	return fmt.Errorf("config: %s of %d octets (want %d)", what, len(p), want)
}
