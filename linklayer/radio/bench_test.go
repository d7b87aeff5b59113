package radio

import (
	"runtime"
	"testing"
	"time"

	"blesim/linklayer/sim"
)

// fakeAdvertiser sends one legacy advertising event per interval: the same
// 39-octet ADV_NONCONN_IND-sized PDU (376 µs of air time) on 37, 38 and 39
// back to back, then waits advInterval + advDelay (0..10 ms, Vol 6 Part B
// §4.4.2.2.1).
type fakeAdvertiser struct {
	s     *sim.Scheduler
	port  *Port
	pdu   []byte
	next  int // channel index within the event
	start sim.Time
	fire  func()
}

const benchAdvInterval = 100 * sim.Millisecond

func (a *fakeAdvertiser) step() {
	if a.next == 0 {
		a.start = a.s.Now()
	}
	end := a.port.Transmit(Packet{Channel: AdvChannel37 + Channel(a.next), AccessAddress: AdvertisingAccessAddress, PDU: a.pdu})
	a.next++
	if a.next < 3 {
		a.s.At(end, a.fire)
		return
	}
	a.next = 0
	a.s.At(a.start.Add(benchAdvInterval+sim.Duration(a.s.Rand().IntN(10001))), a.fire)
}

// fakeScanner listens continuously, moving to the next advertising channel
// every scan window, and answers nothing.
type fakeScanner struct {
	s      *sim.Scheduler
	port   *Port
	ch     Channel
	window sim.Duration
	rx     int
	fire   func()
}

func (sc *fakeScanner) Receive(*Reception) { sc.rx++ }

func (sc *fakeScanner) rotate() {
	sc.ch = AdvChannel37 + (sc.ch-AdvChannel37+1)%3
	sc.port.Listen(sc.ch, AdvertisingAccessAddress)
	sc.s.After(sc.window, sc.fire)
}

type benchWorld struct {
	s       *sim.Scheduler
	m       *Medium
	advs    []*fakeAdvertiser
	scanner *fakeScanner
}

// newBenchWorld puts n advertisers at random points of a 100 m × 100 m
// square (0 dBm) and a scanner in the middle.
func newBenchWorld(seed uint64, n int) *benchWorld {
	s := sim.New(seed)
	m := NewMedium(s, DefaultConfig())
	w := &benchWorld{s: s, m: m}
	for i := range n {
		a := &fakeAdvertiser{s: s, pdu: make([]byte, 39)}
		a.pdu[0], a.pdu[1], a.pdu[2] = 0x02, 37, byte(i)
		a.port = m.Attach(Position{X: s.Rand().Float64() * 100, Y: s.Rand().Float64() * 100}, 0, nil)
		a.fire = a.step
		s.After(sim.Duration(s.Rand().IntN(int(benchAdvInterval))), a.fire)
		w.advs = append(w.advs, a)
	}
	sc := &fakeScanner{s: s, ch: AdvChannel39, window: 50 * sim.Millisecond}
	sc.port = m.Attach(Position{X: 50, Y: 50}, 0, sc)
	sc.fire = sc.rotate
	sc.rotate()
	w.scanner = sc
	return w
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMedium1000Advertisers is the target workload: 1,000 advertisers
// at 100 ms + one scanner for 60 simulated seconds. One op is the whole
// 60 s run. Metrics: x_realtime = simulated seconds per wall second;
// x_realtime_cpu = simulated seconds per second of process CPU time (all
// threads, GC included: the honest figure on a loaded machine);
// B/device = heap per device (port + fake advertiser + its PDU + its
// pending timer) right after set-up; B/device_after = the same after the
// run (with the medium's pools warmed up); rx/s = packets the scanner got
// per simulated second; tx/op = transmissions per run.
func BenchmarkMedium1000Advertisers(b *testing.B) {
	const (
		n   = 1000
		dur = 60 * sim.Second
	)
	b.ReportAllocs()
	var wall, cpu time.Duration
	var perDev, perDevAfter float64
	var rx, tx uint64
	for b.Loop() {
		b.StopTimer()
		before := heapInUse()
		w := newBenchWorld(1, n)
		perDev = float64(heapInUse()-before) / float64(n+1)
		b.StartTimer()

		t0, c0 := time.Now(), processCPU()
		w.s.RunFor(dur)
		wall += time.Since(t0)
		cpu += processCPU() - c0

		b.StopTimer()
		perDevAfter = float64(heapInUse()-before) / float64(n+1)
		rx += uint64(w.scanner.rx)
		tx += w.m.Stats().Transmissions
		runtime.KeepAlive(w)
		b.StartTimer()
	}
	runs := float64(b.N)
	b.ReportMetric(dur.Std().Seconds()*runs/wall.Seconds(), "x_realtime")
	if cpu > 0 {
		b.ReportMetric(dur.Std().Seconds()*runs/cpu.Seconds(), "x_realtime_cpu")
	}
	b.ReportMetric(perDev, "B/device")
	b.ReportMetric(perDevAfter, "B/device_after")
	b.ReportMetric(float64(rx)/runs/dur.Std().Seconds(), "rx/s")
	b.ReportMetric(float64(tx)/runs, "tx/op")
}

// BenchmarkMediumTransmit is one transmission with one listener, delivered.
func BenchmarkMediumTransmit(b *testing.B) {
	s := sim.New(1)
	m := NewMedium(s, DefaultConfig())
	tx := m.Attach(Position{}, 0, nil)
	rx := m.Attach(Position{X: 3}, 0, countRx{new(int)})
	rx.Listen(37, AdvertisingAccessAddress)
	pkt := Packet{Channel: 37, AccessAddress: AdvertisingAccessAddress, PDU: make([]byte, 39)}
	b.ReportAllocs()
	for b.Loop() {
		end := tx.Transmit(pkt)
		s.RunUntil(end)
	}
}
