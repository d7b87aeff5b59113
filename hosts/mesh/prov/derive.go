package prov

import (
	"crypto/subtle"
	"encoding/binary"

	"blesim/hosts/crypto/cmac"
	mcrypto "blesim/hosts/mesh/crypto"
)

// confirmationSalt is s1(ConfirmationInputs) for CMAC and
// s2(ConfirmationInputs) for HMAC (§5.4.2.4).
func confirmationSalt(a Algorithm, inputs []byte) []byte {
	if a == AlgorithmHMAC {
		s := mcrypto.S2(inputs)
		return s[:]
	}
	s := mcrypto.S1(inputs)
	return s[:]
}

// confirmationKey is k1(ECDHSecret, ConfirmationSalt, "prck") for CMAC and
// k5(ECDHSecret || AuthValue, ConfirmationSalt, "prck256") for HMAC.
func confirmationKey(a Algorithm, secret, salt, auth []byte) []byte {
	if a == AlgorithmHMAC {
		n := append(append(make([]byte, 0, 64), secret...), auth...)
		k := mcrypto.K5(n, salt, []byte("prck256"))
		return k[:]
	}
	k := mcrypto.K1(secret, mcrypto.Key(salt), []byte("prck"))
	return k[:]
}

// confirmation is AES-CMAC_ConfirmationKey(Random || AuthValue) for CMAC and
// HMAC-SHA256_ConfirmationKey(Random) for HMAC (§5.4.2.4).
func confirmation(a Algorithm, key, random, auth []byte) []byte {
	if a == AlgorithmHMAC {
		c := mcrypto.HMACSHA256(key, random)
		return c[:]
	}
	m := make([]byte, 0, 32)
	c := cmac.Sum(key, append(append(m, random...), auth...))
	return c[:]
}

// sessionSecrets are the values derived once both randoms are known
// (§5.4.2.5).
type sessionSecrets struct {
	ProvisioningSalt mcrypto.Key
	SessionKey       mcrypto.Key
	SessionNonce     mcrypto.Nonce
	DevKey           mcrypto.Key
}

// deriveSession computes ProvisioningSalt = s1(ConfirmationSalt ||
// RandomProvisioner || RandomDevice), SessionKey = k1(ECDHSecret,
// ProvisioningSalt, "prsk"), SessionNonce = the 13 least significant octets
// of k1(ECDHSecret, ProvisioningSalt, "prsn") and DevKey = k1(ECDHSecret,
// ProvisioningSalt, "prdk") (§5.4.2.5, §3.9.6.1).
func deriveSession(secret, confSalt, randP, randD []byte) sessionSecrets {
	in := make([]byte, 0, len(confSalt)+len(randP)+len(randD))
	in = append(append(append(in, confSalt...), randP...), randD...)
	var s sessionSecrets
	s.ProvisioningSalt = mcrypto.S1(in)
	s.SessionKey = mcrypto.K1(secret, s.ProvisioningSalt, []byte("prsk"))
	n := mcrypto.K1(secret, s.ProvisioningSalt, []byte("prsn"))
	s.SessionNonce = mcrypto.Nonce(n[3:])
	s.DevKey = mcrypto.K1(secret, s.ProvisioningSalt, []byte("prdk"))
	return s
}

// Data is the provisioning data the provisioner gives the device
// (§5.4.2.5): the primary NetKey, its index, the Key Refresh and IV Update
// flags, the IV Index and the unicast address of the primary element.
type Data struct {
	NetKey   mcrypto.Key
	KeyIndex uint16 // 12 bits
	Flags    uint8  // bit 0 Key Refresh phase 2, bit 1 IV Update active
	IVIndex  uint32
	Address  uint16
}

// Provisioning data flags.
const (
	FlagKeyRefresh uint8 = 0x01
	FlagIVUpdate   uint8 = 0x02
)

// Marshal returns the 25 plaintext octets.
func (d Data) Marshal() []byte {
	b := make([]byte, 0, DataLen)
	b = append(b, d.NetKey[:]...)
	b = binary.BigEndian.AppendUint16(b, d.KeyIndex)
	b = append(b, d.Flags)
	b = binary.BigEndian.AppendUint32(b, d.IVIndex)
	return binary.BigEndian.AppendUint16(b, d.Address)
}

// ParseData decodes the 25 plaintext octets.
func ParseData(b []byte) (Data, error) {
	if len(b) != DataLen {
		return Data{}, errf(InvalidFormat, "provisioning data of %d octets (want 25)", len(b))
	}
	return Data{
		NetKey:   mcrypto.Key(b[:16]),
		KeyIndex: binary.BigEndian.Uint16(b[16:]),
		Flags:    b[18],
		IVIndex:  binary.BigEndian.Uint32(b[19:]),
		Address:  binary.BigEndian.Uint16(b[23:]),
	}, nil
}

// Check validates the data for a device with elements elements: a 12-bit
// key index and no RFU flag bits (else InvalidData), and a unicast address
// range Address..Address+elements-1 inside 0x0001..0x7FFF (else
// CannotAssignAddresses).
func (d Data) Check(elements uint8) error {
	if d.KeyIndex > 0x0fff {
		return errf(InvalidData, "NetKey index %#04x has more than 12 bits", d.KeyIndex)
	}
	if d.Flags&^(FlagKeyRefresh|FlagIVUpdate) != 0 {
		return errf(InvalidData, "flags %#02x set RFU bits", d.Flags)
	}
	if d.Address == 0 || d.Address >= 0x8000 || int(d.Address)+int(max(elements, 1))-1 > 0x7fff {
		return errf(CannotAssignAddresses, "unicast address %#04x for %d elements", d.Address, elements)
	}
	return nil
}

// sealData encrypts the provisioning data with the session key and nonce,
// AES-CCM with a 64-bit MIC (§5.4.2.5).
func sealData(s sessionSecrets, d Data) ([]byte, error) {
	return mcrypto.Seal(s.SessionKey, s.SessionNonce, d.Marshal(), nil, 8)
}

// openData decrypts the Provisioning Data parameters (25 + 8 octets).
func openData(s sessionSecrets, p []byte) (Data, error) {
	plain, err := mcrypto.Open(s.SessionKey, s.SessionNonce, p, nil, 8)
	if err != nil {
		return Data{}, errf(DecryptionFailed, "provisioning data MIC: %v", err)
	}
	return ParseData(plain)
}

// equal compares secret-dependent values in constant time.
func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
