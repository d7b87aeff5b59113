package smp

import (
	"fmt"
	"slices"

	"go.uber.org/zap"

	"blesim/hosts/crypto/smpcrypto"
	"blesim/vhci/hci"
)

// Phase 3, transport specific key distribution (Vol 3 Part H §2.4.3,
// §3.6): on the encrypted link the responder sends its keys, then the
// initiator, each strictly as the Pairing Response negotiated and in the
// order of §3.6.1: Encryption Information, Central Identification,
// Identity Information, Identity Address Information, Signing
// Information. In LE Secure Connections the EncKey bit is ignored (the LTK
// comes from f5).

// distCodes lists the commands that carry the keys of d, in order.
func distCodes(d KeyDist) []Code {
	var c []Code
	if d&DistEncKey != 0 {
		c = append(c, CodeEncryptionInformation, CodeCentralIdentification)
	}
	if d&DistIdKey != 0 {
		c = append(c, CodeIdentityInformation, CodeIdentityAddressInformation)
	}
	if d&DistSignKey != 0 {
		c = append(c, CodeSigningInformation)
	}
	return c
}

// distBit is the key distribution bit a command belongs to.
func distBit(c Code) KeyDist {
	switch c {
	case CodeEncryptionInformation, CodeCentralIdentification:
		return DistEncKey
	case CodeIdentityInformation, CodeIdentityAddressInformation:
		return DistIdKey
	}
	return DistSignKey
}

// keyDistStart begins phase 3 once the link is encrypted.
func (s *session) keyDistStart() {
	p := s.p
	mask := DistAll
	if p.sc {
		mask &^= DistEncKey
	}
	if s.central {
		p.ours, p.theirs = p.rsp.InitKeyDist&mask, p.rsp.RespKeyDist&mask
	} else {
		p.ours, p.theirs = p.rsp.RespKeyDist&mask, p.rsp.InitKeyDist&mask
	}
	p.ours = s.distributedKeys(p.ours)
	p.expect = distCodes(p.theirs)
	s.st = stKeyDist
	s.resetTimer()
	if !s.central {
		s.sendKeys()
	}
	s.keyDistNext()
}

// keyDistNext finishes phase 3 when the peer's keys are all in: the
// initiator sends its own, then the pairing completes.
func (s *session) keyDistNext() {
	p := s.p
	if p == nil || len(p.expect) > 0 {
		return
	}
	if !p.sent {
		s.sendKeys()
	}
	s.complete()
}

// sendKeys distributes this device's keys as negotiated.
func (s *session) sendKeys() {
	p, m := s.p, s.m
	p.sent = true
	loc := &p.keys.Local
	if p.ours&DistEncKey != 0 {
		// A fresh random LTK reduced to the key size (wire order: the
		// significant octets come first), EDIV and Rand (§2.4.2.3).
		ltk, ediv, rand := s.encKeyMaterial()
		loc.LTK, loc.EDIV, loc.Rand = &ltk, ediv, rand
		s.send(EncryptionInformation{LTK: ltk})
		s.send(CentralIdentification{EDIV: loc.EDIV, Rand: loc.Rand})
	}
	if p.ours&DistIdKey != 0 {
		irk := m.IRK()
		id := m.Identity()
		loc.IRK = &irk
		s.send(IdentityInformation{IRK: irk})
		s.send(IdentityAddressInformation{AddrType: id.Type, Addr: id.Addr})
	}
	if p.ours&DistSignKey != 0 {
		csrk := Key(m.random16())
		loc.CSRK = &csrk
		s.send(SigningInformation{CSRK: csrk})
	}
}

// checkKey reports key material that is not random (§2.4.2) and returns
// whether it is.
func (s *session) checkKey(pdu PDU, raw []byte) bool {
	var what string
	var v []byte
	switch k := pdu.(type) {
	case EncryptionInformation:
		what, v = "LTK", k.LTK[:]
		if s.p != nil && s.p.keySize < 16 {
			v = v[:s.p.keySize]
		}
	case CentralIdentification:
		what, v = "Rand", raw[3:]
	case IdentityInformation:
		what, v = "IRK", k.IRK[:]
	case SigningInformation:
		what, v = "CSRK", k.CSRK[:]
	default:
		return true
	}
	if why := NonRandom(v); why != "" {
		s.finding(FindingNonRandomKey, fmt.Sprintf("%s in %s is %s", what, pdu.Code(), why), raw)
		return false
	}
	return true
}

