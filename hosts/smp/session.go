package smp

import (
	"errors"

	"go.uber.org/zap"

	"blesim/hosts/crypto/smpcrypto"
	"blesim/hosts/hcihost"
	"blesim/hosts/l2cap"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// state is where a pairing is (Vol 3 Part H §2.3 phases 1–3).
type state uint8

const (
	stIdle          state = iota
	stWaitResponse        // initiator: Pairing Request sent
	stLegacyConfirm       // legacy: waiting for the peer's Pairing Confirm
	stLegacyRandom        // legacy: waiting for the peer's Pairing Random
	stSCPublicKey         // SC: waiting for the peer's Pairing Public Key
	stSCConfirm           // SC: waiting for a Pairing Confirm
	stSCRandom            // SC: waiting for a Pairing Random
	stSCDHKeyCheck        // SC: waiting for the peer's DHKey Check
	stEncrypt             // waiting for encryption with the STK/LTK
	stKeyDist             // phase 3: key distribution
)

var stateNames = []string{"idle", "wait-pairing-response", "legacy-confirm", "legacy-random", "sc-public-key",
	"sc-confirm", "sc-random", "sc-dhkey-check", "encrypt", "key-distribution"}

func (s state) String() string { return stateNames[s] }

// session is SMP on one connection.
type session struct {
	m        *Manager
	conn     *l2cap.Conn
	log      *zap.Logger
	central  bool
	local    Address // our address on this connection
	peer     Address // the peer's address on this connection
	identity Address // the peer's identity (bond, resolved RPA, or peer)

	dead  bool // SMP timed out: no more SMP on this link (§3.4)
	timer *sim.Timer
	st    state
	p     *pairing

	secReq     *sim.Timer // Security Request sent, waiting for the central
	encBond    *Bond      // encryption with a bond key requested or answered
	secureWait []func(error)
	secureMITM bool
	closed     bool
}

// pairing is one pairing's state. Crypto values are most significant
// octet first (see package smpcrypto).
type pairing struct {
	set        settings
	preq, pres [7]byte // the two pairing commands as sent (wire order)
	req, rsp   PairingParams
	sc         bool
	method     Method
	keySize    int

	tk          [16]byte // legacy TK
	lrand       [16]byte // legacy: our Mrand/Srand
	prand       [16]byte // legacy: the peer's
	pconfirm    [16]byte // the peer's confirm value (legacy, SC Cb / Cai)
	key         [16]byte // the key the link is encrypted with (STK or SC LTK), masked
	keyReady    bool
	kp          *smpcrypto.KeyPair
	pka, pkb    smpcrypto.PublicKey
	dhkey       [32]byte
	na, nb      [16]byte
	ra, rb      [16]byte
	passkey     uint32
	havePasskey bool
	round       int
	macKey      [16]byte
	ltk         [16]byte
	expect      []Code // key distribution PDUs still expected from the peer
	ours        KeyDist
	theirs      KeyDist
	sent        bool
	keys        Bond
	identity    *Address
	encStarted  bool

	userPending bool     // waiting for the user (AsyncAgent)
	deferred    [][]byte // the peer's commands meanwhile
}

func newSession(m *Manager, c *l2cap.Conn) *session {
	s := &session{m: m, conn: c, log: c.Logger().Named("smp"), central: c.Role == hcihost.RoleCentral}
	s.local = m.ownAddress()
	s.peer = Address{Type: c.PeerAddrType, Addr: c.PeerAddr}.norm()
	s.identity = s.peer
	return s
}

func (s *session) close() {
	s.closed = true
	s.timer.Stop()
	s.secReq.Stop()
	if s.p != nil {
		s.log.Info("connection closed during pairing")
		s.p = nil
		s.st = stIdle
	}
	s.finishSecure(errors.New("smp: disconnected"))
	delete(s.m.sessions, s.conn.Handle)
}

func (s *session) peerInfo() Peer { return Peer{Handle: s.conn.Handle, Addr: s.identity} }

// send sends one SMP command and (re)starts the SMP timer while pairing
// (§3.4: the timer is reset when a command is queued for transmission).
func (s *session) send(p PDU) {
	if s.dead || s.closed {
		return
	}
	s.log.Debug("SMP send", zap.Stringer("code", p.Code()), zap.Stringer("state", s.st))
	if err := s.conn.Send(l2cap.CIDSMP, p.Marshal()); err != nil {
		s.log.Error("SMP send failed", zap.Error(err))
	}
	if s.p != nil {
		s.resetTimer()
	}
}

func (s *session) resetTimer() {
	if s.timer == nil {
		s.timer = s.m.sched.NewTimer(s.timeout)
	}
	s.timer.ResetAfter(s.m.cfg.Timeout)
}

// timeout ends the pairing: no further SMP commands on this link; a new
// procedure needs a new connection (§3.4).
func (s *session) timeout() {
	if s.p == nil {
		return
	}
	s.log.Warn("SMP timeout: pairing failed; no more SMP on this connection")
	s.dead = true
	s.p, s.st = nil, stIdle
	s.m.emit(PairingFailed{Handle: s.conn.Handle, Peer: s.identity, Reason: ReasonUnspecified, Timeout: true})
	s.finishSecure(ErrTimedOut)
}

// fail aborts the pairing with Pairing Failed (§3.5.5). Authentication
// failures detected here start the repeated-attempts wait (§2.3.6).
func (s *session) fail(r Reason, why string) {
	s.log.Info("pairing failed", zap.Stringer("reason", r), zap.String("why", why), zap.Stringer("state", s.st))
	s.send(PairingFailedPDU{Reason: r})
	s.end()
	switch r {
	case ReasonConfirmValueFailed, ReasonDHKeyCheckFailed, ReasonNumericComparisonFailed:
		s.m.recordFailure(s.identity)
	}
	s.m.emit(PairingFailed{Handle: s.conn.Handle, Peer: s.identity, Reason: r})
	s.finishSecure(r)
}

func (s *session) end() {
	s.timer.Stop()
	s.p, s.st = nil, stIdle
}

func (s *session) finding(code FindingCode, msg string, pdu []byte) {
	var raw []byte
	if pdu != nil {
		raw = append([]byte(nil), pdu...)
	}
	s.m.emit(Finding{Code: code, Message: msg, PDU: raw, Handle: s.conn.Handle, Peer: s.identity})
}

// receive handles one SMP PDU from the peer. It never panics: malformed
// commands get Pairing Failed Invalid Parameters, reserved codes Command
// Not Supported (as Linux answers them).
func (s *session) receive(b []byte) {
	if s.dead {
		s.log.Info("SMP PDU after the SMP timeout; dropped (§3.4)", zap.Binary("pdu", b))
		return
	}
	pdu, err := Parse(b)
	if err != nil {
		switch {
		case errors.Is(err, ErrEmpty):
			s.log.Warn("empty SMP PDU; dropped")
		case errors.Is(err, ErrUnknownCode):
			s.fail(ReasonCommandNotSupported, err.Error())
		case b[0] == byte(CodePairingFailed):
			s.log.Warn("malformed Pairing Failed; pairing aborted", zap.Binary("pdu", b))
			s.remoteFailed(ReasonUnspecified)
		default:
			s.fail(ReasonInvalidParameters, err.Error())
		}
		return
	}
	if p := s.p; p != nil && p.userPending && pdu.Code() != CodePairingFailed {
		p.deferred = append(p.deferred, append([]byte(nil), b...))
		return
	}
	s.log.Debug("SMP receive", zap.Stringer("code", pdu.Code()), zap.Stringer("state", s.st))
	switch p := pdu.(type) {
	case PairingFailedPDU:
		s.remoteFailed(p.Reason)
	case PairingRequest:
		s.onPairingRequest(p.PairingParams, b)
	case SecurityRequest:
		s.onSecurityRequest(p.AuthReq, b)
	case KeypressNotification:
		s.log.Info("keypress notification", zap.Uint8("type", p.Type))
	case PairingResponse:
		if s.st != stWaitResponse {
			s.unexpected(pdu, b)
			return
		}
		s.onPairingResponse(p.PairingParams, b)
	case PairingConfirm:
		switch s.st {
		case stLegacyConfirm:
			s.legacyConfirm(smpcrypto.Rev16(p.Value))
		case stSCConfirm:
			s.scConfirm(smpcrypto.Rev16(p.Value), b)
		default:
			s.unexpected(pdu, b)
		}
	case PairingRandom:
		v := smpcrypto.Rev16(p.Value)
		if why := NonRandom(v[:]); why != "" {
			s.finding(FindingNonRandomKey, "Pairing Random value is "+why, b)
		}
		switch s.st {
		case stLegacyRandom:
			s.legacyRandom(v)
		case stSCRandom:
			s.scRandom(v)
		default:
			s.unexpected(pdu, b)
		}
	case PairingPublicKey:
		if s.st != stSCPublicKey {
			s.unexpected(pdu, b)
			return
		}
		s.scPublicKey(p, b)
	case PairingDHKeyCheck:
		if s.st != stSCDHKeyCheck {
			s.unexpected(pdu, b)
			return
		}
		s.scDHKeyCheck(smpcrypto.Rev16(p.Value))
	default: // key distribution
		s.onKey(pdu, b)
	}
}

// unexpected handles a command not allowed in the current state: dropped
// when no pairing runs (as Linux does), otherwise the pairing fails with
// Unspecified Reason (as Zephyr does) and a finding is reported.
func (s *session) unexpected(pdu PDU, raw []byte) {
	if s.p == nil {
		s.log.Info("SMP command outside a pairing; dropped", zap.Stringer("code", pdu.Code()))
		return
	}
	s.finding(FindingUnexpectedPDU, pdu.Code().String()+" in state "+s.st.String(), raw)
	s.fail(ReasonUnspecified, "unexpected "+pdu.Code().String())
}

// remoteFailed handles Pairing Failed from the peer.
func (s *session) remoteFailed(r Reason) {
	s.log.Info("peer failed the pairing", zap.Stringer("reason", r), zap.Stringer("state", s.st))
	s.probeRound(false, r) // probe.go
	s.end()
	s.m.emit(PairingFailed{Handle: s.conn.Handle, Peer: s.identity, Reason: r, Remote: true})
	s.finishSecure(r)
}

// Address helpers for the crypto functions (most significant octet first).
func addr6(a Address) [6]byte { return [6]byte(smpcrypto.Reverse(a.Addr[:])) }

func addr7(a Address) [7]byte {
	var o [7]byte
	o[0] = byte(a.Type & 1)
	copy(o[1:], smpcrypto.Reverse(a.Addr[:]))
	return o
}

// initiatorAddr and responderAddr are A and B of the pairing (§2.2.3,
// §2.2.7).
func (s *session) initiatorAddr() Address {
	if s.central {
		return s.local
	}
	return s.peer
}

func (s *session) responderAddr() Address {
	if s.central {
		return s.peer
	}
	return s.local
}

// statusErr turns an HCI status into an error (nil for success).
func statusErr(st hci.Status) error { return st.Err() }
