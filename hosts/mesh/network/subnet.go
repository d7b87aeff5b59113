package network

import (
	"blesim/hosts/mesh/beacon"
	mcrypto "blesim/hosts/mesh/crypto"
)

// Subnet is one NetKey with what the network layer derives from it
// (§3.9.6.3): the managed-flooding credentials (NID, EncryptionKey,
// PrivacyKey, from k2 with P = 0x00), the Network ID and the BeaconKey.
type Subnet struct {
	Index     uint16 // NetKey Index, 12 bits
	NetKey    mcrypto.Key
	Cipher    *mcrypto.NetworkCipher
	NetworkID [8]byte
	BeaconKey mcrypto.Key

	// The last Secure Network beacon that authenticated: the same octets
	// again need no AES-CMAC.
	lastBeacon string
	// The beacon this node sends, cached by its flags and IV Index.
	ownBeacon    []byte
	ownFlags     uint8
	ownIV        uint32
	ownBeaconSet bool
}

// NewSubnet derives the subnet of a NetKey.
func NewSubnet(index uint16, netKey mcrypto.Key) *Subnet {
	return &Subnet{
		Index:     index & 0x0fff,
		NetKey:    netKey,
		Cipher:    mcrypto.NewNetworkCipher(mcrypto.K2(netKey, []byte{0})),
		NetworkID: mcrypto.NetworkID(netKey),
		BeaconKey: mcrypto.BeaconKey(netKey),
	}
}

// NID is the 7-bit NID of the managed-flooding credentials.
func (s *Subnet) NID() uint8 { return s.Cipher.Keys.NID }

// beacon returns the subnet's Secure Network beacon for flags and ivIndex
// (AD structure included).
func (s *Subnet) beacon(flags uint8, ivIndex uint32) []byte {
	if !s.ownBeaconSet || s.ownFlags != flags || s.ownIV != ivIndex {
		s.ownBeacon = beacon.AD(beacon.NewSecureNetwork(s.NetKey, flags, ivIndex).Marshal())
		s.ownFlags, s.ownIV, s.ownBeaconSet = flags, ivIndex, true
	}
	return s.ownBeacon
}
