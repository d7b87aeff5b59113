// Package beacon is the mesh beacons (Mesh Protocol v1.1 §3.10) carried in
// AD type 0x2B: the Unprovisioned Device beacon (§3.10.2), with which a
// device asks to be provisioned over PB-ADV, and the Secure Network beacon
// (§3.10.3), which carries a network's IV Index and flags authenticated
// with its BeaconKey.
package beacon

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"strings"

	"blesim/hosts/crypto/cmac"
	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/linklayer/pdu"
)

// Type is the Beacon Type octet (§3.10).
type Type uint8

// Beacon types.
const (
	TypeUnprovisioned Type = 0x00
	TypeSecureNetwork Type = 0x01
	TypePrivate       Type = 0x02 // Mesh Private beacon (v1.1), not decoded here
)

// OOBInfo is the OOB Information field: where the device's OOB data is
// (§3.10.2).
type OOBInfo uint16

// OOB Information bits.
const (
	OOBOther          OOBInfo = 1 << 0
	OOBURI            OOBInfo = 1 << 1 // electronic / URI
	OOB2DCode         OOBInfo = 1 << 2 // 2D machine-readable code
	OOBBarCode        OOBInfo = 1 << 3
	OOBNFC            OOBInfo = 1 << 4
	OOBNumber         OOBInfo = 1 << 5
	OOBString         OOBInfo = 1 << 6
	OOBCertificate    OOBInfo = 1 << 7 // v1.1: certificate-based provisioning
	OOBRecords        OOBInfo = 1 << 8 // v1.1: provisioning records
	OOBOnBox          OOBInfo = 1 << 11
	OOBInsideBox      OOBInfo = 1 << 12
	OOBOnPaper        OOBInfo = 1 << 13
	OOBInsideManual   OOBInfo = 1 << 14
	OOBOnDevice       OOBInfo = 1 << 15
	unprovisionedLen          = 1 + 16 + 2
	unprovisionedHash         = unprovisionedLen + 4
	secureNetworkLen          = 1 + 1 + 8 + 4 + 8
)

// Unprovisioned is the Unprovisioned Device beacon (§3.10.2).
type Unprovisioned struct {
	UUID    [16]byte
	OOB     OOBInfo
	URIHash *[4]byte // optional: the first 4 octets of s1(URI Data)
}

// Marshal returns the beacon (Beacon Type first), 19 or 23 octets.
func (b Unprovisioned) Marshal() []byte {
	out := make([]byte, 0, unprovisionedHash)
	out = append(out, byte(TypeUnprovisioned))
	out = append(out, b.UUID[:]...)
	out = binary.BigEndian.AppendUint16(out, uint16(b.OOB))
	if b.URIHash != nil {
		out = append(out, b.URIHash[:]...)
	}
	return out
}

// AD returns the beacon as one AD structure (Length, 0x2B, beacon), ready
// for advertising data.
func (b Unprovisioned) AD() []byte { return AD(b.Marshal()) }

// AD wraps a beacon in an AD structure of type Mesh Beacon.
func AD(beacon []byte) []byte {
	return append([]byte{byte(1 + len(beacon)), byte(pdu.ADMeshBeacon)}, beacon...)
}

// ParseUnprovisioned decodes an Unprovisioned Device beacon (Beacon Type
// first): 19 octets, or 23 with a URI Hash.
func ParseUnprovisioned(b []byte) (Unprovisioned, error) {
	var u Unprovisioned
	if len(b) == 0 || Type(b[0]) != TypeUnprovisioned {
		return u, fmt.Errorf("beacon: not an Unprovisioned Device beacon")
	}
	if len(b) != unprovisionedLen && len(b) != unprovisionedHash {
		return u, fmt.Errorf("beacon: Unprovisioned Device beacon of %d octets (want 19 or 23)", len(b))
	}
	copy(u.UUID[:], b[1:17])
	u.OOB = OOBInfo(binary.BigEndian.Uint16(b[17:]))
	if len(b) == unprovisionedHash {
		h := [4]byte(b[19:23])
		u.URIHash = &h
	}
	return u, nil
}

