package linklayer

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// Tests of the Advertising state (Core v5.4 Vol 6 Part B §4.4.2) and its
// HCI commands (Vol 4 Part E §7.8.5–§7.8.9), named after the LL test
// suite (LL.TS) where a test case fits.

// testLLData is a valid CONNECT_IND LLData for a lower tester acting as
// central.
func testLLData() pdu.LLData {
	return pdu.LLData{AccessAddress: 0x71764129, CRCInit: 0x123456, WinSize: 2, WinOffset: 0,
		Interval: 24, Latency: 2, Timeout: 200, ChM: pdu.AllChannels(), Hop: 7, SCA: 5}
}

// advEvents splits the PDUs an advertiser sent into advertising events of
// n PDUs each (one per channel of the map).
func advEvents(t *testing.T, pkts []advPkt, n int) [][]advPkt {
	t.Helper()
	var evs [][]advPkt
	for len(pkts) >= n {
		evs = append(evs, pkts[:n])
		pkts = pkts[n:]
	}
	return evs
}

func channelsOf(chMap uint8) []radio.Channel {
	var chs []radio.Channel
	for i := range 3 {
		if chMap&(1<<i) != 0 {
			chs = append(chs, radio.Channel(37+i))
		}
	}
	return chs
}

// TestLL_DDI_ADV_BV_01_C_AdvertisingEvents checks undirected advertising events
// (LL/DDI/ADV/BV-01-C ADV_IND, BV-02-C ADV_NONCONN_IND, BV-04-C
// ADV_SCAN_IND, and low duty cycle ADV_DIRECT_IND): the PDU type and
// fields, the advertising data exactly as the host set it, one PDU per
// channel of the channel map in the order 37, 38, 39 within each event,
// and events whose starts are advInterval + advDelay apart, advInterval in
// [min, max] and advDelay in [0, 10 ms] (Vol 6 Part B §4.4.2.2.1).
func TestLL_DDI_ADV_BV_01_C_AdvertisingEvents(t *testing.T) {
	data := []byte{2, 0x01, 0x06, 5, 0x09, 'b', 'l', 'e', 's', 3, 0xFF, 0x34, 0x12}
	for _, tc := range []struct {
		name     string
		typ      uint8
		pduType  pdu.AdvPDUType
		min, max uint16
		chMap    uint8
	}{
		{"ADV_IND 20 ms all channels", advTypeInd, pdu.TypeAdvInd, 0x20, 0x20, 7},
		{"ADV_IND 100 ms", advTypeInd, pdu.TypeAdvInd, 0xA0, 0xA0, 7},
		{"ADV_IND range 30-60 ms", advTypeInd, pdu.TypeAdvInd, 0x30, 0x60, 7},
		{"ADV_IND channel 37 only", advTypeInd, pdu.TypeAdvInd, 0x20, 0x20, 1},
		{"ADV_IND channel 38 only", advTypeInd, pdu.TypeAdvInd, 0x20, 0x20, 2},
		{"ADV_IND channel 39 only", advTypeInd, pdu.TypeAdvInd, 0x20, 0x20, 4},
		{"ADV_IND channels 37 39", advTypeInd, pdu.TypeAdvInd, 0x20, 0x20, 5},
		{"ADV_IND channels 38 39", advTypeInd, pdu.TypeAdvInd, 0x20, 0x20, 6},
		{"BV-02-C ADV_NONCONN_IND", advTypeNonconnInd, pdu.TypeAdvNonconnInd, 0x20, 0x20, 7},
		{"BV-02-C ADV_NONCONN_IND 37 38", advTypeNonconnInd, pdu.TypeAdvNonconnInd, 0x40, 0x40, 3},
		{"BV-04-C ADV_SCAN_IND", advTypeScanInd, pdu.TypeAdvScanInd, 0x20, 0x20, 7},
		{"ADV_DIRECT_IND low duty", advTypeDirectLowDuty, pdu.TypeAdvDirectInd, 0x20, 0x20, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 7)
			h := b.dev("dut", addrA, radio.Position{})
			p := advParamsCmd{min: tc.min, max: tc.max, typ: tc.typ, peerType: 1, peer: randomA, chMap: tc.chMap}
			enabled := b.s.Now()
			h.startAdv(p, data, nil)
			b.run(3 * sim.Second)

			pkts := b.sent(0, tc.pduType, addrA)
			chs := channelsOf(tc.chMap)
			evs := advEvents(t, pkts, len(chs))
			minEvents := int(3*sim.Second/(sim.Duration(tc.max)*625+advDelayMax)) - 1
			require.GreaterOrEqual(t, len(evs), minEvents)
			// Every PDU of the advertiser is of the type asked for.
			for _, a := range b.air {
				if a.from == h.c.adv.port || a.pdu.AdvA() == addrA {
					require.Equal(t, tc.pduType, a.pdu.Type())
				}
			}
			require.LessOrEqual(t, evs[0][0].start.Sub(enabled), advDelayMax, "first event")
			var spacings []sim.Duration
			for i, ev := range evs {
				for j, a := range ev {
					require.NoError(t, a.pdu.Validate())
					require.Equal(t, chs[j], a.ch, "event %d PDU %d", i, j)
					require.Equal(t, addrA, a.pdu.AdvA())
					require.False(t, a.pdu.TxAdd(), "public AdvA")
					if tc.pduType == pdu.TypeAdvDirectInd {
						require.Equal(t, randomA, a.pdu.TargetA())
						require.True(t, a.pdu.RxAdd())
					} else {
						require.Equal(t, data, []byte(a.pdu.AdvData()))
					}
					if j > 0 {
						// PDUs of one event are less than 10 ms apart (§4.4.2.2.1).
						require.Less(t, a.start.Sub(ev[j-1].start), 10*sim.Millisecond)
						require.Greater(t, a.start, ev[j-1].end)
					}
				}
				if i > 0 {
					spacings = append(spacings, ev[0].start.Sub(evs[i-1][0].start))
				}
			}
			lo := sim.Duration(tc.min) * 625
			hi := sim.Duration(tc.max)*625 + advDelayMax
			var sum sim.Duration
			for i, d := range spacings {
				require.GreaterOrEqual(t, d, lo, "T_advEvent %d: %v", i, d)
				require.LessOrEqual(t, d, hi, "T_advEvent %d: %v", i, d)
				sum += d
			}
			// advDelay is pseudo-random: the spacings vary, around the middle.
			require.Greater(t, len(slices.Compact(slices.Sorted(slices.Values(spacings)))), len(spacings)/2)
			mean := sum / sim.Duration(len(spacings))
			require.InDelta(t, float64(lo+hi)/2, float64(mean), float64(2*sim.Millisecond))
		})
	}
}

