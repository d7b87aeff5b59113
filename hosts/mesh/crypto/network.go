package crypto

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Network PDU sizes (§3.4.4): IVI|NID, CTL|TTL, SEQ(3), SRC(2) in clear
// (the last five obfuscated), then DST(2), TransportPDU and NetMIC
// encrypted. An advertising bearer carries at most 29 octets.
const (
	NetworkHeaderLen = 9
	MaxNetworkPDULen = 29
)

// NetworkHeader is the header of a network PDU (§3.4.4). IVI is the least
// significant bit of the IV Index used.
type NetworkHeader struct {
	IVI bool
	NID uint8 // 7 bits
	CTL bool
	TTL uint8 // 7 bits
	SEQ uint32
	SRC uint16
	DST uint16
}

// NetMICSize is the NetMIC length: 8 octets for control messages (CTL=1),
// 4 for access messages (§3.4.4.8).
func NetMICSize(ctl bool) int {
	if ctl {
		return 8
	}
	return 4
}

// PECB is the privacy value e(PrivacyKey, 0x0000000000 || IV Index ||
// Privacy Random) whose first 6 octets obfuscate CTL|TTL, SEQ and SRC
// (§3.9.7.3). privacyRandom is the first 7 octets of EncDST ||
// EncTransportPDU || NetMIC.
func PECB(privacyKey Key, ivIndex uint32, privacyRandom []byte) [16]byte {
	var in [16]byte
	binary.BigEndian.PutUint32(in[5:], ivIndex)
	copy(in[9:], privacyRandom)
	b, _ := aes.NewCipher(privacyKey[:])
	b.Encrypt(in[:], in[:])
	return in
}

// Obfuscate XORs octets 1..6 of a network PDU (CTL|TTL, SEQ, SRC) with
// PECB (§3.9.7.3). Obfuscation is its own inverse: the same call
// de-obfuscates. pdu must hold at least the header and 7 octets after it.
func Obfuscate(privacyKey Key, ivIndex uint32, pdu []byte) error {
	if len(pdu) < 7+7 {
		return fmt.Errorf("mesh crypto: network PDU of %d octets is too short to obfuscate", len(pdu))
	}
	p := PECB(privacyKey, ivIndex, pdu[7:14])
	subtle.XORBytes(pdu[1:7], pdu[1:7], p[:6])
	return nil
}

// EncryptNetworkPDU secures a network PDU with managed-flooding,
// friendship or directed credentials k (§3.9.7.2, §3.9.7.3): DST and the
// lower transport PDU are encrypted with the network nonce, then the header
// is obfuscated. h.NID and h.IVI are taken from k and ivIndex.
func EncryptNetworkPDU(k NetworkKeys, ivIndex uint32, h NetworkHeader, transport []byte) ([]byte, error) {
	n := NetworkNonce(h.CTL, h.TTL, h.SEQ, h.SRC, ivIndex)
	return sealNetwork(k, ivIndex, h, transport, n)
}

// EncryptProxyPDU secures a proxy configuration message (§6.6): like a
// network PDU but with the proxy nonce, CTL=1, TTL=0 and DST 0x0000.
func EncryptProxyPDU(k NetworkKeys, ivIndex uint32, seq uint32, src uint16, transport []byte) ([]byte, error) {
	h := NetworkHeader{CTL: true, SEQ: seq, SRC: src}
	return sealNetwork(k, ivIndex, h, transport, ProxyNonce(seq, src, ivIndex))
}

func sealNetwork(k NetworkKeys, ivIndex uint32, h NetworkHeader, transport []byte, nonce Nonce) ([]byte, error) {
	mic := NetMICSize(h.CTL)
	if len(transport) == 0 || NetworkHeaderLen+len(transport)+mic > MaxNetworkPDULen {
		return nil, fmt.Errorf("mesh crypto: transport PDU of %d octets does not fit a network PDU", len(transport))
	}
	if h.SEQ > 0xffffff {
		return nil, fmt.Errorf("mesh crypto: SEQ %#x does not fit 24 bits", h.SEQ)
	}
	pdu := make([]byte, 7, NetworkHeaderLen+len(transport)+mic)
	pdu[0] = k.NID & 0x7f
	if ivIndex&1 != 0 {
		pdu[0] |= 0x80
	}
	pdu[1] = h.TTL & 0x7f
	if h.CTL {
		pdu[1] |= 0x80
	}
	putSeqSrc(pdu[:], h.SEQ, h.SRC) // writes pdu[2:7]
	plain := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(transport)), h.DST)
	plain = append(plain, transport...)
	a, err := NewCCM(k.EncryptionKey, mic)
	if err != nil {
		return nil, err
	}
	pdu = a.Seal(pdu, nonce[:], plain, nil)
	if err := Obfuscate(k.PrivacyKey, ivIndex, pdu); err != nil {
		return nil, err
	}
	return pdu, nil
}

// DecryptNetworkPDU de-obfuscates and decrypts a network PDU secured with
// k under ivIndex (the receiver picks the IV Index whose low bit is IVI).
// It returns the header and the lower transport PDU. It fails when the NID
// or IVI does not match or the NetMIC is wrong; it never modifies pdu.
func DecryptNetworkPDU(k NetworkKeys, ivIndex uint32, pdu []byte) (NetworkHeader, []byte, error) {
	return openNetwork(k, ivIndex, pdu, false)
}

// DecryptProxyPDU is DecryptNetworkPDU for proxy configuration messages
// (proxy nonce).
func DecryptProxyPDU(k NetworkKeys, ivIndex uint32, pdu []byte) (NetworkHeader, []byte, error) {
	return openNetwork(k, ivIndex, pdu, true)
}

func openNetwork(k NetworkKeys, ivIndex uint32, pdu []byte, proxy bool) (NetworkHeader, []byte, error) {
	var h NetworkHeader
	if len(pdu) < NetworkHeaderLen+1+4 || len(pdu) > MaxNetworkPDULen {
		return h, nil, fmt.Errorf("mesh crypto: network PDU of %d octets (want %d..%d)", len(pdu), NetworkHeaderLen+1+4, MaxNetworkPDULen)
	}
	h.IVI = pdu[0]&0x80 != 0
	h.NID = pdu[0] & 0x7f
	if h.NID != k.NID || h.IVI != (ivIndex&1 != 0) {
		return h, nil, errors.New("mesh crypto: NID or IVI does not match these credentials")
	}
	clear := make([]byte, len(pdu))
	copy(clear, pdu)
	if err := Obfuscate(k.PrivacyKey, ivIndex, clear); err != nil {
		return h, nil, err
	}
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
	a, err := NewCCM(k.EncryptionKey, mic)
	if err != nil {
		return h, nil, err
	}
	plain, err := a.Open(nil, nonce[:], clear[7:], nil)
	if err != nil {
		return h, nil, fmt.Errorf("mesh crypto: network PDU: %w", err)
	}
	h.DST = binary.BigEndian.Uint16(plain)
	return h, plain[2:], nil
}
