// Package generic is the Generic OnOff Server and Client models (Mesh
// Model v1.1 §3.1.1 state, §3.2.1 messages, §3.3.1.2 server behaviour,
// §3.4.1 client) on a mesh stack, with the transaction identifier (TID)
// handling of the Set messages (§3.2.1.2: a Set repeated with the same
// TID, source and destination within 6 s is the same transaction and is
// not executed again) and the optional transition time and delay.
package generic

import (
	"fmt"

	"blesim/hosts/mesh/access"
	"blesim/linklayer/sim"
)

// Generic OnOff opcodes (Mesh Model §7.1).
const (
	OpOnOffGet      access.Opcode = 0x8201
	OpOnOffSet      access.Opcode = 0x8202
	OpOnOffSetUnack access.Opcode = 0x8203
	OpOnOffStatus   access.Opcode = 0x8204
)

// TIDWindow is how long a (source, destination, TID) identifies one
// transaction (Mesh Model §3.2.1.2).
const TIDWindow = 6 * sim.Second

// Set is the parameters of Generic OnOff Set and Set Unacknowledged
// (§3.2.1.2): the target state, the TID, and optionally a transition time
// and a delay (5 ms steps).
type Set struct {
	OnOff      bool
	TID        uint8
	Transition *TransitionTime
	Delay      uint8
}

// Marshal encodes the parameters.
func (s Set) Marshal() []byte {
	b := []byte{onOff(s.OnOff), s.TID}
	if s.Transition != nil {
		b = append(b, byte(*s.Transition), s.Delay)
	}
	return b
}

// ParseSet decodes Set parameters; an OnOff value other than 0 or 1, or
// an unknown transition time, is an error (the message is ignored).
func ParseSet(p []byte) (Set, error) {
	if len(p) != 2 && len(p) != 4 {
		return Set{}, fmt.Errorf("generic: OnOff Set of %d octets (want 2 or 4)", len(p))
	}
	if p[0] > 1 {
		return Set{}, fmt.Errorf("generic: OnOff %#02x is prohibited", p[0])
	}
	s := Set{OnOff: p[0] == 1, TID: p[1]}
	if len(p) == 4 {
		t := TransitionTime(p[2])
		if t.Steps() == 0x3F {
			return Set{}, fmt.Errorf("generic: transition time %#02x is prohibited", p[2])
		}
		s.Transition, s.Delay = &t, p[3]
	}
	return s, nil
}

// Status is Generic OnOff Status (§3.2.1.4): the present state and, in a
// transition, the target and the remaining time.
type Status struct {
	Present   bool
	Target    *bool
	Remaining TransitionTime
}

// Marshal encodes the status.
func (s Status) Marshal() []byte {
	b := []byte{onOff(s.Present)}
	if s.Target != nil {
		b = append(b, onOff(*s.Target), byte(s.Remaining))
	}
	return b
}

// ParseStatus decodes Generic OnOff Status.
func ParseStatus(p []byte) (Status, error) {
	if (len(p) != 1 && len(p) != 3) || p[0] > 1 {
		return Status{}, fmt.Errorf("generic: bad OnOff Status % x", p)
	}
	s := Status{Present: p[0] == 1}
	if len(p) == 3 {
		t := p[1] == 1
		s.Target, s.Remaining = &t, TransitionTime(p[2])
	}
	return s, nil
}

// TransitionTime is the Generic Default Transition Time format (Mesh
// Model §3.1.3): 6 bits of steps and 2 bits of step resolution (100 ms,
// 1 s, 10 s, 10 min).
type TransitionTime uint8

// Steps is the number of steps (0x3F: unknown).
func (t TransitionTime) Steps() uint8 { return uint8(t) & 0x3F }

// Duration is the time the transition takes.
func (t TransitionTime) Duration() sim.Duration {
	res := [...]sim.Duration{100 * sim.Millisecond, sim.Second, 10 * sim.Second, 600 * sim.Second}[t>>6]
	return sim.Duration(t.Steps()) * res
}

// TransitionFor encodes d with the finest resolution that holds it
// (rounded down), saturating at 62 steps of 10 minutes.
func TransitionFor(d sim.Duration) TransitionTime {
	for i, res := range []sim.Duration{100 * sim.Millisecond, sim.Second, 10 * sim.Second, 600 * sim.Second} {
		if n := d / res; n <= 62 {
			return TransitionTime(uint8(i)<<6 | uint8(n))
		}
	}
	return TransitionTime(3<<6 | 62)
}

func onOff(b bool) byte {
	if b {
		return 1
	}
	return 0
}