// TestLL_DDI_ADV_BV_05_C_HighDutyDirected checks high duty cycle directed
// advertising (Vol 6 Part B §4.4.2.4.3): ADV_DIRECT_IND with AdvA and
// TargetA, events at most 3.75 ms apart, and after 1.28 s the advertising
// stops with LE Connection Complete, status Advertising Timeout (0x3C).
func TestLL_DDI_ADV_BV_05_C_HighDutyDirected(t *testing.T) {
	for _, tc := range []struct {
		name     string
		peerType uint8
		chMap    uint8
		enhanced bool
	}{
		{"public peer, all channels", 0, 7, false},
		{"random peer, all channels", 1, 7, false},
		{"channel 38 only", 0, 2, false},
		{"enhanced connection complete", 1, 7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 5)
			h := b.dev("dut", addrA, radio.Position{})
			if tc.enhanced {
				h.ok(hci.OpLESetEventMask, u64(0x1F|1<<9))
			}
			// Interval parameters are ignored for high duty cycle: 0 is fine.
			p := advParamsCmd{typ: advTypeDirectHigh, peerType: tc.peerType, peer: addrB, chMap: tc.chMap}
			enabled := b.s.Now()
			h.startAdv(p, nil, nil)
			b.runUntil(2*sim.Second, func() bool {
				return len(h.leMeta(hci.LEConnectionComplete))+len(h.leMeta(hci.LEEnhancedConnectionComplete)) > 0
			}, "timeout")
			done := b.s.Now()
			require.GreaterOrEqual(t, done.Sub(enabled), highDutyDuration)
			require.LessOrEqual(t, done.Sub(enabled), highDutyDuration+highDutyInterval)

			var cc []byte
			if tc.enhanced {
				require.Empty(t, h.leMeta(hci.LEConnectionComplete))
				cc = h.leMeta(hci.LEEnhancedConnectionComplete)[0]
				require.Len(t, cc, 30)
			} else {
				cc = h.leMeta(hci.LEConnectionComplete)[0]
				require.Len(t, cc, 18)
			}
			require.EqualValues(t, hci.StatusAdvertisingTimeout, cc[0])

			chs := channelsOf(tc.chMap)
			pkts := b.sent(0, pdu.TypeAdvDirectInd, addrA)
			evs := advEvents(t, pkts, len(chs))
			// The last event may be cut short at 1.28 s, in channel order.
			for j, a := range pkts[len(evs)*len(chs):] {
				require.Equal(t, chs[j], a.ch)
			}
			// (1.28 s − the first event's delay of up to 10 ms) / 3.75 ms.
			require.GreaterOrEqual(t, len(evs), int((highDutyDuration-advDelayMax)/highDutyInterval))
			for i, ev := range evs {
				for j, a := range ev {
					require.Equal(t, chs[j], a.ch)
					require.Equal(t, addrB, a.pdu.TargetA())
					require.Equal(t, tc.peerType == 1, a.pdu.RxAdd())
					require.Less(t, a.start.Sub(enabled), highDutyDuration, "PDU after 1.28 s")
				}
				if i > 0 {
					d := ev[0].start.Sub(evs[i-1][0].start)
					require.LessOrEqual(t, d, highDutyInterval, "event %d starts %v after the previous", i, d)
				}
			}
			// Advertising is off: nothing more on air, parameters may change.
			require.Less(t, pkts[len(pkts)-1].start.Sub(enabled), highDutyDuration)
			b.run(100 * sim.Millisecond)
			require.Equal(t, len(pkts), len(b.sent(0, pdu.TypeAdvDirectInd, addrA)))
			h.ok(hci.OpLESetAdvertisingParameters, adv20(advTypeInd).bytes())
		})
	}
}

