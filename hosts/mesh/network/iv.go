package network

// IVState is the IV Index and the IV Update flag (§3.11.5): in Normal
// operation a node transmits with Index; while an update is in progress
// (Updating) it transmits with Index-1. In both states it receives with
// Index and Index-1, the IVI bit of a PDU telling which.
type IVState struct {
	Index    uint32
	Updating bool
}

// TxIndex is the IV Index used to transmit.
func (s IVState) TxIndex() uint32 {
	if s.Updating && s.Index > 0 {
		return s.Index - 1
	}
	return s.Index
}

// RxIndex is the IV Index of a received PDU whose IVI bit is ivi.
func (s IVState) RxIndex(ivi bool) uint32 {
	if (s.Index&1 != 0) == ivi || s.Index == 0 {
		return s.Index
	}
	return s.Index - 1
}

// Flags is the Flags field of a Secure Network beacon and of the
// provisioning data: bit 1 is IV Update (Key Refresh, bit 0, is not used).
func (s IVState) Flags() uint8 {
	if s.Updating {
		return 0x02
	}
	return 0
}

// MaxIVJump is how far ahead of its own IV Index a node accepts the IV
// Index of a Secure Network beacon (§3.11.6: IV Index Recovery accepts up
// to 42 more).
const MaxIVJump = 42

// Next is the state after an authenticated Secure Network beacon with
// ivIndex and the IV Update flag updating (§3.11.5, §3.11.6): an update
// starts when the beacon carries Index+1 with the flag set, completes when
// it carries Index without the flag, and a node that fell behind recovers
// to a larger index. Smaller indexes, and jumps of more than MaxIVJump, are
// ignored. ok reports whether the state changes.
func (s IVState) Next(ivIndex uint32, updating bool) (next IVState, ok bool) {
	switch {
	case ivIndex < s.Index || ivIndex > s.Index+MaxIVJump:
		return s, false
	case ivIndex == s.Index:
		if s.Updating && !updating {
			return IVState{Index: s.Index}, true
		}
		return s, false
	}
	// A larger index: the start of an update (Index+1, flag set) or a
	// recovery.
	return IVState{Index: ivIndex, Updating: updating}, true
}
