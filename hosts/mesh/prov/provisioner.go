package prov

import (
	"crypto/ecdh"
	"errors"
	"io"

	"go.uber.org/zap"

	"blesim/linklayer/sim"
)

// ProvisionerConfig describes the provisioner role.
type ProvisionerConfig struct {
	// Rand supplies randoms, key pairs and input OOB values.
	Rand io.Reader
	// Key, when set, is used for every session instead of a fresh key pair
	// (the §8.7 sample data does this; a real provisioner should not).
	Key *ecdh.PrivateKey
	// Algorithms the provisioner supports (default CMAC and HMAC).
	Algorithms Algorithms
	// Sched runs the protocol timeout (§5.4.4); nil disables it.
	Sched *sim.Scheduler
	Log   *zap.Logger
}

// Target is what the provisioner needs to provision one device.
type Target struct {
	// Attention is the Attention Timer to ask for in the Invite (seconds).
	Attention uint8
	// Start, when set, is the method to use; otherwise ChooseStart picks one
	// from the capabilities and what this Target can do.
	Start *Start
	// DevicePublicKey is the device's X||Y obtained out of band (route A2).
	DevicePublicKey []byte
	// StaticOOB is the device's static OOB value (route B2).
	StaticOOB []byte
	// Prompt asks the user what the device output (route B3); call enter
	// with it.
	Prompt func(action OutputAction, size uint8, enter func(OOBValue))
	// Show displays the value the user must input on the device (route B4).
	Show func(action InputAction, v OOBValue)
	// Data assigns the provisioning data (NetKey, IV Index, and a unicast
	// address range for the device's elements). An *Error's code describes
	// a failure (e.g. CannotAssignAddresses).
	Data func(elements uint8) (Data, error)
	// Done reports the outcome once.
	Done func(r Result)
}

// Provisioner is the provisioner role; Open starts a session per link.
type Provisioner struct {
	cfg ProvisionerConfig
}