// URIData encodes a URI the way the URI AD type and the URI Hash do
// (Core Specification Supplement Part A §1.18): the scheme is replaced by
// its Assigned Numbers code point; a URI with another scheme gets 0x01
// (no scheme) and is kept whole.
func URIData(uri string) []byte {
	for _, s := range []struct {
		prefix string
		code   byte
	}{{"https:", 0x17}, {"http:", 0x16}} {
		if rest, ok := strings.CutPrefix(uri, s.prefix); ok {
			return append([]byte{s.code}, rest...)
		}
	}
	return append([]byte{0x01}, uri...)
}

// WithURI sets the URI Hash from a URI (the OOB Information is left as
// it is; §8.4.2 carries a hash without the URI bit).
func (b Unprovisioned) WithURI(uri string) Unprovisioned {
	h := mcrypto.URIHash(URIData(uri))
	b.URIHash = &h
	return b
}

// SecureNetwork is the Secure Network beacon (§3.10.3).
type SecureNetwork struct {
	Flags     uint8 // bit 0 Key Refresh, bit 1 IV Update
	NetworkID [8]byte
	IVIndex   uint32
	Auth      [8]byte // the first 8 octets of AES-CMAC_BeaconKey(Flags || Network ID || IV Index)
}

// NewSecureNetwork builds and authenticates the beacon of netKey.
func NewSecureNetwork(netKey mcrypto.Key, flags uint8, ivIndex uint32) SecureNetwork {
	s := SecureNetwork{Flags: flags, NetworkID: mcrypto.NetworkID(netKey), IVIndex: ivIndex}
	s.Auth = s.auth(mcrypto.BeaconKey(netKey))
	return s
}

func (s SecureNetwork) auth(beaconKey mcrypto.Key) [8]byte {
	m := make([]byte, 0, 13)
	m = append(m, s.Flags)
	m = append(m, s.NetworkID[:]...)
	m = binary.BigEndian.AppendUint32(m, s.IVIndex)
	t := cmac.Sum(beaconKey[:], m)
	return [8]byte(t[:8])
}

// Verify checks the authentication value with the network's BeaconKey.
func (s SecureNetwork) Verify(beaconKey mcrypto.Key) bool {
	a := s.auth(beaconKey)
	return subtle.ConstantTimeCompare(a[:], s.Auth[:]) == 1
}

// Marshal returns the 22-octet beacon.
func (s SecureNetwork) Marshal() []byte {
	out := make([]byte, 0, secureNetworkLen)
	out = append(out, byte(TypeSecureNetwork), s.Flags)
	out = append(out, s.NetworkID[:]...)
	out = binary.BigEndian.AppendUint32(out, s.IVIndex)
	return append(out, s.Auth[:]...)
}

// ParseSecureNetwork decodes a Secure Network beacon (Beacon Type first).
func ParseSecureNetwork(b []byte) (SecureNetwork, error) {
	var s SecureNetwork
	if len(b) != secureNetworkLen || Type(b[0]) != TypeSecureNetwork {
		return s, fmt.Errorf("beacon: not a 22-octet Secure Network beacon")
	}
	s.Flags = b[1]
	copy(s.NetworkID[:], b[2:10])
	s.IVIndex = binary.BigEndian.Uint32(b[10:])
	copy(s.Auth[:], b[14:])
	return s, nil
}

// Parse decodes a beacon of a known type: it returns an Unprovisioned or a
// SecureNetwork.
func Parse(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("beacon: empty")
	}
	switch Type(b[0]) {
	case TypeUnprovisioned:
		return ParseUnprovisioned(b)
	case TypeSecureNetwork:
		return ParseSecureNetwork(b)
	}
	return nil, fmt.Errorf("beacon: type %#02x not supported", b[0])
}
