package smp

import (
	"encoding/binary"

	"blesim/hosts/crypto/smpcrypto"
)

// LE Secure Connections phase 2 (Vol 3 Part H §2.3.5.6): public key
// exchange, authentication stage 1 (Just Works / Numeric Comparison,
// Passkey Entry in 20 rounds, OOB) and stage 2 (f5 keys, f6 DHKey checks).

// scStart prepares the key pair and the OOB r values; the initiator sends
// its public key.
func (s *session) scStart() {
	p, m := s.p, s.m
	var localR [16]byte
	if oob := m.oob; oob != nil {
		// The key pair and r of LocalSCOOB serve one pairing.
		p.kp, localR = oob.kp, oob.r
		m.oob = nil
	} else if oob := m.fixedOOB; oob != nil && p.method == OutOfBand {
		// Fixed OOB data (an NFC tag): the same key pair every time.
		p.kp, localR = oob.kp, oob.r
	} else {
		kp, err := m.newKeyPair()
		if err != nil {
			s.fail(ReasonUnspecified, err.Error())
			return
		}
		p.kp = kp
	}
	if p.method == OutOfBand {
		// §2.3.5.6.4: our r counts only when the peer has our OOB data;
		// the peer's r is zero when we have none of its.
		peerFlag := p.req.OOB
		if s.central {
			peerFlag = p.rsp.OOB
		}
		if peerFlag&1 == 0 {
			localR = [16]byte{}
		}
		var peerR [16]byte
		if o := m.cfg.OOB; o.has(true) {
			peerR = smpcrypto.Rev16(*o.PeerR)
		}
		if s.central {
			p.ra, p.rb = localR, peerR
		} else {
			p.ra, p.rb = peerR, localR
		}
	}
	s.st = stSCPublicKey
	if s.central {
		p.pka = p.kp.Public
		s.sendPublicKey()
	} else {
		p.pkb = p.kp.Public
	}
}

func (s *session) sendPublicKey() {
	pk := s.p.kp.Public
	s.send(PairingPublicKey{X: smpcrypto.Rev32(pk.X), Y: smpcrypto.Rev32(pk.Y)})
}

// scPublicKey validates the peer's public key, computes the DHKey and
// starts authentication stage 1.
func (s *session) scPublicKey(k PairingPublicKey, raw []byte) {
	p, m := s.p, s.m
	peer := smpcrypto.PublicKey{X: smpcrypto.Rev32(k.X), Y: smpcrypto.Rev32(k.Y)}
	if !peer.Valid() {
		s.finding(FindingInvalidPublicKey, "Pairing Public Key is not a point on P-256", raw)
		s.fail(ReasonDHKeyCheckFailed, "invalid public key")
		return
	}
	if peer == p.kp.Public && !m.cfg.DebugKeys {
		s.finding(FindingInvalidPublicKey, "Pairing Public Key is our own public key reflected back", raw)
		s.fail(ReasonDHKeyCheckFailed, "reflected public key")
		return
	}
	if peer == smpcrypto.DebugPublicKey {
		s.finding(FindingDebugKey, "the peer uses the LE Secure Connections debug public key (§2.3.5.6.1)", raw)
	} else if m.peerKeys[peer.X] {
		s.finding(FindingPublicKeyReused, "the peer reused a public key from an earlier pairing", raw)
	}
	m.peerKeys[peer.X] = true
	dh, err := p.kp.DHKey(peer)
	if err != nil {
		s.fail(ReasonDHKeyCheckFailed, err.Error())
		return
	}
	p.dhkey = dh
	if s.central {
		p.pkb = peer
	} else {
		p.pka = peer
		s.sendPublicKey()
	}
	switch {
	case p.method == JustWorks || p.method == NumericComparison:
		s.st = stSCConfirm
		if !s.central {
			p.nb = m.random16()
			s.st = stSCRandom
			s.send(PairingConfirm{smpcrypto.Rev16(smpcrypto.F4(p.pkb.X, p.pka.X, p.nb, 0))})
		}
	case p.method.Passkey():
		s.st = stSCConfirm
		// A responder that types waits for Ca0: by then the initiator
		// shows the passkey.
		if s.central || !p.method.inputs(false) {
			s.getPasskey(func(k uint32) {
				s.setSCPasskey(k)
				if s.central {
					s.scPasskeyRound()
				}
			})
		}
	default: // OutOfBand
		// Check the peer's OOB confirm value when we have its OOB data.
		if o := m.cfg.OOB; o.has(true) {
			peerPK, peerR := p.pkb, p.rb
			if !s.central {
				peerPK, peerR = p.pka, p.ra
			}
			if smpcrypto.F4(peerPK.X, peerPK.X, peerR, 0) != smpcrypto.Rev16(*o.PeerC) {
				s.fail(ReasonConfirmValueFailed, "the peer's OOB confirm value does not match its public key and r")
				return
			}
		}
		s.st = stSCRandom
		if s.central {
			p.na = m.random16()
			s.send(PairingRandom{smpcrypto.Rev16(p.na)})
		}
	}
}