// TestLL_DDI_ADV_BV_03_C_ScanResponse: a SCAN_REQ addressed to the
// advertiser, starting T_IFS after its ADV_IND or ADV_SCAN_IND, is
// answered with SCAN_RSP T_IFS after it, on the same channel, carrying the
// scan response data (Vol 6 Part B §4.4.2.3). Requests for someone else,
// with the wrong RxAdd, or to non-scannable PDUs get nothing.
func TestLL_DDI_ADV_BV_03_C_ScanResponse(t *testing.T) {
	rsp := []byte{4, 0x09, 'r', 's', 'p'}
	for _, tc := range []struct {
		name    string
		typ     uint8
		own     uint8
		advA    hci.BDAddr
		rxAdd   bool
		answers bool
	}{
		{"BV-03-C ADV_IND", advTypeInd, 0, addrA, false, true},
		{"BV-04-C ADV_SCAN_IND", advTypeScanInd, 0, addrA, false, true},
		{"ADV_IND random AdvA", advTypeInd, 1, randomA, true, true},
		{"ADV_IND other AdvA", advTypeInd, 0, addrB, false, false},
		{"ADV_IND RxAdd wrong", advTypeInd, 0, addrA, true, false},
		{"ADV_IND random AdvA, RxAdd public", advTypeInd, 1, randomA, false, false},
		{"ADV_NONCONN_IND", advTypeNonconnInd, 0, addrA, false, false},
		{"ADV_DIRECT_IND low duty", advTypeDirectLowDuty, 0, addrA, false, false},
	} {
		for _, ch := range []radio.Channel{37, 38, 39} {
			t.Run(fmt.Sprintf("%s ch%d", tc.name, ch), func(t *testing.T) {
				b := newBed(t, 11)
				h := b.dev("dut", addrA, radio.Position{})
				h.ok(hci.OpLESetRandomAddress, randomA[:])
				lt := b.lowerTester(radio.Position{X: 1})
				lt.listen(ch)
				req := pdu.ScanReq(addrLT, false, tc.advA, tc.rxAdd)
				var reqs []sim.Time
				lt.onRx = func(rx *radio.Reception, p pdu.AdvPDU) {
					if p.Type() != pdu.TypeScanRsp && len(reqs) < 5 {
						reqs = append(reqs, rx.End.Add(tIFS))
						lt.sendAt(rx.End.Add(tIFS), rx.Channel, req)
					}
				}
				p := adv20(tc.typ)
				p.own, p.peer = tc.own, addrLT
				h.startAdv(p, []byte{2, 1, 6}, rsp)
				b.run(400 * sim.Millisecond)
				require.Len(t, reqs, 5)
				got := lt.received(pdu.TypeScanRsp)
				if !tc.answers {
					require.Empty(t, got)
					return
				}
				require.Len(t, got, 5)
				reqAir := radio.AirTime(len(req))
				for i, r := range got {
					require.Equal(t, ch, r.ch)
					require.Equal(t, reqs[i].Add(reqAir+tIFS), r.start, "SCAN_RSP T_IFS after SCAN_REQ")
					require.Equal(t, tc.advA, r.pdu.AdvA())
					require.Equal(t, tc.own == 1, r.pdu.TxAdd())
					require.Equal(t, rsp, []byte(r.pdu.ScanRspData()))
				}
				// The event goes on on the next channels after a SCAN_RSP.
				require.NotEmpty(t, b.sent(reqs[0], pdu.AdvPDUType(pduTypeFor(tc.typ)), tc.advA))
			})
		}
	}
}

