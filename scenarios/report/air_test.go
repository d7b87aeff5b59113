package report

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"blesim/hosts/att"
	"blesim/hosts/profiles"
	"blesim/linklayer/sim"
	"blesim/scenarios/engine"
	"blesim/scenarios/world"
)

const airWorld = `seed: 3
devices:
  - name: Central
    profile: central
    address: "00:AA:02:00:00:01"
    address_type: public
  - name: Oximeter
    profile: oximeter
    position: [2, 0]
    battery_level: 64
`

// recordDemo runs the central-reads-oximeter story in process (pairing
// first when pair is set) and returns the Timeline recorded from the air
// (with the session keys, as Record does).
func recordDemo(t *testing.T, pair bool) Timeline { return recordRun(t, pair, true) }

// recordRun is recordDemo; without keys the Recorder sees only the air, as
// a sniffer that does not know the LTK.
func recordRun(t *testing.T, pair, keys bool) Timeline {
	t.Helper()
	w, err := world.Parse("report-test.yaml", []byte(airWorld))
	require.NoError(t, err)
	ew, err := engine.Build(w, engine.Options{
		StateDir: t.TempDir(),
		CentralConfig: func(world.Device) profiles.CentralConfig {
			cfg := profiles.CentralConfig{
				Target: "Oximeter",
				Read:   []att.UUID{att.UUID16(0x2A19)},
				Hold:   200 * time.Millisecond,
			}
			cfg.Security.PairOnConnect = pair
			return cfg
		},
	})
	require.NoError(t, err)
	rec := Record(ew, "Central reads the Oximeter")
	if !keys {
		rec = NewRecorder("Central reads the Oximeter (no keys)", Party{"Central", ew.Device("Central").Ctrl.Address()},
			Party{"Oximeter", ew.Device("Oximeter").Ctrl.Address()})
		ew.OnAir(rec.Observe)
	}
	ew.Start()
	central := ew.Device("Central")
	ew.Sched.RunWhile(sim.Time(20*sim.Second), func() bool {
		for _, e := range central.Events {
			if _, ok := e.(profiles.Disconnected); ok {
				return false
			}
		}
		return true
	})
	// Let the last packets (the acknowledgement of LL_TERMINATE_IND) go out.
	ew.Sched.RunWhile(ew.Sched.Now()+sim.Time(100*sim.Millisecond), func() bool { return true })
	require.NoError(t, ew.Close())
	return rec.Timeline()
}

// labels lists "From->To Label" for each message row.
func labels(tl Timeline) []string {
	var out []string
	for _, e := range tl.Events {
		out = append(out, e.From+"->"+e.To+" "+e.Label)
	}
	return out
}

func findRow(tl Timeline, from, to, prefix string) (Event, bool) {
	for _, e := range tl.Events {
		if e.From == from && e.To == to && strings.HasPrefix(e.Label, prefix) {
			return e, true
		}
	}
	return Event{}, false
}

func TestTimelineFromInProcessRun(t *testing.T) {
	tl := recordDemo(t, false)
	all := strings.Join(labels(tl), "\n")
	require.Equal(t, []string{"Central", "Oximeter"}, tl.Devices)

	adv, ok := findRow(tl, "Oximeter", "", "ADV_IND ×")
	require.True(t, ok, "repeated advertising collapses into one row:\n%s", all)
	require.Greater(t, adv.Count, 1)
	require.Equal(t, `"Oximeter"`, adv.Detail)

	conn, ok := findRow(tl, "Central", "Oximeter", "CONNECT_IND")
	require.True(t, ok, all)
	require.Contains(t, conn.Detail, "interval 30.00 ms")

	req, ok := findRow(tl, "Central", "Oximeter", "Read Request")
	require.True(t, ok, all)
	require.Equal(t, LayerATT, req.Layer)
	rsp, ok := findRow(tl, "Oximeter", "Central", "Read Response")
	require.True(t, ok, all)
	require.Contains(t, rsp.Detail, "value 40", "battery level 64 = 0x40")
	require.Greater(t, rsp.At, req.At)

	_, ok = findRow(tl, "Central", "Oximeter", "Exchange MTU Request")
	require.True(t, ok, all)
	term, ok := findRow(tl, "Central", "Oximeter", "LL_TERMINATE_IND")
	require.True(t, ok, all)
	require.Contains(t, term.Detail, "0x13")

	empty := 0
	for _, e := range tl.Events {
		if strings.HasPrefix(e.Label, "empty PDU") {
			empty++
		}
		require.False(t, e.Encrypted, "nothing is encrypted without pairing")
	}
	require.Positive(t, empty)
	require.Less(t, len(tl.Events), 120, "collapsing keeps the chart readable:\n%s", all)
	for i := 1; i < len(tl.Events); i++ {
		require.LessOrEqual(t, tl.Events[i-1].At, tl.Events[i].At, "rows are in time order")
	}
}

