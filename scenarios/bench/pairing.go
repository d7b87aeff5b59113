package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"blesim/hosts/att"
	"blesim/hosts/crypto/smpcrypto"
	"blesim/hosts/profiles"
	"blesim/linklayer/sim"
	"blesim/scenarios/engine"
	"blesim/scenarios/world"
)

// PairingResult is what RunPairings measured.
type PairingResult struct {
	Pairings   int
	Wall, CPU  time.Duration
	PerSecond  float64       // complete pairings per CPU second
	P256       time.Duration // the same run's P-256 work alone, timed separately
	P256Share  float64       // P256 / CPU
	CostVsP256 float64       // CPU per pairing / P-256 per pairing
}

func (r PairingResult) String() string {
	return fmt.Sprintf("%d complete LE Secure Connections pairings (connect, pair Just Works, bond, encrypt, encrypted GATT read, disconnect) in %v CPU: %.0f per CPU second\n"+
		"P-256 work alone (2 key pairs + 2 ECDH per pairing): %v, %.0f%% of the run; a pairing costs %.2fx its P-256 work",
		r.Pairings, r.CPU.Round(time.Millisecond), r.PerSecond, r.P256.Round(time.Millisecond), 100*r.P256Share, r.CostVsP256)
}

const pairingWorld = `devices:
  - name: Central
    profile: central
    address: "00:AA:02:00:00:01"
    address_type: public
  - name: Sensor
    profile: generic
    position: [1, 0]
    adv_interval: 20ms
    services:
      - uuid: "181A"
        characteristics:
          - uuid: "2A6E"
            properties: [read]
            value: "hex:0a09"
            security: encrypted
`

// runPairings plays n rounds in one world: the central connects, reads
// the encrypted characteristic (Insufficient Authentication → it pairs, SC
// Just Works, bonds, encrypts, reads again) and disconnects; then both
// forget the bond and the central scans again. It returns how many rounds
// ended with the encrypted value read after a fresh pairing.
func runPairings(seed uint64, n int) (int, error) {
	w, err := world.Parse("bench.yaml", []byte(pairingWorld))
	if err != nil {
		return 0, err
	}
	w.Seed = seed
	ew, err := engine.Build(w, engine.Options{CentralConfig: func(world.Device) profiles.CentralConfig {
		return profiles.CentralConfig{Target: "Sensor", Read: []att.UUID{att.UUID16(0x2A6E)}, ReadByUUID: true, ConnInterval: 7500 * time.Microsecond}
	}})
	if err != nil {
		return 0, err
	}
	defer ew.Close()
	c, sensor := ew.Device("Central"), ew.Device("Sensor")
	ok, rounds := 0, 0
	paired, read := false, false
	c.OnEvent = func(_ *engine.Device, e profiles.Event) {
		switch ev := e.(type) {
		case profiles.PairingComplete:
			paired = true
		case profiles.Read:
			read = len(ev.Value) == 2
		case profiles.ProceduresDone:
			c.Central.Disconnect()
		case profiles.Disconnected:
			if paired && read {
				ok++
			}
			rounds++
			paired, read = false, false
			if rounds < n {
				_, _ = c.Central.ForgetKeys()
				_, _ = sensor.Host.(engine.KeyForgetter).ForgetKeys()
				c.Central.Scan()
			}
		}
	}
	ew.Start()
	ew.Sched.RunWhile(sim.Time(sim.Duration(n)*10*sim.Second), func() bool { return rounds < n })
	return ok, nil
}

// RunPairings runs n complete pairings, then times the P-256 work of n
// pairings alone, in the same process.
func RunPairings(n int) (PairingResult, error) {
	defer TuneGC()()
	r := PairingResult{Pairings: n}
	start, cpu0 := time.Now(), cpuTime()
	ok, err := runPairings(1, n)
	if err != nil {
		return r, err
	}
	if ok != n {
		return r, fmt.Errorf("only %d of %d rounds completed (pair, encrypted read, disconnect)", ok, n)
	}
	r.Wall, r.CPU = time.Since(start), cpuTime()-cpu0
	rnd := rand.New(rand.NewPCG(1, 2))
	src := readerFunc(func(p []byte) (int, error) {
		for i := range p {
			p[i] = byte(rnd.Uint32())
		}
		return len(p), nil
	})
	p0 := cpuTime()
	for i := 0; i < n; i++ {
		a, err := smpcrypto.GenerateKeyPair(src)
		if err != nil {
			return r, err
		}
		b, err := smpcrypto.GenerateKeyPair(src)
		if err != nil {
			return r, err
		}
		if _, err := a.DHKey(b.Public); err != nil {
			return r, err
		}
		if _, err := b.DHKey(a.Public); err != nil {
			return r, err
		}
	}
	r.P256 = cpuTime() - p0
	r.PerSecond = float64(n) / r.CPU.Seconds()
	r.P256Share = r.P256.Seconds() / r.CPU.Seconds()
	r.CostVsP256 = r.CPU.Seconds() / r.P256.Seconds()
	return r, nil
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
