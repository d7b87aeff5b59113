package smp

import (
	"fmt"

	"go.uber.org/zap"

	"blesim/hosts/crypto/smpcrypto"
	"blesim/vhci/hci"
)

// Starting encryption (Vol 3 Part H §2.4.4, Vol 4 Part E §7.8.24–26):
// the central sends LE Enable Encryption with the STK/LTK (EDIV = Rand =
// 0 after a pairing, the bond's values on reconnection); the peripheral
// answers the controller's LTK Request from the pairing or its bonds, or
// with a negative reply when it has no key.

// startPairingEncryption encrypts the link with the pairing's STK or LTK.
func (s *session) startPairingEncryption() {
	p := s.p
	p.encStarted = true
	key := smpcrypto.Rev16(p.key)
	handle := s.conn.Handle
	s.m.host.StartEncryption(handle, 0, 0, key, func(_ []byte, err error) {
		if err != nil && s.p == p {
			s.log.Error("LE Enable Encryption failed", zap.Error(err))
			s.encryptionFailed(err)
		}
	})
}

func (s *session) encryptionFailed(err error) {
	s.send(PairingFailedPDU{Reason: ReasonUnspecified})
	s.end()
	s.m.emit(PairingFailed{Handle: s.conn.Handle, Peer: s.identity, Reason: ReasonUnspecified, Err: err})
	s.finishSecure(err)
}

// ltkRequest answers the controller's LE Long Term Key Request on a
// peripheral's connection.
func (s *session) ltkRequest(ediv uint16, rand uint64) {
	s.secReq.Stop()
	handle := s.conn.Handle
	logErr := func(what string) func([]byte, error) {
		return func(_ []byte, err error) {
			if err != nil {
				s.log.Error(what+" failed", zap.Error(err))
			}
		}
	}
	if p := s.p; p != nil && s.st == stEncrypt && p.keyReady && ediv == 0 && rand == 0 {
		s.log.Info("LTK Request: answering with the pairing's key", zap.Bool("sc", p.sc))
		s.m.host.LTKReply(handle, smpcrypto.Rev16(p.key), logErr("LTK Request Reply"))
		return
	}
	if b, ok := s.m.store.Lookup(s.identity); ok {
		if k, ok := b.PeripheralKey(ediv, rand); ok {
			s.log.Info("LTK Request: answering with the bond's key", zap.Stringer("peer", b.Peer))
			s.encBond = &b
			s.m.host.LTKReply(handle, k, logErr("LTK Request Reply"))
			return
		}
	}
	s.log.Warn("LTK Request: no key for this peer; negative reply (the central sees PIN or Key Missing)",
		zap.Stringer("peer", s.identity), zap.Uint16("ediv", ediv), zap.Uint64("rand", rand))
	s.m.host.LTKNegativeReply(handle, logErr("LTK Request Negative Reply"))
	s.m.emit(EncryptionChanged{Handle: handle, Peer: s.identity, Status: hci.StatusPINOrKeyMissing, FromBond: true})
}

// encryptionChanged handles Encryption Change and Encryption Key Refresh
// Complete.
func (s *session) encryptionChanged(st hci.Status, on, refresh bool) {
	ev := EncryptionChanged{Handle: s.conn.Handle, Peer: s.identity, Status: st, Enabled: on && st == hci.StatusSuccess, Refresh: refresh}
	if p := s.p; p != nil && s.st == stEncrypt && (p.encStarted || !s.central) && s.encBond == nil {
		if st != hci.StatusSuccess || !on {
			s.m.emit(ev)
			s.log.Warn("encryption with the pairing's key failed", zap.Stringer("status", st))
			s.encryptionFailed(fmt.Errorf("smp: encryption failed: %w", st.Err()))
			return
		}
		s.conn.KeySize, s.conn.Authenticated = p.keySize, p.method.Authenticated()
		ev.KeySize, ev.Authenticated = p.keySize, p.method.Authenticated()
		s.m.emit(ev)
		s.keyDistStart()
		return
	}
	b := s.encBond
	s.encBond = nil
	if b == nil {
		// Not ours (e.g. a central that is not this Manager's user).
		if ev.Enabled {
			ev.KeySize, ev.Authenticated = s.conn.KeySize, s.conn.Authenticated
		}
		s.m.emit(ev)
		return
	}
	ev.FromBond = true
	if ev.Enabled {
		s.conn.KeySize, s.conn.Authenticated = b.KeySize, b.Authenticated
		ev.KeySize, ev.Authenticated = b.KeySize, b.Authenticated
		s.log.Info("link encrypted with the bond's key", zap.Stringer("peer", b.Peer), zap.Int("key_size", b.KeySize))
		s.m.emit(ev)
		s.finishSecure(nil)
		return
	}
	s.log.Warn("encryption with the bond's key failed", zap.Stringer("peer", b.Peer), zap.Stringer("status", st))
	s.m.emit(ev)
	if !s.central || st != hci.StatusPINOrKeyMissing {
		s.finishSecure(st.Err())
		return
	}
	switch s.m.cfg.KeyMissing {
	case DisconnectOnKeyMissing:
		s.log.Info("peer lost its key; disconnecting with Authentication Failure (as BlueZ does)")
		s.finishSecure(st.Err())
		s.conn.Disconnect(hci.StatusAuthenticationFailure)
	case RepairOnKeyMissing:
		s.log.Info("peer lost its key; deleting the bond and pairing again")
		if err := s.m.store.Delete(b.Peer); err != nil {
			s.log.Error("deleting bond failed", zap.Error(err))
		}
		s.m.bondGone(b.Peer, "key-missing")
		if err := s.startPairing(s.m.settings()); err != nil {
			s.finishSecure(err)
		}
	default:
		s.finishSecure(st.Err())
	}
}