// TestTimelineFromPairingRun: with the session keys, what the link
// carries after encryption starts is decoded (LL_START_ENC_RSP, SMP key
// distribution, the ATT read) and drawn as encrypted and decrypted;
// without them it is "encrypted data".
func TestTimelineFromPairingRun(t *testing.T) {
	for _, keys := range []bool{true, false} {
		t.Run(map[bool]string{true: "keys", false: "no keys"}[keys], func(t *testing.T) { pairingRun(t, keys) })
	}
}

func pairingRun(t *testing.T, keys bool) {
	tl := recordRun(t, true, keys)
	all := strings.Join(labels(tl), "\n")
	_, ok := findRow(tl, "Central", "Oximeter", "Pairing Request")
	require.True(t, ok, all)
	_, ok = findRow(tl, "Oximeter", "Central", "Pairing Response")
	require.True(t, ok, all)
	_, ok = findRow(tl, "Central", "Oximeter", "LL_ENC_REQ")
	require.True(t, ok, all)
	_, ok = findRow(tl, "Oximeter", "Central", "LL_START_ENC_REQ")
	require.True(t, ok, all)
	var started bool
	var encrypted, decrypted int
	for _, e := range tl.Events {
		if e.Kind == EncryptionStarted {
			require.False(t, started, "one encryption mark:\n%s", all)
			started = true
		}
		if e.Encrypted {
			require.True(t, started, "encrypted rows come after the encryption mark")
			encrypted++
		}
		if e.Decrypted {
			require.True(t, e.Encrypted)
			require.False(t, e.MICFailure)
			decrypted++
		}
	}
	require.True(t, started, all)
	require.Positive(t, encrypted, all)
	rsp, okRsp := findRow(tl, "Oximeter", "Central", "Read Response")
	if !keys {
		require.Zero(t, decrypted)
		require.False(t, okRsp, "ATT after encryption cannot be read from the air:\n%s", all)
		_, ok = findRow(tl, "Central", "Oximeter", "encrypted LL control")
		require.True(t, ok, all)
		return
	}
	require.Equal(t, encrypted, decrypted, "every encrypted PDU is decrypted with the keys:\n%s", all)
	require.True(t, okRsp, all)
	require.True(t, rsp.Encrypted && rsp.Decrypted, "the read went encrypted")
	require.Equal(t, LayerATT, rsp.Layer)
	require.Contains(t, rsp.Detail, "value 40", "battery level 64 = 0x40")
	for _, row := range []struct{ from, to, label, layer string }{
		{"Central", "Oximeter", "LL_START_ENC_RSP", LayerLL},
		{"Oximeter", "Central", "LL_START_ENC_RSP", LayerLL},
		{"Oximeter", "Central", "Identity Information", LayerSMP},
		{"Central", "Oximeter", "Read Request", LayerATT},
	} {
		e, ok := findRow(tl, row.from, row.to, row.label)
		require.True(t, ok, "%+v:\n%s", row, all)
		require.Equal(t, row.layer, e.Layer)
		require.True(t, e.Decrypted, "%+v went encrypted", row)
	}
	var html strings.Builder
	require.NoError(t, WriteHTML(&html, tl))
	require.Equal(t, decrypted, strings.Count(html.String(), `<g class="lock"`), "a lock on every decrypted row")
}
