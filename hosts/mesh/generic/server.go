package generic

import (
	"go.uber.org/zap"

	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/stack"
	"blesim/linklayer/sim"
)

// Change is what the server tells its owner when the OnOff state
// changes.
type Change struct {
	Element int
	OnOff   bool
	Src     uint16 // the client whose Set caused it
}

// Server is a Generic OnOff Server (Mesh Model §3.3.1.2) on one element.
type Server struct {
	st    *stack.Stack
	log   *zap.Logger
	model *stack.Model
	sched *sim.Scheduler

	onOff  bool
	target *bool
	ends   sim.Time
	timer  *sim.Timer

	lastSrc, lastDst uint16
	lastTID          uint8
	lastAt           sim.Time
	haveLast         bool

	// OnChange, when set, is told of every state change.
	OnChange func(Change)
}

// NewServer adds a Generic OnOff Server to element elem of st.
func NewServer(log *zap.Logger, st *stack.Stack, elem int) (*Server, error) {
	s := &Server{st: st, log: log, sched: st.Scheduler()}
	s.model = &stack.Model{ID: access.SIGModel(access.ModelOnOffServer), Handle: s.handle}
	s.timer = s.sched.NewTimer(s.transitionDone)
	return s, st.AddModel(elem, s.model)
}

// Model is the server's model instance.
func (s *Server) Model() *stack.Model { return s.model }

// OnOff is the present state.
func (s *Server) OnOff() bool { return s.onOff }

// Set changes the state locally (a button on the device) and publishes
// the status.
func (s *Server) Set(v bool) { s.apply(v, 0) }

func (s *Server) status() Status {
	st := Status{Present: s.onOff}
	if s.target != nil {
		t := *s.target
		st.Target = &t
		st.Remaining = TransitionFor(s.ends.Sub(s.sched.Now()))
	}
	return st
}

func (s *Server) apply(v bool, src uint16) {
	s.timer.Stop()
	s.target = nil
	if v == s.onOff {
		return
	}
	s.onOff = v
	if s.OnChange != nil {
		s.OnChange(Change{Element: s.model.Element(), OnOff: v, Src: src})
	}
	if err := s.st.Publish(s.model, access.NewMessage(OpOnOffStatus, s.status().Marshal())); err != nil {
		s.log.Debug("OnOff Status not published", zap.Error(err))
	}
}

func (s *Server) transitionDone() {
	if s.target != nil {
		s.apply(*s.target, s.lastSrc)
	}
}

func (s *Server) handle(ctx *stack.Context, m access.Message) bool {
	switch m.Opcode {
	case OpOnOffGet:
		if len(m.Params) == 0 {
			s.reply(ctx)
		}
	case OpOnOffSet, OpOnOffSetUnack:
		set, err := ParseSet(m.Params)
		if err != nil {
			s.log.Debug("OnOff Set ignored", zap.Error(err))
			return true
		}
		now := s.sched.Now()
		repeat := s.haveLast && s.lastSrc == ctx.Src && s.lastDst == ctx.Dst && s.lastTID == set.TID &&
			now.Sub(s.lastAt) < TIDWindow
		s.lastSrc, s.lastDst, s.lastTID, s.lastAt, s.haveLast = ctx.Src, ctx.Dst, set.TID, now, true
		if !repeat {
			s.execute(set, ctx.Src)
		}
		if m.Opcode == OpOnOffSet {
			s.reply(ctx)
		}
	default:
		return false
	}
	return true
}

// execute starts the change: at once, or after the delay (5 ms steps)
// and transition time (Mesh Model §3.3.1.2.2).
func (s *Server) execute(set Set, src uint16) {
	var d sim.Duration
	if set.Transition != nil {
		d = sim.Duration(set.Delay)*5*sim.Millisecond + set.Transition.Duration()
	}
	if d == 0 {
		s.apply(set.OnOff, src)
		return
	}
	t := set.OnOff
	s.target = &t
	s.ends = s.sched.Now().Add(d)
	s.timer.ResetAfter(d)
}

func (s *Server) reply(ctx *stack.Context) {
	if err := ctx.Reply(access.NewMessage(OpOnOffStatus, s.status().Marshal())); err != nil {
		s.log.Debug("OnOff Status not sent", zap.Error(err))
	}
}
