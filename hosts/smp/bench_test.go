package smp_test

import (
	"crypto/rand"
	"testing"
	"time"

	"blesim/hosts/crypto/smpcrypto"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
)

// BenchmarkSCPairing runs complete LE Secure Connections Just Works
// pairings between two built-in hosts over the fake controller (feature
// exchange, public keys, confirm/random, DHKey checks, encryption start,
// identity and signing key distribution, bond stores) and, in the same
// run, the P-256 work alone (two key generations and two ECDH
// computations with point checks). Metrics: ns/op is one pairing,
// p256-ns/op the P-256 work of one pairing, x_p256 their ratio.
func BenchmarkSCPairing(b *testing.B) {
	r := newRig(b, &smp.Config{Bonding: true, IOCap: smp.NoInputNoOutput, Rand: rand.Reader},
		&smp.Config{Bonding: true, IOCap: smp.NoInputNoOutput, Rand: rand.Reader})
	r.connect()
	h := r.CConn.Handle
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := len(r.CEv)
		if err := r.C.Pair(h, nil); err != nil {
			b.Fatal(err)
		}
		if !r.Sched.RunWhile(r.Sched.Now().Add(10*sim.Second), func() bool { return r.C.Pairing(h) || r.P.Pairing(r.PConn.Handle) }) {
			b.Fatal("pairing did not finish")
		}
		if len(events[smp.PairingComplete](r.CEv[n:])) != 1 {
			b.Fatalf("pairing %d failed: %v", i, r.CEv[n:])
		}
		r.CEv, r.PEv = r.CEv[:0], r.PEv[:0]
	}
	b.StopTimer()
	pairing := float64(b.Elapsed().Nanoseconds()) / float64(b.N)

	start := time.Now()
	for i := 0; i < b.N; i++ {
		p256Work(b)
	}
	p256 := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(p256, "p256-ns/op")
	b.ReportMetric(pairing/p256, "x_p256")
}

// p256Work is the P-256 part of one pairing: both devices' key pairs and
// both DHKeys (each validating the peer's point).
func p256Work(b *testing.B) {
	a, err := smpcrypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	c, err := smpcrypto.GenerateKeyPair(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	k1, err := a.DHKey(c.Public)
	if err != nil {
		b.Fatal(err)
	}
	k2, err := c.DHKey(a.Public)
	if err != nil || k1 != k2 {
		b.Fatal("DHKeys differ", err)
	}
}

// BenchmarkP256 is the P-256 work of one pairing on its own.
func BenchmarkP256(b *testing.B) {
	for i := 0; i < b.N; i++ {
		p256Work(b)
	}
}
