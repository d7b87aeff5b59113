package linklayer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// TestConnSupervisionTimeout: when the peripheral moves out of range, both
// sides lose the connection after connSupervisionTimeout with Connection
// Timeout (0x08) (§4.5.2; cf. LL/CON/CEN/BV-xx and LL/CON/PER/BV-xx
// supervision timeout tests).
func TestConnSupervisionTimeout(t *testing.T) {
	for _, moved := range []string{"peripheral", "central"} {
		t.Run(moved+" moves away", func(t *testing.T) {
			w := newWorld(t, 5, nil)
			w.connect(defaultConnParams())
			w.s.RunFor(200 * sim.Millisecond)
			h := w.per
			if moved == "central" {
				h = w.cen
			}
			h.c.SetPosition(radio.Position{X: 100_000})
			left := w.s.Now()
			w.runUntil(3*sim.Second, func() bool {
				return len(w.cen.disconnections()) == 1 && len(w.per.disconnections()) == 1
			}, "disconnections")
			require.Equal(t, []hci.Status{hci.StatusConnectionTimeout}, w.cen.disconnections())
			require.Equal(t, []hci.Status{hci.StatusConnectionTimeout}, w.per.disconnections())
			// 1 s after the last packet, which was at most one interval before.
			took := w.s.Now().Sub(left)
			require.GreaterOrEqual(t, took, sim.Second-30*sim.Millisecond)
			require.LessOrEqual(t, took, sim.Second+30*sim.Millisecond)
			require.Empty(t, w.cen.c.conns)
			require.Empty(t, w.per.c.conns)
		})
	}
}

// TestConnFailedToEstablish: without a peer, the connection is lost after
// six connection intervals with Connection Failed to be Established
// (0x3E), in either role (§4.5.2).
func TestConnFailedToEstablish(t *testing.T) {
	for _, role := range []Role{RoleCentral, RolePeripheral} {
		t.Run(role.String(), func(t *testing.T) {
			w := newWorld(t, 6, nil)
			h := w.cen
			if role == RolePeripheral {
				h = w.per
			}
			p := defaultConnParams()
			h.c.newConn(role, 1, peerInfo{}, p, 0)
			w.runUntil(sim.Second, func() bool { return len(h.disconnections()) == 1 }, "disconnection")
			require.Equal(t, []hci.Status{hci.StatusConnectionFailedToEstablish}, h.disconnections())
			// 6 × connInterval after the first transmit window (1.25 ms + WinOffset).
			require.Equal(t, sim.Time(2500+6*30_000), w.s.Now())
			w.s.RunFor(sim.Second)
			require.Len(t, h.disconnections(), 1)
			require.Empty(t, h.c.conns)
		})
	}
}

// TestConnDisconnect: HCI Disconnect from either side sends LL_TERMINATE_IND
// with the host's reason; the local host gets Disconnection Complete with
// 0x16, the remote host the reason sent (§5.1.6; cf. LL/CON/CEN/BV-xx,
// LL/CON/PER/BV-xx termination tests).
func TestConnDisconnect(t *testing.T) {
	tests := []struct {
		name       string
		central    bool
		reason     uint8
		wantStatus hci.Status
		wantRemote hci.Status
	}{
		{"central, remote user terminated", true, 0x13, hci.StatusSuccess, hci.StatusRemoteUserTerminated},
		{"peripheral, remote user terminated", false, 0x13, hci.StatusSuccess, hci.StatusRemoteUserTerminated},
		{"central, power off", true, 0x15, hci.StatusSuccess, hci.StatusRemotePowerOff},
		{"peripheral, unacceptable parameters", false, 0x3B, hci.StatusSuccess, hci.StatusUnacceptableConnectionParams},
		{"central, reason not allowed", true, 0x16, hci.StatusInvalidParameters, 0},
		{"peripheral, reason not allowed", false, 0x08, hci.StatusInvalidParameters, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 7, nil)
			w.connect(defaultConnParams())
			local, remote := w.cen, w.per
			if !tc.central {
				local, remote = w.per, w.cen
			}
			// Data queued before the disconnect does not hold it up.
			local.acl(1, hci.PBFirstNonFlushable, payload(1, 200))
			local.cmd(hci.OpDisconnect, 1, tc.reason)
			require.Equal(t, tc.wantStatus, local.cmdStatus(hci.OpDisconnect))
			if tc.wantStatus != hci.StatusSuccess {
				w.s.RunFor(200 * sim.Millisecond)
				require.Empty(t, local.disconnections())
				return
			}
			start := w.s.Now()
			w.runUntil(sim.Second, func() bool {
				return len(w.cen.disconnections()) == 1 && len(w.per.disconnections()) == 1
			}, "disconnections")
			require.Less(t, w.s.Now().Sub(start), 200*sim.Millisecond, "termination took a supervision timeout")
			require.Equal(t, []hci.Status{hci.StatusLocalHostTerminated}, local.disconnections())
			require.Equal(t, []hci.Status{tc.wantRemote}, remote.disconnections())
			// The handle is gone: a second Disconnect is Unknown Connection Identifier.
			local.cmd(hci.OpDisconnect, 1, uint8(0x13))
			require.Equal(t, hci.StatusUnknownConnectionID, local.cmdStatus(hci.OpDisconnect))
			w.s.RunFor(sim.Second)
			require.Len(t, w.cen.disconnections(), 1)
			require.Len(t, w.per.disconnections(), 1)
		})
	}
}

// TestConnDisconnectUnacknowledged: when the peer is gone, the terminating
// side gives up (T_Terminate or supervision timeout) and still reports 0x16.
func TestConnDisconnectUnacknowledged(t *testing.T) {
	w := newWorld(t, 8, nil)
	w.connect(defaultConnParams())
	w.per.c.SetPosition(radio.Position{X: 100_000})
	w.cen.cmd(hci.OpDisconnect, 1, uint8(0x13))
	w.runUntil(3*sim.Second, func() bool { return len(w.cen.disconnections()) == 1 }, "disconnection")
	require.Equal(t, []hci.Status{hci.StatusLocalHostTerminated}, w.cen.disconnections())
}

// TestConnDrop: drop (HCI Reset) removes the connection without events or
// air traffic.
func TestConnDrop(t *testing.T) {
	w := newWorld(t, 9, nil)
	w.connect(defaultConnParams())
	w.cen.cmd(hci.OpReset)
	require.Empty(t, w.cen.c.conns)
	n := len(w.cen.pkts)
	air := 0
	for _, a := range w.air {
		if a.from == w.cc.port {
			air++
		}
	}
	w.s.RunFor(2 * sim.Second)
	require.Len(t, w.cen.pkts, n)
	for _, a := range w.air[len(w.air)-1:] {
		require.NotEqual(t, w.cc.port, a.from)
	}
	after := 0
	for _, a := range w.air {
		if a.from == w.cc.port {
			after++
		}
	}
	require.Equal(t, air, after, "the dropped connection transmitted")
	// The peripheral notices with a supervision timeout.
	require.Equal(t, []hci.Status{hci.StatusConnectionTimeout}, w.per.disconnections())
}
