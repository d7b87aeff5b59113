package stack

import (
	"errors"

	"go.uber.org/zap"

	"blesim/hosts/mesh/store"
)

// Sequence numbers (§3.4.4.3): 24 bits per IV Index. A node starts an IV
// Update when it has used IVUpdateThreshold of them, and stops sending
// when they run out.
const (
	MaxSeq            = 0xFFFFFF
	IVUpdateThreshold = 0xC00000
)

// ErrSeqExhausted is returned when the node has no sequence number left
// in the current IV Index.
var ErrSeqExhausted = errors.New("mesh stack: sequence numbers exhausted")

// Seq is the next sequence number the node will use.
func (s *Stack) Seq() uint32 { return s.seq }

// SetSeq sets the next sequence number (tests replaying sample data).
func (s *Stack) SetSeq(seq uint32) { s.seq = seq }

// nextSeq allocates a sequence number. When the reserved block runs out
// it reserves the next one and saves the state file first, so a SEQ is
// never used before a restart would skip it.
func (s *Stack) nextSeq() (uint32, error) {
	if s.state == nil {
		return 0, errors.New("mesh stack: not provisioned")
	}
	if s.seq > MaxSeq {
		return 0, ErrSeqExhausted
	}
	if s.seq >= IVUpdateThreshold && !s.Net.IV().Updating {
		s.Net.StartIVUpdate()
	}
	if s.seq >= s.state.SeqLimit {
		s.state.SeqLimit = min(s.seq+s.cfg.SeqBlock, MaxSeq+1)
		if err := s.saveNow(); err != nil {
			return 0, err
		}
	}
	v := s.seq
	s.seq++
	return v, nil
}

// replayOK reports whether a message from src with ivIndex and seq is
// newer than the replay protection list's entry (§3.9.8): a larger IV
// Index, or the same one and a larger SEQ. A new source needs room in
// the list (CRPL).
func (s *Stack) replayOK(src uint16, ivIndex, seq uint32) bool {
	e, ok := s.rpl[src]
	if !ok {
		return len(s.rpl) < int(s.cfg.CRPL)
	}
	return ivIndex > e.IVIndex || (ivIndex == e.IVIndex && seq > e.Seq)
}

// accepted records a message in the replay protection list.
func (s *Stack) accepted(src uint16, ivIndex, seq uint32) {
	if e, ok := s.rpl[src]; ok && (e.IVIndex > ivIndex || (e.IVIndex == ivIndex && e.Seq >= seq)) {
		return
	}
	if _, ok := s.rpl[src]; !ok && len(s.rpl) >= int(s.cfg.CRPL) {
		s.log.Warn("replay protection list full", zap.Uint16("src", src))
		return
	}
	s.rpl[src] = store.RPLEntry{Seq: seq, IVIndex: ivIndex}
	s.dirty()
}

// RPL returns the replay protection list entry of src.
func (s *Stack) RPL(src uint16) (store.RPLEntry, bool) {
	e, ok := s.rpl[src]
	return e, ok
}
