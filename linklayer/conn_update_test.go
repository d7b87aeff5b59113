package linklayer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/pdu"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// updateComplete is the LE Connection Update Complete parameters.
func updateComplete(st hci.Status, interval, latency, timeout uint16) []byte {
	var w hci.Writer
	w.U8(uint8(st)).U16(1).U16(interval).U16(latency).U16(timeout)
	return w.B
}

// anchorsAfter returns the start times of the central's first packet of
// each event from event ev on.
func (w *world) anchorsAfter(ev uint16) []sim.Time {
	var out []sim.Time
	seen := map[uint16]bool{}
	for _, a := range w.air {
		if a.from == w.cc.port && a.counter >= ev && !seen[a.counter] {
			seen[a.counter] = true
			out = append(out, a.start)
		}
	}
	return out
}

// updateInd returns the first LL_CONNECTION_UPDATE_IND the central sent and
// the event counter it was first sent in.
func (w *world) updateInd(t *testing.T) (pdu.ConnUpdate, uint16) {
	t.Helper()
	for _, a := range w.air {
		d := pdu.DataPDU(a.pdu)
		if a.from == w.cc.port && d.LLID() == pdu.LLIDControl && pdu.ControlPDU(d.Payload()).Opcode() == pdu.OpConnectionUpdateInd {
			u, err := pdu.ParseConnectionUpdateInd(d.Payload())
			require.NoError(t, err)
			return u, a.counter
		}
	}
	t.Fatal("no LL_CONNECTION_UPDATE_IND on air")
	return pdu.ConnUpdate{}, 0
}

// TestConnUpdate: LE Connection Update on the central runs the Connection
// Update procedure: LL_CONNECTION_UPDATE_IND with an instant at least six
// events ahead, both sides switch at the instant, both hosts get LE
// Connection Update Complete, and the new interval is used (§5.1.1; cf.
// LL/CON/CEN/BV-xx connection update tests).
func TestConnUpdate(t *testing.T) {
	tests := []struct {
		name                       string
		interval, latency, timeout uint16
	}{
		{"longer interval", 40, 0, 200},
		{"shorter interval", 6, 0, 100},
		{"with peripheral latency", 16, 4, 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 20, nil)
			w.connect(defaultConnParams())
			w.cen.cmd(hci.OpLEConnectionUpdate, 1, tc.interval, tc.interval, tc.latency, tc.timeout, 0, 0)
			require.Equal(t, hci.StatusSuccess, w.cen.cmdStatus(hci.OpLEConnectionUpdate))
			w.runUntil(2*sim.Second, func() bool {
				return len(w.cen.leMeta(hci.LEConnectionUpdateComplete)) == 1 && len(w.per.leMeta(hci.LEConnectionUpdateComplete)) == 1
			}, "update complete")
			want := updateComplete(0, tc.interval, tc.latency, tc.timeout)
			require.Equal(t, want, w.cen.leMeta(hci.LEConnectionUpdateComplete)[0])
			require.Equal(t, want, w.per.leMeta(hci.LEConnectionUpdateComplete)[0])

			u, sentIn := w.updateInd(t)
			require.GreaterOrEqual(t, u.Instant-sentIn, uint16(6))
			require.Equal(t, tc.interval, u.Interval)

			w.s.RunFor(sim.Second)
			anchors := w.anchorsAfter(u.Instant)
			require.Greater(t, len(anchors), 3)
			for i := 1; i < len(anchors); i++ {
				require.Equal(t, units1250(tc.interval), anchors[i].Sub(anchors[i-1]))
			}
			// The peripheral follows the new anchors.
			require.Equal(t, tc.interval, w.pc.interval)
			require.Equal(t, tc.latency, w.pc.latency)
			require.InDelta(t, int(w.cc.ev.counter), int(w.pc.ev.counter), float64(1+tc.latency))
			if tc.latency > 0 {
				// Idle, the peripheral sleeps through up to latency events.
				var per, cen int
				for _, a := range w.air {
					if a.counter > u.Instant+2 {
						if a.from == w.pc.port {
							per++
						} else {
							cen++
						}
					}
				}
				require.Less(t, per, cen/int(tc.latency))
			}
			// Data still flows both ways, promptly.
			w.cen.acl(1, hci.PBFirstNonFlushable, payload(1, 50))
			w.per.acl(1, hci.PBFirstNonFlushable, payload(2, 50))
			w.runUntil(sim.Duration(1+tc.latency)*units1250(tc.interval)*4, func() bool {
				return len(w.cen.messages()) == 1 && len(w.per.messages()) == 1
			}, "data after update")
			w.s.RunFor(3 * sim.Second)
			require.Empty(t, w.cen.disconnections())
			require.Empty(t, w.per.disconnections())
		})
	}
}

