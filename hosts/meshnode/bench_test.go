package meshnode

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"blesim/hosts/mesh"
	"blesim/hosts/mesh/pbadv"
	"blesim/hosts/mesh/prov"
	"blesim/linklayer/sim"
)

// benchResult is one run of the provision-and-configure benchmark.
type benchResult struct {
	nodes      int
	configured int
	virtual    sim.Duration
	wall       time.Duration
	cpu        time.Duration // process CPU time (all threads, GC included)
	events     uint64
	sent       int
}

// provisionOnAir provisions and configures n nodes over the in-memory
// advertising medium (every transmission reaches all n+1 hosts after
// 10 ms): the provisioner knows the UUIDs (a commissioning list) and runs
// `parallel` links at a time; each node is then configured (Composition
// Data Get, AppKey Add, Model App Bind).
func provisionOnAir(tb testing.TB, n, parallel int) benchResult {
	log := zap.NewNop()
	sched := sim.New(1)
	air := pbadv.NewAir(sched)
	var p *Provisioner
	pb, _ := air.Attach(func(ad []byte) { p.ReceiveAD(ad) })
	p, err := NewProvisionerOnBearer(log, sched, pb, ProvisionerConfig{NetKey: testNetKey, AppKey: testAppKey, Parallel: parallel})
	if err != nil {
		tb.Fatal(err)
	}
	configured := 0
	p.OnEvent = func(e Event) {
		if c, ok := e.(NodeConfigured); ok {
			if c.Err != nil {
				tb.Errorf("node %#04x: %v", c.Address, c.Err)
			}
			configured++
		}
	}
	nodes := make([]*Node, n)
	for i := range nodes {
		b, _ := air.Attach(func(ad []byte) { nodes[i].ReceiveAD(ad) })
		nd, err := NewNodeOnBearer(log, sched, b, NodeConfig{UUID: uuidOf(i), BeaconInterval: 10 * time.Second})
		if err != nil {
			tb.Fatal(err)
		}
		nodes[i] = nd
	}
	start, cpu0 := time.Now(), cpuTime()
	p.Start()
	for i, nd := range nodes {
		nd.Start()
		p.Provision(uuidOf(i))
	}
	sched.RunWhile(sim.Time(3600*sim.Second), func() bool { return configured < n })
	r := benchResult{nodes: n, configured: configured, virtual: sched.Now().Sub(0), wall: time.Since(start),
		cpu: cpuTime() - cpu0, events: sched.Events(), sent: air.Sent}
	runtime.KeepAlive(nodes)
	return r
}

// p256Cost times the P-256 work of one provisioning: each side draws a
// key pair, parses and checks the peer's public key and computes the ECDH
// secret.
func p256Cost(k int) time.Duration {
	r := mesh.RandReader(sim.New(9).Rand())
	peer, _ := prov.NewKey(r)
	peerXY := prov.PublicKeyBytes(peer.PublicKey())
	start := time.Now()
	for range k {
		for range 2 {
			key, _ := prov.NewKey(r)
			pub, _ := prov.ParsePublicKey(peerXY)
			if _, err := key.ECDH(pub); err != nil {
				panic(err)
			}
		}
	}
	return time.Since(start) / time.Duration(k)
}

func report(b *testing.B, r benchResult) {
	p256 := p256Cost(200) * time.Duration(r.nodes)
	b.ReportMetric(r.wall.Seconds(), "wall_s")
	b.ReportMetric(r.cpu.Seconds(), "cpu_s")
	b.ReportMetric(r.virtual.Std().Seconds(), "virtual_s")
	b.ReportMetric(100*p256.Seconds()/r.wall.Seconds(), "p256_%")
	b.ReportMetric(float64(r.configured), "nodes_configured")
	b.ReportMetric(float64(r.sent), "transmissions")
	b.Logf("%d nodes provisioned and configured in %.1f s virtual, %.2f s wall, %.2f s CPU (P-256 %.2f s = %.1f %% of wall), %d scheduler events, %d transmissions",
		r.configured, r.virtual.Std().Seconds(), r.wall.Seconds(), r.cpu.Seconds(), p256.Seconds(), 100*p256.Seconds()/r.wall.Seconds(), r.events, r.sent)
}

// BenchmarkProvisionConfigure1000Air is issue 4's "Measured" figure on the
// in-memory medium: the built-in provisioner provisions and configures
// 1,000 virtual nodes over PB-ADV in virtual time (pure host stacks).
func BenchmarkProvisionConfigure1000Air(b *testing.B) {
	var r benchResult
	for b.Loop() {
		r = provisionOnAir(b, 1000, 20)
	}
	if r.configured != 1000 {
		b.Fatalf("%d of 1000 configured", r.configured)
	}
	report(b, r)
}

// TestProvisionConfigureAirSmall is the benchmark's workload at 50 nodes,
// as a test.
func TestProvisionConfigureAirSmall(t *testing.T) {
	r := provisionOnAir(t, 50, 10)
	if r.configured != 50 {
		t.Fatalf("%d of 50 configured", r.configured)
	}
	t.Logf("50 nodes: %.1f s virtual, %v wall", r.virtual.Std().Seconds(), r.wall)
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