func pduTypeFor(advType uint8) pdu.AdvPDUType {
	switch advType {
	case advTypeInd:
		return pdu.TypeAdvInd
	case advTypeScanInd:
		return pdu.TypeAdvScanInd
	case advTypeNonconnInd:
		return pdu.TypeAdvNonconnInd
	}
	return pdu.TypeAdvDirectInd
}

// TestLL_CON_ADV_BV_01_C_AcceptConnectInd: a connectable advertiser that
// receives a CONNECT_IND addressed to it stops advertising and reports LE
// Connection Complete as peripheral with the initiator's address and the
// LLData parameters (Vol 6 Part B §4.4.2.4; Vol 4 Part E §7.7.65.1). The
// directed cases accept only the peer they advertise to; malformed or
// misaddressed requests are ignored.
func TestLL_CON_ADV_BV_01_C_AcceptConnectInd(t *testing.T) {
	valid := testLLData()
	bad := testLLData()
	bad.Hop = 3
	badWin := testLLData()
	badWin.WinSize = 0
	for _, tc := range []struct {
		name     string
		typ      uint8
		peer     hci.BDAddr // directed advertising target
		peerType uint8
		initA    hci.BDAddr
		initRand bool
		advA     hci.BDAddr
		ll       pdu.LLData
		accept   bool
	}{
		{"BV-01-C ADV_IND", advTypeInd, hci.BDAddr{}, 0, addrLT, false, addrA, valid, true},
		{"ADV_IND random initiator", advTypeInd, hci.BDAddr{}, 0, randomA, true, addrA, valid, true},
		{"ADV_IND other AdvA", advTypeInd, hci.BDAddr{}, 0, addrLT, false, addrB, valid, false},
		{"ADV_IND invalid hop", advTypeInd, hci.BDAddr{}, 0, addrLT, false, addrA, bad, false},
		{"ADV_IND WinSize 0", advTypeInd, hci.BDAddr{}, 0, addrLT, false, addrA, badWin, false},
		{"ADV_SCAN_IND not connectable", advTypeScanInd, hci.BDAddr{}, 0, addrLT, false, addrA, valid, false},
		{"ADV_NONCONN_IND not connectable", advTypeNonconnInd, hci.BDAddr{}, 0, addrLT, false, addrA, valid, false},
		{"high duty directed, the peer", advTypeDirectHigh, addrLT, 0, addrLT, false, addrA, valid, true},
		{"high duty directed, another device", advTypeDirectHigh, addrLT, 0, addrC, false, addrA, valid, false},
		{"high duty directed, peer type differs", advTypeDirectHigh, addrLT, 1, addrLT, false, addrA, valid, false},
		{"low duty directed, the peer", advTypeDirectLowDuty, randomA, 1, randomA, true, addrA, valid, true},
		{"low duty directed, another device", advTypeDirectLowDuty, randomA, 1, addrC, true, addrA, valid, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 13)
			h := b.dev("dut", addrA, radio.Position{})
			lt := b.lowerTester(radio.Position{X: 1})
			lt.listen(38)
			var sentAt sim.Time
			lt.onRx = func(rx *radio.Reception, p pdu.AdvPDU) {
				if sentAt != 0 {
					return
				}
				sentAt = rx.End.Add(tIFS)
				lt.sendAt(sentAt, rx.Channel, pdu.ConnectInd(tc.initA, tc.initRand, tc.advA, false, tc.ll))
			}
			p := adv20(tc.typ)
			p.peer, p.peerType = tc.peer, tc.peerType
			h.startAdv(p, nil, nil)
			b.run(200 * sim.Millisecond)
			require.NotZero(t, sentAt)
			ccs := h.leMeta(hci.LEConnectionComplete)
			after := b.sent(sentAt, pduTypeFor(tc.typ), addrA)
			if !tc.accept {
				require.Empty(t, ccs)
				require.NotEmpty(t, after, "advertising must go on")
				require.Empty(t, h.c.conns)
				return
			}
			require.Len(t, ccs, 1)
			r := hci.NewReader(ccs[0])
			require.EqualValues(t, 0, r.U8(), "status")
			handle := r.U16()
			require.LessOrEqual(t, handle, uint16(0x0EFF))
			require.EqualValues(t, RolePeripheral, r.U8())
			require.Equal(t, b2u(tc.initRand), r.U8())
			require.Equal(t, tc.initA, r.Addr())
			require.Equal(t, tc.ll.Interval, r.U16())
			require.Equal(t, tc.ll.Latency, r.U16())
			require.Equal(t, tc.ll.Timeout, r.U16())
			require.Equal(t, tc.ll.SCA, r.U8(), "Central_Clock_Accuracy")
			require.NoError(t, r.Exact())
			// Advertising stopped when the CONNECT_IND ended.
			require.Empty(t, after)
			require.False(t, h.c.adv.enabled)
			// Nobody is there as central: the connection fails to be
			// established after six connection intervals (§4.5.2).
			b.run(sim.Second)
			require.Equal(t, []hci.Status{hci.StatusConnectionFailedToEstablish}, h.disconnections())
		})
	}
}

