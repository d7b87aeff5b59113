package smp

import (
	"fmt"

	"go.uber.org/zap"
)

// Peer identifies the other device of a pairing for an Agent.
type Peer struct {
	Handle uint16
	Addr   Address
}

// Agent is the user of a device during pairing (Vol 3 Part H §2.3.5):
// it is shown a passkey, types one, or compares a number. Calls are
// synchronous on the simulation goroutine.
type Agent interface {
	// DisplayPasskey shows the 6-digit passkey the other user must type.
	DisplayPasskey(p Peer, passkey uint32)
	// RequestPasskey asks the user to type the passkey the other device
	// shows; ok false means the user cancelled (Passkey Entry Failed).
	RequestPasskey(p Peer) (passkey uint32, ok bool)
	// ConfirmNumber shows the 6-digit Numeric Comparison value and
	// returns whether the user pressed yes.
	ConfirmNumber(p Peer, number uint32) bool
}

// LogAgent writes the passkey or number to the log, as a device with a
// display would show it. RequestPasskey returns Passkey (the number on a
// label or QR code the user would type) or fails when it is nil;
// ConfirmNumber answers yes unless Reject is set.
type LogAgent struct {
	Log     *zap.Logger
	Passkey *uint32
	Reject  bool
}

// DisplayPasskey logs the passkey.
func (a *LogAgent) DisplayPasskey(p Peer, passkey uint32) {
	a.Log.Info(fmt.Sprintf("pairing: passkey %06d (enter it on the other device)", passkey), zap.Stringer("peer", p.Addr))
}

// RequestPasskey returns the fixed passkey, if any.
func (a *LogAgent) RequestPasskey(p Peer) (uint32, bool) {
	if a.Passkey == nil {
		a.Log.Warn("pairing: passkey requested but none configured", zap.Stringer("peer", p.Addr))
		return 0, false
	}
	a.Log.Info(fmt.Sprintf("pairing: typing the passkey %06d", *a.Passkey), zap.Stringer("peer", p.Addr))
	return *a.Passkey, true
}

// ConfirmNumber logs the number and accepts it unless Reject.
func (a *LogAgent) ConfirmNumber(p Peer, n uint32) bool {
	a.Log.Info(fmt.Sprintf("pairing: numeric comparison %06d", n), zap.Stringer("peer", p.Addr), zap.Bool("accepted", !a.Reject))
	return !a.Reject
}

// ScriptedAgent is a test agent: it records what it was shown and answers
// from its fields.
type ScriptedAgent struct {
	// Passkey answers RequestPasskey; when PasskeyFrom is set it is
	// called instead (e.g. to type what the other device's agent showed).
	Passkey     uint32
	PasskeyFrom func() uint32
	// Cancel makes RequestPasskey fail.
	Cancel bool
	// Reject makes ConfirmNumber answer no.
	Reject bool

	// Async makes the agent an AsyncAgent that holds every request until
	// Answer is called.
	Async bool

	Displayed []uint32 // passkeys shown
	Compared  []uint32 // numbers compared
	Requested int      // RequestPasskey calls

	pending []func()
}

// scriptedAsync is a ScriptedAgent with Async set.
type scriptedAsync struct{ *ScriptedAgent }

func (a scriptedAsync) RequestPasskeyAsync(p Peer, reply func(uint32, bool)) {
	a.pending = append(a.pending, func() { reply(a.RequestPasskey(p)) })
}

func (a scriptedAsync) ConfirmNumberAsync(p Peer, n uint32, reply func(bool)) {
	a.Compared = append(a.Compared, n)
	a.pending = append(a.pending, func() { reply(!a.Reject) })
}

// Answer answers the requests held by an Async agent, oldest first, and
// returns how many there were.
func (a *ScriptedAgent) Answer() int {
	p := a.pending
	a.pending = nil
	for _, fn := range p {
		fn()
	}
	return len(p)
}

// DisplayPasskey records the passkey.
func (a *ScriptedAgent) DisplayPasskey(_ Peer, passkey uint32) {
	a.Displayed = append(a.Displayed, passkey)
}

// RequestPasskey answers from the script.
func (a *ScriptedAgent) RequestPasskey(Peer) (uint32, bool) {
	a.Requested++
	if a.Cancel {
		return 0, false
	}
	if a.PasskeyFrom != nil {
		return a.PasskeyFrom(), true
	}
	return a.Passkey, true
}

// ConfirmNumber records the number and answers !Reject.
func (a *ScriptedAgent) ConfirmNumber(_ Peer, n uint32) bool {
	a.Compared = append(a.Compared, n)
	return !a.Reject
}

// LastDisplayed returns the last passkey shown (0 if none).
func (a *ScriptedAgent) LastDisplayed() uint32 {
	if len(a.Displayed) == 0 {
		return 0
	}
	return a.Displayed[len(a.Displayed)-1]
}
