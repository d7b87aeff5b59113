package linklayer

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Tests of the Scanning state (Core v5.4 Vol 6 Part B §4.4.3) and its HCI
// commands and events (Vol 4 Part E §7.8.10, §7.8.11, §7.7.65.2).

// TestLL_DDI_SCN_BV_01_C_PassiveScanning: a passive scanner reports every
// advertising PDU it may report with the right event type, address type,
// address, data and the RSSI of the medium's path loss model, and sends
// nothing on air.
func TestLL_DDI_SCN_BV_01_C_PassiveScanning(t *testing.T) {
	data := []byte{2, 0x01, 0x06, 3, 0x03, 0x0D, 0x18}
	for _, tc := range []struct {
		name    string
		advType uint8
		own     uint8
		peer    hci.BDAddr // directed target
		pos     radio.Position
		txPower int8
		evt     uint8 // expected report type; 0xFF: no report
	}{
		{"ADV_IND 1 m", advTypeInd, 0, hci.BDAddr{}, radio.Position{X: 1}, 0, reportAdvInd},
		{"ADV_IND 7 m, +4 dBm", advTypeInd, 0, hci.BDAddr{}, radio.Position{X: 3, Y: 4}, 4, reportAdvInd},
		{"ADV_IND random, 30 m, -20 dBm", advTypeInd, 1, hci.BDAddr{}, radio.Position{Y: 30}, -20, reportAdvInd},
		{"ADV_SCAN_IND", advTypeScanInd, 0, hci.BDAddr{}, radio.Position{X: 2}, 0, reportAdvScanInd},
		{"ADV_NONCONN_IND 100 m", advTypeNonconnInd, 0, hci.BDAddr{}, radio.Position{X: 100}, 0, reportAdvNonconnInd},
		{"ADV_DIRECT_IND to the scanner", advTypeDirectLowDuty, 0, addrB, radio.Position{X: 2}, 0, reportAdvDirectInd},
		{"ADV_DIRECT_IND high duty to the scanner", advTypeDirectHigh, 1, addrB, radio.Position{X: 2}, 0, reportAdvDirectInd},
		{"ADV_DIRECT_IND to another device", advTypeDirectLowDuty, 0, addrC, radio.Position{X: 2}, 0, 0xFF},
		{"out of range (600 m)", advTypeInd, 0, hci.BDAddr{}, radio.Position{X: 600}, 0, 0xFF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 31)
			adv := b.devCfg(Config{Name: "adv", Address: addrA, Position: tc.pos, TxPower: tc.txPower})
			adv.ok(hci.OpLESetRandomAddress, randomA[:])
			scan := b.dev("scan", addrB, radio.Position{})
			p := adv20(tc.advType)
			p.own, p.peer = tc.own, tc.peer
			adv.startAdv(p, data, []byte{1, 1})
			scan.startScan(false, 0x20, 0x20, 0, 0, false)
			b.run(500 * sim.Millisecond)
			reps := scan.reports()
			advA := addrA
			if tc.own == 1 {
				advA = randomA
			}
			require.Empty(t, b.sent(0, pdu.TypeScanReq, addrB), "a passive scanner transmits nothing")
			if tc.evt == 0xFF {
				require.Empty(t, reps)
				return
			}
			// Continuous scanning hears one PDU per advertising event.
			want := 500 * sim.Millisecond / (sim.Duration(p.max)*625 + advDelayMax)
			if tc.advType == advTypeDirectHigh {
				// One PDU per event on the scanned channel, every 3.75 ms.
				want = 500 * sim.Millisecond / highDutyInterval * 9 / 10
			}
			require.GreaterOrEqual(t, len(reps), int(want))
			rssi := expectedRSSI(b.m, tc.txPower, tc.pos, radio.Position{})
			for _, r := range reps {
				require.Equal(t, tc.evt, r.evt)
				require.Equal(t, advA, r.addr)
				require.Equal(t, tc.own, r.addrType)
				require.Equal(t, rssi, r.rssi)
				if tc.evt == reportAdvDirectInd {
					require.Empty(t, r.data)
				} else {
					require.Equal(t, data, r.data)
				}
			}
		})
	}
}