// TestConnUpdateCommandErrors: bad parameters 0x12, unknown handle 0x02, a
// second update while one is pending 0x0C.
func TestConnUpdateCommandErrors(t *testing.T) {
	w := newWorld(t, 21, nil)
	w.connect(defaultConnParams())
	bad := [][4]int{
		{5, 5, 0, 100},     // interval too short
		{40, 30, 0, 100},   // min > max
		{40, 40, 500, 400}, // latency too large
		{40, 40, 0, 9},     // timeout too short
		{40, 40, 4, 50},    // timeout not > (1+latency) × interval × 2
	}
	for _, b := range bad {
		w.cen.cmd(hci.OpLEConnectionUpdate, 1, b[0], b[1], b[2], b[3], 0, 0)
		require.Equal(t, hci.StatusInvalidParameters, w.cen.cmdStatus(hci.OpLEConnectionUpdate), "%v", b)
	}
	w.cen.cmd(hci.OpLEConnectionUpdate, 2, 40, 40, 0, 200, 0, 0)
	require.Equal(t, hci.StatusUnknownConnectionID, w.cen.cmdStatus(hci.OpLEConnectionUpdate))
	w.cen.cmd(hci.OpLEConnectionUpdate, 1, 40, 40, 0, 200, 0, 0)
	require.Equal(t, hci.StatusSuccess, w.cen.cmdStatus(hci.OpLEConnectionUpdate))
	w.cen.cmd(hci.OpLEConnectionUpdate, 1, 50, 50, 0, 200, 0, 0)
	require.Equal(t, hci.StatusCommandDisallowed, w.cen.cmdStatus(hci.OpLEConnectionUpdate))
}

// TestConnUpdateInstantPassed: a peripheral that receives
// LL_CONNECTION_UPDATE_IND or LL_CHANNEL_MAP_IND with an instant already
// passed loses the connection with Instant Passed (0x28) (§5.5.1).
func TestConnUpdateInstantPassed(t *testing.T) {
	for _, name := range []string{"connection update", "channel map"} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, 22, nil)
			w.connect(defaultConnParams())
			w.cc.sendCtrlLazy(func() []byte {
				if name == "channel map" {
					return pdu.BuildChannelMapInd(pdu.ChannelMap{0x0F}, w.cc.ev.counter-1)
				}
				return pdu.BuildConnectionUpdateInd(pdu.ConnUpdate{WinSize: 1, Interval: 30, Timeout: 100,
					Instant: w.cc.ev.counter})
			}, nil)
			w.runUntil(2*sim.Second, func() bool { return len(w.per.disconnections()) == 1 }, "peripheral disconnects")
			require.Equal(t, []hci.Status{hci.StatusInstantPassed}, w.per.disconnections())
			w.runUntil(2*sim.Second, func() bool { return len(w.cen.disconnections()) == 1 }, "central times out")
			require.Equal(t, []hci.Status{hci.StatusConnectionTimeout}, w.cen.disconnections())
		})
	}
}