// TestLL_DDI_ADV_FilterPolicy checks Advertising_Filter_Policy (Vol 4
// Part E §7.8.5; Vol 6 Part B §4.3.2): bit 0 restricts SCAN_REQ, bit 1
// CONNECT_IND, to devices on the Filter Accept List.
func TestLL_DDI_ADV_FilterPolicy(t *testing.T) {
	for policy := uint8(0); policy < 4; policy++ {
		for _, listed := range []bool{true, false} {
			for _, req := range []pdu.AdvPDUType{pdu.TypeScanReq, pdu.TypeConnectInd} {
				name := fmt.Sprintf("policy %d %v listed=%v", policy, req, listed)
				t.Run(name, func(t *testing.T) {
					b := newBed(t, 17)
					h := b.dev("dut", addrA, radio.Position{})
					h.ok(hci.OpLEAddDeviceToAcceptList, params(uint8(0), addrC))
					if listed {
						h.ok(hci.OpLEAddDeviceToAcceptList, params(uint8(0), addrLT))
					} else {
						// Same address, other type: not a match.
						h.ok(hci.OpLEAddDeviceToAcceptList, params(uint8(1), addrLT))
					}
					lt := b.lowerTester(radio.Position{X: 1})
					lt.listen(37)
					n := 0
					lt.onRx = func(rx *radio.Reception, p pdu.AdvPDU) {
						if p.Type() != pdu.TypeAdvInd || n > 0 {
							return
						}
						n++
						var out pdu.AdvPDU
						if req == pdu.TypeScanReq {
							out = pdu.ScanReq(addrLT, false, addrA, false)
						} else {
							out = pdu.ConnectInd(addrLT, false, addrA, false, testLLData())
						}
						lt.sendAt(rx.End.Add(tIFS), rx.Channel, out)
					}
					p := adv20(advTypeInd)
					p.fpol = policy
					h.startAdv(p, nil, []byte{1, 2})
					b.run(100 * sim.Millisecond)
					require.Equal(t, 1, n)
					filtered := !listed && ((req == pdu.TypeScanReq && policy&1 != 0) ||
						(req == pdu.TypeConnectInd && policy&2 != 0))
					if req == pdu.TypeScanReq {
						require.Equal(t, !filtered, len(lt.received(pdu.TypeScanRsp)) == 1)
					} else {
						require.Equal(t, !filtered, len(h.leMeta(hci.LEConnectionComplete)) == 1)
					}
				})
			}
		}
	}
}

