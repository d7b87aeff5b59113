package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRunProgressKeepsOutputsIdentical: --progress prints status lines
// on stderr (one as the run starts, one at the end, and one every 100 µs
// of wall time here: the runs are short) and the run's trace files are
// byte-identical to a run without it.
func TestRunProgressKeepsOutputsIdentical(t *testing.T) {
	old := progressEvery
	progressEvery = 100 * time.Microsecond
	defer func() { progressEvery = old }()

	quiet, loud := t.TempDir(), t.TempDir()
	code, _, stderrQuiet := runCLI("run", "lost-bond", "--out", quiet)
	require.Equal(t, 0, code, stderrQuiet)
	require.NotContains(t, stderrQuiet, "simulated, step", "no progress line when stderr is not a terminal")
	code, _, stderrLoud := runCLI("run", "lost-bond", "--out", loud, "--progress")
	require.Equal(t, 0, code, stderrLoud)
	lines := 0
	for _, l := range strings.Split(stderrLoud, "\n") {
		if strings.HasPrefix(l, "blesim: ") && strings.Contains(l, " simulated, step ") {
			require.Regexp(t, `^blesim: \d+\.\d{6}s simulated, step \d+/\d+ done(, [0-9.]+( [kM])? events/s)?$`, l)
			lines++
		}
	}
	require.GreaterOrEqual(t, lines, 2, "progress lines on stderr:\n%s", stderrLoud)
	require.Contains(t, stderrLoud, "blesim: 0.000000s simulated, step 0/", "the first line as the run starts")
	require.Regexp(t, `blesim: 2\d\.\d{6}s simulated, step (\d+)/(\d+) done`, stderrLoud, "the last line at the end")
	for _, f := range []string{"air.pcap", "air-decrypted.pcap", "Phone.btsnoop", "Oximeter.btsnoop"} {
		a, err := os.ReadFile(filepath.Join(quiet, f))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(loud, f))
		require.NoError(t, err)
		require.NotEmpty(t, a, f)
		require.Equal(t, a, b, "%s differs with --progress", f)
	}
}

func TestLogFormats(t *testing.T) {
	for _, tc := range []struct {
		args []string
		json bool
	}{
		{[]string{"--log-level", "info"}, false},
		{[]string{"--log-level", "info", "--log-format", "json"}, true},
		{[]string{"--log-level", "info", "--log-json"}, true},
	} {
		args := append([]string{"run", "lost-bond", "--out", t.TempDir()}, tc.args...)
		code, _, stderr := runCLI(args...)
		require.Equal(t, 0, code, stderr)
		n := 0
		sc := bufio.NewScanner(strings.NewReader(stderr))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var obj map[string]any
			err := json.Unmarshal(sc.Bytes(), &obj)
			if tc.json {
				require.NoError(t, err, "every log line is a JSON object: %q", sc.Text())
				require.Contains(t, obj, "msg")
				require.Contains(t, obj, "level")
			} else {
				require.Error(t, err, "console lines are text: %q", sc.Text())
			}
			n++
		}
		require.Greater(t, n, 10, "%v logs at info", tc.args)
	}
	code, _, stderr := runCLI("run", "lost-bond", "--log-format", "xml")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `--log-format "xml": want console or json`)
}
