package smp

import (
	"fmt"

	"go.uber.org/zap"
)

// Phase 1, pairing feature exchange (Vol 3 Part H §2.3, §3.5.1, §3.5.2).

// localParams builds this device's pairing command fields.
func (s *session) localParams(set settings) PairingParams {
	cfg := &s.m.cfg
	p := PairingParams{IOCap: set.io, MaxKeySize: uint8(cfg.MaxKeySize)}
	if set.bonding {
		p.AuthReq |= AuthBonding
		if s.central {
			p.InitKeyDist, p.RespKeyDist = cfg.distribute(), cfg.request()
		} else {
			p.InitKeyDist, p.RespKeyDist = cfg.request(), cfg.distribute()
		}
	}
	if set.mitm || cfg.RequestMITM {
		p.AuthReq |= AuthMITM
	}
	if set.sc != LegacyOnly {
		p.AuthReq |= AuthSC
	}
	if cfg.OOB.has(false) || cfg.OOB.has(true) {
		p.OOB = 1
	}
	return p
}

// startPairing sends a Pairing Request (central only).
func (s *session) startPairing(set settings) error {
	switch {
	case s.dead:
		return ErrTimedOut
	case !s.central:
		return ErrWrongRole
	case s.p != nil:
		return ErrBusy
	case s.m.waiting(s.identity):
		return ErrRepeatedAttempts
	}
	p := &pairing{set: set}
	p.req = s.localParams(set)
	req := PairingRequest{p.req}.Marshal()
	copy(p.preq[:], req)
	s.p, s.st = p, stWaitResponse
	s.log.Info("pairing: sending Pairing Request", zap.Stringer("io", set.io), zap.Stringer("auth", p.req.AuthReq),
		zap.Stringer("init_keys", p.req.InitKeyDist), zap.Stringer("resp_keys", p.req.RespKeyDist))
	s.m.emit(PairingStarted{Handle: s.conn.Handle, Peer: s.identity, Initiator: true})
	s.send(PairingRequest{p.req})
	return nil
}

// checkParams reports out-of-range fields of the peer's pairing command as
// findings and returns the Pairing Failed reason they call for (0 when
// the command can be used).
func (s *session) checkParams(p PairingParams, raw []byte, what string) Reason {
	var bad []string
	var r Reason
	if !p.IOCap.Valid() {
		bad = append(bad, fmt.Sprintf("IO capability 0x%02x", uint8(p.IOCap)))
		r = ReasonInvalidParameters
	}
	if p.OOB > 1 {
		bad = append(bad, fmt.Sprintf("OOB data flag 0x%02x", p.OOB))
		r = ReasonInvalidParameters
	}
	if p.MaxKeySize > 16 {
		bad = append(bad, fmt.Sprintf("Maximum Encryption Key Size %d > 16", p.MaxKeySize))
		r = ReasonInvalidParameters
	} else if p.MaxKeySize < 7 {
		bad = append(bad, fmt.Sprintf("Maximum Encryption Key Size %d < 7", p.MaxKeySize))
		if r == 0 {
			r = ReasonEncryptionKeySize
		}
	}
	if b := p.AuthReq & AuthBondingMask; b > 1 {
		bad = append(bad, fmt.Sprintf("reserved Bonding_Flags 0b%02b", uint8(b)))
	}
	if p.AuthReq&AuthReservedMask != 0 {
		bad = append(bad, fmt.Sprintf("reserved AuthReq bits 0x%02x", uint8(p.AuthReq&AuthReservedMask)))
	}
	if d := (p.InitKeyDist | p.RespKeyDist) & DistReservedMask; d != 0 {
		bad = append(bad, fmt.Sprintf("reserved key distribution bits 0x%02x", uint8(d)))
	}
	for _, b := range bad {
		s.finding(FindingValueOutOfRange, what+": "+b, raw)
	}
	return r
}

// onPairingRequest is the responder's side of phase 1.
func (s *session) onPairingRequest(req PairingParams, raw []byte) {
	if s.central {
		s.fail(ReasonCommandNotSupported, "Pairing Request received by the central")
		return
	}
	if s.p != nil {
		s.unexpected(PairingRequest{req}, raw)
		return
	}
	s.secReq.Stop()
	cfg := &s.m.cfg
	p := &pairing{set: s.m.settings(), req: req}
	copy(p.preq[:], raw)
	s.p = p
	s.resetTimer() // §3.4: started on reception of the Pairing Request
	s.m.emit(PairingStarted{Handle: s.conn.Handle, Peer: s.identity})
	s.log.Info("pairing: Pairing Request", zap.Stringer("io", req.IOCap), zap.Stringer("auth", req.AuthReq),
		zap.Uint8("max_key", req.MaxKeySize), zap.Stringer("init_keys", req.InitKeyDist), zap.Stringer("resp_keys", req.RespKeyDist))
	if r := s.checkParams(req, raw, "Pairing Request"); r == ReasonInvalidParameters {
		s.fail(r, "Pairing Request out of range")
		return
	}
	if cfg.NoPairing {
		s.fail(ReasonPairingNotSupported, "pairing disabled")
		return
	}
	if s.m.waiting(s.identity) {
		s.fail(ReasonRepeatedAttempts, "waiting after a failed pairing")
		return
	}
	rsp := s.localParams(p.set)
	rsp.InitKeyDist &= req.InitKeyDist
	rsp.RespKeyDist &= req.RespKeyDist
	p.rsp = rsp
	if !s.negotiate() {
		return
	}
	pres := PairingResponse{rsp}.Marshal()
	copy(p.pres[:], pres)
	s.send(PairingResponse{rsp})
	s.phase2()
}

