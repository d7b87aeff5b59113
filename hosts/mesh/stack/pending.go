package stack

import (
	"errors"

	"blesim/hosts/mesh/access"
	"blesim/linklayer/sim"
)

// ErrNoResponse is the outcome of a request whose status never came.
var ErrNoResponse = errors.New("mesh: no response")

// Requests matches a client model's acknowledged requests with their
// status messages (acknowledged messages, §3.7.3): a request sent to an
// address waits for a given status opcode from that address, is sent
// again after Timeout, and fails after Attempts tries.
type Requests struct {
	sched   *sim.Scheduler
	pending []*request
	// Timeout per attempt (default 4 s) and number of attempts
	// (default 3).
	Timeout  sim.Duration
	Attempts int
}

type request struct {
	dst    uint16
	status access.Opcode
	send   func() error
	done   func(access.Message, error)
	left   int
	timer  *sim.Timer
}

// NewRequests returns an empty set on sched.
func NewRequests(sched *sim.Scheduler) *Requests {
	return &Requests{sched: sched, Timeout: 4 * sim.Second, Attempts: 3}
}

// Start sends a request with send and waits for status from dst; done
// gets the status message, or an error (send's, or ErrNoResponse).
func (r *Requests) Start(dst uint16, status access.Opcode, send func() error, done func(access.Message, error)) {
	q := &request{dst: dst, status: status, send: send, done: done, left: max(r.Attempts, 1)}
	q.timer = r.sched.NewTimer(func() { r.attempt(q) })
	r.pending = append(r.pending, q)
	r.attempt(q)
}

func (r *Requests) attempt(q *request) {
	if q.left == 0 {
		r.finish(q, access.Message{}, ErrNoResponse)
		return
	}
	q.left--
	if err := q.send(); err != nil {
		r.finish(q, access.Message{}, err)
		return
	}
	q.timer.ResetAfter(r.Timeout)
}

func (r *Requests) finish(q *request, m access.Message, err error) {
	q.timer.Stop()
	for i, x := range r.pending {
		if x == q {
			r.pending = append(r.pending[:i], r.pending[i+1:]...)
			break
		}
	}
	if q.done != nil {
		q.done(m, err)
	}
}

// Deliver hands a status message from src to the oldest request waiting
// for it; it reports whether one was.
func (r *Requests) Deliver(src uint16, m access.Message) bool {
	for _, q := range r.pending {
		if q.dst == src && q.status == m.Opcode {
			r.finish(q, m, nil)
			return true
		}
	}
	return false
}

// Len is the number of requests waiting.
func (r *Requests) Len() int { return len(r.pending) }
