package linklayer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// leMask enables LE subevents 1..8 (the default mask stops at 5).
func (h *testHost) leMask() {
	h.cmd(hci.OpLESetEventMask, []byte{0xFF, 0, 0, 0, 0, 0, 0, 0})
}

// countOp counts distinct (not retransmitted) control PDUs with op sent by
// from.
func countOp(ops []pdu.Opcode, op pdu.Opcode) int {
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}

// TestConnFeatureExchange: LE Read Remote Features from either role runs
// the Feature Exchange (LL_FEATURE_REQ from the central,
// LL_PERIPHERAL_FEATURE_REQ from the peripheral) and reports the peer's
// features; a second read is answered from the cache (§5.1.4; cf.
// LL/CON/CEN/BV-xx and LL/CON/PER/BV-xx feature exchange tests).
func TestConnFeatureExchange(t *testing.T) {
	for _, central := range []bool{true, false} {
		name := map[bool]string{true: "central initiates", false: "peripheral initiates"}[central]
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, 10, nil)
			w.connect(defaultConnParams())
			local, remote := w.cen, w.per
			lc, wantOp := w.cc, pdu.OpFeatureReq
			if !central {
				local, remote, lc, wantOp = w.per, w.cen, w.pc, pdu.OpPeripheralFeatureReq
			}
			local.cmd(hci.OpLEReadRemoteFeatures, 1)
			require.Equal(t, hci.StatusSuccess, local.cmdStatus(hci.OpLEReadRemoteFeatures))
			w.runUntil(sim.Second, func() bool { return len(local.leMeta(hci.LEReadRemoteFeaturesComplete)) == 1 }, "features")
			var want hci.Writer
			want.U8(0).U16(1).U64(remote.c.leFeatures())
			require.Equal(t, want.B, local.leMeta(hci.LEReadRemoteFeaturesComplete)[0])
			require.Equal(t, 1, countOp(uniqueOps(w.ctrlOnAir(lc.port)), wantOp))
			require.Equal(t, local.c.leFeatures()&remote.c.leFeatures(), lc.usedFeatures())

			// The remote now knows our features too, and both reads come from caches.
			remote.cmd(hci.OpLEReadRemoteFeatures, 1)
			local.cmd(hci.OpLEReadRemoteFeatures, 1)
			w.s.RunFor(200 * sim.Millisecond)
			require.Len(t, local.leMeta(hci.LEReadRemoteFeaturesComplete), 2)
			var wantR hci.Writer
			wantR.U8(0).U16(1).U64(local.c.leFeatures())
			require.Equal(t, [][]byte{wantR.B}, remote.leMeta(hci.LEReadRemoteFeaturesComplete))
			all := append(uniqueOps(w.ctrlOnAir(w.cc.port)), uniqueOps(w.ctrlOnAir(w.pc.port))...)
			require.Equal(t, 1, countOp(all, pdu.OpFeatureReq)+countOp(all, pdu.OpPeripheralFeatureReq))

			local.cmd(hci.OpLEReadRemoteFeatures, 9)
			require.Equal(t, hci.StatusUnknownConnectionID, local.cmdStatus(hci.OpLEReadRemoteFeatures))
		})
	}
}

// TestConnFeatureExchangeUnsupported: a peer that answers
// LL_PERIPHERAL_FEATURE_REQ with LL_UNKNOWN_RSP makes the read fail with
// Unsupported Remote Feature.
func TestConnFeatureExchangeUnsupported(t *testing.T) {
	w := newWorld(t, 11, nil)
	w.connect(defaultConnParams())
	w.per.cmd(hci.OpLEReadRemoteFeatures, 1)
	w.pc.onControl(pdu.BuildUnknownRsp(pdu.OpPeripheralFeatureReq))
	ev := w.per.leMeta(hci.LEReadRemoteFeaturesComplete)
	require.Len(t, ev, 1)
	require.Equal(t, byte(hci.StatusUnsupportedRemoteFeature), ev[0][0])
}

