// Package testrig builds two brought-up built-in hosts on fake controllers,
// connected to each other, for tests of l2cap, att/gatt and profiles.
package testrig

import (
	"testing"

	"go.uber.org/zap"

	"blesim/hosts/hcihost"
	"blesim/hosts/internal/fakectl"
	"blesim/hosts/l2cap"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Pair is a central and a peripheral host, connected.
type Pair struct {
	Sched            *sim.Scheduler
	World            *fakectl.World
	CCtl, PCtl       *fakectl.Controller
	Central, Periph  *hcihost.Host
	CMux, PMux       *l2cap.Mux
	CConn, PConn     *l2cap.Conn
	CClosed, PClosed []hci.Status
	// OnConnect, when set before Connect, runs for each side's new Conn
	// (before any data).
	OnConnect func(c *l2cap.Conn)
}

// New brings up two hosts on fake controllers with opts. Call Connect to
// connect them.
func New(t testing.TB, log *zap.Logger, opts fakectl.Options) *Pair {
	p := &Pair{Sched: sim.New(1)}
	p.World = fakectl.NewWorld(p.Sched)
	p.CCtl = p.World.NewController(hci.BDAddr{0xC1, 0, 0, 0, 0, 0xC0}, opts)
	p.PCtl = p.World.NewController(hci.BDAddr{0xB1, 0, 0, 0, 0, 0xB0}, opts)
	p.Central = hcihost.New(log.Named("central"), p.Sched, p.CCtl.Send)
	p.Periph = hcihost.New(log.Named("periph"), p.Sched, p.PCtl.Send)
	p.CCtl.Attach(p.Central.Receive)
	p.PCtl.Attach(p.Periph.Receive)
	p.CMux = l2cap.NewMux(log.Named("central"), p.Central)
	p.PMux = l2cap.NewMux(log.Named("periph"), p.Periph)
	p.CMux.OnConnect = func(c *l2cap.Conn) {
		p.CConn = c
		if p.OnConnect != nil {
			p.OnConnect(c)
		}
	}
	p.PMux.OnConnect = func(c *l2cap.Conn) {
		p.PConn = c
		if p.OnConnect != nil {
			p.OnConnect(c)
		}
	}
	p.CMux.OnDisconnect = func(_ *l2cap.Conn, r hci.Status) { p.CClosed = append(p.CClosed, r) }
	p.PMux.OnDisconnect = func(_ *l2cap.Conn, r hci.Status) { p.PClosed = append(p.PClosed, r) }
	n := 0
	for _, h := range []*hcihost.Host{p.Central, p.Periph} {
		h.Bringup(func(err error) {
			if err != nil {
				t.Fatalf("bring-up: %v", err)
			}
			n++
		})
	}
	p.Sched.RunFor(sim.Second)
	if n != 2 {
		t.Fatalf("bring-up did not finish")
	}
	return p
}

// Connect connects the two and runs until both sides have their Conn.
func (p *Pair) Connect(t testing.TB) {
	p.World.Connect(p.CCtl, p.PCtl)
	p.Sched.RunFor(10 * sim.Millisecond)
	if p.CConn == nil || p.PConn == nil {
		t.Fatalf("connection not established")
	}
}

// Run runs the simulation for d.
func (p *Pair) Run(d sim.Duration) { p.Sched.RunFor(d) }

// NoViolations fails the test if either fake controller saw an HCI
// protocol violation.
func (p *Pair) NoViolations(t testing.TB) {
	t.Helper()
	for _, c := range []*fakectl.Controller{p.CCtl, p.PCtl} {
		for _, v := range c.Violations {
			t.Errorf("HCI violation: %s", v)
		}
	}
}