// encryptFromBond starts encryption with the bond's key (central).
func (s *session) encryptFromBond() error {
	if !s.central {
		return ErrWrongRole
	}
	if s.p != nil {
		return ErrBusy
	}
	b, ok := s.m.store.Lookup(s.identity)
	if !ok {
		return ErrNoBond
	}
	ltk, ediv, rand, ok := b.CentralKey()
	if !ok {
		return ErrNoBond
	}
	s.encBond = &b
	s.log.Info("encrypting with the bond's key", zap.Stringer("peer", b.Peer), zap.Uint16("ediv", ediv), zap.Uint64("rand", rand))
	s.m.host.StartEncryption(s.conn.Handle, rand, ediv, ltk, func(_ []byte, err error) {
		if err != nil {
			s.log.Error("LE Enable Encryption failed", zap.Error(err))
			s.encBond = nil
			s.m.emit(EncryptionChanged{Handle: s.conn.Handle, Peer: s.identity, Status: statusOf(err), FromBond: true})
			s.finishSecure(err)
		}
	})
	return nil
}

func statusOf(err error) hci.Status {
	if st, ok := err.(hci.Status); ok {
		return st
	}
	return hci.StatusUnspecifiedError
}

// localAuthReq is the AuthReq of this device's Security Request.
func (s *session) localAuthReq() AuthReq {
	set := s.m.settings()
	var a AuthReq
	if set.bonding {
		a |= AuthBonding
	}
	if set.mitm || s.m.cfg.RequestMITM {
		a |= AuthMITM
	}
	if set.sc != LegacyOnly {
		a |= AuthSC
	}
	return a
}

// sendSecurityRequest sends a Security Request (peripheral, §3.6.7) and
// watches for the central to act on it.
func (s *session) sendSecurityRequest() error {
	switch {
	case s.dead:
		return ErrTimedOut
	case s.central:
		return ErrWrongRole
	case s.p != nil:
		return ErrBusy
	case s.m.waiting(s.identity):
		return ErrRepeatedAttempts
	}
	s.send(SecurityRequest{AuthReq: s.localAuthReq()})
	s.secReq.Stop()
	s.secReq = s.m.sched.After(s.m.cfg.SecurityRequestTimeout, func() {
		if s.p == nil && !s.conn.Encrypted && !s.closed {
			s.finding(FindingSecurityRequestIgnored, fmt.Sprintf("no Pairing Request or encryption within %s of the Security Request", s.m.cfg.SecurityRequestTimeout), nil)
		}
	})
	return nil
}

// onSecurityRequest is the central's answer to a Security Request
// (§2.4.6): encrypt with a bond key that meets the request, else pair.
func (s *session) onSecurityRequest(a AuthReq, raw []byte) {
	if !s.central {
		s.fail(ReasonCommandNotSupported, "Security Request received by the peripheral")
		return
	}
	if a&AuthReservedMask != 0 || a&AuthBondingMask > 1 {
		s.finding(FindingValueOutOfRange, "Security Request: "+a.String(), raw)
	}
	if s.p != nil || s.encBond != nil {
		s.log.Info("Security Request during a pairing or encryption; ignored")
		return
	}
	if s.m.waiting(s.identity) {
		s.send(PairingFailedPDU{Reason: ReasonRepeatedAttempts})
		return
	}
	mitm := a&AuthMITM != 0
	if b, ok := s.m.store.Lookup(s.identity); ok && (b.Authenticated || !mitm) {
		if _, _, _, ok := b.CentralKey(); ok && !s.conn.Encrypted {
			s.log.Info("Security Request: encrypting with the bond's key")
			if err := s.encryptFromBond(); err != nil {
				s.log.Error("encryption failed to start", zap.Error(err))
			}
			return
		}
	}
	if s.conn.Encrypted && (s.conn.Authenticated || !mitm) {
		s.log.Info("Security Request: the link already meets it")
		return
	}
	if s.m.cfg.NoPairing {
		s.send(PairingFailedPDU{Reason: ReasonPairingNotSupported})
		return
	}
	set := s.m.settings()
	set.mitm = set.mitm || mitm
	if err := s.startPairing(set); err != nil {
		s.log.Error("pairing failed to start", zap.Error(err))
	}
}

// secure raises the link's security: encryption with a bond key that is
// good enough, else pairing (with MITM when asked).
func (s *session) secure(mitm bool, done func(error)) {
	if done != nil {
		s.secureWait = append(s.secureWait, done)
	}
	if s.conn.Encrypted && (s.conn.Authenticated || !mitm) {
		s.finishSecure(nil)
		return
	}
	if s.p != nil || s.encBond != nil {
		return // finishes with the pairing or encryption under way
	}
	if b, ok := s.m.store.Lookup(s.identity); ok && (b.Authenticated || !mitm) && !s.conn.Encrypted {
		if err := s.encryptFromBond(); err == nil {
			return
		}
	}
	set := s.m.settings()
	set.mitm = set.mitm || mitm
	if err := s.startPairing(set); err != nil {
		s.finishSecure(err)
	}
}

func (s *session) finishSecure(err error) {
	w := s.secureWait
	s.secureWait = nil
	for _, fn := range w {
		fn(err)
	}
}
