package scenario

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

// base is a small valid scenario; tests append steps and expectations.
const base = `name: t
description: a test
seed: 2
devices:
  - name: Phone
    profile: central
  - name: Oxi
    profile: oximeter
    position: [1, 0]
`

func TestParseErrorsNameFileLineField(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown top-level field", base + "stepz: []\n", `s.yaml:10: unknown field "stepz"`},
		{"world field checked by the world parser", "devices:\n  - name: A\n    profile: oximeter\n    position: near\n", "s.yaml:4: devices[0].position: want [x, y]"},
		{"step without action", base + "steps:\n  - at: 1s\n", "s.yaml:11: steps[0]: want exactly one action"},
		{"two actions", base + "steps:\n  - wait: 1s\n    disconnect: Phone\n", "s.yaml:11: steps[0]: want exactly one action"},
		{"bad duration", base + "steps:\n  - wait: soon\n", `s.yaml:11: steps[0].wait: want a duration such as 500ms or 2s, got "soon"`},
		{"at and after", base + "steps:\n  - at: 1s\n    after: previous\n    wait: 1s\n", "s.yaml:12: steps[0].after: give either at or after"},
		{"unknown device", base + "steps:\n  - connect: {device: Phone, peer: Oxy}\n", `s.yaml:11: steps[0].connect.peer: no device "Oxy"`},
		{"connect from a peripheral", base + "steps:\n  - connect: {device: Oxi, peer: Phone}\n", `s.yaml:11: steps[0].connect.device: "Oxi" is a oximeter; this needs a device with profile central`},
		{"missing peer", base + "steps:\n  - connect: {device: Phone}\n", `s.yaml:11: steps[0].connect: missing required field "peer"`},
		{"unknown action field", base + "steps:\n  - pair: {device: Phone, bonding: true}\n", `s.yaml:11: steps[0].pair: unknown field "bonding"`},
		{"bad io capability", base + "steps:\n  - pair: {device: Phone, io_capability: 9}\n", "s.yaml:11: steps[0].pair.io_capability: unknown IO capability"},
		{"bad uuid", base + "steps:\n  - read: {device: Phone, uuid: battery}\n", "s.yaml:11: steps[0].read.uuid: want a 16-bit"},
		{"bad packet loss", base + "steps:\n  - set_packet_loss: 2\n", "s.yaml:11: steps[0].set_packet_loss: want a probability from 0 to 1"},
		{"bad status", base + "expect:\n  - encryption_change: {device: Phone, status: missing}\n", `s.yaml:11: expect[0].encryption_change.status: want an HCI status`},
		{"bad result", base + "expect:\n  - pairing: {device: Phone, result: maybe}\n", `s.yaml:11: expect[0].pairing.result: want success or failed, got "maybe"`},
		{"unknown expectation", base + "expect:\n  - bonded: {device: Phone}\n", `s.yaml:11: expect[0]: unknown field "bonded"`},
		{"connections without count", base + "expect:\n  - connections: {device: Phone}\n", `s.yaml:11: expect[0].connections: missing required field "count"`},
		{"bad within", base + "expect:\n  - bond: {device: Oxi}\n    within: later\n", "s.yaml:12: expect[0].within: want a duration"},
		{"bad expectation host", base + "expect:\n  - bond: {device: Oxi}\n    host: bluez\n", `s.yaml:12: expect[0].host: want builtin or kernel (only in runs with built-in hosts only, or only with the kernel), got "bluez"`},
		{"bad step host", base + "steps:\n  - wait: 1s\n    host: linux\n", `s.yaml:12: steps[0].host: want builtin or kernel (only in runs with built-in hosts only, or only with the kernel), got "linux"`},
		{"yaml syntax", "name: [\n", "s.yaml:"},
		{"bad after", base + "steps:\n  - after: prev\n    wait: 1s\n", `s.yaml:11: steps[0].after: want previous or a delay after the previous step such as 500ms, got "prev"`},
		{"two central peers", base + "  - {name: Oxi2, profile: oximeter}\nsteps:\n  - connect: {device: Phone, peer: Oxi}\n  - connect: {device: Phone, peer: Oxi2}\n", `s.yaml:13: steps[1].connect.peer: Phone already connects to "Oxi" (line 12)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.text))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseStepsAndExpectations(t *testing.T) {
	s, err := Parse("s.yaml", []byte(base+`steps:
  - at: 0s
    connect: {device: Phone, peer: Oxi}
  - after: 500ms
    pair: {device: Phone, bond: true, secure_connections: false, mitm: false, io_capability: 3}
  - write: {device: Phone, uuid: "2A19", value: "hex:01 02"}
  - move: {device: Oxi, position: [3, 4]}
  - delete_bond: Phone
expect:
  - disconnect: {device: Phone, reason: 0x05, count: 2}
    within: 10s
`))
	require.NoError(t, err)
	require.Len(t, s.Steps, 5)
	require.True(t, s.Steps[0].HasAt)
	require.Equal(t, "Oxi", s.Steps[0].Peer)
	require.Equal(t, int64(500e6), int64(s.Steps[1].Delay))
	require.True(t, s.Steps[1].Pair.Bond)
	require.False(t, s.Steps[1].Pair.LESecure)
	require.Equal(t, 3, int(s.Steps[1].Pair.IO))
	require.Equal(t, []byte{1, 2}, s.Steps[2].Value)
	require.Equal(t, [2]float64{3, 4}, s.Steps[3].Position)
	require.Equal(t, ActDeleteBond, s.Steps[4].Action)
	require.Equal(t, uint8(5), *s.Expect[0].Reason)
	require.Equal(t, 2, *s.Expect[0].Count)
}

// TestFalseExpectationFails: an expectation that cannot hold fails with
// what was expected, what happened and when.
func TestFalseExpectationFails(t *testing.T) {
	s, err := Parse("s.yaml", []byte(base+`steps:
  - connect: {device: Phone, peer: Oxi}
  - read: {device: Phone, uuid: "2A19"}
  - disconnect: Phone
expect:
  - read: {device: Phone, uuid: "2A19", value: "hex:64"}
  - read: {device: Phone, uuid: "2A19", value: "hex:07"}
    within: 5s
  - connections: {device: Phone, count: 1}
  - pairing: {device: Phone, result: success}
`))
	require.NoError(t, err)
	res, err := Run(s, Options{Log: zaptest.NewLogger(t)})
	require.NoError(t, err)
	require.False(t, res.Passed)
	require.True(t, res.Expectations[0].Passed, res.Summary())
	require.True(t, res.Expectations[2].Passed, res.Summary())
	bad := res.Expectations[1]
	require.False(t, bad.Passed)
	require.Contains(t, bad.Expected, "read of 2A19 = 07 on Phone within 5s")
	require.Contains(t, bad.Observed, "read 2A19 = 64 at ")
	require.Equal(t, "5.000000s", bad.At.Text)
	require.False(t, res.Expectations[3].Passed, "no pairing happened")
	require.Equal(t, "nothing of the kind", res.Expectations[3].Observed)
	sum := res.Summary()
	require.Contains(t, sum, "FAIL  expect[1] (line 16) read")
	require.True(t, strings.HasSuffix(sum, "FAIL: 2 of 4 expectation(s) did not hold\n"), sum)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	require.Contains(t, string(b), `"passed":false`)
}

// TestSameSeedSameResult: runs are deterministic.
func TestSameSeedSameResult(t *testing.T) {
	s, err := Parse("s.yaml", []byte(base+"steps:\n  - connect: {device: Phone, peer: Oxi}\n  - wait: 1s\n  - disconnect: Phone\n"))
	require.NoError(t, err)
	a, err := Run(s, Options{})
	require.NoError(t, err)
	b, err := Run(s, Options{})
	require.NoError(t, err)
	require.Equal(t, a, b)
}

// TestReferenceExampleParses keeps the example in Reference valid.
func TestReferenceExampleParses(t *testing.T) {
	start := strings.Index(Reference, "  name: lost-bond")
	end := strings.Index(Reference, "\nSteps (")
	require.True(t, start > 0 && end > start)
	var lines []string
	for _, l := range strings.Split(Reference[start:end], "\n") {
		lines = append(lines, strings.TrimPrefix(l, "  "))
	}
	s, err := Parse("example.yaml", []byte(strings.Join(lines, "\n")))
	require.NoError(t, err)
	require.Len(t, s.Steps, 5)
	res, err := Run(s, Options{})
	require.NoError(t, err)
	require.Len(t, res.Expectations, 2)
}

// FuzzParse: no input makes Parse panic, and a rejected file always says
// which file.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base + "steps:\n  - connect: {device: Phone, peer: Oxi}\nexpect:\n  - bond: {device: Oxi}\n"))
	f.Add([]byte("steps: [{wait: 1s}, {at: 2s, move: {device: X, position: [1]}}]\nexpect: [{pairing: {}}]"))
	f.Add([]byte("expect:\n  - disconnect: {device: A, reason: 0x1ff}\n    within: -1s\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			require.Contains(t, err.Error(), "f.yaml")
			return
		}
		require.NotNil(t, s.World)
	})
}

// TestLongWaitIsNotATimeout: a wait longer than StepTimeout completes.
func TestLongWaitIsNotATimeout(t *testing.T) {
	s, err := Parse("s.yaml", []byte(base+"steps:\n  - wait: 45s\n  - move: {device: Oxi, position: [2, 0]}\n"))
	require.NoError(t, err)
	res, err := Run(s, Options{})
	require.NoError(t, err)
	require.Len(t, res.Steps, 2)
	require.Empty(t, res.Steps[0].Error)
	require.Equal(t, "45.000000s", res.Steps[1].Start.Text)
}
