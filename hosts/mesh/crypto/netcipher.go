package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"blesim/linklayer/ccm"
)

// NetworkCipher is one set of network credentials (§3.9.6.3: NID,
// EncryptionKey, PrivacyKey) with its AES key schedules prepared once: a
// node decrypts every network PDU it hears, so the network layer keeps one
// per subnet instead of expanding the keys for every PDU.
type NetworkCipher struct {
	Keys    NetworkKeys
	privacy cipher.Block
	mic4    cipher.AEAD // NetMIC of access messages
	mic8    cipher.AEAD // NetMIC of control messages
}

// NewNetworkCipher prepares k.
func NewNetworkCipher(k NetworkKeys) *NetworkCipher {
	c := &NetworkCipher{Keys: k}
	c.privacy, _ = aes.NewCipher(k.PrivacyKey[:])
	enc, _ := aes.NewCipher(k.EncryptionKey[:])
	c.mic4, _ = ccm.New(enc, 4)
	c.mic8, _ = ccm.New(enc, 8)
	return c
}

func (c *NetworkCipher) aead(ctl bool) cipher.AEAD {
	if ctl {
		return c.mic8
	}
	return c.mic4
}

// obfuscate XORs octets 1..6 of pdu with PECB (§3.9.7.3).
func (c *NetworkCipher) obfuscate(ivIndex uint32, pdu []byte) {
	var in [16]byte
	binary.BigEndian.PutUint32(in[5:], ivIndex)
	copy(in[9:], pdu[7:14])
	c.privacy.Encrypt(in[:], in[:])
	subtle.XORBytes(pdu[1:7], pdu[1:7], in[:6])
}

// Encrypt is EncryptNetworkPDU with these credentials.
func (c *NetworkCipher) Encrypt(ivIndex uint32, h NetworkHeader, transport []byte) ([]byte, error) {
	return c.seal(ivIndex, h, transport, NetworkNonce(h.CTL, h.TTL, h.SEQ, h.SRC, ivIndex))
}

// EncryptProxy is EncryptProxyPDU with these credentials.
func (c *NetworkCipher) EncryptProxy(ivIndex uint32, seq uint32, src uint16, transport []byte) ([]byte, error) {
	h := NetworkHeader{CTL: true, SEQ: seq, SRC: src}
	return c.seal(ivIndex, h, transport, ProxyNonce(seq, src, ivIndex))
}

func (c *NetworkCipher) seal(ivIndex uint32, h NetworkHeader, transport []byte, nonce Nonce) ([]byte, error) {
	mic := NetMICSize(h.CTL)
	if len(transport) == 0 || NetworkHeaderLen+len(transport)+mic > MaxNetworkPDULen {
		return nil, fmt.Errorf("mesh crypto: transport PDU of %d octets does not fit a network PDU", len(transport))
	}
	if h.SEQ > 0xffffff {
		return nil, fmt.Errorf("mesh crypto: SEQ %#x does not fit 24 bits", h.SEQ)
	}
	pdu := make([]byte, 9, NetworkHeaderLen+len(transport)+mic)
	pdu[0] = c.Keys.NID & 0x7f
	if ivIndex&1 != 0 {
		pdu[0] |= 0x80
	}
	pdu[1] = h.TTL & 0x7f
	if h.CTL {
		pdu[1] |= 0x80
	}
	putSeqSrc(pdu, h.SEQ, h.SRC) // writes pdu[2:7]
	binary.BigEndian.PutUint16(pdu[7:], h.DST)
	pdu = append(pdu, transport...)
	// Encrypt DST || TransportPDU in place, appending the NetMIC.
	c.aead(h.CTL).Seal(pdu[7:7], nonce[:], pdu[7:], nil)
	pdu = pdu[:cap(pdu)]
	c.obfuscate(ivIndex, pdu)
	return pdu, nil
}

// Decrypt is DecryptNetworkPDU with these credentials.
func (c *NetworkCipher) Decrypt(ivIndex uint32, pdu []byte) (NetworkHeader, []byte, error) {
	return c.open(nil, ivIndex, pdu, false)
}

// DecryptTo is Decrypt writing the transport PDU into buf's storage
// (when it has the capacity, MaxNetworkPDULen octets) instead of a new
// slice: the network layer decrypts every PDU it hears.
func (c *NetworkCipher) DecryptTo(buf []byte, ivIndex uint32, pdu []byte) (NetworkHeader, []byte, error) {
	return c.open(buf[:0], ivIndex, pdu, false)
}

// DecryptProxy is DecryptProxyPDU with these credentials.
func (c *NetworkCipher) DecryptProxy(ivIndex uint32, pdu []byte) (NetworkHeader, []byte, error) {
	return c.open(nil, ivIndex, pdu, true)
}

func (c *NetworkCipher) open(dst []byte, ivIndex uint32, pdu []byte, proxy bool) (NetworkHeader, []byte, error) {
	var h NetworkHeader
	if len(pdu) < NetworkHeaderLen+1+4 || len(pdu) > MaxNetworkPDULen {
		return h, nil, fmt.Errorf("mesh crypto: network PDU of %d octets (want %d..%d)", len(pdu), NetworkHeaderLen+1+4, MaxNetworkPDULen)
	}
	h.IVI = pdu[0]&0x80 != 0
	h.NID = pdu[0] & 0x7f
	if h.NID != c.Keys.NID || h.IVI != (ivIndex&1 != 0) {
		return h, nil, errors.New("mesh crypto: NID or IVI does not match these credentials")
	}
	var buf [MaxNetworkPDULen]byte
	clear := buf[:len(pdu)]
	copy(clear, pdu)
	c.obfuscate(ivIndex, clear)
	h.CTL = clear[1]&0x80 != 0
	h.TTL = clear[1] & 0x7f
	h.SEQ = uint32(clear[2])<<16 | uint32(clear[3])<<8 | uint32(clear[4])
	h.SRC = binary.BigEndian.Uint16(clear[5:])
	mic := NetMICSize(h.CTL)
	if len(clear) < NetworkHeaderLen+1+mic {
		return h, nil, fmt.Errorf("mesh crypto: network PDU of %d octets too short for a %d-octet NetMIC", len(clear), mic)
	}
	nonce := NetworkNonce(h.CTL, h.TTL, h.SEQ, h.SRC, ivIndex)
	if proxy {
		nonce = ProxyNonce(h.SEQ, h.SRC, ivIndex)
	}
	if dst == nil {
		dst = make([]byte, 0, len(clear)-7-mic)
	}
	plain, err := c.aead(h.CTL).Open(dst, nonce[:], clear[7:], nil)
	if err != nil {
		return h, nil, fmt.Errorf("mesh crypto: network PDU: %w", err)
	}
	h.DST = binary.BigEndian.Uint16(plain)
	return h, plain[2:], nil
}
