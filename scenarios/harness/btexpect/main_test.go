package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDrivesAnInteractiveShell runs btexpect against sh through a real pty.
func TestDrivesAnInteractiveShell(t *testing.T) {
	if _, err := os.Stat("/dev/ptmx"); err != nil {
		t.Skip("no /dev/ptmx")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "btexpect")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	script := filepath.Join(dir, "s")
	require.NoError(t, os.WriteFile(script, []byte("send echo hel''lo $((6*7))\nexpect hello 42\nsend read x; echo got-$x\nsend 123456\ncapture N got-([0-9]+)\nsend echo again ${N}\nexpect again 123456\nshell test ${N} = 123456\n"), 0o644))
	out, err = exec.Command(bin, "-timeout", "5s", script, "--", "sh").CombinedOutput()
	require.NoError(t, err, string(out))
	// eof waits for the program to exit: the file it writes on the way
	// out is there.
	done := filepath.Join(dir, "done")
	require.NoError(t, os.WriteFile(script, []byte("send trap 'sleep 0.3; echo bye >"+done+"' EXIT\nsend exit\neof\n"), 0o644))
	out, err = exec.Command(bin, "-timeout", "5s", script, "--", "sh").CombinedOutput()
	require.NoError(t, err, string(out))
	require.FileExists(t, done)
	require.NoError(t, os.WriteFile(script, []byte("send echo still here\neof\n"), 0o644))
	out, err = exec.Command(bin, "-timeout", "1s", script, "--", "sh").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "still running")
	require.NoError(t, os.WriteFile(script, []byte("send echo nope\nexpect never-printed\n"), 0o644))
	out, err = exec.Command(bin, "-timeout", "1s", script, "--", "sh").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "line 2 (expect never-printed): no match")
}