// TestLL_DDI_SCN_RSSIFollowsPathLoss moves an advertiser away from the
// scanner and checks that the reported RSSI follows the medium's model,
// until it falls below the sensitivity and reports stop.
func TestLL_DDI_SCN_RSSIFollowsPathLoss(t *testing.T) {
	b := newBed(t, 32)
	adv := b.dev("adv", addrA, radio.Position{X: 1})
	scan := b.dev("scan", addrB, radio.Position{})
	adv.startAdv(adv20(advTypeNonconnInd), nil, nil)
	scan.startScan(false, 0x10, 0x10, 0, 0, false)
	prev := int8(127)
	for _, x := range []float64{0.05, 1, 2, 5, 10, 50, 100, 500} {
		adv.c.SetPosition(radio.Position{X: x})
		n := len(scan.reports())
		b.run(200 * sim.Millisecond)
		reps := scan.reports()[n:]
		require.NotEmpty(t, reps, "at %v m", x)
		want := expectedRSSI(b.m, 0, radio.Position{X: x}, radio.Position{})
		for _, r := range reps {
			require.Equal(t, want, r.rssi, "at %v m", x)
		}
		require.Less(t, want, prev)
		prev = want
	}
	adv.c.SetPosition(radio.Position{X: 1000})
	b.run(50 * sim.Millisecond)
	n := len(scan.reports())
	b.run(200 * sim.Millisecond)
	require.Len(t, scan.reports(), n, "reports below sensitivity")
}

// TestLL_DDI_SCN_BV_02_C_ActiveScanning: an active scanner sends SCAN_REQ
// T_IFS after ADV_IND / ADV_SCAN_IND, on the same channel, with its own
// address as ScanA, and reports the SCAN_RSP (event type 0x04) with the
// scan response data. ADV_NONCONN_IND and ADV_DIRECT_IND are not scanned.
func TestLL_DDI_SCN_BV_02_C_ActiveScanning(t *testing.T) {
	rsp := []byte{6, 0x09, 'o', 'x', 'i', 'm', 'e'}
	for _, tc := range []struct {
		name     string
		advType  uint8
		scanOwn  uint8
		scanned  bool
		advEvent uint8
	}{
		{"ADV_IND", advTypeInd, 0, true, reportAdvInd},
		{"ADV_IND, random scanner", advTypeInd, 1, true, reportAdvInd},
		{"ADV_SCAN_IND", advTypeScanInd, 0, true, reportAdvScanInd},
		{"ADV_NONCONN_IND", advTypeNonconnInd, 0, false, reportAdvNonconnInd},
		{"ADV_DIRECT_IND", advTypeDirectLowDuty, 0, false, reportAdvDirectInd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 33)
			adv := b.dev("adv", addrA, radio.Position{X: 2})
			scan := b.dev("scan", addrB, radio.Position{})
			scan.ok(hci.OpLESetRandomAddress, randomA[:])
			scanA := addrB
			if tc.scanOwn == 1 {
				scanA = randomA
			}
			p := adv20(tc.advType)
			p.peer = scanA
			p.peerType = tc.scanOwn
			adv.startAdv(p, []byte{2, 1, 6}, rsp)
			scan.startScan(true, 0x20, 0x20, tc.scanOwn, 0, false)
			b.run(sim.Second)
			reqs := b.sent(0, pdu.TypeScanReq, scanA)
			reps := scan.reports()
			require.NotEmpty(t, reportsFrom(reps, addrA, tc.advEvent))
			if !tc.scanned {
				require.Empty(t, reqs)
				require.Empty(t, reportsFrom(reps, addrA, reportScanRsp))
				return
			}
			require.GreaterOrEqual(t, len(reqs), 10)
			for _, r := range reqs {
				require.Equal(t, addrA, r.pdu.AdvA())
				require.Equal(t, tc.scanOwn == 1, r.pdu.TxAdd())
				require.False(t, r.pdu.RxAdd())
				// T_IFS after the advertising PDU it answers.
				found := false
				for _, a := range b.air {
					if a.pdu.AdvA() == addrA && a.end.Add(tIFS) == r.start && a.ch == r.ch {
						found = true
					}
				}
				require.True(t, found, "SCAN_REQ at %v not T_IFS after an advertising PDU", r.start)
			}
			rsps := reportsFrom(reps, addrA, reportScanRsp)
			// No loss on the medium: every request is answered and reported.
			require.Len(t, rsps, len(reqs))
			for _, r := range rsps {
				require.Equal(t, rsp, r.data)
				require.EqualValues(t, 0, r.addrType)
				require.Equal(t, expectedRSSI(b.m, 0, radio.Position{X: 2}, radio.Position{}), r.rssi)
			}
			// The report of a SCAN_RSP follows that of its advertising PDU.
			for i, r := range reps {
				if r.evt == reportScanRsp {
					require.Equal(t, tc.advEvent, reps[i-1].evt)
				}
			}
		})
	}
}

