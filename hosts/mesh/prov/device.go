package prov

import (
	"crypto/ecdh"
	"errors"
	"fmt"
	"io"

	"go.uber.org/zap"

	"blesim/linklayer/sim"
)

// DeviceConfig describes an unprovisioned device's side of provisioning.
type DeviceConfig struct {
	// Elements is the number of elements (default 1).
	Elements uint8
	// Algorithms offered (default CMAC and HMAC).
	Algorithms Algorithms
	// OOBKey, when set, is the device's fixed key pair whose public half is
	// available out of band (a QR code, a label): Public Key Type bit 0, used
	// when the provisioner chooses route A2. In band (route A1) the device
	// always draws a fresh key pair for each attempt.
	OOBKey *ecdh.PrivateKey
	// StaticOOB, when set, is the static OOB value (16 octets for CMAC, 32
	// for HMAC; shorter is zero-padded, longer truncated): OOB Type bit 0.
	StaticOOB []byte
	// OnlyOOBAuth sets OOB Type bit 1: the device refuses No OOB.
	OnlyOOBAuth bool
	// OutputSize (1..8) and OutputActions offer output OOB (route B3);
	// Output must then be set.
	OutputSize    uint8
	OutputActions OutputActions
	// InputSize (1..8) and InputActions offer input OOB (route B4); Input
	// must then be set.
	InputSize    uint8
	InputActions InputActions

	// Rand supplies the device's randoms, key pairs and output OOB values
	// (crypto/rand.Reader in production, a seeded source in simulations).
	Rand io.Reader
	// Sched runs the protocol timeout (§5.4.4); nil disables it.
	Sched *sim.Scheduler
	Log   *zap.Logger

	// Attention is told the Attention Timer of the Invite (seconds).
	Attention func(seconds uint8)
	// Output shows v with action (blink v times, display v, ...) (B3).
	Output func(action OutputAction, v OOBValue)
	// Input asks the user to input a value with action (push the button n
	// times, type a number, ...); call enter with it (B4). The device then
	// sends Provisioning Input Complete.
	Input func(action InputAction, size uint8, enter func(OOBValue))
	// Accept, when set, sees the decrypted provisioning data before the
	// device sends Provisioning Complete; an error fails provisioning with
	// its code (an *Error, e.g. OutOfResources) or Unexpected Error.
	Accept func(r Result) error
	// Done reports the outcome of each session, once.
	Done func(r Result)
}

// Device is an unprovisioned device's provisioning role. Each link the
// bearer opens gets a DeviceSession from Open.
type Device struct {
	cfg DeviceConfig
}

// NewDevice checks cfg and returns the device.
func NewDevice(cfg DeviceConfig) (*Device, error) {
	if cfg.Rand == nil {
		return nil, errors.New("provisioning device: no Rand")
	}
	if cfg.Elements == 0 {
		cfg.Elements = 1
	}
	if cfg.Algorithms == 0 {
		cfg.Algorithms = AlgorithmsCMAC | AlgorithmsHMAC
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if len(cfg.StaticOOB) > 32 {
		return nil, fmt.Errorf("provisioning device: static OOB of %d octets (at most 32)", len(cfg.StaticOOB))
	}
	if (cfg.OutputActions&0x1f != 0) != (cfg.OutputSize != 0) || cfg.OutputSize > 8 || (cfg.OutputSize != 0 && cfg.Output == nil) {
		return nil, fmt.Errorf("provisioning device: output OOB needs a size 1..8, actions and an Output hook")
	}
	if (cfg.InputActions&0x0f != 0) != (cfg.InputSize != 0) || cfg.InputSize > 8 || (cfg.InputSize != 0 && cfg.Input == nil) {
		return nil, fmt.Errorf("provisioning device: input OOB needs a size 1..8, actions and an Input hook")
	}
	if cfg.OOBKey != nil && cfg.OOBKey.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("provisioning device: the OOB key is not a P-256 key")
	}
	return &Device{cfg: cfg}, nil
}

// Capabilities is what the device offers (§5.4.1.2).
func (d *Device) Capabilities() Capabilities {
	c := d.cfg
	return Capabilities{
		Elements: c.Elements, Algorithms: c.Algorithms, PublicKeyOOB: c.OOBKey != nil,
		StaticOOB: c.StaticOOB != nil, OnlyOOBAuth: c.OnlyOOBAuth,
		OutputSize: c.OutputSize, OutputActions: c.OutputActions,
		InputSize: c.InputSize, InputActions: c.InputActions,
	}
}

// PublicKey returns X||Y of the device's OOB public key, nil without one:
// what the provisioner needs for route A2.
func (d *Device) PublicKey() []byte {
	if d.cfg.OOBKey == nil {
		return nil
	}
	return PublicKeyBytes(d.cfg.OOBKey.PublicKey())
}

// DeviceSession is one provisioning attempt on one link.
type DeviceSession struct {
	x    exchange
	d    *Device
	caps Capabilities
	oob  OOBValue
}

// Open starts a session on a link the provisioner opened; it waits for the
// Invite.
func (d *Device) Open(l Link) *DeviceSession {
	s := &DeviceSession{d: d, caps: d.Capabilities()}
	s.x.init(d.cfg.Log, d.cfg.Sched, d.cfg.Rand, l, s.timeout)
	s.x.state = WaitInvite
	s.x.done = d.cfg.Done
	s.x.result.Capabilities = s.caps
	return s
}

// State is the session's state.
func (s *DeviceSession) State() State { return s.x.state }

// Result is the outcome, once the session finished.
func (s *DeviceSession) Result() (Result, bool) { return *s.x.result, s.x.finished }

// OOB is the value the device output (B3) or the user entered (B4).
func (s *DeviceSession) OOB() OOBValue { return s.oob }

