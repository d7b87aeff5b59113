package meshnode

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
)

// provisionOnLinkLayer provisions and configures n nodes through real
// virtual controllers on the radio medium: every host on its own
// controller (advertising bearer over HCI, passive scanning), nodes on a
// grid 0.6 m apart around the provisioner. The provisioner knows the
// UUIDs (a commissioning list); the devices still beacon every
// beaconEvery.
func provisionOnLinkLayer(tb testing.TB, n, parallel, transmissions int, beaconEvery time.Duration) benchResult {
	log := zap.NewNop()
	w := newWorld(tb, 1)
	var pev []Event
	p := w.provisioner(log, ProvisionerConfig{Parallel: parallel, Transmissions: transmissions}, &pev)
	configured, ok, failed := 0, 0, map[[16]byte]int{}
	p.OnEvent = func(e Event) {
		switch e := e.(type) {
		case NodeConfigured:
			if e.Err != nil {
				tb.Logf("%v: node %#04x: %v", w.s.Now(), e.Address, e.Err)
			} else {
				ok++
			}
			configured++
		case ProvisioningFailed:
			failed[e.UUID]++
			tb.Logf("%v: %x: %v", w.s.Now(), e.UUID[14:], e.Err)
			if failed[e.UUID] == maxAttempts {
				configured++ // given up: the run ends without it
			}
		}
	}
	side := int(math.Ceil(math.Sqrt(float64(n))))
	nodes := make([]*Node, n)
	for i := range nodes {
		pos := radio.Position{X: float64(i%side)*0.6 - float64(side)*0.3, Y: float64(i/side)*0.6 - float64(side)*0.3}
		var evs []Event
		nodes[i] = w.node(log, pos, NodeConfig{Name: fmt.Sprintf("n%d", i), UUID: uuidOf(i), BeaconInterval: beaconEvery,
			Transmissions: transmissions}, &evs)
		nodes[i].OnEvent = nil
	}
	start, cpu0 := time.Now(), cpuTime()
	p.Start()
	for i, nd := range nodes {
		nd.Start()
		p.Provision(uuidOf(i))
	}
	w.s.RunWhile(sim.Time(4*3600*sim.Second), func() bool { return configured < n })
	return benchResult{nodes: n, configured: ok, virtual: w.s.Now().Sub(0), wall: time.Since(start), cpu: cpuTime() - cpu0,
		events: w.s.Events(), sent: int(w.m.Stats().Transmissions)}
}

func llNodes() int {
	if v, err := strconv.Atoi(os.Getenv("BLESIM_MESH_LL_NODES")); err == nil && v > 0 {
		return v
	}
	return 100
}

// BenchmarkProvisionConfigureLinkLayer runs the provision-and-configure
// workload through virtual controllers and the radio medium: 100 nodes
// by default, BLESIM_MESH_LL_NODES=1000 for the full size (the
// provisioner's advertising bearer, about 13 PDUs a second with 3 events
// per PDU, sets the virtual time).
func BenchmarkProvisionConfigureLinkLayer(b *testing.B) {
	n := llNodes()
	var r benchResult
	for b.Loop() {
		r = provisionOnLinkLayer(b, n, 8, 2, 20*time.Second)
	}
	if r.configured != n {
		b.Fatalf("%d of %d configured", r.configured, n)
	}
	report(b, r)
}