// TestConnVersionExchange: Read Remote Version Information sends
// LL_VERSION_IND once per connection each way; the other side answers from
// its cache (§5.1.5).
func TestConnVersionExchange(t *testing.T) {
	w := newWorld(t, 12, nil)
	w.connect(defaultConnParams())
	var wv hci.Writer
	wv.U8(0).U16(1).U8(llVersionNr).U16(llCompanyID).U16(llSubVersionNr)
	want := wv.B
	w.cen.cmd(hci.OpReadRemoteVersionInfo, 1)
	require.Equal(t, hci.StatusSuccess, w.cen.cmdStatus(hci.OpReadRemoteVersionInfo))
	w.runUntil(sim.Second, func() bool { return len(w.cen.events(hci.EvtReadRemoteVersionComplete)) == 1 }, "version")
	require.Equal(t, want, []byte(w.cen.events(hci.EvtReadRemoteVersionComplete)[0].Params()))

	w.per.cmd(hci.OpReadRemoteVersionInfo, 1)
	w.cen.cmd(hci.OpReadRemoteVersionInfo, 1)
	// From the caches: the events follow the Command Status at once.
	require.Len(t, w.per.events(hci.EvtReadRemoteVersionComplete), 1)
	require.Len(t, w.cen.events(hci.EvtReadRemoteVersionComplete), 2)
	require.Equal(t, want, []byte(w.per.events(hci.EvtReadRemoteVersionComplete)[0].Params()))
	w.s.RunFor(200 * sim.Millisecond)
	require.Equal(t, 1, countOp(uniqueOps(w.ctrlOnAir(w.cc.port)), pdu.OpVersionInd))
	require.Equal(t, 1, countOp(uniqueOps(w.ctrlOnAir(w.pc.port)), pdu.OpVersionInd))
}

// TestConnProcedureResponseTimeout: a peer that never answers ends the
// connection after 40 s with LL Response Timeout (0x22) (§5.2).
func TestConnProcedureResponseTimeout(t *testing.T) {
	w := newWorld(t, 13, nil)
	p := defaultConnParams()
	w.connect(p)
	w.pc.procs.versionSent = true // so it never answers LL_VERSION_IND
	w.cen.cmd(hci.OpReadRemoteVersionInfo, 1)
	start := w.s.Now()
	w.runUntil(45*sim.Second, func() bool { return len(w.cen.disconnections()) == 1 }, "response timeout")
	require.Equal(t, []hci.Status{hci.StatusLLResponseTimeout}, w.cen.disconnections())
	require.Equal(t, procResponseTimeout, w.s.Now().Sub(start))
	w.s.RunFor(2 * sim.Second)
	require.Equal(t, []hci.Status{hci.StatusConnectionTimeout}, w.per.disconnections())
}

// TestConnMalformedControl: unknown, unsupported, wrong-role and
// wrong-length LL control PDUs are answered with LL_UNKNOWN_RSP naming the
// opcode, a malformed LL_UNKNOWN_RSP is not answered, and the connection
// survives (§2.4.2.8).
func TestConnMalformedControl(t *testing.T) {
	tests := []struct {
		name        string
		fromCentral bool
		pdu         []byte
		wantUnknown int // opcode in the answer; -1 for no answer
	}{
		{"unknown opcode", true, []byte{0x7F, 1, 2}, 0x7F},
		{"LL_ENC_REQ from the peripheral", false, pdu.BuildEncReq(pdu.EncReq{}), int(pdu.OpEncReq)},
		{"LL_ENC_REQ too short", true, pdu.BuildEncReq(pdu.EncReq{})[:20], int(pdu.OpEncReq)},
		{"LL_START_ENC_REQ from the central", true, pdu.BuildStartEncReq(), int(pdu.OpStartEncReq)},
		{"LL_PAUSE_ENC_REQ from the peripheral", false, pdu.BuildPauseEncReq(), int(pdu.OpPauseEncReq)},
		{"LL_PING_REQ without LE Ping", false, pdu.BuildPingReq(), int(pdu.OpPingReq)},
		{"LL_FEATURE_REQ too short", true, []byte{byte(pdu.OpFeatureReq), 1, 2, 3}, int(pdu.OpFeatureReq)},
		{"LL_VERSION_IND too long", false, append(pdu.BuildVersionInd(pdu.Version{}), 0), int(pdu.OpVersionInd)},
		{"LL_CONNECTION_PARAM_RSP from the central", true, pdu.BuildConnectionParamRsp(pdu.ConnParams{}), int(pdu.OpConnectionParamRsp)},
		{"LL_CONNECTION_UPDATE_IND from the peripheral", false, pdu.BuildConnectionUpdateInd(pdu.ConnUpdate{}), int(pdu.OpConnectionUpdateInd)},
		{"LL_CHANNEL_MAP_IND from the peripheral", false, pdu.BuildChannelMapInd(pdu.AllChannels(), 5), int(pdu.OpChannelMapInd)},
		{"LL_FEATURE_REQ from the peripheral", false, pdu.BuildFeatureReq(0), int(pdu.OpFeatureReq)},
		{"LL_PHY_REQ", true, []byte{byte(pdu.OpPhyReq), 1, 1}, int(pdu.OpPhyReq)},
		{"LL_UNKNOWN_RSP too short", true, []byte{byte(pdu.OpUnknownRsp)}, -1},
		{"unsolicited LL_FEATURE_RSP", true, pdu.BuildFeatureRsp(0), -1},
		{"unsolicited LL_LENGTH_RSP", false, pdu.BuildLengthRsp(pdu.LengthParams{}), -1},
		{"unsolicited LL_REJECT_EXT_IND", false, pdu.BuildRejectExtInd(pdu.OpConnectionParamReq, 0x23), -1},
		{"unsolicited LL_START_ENC_RSP", true, pdu.BuildStartEncRsp(), -1},
		{"unsolicited LL_ENC_RSP", false, pdu.BuildEncRsp(pdu.EncRsp{}), -1},
		{"unsolicited LL_PAUSE_ENC_RSP", false, pdu.BuildPauseEncRsp(), -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 14, nil)
			w.connect(defaultConnParams())
			from, to := w.cc, w.pc
			if !tc.fromCentral {
				from, to = w.pc, w.cc
			}
			from.sendCtrl(tc.pdu, nil)
			w.s.RunFor(300 * sim.Millisecond)
			answers := uniqueOps(w.ctrlOnAir(to.port))
			if tc.wantUnknown < 0 {
				require.Empty(t, answers)
			} else {
				require.Equal(t, []pdu.Opcode{pdu.OpUnknownRsp}, answers)
				rsp := w.ctrlOnAir(to.port)[0]
				require.Equal(t, []byte{byte(pdu.OpUnknownRsp), byte(tc.wantUnknown)}, []byte(rsp))
			}
			// Still connected, data still flows.
			w.cen.acl(1, hci.PBFirstNonFlushable, payload(1, 40))
			w.runUntil(sim.Second, func() bool { return len(w.per.messages()) == 1 }, "data")
			require.Empty(t, w.cen.disconnections())
			require.Empty(t, w.per.disconnections())
		})
	}
}

