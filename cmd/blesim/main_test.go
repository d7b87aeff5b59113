package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve"}, "want exactly one world file"},
		{[]string{"serve", "a.yaml", "b.yaml"}, "want exactly one world file"},
		{[]string{"serve", "x.yaml", "--vhci", "-1"}, "--vhci -1"},
		{[]string{"serve", "x.yaml", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"vm"}, "give a command after --"},
		{[]string{"help", "nothing"}, `no help for "nothing"`},
	} {
		code, _, stderr := runCLI(tc.args...)
		require.Equal(t, exitUsage, code, "%v", tc.args)
		require.Contains(t, stderr, tc.want, "%v", tc.args)
	}
}

func TestBrokenWorldNamesFileLineField(t *testing.T) {
	p := filepath.Join(t.TempDir(), "world.yaml")
	require.NoError(t, os.WriteFile(p, []byte("devices:\n  - name: A\n    profile: oximeter\n    position: near\n"), 0o644))
	code, _, stderr := runCLI("serve", p, "--trace-dir", "")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, p+":4: devices[0].position:")
}

func TestHelpTeaches(t *testing.T) {
	code, out, _ := runCLI("help")
	require.Equal(t, 0, code)
	for _, c := range commands() {
		require.Contains(t, out, c.name)
	}
	code, out, _ = runCLI("help", "world")
	require.Equal(t, 0, code)
	require.Contains(t, out, "profile")
	code, out, _ = runCLI("serve", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "--hci-listen")
	require.Contains(t, out, "ready: hci0 hci1")
	code, out, _ = runCLI("list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "oximeter")
}

func TestInterspersedFlags(t *testing.T) {
	fs := newFlagSet("t", "", "", &bytes.Buffer{})
	n := fs.Int("n", 0, "")
	pos, err := parseInterspersed(fs, []string{"a", "-n", "3", "b", "--", "-x", "c"})
	require.NoError(t, err)
	require.Equal(t, 3, *n)
	require.Equal(t, []string{"a", "b", "-x", "c"}, pos)
}

func TestDemoRuns(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCLI("demo", "--out", dir)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, `found "Oximeter"`)
	require.Contains(t, out, "read 2A19 = 57")
	require.Contains(t, out, "notification from 2A5F")
	require.Contains(t, out, "CONNECT_IND")
	require.True(t, strings.Contains(out, filepath.Join(dir, "Central.btsnoop")))
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	require.Contains(t, string(html), "CONNECT_IND")
}

func TestCtlNeedsASocket(t *testing.T) {
	t.Setenv("BLESIM_CONTROL", "")
	code, _, stderr := runCLI("ctl", "Oximeter", "forget-keys")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "no control socket")
	code, _, stderr = runCLI("ctl", "--control", filepath.Join(t.TempDir(), "nope.sock"), "Oximeter", "forget-keys")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "cannot reach blesim serve")
}