// NewProvisioner checks cfg and returns the provisioner.
func NewProvisioner(cfg ProvisionerConfig) (*Provisioner, error) {
	if cfg.Rand == nil {
		return nil, errors.New("provisioner: no Rand")
	}
	if cfg.Algorithms == 0 {
		cfg.Algorithms = AlgorithmsCMAC | AlgorithmsHMAC
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	return &Provisioner{cfg: cfg}, nil
}

// ChooseStart is the default policy: the device's OOB public key when the
// target has it (A2); static OOB if both have it, else output OOB if the
// target can prompt, else input OOB if it can show, else no OOB; the
// HMAC-SHA256 algorithm when both support it and OOB authentication is
// used, CMAC otherwise.
func ChooseStart(c Capabilities, t Target, supported Algorithms) (Start, error) {
	var s Start
	s.PublicKeyOOB = c.PublicKeyOOB && t.DevicePublicKey != nil
	switch {
	case c.StaticOOB && t.StaticOOB != nil:
		s.Method = StaticOOB
	case c.OutputSize > 0 && t.Prompt != nil:
		s.Method, s.Size = OutputOOB, c.OutputSize
		s.Action = uint8(pick(uint16(c.OutputActions), []uint8{3, 4, 0, 1, 2}))
	case c.InputSize > 0 && t.Show != nil:
		s.Method, s.Size = InputOOB, c.InputSize
		s.Action = uint8(pick(uint16(c.InputActions), []uint8{2, 3, 0, 1}))
	case c.OnlyOOBAuth:
		return s, errf(UnexpectedError, "the device needs OOB authentication this target cannot do")
	}
	both := c.Algorithms & supported
	switch {
	case both.Has(AlgorithmHMAC) && (s.Method != NoOOB || !both.Has(AlgorithmCMAC)):
		s.Algorithm = AlgorithmHMAC
	case both.Has(AlgorithmCMAC):
		s.Algorithm = AlgorithmCMAC
	default:
		return s, errf(UnexpectedError, "no common algorithm (device %#04x, provisioner %#04x)", uint16(c.Algorithms), uint16(supported))
	}
	return s, nil
}

// pick returns the first action of prefs present in mask.
func pick(mask uint16, prefs []uint8) uint8 {
	for _, a := range prefs {
		if mask&(1<<a) != 0 {
			return a
		}
	}
	return 0
}

// ProvisionerSession is one provisioning attempt on one link.
type ProvisionerSession struct {
	x     exchange
	p     *Provisioner
	t     Target
	capsV Capabilities
	oob   OOBValue
}

// Open starts a session on an open link: it sends the Invite.
func (p *Provisioner) Open(l Link, t Target) *ProvisionerSession {
	s := &ProvisionerSession{p: p, t: t}
	s.x.init(p.cfg.Log, p.cfg.Sched, p.cfg.Rand, l, s.timeout)
	s.x.done = t.Done
	s.x.invite = []byte{t.Attention}
	s.x.state = WaitCapabilities
	s.x.send([]byte{byte(TypeInvite), t.Attention})
	return s
}

// State is the session's state.
func (s *ProvisionerSession) State() State { return s.x.state }

// Result is the outcome, once the session finished.
func (s *ProvisionerSession) Result() (Result, bool) { return *s.x.result, s.x.finished }

// OOB is the value the user entered (B3) or the provisioner showed (B4).
func (s *ProvisionerSession) OOB() OOBValue { return s.oob }

// LinkClosed tells the session its link closed.
func (s *ProvisionerSession) LinkClosed(r CloseReason) { s.x.closed(r) }

func (s *ProvisionerSession) timeout() {
	s.x.finish(&ClosedError{Reason: CloseTimeout, Msg: "no provisioning PDU for 60 s in state " + s.x.state.String()})
	s.x.link.Close(CloseTimeout)
}

// fail ends the session: the provisioner never sends Provisioning Failed;
// it closes the link with reason Fail (§5.4.4).
func (s *ProvisionerSession) fail(err error) {
	s.x.log.Info("provisioning failed", zap.Stringer("code", CodeOf(err)), zap.Error(err))
	s.x.finish(err)
	if s.x.timer != nil {
		s.x.timer.Stop()
	}
	s.x.link.Close(CloseFail)
}

// Receive handles one provisioning PDU from the device.
func (s *ProvisionerSession) Receive(pdu []byte) {
	if s.x.finished {
		return
	}
	s.x.touch()
	never := func(PDUType) bool { return false }
	t, p, err := classify(pdu, s.x.state, never)
	if err == nil {
		err = s.handle(t, p)
	}
	if err != nil {
		s.fail(err)
	}
}

func (s *ProvisionerSession) handle(t PDUType, p []byte) error {
	x := &s.x
	switch t {
	case TypeFailed:
		x.result.Remote = true
		return errf(ErrorCode(p[0]), "the device sent Provisioning Failed in state %v", x.state)
	case TypeCapabilities:
		c, err := ParseCapabilities(p)
		if err != nil {
			return err
		}
		s.capsV, x.caps = c, append([]byte(nil), p...)
		x.result.Capabilities = c
		var st Start
		if s.t.Start != nil {
			st = *s.t.Start
		} else if st, err = ChooseStart(c, s.t, s.p.cfg.Algorithms); err != nil {
			return err
		}
		if err := st.Check(c); err != nil {
			return err
		}
		if !s.p.cfg.Algorithms.Has(st.Algorithm) {
			return errf(UnexpectedError, "%v is not enabled on this provisioner", st.Algorithm)
		}
		x.start, x.startRaw, x.result.Start = st, st.Marshal(), st
		x.own = s.p.cfg.Key
		if x.own == nil {
			if x.own, err = NewKey(x.rand); err != nil {
				return errf(UnexpectedError, "%v", err)
			}
		}
		x.pubP = PublicKeyBytes(x.own.PublicKey())
		if st.PublicKeyOOB && len(s.t.DevicePublicKey) != PublicKeyLen {
			return errf(UnexpectedError, "route A2 without the device's OOB public key")
		}
		x.state = WaitPublicKey // set before sending: a bearer may answer at once
		x.send(st.PDU())
		x.send(append([]byte{byte(TypePublicKey)}, x.pubP...))
		if st.PublicKeyOOB {
			return s.keys(s.t.DevicePublicKey)
		}
	case TypePublicKey:
		return s.keys(p)
	case TypeInputComplete:
		return s.confirm()
	case TypeConfirmation:
		if err := x.checkLen(t, p); err != nil {
			return err
		}
		if equal(p, x.conf) {
			return errf(ConfirmationFailed, "the device's Confirmation equals ours (reflection)")
		}
		x.peerConf = append([]byte(nil), p...)
		x.state = WaitRandom
		x.send(append([]byte{byte(TypeRandom)}, x.random...))
	case TypeRandom:
		if err := x.checkLen(t, p); err != nil {
			return err
		}
		if err := x.checkPeer(p); err != nil {
			return err
		}
		x.session = deriveSession(x.secret, x.confSalt, x.random, p)
		if s.t.Data == nil {
			return errf(UnexpectedError, "no provisioning data for this target")
		}
		d, err := s.t.Data(s.capsV.Elements)
		if err != nil {
			return err
		}
		if err := d.Check(s.capsV.Elements); err != nil {
			return err
		}
		sealed, err := sealData(x.session, d)
		if err != nil {
			return errf(UnexpectedError, "%v", err)
		}
		x.result.Data = d
		x.state = WaitComplete
		x.send(append([]byte{byte(TypeData)}, sealed...))
	case TypeComplete:
		x.finish(nil)
		if x.timer != nil {
			x.timer.Stop()
		}
		x.link.Close(CloseSuccess)
	}
	return nil
}

// keys takes the device's public key (in band or OOB), computes the secret
// and runs the authentication step.
func (s *ProvisionerSession) keys(pub []byte) error {
	x := &s.x
	if err := x.ecdh(pub); err != nil {
		return err
	}
	x.pubD = append([]byte(nil), pub...)
	switch x.start.Method {
	case NoOOB, StaticOOB:
		x.auth = authValue(x.start, s.t.StaticOOB, OOBValue{})
		return s.confirm()
	case OutputOOB:
		if s.t.Prompt == nil {
			return errf(UnexpectedError, "output OOB without a Prompt hook")
		}
		x.state = WaitOOB
		s.t.Prompt(OutputAction(x.start.Action), x.start.Size, s.entered)
	case InputOOB:
		if s.t.Show == nil {
			return errf(UnexpectedError, "input OOB without a Show hook")
		}
		v, err := randomOOB(x.rand, x.start)
		if err != nil {
			return errf(UnexpectedError, "drawing the input OOB value: %v", err)
		}
		s.oob = v
		x.auth = authValue(x.start, nil, v)
		x.state = WaitInputComplete
		s.t.Show(InputAction(x.start.Action), v)
	}
	return nil
}

// entered takes what the user read from the device (route B3).
func (s *ProvisionerSession) entered(v OOBValue) {
	x := &s.x
	if x.state != WaitOOB || x.finished {
		return
	}
	s.oob = v
	x.auth = authValue(x.start, nil, v)
	if err := s.confirm(); err != nil {
		s.fail(err)
	}
}

// confirm sends the provisioner's Confirmation.
func (s *ProvisionerSession) confirm() error {
	x := &s.x
	if err := x.makeConfirmation(); err != nil {
		return err
	}
	x.state = WaitConfirmation
	x.send(append([]byte{byte(TypeConfirmation)}, x.conf...))
	return nil
}