// TestConnDataLengthUpdate: LE Set Data Length runs LL_LENGTH_REQ/RSP; both
// hosts get LE Data Length Change with the effective values, and data then
// goes in longer PDUs (§4.5.10, §5.1.9).
func TestConnDataLengthUpdate(t *testing.T) {
	w := newWorld(t, 15, nil)
	w.cen.leMask()
	w.per.leMask()
	w.connect(defaultConnParams())

	w.cen.cmd(hci.OpLEReadMaximumDataLength)
	require.Equal(t, []byte{0, 251, 0, 0x48, 0x08, 251, 0, 0x48, 0x08}, w.cen.complete(hci.OpLEReadMaximumDataLength))

	w.cen.cmd(hci.OpLESetDataLength, 1, 251, 2120)
	require.Equal(t, []byte{0, 1, 0}, w.cen.complete(hci.OpLESetDataLength))
	w.runUntil(sim.Second, func() bool {
		return len(w.cen.leMeta(hci.LEDataLengthChange)) == 1 && len(w.per.leMeta(hci.LEDataLengthChange)) == 1
	}, "data length change")
	dlc := func(tx, txt, rx, rxt uint16) []byte {
		var b hci.Writer
		b.U16(1).U16(tx).U16(txt).U16(rx).U16(rxt)
		return b.B
	}
	require.Equal(t, dlc(251, 2120, 27, 328), w.cen.leMeta(hci.LEDataLengthChange)[0])
	require.Equal(t, dlc(27, 328, 251, 2120), w.per.leMeta(hci.LEDataLengthChange)[0])

	// 251 octets now go in one PDU one way, still in 27-octet ones the other.
	w.air = nil
	w.cen.acl(1, hci.PBFirstNonFlushable, payload(1, 251))
	w.per.acl(1, hci.PBFirstNonFlushable, payload(2, 60))
	w.runUntil(sim.Second, func() bool { return w.cen.completedPackets(1) == 1 && w.per.completedPackets(1) == 1 }, "data")
	w.s.RunFor(100 * sim.Millisecond)
	require.Equal(t, [][]byte{payload(1, 251)}, w.per.messages())
	require.Equal(t, [][]byte{payload(2, 60)}, w.cen.messages())
	require.Len(t, w.per.aclIn(), 1)
	require.Len(t, w.cen.aclIn(), 3)
	longest := 0
	for _, a := range w.air {
		if a.from == w.cc.port {
			longest = max(longest, len(a.pdu))
		}
	}
	require.Equal(t, 2+251, longest)

	// The peripheral follows; both directions are long now.
	w.per.cmd(hci.OpLESetDataLength, 1, 200, 1712)
	w.runUntil(sim.Second, func() bool { return len(w.per.leMeta(hci.LEDataLengthChange)) == 2 }, "second change")
	require.Equal(t, dlc(200, 1712, 251, 2120), w.per.leMeta(hci.LEDataLengthChange)[1])
	w.s.RunFor(100 * sim.Millisecond)
	require.Equal(t, dlc(251, 2120, 200, 1712), w.cen.leMeta(hci.LEDataLengthChange)[1])

	for _, bad := range [][2]int{{26, 328}, {252, 328}, {27, 327}, {27, 0x4291}} {
		w.cen.cmd(hci.OpLESetDataLength, 1, bad[0], bad[1])
		require.Equal(t, []byte{byte(hci.StatusInvalidParameters), 1, 0}, w.cen.complete(hci.OpLESetDataLength))
	}
	w.cen.cmd(hci.OpLESetDataLength, 5, 27, 328)
	require.Equal(t, []byte{byte(hci.StatusUnknownConnectionID), 5, 0}, w.cen.complete(hci.OpLESetDataLength))
}

