package smp

import (
	"errors"
	"fmt"

	"go.uber.org/zap"
)

// AsyncAgent is an Agent whose user answers later (typing a passkey on a
// real keyboard takes seconds). The Security Manager prefers these
// methods when its agent has them, and holds the pairing — commands from
// the peer that arrive meanwhile wait — until reply is called (on the
// simulation goroutine) or the SMP timeout ends the pairing.
type AsyncAgent interface {
	Agent
	RequestPasskeyAsync(p Peer, reply func(passkey uint32, ok bool))
	ConfirmNumberAsync(p Peer, number uint32, reply func(ok bool))
}

// ErrNothingPending is returned by UserAgent.EnterPasskey and Confirm
// when no pairing waits for the user.
var ErrNothingPending = errors.New("smp: no pairing is waiting for this input")

// UserAgent is a device's user driven from outside the simulation (e.g.
// "blesim ctl NAME passkey 123456"): it logs passkeys and numbers the
// device shows, waits for EnterPasskey when the device must type a
// passkey (unless Passkey is fixed), and accepts numeric comparisons by
// itself unless ManualConfirm. Its methods must run on the simulation
// goroutine (sim.Scheduler.Post).
type UserAgent struct {
	Log           *zap.Logger
	Passkey       *uint32
	ManualConfirm bool

	passkeyReply func(uint32, bool)
	confirmReply func(bool)
}

// DisplayPasskey logs the passkey (six digits).
func (a *UserAgent) DisplayPasskey(p Peer, passkey uint32) {
	a.Log.Info(fmt.Sprintf("pairing: passkey %06d (enter it on the other device)", passkey), zap.Stringer("peer", p.Addr))
}

// RequestPasskey is the synchronous form: the fixed passkey, if any.
func (a *UserAgent) RequestPasskey(p Peer) (uint32, bool) {
	if a.Passkey == nil {
		return 0, false
	}
	return *a.Passkey, true
}

// ConfirmNumber is the synchronous form: yes unless ManualConfirm.
func (a *UserAgent) ConfirmNumber(p Peer, n uint32) bool {
	a.Log.Info(fmt.Sprintf("pairing: numeric comparison %06d", n), zap.Stringer("peer", p.Addr))
	return !a.ManualConfirm
}

// RequestPasskeyAsync types the fixed passkey, or waits for EnterPasskey.
func (a *UserAgent) RequestPasskeyAsync(p Peer, reply func(uint32, bool)) {
	if a.Passkey != nil {
		a.Log.Info(fmt.Sprintf("pairing: typing the passkey %06d", *a.Passkey), zap.Stringer("peer", p.Addr))
		reply(*a.Passkey, true)
		return
	}
	a.Log.Info("pairing: waiting for the user to type the passkey shown on the other device", zap.Stringer("peer", p.Addr))
	a.passkeyReply = reply
}

// ConfirmNumberAsync logs the number and accepts it, or waits for
// Confirm when ManualConfirm.
func (a *UserAgent) ConfirmNumberAsync(p Peer, n uint32, reply func(bool)) {
	a.Log.Info(fmt.Sprintf("pairing: numeric comparison %06d", n), zap.Stringer("peer", p.Addr), zap.Bool("waiting", a.ManualConfirm))
	if !a.ManualConfirm {
		reply(true)
		return
	}
	a.confirmReply = reply
}

// EnterPasskey gives the passkey the user typed.
func (a *UserAgent) EnterPasskey(passkey uint32) error {
	r := a.passkeyReply
	if r == nil {
		return ErrNothingPending
	}
	if passkey > 999999 {
		return fmt.Errorf("smp: passkey %d has more than 6 digits", passkey)
	}
	a.passkeyReply = nil
	r(passkey, true)
	return nil
}

// Confirm answers a numeric comparison.
func (a *UserAgent) Confirm(yes bool) error {
	r := a.confirmReply
	if r == nil {
		return ErrNothingPending
	}
	a.confirmReply = nil
	r(yes)
	return nil
}

// Cancel refuses whatever the user is asked.
func (a *UserAgent) Cancel() error {
	switch {
	case a.passkeyReply != nil:
		r := a.passkeyReply
		a.passkeyReply = nil
		r(0, false)
	case a.confirmReply != nil:
		return a.Confirm(false)
	default:
		return ErrNothingPending
	}
	return nil
}

// Waiting reports whether a passkey or a yes/no is awaited.
func (a *UserAgent) Waiting() (passkey, confirm bool) {
	return a.passkeyReply != nil, a.confirmReply != nil
}