// TestHCIAdvertisingParameters checks LE Set Advertising Parameters
// validation (Vol 4 Part E §7.8.5): each field's range, Command Disallowed
// while advertising is enabled, and that the interval is ignored for high
// duty cycle directed advertising.
func TestHCIAdvertisingParameters(t *testing.T) {
	ok := adv20(advTypeInd)
	mod := func(f func(p *advParamsCmd)) advParamsCmd { p := ok; f(&p); return p }
	for _, tc := range []struct {
		name string
		p    advParamsCmd
		want hci.Status
	}{
		{"valid", ok, hci.StatusSuccess},
		{"min interval 20 ms", mod(func(p *advParamsCmd) { p.min, p.max = 0x20, 0x20 }), hci.StatusSuccess},
		{"max interval 10.24 s", mod(func(p *advParamsCmd) { p.min, p.max = 0x4000, 0x4000 }), hci.StatusSuccess},
		{"interval min too small", mod(func(p *advParamsCmd) { p.min = 0x1F }), hci.StatusInvalidParameters},
		{"interval max too large", mod(func(p *advParamsCmd) { p.max = 0x4001 }), hci.StatusInvalidParameters},
		{"min > max", mod(func(p *advParamsCmd) { p.min, p.max = 0x40, 0x30 }), hci.StatusInvalidParameters},
		{"type 5", mod(func(p *advParamsCmd) { p.typ = 5 }), hci.StatusInvalidParameters},
		{"own type 4", mod(func(p *advParamsCmd) { p.own = 4 }), hci.StatusInvalidParameters},
		{"peer type 2", mod(func(p *advParamsCmd) { p.peerType = 2 }), hci.StatusInvalidParameters},
		{"channel map 0", mod(func(p *advParamsCmd) { p.chMap = 0 }), hci.StatusInvalidParameters},
		{"channel map 8", mod(func(p *advParamsCmd) { p.chMap = 0x0F }), hci.StatusInvalidParameters},
		{"filter policy 4", mod(func(p *advParamsCmd) { p.fpol = 4 }), hci.StatusInvalidParameters},
		{"high duty ignores interval", mod(func(p *advParamsCmd) { p.typ, p.min, p.max = advTypeDirectHigh, 0, 0 }), hci.StatusSuccess},
		{"low duty checks interval", mod(func(p *advParamsCmd) { p.typ, p.min, p.max = advTypeDirectLowDuty, 0, 0 }), hci.StatusInvalidParameters},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 1)
			h := b.dev("dut", addrA, radio.Position{})
			before := h.c.adv.params
			require.Equal(t, tc.want, h.st(hci.OpLESetAdvertisingParameters, tc.p.bytes()))
			if tc.want != hci.StatusSuccess {
				require.Equal(t, before, h.c.adv.params, "rejected parameters must not be kept")
			}
		})
	}
	t.Run("disallowed while enabled", func(t *testing.T) {
		b := newBed(t, 1)
		h := b.dev("dut", addrA, radio.Position{})
		h.startAdv(ok, nil, nil)
		require.Equal(t, hci.StatusCommandDisallowed, h.st(hci.OpLESetAdvertisingParameters, ok.bytes()))
		h.ok(hci.OpLESetAdvertisingEnable, []byte{0})
		h.ok(hci.OpLESetAdvertisingParameters, ok.bytes())
	})
}