// setSCPasskey records the passkey; ra = rb = passkey (§2.3.5.6.3).
func (s *session) setSCPasskey(k uint32) {
	p := s.p
	p.passkey, p.havePasskey = k, true
	p.ra = [16]byte{}
	binary.BigEndian.PutUint32(p.ra[12:], k)
	p.rb = p.ra
}

// passkeyBit is r_ai = r_bi of Passkey Entry round i: 0x80 | bit i.
func (p *pairing) passkeyBit() uint8 { return 0x80 | uint8(p.passkey>>p.round&1) }

// scPasskeyRound sends the initiator's Cai of the current round.
func (s *session) scPasskeyRound() {
	p := s.p
	p.na = s.m.random16()
	s.send(PairingConfirm{smpcrypto.Rev16(smpcrypto.F4(p.pka.X, p.pkb.X, p.na, p.passkeyBit()))})
}

// scConfirm takes a Pairing Confirm: Cb (Just Works / Numeric Comparison,
// initiator) or Cai / Cbi (Passkey Entry).
func (s *session) scConfirm(v [16]byte, raw []byte) {
	p := s.p
	switch {
	case s.central && (p.method == JustWorks || p.method == NumericComparison || p.method.Passkey()):
		p.pconfirm = v
		if !p.method.Passkey() {
			p.na = s.m.random16()
		}
		s.st = stSCRandom
		s.send(PairingRandom{smpcrypto.Rev16(p.na)})
	case !s.central && p.method.Passkey():
		if !p.havePasskey {
			s.getPasskey(func(k uint32) {
				s.setSCPasskey(k)
				s.scConfirm(v, raw)
			})
			return
		}
		p.pconfirm = v
		p.nb = s.m.random16()
		s.st = stSCRandom
		s.send(PairingConfirm{smpcrypto.Rev16(smpcrypto.F4(p.pkb.X, p.pka.X, p.nb, p.passkeyBit()))})
	default:
		s.unexpected(PairingConfirm{smpcrypto.Rev16(v)}, raw)
	}
}

