package smp

import (
	"errors"
	"fmt"
	"io"

	"go.uber.org/zap"

	"blesim/hosts/crypto/smpcrypto"
	"blesim/hosts/hcihost"
	"blesim/hosts/l2cap"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Errors returned by the Manager's methods.
var (
	ErrNoConnection     = errors.New("smp: no such connection")
	ErrTimedOut         = errors.New("smp: SMP timed out on this connection; a new connection is needed (Vol 3 Part H §3.4)")
	ErrBusy             = errors.New("smp: a pairing is in progress on this connection")
	ErrWrongRole        = errors.New("smp: not allowed in this connection role")
	ErrNoBond           = errors.New("smp: no bond with a key for this peer")
	ErrRepeatedAttempts = errors.New("smp: waiting after a failed pairing with this peer (Vol 3 Part H §2.3.6)")
)

// Manager is the Security Manager of one host: it runs SMP on every
// connection of an l2cap.Mux, answers LTK requests from its controller,
// starts encryption, keeps the bond store, and reports events and
// conformance findings.
type Manager struct {
	log   *zap.Logger
	host  *hcihost.Host
	mux   *l2cap.Mux
	sched *sim.Scheduler
	cfg   Config
	store *Store
	rnd   io.Reader
	agent Agent

	sessions map[uint16]*session
	attempts map[Address]*attempts
	peerKeys map[[32]byte]bool // X coordinates of the peers' public keys seen
	oob      *localOOB
	fixedOOB *localOOB // Config.LocalOOB
	findings []Finding

	// OnEvent receives every event (see events.go), findings included.
	OnEvent func(Event)
}

type attempts struct {
	failures int
	until    sim.Time
}

type localOOB struct {
	kp *smpcrypto.KeyPair
	r  [16]byte // most significant octet first
}

// New attaches a Security Manager to host and mux: it takes over the SMP
// channel of every new connection and registers for the encryption
// events. Attach it before the first connection.
func New(log *zap.Logger, host *hcihost.Host, mux *l2cap.Mux, cfg Config) (*Manager, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	m := &Manager{log: log, host: host, mux: mux, sched: host.Scheduler(), cfg: cfg,
		sessions: map[uint16]*session{}, attempts: map[Address]*attempts{}, peerKeys: map[[32]byte]bool{}}
	if err := m.setFixedOOB(); err != nil {
		return nil, err
	}
	m.store = cfg.Store
	if m.store == nil {
		m.store = NewMemoryStore()
	}
	m.rnd = cfg.Rand
	if m.rnd == nil {
		m.rnd = simRand{m.sched}
	}
	m.agent = cfg.Agent
	if m.agent == nil {
		m.agent = &LogAgent{Log: log, Passkey: cfg.Passkey}
	}
	if sa, ok := m.agent.(*ScriptedAgent); ok && sa.Async {
		m.agent = scriptedAsync{sa}
	}
	mux.AddConnectHook(m.connected)
	host.OnEvent(m.hciEvent)
	return m, nil
}

// simRand reads from the scheduler's seeded source.
type simRand struct{ s *sim.Scheduler }

func (r simRand) Read(p []byte) (int, error) {
	rr := r.s.Rand()
	for i := 0; i < len(p); i += 8 {
		v := rr.Uint64()
		for j := 0; j < 8 && i+j < len(p); j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	return len(p), nil
}

// Config returns the configuration (with defaults filled in).
func (m *Manager) Config() Config { return m.cfg }

// Agent returns the agent that talks to the user.
func (m *Manager) Agent() Agent {
	if sa, ok := m.agent.(scriptedAsync); ok {
		return sa.ScriptedAgent
	}
	return m.agent
}

// Store returns the bond store.
func (m *Manager) Store() *Store { return m.store }

// Findings returns every finding reported so far.
func (m *Manager) Findings() []Finding { return m.findings }

func (m *Manager) emit(e Event) {
	if f, ok := e.(Finding); ok {
		m.findings = append(m.findings, f)
		m.log.Warn("SMP conformance finding", zap.String("code", string(f.Code)), zap.String("message", f.Message),
			zap.Stringer("peer", f.Peer), zap.Binary("pdu", f.PDU))
	}
	if m.OnEvent != nil {
		m.OnEvent(e)
	}
}

func (m *Manager) random(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(m.rnd, b); err != nil {
		m.log.Error("random source failed; using zeros", zap.Error(err))
	}
	return b
}

func (m *Manager) random16() (r [16]byte) {
	copy(r[:], m.random(16))
	return
}

// Identity returns the device's identity address: Config.Identity, else
// the controller's public address.
func (m *Manager) Identity() Address {
	if m.cfg.Identity != nil {
		return m.cfg.Identity.norm()
	}
	return Address{Type: hci.AddrPublic, Addr: m.host.Info.Addr}
}

func (m *Manager) ownAddress() Address {
	if m.cfg.OwnAddress != nil {
		return m.cfg.OwnAddress().norm()
	}
	return m.Identity()
}

// IRK returns the device's identity resolving key (wire order):
// Config.IRK, else the one kept in the bond store, else a new random one
// that is then kept there.
func (m *Manager) IRK() Key {
	if m.cfg.IRK != nil {
		return *m.cfg.IRK
	}
	if k, ok := m.store.LocalIRK(); ok {
		return k
	}
	k := Key(m.random16())
	if err := m.store.SetLocalIRK(k); err != nil {
		m.log.Error("saving the local IRK failed", zap.Error(err))
	}
	return k
}

// NewRPA makes a fresh resolvable private address from the device's IRK
// (Vol 6 Part B §1.3.2.2).
func (m *Manager) NewRPA() hci.BDAddr {
	a, err := smpcrypto.GenerateRPA(smpcrypto.Rev16(m.IRK()), m.rnd)
	if err != nil {
		m.log.Error("RPA generation failed", zap.Error(err))
	}
	return a
}

// Resolve returns the identity of a peer seen at a, resolving a
// resolvable private address with the IRKs of the bonds.
func (m *Manager) Resolve(a Address) (Address, bool) {
	a = a.norm()
	if a.Type == hci.AddrRandom && a.Addr.IsResolvablePrivate() {
		if b, ok := m.store.Resolve(a.Addr); ok {
			return b.Peer, true
		}
	}
	return a, false
}

// LocalSCOOB prepares LE Secure Connections OOB data for the next pairing
// (Vol 3 Part H §2.3.5.6.4): a key pair and a random r, and returns r and
// the confirm value C = f4(PKx, PKx, r, 0) in wire order, to hand to the
// peer out of band (its OOBData.PeerR and PeerC).
func (m *Manager) LocalSCOOB() (r, c Key, err error) {
	kp, err := m.newKeyPair()
	if err != nil {
		return Key{}, Key{}, err
	}
	o := &localOOB{kp: kp, r: m.random16()}
	m.oob = o
	cv := smpcrypto.F4(kp.Public.X, kp.Public.X, o.r, 0)
	return Key(smpcrypto.Rev16(o.r)), Key(smpcrypto.Rev16(cv)), nil
}

func (m *Manager) newKeyPair() (*smpcrypto.KeyPair, error) {
	if m.cfg.DebugKeys {
		return smpcrypto.KeyPairFromPrivate(smpcrypto.DebugPrivateKey)
	}
	return smpcrypto.GenerateKeyPair(m.rnd)
}

func (m *Manager) session(handle uint16) (*session, error) {
	s := m.sessions[handle]
	if s == nil {
		return nil, ErrNoConnection
	}
	return s, nil
}

// Pair starts pairing on a connection where this device is the central
// (it sends the Pairing Request, Vol 3 Part H §3.5.1). opts overrides the
// Config's IO capability, bonding, MITM and Secure Connections settings
// for this pairing; nil uses the Config. The outcome arrives as events.
func (m *Manager) Pair(handle uint16, opts *PairOptions) error {
	s, err := m.session(handle)
	if err != nil {
		return err
	}
	set := m.settings()
	if opts != nil {
		set = settings{io: opts.IO, bonding: opts.Bond, mitm: opts.MITM, sc: LegacyOnly}
		if opts.LESecure {
			set.sc = SCSupported
			if m.cfg.SC == SCOnly {
				set.sc = SCOnly
			}
		}
		if !set.io.Valid() {
			return fmt.Errorf("smp: IO capability %d invalid", opts.IO)
		}
	}
	return s.startPairing(set)
}

// PairThen is Pair with a completion callback: done gets nil when the
// pairing completed, else why it did not start or failed.
func (m *Manager) PairThen(handle uint16, opts *PairOptions, done func(error)) {
	s, err := m.session(handle)
	if err == nil {
		s.secureWait = append(s.secureWait, done)
		if err = m.Pair(handle, opts); err != nil {
			s.secureWait = s.secureWait[:len(s.secureWait)-1]
		}
	}
	if err != nil {
		done(err)
	}
}

// Encrypt starts encryption on a central's connection with the key of the
// bond with its peer (LE Enable Encryption with the bond's LTK, EDIV and
// Rand). ErrNoBond when there is none.
func (m *Manager) Encrypt(handle uint16) error {
	s, err := m.session(handle)
	if err != nil {
		return err
	}
	return s.encryptFromBond()
}

// SecurityRequest sends a Security Request on a peripheral's connection
// (Vol 3 Part H §3.6.7) with the Config's authentication requirements.
func (m *Manager) SecurityRequest(handle uint16) error {
	s, err := m.session(handle)
	if err != nil {
		return err
	}
	return s.sendSecurityRequest()
}

// Secure makes a central's link meet a security level, as BlueZ does on
// Insufficient Authentication or Encryption: encrypt with the bond when it
// has a good enough key, else pair (with MITM when mitm). done (may be
// nil) gets nil once the link is encrypted (authenticated when mitm), or
// the failure.
func (m *Manager) Secure(handle uint16, mitm bool, done func(error)) {
	s, err := m.session(handle)
	if err != nil {
		if done != nil {
			done(err)
		}
		return
	}
	s.secure(mitm, done)
}

// Bond returns the bond with the peer of a connection.
func (m *Manager) Bond(handle uint16) (Bond, bool) {
	s := m.sessions[handle]
	if s == nil {
		return Bond{}, false
	}
	return m.store.Lookup(s.identity)
}

// PeerIdentity returns the peer's identity address on a connection (its
// connection address when it has not been resolved or distributed).
func (m *Manager) PeerIdentity(handle uint16) (Address, bool) {
	s := m.sessions[handle]
	if s == nil {
		return Address{}, false
	}
	return s.identity, true
}

// Pairing reports whether a pairing is in progress on a connection.
func (m *Manager) Pairing(handle uint16) bool {
	s := m.sessions[handle]
	return s != nil && s.p != nil
}

// Forget deletes the bond with peer a (an identity address, or a
// resolvable private address of a bonded peer).
func (m *Manager) Forget(a Address) error {
	if b, ok := m.store.Lookup(a); ok {
		a = b.Peer
	}
	if _, ok := m.store.Get(a); !ok {
		return nil
	}
	if err := m.store.Delete(a); err != nil {
		return err
	}
	m.bondGone(a, "forget")
	return nil
}

// ForgetAll deletes every bond and returns how many there were.
func (m *Manager) ForgetAll() (int, error) {
	all := m.store.All()
	if err := m.store.DeleteAll(); err != nil {
		return 0, err
	}
	for _, b := range all {
		m.bondGone(b.Peer, "forget-all")
	}
	return len(all), nil
}

func (m *Manager) bondGone(a Address, why string) {
	for _, s := range m.sessions {
		if s.identity == a {
			s.conn.HasLTK = false
		}
	}
	m.log.Info("bond deleted", zap.Stringer("peer", a), zap.String("reason", why))
	m.emit(BondDeleted{Peer: a, Reason: why})
}

// waiting reports whether the repeated-attempts interval with peer a is
// running (Vol 3 Part H §2.3.6).
func (m *Manager) waiting(a Address) bool {
	at := m.attempts[a]
	return at != nil && m.sched.Now() < at.until
}

// recordFailure starts or lengthens the waiting interval after an
// authentication failure detected here: the first wait, doubled for every
// further failure up to 64 times.
func (m *Manager) recordFailure(a Address) {
	at := m.attempts[a]
	if at == nil {
		at = &attempts{}
		m.attempts[a] = at
	}
	at.failures++
	wait := m.cfg.RepeatedAttemptsWait << min(at.failures-1, 6)
	at.until = m.sched.Now().Add(wait)
	m.log.Info("pairing failure recorded; waiting before the next attempt", zap.Stringer("peer", a),
		zap.Int("failures", at.failures), zap.Stringer("wait", wait))
}

// RepeatedAttemptsWait returns when pairing with peer a is allowed again
// (zero when it is now).
func (m *Manager) RepeatedAttemptsWait(a Address) sim.Time {
	if !m.waiting(a.norm()) {
		return 0
	}
	return m.attempts[a.norm()].until
}

// connected sets up SMP on a new connection: the session, the peer's
// identity from the bond store (resolving an RPA), ForgetAfter, and the
// Security Request of a peripheral configured to send one.
func (m *Manager) connected(c *l2cap.Conn) {
	s := newSession(m, c)
	m.sessions[c.Handle] = s
	c.SetHandler(l2cap.CIDSMP, s.receive)
	c.OnClose(func(hci.Status) { s.close() })
	if b, ok := m.store.Lookup(s.peer); ok {
		s.identity = b.Peer
		if b.Peer != s.peer {
			m.emit(IdentityResolved{Handle: c.Handle, RPA: s.peer.Addr, Identity: b.Peer})
		}
		if m.cfg.ForgetAfter > 0 && b.Connections >= m.cfg.ForgetAfter {
			if err := m.store.Delete(b.Peer); err != nil {
				m.log.Error("deleting bond failed", zap.Error(err))
			}
			m.bondGone(b.Peer, "forget-after")
		} else {
			b.Connections++
			if err := m.store.Put(b); err != nil {
				m.log.Error("saving bond failed", zap.Error(err))
			}
			c.HasLTK = b.hasKey()
		}
	}
}

func (m *Manager) hciEvent(ev hcihost.Event) {
	switch e := ev.(type) {
	case hcihost.LTKRequest:
		if s := m.sessions[e.Handle]; s != nil {
			s.ltkRequest(e.EDIV, e.Rand)
			return
		}
		m.log.Warn("LTK Request for an unknown connection; negative reply", zap.Uint16("handle", e.Handle))
		m.host.LTKNegativeReply(e.Handle, nil)
	case hcihost.EncryptionChange:
		if s := m.sessions[e.Handle]; s != nil {
			s.encryptionChanged(e.Status, e.Enabled != 0, false)
		}
	case hcihost.EncryptionKeyRefreshComplete:
		if s := m.sessions[e.Handle]; s != nil {
			s.encryptionChanged(e.Status, e.Status == hci.StatusSuccess || s.conn.Encrypted, true)
		}
	}
}

// settings are the local choices of one pairing.
type settings struct {
	io      IOCapability
	bonding bool
	mitm    bool
	sc      SCMode
}

func (m *Manager) settings() settings {
	return settings{io: m.cfg.IOCap, bonding: m.cfg.Bonding, mitm: m.cfg.MITM, sc: m.cfg.SC}
}
