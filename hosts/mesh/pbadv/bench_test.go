package pbadv

import (
	"testing"
	"time"

	"go.uber.org/zap"

	"blesim/hosts/mesh/prov"
	"blesim/linklayer/sim"
)

// provisionOnce provisions one device with both roles in process over an
// in-memory PB-ADV bearer in virtual time and returns the virtual time it
// took.
func provisionOnce(b *testing.B, seed uint64) sim.Duration {
	sched := sim.New(seed)
	air := NewAir(sched)
	log := zap.NewNop()
	var pv *Provisioner
	var dv *Device
	pb, _ := air.Attach(func(ad []byte) { pv.Receive(ad) })
	db, _ := air.Attach(func(ad []byte) { dv.Receive(ad) })
	pv = NewProvisioner(log, sched, pb, seeded(seed), Config{})
	p, _ := prov.NewProvisioner(prov.ProvisionerConfig{Rand: seeded(seed + 1), Sched: sched})
	d, _ := prov.NewDevice(prov.DeviceConfig{Rand: seeded(seed + 2), Sched: sched})
	dv = NewDevice(log, sched, db, uuidN(1), Config{})
	dv.OnLink = func(l *Link) Handler { return d.Open(l) }
	done := false
	l, _ := pv.Open(uuidN(1))
	l.SetHandler(p.Open(l, prov.Target{
		Data: func(uint8) (prov.Data, error) { return prov.Data{Address: 2}, nil },
		Done: func(r prov.Result) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			done = true
		},
	}))
	sched.RunWhile(sim.Time(prov.ProtocolTimeout), func() bool { return !done })
	if !done {
		b.Fatal("not provisioned")
	}
	return sched.Now().Sub(0)
}

// p256PerProvisioning times the P-256 work of one provisioning: each side
// draws a key pair (a scalar base multiplication), validates the peer's
// public key and computes the ECDH secret.
func p256PerProvisioning(n int) time.Duration {
	r := seeded(42)
	peer, _ := prov.NewKey(r)
	peerXY := prov.PublicKeyBytes(peer.PublicKey())
	start := time.Now()
	for range n {
		for range 2 {
			k, _ := prov.NewKey(r)
			pub, _ := prov.ParsePublicKey(peerXY)
			if _, err := k.ECDH(pub); err != nil {
				panic(err)
			}
		}
	}
	return time.Since(start) / time.Duration(n)
}

// BenchmarkProvisioning is one complete provisioning (route A1B1, CMAC):
// both roles in process, PB-ADV over an in-memory bearer with virtual
// time. It reports the virtual time the provisioning takes and the share
// of the wall time spent in P-256 (key generation, key validation, ECDH).
func BenchmarkProvisioning(b *testing.B) {
	var virt sim.Duration
	b.ReportAllocs()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		virt = provisionOnce(b, uint64(i))
	}
	per := time.Since(start) / time.Duration(b.N)
	b.StopTimer()
	p256 := p256PerProvisioning(200)
	b.ReportMetric(float64(virt)/1000, "virtual_ms/op")
	b.ReportMetric(float64(p256.Microseconds()), "p256_us/op")
	b.ReportMetric(100*float64(p256)/float64(per), "p256_%")
}

// BenchmarkProvision1000 provisions 1,000 devices over one shared
// in-memory PB-ADV bearer, 20 links at a time, in virtual time (every
// transmission reaches all 1,001 nodes).
func BenchmarkProvision1000(b *testing.B) {
	const nodes, parallel = 1000, 20
	var virt sim.Duration
	for b.Loop() {
		sched := sim.New(1)
		air := NewAir(sched)
		log := zap.NewNop()
		var pv *Provisioner
		pb, _ := air.Attach(func(ad []byte) { pv.Receive(ad) })
		pv = NewProvisioner(log, sched, pb, seeded(1), Config{})
		p, _ := prov.NewProvisioner(prov.ProvisionerConfig{Rand: seeded(2), Sched: sched})
		for i := range nodes {
			var dv *Device
			db, _ := air.Attach(func(ad []byte) { dv.Receive(ad) })
			d, _ := prov.NewDevice(prov.DeviceConfig{Rand: seeded(uint64(1000 + i)), Sched: sched})
			dv = NewDevice(log, sched, db, uuidN2(i), Config{})
			dv.OnLink = func(l *Link) Handler { return d.Open(l) }
		}
		next, done := 0, 0
		var start func()
		start = func() {
			i := next
			next++
			l, _ := pv.Open(uuidN2(i))
			l.SetHandler(p.Open(l, prov.Target{
				Data: func(uint8) (prov.Data, error) { return prov.Data{Address: uint16(1 + i)}, nil },
				Done: func(r prov.Result) {
					if r.Err != nil {
						b.Fatal(i, r.Err)
					}
					done++
					if next < nodes {
						start()
					}
				},
			}))
		}
		for range parallel {
			start()
		}
		sched.RunWhile(sim.Time(3600*sim.Second), func() bool { return done < nodes })
		if done != nodes {
			b.Fatalf("%d of %d provisioned", done, nodes)
		}
		virt = sched.Now().Sub(0)
	}
	b.ReportMetric(float64(virt)/1e6, "virtual_s")
}

func uuidN2(i int) [16]byte {
	var u [16]byte
	u[0], u[14], u[15] = 0xb0, byte(i>>8), byte(i)
	return u
}