// TestLL_DDI_SCN_Backoff checks the active scanning backoff procedure
// (Vol 6 Part B §4.4.3.2): two consecutive failures double upperLimit (up
// to 256), two consecutive successes halve it, and backoffCount is drawn
// from 1..upperLimit.
func TestLL_DDI_SCN_Backoff(t *testing.T) {
	b := newBed(t, 1)
	h := b.dev("scan", addrB, radio.Position{})
	s := &h.c.scan
	s.upperLimit, s.backoff = 1, 1
	steps := []struct {
		ok    bool
		limit int
	}{
		{false, 1}, {false, 2}, {false, 2}, {false, 4}, {true, 4}, {false, 4}, {false, 8},
		{true, 8}, {true, 4}, {true, 4}, {true, 2}, {true, 2}, {true, 1}, {true, 1}, {true, 1},
	}
	for i, st := range steps {
		h.c.scanBackoff(st.ok)
		require.Equal(t, st.limit, s.upperLimit, "step %d", i)
		require.GreaterOrEqual(t, s.backoff, 1)
		require.LessOrEqual(t, s.backoff, s.upperLimit)
	}
	for range 40 {
		h.c.scanBackoff(false)
	}
	require.Equal(t, 256, s.upperLimit)
}

// TestLL_DDI_SCN_FilterPolicy: with Scanning_Filter_Policy 1 only
// advertisers on the Filter Accept List (matching address and type) are
// reported and scanned.
func TestLL_DDI_SCN_FilterPolicy(t *testing.T) {
	for _, active := range []bool{false, true} {
		t.Run(fmt.Sprintf("active=%v", active), func(t *testing.T) {
			b := newBed(t, 34)
			listed := b.dev("listed", addrA, radio.Position{X: 1})
			unlisted := b.dev("unlisted", addrC, radio.Position{X: -1})
			rnd := b.dev("random", addrLT, radio.Position{Y: 1})
			rnd.ok(hci.OpLESetRandomAddress, randomA[:])
			scan := b.dev("scan", addrB, radio.Position{})
			listed.startAdv(adv20(advTypeInd), nil, []byte{1, 1})
			unlisted.startAdv(adv20(advTypeInd), nil, []byte{1, 1})
			p := adv20(advTypeScanInd)
			p.own = 1
			rnd.startAdv(p, nil, []byte{1, 1})
			scan.ok(hci.OpLEAddDeviceToAcceptList, params(uint8(0), addrA))
			scan.ok(hci.OpLEAddDeviceToAcceptList, params(uint8(0), randomA)) // wrong type
			scan.ok(hci.OpLEAddDeviceToAcceptList, params(uint8(1), addrC))   // wrong type
			scan.startScan(active, 0x20, 0x20, 0, 1, false)
			b.run(sim.Second)
			var from []hci.BDAddr
			for _, r := range scan.reports() {
				from = append(from, r.addr)
			}
			require.Contains(t, from, addrA)
			require.NotContains(t, from, addrC)
			require.NotContains(t, from, randomA)
			for _, r := range b.sent(0, pdu.TypeScanReq, addrB) {
				require.Equal(t, addrA, r.pdu.AdvA())
			}
			require.Equal(t, active, len(reportsFrom(scan.reports(), addrA, reportScanRsp)) > 0)
			// Policy 0 reports all three.
			scan.ok(hci.OpLESetScanEnable, []byte{0, 0})
			scan.startScan(active, 0x20, 0x20, 0, 0, false)
			scan.pkts = nil
			b.run(sim.Second)
			seen := map[hci.BDAddr]bool{}
			for _, r := range scan.reports() {
				seen[r.addr] = true
			}
			require.Equal(t, map[hci.BDAddr]bool{addrA: true, addrC: true, randomA: true}, seen)
		})
	}
}

