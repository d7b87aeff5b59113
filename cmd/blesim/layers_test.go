package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportsGoOneWay enforces DESIGN.md: cmd → scenarios → hosts →
// linklayer → vhci. A package may import its own layer or lower ones only.
func TestImportsGoOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "blesim/...").CombinedOutput()
	require.NoError(t, err, string(out))
	layer := func(p string) int {
		for i, prefix := range []string{"blesim/vhci", "blesim/linklayer", "blesim/hosts", "blesim/scenarios", "blesim/cmd"} {
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				return i + 1
			}
		}
		return 0
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if layer(imp) == 0 {
				continue
			}
			n++
			require.LessOrEqual(t, layer(imp), layer(f[0]), "%s imports %s, against the layering", f[0], imp)
		}
	}
	require.Greater(t, n, 50, "expected to check many internal imports")
}
