package ccm

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
)

// The LL encryption session (Core v5.4 Vol 6 Part B §5.1.3.1, Part E §1,
// §2). Byte order, as the spec's sample data (Vol 6 Part C §1) prints it:
//
//   - LTK, SKD, SK and IV are numbers written most significant octet first
//     (MSO..LSO). That is also FIPS-197 order: AES takes the LTK and SKD as
//     they are written, SK = e(LTK, SKD).
//   - SKD = SKDp || SKDc and IV = IVp || IVc, with the central's half in
//     the least significant octets.
//   - On air (LL_ENC_REQ, LL_ENC_RSP) and over HCI (LE Enable Encryption,
//     LE Long Term Key Request Reply) every field is least significant
//     octet first; FromLL converts.
//   - The nonce is packetCounter (39 bits, little endian, in octets 0..4)
//     with the direction bit as the most significant bit of octet 4,
//     followed by the IV least significant octet first (IVc then IVp).
//   - The additional authenticated data is one octet: the first header
//     octet of the data PDU with NESN, SN and MD masked to 0 (& 0xE3).

// MICLen is the length of the link layer's MIC.
const MICLen = 4

// AADMask keeps LLID, CP and the RFU bits of the first header octet: NESN,
// SN and MD are not authenticated (they change on retransmission).
const AADMask = 0xE3

// MaxCounter is the largest 39-bit packet counter. The counter never wraps
// on a connection (Vol 6 Part E §2.1): a session that would need it to
// refuses to seal.
const MaxCounter = 1<<39 - 1

// Direction is the directionBit of the nonce (Vol 6 Part E §2.1).
type Direction uint8

// Directions.
const (
	// PeripheralToCentral: PDUs sent by the peripheral (direction bit 0).
	PeripheralToCentral Direction = 0
	// CentralToPeripheral: PDUs sent by the central (direction bit 1).
	CentralToPeripheral Direction = 1
)

func (d Direction) String() string {
	if d == CentralToPeripheral {
		return "central->peripheral"
	}
	return "peripheral->central"
}

// Errors of Session.
var (
	// ErrCounterExhausted: the 39-bit packet counter of a direction is used up.
	ErrCounterExhausted = errors.New("ccm: LL packet counter exhausted (39 bits)")
	// ErrPDU: the data PDU given to Seal or Open is malformed.
	ErrPDU = errors.New("ccm: malformed data PDU")
)

// SKD assembles SKD = SKDp || SKDc (MSB first) from the octets of LL_ENC_REQ
// (SKDc) and LL_ENC_RSP (SKDp), which are least significant octet first.
func SKD(skdc, skdp [8]byte) [16]byte {
	var skd [16]byte
	for i := range 8 {
		skd[15-i] = skdc[i]
		skd[7-i] = skdp[i]
	}
	return skd
}

// IV assembles IV = IVp || IVc (MSB first) from the octets of LL_ENC_REQ
// (IVc) and LL_ENC_RSP (IVp), which are least significant octet first.
func IV(ivc, ivp [4]byte) [8]byte {
	var iv [8]byte
	for i := range 4 {
		iv[7-i] = ivc[i]
		iv[3-i] = ivp[i]
	}
	return iv
}

// FromLL returns NewSession's arguments from the values as HCI and the
// link layer carry them (least significant octet first): the LTK of LE
// Enable Encryption or LE Long Term Key Request Reply, SKDc and IVc of
// LL_ENC_REQ, SKDp and IVp of LL_ENC_RSP.
func FromLL(ltk [16]byte, skdc, skdp [8]byte, ivc, ivp [4]byte) (ltkMSB, skd [16]byte, iv [8]byte) {
	for i := range 16 {
		ltkMSB[15-i] = ltk[i]
	}
	return ltkMSB, SKD(skdc, skdp), IV(ivc, ivp)
}

// SessionKey returns SK = e(LTK, SKD) (Vol 6 Part B §5.1.3.1), all MSB
// first.
func SessionKey(ltk, skd [16]byte) [16]byte {
	b, _ := aes.NewCipher(ltk[:]) // a 16-byte key cannot fail
	var sk [16]byte
	b.Encrypt(sk[:], skd[:])
	return sk
}

// Nonce returns the 13-octet CCM nonce of a PDU (Vol 6 Part E §2.1):
// counter and direction bit, then the IV (given MSB first) least
// significant octet first.
func Nonce(counter uint64, dir Direction, iv [8]byte) [NonceSize]byte {
	var n [NonceSize]byte
	binary.LittleEndian.PutUint32(n[0:], uint32(counter))
	n[4] = byte(counter>>32)&0x7F | byte(dir&1)<<7
	for i := range 8 {
		n[5+i] = iv[7-i]
	}
	return n
}

// AAD returns the additional authenticated data of a PDU whose first
// header octet is hdr.
func AAD(hdr byte) byte { return hdr & AADMask }

// Session is the encryption state of one connection on one side: the
// session key, the IV and one packet counter per direction. The side that
// sends in a direction seals with it, the other side opens; each call
// advances that direction's counter, so Seal must see every new PDU once
// (never a retransmission) and Open every new PDU received (never a
// duplicate). Empty PDUs are neither sealed nor opened (Vol 6 Part B
// §5.1.3.1: a zero-length payload is sent unencrypted).
type Session struct {
	sk      [16]byte
	iv      [8]byte
	aead    cipher.AEAD
	counter [2]uint64 // by Direction
}

