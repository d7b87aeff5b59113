package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunBuiltinScenario(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI("run", "lost-bond", "--out", dir)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "PASS: ")
	require.Contains(t, out, "outputs in "+dir)
	for _, f := range []string{"Phone.btsnoop", "Oximeter.btsnoop", "air.pcap", "air-decrypted.pcap", "result.json", "report.html"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		require.NotZero(t, fi.Size(), f)
	}
	var res struct {
		Passed bool `json:"passed"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &res))
	require.True(t, res.Passed)

	code, out, _ = runCLI("list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "lost-bond")
}

const falseScenario = `name: false
description: expects a value the oximeter does not have
devices:
  - {name: Phone, profile: central}
  - {name: Oxi, profile: oximeter, position: [1, 0]}
steps:
  - connect: {device: Phone, peer: Oxi}
  - read: {device: Phone, uuid: "2A19"}
expect:
  - read: {device: Phone, uuid: "2A19", value: "hex:07"}
    within: 3s
`

func TestRunFalseExpectationExits1(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "false.yaml")
	require.NoError(t, os.WriteFile(p, []byte(falseScenario), 0o644))
	code, out, stderr := runCLI("run", p, "--out", filepath.Join(dir, "out"))
	require.Equal(t, 1, code)
	require.Contains(t, out, "FAIL  expect[0] (line 10) read: expected read of 2A19 = 07 on Phone within 3s; observed read 2A19 = 64 at ")
	require.Contains(t, out, "(decided at 3.000000s)")
	require.Contains(t, stderr, p+": expect[0] (line 10) did not hold")
	_, err := os.Stat(filepath.Join(dir, "out", "result.json"))
	require.NoError(t, err)

	code, out, _ = runCLI("run", p, "--out", filepath.Join(dir, "out2"), "--json")
	require.Equal(t, 1, code)
	var res struct {
		Passed       bool `json:"passed"`
		Expectations []struct {
			Observed string `json:"observed"`
		} `json:"expectations"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.False(t, res.Passed)
	require.Contains(t, res.Expectations[0].Observed, "read 2A19 = 64")
}

func TestRunBrokenScenarioExits2(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "broken.yaml")
	require.NoError(t, os.WriteFile(p, []byte("name: x\ndevices:\n  - {name: Phone, profile: central}\nsteps:\n  - wait: forever\n"), 0o644))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", p}, p + ":5: steps[0].wait: want a duration"},
		{[]string{"run"}, "want exactly one scenario file"},
		{[]string{"run", "no-such-scenario"}, "no built-in scenario of that name (built-in: "},
	} {
		code, _, stderr := runCLI(tc.args...)
		require.Equal(t, exitUsage, code, "%v", tc.args)
		require.Contains(t, stderr, tc.want, "%v", tc.args)
	}
}
