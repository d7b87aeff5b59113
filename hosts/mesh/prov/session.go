package prov

import (
	"crypto/ecdh"
	"fmt"
	"io"

	"go.uber.org/zap"

	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/linklayer/sim"
)

// ProtocolTimeout is the provisioning protocol timeout (§5.4.4): a session
// that neither sends nor receives a PDU for this long fails and closes its
// link.
const ProtocolTimeout = 60 * sim.Second

// CloseReason is why a provisioning link closes: the PB-ADV Link Close
// reasons (§5.3.1.4), also used for PB-GATT disconnections.
type CloseReason uint8

// Link close reasons.
const (
	CloseSuccess CloseReason = 0x00
	CloseTimeout CloseReason = 0x01
	CloseFail    CloseReason = 0x02
)

func (r CloseReason) String() string {
	switch r {
	case CloseSuccess:
		return "success"
	case CloseTimeout:
		return "timeout"
	case CloseFail:
		return "fail"
	}
	return fmt.Sprintf("reason %#02x (unrecognized)", uint8(r))
}

// Link is a provisioning bearer link as the protocol sees it (§5.2): it
// carries whole provisioning PDUs, reliably and in order (PB-ADV
// transactions, PB-GATT proxy PDUs), and can be closed. The bearer calls the
// session's Receive for every PDU from the peer and LinkClosed when the link
// goes away.
type Link interface {
	Send(pdu []byte)
	Close(reason CloseReason)
}

// ClosedError is the result of a session whose link closed (or timed out)
// before provisioning completed.
type ClosedError struct {
	Reason CloseReason
	Msg    string
}

func (e *ClosedError) Error() string {
	return fmt.Sprintf("provisioning: link closed (%v): %s", e.Reason, e.Msg)
}

// Result is the outcome of one provisioning session.
type Result struct {
	Capabilities Capabilities // as the device offered them
	Start        Start        // as the provisioner chose
	Data         Data         // the provisioning data (on success)
	DevKey       mcrypto.Key  // the new node's device key (on success)
	// Err is nil on success. Otherwise an *Error (CodeOf gives the code the
	// device sent in Provisioning Failed, or the code that describes why the
	// provisioner closed the link) or a *ClosedError.
	Err error
	// Remote is set on the provisioner when Err is the device's Provisioning
	// Failed.
	Remote bool
}

// State is where a session is in the protocol (§5.4.2).
type State uint8

// Session states. The device goes WaitInvite → WaitStart → WaitPublicKey →
// (WaitInput) → WaitConfirmation → WaitRandom → WaitData → Complete; the
// provisioner WaitCapabilities → (WaitPublicKey) → (WaitOOB |
// WaitInputComplete) → WaitConfirmation → WaitRandom → WaitComplete →
// Complete. Either may end in Failed.
const (
	WaitInvite State = iota
	WaitCapabilities
	WaitStart
	WaitPublicKey
	WaitInput         // device, route B4: the user has not entered the value yet
	WaitOOB           // provisioner, route B3: the user has not entered the device's output yet
	WaitInputComplete // provisioner, route B4
	WaitConfirmation
	WaitRandom
	WaitData
	WaitComplete
	Complete
	Failed
)

