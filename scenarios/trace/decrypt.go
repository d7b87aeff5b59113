package trace

import (
	"bytes"

	"blesim/linklayer"
	"blesim/linklayer/ccm"
	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
)

// Decryptor turns the encrypted data PDUs on the air back into clear text
// with the session keys the controllers actually derived, as a sniffer
// that knows the LTK would (Core v5.4 Vol 6 Part E §1, §2): it is what the
// decrypted teaching copy of the air (air-decrypted.pcap) is made of.
//
// Feed it the keys with AddKeys (the signature fits
// linklayer.Controller.SetSessionObserver) and each transmission with
// Decrypt, in air order, on the simulation goroutine.
//
// Each direction of a link is opened with the sender's keys and its own
// copy of the packet counter, which advances on every new non-empty PDU
// the sender seals (Vol 6 Part E §2.1). A retransmission (the same SN and
// payload again) reuses the plaintext of the first copy. A PDU that does
// not open with the next counter is one the sender did not encrypt
// (LL_START_ENC_REQ, the clear half of a pause) and is written as it was.
// When the receiver derived different keys (a wrong LTK), the PDU is still
// shown in clear but marked "MIC checked, invalid": that is what the
// receiver saw.
type Decryptor struct {
	links map[uint32]*decLink
	ports map[*radio.Port]ccm.Direction // a port's transmit direction
}

// decLink is one connection: per direction (ccm.Direction), the sender's
// session, the receiver's session key, and the last PDU opened.
type decLink struct {
	sess   [2]*ccm.Session
	sk     [2][16]byte // SK of the side whose transmit direction this is
	haveSK [2]bool
	last   [2]lastPDU
}

type lastPDU struct {
	valid  bool
	hdr    byte // first header octet with NESN and MD masked: LLID, SN, CP
	sealed []byte
	clear  []byte // the payload in clear
}

// Decryption outcomes.
const (
	// Clear: the packet was not encrypted (advertising, empty PDUs,
	// anything before encryption starts); written as it was.
	Clear = iota
	// Decrypted: opened with the sender's keys, and the receiver's keys
	// are the same (its MIC check passes).
	Decrypted
	// DecryptedMICFailure: opened with the sender's keys, but the
	// receiver derived other keys: it sees a MIC failure.
	DecryptedMICFailure
)

// NewDecryptor returns a Decryptor that knows no keys yet.
func NewDecryptor() *Decryptor {
	return &Decryptor{links: map[uint32]*decLink{}, ports: map[*radio.Port]ccm.Direction{}}
}

// AddKeys records the keys one side of a connection put into use.
func (d *Decryptor) AddKeys(k linklayer.SessionKeys) {
	s, err := ccm.NewSession(k.LTK, k.SKD, k.IV)
	if err != nil {
		return // cannot happen with 16-byte keys
	}
	l := d.links[k.AccessAddress]
	if l == nil {
		l = &decLink{}
		d.links[k.AccessAddress] = l
	}
	dir := k.TxDir & 1
	l.sess[dir] = s
	l.sk[dir], l.haveSK[dir] = s.SessionKey(), true
	if k.Port != nil {
		d.ports[k.Port] = dir
	}
}

// Decrypt returns the packet as the decrypted copy shows it and what
// happened to it. The returned packet shares nothing with pk's PDU when it
// was decrypted; otherwise it is pk itself.
func (d *Decryptor) Decrypt(pk radio.Packet, from *radio.Port) (radio.Packet, int) {
	if pk.Channel.IsAdvertising() || pk.AccessAddress == pdu.AdvertisingAccessAddress {
		return pk, Clear
	}
	l := d.links[pk.AccessAddress]
	if l == nil {
		return pk, Clear
	}
	b := pk.PDU
	hl := 2
	if len(b) >= 1 && b[0]&0x20 != 0 { // CP: a CTEInfo octet, never encrypted
		hl = 3
	}
	if len(b) < hl || int(b[1]) != len(b)-hl || len(b) == hl {
		return pk, Clear // malformed or empty: never encrypted
	}
	dir, known := d.ports[from]
	if !known {
		// A sender we have no keys from: try both directions (the nonce's
		// direction bit lets only the right one open).
		for _, dd := range []ccm.Direction{ccm.CentralToPeripheral, ccm.PeripheralToCentral} {
			if out, st := l.open(dd, pk, hl); st != Clear {
				return out, st
			}
		}
		return pk, Clear
	}
	return l.open(dir, pk, hl)
}

// open decrypts pk's payload (after hl header octets) sent in dir.
func (l *decLink) open(dir ccm.Direction, pk radio.Packet, hl int) (radio.Packet, int) {
	s := l.sess[dir]
	if s == nil {
		return pk, Clear
	}
	b := pk.PDU
	key := b[0] &^ 0x14 // NESN (bit 2) and MD (bit 4) change on retransmission
	payload := b[hl:]
	last := &l.last[dir]
	var plain []byte
	switch {
	case last.valid && last.hdr == key && bytes.Equal(last.sealed, payload):
		plain = last.clear
	default:
		p, err := s.OpenPayload(dir, b[0], payload)
		if err != nil {
			return pk, Clear
		}
		plain = p
		*last = lastPDU{valid: true, hdr: key, sealed: append([]byte(nil), payload...), clear: p}
	}
	out := make([]byte, 0, hl+len(plain))
	out = append(out, b[:hl]...)
	out[1] = byte(len(plain))
	out = append(out, plain...)
	pk.PDU = out
	st := Decrypted
	if rx := dir ^ 1; l.haveSK[rx] && l.sk[rx] != l.sk[dir] {
		st = DecryptedMICFailure
	}
	return pk, st
}