// onKey takes one key distribution command.
func (s *session) onKey(pdu PDU, raw []byte) {
	p := s.p
	code := pdu.Code()
	if p == nil {
		s.log.Info("key distribution command outside a pairing; dropped", zap.Stringer("code", code))
		return
	}
	random := s.checkKey(pdu, raw)
	if s.st != stKeyDist {
		s.unexpected(pdu, raw)
		return
	}
	negotiated := slices.Contains(p.expect, code)
	switch {
	case negotiated && p.expect[0] != code:
		s.finding(FindingUnexpectedPDU, fmt.Sprintf("%s out of order (expected %s, §3.6.1)", code, p.expect[0]), raw)
		s.fail(ReasonUnspecified, "key distribution out of order")
		return
	case !negotiated:
		msg := fmt.Sprintf("%s received but the peer's negotiated key distribution is %s", code, p.theirs)
		if p.theirs&distBit(code) != 0 {
			msg = fmt.Sprintf("%s received twice", code)
		}
		s.finding(FindingKeyNotNegotiated, msg, raw)
		if s.m.cfg.Strict {
			s.fail(ReasonUnspecified, "key distributed that was not negotiated")
			return
		}
		s.log.Warn("key that was not negotiated ignored", zap.Stringer("code", code))
		return
	}
	if !random && s.m.cfg.Strict {
		s.fail(ReasonUnspecified, "non-random key material")
		return
	}
	p.expect = p.expect[1:]
	k := &p.keys
	switch v := pdu.(type) {
	case EncryptionInformation:
		ltk := v.LTK
		k.LTK = &ltk
	case CentralIdentification:
		k.EDIV, k.Rand = v.EDIV, v.Rand
	case IdentityInformation:
		irk := v.IRK
		k.PeerIRK = &irk
	case IdentityAddressInformation:
		a := Address{Type: v.AddrType, Addr: v.Addr}
		switch {
		case v.AddrType > hci.AddrRandom:
			s.finding(FindingInvalidIdentityAddress, fmt.Sprintf("identity address type 0x%02x", uint8(v.AddrType)), raw)
		case v.AddrType == hci.AddrRandom && !v.Addr.IsStaticRandom():
			s.finding(FindingInvalidIdentityAddress, "random identity address "+v.Addr.String()+" is not static", raw)
		default:
			p.identity = &a
		}
	case SigningInformation:
		csrk := v.CSRK
		k.PeerCSRK = &csrk
	}
	s.keyDistNext()
}

// complete ends a successful pairing: the bond is stored when both
// devices asked for bonding, the link's security is recorded, and
// PairingComplete is reported.
func (s *session) complete() {
	p, m := s.p, s.m
	b := p.keys
	b.Peer = s.peer
	if p.identity != nil {
		b.Peer = p.identity.norm()
	} else if s.identity != s.peer {
		b.Peer = s.identity
	}
	b.KeySize, b.Authenticated, b.SC, b.Connections = p.keySize, p.method.Authenticated(), p.sc, 1
	if p.sc {
		ltk := Key(smpcrypto.Rev16(p.key))
		b.LTK, b.EDIV, b.Rand = &ltk, 0, 0
	}
	bonded := p.req.AuthReq.Bonding() && p.rsp.AuthReq.Bonding()
	received := p.theirs
	s.end()
	if old := s.identity; bonded && old != b.Peer {
		if _, ok := m.store.Get(old); ok {
			if err := m.store.Delete(old); err == nil {
				m.emit(BondDeleted{Peer: old, Reason: "re-pairing"})
			}
		}
	}
	s.identity = b.Peer
	delete(m.attempts, b.Peer)
	if bonded {
		if err := m.store.Put(b); err != nil {
			m.log.Error("saving bond failed", zap.Error(err))
		}
		s.conn.HasLTK = b.hasKey()
	}
	s.log.Info("pairing complete", zap.Stringer("peer", b.Peer), zap.Stringer("method", p.method), zap.Bool("sc", p.sc),
		zap.Int("key_size", p.keySize), zap.Bool("bonded", bonded), zap.Stringer("sent", p.ours), zap.Stringer("received", received))
	m.emit(PairingComplete{Handle: s.conn.Handle, Peer: b.Peer, Method: p.method, SC: p.sc,
		Authenticated: b.Authenticated, KeySize: p.keySize, Bonded: bonded, Sent: p.ours, Received: received, Keys: b})
	s.finishSecure(nil)
}