// onPairingResponse is the initiator's side of phase 1.
func (s *session) onPairingResponse(rsp PairingParams, raw []byte) {
	p := s.p
	p.rsp = rsp
	copy(p.pres[:], raw)
	s.log.Info("pairing: Pairing Response", zap.Stringer("io", rsp.IOCap), zap.Stringer("auth", rsp.AuthReq),
		zap.Uint8("max_key", rsp.MaxKeySize), zap.Stringer("init_keys", rsp.InitKeyDist), zap.Stringer("resp_keys", rsp.RespKeyDist))
	r := s.checkParams(rsp, raw, "Pairing Response")
	if extra := (rsp.InitKeyDist &^ p.req.InitKeyDist) | (rsp.RespKeyDist &^ p.req.RespKeyDist); extra&^DistReservedMask != 0 {
		s.finding(FindingValueOutOfRange, fmt.Sprintf("Pairing Response asks for keys the request did not offer (%s)", extra), raw)
		r = ReasonInvalidParameters
	}
	if r == ReasonInvalidParameters {
		s.fail(r, "Pairing Response out of range")
		return
	}
	if !s.negotiate() {
		return
	}
	s.phase2()
}

// negotiate settles Secure Connections, the key size and the association
// model from the two commands, failing the pairing when they cannot meet
// this device's requirements.
func (s *session) negotiate() bool {
	p, cfg := s.p, &s.m.cfg
	p.sc = p.req.AuthReq&AuthSC != 0 && p.rsp.AuthReq&AuthSC != 0 && p.set.sc != LegacyOnly
	if p.set.sc == SCOnly && !p.sc {
		s.fail(ReasonAuthenticationRequirements, "Secure Connections Only mode and the peer does not support LE Secure Connections")
		return false
	}
	p.keySize = int(min(p.req.MaxKeySize, p.rsp.MaxKeySize))
	if p.keySize < cfg.MinKeySize {
		s.fail(ReasonEncryptionKeySize, fmt.Sprintf("key size %d below the minimum %d", p.keySize, cfg.MinKeySize))
		return false
	}
	p.keySize = min(p.keySize, 16)
	p.method = SelectMethod(p.req, p.rsp, p.sc)
	if cfg.OOBRequired && p.method != OutOfBand {
		s.fail(ReasonOOBNotAvailable, "OOB pairing required and the peer has no OOB data")
		return false
	}
	if p.set.mitm && !p.method.Authenticated() {
		s.fail(ReasonAuthenticationRequirements, "MITM protection required but the IO capabilities only allow Just Works")
		return false
	}
	s.log.Info("pairing: method selected", zap.Stringer("method", p.method), zap.Bool("sc", p.sc), zap.Int("key_size", p.keySize))
	return true
}

// phase2 starts authentication (phase 2) after the feature exchange.
func (s *session) phase2() {
	if s.p.sc {
		s.scStart()
	} else {
		s.legacyStart()
	}
}

// getPasskey obtains the passkey of a Passkey Entry pairing and continues
// with then: this device shows it (Config.Passkey or a random one) or its
// user types it (Passkey Entry Failed when the user cancels).
func (s *session) getPasskey(then func(k uint32)) {
	p := s.p
	if !p.method.inputs(s.central) {
		var k uint32
		if s.m.cfg.Passkey != nil {
			k = *s.m.cfg.Passkey
		} else {
			b := s.m.random(4)
			k = (uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24) % 1000000
		}
		s.m.agent.DisplayPasskey(s.peerInfo(), k)
		then(k)
		return
	}
	reply := func(k uint32, ok bool) {
		if !ok || k > 999999 {
			s.fail(ReasonPasskeyEntryFailed, "passkey entry cancelled")
			return
		}
		then(k)
	}
	if a, ok := s.m.agent.(AsyncAgent); ok {
		s.waitUser(func(done func()) {
			a.RequestPasskeyAsync(s.peerInfo(), func(k uint32, ok bool) { done(); reply(k, ok) })
		})
		return
	}
	reply(s.m.agent.RequestPasskey(s.peerInfo()))
}

// waitUser runs ask, which calls done when the user has answered. Until
// then the pairing holds: the peer's commands wait in p.deferred (the SMP
// timeout still runs).
func (s *session) waitUser(ask func(done func())) {
	p := s.p
	p.userPending = true
	ask(func() {
		if s.p != p || !p.userPending {
			return
		}
		p.userPending = false
		s.m.sched.After(0, func() { s.replay(p) })
	})
}

// replay hands the commands that arrived while the user was asked to the
// state machine, in order.
func (s *session) replay(p *pairing) {
	for s.p == p && !p.userPending && len(p.deferred) > 0 {
		b := p.deferred[0]
		p.deferred = p.deferred[1:]
		s.receive(b)
	}
}
