package engine

import "blesim/linklayer/sim"

// hciLink delivers H4 packets in one direction of a built-in host's HCI
// link, hciLatency after they were sent, in order. One reusable timer and a
// FIFO replace a closure and a timer per packet (the link is the busiest
// path of a pairing-heavy run).
type hciLink struct {
	s       *sim.Scheduler
	deliver func(h4 []byte)
	timer   *sim.Timer
	q       []pending
	head    int
}

type pending struct {
	at  sim.Time
	pkt []byte
}

func newHCILink(s *sim.Scheduler, deliver func([]byte)) *hciLink {
	l := &hciLink{s: s, deliver: deliver}
	l.timer = s.NewTimer(l.fire)
	return l
}

// send queues pkt (owned by the link from now on).
func (l *hciLink) send(pkt []byte) {
	at := l.s.Now().Add(hciLatency)
	l.q = append(l.q, pending{at, pkt})
	if !l.timer.Pending() {
		l.timer.Reset(at)
	}
}

func (l *hciLink) fire() {
	p := l.q[l.head]
	l.q[l.head] = pending{}
	l.head++
	if l.head == len(l.q) {
		l.q, l.head = l.q[:0], 0
	} else {
		l.timer.Reset(l.q[l.head].at)
	}
	l.deliver(p.pkt)
}