// LinkClosed tells the session its link closed.
func (s *DeviceSession) LinkClosed(r CloseReason) { s.x.closed(r) }

func (s *DeviceSession) timeout() {
	s.x.log.Info("provisioning protocol timeout", zap.Stringer("state", s.x.state))
	r := CloseTimeout
	switch s.x.state {
	case Complete:
		r = CloseSuccess
	case Failed:
		r = CloseFail
	}
	s.x.finish(&ClosedError{Reason: CloseTimeout, Msg: "no provisioning PDU for 60 s in state " + s.x.state.String()})
	s.x.link.Close(r)
}

// fail sends Provisioning Failed with err's code (§5.4.4) and waits for
// the provisioner to close the link.
func (s *DeviceSession) fail(err error) {
	code := CodeOf(err)
	s.x.log.Info("provisioning failed", zap.Stringer("code", code), zap.Error(err))
	s.x.finish(err) // before sending: the reply may close the link at once
	s.x.send([]byte{byte(TypeFailed), byte(code)})
}

// Receive handles one provisioning PDU from the provisioner.
func (s *DeviceSession) Receive(pdu []byte) {
	if s.x.finished {
		return // after Complete or Failed the device ignores the link
	}
	s.x.touch()
	records := func(t PDUType) bool { return t >= TypeRecordRequest && t <= TypeRecordsList }
	t, p, err := classify(pdu, s.x.state, records)
	if err == nil && t == TypeFailed {
		err = errf(UnexpectedPDU, "Provisioning Failed from a provisioner")
	}
	if err == nil {
		err = s.handle(t, p)
	}
	if err != nil {
		s.fail(err)
	}
}

func (s *DeviceSession) handle(t PDUType, p []byte) error {
	x := &s.x
	switch t {
	case TypeInvite:
		x.invite = append([]byte(nil), p...)
		if s.d.cfg.Attention != nil {
			s.d.cfg.Attention(p[0])
		}
		x.caps = s.caps.Marshal()
		x.state = WaitStart
		x.send(s.caps.PDU())
	case TypeStart:
		st, err := ParseStart(p)
		if err != nil {
			return err
		}
		if err := st.Check(s.caps); err != nil {
			return err
		}
		x.start, x.startRaw = st, append([]byte(nil), p...)
		x.result.Start = st
		if st.PublicKeyOOB {
			x.own = s.d.cfg.OOBKey // route A2: the fixed OOB key
		} else {
			k, err := NewKey(x.rand) // route A1: a fresh key every attempt
			if err != nil {
				return errf(UnexpectedError, "%v", err)
			}
			x.own = k
		}
		x.pubD = PublicKeyBytes(x.own.PublicKey())
		x.state = WaitPublicKey
	case TypePublicKey:
		if err := x.ecdh(p); err != nil {
			return err
		}
		x.pubP = append([]byte(nil), p...)
		then, err := s.authenticate()
		if err != nil {
			return err
		}
		if !x.start.PublicKeyOOB {
			x.send(append([]byte{byte(TypePublicKey)}, x.pubD...))
		}
		then()
	case TypeConfirmation:
		if err := x.checkLen(t, p); err != nil {
			return err
		}
		x.peerConf = append([]byte(nil), p...)
		if err := x.makeConfirmation(); err != nil {
			return err
		}
		x.state = WaitRandom
		x.send(append([]byte{byte(TypeConfirmation)}, x.conf...))
	case TypeRandom:
		if err := x.checkLen(t, p); err != nil {
			return err
		}
		if err := x.checkPeer(p); err != nil {
			return err
		}
		x.session = deriveSession(x.secret, x.confSalt, p, x.random)
		x.state = WaitData
		x.send(append([]byte{byte(TypeRandom)}, x.random...))
	case TypeData:
		d, err := openData(x.session, p)
		if err != nil {
			return err
		}
		if err := d.Check(s.caps.Elements); err != nil {
			return err
		}
		x.result.Data, x.result.DevKey = d, x.session.DevKey
		if s.d.cfg.Accept != nil {
			if err := s.d.cfg.Accept(*x.result); err != nil {
				return err
			}
		}
		x.finish(nil) // before sending: the provisioner closes the link on Complete
		x.send([]byte{byte(TypeComplete)})
	}
	return nil
}

// authenticate prepares step 3 of §5.4.2 on the device side once the
// public keys are exchanged: it sets the AuthValue (or waits for the user)
// and returns what to do after our public key is sent (output the value, or
// ask for input).
func (s *DeviceSession) authenticate() (then func(), err error) {
	x := &s.x
	then = func() {}
	switch x.start.Method {
	case NoOOB, StaticOOB:
		x.auth = authValue(x.start, s.d.cfg.StaticOOB, OOBValue{})
	case OutputOOB:
		v, err := randomOOB(x.rand, x.start)
		if err != nil {
			return nil, errf(UnexpectedError, "drawing the output OOB value: %v", err)
		}
		s.oob = v
		x.auth = authValue(x.start, nil, v)
		then = func() { s.d.cfg.Output(OutputAction(x.start.Action), v) }
	case InputOOB:
		x.state = WaitInput
		return func() { s.d.cfg.Input(InputAction(x.start.Action), x.start.Size, s.entered) }, nil
	}
	x.state = WaitConfirmation
	return then, nil
}

// entered takes the user's input (route B4) and sends Input Complete.
func (s *DeviceSession) entered(v OOBValue) {
	x := &s.x
	if x.state != WaitInput || x.finished {
		return
	}
	s.oob = v
	x.auth = authValue(x.start, nil, v)
	x.state = WaitConfirmation
	x.send([]byte{byte(TypeInputComplete)})
}
