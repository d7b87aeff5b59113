package smp

import (
	"encoding/binary"

	"blesim/hosts/crypto/smpcrypto"
)

// LE legacy pairing phase 2 (Vol 3 Part H §2.3.5.2–§2.3.5.5): TK from the
// association model, Mconfirm/Sconfirm with c1, Mrand/Srand, STK = s1(TK,
// Srand, Mrand) reduced to the key size.

// legacyStart sets the TK and, on the initiator, sends Mconfirm.
func (s *session) legacyStart() {
	p := s.p
	switch {
	case p.method == OutOfBand:
		p.tk = smpcrypto.Rev16(*s.m.cfg.OOB.TK)
	case p.method.Passkey():
		// A responder that types waits for Mconfirm: by then the
		// initiator shows the passkey.
		if s.central || !p.method.inputs(false) {
			s.st = stLegacyConfirm
			s.getPasskey(func(k uint32) {
				s.setTK(k)
				s.legacySendConfirm()
			})
			return
		}
	default: // Just Works: TK = 0
	}
	s.legacySendConfirm()
}

// legacySendConfirm sends Mconfirm (initiator) and waits for the peer's
// confirm value.
func (s *session) legacySendConfirm() {
	p := s.p
	s.st = stLegacyConfirm
	if s.central {
		p.lrand = s.m.random16()
		s.send(PairingConfirm{smpcrypto.Rev16(s.c1(p.lrand))})
	}
}

// setTK sets TK to the passkey (§2.3.5.3).
func (s *session) setTK(k uint32) {
	s.p.tk = [16]byte{}
	binary.BigEndian.PutUint32(s.p.tk[12:], k)
}

// c1 computes the confirm value of random r for this pairing.
func (s *session) c1(r [16]byte) [16]byte {
	p := s.p
	ia, ra := s.initiatorAddr(), s.responderAddr()
	return smpcrypto.C1(p.tk, r, [7]byte(smpcrypto.Reverse(p.preq[:])), [7]byte(smpcrypto.Reverse(p.pres[:])),
		uint8(ia.Type&1), uint8(ra.Type&1), addr6(ia), addr6(ra))
}

// legacyConfirm takes the peer's confirm value: the initiator answers with
// Mrand, the responder with Sconfirm.
func (s *session) legacyConfirm(v [16]byte) {
	p := s.p
	p.pconfirm = v
	s.st = stLegacyRandom
	if s.central {
		s.send(PairingRandom{smpcrypto.Rev16(p.lrand)})
		return
	}
	send := func() {
		p.lrand = s.m.random16()
		s.send(PairingConfirm{smpcrypto.Rev16(s.c1(p.lrand))})
	}
	if p.method.inputs(false) {
		s.getPasskey(func(k uint32) { s.setTK(k); send() })
		return
	}
	send()
}

// legacyRandom checks the peer's confirm value against its random value
// (Confirm Value Failed when they differ) and derives the STK. The
// responder sends Srand and waits for the LTK Request; the initiator
// starts encryption.
func (s *session) legacyRandom(v [16]byte) {
	p := s.p
	p.prand = v
	if s.c1(v) != p.pconfirm {
		s.fail(ReasonConfirmValueFailed, "the peer's Pairing Confirm does not match its Pairing Random")
		return
	}
	var srand, mrand [16]byte
	if s.central {
		srand, mrand = p.prand, p.lrand
	} else {
		srand, mrand = p.lrand, p.prand
		s.send(PairingRandom{smpcrypto.Rev16(p.lrand)})
	}
	p.key = smpcrypto.MaskKey(smpcrypto.S1(p.tk, srand, mrand), p.keySize)
	p.keyReady = true
	s.st = stEncrypt
	if s.central {
		s.startPairingEncryption()
	}
}
