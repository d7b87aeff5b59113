package smp

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"blesim/linklayer/sim"
)

// The passkey probe is a misbehaving LE Secure Connections Passkey Entry
// initiator, for teaching why a passkey must not be reused (Core v5.4
// Vol 3 Part H §2.3.5.6.3). Passkey Entry authenticates the ECDH keys in
// 20 rounds, round i committing to bit i of the passkey: the initiator
// sends Cai = f4(PKax, PKbx, Nai, 0x80|ri), the responder Cbi, then the
// initiator reveals Nai and the responder checks Cai before it reveals
// Nbi. An initiator that does not know the passkey guesses each bit; a
// wrong guess is caught by the responder at that very round (Pairing
// Failed, Confirm Value Failed), which tells the initiator the bit is the
// other value, and a right guess goes on to the next round. Against a
// device with a fixed passkey (printed on a label or a QR code) every
// failed attempt therefore reveals one more bit: at most 20 failures and
// one last successful pairing give the attacker the passkey and a bond.
// The repeated-attempts wait (§2.3.6) slows the probe down (the wait
// doubles) but does not stop it.

// Finding codes reported by the probe about the peer.
const (
	// FindingPasskeyBit: a Passkey Entry round told the probe one bit of
	// the peer's passkey (§2.3.5.6.3).
	FindingPasskeyBit FindingCode = "passkey-bit"
	// FindingPasskeyRevealed: the probe knows every bit of the peer's
	// passkey: the peer reuses a fixed passkey.
	FindingPasskeyRevealed FindingCode = "passkey-revealed"
)

// passkeyBits is the number of Passkey Entry rounds (§2.3.5.6.3): a
// 6-digit passkey fits in 20 bits.
const passkeyBits = 20

// PasskeyProbe is the probe's memory: the passkey bits learned so far.
// It is the Agent of the device while Manager.ProbePasskey runs: asked
// for a passkey, it types the bits it knows and 0 for the others. The
// zero value knows nothing.
type PasskeyProbe struct {
	known    uint32 // values of the learned bits
	mask     uint32 // bit i set: bit i is known
	attempts int
	// Log, when set, receives what the probe learns.
	Log *zap.Logger
}

// Known returns the learned bits: their values and which bits are known.
func (pr *PasskeyProbe) Known() (value, mask uint32) { return pr.known, pr.mask }

// Revealed returns the passkey once every bit is known.
func (pr *PasskeyProbe) Revealed() (uint32, bool) {
	return pr.known, pr.mask == 1<<passkeyBits-1
}

// Attempts returns how many passkeys the probe has typed.
func (pr *PasskeyProbe) Attempts() int { return pr.attempts }

// Guess is the passkey the probe types next: the known bits, 0 elsewhere.
func (pr *PasskeyProbe) Guess() uint32 { return pr.known }

// DisplayPasskey is not expected: the probe is the side that types.
func (pr *PasskeyProbe) DisplayPasskey(Peer, uint32) {}

// RequestPasskey types the current guess.
func (pr *PasskeyProbe) RequestPasskey(Peer) (uint32, bool) {
	pr.attempts++
	return pr.Guess(), true
}

// ConfirmNumber refuses: the probe only plays Passkey Entry.
func (pr *PasskeyProbe) ConfirmNumber(Peer, uint32) bool { return false }

// learn records that bit i is v; it returns false when that contradicts
// what was learned before (the passkey changed), after forgetting it all.
func (pr *PasskeyProbe) learn(i int, v uint32) (fresh, consistent bool) {
	b := uint32(1) << i
	if pr.mask&b != 0 {
		if pr.known&b == v<<i {
			return false, true
		}
		pr.known, pr.mask = 0, 0
		return false, false
	}
	pr.mask |= b
	pr.known = pr.known&^b | v<<i
	return true, true
}

