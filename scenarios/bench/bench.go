// Package bench is blesim's speed and memory benchmark: many virtual
// advertisers and one active scanner on one medium, through the real
// controller code (HCI commands in, LE Advertising Reports out). Both
// `go test -bench` and `blesim bench` run it.
package bench

import (
	"fmt"
	"runtime"
	"syscall"
	"time"

	"blesim/linklayer"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Result is what one run measured.
type Result struct {
	Devices        int
	Simulated      time.Duration
	Wall           time.Duration
	CPU            time.Duration // user+system CPU time of the process during the run
	RealTimeFactor float64       // simulated seconds per wall second
	CPUFactor      float64       // simulated seconds per CPU second (robust on a busy machine)
	BytesPerIdle   float64       // heap per idle (reset, not advertising) controller
	BytesPerAdv    float64       // heap per advertising controller, during the run
	Transmissions  uint64        // packets put on the air
	Reports        int           // LE Advertising Reports the scanner's host got
	ScanResponses  int           // of which SCAN_RSP
	DistinctHeard  int           // advertisers heard at least once
	Events         uint64        // scheduler events run
}

func (r Result) String() string {
	return fmt.Sprintf("simulated %v in %v wall (%v CPU): %.0fx real time (%.0fx per CPU second)\n"+
		"memory: %.1f KiB per idle device, %.1f KiB per advertising device\n"+
		"scheduler: %d events (%.0f ns each)\n"+
		"air: %d transmissions; scanner got %d advertising reports (%d scan responses) from %d of %d advertisers",
		r.Simulated, r.Wall.Round(time.Millisecond), r.CPU.Round(time.Millisecond), r.RealTimeFactor, r.CPUFactor,
		r.BytesPerIdle/1024, r.BytesPerAdv/1024,
		r.Events, float64(r.CPU.Nanoseconds())/float64(max(r.Events, 1)),
		r.Transmissions, r.Reports, r.ScanResponses, r.DistinctHeard, r.Devices)
}

// cpuTime is the process's user+system CPU time (getrusage).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func cmd(c *linklayer.Controller, op hci.Opcode, params []byte) {
	c.FromHost(append([]byte{byte(hci.CommandPacket)}, hci.NewCommand(op, params)...))
}

// Run simulates n advertisers (ADV_IND, 100 ms) spread over a 20 m square
// around one active scanner for secs simulated seconds.
func Run(n, secs int) Result {
	defer TuneGC()()
	s := sim.New(1)
	m := radio.NewMedium(s, radio.DefaultConfig())
	before := heap()
	ctrls := make([]*linklayer.Controller, n)
	for i := range ctrls {
		var a hci.BDAddr
		a[0], a[1], a[2], a[5] = byte(i), byte(i>>8), 0x01, 0xC0
		ctrls[i] = linklayer.New(s, m, linklayer.Config{
			Name:     "adv",
			Address:  a,
			Position: radio.Position{X: float64(i%32) * 0.6, Y: float64(i/32) * 0.6},
		}, nil)
	}
	idle := heap()
	res := Result{Devices: n, Simulated: time.Duration(secs) * time.Second}
	res.BytesPerIdle = float64(idle-before) / float64(n)

	// 100 ms = 160 × 0.625 ms; ADV_IND on all three channels.
	advParams := []byte{160, 0, 160, 0, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0x07, 0x00}
	advData := make([]byte, 32)
	copy(advData, []byte{14, 2, 0x01, 0x06, 10, 0x09, 'b', 'l', 'e', 's', 'i', 'm', '-', 'a', 'd'})
	for _, c := range ctrls {
		cmd(c, hci.OpLESetAdvertisingParameters, advParams)
		cmd(c, hci.OpLESetAdvertisingData, advData)
		cmd(c, hci.OpLESetAdvertisingEnable, []byte{1})
	}
	scanner := linklayer.New(s, m, linklayer.Config{Name: "scanner", Address: hci.BDAddr{1, 2, 3, 4, 5, 6}, Position: radio.Position{X: 9, Y: 9}}, nil)
	heard := make(map[hci.BDAddr]bool)
	scanner.SetHostSink(func(h4 []byte) {
		e := hci.Event(h4[1:])
		if e.Subevent() != hci.LEAdvertisingReport {
			return
		}
		p := e.Params()
		if len(p) < 10 {
			return
		}
		res.Reports++
		if p[2] == 0x04 {
			res.ScanResponses++
		}
		var a hci.BDAddr
		copy(a[:], p[4:10])
		heard[a] = true
	})
	// Unmask LE Meta events (Set Event Mask bit 61; off after reset).
	cmd(scanner, hci.OpSetEventMask, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f})
	// Active scanning, 100 ms interval and window, duplicates not filtered.
	cmd(scanner, hci.OpLESetScanParameters, []byte{0x01, 160, 0, 160, 0, 0x00, 0x00})
	cmd(scanner, hci.OpLESetScanEnable, []byte{1, 0})

	start, cpu0 := time.Now(), cpuTime()
	s.RunFor(sim.Duration(secs) * sim.Second)
	res.Wall = time.Since(start)
	res.CPU = cpuTime() - cpu0
	res.CPUFactor = float64(secs) / res.CPU.Seconds()
	during := heap()
	res.BytesPerAdv = float64(during-before) / float64(n)
	res.RealTimeFactor = float64(secs) / res.Wall.Seconds()
	res.Transmissions = m.Stats().Transmissions
	res.Events = s.Events()
	res.DistinctHeard = len(heard)
	runtime.KeepAlive(ctrls)
	return res
}