// TestConnParamRequest: the Connection Parameters Request procedure in both
// directions, with the receiving host asked through LE Remote Connection
// Parameter Request (or the controller accepting when that event is
// masked), accepting or rejecting (§5.1.7; cf. LL/CON/CEN/BV-xx and
// LL/CON/PER/BV-xx connection parameters request tests).
func TestConnParamRequest(t *testing.T) {
	tests := []struct {
		name          string
		fromCentral   bool
		hostAsked     bool    // the responder's host has the 0x06 event enabled
		reply         []uint8 // nil: accept with the requested values; else negative reply reason
		wantInitiator []byte
		wantResponder []byte // nil: no event
	}{
		{
			name: "peripheral asks, central controller accepts", fromCentral: false, hostAsked: false,
			wantInitiator: updateComplete(0, 36, 0, 200), wantResponder: updateComplete(0, 36, 0, 200),
		},
		{
			name: "peripheral asks, central host accepts", fromCentral: false, hostAsked: true,
			wantInitiator: updateComplete(0, 40, 0, 200), wantResponder: updateComplete(0, 40, 0, 200),
		},
		{
			name: "peripheral asks, central host rejects", fromCentral: false, hostAsked: true, reply: []uint8{0x3B},
			wantInitiator: updateComplete(0x3B, 24, 0, 100),
		},
		{
			name: "central asks, peripheral controller accepts", fromCentral: true, hostAsked: false,
			wantInitiator: updateComplete(0, 36, 0, 200), wantResponder: updateComplete(0, 36, 0, 200),
		},
		{
			name: "central asks, peripheral host accepts", fromCentral: true, hostAsked: true,
			wantInitiator: updateComplete(0, 40, 0, 200), wantResponder: updateComplete(0, 40, 0, 200),
		},
		{
			name: "central asks, peripheral host rejects", fromCentral: true, hostAsked: true, reply: []uint8{0x3B},
			wantInitiator: updateComplete(0x3B, 24, 0, 100),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 23, nil)
			w.connect(defaultConnParams())
			ini, rsp := w.cen, w.per
			iniConn := w.cc
			if !tc.fromCentral {
				ini, rsp, iniConn = w.per, w.cen, w.pc
			}
			if tc.hostAsked {
				rsp.cmd(hci.OpLESetEventMask, []byte{0x3F, 0, 0, 0, 0, 0, 0, 0})
			}
			// A central uses the procedure once it knows the peer supports it.
			w.cen.cmd(hci.OpLEReadRemoteFeatures, 1)
			w.runUntil(sim.Second, func() bool { return len(w.cen.leMeta(hci.LEReadRemoteFeaturesComplete)) == 1 }, "features")

			ini.cmd(hci.OpLEConnectionUpdate, 1, 36, 40, 0, 200, 0, 0)
			require.Equal(t, hci.StatusSuccess, ini.cmdStatus(hci.OpLEConnectionUpdate))
			if tc.hostAsked {
				w.runUntil(sim.Second, func() bool { return len(rsp.leMeta(hci.LERemoteConnParamRequest)) == 1 }, "remote request")
				var req hci.Writer
				req.U16(1).U16(36).U16(40).U16(0).U16(200)
				require.Equal(t, req.B, rsp.leMeta(hci.LERemoteConnParamRequest)[0])
				if tc.reply == nil {
					rsp.cmd(hci.OpLERemoteConnParamReqReply, 1, 40, 40, 0, 200, 0, 0)
					require.Equal(t, []byte{0, 1, 0}, rsp.complete(hci.OpLERemoteConnParamReqReply))
				} else {
					rsp.cmd(hci.OpLERemoteConnParamReqNegReply, 1, tc.reply[0])
					require.Equal(t, []byte{0, 1, 0}, rsp.complete(hci.OpLERemoteConnParamReqNegReply))
				}
				// Nothing is pending any more.
				rsp.cmd(hci.OpLERemoteConnParamReqReply, 1, 40, 40, 0, 200, 0, 0)
				require.Equal(t, []byte{byte(hci.StatusCommandDisallowed), 1, 0}, rsp.complete(hci.OpLERemoteConnParamReqReply))
			}
			w.runUntil(2*sim.Second, func() bool { return len(ini.leMeta(hci.LEConnectionUpdateComplete)) == 1 }, "update complete")
			w.s.RunFor(500 * sim.Millisecond)
			require.Equal(t, [][]byte{tc.wantInitiator}, ini.leMeta(hci.LEConnectionUpdateComplete))
			if tc.wantResponder == nil {
				require.Empty(t, rsp.leMeta(hci.LEConnectionUpdateComplete))
			} else {
				require.Equal(t, [][]byte{tc.wantResponder}, rsp.leMeta(hci.LEConnectionUpdateComplete))
			}
			require.Equal(t, 1, countOp(uniqueOps(w.ctrlOnAir(iniConn.port)), pdu.OpConnectionParamReq))
			if tc.reply != nil {
				rej := w.ctrlOnAir(w.cc.port)
				if tc.fromCentral {
					rej = w.ctrlOnAir(w.pc.port)
				}
				require.Contains(t, rej, pdu.ControlPDU(pdu.BuildRejectExtInd(pdu.OpConnectionParamReq, tc.reply[0])))
			}
			require.Empty(t, w.cen.disconnections())
			require.Empty(t, w.per.disconnections())
		})
	}
}