// probeRound tells the probe (when it is this device's agent) the
// outcome of the current Passkey Entry round of an initiator that types:
// passed when the responder revealed Nbi and it matched Cbi, else the
// responder's Pairing Failed reason r. Only Confirm Value Failed while
// waiting for Nbi says something about the bit.
func (s *session) probeRound(passed bool, r Reason) {
	pr, ok := s.m.agent.(*PasskeyProbe)
	p := s.p
	if !ok || p == nil || !s.central || !p.sc || !p.method.Passkey() || !p.method.inputs(true) {
		return
	}
	if !passed && (r != ReasonConfirmValueFailed || s.st != stSCRandom) {
		return
	}
	i := p.round
	v := p.passkey >> i & 1
	if !passed {
		v ^= 1
	}
	fresh, consistent := pr.learn(i, v)
	switch {
	case !consistent:
		s.log.Warn("passkey probe: a bit learned earlier is now wrong: the peer's passkey changed; starting over", zap.Int("bit", i))
	case fresh:
		how := "the peer accepted the guess"
		if !passed {
			how = "the peer rejected the guess " + fmt.Sprint(v^1)
		}
		s.finding(FindingPasskeyBit, fmt.Sprintf("bit %d of the passkey is %d (round %d: %s)", i, v, i+1, how), nil)
	}
	if k, ok := pr.Revealed(); ok && fresh {
		s.finding(FindingPasskeyRevealed, fmt.Sprintf("passkey revealed: %06d (after %d attempts; the peer reuses a fixed passkey, §2.3.5.6.3)", k, pr.attempts), nil)
	}
	if pr.Log != nil {
		pr.Log.Info("passkey probe", zap.Int("round", i+1), zap.Bool("passed", passed), zap.Uint32("bit", v),
			zap.String("known", pr.String()))
	}
}

// String shows the passkey bits from bit 19 down to bit 0, ? where
// unknown.
func (pr *PasskeyProbe) String() string {
	b := make([]byte, passkeyBits)
	for i := range passkeyBits {
		c := byte('?')
		if pr.mask>>i&1 == 1 {
			c = '0' + byte(pr.known>>i&1)
		}
		b[passkeyBits-1-i] = c
	}
	return string(b)
}

// ProbeOptions pace Manager.ProbePasskey.
type ProbeOptions struct {
	// Retry is the wait after a failed attempt before the next one
	// (default 1 s); it doubles each time the peer answers Repeated
	// Attempts, up to MaxRetry (default 256 s).
	Retry, MaxRetry sim.Duration
	// MaxAttempts bounds the pairings tried (default 64).
	MaxAttempts int
}

// ErrProbeGaveUp is returned by ProbePasskey after MaxAttempts pairings.
var ErrProbeGaveUp = errors.New("smp: passkey probe: no pairing succeeded within the attempts allowed")

// ProbePasskey runs the passkey probe on a central's connection: it pairs
// again and again as a KeyboardOnly device (LE Secure Connections, MITM,
// bonding), typing the bits it has learned and 0 for the others, until a
// pairing succeeds — every bit is then known — or fails for a reason that
// is not a wrong passkey. After Pairing Failed Repeated Attempts (§2.3.6)
// it waits twice as long as before and tries again. pr (nil: a new one)
// is the device's agent meanwhile. done gets the passkey, or why the
// probe stopped.
func (m *Manager) ProbePasskey(handle uint16, pr *PasskeyProbe, o ProbeOptions, done func(passkey uint32, err error)) {
	if pr == nil {
		pr = &PasskeyProbe{}
	}
	if o.Retry <= 0 {
		o.Retry = sim.Second
	}
	if o.MaxRetry <= 0 {
		o.MaxRetry = 256 * sim.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 64
	}
	saved := m.agent
	m.agent = pr
	finish := func(k uint32, err error) {
		if m.agent == pr {
			m.agent = saved
		}
		done(k, err)
	}
	opts := &PairOptions{Bond: true, LESecure: true, MITM: true, IO: KeyboardOnly}
	wait := o.Retry
	tries := 0
	var attempt func()
	attempt = func() {
		if tries >= o.MaxAttempts {
			finish(0, fmt.Errorf("%w (%d pairings; learned %s)", ErrProbeGaveUp, tries, pr))
			return
		}
		tries++
		m.PairThen(handle, opts, func(err error) {
			switch {
			case err == nil:
				k, ok := pr.Revealed()
				if !ok {
					finish(0, fmt.Errorf("smp: passkey probe: paired without Passkey Entry rounds (learned %s)", pr))
					return
				}
				m.log.Info(fmt.Sprintf("passkey probe: passkey %06d revealed in %d pairings", k, tries))
				finish(k, nil)
				return
			case errors.Is(err, ReasonRepeatedAttempts):
				wait = min(2*wait, o.MaxRetry)
			case !errors.Is(err, ReasonConfirmValueFailed):
				finish(0, fmt.Errorf("smp: passkey probe stopped: %w", err))
				return
			}
			m.sched.After(wait, func() {
				if _, err := m.session(handle); err != nil {
					finish(0, fmt.Errorf("smp: passkey probe stopped: %w", err))
					return
				}
				attempt()
			})
		})
	}
	attempt()
}
