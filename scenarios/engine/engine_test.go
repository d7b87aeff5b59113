package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/att"
	"blesim/hosts/profiles"
	"blesim/linklayer/sim"
	"blesim/scenarios/world"
)

const testWorld = `seed: 3
devices:
  - name: Central
    profile: central
    address: "00:AA:02:00:00:01"
    address_type: public
  - name: Oximeter
    profile: oximeter
    position: [2, 0]
    battery_level: 64
  - name: Far
    profile: heart-rate
    position: [5000, 0]
`

// runDemo plays the central-reads-oximeter story and returns the central's
// events and the trace directory.
func runDemo(t *testing.T, dir string) []profiles.Event {
	t.Helper()
	w, err := world.Parse("test.yaml", []byte(testWorld))
	require.NoError(t, err)
	ew, err := Build(w, Options{
		Log:      zaptest.NewLogger(t),
		SnoopDir: dir,
		CentralConfig: func(world.Device) profiles.CentralConfig {
			return profiles.CentralConfig{
				Target: "Oximeter",
				Read:   []att.UUID{att.UUID16(0x2A19)},
				Hold:   1e9,
			}
		},
	})
	require.NoError(t, err)
	ew.Start()
	central := runUntilDisconnected(ew, "Central")
	require.NoError(t, ew.Close())
	return central.Events
}

// runUntilDisconnected runs the world until the named device reports a
// disconnection (or 20 s of virtual time) and returns the device.
func runUntilDisconnected(ew *World, name string) *Device {
	d := ew.Device(name)
	ew.Sched.RunWhile(sim.Time(20*sim.Second), func() bool {
		for _, e := range d.Events {
			if _, ok := e.(profiles.Disconnected); ok {
				return false
			}
		}
		return true
	})
	return d
}

func TestCentralReadsOximeterThroughControllers(t *testing.T) {
	events := runDemo(t, t.TempDir())
	var read *profiles.Read
	var discovered []string
	for _, e := range events {
		switch ev := e.(type) {
		case profiles.Read:
			read = &ev
		case profiles.Discovered:
			discovered = append(discovered, ev.Name)
		case profiles.Error:
			t.Fatalf("central reported an error: %v", ev)
		}
	}
	require.NotNil(t, read, "the central read the battery level; events: %v", events)
	require.Equal(t, []byte{64}, read.Value)
	require.NotContains(t, discovered, "Far", "a device 5 km away is out of range")
}

// TestSameSeedSameTraces: the design promises byte-identical traces for
// runs with the same seed.
func TestSameSeedSameTraces(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	runDemo(t, a)
	runDemo(t, b)
	for _, name := range []string{"Central.btsnoop", "Oximeter.btsnoop", "Far.btsnoop"} {
		x, err := os.ReadFile(filepath.Join(a, name))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, name))
		require.NoError(t, err)
		require.Greater(t, len(x), 100, name)
		require.Equal(t, x, y, "%s differs between two runs with the same seed", name)
	}
}