// scRandom takes the peer's nonce and checks its confirm value.
func (s *session) scRandom(v [16]byte) {
	p, m := s.p, s.m
	if s.central {
		p.nb = v
		switch {
		case p.method == JustWorks || p.method == NumericComparison:
			if smpcrypto.F4(p.pkb.X, p.pka.X, p.nb, 0) != p.pconfirm {
				s.fail(ReasonConfirmValueFailed, "Cb does not match Nb")
				return
			}
			if p.method == NumericComparison {
				s.compare(s.scSendCheck)
				return
			}
		case p.method.Passkey():
			if smpcrypto.F4(p.pkb.X, p.pka.X, p.nb, p.passkeyBit()) != p.pconfirm {
				s.fail(ReasonConfirmValueFailed, "Cbi does not match Nbi (wrong passkey)")
				return
			}
			s.probeRound(true, 0) // probe.go
			p.round++
			if p.round < 20 {
				s.st = stSCConfirm
				s.scPasskeyRound()
				return
			}
		}
		s.scSendCheck()
		return
	}
	p.na = v
	switch {
	case p.method == JustWorks || p.method == NumericComparison:
		s.send(PairingRandom{smpcrypto.Rev16(p.nb)})
		s.st = stSCDHKeyCheck
		if p.method == NumericComparison {
			s.compare(func() {})
		}
	case p.method.Passkey():
		if smpcrypto.F4(p.pka.X, p.pkb.X, p.na, p.passkeyBit()) != p.pconfirm {
			s.fail(ReasonConfirmValueFailed, "Cai does not match Nai (wrong passkey)")
			return
		}
		s.send(PairingRandom{smpcrypto.Rev16(p.nb)})
		p.round++
		s.st = stSCConfirm
		if p.round == 20 {
			s.st = stSCDHKeyCheck
		}
	default: // OutOfBand
		p.nb = m.random16()
		s.send(PairingRandom{smpcrypto.Rev16(p.nb)})
		s.st = stSCDHKeyCheck
	}
}

// compare shows the Numeric Comparison value g2(PKax, PKbx, Na, Nb) mod
// 10^6 and continues with then, or fails the pairing when the user says
// no.
func (s *session) compare(then func()) {
	p := s.p
	n := smpcrypto.G2(p.pka.X, p.pkb.X, p.na, p.nb) % 1000000
	reply := func(ok bool) {
		if !ok {
			s.fail(ReasonNumericComparisonFailed, "the user rejected the number")
			return
		}
		then()
	}
	if a, ok := s.m.agent.(AsyncAgent); ok {
		s.waitUser(func(done func()) {
			a.ConfirmNumberAsync(s.peerInfo(), n, func(ok bool) { done(); reply(ok) })
		})
		return
	}
	reply(s.m.agent.ConfirmNumber(s.peerInfo(), n))
}

// iocap is the IOcap of a pairing command for f6: AuthReq, OOB flag, IO
// capability.
func iocap(pp PairingParams) [3]byte { return [3]byte{byte(pp.AuthReq), pp.OOB, byte(pp.IOCap)} }

// scKeys computes MacKey and the LTK with f5.
func (s *session) scKeys() {
	p := s.p
	p.macKey, p.ltk = smpcrypto.F5(p.dhkey, p.na, p.nb, addr7(s.initiatorAddr()), addr7(s.responderAddr()))
}

func (s *session) ea() [16]byte {
	p := s.p
	return smpcrypto.F6(p.macKey, p.na, p.nb, p.rb, iocap(p.req), addr7(s.initiatorAddr()), addr7(s.responderAddr()))
}

func (s *session) eb() [16]byte {
	p := s.p
	return smpcrypto.F6(p.macKey, p.nb, p.na, p.ra, iocap(p.rsp), addr7(s.responderAddr()), addr7(s.initiatorAddr()))
}

// scSendCheck is the initiator's stage 2: LTK and Ea.
func (s *session) scSendCheck() {
	s.scKeys()
	s.st = stSCDHKeyCheck
	s.send(PairingDHKeyCheck{smpcrypto.Rev16(s.ea())})
}

// scDHKeyCheck checks the peer's DHKey Check value (DHKey Check Failed
// when it differs); the responder answers with Eb, the initiator starts
// encryption with the LTK.
func (s *session) scDHKeyCheck(v [16]byte) {
	p := s.p
	if s.central {
		if v != s.eb() {
			s.fail(ReasonDHKeyCheckFailed, "Eb does not match")
			return
		}
	} else {
		s.scKeys()
		if v != s.ea() {
			s.fail(ReasonDHKeyCheckFailed, "Ea does not match")
			return
		}
		s.send(PairingDHKeyCheck{smpcrypto.Rev16(s.eb())})
	}
	p.key = smpcrypto.MaskKey(p.ltk, p.keySize)
	p.keyReady = true
	s.st = stEncrypt
	if s.central {
		s.startPairingEncryption()
	}
}