// TestConnParamRequestUnsupported: a peripheral whose central does not
// support the procedure (LL_UNKNOWN_RSP, or features without the bit)
// completes LE Connection Update with Unsupported Remote Feature (0x1A).
func TestConnParamRequestUnsupported(t *testing.T) {
	t.Run("LL_UNKNOWN_RSP", func(t *testing.T) {
		w := newWorld(t, 24, nil)
		w.cen.cmd(hci.OpLESetEventMask, []byte{0x3F, 0, 0, 0, 0, 0, 0, 0}) // the central host will sit on it
		w.connect(defaultConnParams())
		w.per.cmd(hci.OpLEConnectionUpdate, 1, 40, 40, 0, 200, 0, 0)
		w.runUntil(sim.Second, func() bool { return len(w.cen.leMeta(hci.LERemoteConnParamRequest)) == 1 }, "request")
		// Answer as an LL without the procedure would.
		w.cc.procs.remoteCPR = nil
		w.cc.sendCtrl(pdu.BuildUnknownRsp(pdu.OpConnectionParamReq), nil)
		w.runUntil(sim.Second, func() bool { return len(w.per.leMeta(hci.LEConnectionUpdateComplete)) == 1 }, "complete")
		require.Equal(t, updateComplete(hci.StatusUnsupportedRemoteFeature, 24, 0, 100), w.per.leMeta(hci.LEConnectionUpdateComplete)[0])
		// Known now: the next request fails at once without air traffic.
		w.per.cmd(hci.OpLEConnectionUpdate, 1, 40, 40, 0, 200, 0, 0)
		require.Len(t, w.per.leMeta(hci.LEConnectionUpdateComplete), 2)
		require.Equal(t, 1, countOp(uniqueOps(w.ctrlOnAir(w.pc.port)), pdu.OpConnectionParamReq))
	})
	t.Run("feature bit clear", func(t *testing.T) {
		w := newWorld(t, 25, nil)
		w.connect(defaultConnParams())
		w.pc.procs.featuresKnown = true
		w.pc.procs.features = 1 << hci.LEFeatExtendedRejectInd
		w.per.cmd(hci.OpLEConnectionUpdate, 1, 40, 40, 0, 200, 0, 0)
		require.Equal(t, [][]byte{updateComplete(hci.StatusUnsupportedRemoteFeature, 24, 0, 100)},
			w.per.leMeta(hci.LEConnectionUpdateComplete))
	})
}