// TestLL_DDI_SCN_DuplicateFiltering: with Filter_Duplicates each
// advertiser is reported once per report type until scanning is disabled;
// without it every PDU heard is reported. Re-enabling resets the filter
// and changing Filter_Duplicates while scanning takes effect (§7.8.11).
func TestLL_DDI_SCN_DuplicateFiltering(t *testing.T) {
	for _, active := range []bool{false, true} {
		t.Run(fmt.Sprintf("active=%v", active), func(t *testing.T) {
			b := newBed(t, 35)
			a := b.dev("a", addrA, radio.Position{X: 1})
			c := b.dev("c", addrC, radio.Position{X: -1})
			scan := b.dev("scan", addrB, radio.Position{})
			a.startAdv(adv20(advTypeInd), []byte{1, 1}, []byte{1, 2})
			c.startAdv(adv20(advTypeNonconnInd), []byte{1, 3}, nil)
			scan.startScan(active, 0x10, 0x10, 0, 0, true)
			b.run(sim.Second)
			reps := scan.reports()
			want := 2
			if active {
				want = 3
			}
			require.Len(t, reps, want, "%+v", reps)
			require.Len(t, reportsFrom(reps, addrA, reportAdvInd), 1)
			require.Len(t, reportsFrom(reps, addrC, reportAdvNonconnInd), 1)
			if active {
				require.Len(t, reportsFrom(reps, addrA, reportScanRsp), 1)
				// Once its SCAN_RSP was reported, the advertiser is not
				// scanned again.
				require.Len(t, b.sent(0, pdu.TypeScanReq, addrB), 1)
			}
			// Enabling again while enabled keeps the filter.
			scan.ok(hci.OpLESetScanEnable, []byte{1, 1})
			b.run(500 * sim.Millisecond)
			require.Len(t, scan.reports(), want)
			// Turning filtering off while scanning takes effect.
			scan.ok(hci.OpLESetScanEnable, []byte{1, 0})
			b.run(500 * sim.Millisecond)
			n := len(scan.reports())
			require.Greater(t, n, want+20)
			// Disable, enable with filtering: reported once more each.
			scan.ok(hci.OpLESetScanEnable, []byte{0, 0})
			scan.ok(hci.OpLESetScanEnable, []byte{1, 1})
			b.run(sim.Second)
			require.Len(t, scan.reports(), n+want)
		})
	}
}

