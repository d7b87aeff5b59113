package pbadv

import (
	"blesim/linklayer/sim"
)

// Air is an in-memory advertising medium for tests and benchmarks: what
// one attached node sends reaches every other node after Latency, unless
// Drop says it is lost. It stands in for controllers and the radio when
// only the mesh layers are under test; scenarios use real controllers.
type Air struct {
	sched *sim.Scheduler
	nodes []func(ad []byte)

	// Latency is the delay from Send to delivery (default 10 ms, about an
	// advertising event).
	Latency sim.Duration
	// Drop, when set, decides whether node to misses ad sent by node from.
	Drop func(from, to int, ad []byte) bool
	// Tap, when set, sees every transmission.
	Tap func(from int, ad []byte)
	// Sent counts transmissions.
	Sent int
}

// NewAir returns an empty medium on sched.
func NewAir(sched *sim.Scheduler) *Air {
	return &Air{sched: sched, Latency: 10 * sim.Millisecond}
}

// Attach adds a node that receives with rx and returns its bearer and its
// index.
func (a *Air) Attach(rx func(ad []byte)) (Bearer, int) {
	a.nodes = append(a.nodes, rx)
	i := len(a.nodes) - 1
	return airBearer{a, i}, i
}

type airBearer struct {
	a    *Air
	from int
}

// Send broadcasts ad to every other node.
func (b airBearer) Send(ad []byte) {
	a := b.a
	a.Sent++
	if a.Tap != nil {
		a.Tap(b.from, ad)
	}
	c := append([]byte(nil), ad...)
	a.sched.After(a.Latency, func() {
		for to, rx := range a.nodes {
			if to == b.from || (a.Drop != nil && a.Drop(b.from, to, c)) {
				continue
			}
			rx(c)
		}
	})
}