// TestHCIAdvertisingEnable checks LE Set Advertising Enable (Vol 4 Part E
// §7.8.9): a random own address needs LE Set Random Address first (0x12
// otherwise) and is then used as AdvA with TxAdd set; enabling twice and
// disabling twice succeed; values above 1 are invalid.
func TestHCIAdvertisingEnable(t *testing.T) {
	for _, tc := range []struct {
		name      string
		own       uint8
		setRandom bool
		want      hci.Status
		advA      hci.BDAddr
	}{
		{"public", 0, false, hci.StatusSuccess, addrA},
		{"random without address", 1, false, hci.StatusInvalidParameters, hci.BDAddr{}},
		{"random", 1, true, hci.StatusSuccess, randomA},
		{"RPA or public, no resolving list", 2, false, hci.StatusSuccess, addrA},
		{"RPA or random without address", 3, false, hci.StatusInvalidParameters, hci.BDAddr{}},
		{"RPA or random, no resolving list", 3, true, hci.StatusSuccess, randomA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 1)
			h := b.dev("dut", addrA, radio.Position{})
			if tc.setRandom {
				h.ok(hci.OpLESetRandomAddress, randomA[:])
			}
			p := adv20(advTypeInd)
			p.own = tc.own
			h.ok(hci.OpLESetAdvertisingParameters, p.bytes())
			require.Equal(t, tc.want, h.st(hci.OpLESetAdvertisingEnable, []byte{1}))
			b.run(100 * sim.Millisecond)
			pkts := b.sent(0, pdu.TypeAdvInd, tc.advA)
			if tc.want != hci.StatusSuccess {
				require.Empty(t, b.air)
				return
			}
			require.NotEmpty(t, pkts)
			require.Len(t, pkts, len(b.air))
			for _, a := range pkts {
				require.Equal(t, tc.advA == randomA, a.pdu.TxAdd())
			}
		})
	}
	t.Run("enable twice, disable twice, bad value", func(t *testing.T) {
		b := newBed(t, 1)
		h := b.dev("dut", addrA, radio.Position{})
		h.ok(hci.OpLESetAdvertisingEnable, []byte{1})
		h.ok(hci.OpLESetAdvertisingEnable, []byte{1})
		b.run(50 * sim.Millisecond)
		h.ok(hci.OpLESetAdvertisingEnable, []byte{0})
		h.ok(hci.OpLESetAdvertisingEnable, []byte{0})
		n := len(b.air)
		require.NotZero(t, n)
		b.run(sim.Second)
		require.Len(t, b.air, n, "advertising after disable")
		require.Equal(t, hci.StatusInvalidParameters, h.st(hci.OpLESetAdvertisingEnable, []byte{2}))
	})
}

// TestHCIAdvertisingData checks LE Set Advertising Data and LE Set Scan
// Response Data (Vol 4 Part E §7.8.7, §7.8.8): at most 31 octets, only the
// significant part is sent, and new data replaces the old while
// advertising.
func TestHCIAdvertisingData(t *testing.T) {
	b := newBed(t, 1)
	h := b.dev("dut", addrA, radio.Position{})
	for _, op := range []hci.Opcode{hci.OpLESetAdvertisingData, hci.OpLESetScanResponseData} {
		bad := advData(nil)
		bad[0] = 32
		require.Equal(t, hci.StatusInvalidParameters, h.st(op, bad), "%v", op)
		bad[0] = 0xFF
		require.Equal(t, hci.StatusInvalidParameters, h.st(op, bad), "%v", op)
	}
	full := make([]byte, 31)
	for i := range full {
		full[i] = byte(i + 1)
	}
	h.startAdv(adv20(advTypeNonconnInd), full, nil)
	b.run(100 * sim.Millisecond)
	changed := b.s.Now()
	h.ok(hci.OpLESetAdvertisingData, advData([]byte{2, 1, 6}))
	// Padding after the significant part is not sent.
	p := advData([]byte{1, 9})
	p[5] = 0xEE
	b.run(100 * sim.Millisecond)
	h.ok(hci.OpLESetAdvertisingData, p)
	last := b.s.Now()
	b.run(100 * sim.Millisecond)
	for _, a := range b.sent(0, pdu.TypeAdvNonconnInd, addrA) {
		switch {
		case a.start < changed:
			require.Equal(t, full, []byte(a.pdu.AdvData()))
		case a.start >= changed && a.start < last:
			require.Equal(t, []byte{2, 1, 6}, []byte(a.pdu.AdvData()))
		default:
			require.Equal(t, []byte{1, 9}, []byte(a.pdu.AdvData()))
		}
	}
	// Empty advertising data: just AdvA.
	h.ok(hci.OpLESetAdvertisingData, advData(nil))
	at := b.s.Now()
	b.run(100 * sim.Millisecond)
	for _, a := range b.sent(at, pdu.TypeAdvNonconnInd, addrA) {
		require.Len(t, a.pdu, pdu.AdvHeaderLen+pdu.AddrLen)
	}
}