// TestConnParamRequestCollision: the peripheral asks for new parameters
// while the central runs a procedure with an instant of its own. The
// central rejects the request with LL Procedure Collision (0x23) when it is
// the same procedure, Different Transaction Collision (0x2A) otherwise, and
// its own procedure goes through (§5.3).
func TestConnParamRequestCollision(t *testing.T) {
	tests := []struct {
		name    string
		central func(h *testHost)
		want    hci.Status
	}{
		{"both request parameters", func(h *testHost) {
			h.cmd(hci.OpLEConnectionUpdate, 1, 40, 40, 0, 200, 0, 0)
		}, hci.StatusLLProcedureCollision},
		{"central updates the channel map", func(h *testHost) {
			h.cmd(hci.OpLESetHostChannelClassification, []byte{0xFF, 0xFF, 0, 0, 0})
		}, hci.StatusDifferentTransactionCollision},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 26, nil)
			w.connect(defaultConnParams())
			w.cen.cmd(hci.OpLEReadRemoteFeatures, 1)
			w.per.cmd(hci.OpLEReadRemoteFeatures, 1)
			w.runUntil(sim.Second, func() bool {
				return len(w.cen.leMeta(hci.LEReadRemoteFeaturesComplete)) == 1 && len(w.per.leMeta(hci.LEReadRemoteFeaturesComplete)) == 1
			}, "features")
			w.s.RunFor(100 * sim.Millisecond)
			tc.central(w.cen)
			w.per.cmd(hci.OpLEConnectionUpdate, 1, 16, 16, 0, 300, 0, 0)
			w.runUntil(2*sim.Second, func() bool { return len(w.per.leMeta(hci.LEConnectionUpdateComplete)) >= 1 }, "peripheral completes")
			w.s.RunFor(sim.Second)
			per := w.per.leMeta(hci.LEConnectionUpdateComplete)
			require.Equal(t, updateComplete(tc.want, 24, 0, 100), per[0])
			require.Contains(t, w.ctrlOnAir(w.cc.port),
				pdu.ControlPDU(pdu.BuildRejectExtInd(pdu.OpConnectionParamReq, byte(tc.want))))
			if tc.want == hci.StatusLLProcedureCollision {
				require.Equal(t, [][]byte{updateComplete(0, 40, 0, 200)}, w.cen.leMeta(hci.LEConnectionUpdateComplete))
				require.Equal(t, updateComplete(0, 40, 0, 200), per[1])
			} else {
				require.Len(t, per, 1)
				require.Equal(t, pdu.ChannelMap{0xFF, 0xFF, 0, 0, 0}, w.pc.chm)
			}
			require.Empty(t, w.per.disconnections())
		})
	}
}

// TestConnChannelMapUpdate: LE Set Host Channel Classification on the
// central runs the Channel Map Update procedure; from the instant both
// sides hop over the new map only (§5.1.2; cf. LL/CON/CEN/BV-xx channel map
// update tests). A peripheral's classification changes nothing.
func TestConnChannelMapUpdate(t *testing.T) {
	w := newWorld(t, 27, nil)
	w.connect(defaultConnParams())
	w.per.cmd(hci.OpLESetHostChannelClassification, []byte{0x0F, 0, 0, 0, 0})
	require.Equal(t, []byte{0}, w.per.complete(hci.OpLESetHostChannelClassification))
	newMap := pdu.ChannelMap{0xFF, 0x03, 0, 0, 0} // channels 0..9
	w.cen.cmd(hci.OpLESetHostChannelClassification, newMap[:])
	require.Equal(t, []byte{0}, w.cen.complete(hci.OpLESetHostChannelClassification))
	w.runUntil(sim.Second, func() bool { return w.cc.chm == newMap && w.pc.chm == newMap }, "new map")
	var instant uint16
	for _, c := range w.ctrlOnAir(w.cc.port) {
		if c.Opcode() == pdu.OpChannelMapInd {
			m, in, err := pdu.ParseChannelMapInd(c)
			require.NoError(t, err)
			require.Equal(t, newMap, m)
			instant = in
		}
	}
	require.NotZero(t, instant)
	w.s.RunFor(sim.Second)
	n := 0
	for _, a := range w.air {
		if a.counter >= instant {
			require.True(t, newMap.Used(uint8(a.ch)), "channel %d at event %d", a.ch, a.counter)
			n++
		}
	}
	require.Greater(t, n, 30)
	for _, h := range []*testHost{w.cen, w.per} {
		h.cmd(hci.OpLEReadChannelMap, 1)
		require.Equal(t, append([]byte{0, 1, 0}, newMap[:]...), h.complete(hci.OpLEReadChannelMap))
	}
	require.Empty(t, w.ctrlOnAir(w.pc.port))
	require.Empty(t, w.per.disconnections())
}
