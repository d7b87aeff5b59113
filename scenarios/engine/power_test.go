package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/att"
	"blesim/hosts/profiles"
	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/scenarios/world"
	"blesim/vhci/hci"
)

// bondedWorld builds bondWorld, runs it until the phone has read the
// protected value (so it paired and bonded) and returns it still
// connected.
func bondedWorld(t *testing.T, stateDir string) *World {
	t.Helper()
	w, err := world.Parse("w.yaml", []byte(bondWorld))
	require.NoError(t, err)
	ew, err := Build(w, Options{Log: zaptest.NewLogger(t), StateDir: stateDir,
		CentralConfig: func(world.Device) profiles.CentralConfig {
			return profiles.CentralConfig{Target: "Lock", Read: []att.UUID{att.UUID16(0x2A56)}, Hold: 1e12}
		}})
	require.NoError(t, err)
	t.Cleanup(func() { ew.Close() })
	ew.Start()
	phone := ew.Device("Phone")
	ew.Sched.RunWhile(sim.Time(20*sim.Second), func() bool { return !has(phone.Events, isRead) })
	require.True(t, has(phone.Events, isRead), "phone events: %v", phone.Events)
	return ew
}

func has(events []profiles.Event, match func(profiles.Event) bool) bool {
	for _, e := range events {
		if match(e) {
			return true
		}
	}
	return false
}

func isRead(e profiles.Event) bool { _, ok := e.(profiles.Read); return ok }

func disconnectReason(events []profiles.Event) (hci.Status, bool) {
	for _, e := range events {
		if d, ok := e.(profiles.Disconnected); ok {
			return d.Reason, true
		}
	}
	return 0, false
}

// TestPowerOffPeerSeesSupervisionTimeout: a peripheral that loses power
// says nothing on air; the central's link ends with a supervision timeout
// (0x08). The peripheral reports nothing while off, and after power on it
// advertises again.
func TestPowerOffPeerSeesSupervisionTimeout(t *testing.T) {
	ew := bondedWorld(t, "")
	phone, lock := ew.Device("Phone"), ew.Device("Lock")
	advAfter := 0
	ew.OnAir(func(tx *radio.Reception, _ *radio.Port) {
		if tx.Channel < 37 || !lock.Powered() {
			return
		}
		if p, err := pdu.ParseAdv(tx.PDU); err == nil && p.AdvA() == lock.Spec.Address {
			advAfter++
		}
	})
	require.NoError(t, ew.PowerOff(lock))
	require.False(t, lock.Powered())
	require.Error(t, ew.PowerOff(lock), "already off")
	lockEvents := len(lock.Events)
	ew.Sched.RunWhile(ew.Sched.Now().Add(10*sim.Second), func() bool {
		_, ok := disconnectReason(phone.Events)
		return !ok
	})
	reason, ok := disconnectReason(phone.Events)
	require.True(t, ok, "the phone's link ended: %v", phone.Events)
	require.Equal(t, hci.StatusConnectionTimeout, reason)
	require.Len(t, lock.Events, lockEvents, "a device without power reports nothing")
	require.Zero(t, advAfter)

	require.NoError(t, ew.PowerOn(lock, BootOptions{}))
	require.Error(t, ew.PowerOn(lock, BootOptions{}), "already on")
	ew.Sched.RunFor(2 * sim.Second)
	require.True(t, has(lock.Events[lockEvents:], func(e profiles.Event) bool { _, ok := e.(profiles.Ready); return ok }),
		"the rebooted host brought its controller up: %v", lock.Events[lockEvents:])
	require.Greater(t, advAfter, 10, "it advertises again after power on")
}

// TestRebootLoadingBonds: with or without a bond file, a device that
// loads its bonds at boot still has them after a reboot; one that does
// not has none in its host while the file keeps them.
func TestRebootLoadingBonds(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name     string
		stateDir bool
		load     *bool
		want     int // bonds in the host after the reboot
	}{
		{"memory, load", false, &yes, 1},
		{"memory, world default", false, nil, 1},
		{"memory, no load", false, &no, 0},
		{"file, load", true, &yes, 1},
		{"file, no load", true, &no, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := ""
			if tc.stateDir {
				dir = t.TempDir()
			}
			ew := bondedWorld(t, dir)
			lock := ew.Device("Lock")
			require.Equal(t, 1, lock.SMP().Store().Len())
			require.NoError(t, ew.Reboot(lock, BootOptions{LoadBonds: tc.load}))
			require.Equal(t, tc.want, lock.SMP().Store().Len(), "bonds in the rebooted host")
			if tc.stateDir {
				raw, err := os.ReadFile(filepath.Join(dir, "Lock.bonds.json"))
				require.NoError(t, err)
				var f struct{ Bonds []json.RawMessage }
				require.NoError(t, json.Unmarshal(raw, &f))
				require.Len(t, f.Bonds, 1, "the bond file still holds the bond")
				_, err = os.Stat(filepath.Join(dir, "Lock.bonds.json.not-loaded"))
				require.ErrorIs(t, err, os.ErrNotExist)
			}
		})
	}
}

// TestLoadBondsAtBootFalseFromWorld: the world field applies at the first
// boot too: a bond file from an earlier run is not loaded.
func TestLoadBondsAtBootFalseFromWorld(t *testing.T) {
	dir := t.TempDir()
	session(t, dir) // pairs and bonds, files written
	src := bondWorld + "    security: {load_bonds_at_boot: false}\n"
	w, err := world.Parse("w.yaml", []byte(src))
	require.NoError(t, err)
	require.False(t, w.Devices[1].Security.LoadBondsAtBoot)
	ew, err := Build(w, Options{Log: zaptest.NewLogger(t), StateDir: dir})
	require.NoError(t, err)
	defer ew.Close()
	require.Zero(t, ew.Device("Lock").SMP().Store().Len())
	require.Equal(t, 1, ew.Device("Phone").SMP().Store().Len(), "the phone loads its bonds")
}