// TestHCIAdvertisingConnectionLimit: connectable advertising is refused
// with Connection Limit Exceeded when every connection slot is in use.
func TestHCIAdvertisingConnectionLimit(t *testing.T) {
	b := newBed(t, 1)
	h := b.dev("dut", addrA, radio.Position{})
	for i := range maxConnections {
		peer := peerInfo{addr: hci.BDAddr{byte(i + 1)}}
		h.c.newConn(RolePeripheral, h.c.allocHandle(), peer, testLLData(), b.s.Now())
	}
	h.ok(hci.OpLESetAdvertisingParameters, adv20(advTypeInd).bytes())
	require.Equal(t, hci.StatusConnectionLimitExceeded, h.st(hci.OpLESetAdvertisingEnable, []byte{1}))
	// Non-connectable advertising is still fine.
	h.ok(hci.OpLESetAdvertisingParameters, adv20(advTypeNonconnInd).bytes())
	h.ok(hci.OpLESetAdvertisingEnable, []byte{1})
}

// TestHCIAdvertisingTxPower: the PDUs are sent with the configured power,
// which LE Read Advertising Physical Channel Tx Power reports.
func TestHCIAdvertisingTxPower(t *testing.T) {
	b := newBed(t, 1)
	h := b.devCfg(Config{Name: "dut", Address: addrA, TxPower: 8})
	require.Equal(t, []byte{0, 8}, h.ret(hci.OpLEReadAdvertisingTxPower, nil))
	lt := b.lowerTester(radio.Position{X: 10})
	lt.listen(39)
	h.startAdv(adv20(advTypeNonconnInd), nil, nil)
	b.run(100 * sim.Millisecond)
	require.NotEmpty(t, lt.rx)
	var rssi []int8
	lt.onRx = func(rx *radio.Reception, _ pdu.AdvPDU) { rssi = append(rssi, rx.RSSI()) }
	b.run(100 * sim.Millisecond)
	require.NotEmpty(t, rssi)
	want := expectedRSSI(b.m, 8, radio.Position{}, radio.Position{X: 10})
	for _, r := range rssi {
		require.Equal(t, want, r)
	}
}

// TestLL_DDI_ADV_HighDutyStoppedByHost: disabling high duty cycle directed
// advertising, or HCI Reset, before its 1.28 s are up ends it without LE
// Connection Complete (the host stopped it; nothing timed out).
func TestLL_DDI_ADV_HighDutyStoppedByHost(t *testing.T) {
	for _, stop := range []struct {
		name string
		op   hci.Opcode
		p    []byte
	}{{"disable", hci.OpLESetAdvertisingEnable, []byte{0}}, {"reset", hci.OpReset, nil}} {
		t.Run(stop.name, func(t *testing.T) {
			b := newBed(t, 5)
			h := b.dev("dut", addrA, radio.Position{})
			h.startAdv(advParamsCmd{typ: advTypeDirectHigh, peer: addrB, chMap: 7}, nil, nil)
			b.run(500 * sim.Millisecond)
			h.ok(stop.op, stop.p)
			h.ok(hci.OpSetEventMask, u64(leMetaEventMask))
			n := len(b.air)
			b.run(2 * sim.Second)
			require.Equal(t, n, len(b.air))
			require.Empty(t, h.leMeta(hci.LEConnectionComplete))
			// Enabling again starts a fresh 1.28 s.
			h.startAdv(advParamsCmd{typ: advTypeDirectHigh, peer: addrB, chMap: 7}, nil, nil)
			at := b.s.Now()
			b.runUntil(2*sim.Second, func() bool { return len(h.leMeta(hci.LEConnectionComplete)) == 1 }, "timeout")
			require.InDelta(t, float64(highDutyDuration), float64(b.s.Now().Sub(at)), float64(highDutyInterval))
		})
	}
}