func (s State) String() string {
	names := [...]string{"WaitInvite", "WaitCapabilities", "WaitStart", "WaitPublicKey", "WaitInput",
		"WaitOOB", "WaitInputComplete", "WaitConfirmation", "WaitRandom", "WaitData", "WaitComplete",
		"Complete", "Failed"}
	if int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// expects is the PDU a state waits for (ok false: none).
func (s State) expects() (PDUType, bool) {
	switch s {
	case WaitInvite:
		return TypeInvite, true
	case WaitCapabilities:
		return TypeCapabilities, true
	case WaitStart:
		return TypeStart, true
	case WaitPublicKey:
		return TypePublicKey, true
	case WaitInputComplete:
		return TypeInputComplete, true
	case WaitConfirmation:
		return TypeConfirmation, true
	case WaitRandom:
		return TypeRandom, true
	case WaitData:
		return TypeData, true
	case WaitComplete:
		return TypeComplete, true
	}
	return 0, false
}

// exchange is what both roles accumulate (§5.4.2.4): the confirmation
// inputs, the keys, the AuthValue, the randoms and the derived secrets.
type exchange struct {
	log   *zap.Logger
	rand  io.Reader
	link  Link
	state State
	start Start

	invite, caps, startRaw []byte // ConfirmationInputs parts
	pubP, pubD             []byte // X||Y of the provisioner's and device's keys
	own                    *ecdh.PrivateKey
	secret                 []byte // ECDHSecret
	auth                   []byte // AuthValue
	confSalt, confKey      []byte
	random, conf           []byte // own
	peerConf               []byte
	session                sessionSecrets

	timer    *sim.Timer
	result   *Result
	done     func(Result)
	finished bool
}

func (x *exchange) init(log *zap.Logger, sched *sim.Scheduler, r io.Reader, l Link, onTimeout func()) {
	x.log, x.rand, x.link = log, r, l
	if sched != nil {
		x.timer = sched.NewTimer(onTimeout)
		x.timer.ResetAfter(ProtocolTimeout)
	}
	x.result = &Result{}
}

// touch restarts the protocol timer after a PDU went in or out.
func (x *exchange) touch() {
	if x.timer != nil {
		x.timer.ResetAfter(ProtocolTimeout)
	}
}

func (x *exchange) send(pdu []byte) {
	x.log.Debug("send", zap.Stringer("pdu", PDUType(pdu[0])), zap.Int("len", len(pdu)))
	x.touch()
	x.link.Send(pdu)
}

// confirmationInputs is Invite || Capabilities || Start || PublicKeyProvisioner
// || PublicKeyDevice, 145 octets of parameters (§5.4.2.4).
func (x *exchange) confirmationInputs() []byte {
	in := make([]byte, 0, 1+CapabilitiesLen+StartLen+2*PublicKeyLen)
	for _, p := range [][]byte{x.invite, x.caps, x.startRaw, x.pubP, x.pubD} {
		in = append(in, p...)
	}
	return in
}

// makeConfirmation draws our random and computes the confirmation salt,
// key and our confirmation value.
func (x *exchange) makeConfirmation() error {
	a := x.start.Algorithm
	x.confSalt = confirmationSalt(a, x.confirmationInputs())
	x.confKey = confirmationKey(a, x.secret, x.confSalt, x.auth)
	x.random = make([]byte, a.AuthSize())
	if _, err := io.ReadFull(x.rand, x.random); err != nil {
		return errf(UnexpectedError, "drawing the random: %v", err)
	}
	x.conf = confirmation(a, x.confKey, x.random, x.auth)
	return nil
}

// checkPeer checks the peer's Random against its Confirmation.
func (x *exchange) checkPeer(random []byte) error {
	if equal(random, x.random) {
		return errf(ConfirmationFailed, "the peer's Random equals ours (reflection)")
	}
	if !equal(confirmation(x.start.Algorithm, x.confKey, random, x.auth), x.peerConf) {
		return errf(ConfirmationFailed, "the peer's Confirmation does not match its Random and the AuthValue")
	}
	return nil
}

// ecdh validates the peer's X||Y and computes the shared secret.
func (x *exchange) ecdh(peer []byte) error {
	k, err := ParsePublicKey(peer)
	if err != nil {
		return errf(UnexpectedError, "%v", err)
	}
	if equal(peer, PublicKeyBytes(x.own.PublicKey())) {
		return errf(InvalidFormat, "the peer's public key is our own")
	}
	s, err := x.own.ECDH(k)
	if err != nil {
		return errf(UnexpectedError, "ECDH: %v", err)
	}
	x.secret = s
	return nil
}

// finish records the outcome once and reports it.
func (x *exchange) finish(err error) {
	if x.finished {
		return
	}
	x.finished = true
	x.result.Err = err
	if err == nil {
		x.state = Complete
		x.result.DevKey = x.session.DevKey
	} else {
		x.state = Failed
	}
	if x.done != nil {
		x.done(*x.result)
	}
}

// closed handles the bearer closing the link.
func (x *exchange) closed(r CloseReason) {
	if x.timer != nil {
		x.timer.Stop()
	}
	x.finish(&ClosedError{Reason: r, Msg: "in state " + x.state.String()})
}

// checkLen checks a Confirmation or Random against the algorithm's size.
func (x *exchange) checkLen(t PDUType, p []byte) error {
	if n := x.start.Algorithm.AuthSize(); len(p) != n {
		return errf(InvalidFormat, "%v of %d octets with %v (want %d)", t, len(p), x.start.Algorithm, n)
	}
	return nil
}

// classify checks a PDU's type against the state: an unknown type is
// InvalidPDU, a known one that is not expected now is UnexpectedPDU, a
// wrong length is InvalidFormat (in that order, as §5.4.4 lists them).
func classify(pdu []byte, st State, unsupported func(PDUType) bool) (PDUType, []byte, error) {
	if len(pdu) == 0 {
		return 0, nil, errf(InvalidFormat, "empty provisioning PDU")
	}
	t := PDUType(pdu[0] & 0x3f)
	if pdu[0]&0xc0 != 0 || t > TypeRecordsList || unsupported(t) {
		return t, nil, errf(InvalidPDU, "%v (octet %#02x)", t, pdu[0])
	}
	if want, ok := st.expects(); (!ok || t != want) && t != TypeFailed {
		return t, nil, errf(UnexpectedPDU, "%v in state %v", t, st)
	}
	return Parse(pdu)
}
