package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"blesim/linklayer/ccm"
)

// NonceSize is the length of every mesh nonce (§3.9.5).
const NonceSize = ccm.NonceSize

// Nonce is a 13-octet mesh nonce (§3.9.5).
type Nonce = [NonceSize]byte

// Nonce types: the first octet of a nonce (§3.9.5).
const (
	NonceNetwork           = 0x00
	NonceApplication       = 0x01
	NonceDevice            = 0x02
	NonceProxy             = 0x03
	NonceProxySolicitation = 0x04 // Mesh Protocol v1.1
)

// NetworkNonce is the nonce of network PDU encryption (§3.9.5.1):
// 0x00 || CTL|TTL || SEQ || SRC || 0x0000 || IV Index.
func NetworkNonce(ctl bool, ttl uint8, seq uint32, src uint16, ivIndex uint32) Nonce {
	var n Nonce
	n[0] = NonceNetwork
	n[1] = ttl & 0x7f
	if ctl {
		n[1] |= 0x80
	}
	putSeqSrc(n[:], seq, src)
	binary.BigEndian.PutUint32(n[9:], ivIndex)
	return n
}

// ApplicationNonce is the nonce of access messages secured with an AppKey
// (§3.9.5.2): 0x01 || ASZMIC<<7 || SEQ || SRC || DST || IV Index.
func ApplicationNonce(aszmic bool, seq uint32, src, dst uint16, ivIndex uint32) Nonce {
	return accessNonce(NonceApplication, aszmic, seq, src, dst, ivIndex)
}

// DeviceNonce is the nonce of access messages secured with a DevKey
// (§3.9.5.3): 0x02 || ASZMIC<<7 || SEQ || SRC || DST || IV Index.
func DeviceNonce(aszmic bool, seq uint32, src, dst uint16, ivIndex uint32) Nonce {
	return accessNonce(NonceDevice, aszmic, seq, src, dst, ivIndex)
}

func accessNonce(typ byte, aszmic bool, seq uint32, src, dst uint16, ivIndex uint32) Nonce {
	var n Nonce
	n[0] = typ
	if aszmic {
		n[1] = 0x80
	}
	putSeqSrc(n[:], seq, src)
	binary.BigEndian.PutUint16(n[7:], dst)
	binary.BigEndian.PutUint32(n[9:], ivIndex)
	return n
}

// ProxyNonce is the nonce of proxy configuration messages (§3.9.5.4):
// 0x03 || 0x00 || SEQ || SRC || 0x0000 || IV Index.
func ProxyNonce(seq uint32, src uint16, ivIndex uint32) Nonce {
	var n Nonce
	n[0] = NonceProxy
	putSeqSrc(n[:], seq, src)
	binary.BigEndian.PutUint32(n[9:], ivIndex)
	return n
}

func putSeqSrc(n []byte, seq uint32, src uint16) {
	n[2], n[3], n[4] = byte(seq>>16), byte(seq>>8), byte(seq)
	binary.BigEndian.PutUint16(n[5:], src)
}

// NewCCM returns AES-CCM keyed with key and a micSize-octet MIC: 4
// (NetMIC of access PDUs, 32-bit TransMIC) or 8 (NetMIC of control PDUs,
// 64-bit TransMIC, provisioning data) (§3.9.2).
func NewCCM(key Key, micSize int) (cipher.AEAD, error) {
	if micSize != 4 && micSize != 8 {
		return nil, fmt.Errorf("mesh crypto: MIC size %d octets (want 4 or 8)", micSize)
	}
	b, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return ccm.New(b, micSize)
}

// Seal is AES-CCM encryption: it returns ciphertext || MIC of plaintext
// with additional data ad (nil, or a Label UUID for virtual addresses).
func Seal(key Key, nonce Nonce, plaintext, ad []byte, micSize int) ([]byte, error) {
	a, err := NewCCM(key, micSize)
	if err != nil {
		return nil, err
	}
	return a.Seal(nil, nonce[:], plaintext, ad), nil
}

// Open is AES-CCM decryption of ciphertext || MIC; it fails when the MIC
// does not match.
func Open(key Key, nonce Nonce, sealed, ad []byte, micSize int) ([]byte, error) {
	a, err := NewCCM(key, micSize)
	if err != nil {
		return nil, err
	}
	return a.Open(nil, nonce[:], sealed, ad)
}
