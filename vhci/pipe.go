package vhci

import (
	"fmt"
	"io"
	"sync"
)

// Pipe returns the two ends of an in-memory link: what one end writes the
// other reads, in order. It is how a built-in Go host talks to its
// controller: the same H4 packets as over /dev/vhci, without a kernel.
//
// Packets are copied on write, so callers may reuse their buffers. Writes
// never block (the queue grows as needed), so a single goroutine can write
// to one end and later read the other without deadlocking. Close on either
// end makes the other end's ReadPacket return io.EOF once it has read what
// was already queued; the closing end's own ReadPacket returns io.EOF at
// once, and writes on either end then fail.
func Pipe() (controllerSide, hostSide Transport) {
	p := &pipe{}
	p.cond = sync.NewCond(&p.mu)
	return &pipeEnd{p: p, me: 0, name: "pipe controller"}, &pipeEnd{p: p, me: 1, name: "pipe host"}
}

// pipe is the state shared by both ends, guarded by mu.
type pipe struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  [2][][]byte // queue[i]: packets waiting for end i to read
	closed [2]bool     // end i has been closed
}

type pipeEnd struct {
	p    *pipe
	me   int
	name string
}

var _ Transport = (*pipeEnd)(nil)

func (e *pipeEnd) peer() int { return 1 - e.me }

// ReadPacket returns the next packet written by the other end, blocking
// until there is one.
func (e *pipeEnd) ReadPacket() ([]byte, error) {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.closed[e.me] {
			return nil, io.EOF
		}
		if q := p.queue[e.me]; len(q) > 0 {
			pkt := q[0]
			q[0] = nil
			p.queue[e.me] = q[1:]
			return pkt, nil
		}
		if p.closed[e.peer()] {
			return nil, io.EOF
		}
		p.cond.Wait()
	}
}

// WritePacket queues a copy of pkt for the other end.
func (e *pipeEnd) WritePacket(pkt []byte) error {
	if len(pkt) == 0 {
		return fmt.Errorf("%s: empty packet: an H4 packet starts with its packet-type byte", e.name)
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed[e.me] {
		return fmt.Errorf("%s: %w", e.name, ErrClosed)
	}
	if p.closed[e.peer()] {
		return fmt.Errorf("%s: %w: the other end was closed", e.name, io.ErrClosedPipe)
	}
	p.queue[e.peer()] = append(p.queue[e.peer()], append([]byte(nil), pkt...))
	p.cond.Broadcast()
	return nil
}

// Close closes this end. It is safe to call more than once.
func (e *pipeEnd) Close() error {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed[e.me] {
		p.closed[e.me] = true
		p.queue[e.me] = nil // nobody will read them
		p.cond.Broadcast()
	}
	return nil
}

// Name returns "pipe controller" or "pipe host".
func (e *pipeEnd) Name() string { return e.name }