// NewSession derives SK = e(LTK, SKD) and returns a session with both
// packet counters at zero. ltk, skd and iv are MSB first (see FromLL for
// the HCI and air forms).
func NewSession(ltk, skd [16]byte, iv [8]byte) (*Session, error) {
	sk := SessionKey(ltk, skd)
	b, err := aes.NewCipher(sk[:])
	if err != nil {
		return nil, err
	}
	a, err := New(b, MICLen)
	if err != nil {
		return nil, err
	}
	return &Session{sk: sk, iv: iv, aead: a}, nil
}

// SessionKey returns SK (MSB first).
func (s *Session) SessionKey() [16]byte { return s.sk }

// IV returns the IV (MSB first).
func (s *Session) IV() [8]byte { return s.iv }

// Counter returns the packet counter the next PDU in dir will use.
func (s *Session) Counter(dir Direction) uint64 { return s.counter[dir&1] }

// SetCounter sets the packet counter of dir (tests, and a lower tester that
// replays traffic).
func (s *Session) SetCounter(dir Direction, c uint64) { s.counter[dir&1] = c & MaxCounter }

// SealPayload encrypts payload (non-empty) of a PDU with first header octet
// hdr sent in dir and returns ciphertext || MIC, using and advancing dir's
// counter.
func (s *Session) SealPayload(dir Direction, hdr byte, payload []byte) ([]byte, error) {
	c := s.counter[dir&1]
	if c > MaxCounter {
		return nil, ErrCounterExhausted
	}
	n := Nonce(c, dir, s.iv)
	out := s.aead.Seal(make([]byte, 0, len(payload)+MICLen), n[:], payload, []byte{AAD(hdr)})
	s.counter[dir&1] = c + 1
	return out, nil
}

// OpenPayload checks and decrypts ciphertext || MIC of a PDU with first
// header octet hdr received in dir and returns the plaintext. The counter
// of dir advances only when the MIC is valid; otherwise the error is
// ErrOpen (what the link layer reports as a MIC failure).
func (s *Session) OpenPayload(dir Direction, hdr byte, sealed []byte) ([]byte, error) {
	c := s.counter[dir&1]
	if c > MaxCounter {
		return nil, ErrCounterExhausted
	}
	if len(sealed) <= MICLen {
		// An encrypted PDU carries at least one octet and the MIC: a
		// shorter one cannot be authentic.
		return nil, ErrOpen
	}
	n := Nonce(c, dir, s.iv)
	out, err := s.aead.Open(nil, n[:], sealed, []byte{AAD(hdr)})
	if err != nil {
		return nil, err
	}
	s.counter[dir&1] = c + 1
	return out, nil
}

// dataHeaderLen returns the length of the data PDU header of p (2, or 3
// with CTEInfo) after checking the Length field.
func dataHeaderLen(p []byte) (int, error) {
	if len(p) < 2 {
		return 0, fmt.Errorf("%w: %d octets, a header needs 2", ErrPDU, len(p))
	}
	hl := 2
	if p[0]&0x20 != 0 { // CP: a CTEInfo octet follows (not encrypted)
		hl = 3
	}
	if len(p) < hl || int(p[1]) != len(p)-hl {
		return 0, fmt.Errorf("%w: Length field %d, %d octets after the header", ErrPDU, p[1], len(p)-hl)
	}
	return hl, nil
}

// Seal encrypts a whole data PDU (header, payload) sent in dir: it returns
// the PDU as it goes on air, Length increased by the MIC, payload
// encrypted, MIC appended. An empty PDU is returned unchanged (it is never
// encrypted) and does not use a counter value.
func (s *Session) Seal(dir Direction, p []byte) ([]byte, error) {
	hl, err := dataHeaderLen(p)
	if err != nil {
		return nil, err
	}
	if len(p) == hl {
		return append([]byte(nil), p...), nil
	}
	if len(p)-hl+MICLen > 255 {
		return nil, fmt.Errorf("%w: payload of %d octets leaves no room for the MIC", ErrPDU, len(p)-hl)
	}
	ct, err := s.SealPayload(dir, p[0], p[hl:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, hl+len(ct))
	out = append(out, p[:hl]...)
	out[1] = byte(len(ct))
	return append(out, ct...), nil
}

// Open decrypts a whole data PDU as received in dir: it returns the PDU
// with the plaintext payload and Length without the MIC. An empty PDU is
// returned unchanged. A MIC mismatch is ErrOpen.
func (s *Session) Open(dir Direction, p []byte) ([]byte, error) {
	hl, err := dataHeaderLen(p)
	if err != nil {
		return nil, err
	}
	if len(p) == hl {
		return append([]byte(nil), p...), nil
	}
	pt, err := s.OpenPayload(dir, p[0], p[hl:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, hl+len(pt))
	out = append(out, p[:hl]...)
	out[1] = byte(len(pt))
	return append(out, pt...), nil
}