// TestLL_DDI_SCN_WindowAndChannels checks the receiver schedule (Vol 6
// Part B §4.4.3): it listens for LE_Scan_Window at the start of every
// LE_Scan_Interval, on a new advertising channel each interval (37, 38,
// 39, 37, ...), and is idle in between; advertising PDUs outside the
// window are not reported.
func TestLL_DDI_SCN_WindowAndChannels(t *testing.T) {
	const interval, window = 0x40, 0x10 // 40 ms, 10 ms
	b := newBed(t, 36)
	scan := b.dev("scan", addrB, radio.Position{})
	scan.startScan(false, interval, window, 0, 0, false)
	start := b.s.Now()
	type sample struct {
		ch        radio.Channel
		listening bool
	}
	var samples []sample
	for i := range 480 {
		b.s.At(start.Add(sim.Duration(i)*sim.Millisecond+500), func() {
			ch, _, l := scan.c.rx.port.Listening()
			samples = append(samples, sample{ch, l})
		})
	}
	b.run(480 * sim.Millisecond)
	require.Len(t, samples, 480)
	for i, s := range samples {
		k := i / 40 // interval number
		inWindow := i%40 < 10
		require.Equal(t, inWindow, s.listening, "at %d ms", i)
		if inWindow {
			require.Equal(t, radio.Channel(37+k%3), s.ch, "at %d ms", i)
		}
	}
	// Through the air: a lower tester sends one ADV_NONCONN_IND per
	// millisecond on channel 38 for a whole cycle of three intervals; only
	// those inside the window of a channel 38 interval are reported.
	lt := b.lowerTester(radio.Position{X: 1})
	p := mustAdv(pdu.AdvNonconnInd(addrLT, false, []byte{1, 2}))
	cycle := b.s.Now()
	for i := range 120 {
		lt.sendAt(cycle.Add(sim.Duration(i)*sim.Millisecond), 38, p)
	}
	b.run(130 * sim.Millisecond)
	// The cycle starts at 480 ms, interval 12: channel 37 (12 % 3 == 0),
	// so channel 38 is the interval starting at 520 ms.
	reps := reportsFrom(scan.reports(), addrLT, reportAdvNonconnInd)
	require.InDelta(t, 10, len(reps), 1, "reported %d", len(reps))
}

// TestHCIScanParameters checks LE Set Scan Parameters and LE Set Scan
// Enable validation (Vol 4 Part E §7.8.10, §7.8.11).
func TestHCIScanParameters(t *testing.T) {
	for _, tc := range []struct {
		name             string
		typ              uint8
		interval, window uint16
		own, fpol        uint8
		want             hci.Status
	}{
		{"passive", 0, 0x10, 0x10, 0, 0, hci.StatusSuccess},
		{"active", 1, 0x4000, 0x4000, 0, 1, hci.StatusSuccess},
		{"smallest", 0, 4, 4, 0, 0, hci.StatusSuccess},
		{"type 2", 2, 0x10, 0x10, 0, 0, hci.StatusInvalidParameters},
		{"interval 3", 0, 3, 3, 0, 0, hci.StatusInvalidParameters},
		{"interval 0x4001", 0, 0x4001, 0x10, 0, 0, hci.StatusInvalidParameters},
		{"window 3", 0, 0x10, 3, 0, 0, hci.StatusInvalidParameters},
		{"window > interval", 0, 0x10, 0x11, 0, 0, hci.StatusInvalidParameters},
		{"own type 4", 0, 0x10, 0x10, 4, 0, hci.StatusInvalidParameters},
		{"filter policy 4", 0, 0x10, 0x10, 0, 4, hci.StatusInvalidParameters},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 1)
			h := b.dev("scan", addrB, radio.Position{})
			before := h.c.scan.params
			require.Equal(t, tc.want, h.st(hci.OpLESetScanParameters, params(tc.typ, tc.interval, tc.window, tc.own, tc.fpol)))
			if tc.want != hci.StatusSuccess {
				require.Equal(t, before, h.c.scan.params)
			}
		})
	}
	t.Run("enable", func(t *testing.T) {
		b := newBed(t, 1)
		h := b.dev("scan", addrB, radio.Position{})
		for _, p := range [][]byte{{2, 0}, {1, 2}, {0xFF, 0}} {
			require.Equal(t, hci.StatusInvalidParameters, h.st(hci.OpLESetScanEnable, p), "% x", p)
		}
		require.False(t, h.c.scan.enabled)
		// Filter_Duplicates is ignored when disabling (§7.8.11).
		h.ok(hci.OpLESetScanEnable, []byte{1, 0})
		h.ok(hci.OpLESetScanEnable, []byte{0, 0xFF})
		require.False(t, h.c.scan.enabled)
		require.Nil(t, h.c.rx.port)
		// Disabling while disabled is fine; enabling uses the defaults.
		h.ok(hci.OpLESetScanEnable, []byte{0, 0})
		h.ok(hci.OpLESetScanEnable, []byte{1, 0})
		require.Equal(t, hci.StatusCommandDisallowed, h.st(hci.OpLESetScanParameters, params(uint8(0), uint16(0x10), uint16(0x10), uint8(0), uint8(0))))
		h.ok(hci.OpLESetScanEnable, []byte{0, 0})
		// A random own address needs LE Set Random Address.
		for _, own := range []uint8{1, 3} {
			h.ok(hci.OpLESetScanParameters, params(uint8(1), uint16(0x10), uint16(0x10), own, uint8(0)))
			require.Equal(t, hci.StatusInvalidParameters, h.st(hci.OpLESetScanEnable, []byte{1, 0}))
			require.False(t, h.c.scan.enabled)
		}
		h.ok(hci.OpLESetRandomAddress, randomA[:])
		h.ok(hci.OpLESetScanEnable, []byte{1, 0})
		require.True(t, h.c.scan.enabled)
	})
}