// TestConnSuggestedDataLength: LE Write Suggested Default Data Length makes
// new connections start the Data Length Update procedure by themselves.
func TestConnSuggestedDataLength(t *testing.T) {
	w := newWorld(t, 16, nil)
	w.cen.leMask()
	w.per.leMask()
	w.per.cmd(hci.OpLEReadSuggestedDefaultDataLen)
	require.Equal(t, []byte{0, 27, 0, 0x48, 0x01}, w.per.complete(hci.OpLEReadSuggestedDefaultDataLen))
	w.per.cmd(hci.OpLEWriteSuggestedDefaultDataLen, 251, 2120)
	require.Equal(t, []byte{0}, w.per.complete(hci.OpLEWriteSuggestedDefaultDataLen))
	w.per.cmd(hci.OpLEWriteSuggestedDefaultDataLen, 252, 2120)
	require.Equal(t, []byte{byte(hci.StatusInvalidParameters)}, w.per.complete(hci.OpLEWriteSuggestedDefaultDataLen))
	w.per.cmd(hci.OpLEReadSuggestedDefaultDataLen)
	require.Equal(t, []byte{0, 251, 0, 0x48, 0x08}, w.per.complete(hci.OpLEReadSuggestedDefaultDataLen))

	w.connect(defaultConnParams())
	w.runUntil(sim.Second, func() bool {
		return len(w.cen.leMeta(hci.LEDataLengthChange)) == 1 && len(w.per.leMeta(hci.LEDataLengthChange)) == 1
	}, "change")
	require.Equal(t, 1, countOp(uniqueOps(w.ctrlOnAir(w.pc.port)), pdu.OpLengthReq))
	require.Equal(t, uint16(251), w.pc.dl.effTxOctets)
	require.Equal(t, uint16(251), w.cc.dl.effRxOctets)
}

// TestConnReadCommands: Read Transmit Power Level, Read RSSI and LE Read
// Channel Map, and their errors.
func TestConnReadCommands(t *testing.T) {
	w := newWorld(t, 17, nil)
	w.connect(defaultConnParams())
	w.cen.cmd(hci.OpReadTransmitPowerLevel, 1, uint8(0))
	require.Equal(t, []byte{0, 1, 0, 0}, w.cen.complete(hci.OpReadTransmitPowerLevel))
	w.cen.cmd(hci.OpReadTransmitPowerLevel, 1, uint8(2))
	require.Equal(t, byte(hci.StatusInvalidParameters), w.cen.complete(hci.OpReadTransmitPowerLevel)[0])
	w.cen.cmd(hci.OpReadTransmitPowerLevel, 2, uint8(0))
	require.Equal(t, byte(hci.StatusUnknownConnectionID), w.cen.complete(hci.OpReadTransmitPowerLevel)[0])
	w.cen.cmd(hci.OpReadRSSI, 2)
	require.Equal(t, []byte{byte(hci.StatusUnknownConnectionID), 2, 0, 0}, w.cen.complete(hci.OpReadRSSI))
	w.per.cmd(hci.OpLEReadChannelMap, 1)
	require.Equal(t, []byte{0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F}, w.per.complete(hci.OpLEReadChannelMap))
	w.per.cmd(hci.OpLEReadChannelMap, 3)
	require.Equal(t, byte(hci.StatusUnknownConnectionID), w.per.complete(hci.OpLEReadChannelMap)[0])
	// Wrong parameter length: 0x12 from the dispatcher.
	w.per.cmd(hci.OpLEReadChannelMap, uint8(1))
	require.Equal(t, []byte{byte(hci.StatusInvalidParameters)}, w.per.complete(hci.OpLEReadChannelMap))
}
