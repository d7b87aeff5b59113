package linklayer

import (
	"slices"
	"testing"

	"go.uber.org/zap"

	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// TestConnStress runs many connections with random-ish parameters under 35%
// packet loss, with data both ways, data length, connection parameter and
// channel map updates on the way, then a disconnect: every message must
// arrive exactly once and in order, nothing may be lost to a supervision
// timeout, and the termination must be reported on both sides.
func TestConnStress(t *testing.T) {
	seeds := uint64(80)
	if testing.Short() {
		seeds = 10
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		for _, lat := range []uint16{0, 3} {
			stressOne(t, seed, lat)
		}
	}
}

func stressOne(t *testing.T, seed uint64, lat uint16) {
	w := newWorld(t, seed, zap.NewNop())
	p := defaultConnParams()
	p.Timeout = 400
	p.Latency = lat
	p.Interval = uint16(6 + seed%30)
	p.WinSize = uint8(1 + seed%5)
	p.WinOffset = uint16(seed % 6)
	p.Hop = uint8(5 + seed%12)
	w.connect(p)
	w.m.SetLossRate(0.35)
	if seed%3 == 0 {
		w.cen.cmd(hci.OpLESetDataLength, 1, 251, 2120)
	}
	if seed%4 == 0 {
		w.per.cmd(hci.OpLEConnectionUpdate, 1, 10, 20, 1, 300, 0, 0)
	}
	if seed%5 == 0 {
		w.cen.cmd(hci.OpLESetHostChannelClassification, []byte{0xF0, 0x0F, 0, 0x11, 0})
	}
	const n = 30
	var want [2][][]byte
	for i := range n {
		for side := range 2 {
			want[side] = append(want[side], payload(i+100*side, 1+(i*53+int(seed))%251))
		}
	}
	hosts := [2]*testHost{w.cen, w.per}
	sent := [2]int{}
	limit := w.s.Now().Add(120 * sim.Second)
	for !(w.cen.completedPackets(1) == n && w.per.completedPackets(1) == n) && w.s.Now() < limit {
		for side, h := range hosts {
			for sent[side] < n && sent[side]-h.completedPackets(1) < aclNumDataPackets {
				h.acl(1, hci.PBFirstNonFlushable, want[side][sent[side]])
				sent[side]++
			}
		}
		w.s.RunFor(10 * sim.Millisecond)
		if len(w.cen.disconnections())+len(w.per.disconnections()) > 0 {
			t.Fatalf("seed %d latency %d: disconnected: %v %v", seed, lat, w.cen.disconnections(), w.per.disconnections())
		}
	}
	w.s.RunFor(200 * sim.Millisecond)
	eq := func(a, b [][]byte) bool { return slices.EqualFunc(a, b, slices.Equal) }
	if !eq(want[0], w.per.messages()) || !eq(want[1], w.cen.messages()) {
		t.Fatalf("seed %d latency %d: data mismatch: peripheral got %d messages, central %d",
			seed, lat, len(w.per.messages()), len(w.cen.messages()))
	}

	loc, rem := w.cen, w.per
	if seed%2 == 0 {
		loc, rem = w.per, w.cen
	}
	loc.cmd(hci.OpDisconnect, 1, uint8(0x13))
	w.s.RunFor(10 * sim.Second)
	ld, rd := loc.disconnections(), rem.disconnections()
	if len(ld) != 1 || len(rd) != 1 || ld[0] != hci.StatusLocalHostTerminated ||
		(rd[0] != hci.StatusRemoteUserTerminated && rd[0] != hci.StatusConnectionTimeout) {
		t.Fatalf("seed %d latency %d: disconnections: local %v, remote %v", seed, lat, ld, rd)
	}
}
