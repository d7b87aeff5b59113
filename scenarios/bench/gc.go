package bench

import (
	"os"
	"runtime/debug"
)

// SimGCPercent is the garbage collector target blesim runs with (the CLI
// sets it too): a simulation keeps a small live heap and allocates
// steadily, so Go's default (100) collects very often; 400 trades a few
// MiB of memory for about a third of the CPU of a pairing-heavy run.
// An explicit GOGC in the environment wins.
const SimGCPercent = 400

// TuneGC applies SimGCPercent unless GOGC is set, and returns a function
// restoring the previous setting.
func TuneGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(SimGCPercent)
	return func() { debug.SetGCPercent(old) }
}