// TestLL_DDI_SCN_IgnoresOwnAdvertising: a controller that advertises while
// it scans (or initiates) does not hear itself: its own PDUs are neither
// reported nor scanned nor connected to, while other devices still are.
func TestLL_DDI_SCN_IgnoresOwnAdvertising(t *testing.T) {
	for _, advType := range []uint8{advTypeInd, advTypeScanInd, advTypeNonconnInd} {
		t.Run(fmt.Sprintf("type %d", advType), func(t *testing.T) {
			b := newBed(t, 37)
			h := b.dev("x", addrA, radio.Position{})
			other := b.dev("other", addrC, radio.Position{X: 1})
			other.startAdv(adv20(advTypeInd), []byte{1, 1}, []byte{1, 2})
			h.startAdv(adv20(advType), []byte{1, 3}, []byte{1, 4})
			h.startScan(true, 0x10, 0x10, 0, 0, false)
			b.run(sim.Second)
			for _, r := range h.reports() {
				require.Equal(t, addrC, r.addr)
			}
			require.NotEmpty(t, reportsFrom(h.reports(), addrC, reportScanRsp))
			for _, r := range b.sent(0, pdu.TypeScanReq, addrA) {
				require.Equal(t, addrC, r.pdu.AdvA())
			}
			// Its own advertising still answers the other scanners.
			other.startScan(true, 0x10, 0x10, 0, 0, false)
			b.run(sim.Second)
			require.NotEmpty(t, reportsFrom(other.reports(), addrA, pduTypeReport(advType)))
			// Initiating to itself never sends a CONNECT_IND.
			h.ok(hci.OpLESetScanEnable, []byte{0, 0})
			h.ok(hci.OpLECreateConnection, createConn(addrA, 0))
			b.run(500 * sim.Millisecond)
			require.Empty(t, b.sent(0, pdu.TypeConnectInd, addrA))
		})
	}
}

func pduTypeReport(advType uint8) uint8 {
	switch advType {
	case advTypeScanInd:
		return reportAdvScanInd
	case advTypeNonconnInd:
		return reportAdvNonconnInd
	}
	return reportAdvInd
}
