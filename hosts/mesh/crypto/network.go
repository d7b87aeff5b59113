package crypto

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
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
	return NewNetworkCipher(k).Encrypt(ivIndex, h, transport)
}

// EncryptProxyPDU secures a proxy configuration message (§6.6): like a
// network PDU but with the proxy nonce, CTL=1, TTL=0 and DST 0x0000.
func EncryptProxyPDU(k NetworkKeys, ivIndex uint32, seq uint32, src uint16, transport []byte) ([]byte, error) {
	return NewNetworkCipher(k).EncryptProxy(ivIndex, seq, src, transport)
}

// DecryptNetworkPDU de-obfuscates and decrypts a network PDU secured with
// k under ivIndex (the receiver picks the IV Index whose low bit is IVI).
// It returns the header and the lower transport PDU. It fails when the NID
// or IVI does not match or the NetMIC is wrong; it never modifies pdu.
func DecryptNetworkPDU(k NetworkKeys, ivIndex uint32, pdu []byte) (NetworkHeader, []byte, error) {
	return NewNetworkCipher(k).Decrypt(ivIndex, pdu)
}

// DecryptProxyPDU is DecryptNetworkPDU for proxy configuration messages
// (proxy nonce).
func DecryptProxyPDU(k NetworkKeys, ivIndex uint32, pdu []byte) (NetworkHeader, []byte, error) {
	return NewNetworkCipher(k).DecryptProxy(ivIndex, pdu)
}
