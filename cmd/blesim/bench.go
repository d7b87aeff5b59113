package main

import (
	"fmt"
	"io"

	"blesim/scenarios/bench"
)

const benchAbout = `
Measures the simulator itself: N virtual advertisers (real controllers,
ADV_IND every 100 ms plus advDelay) and one active scanner share the medium
for D simulated seconds. Reports the real-time factor (simulated seconds per
wall second, on one core) and the memory per idle device.`

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "[flags]", benchAbout, stdout)
	n := fs.Int("devices", 1000, "number of advertisers")
	secs := fs.Int("seconds", 60, "simulated seconds")
	pairings := fs.Int("pairings", 2000, "also run this many complete LE Secure Connections pairings (0: skip)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *n < 1 || *secs < 1 {
		return usagef("--devices and --seconds must be at least 1")
	}
	fmt.Fprintf(stdout, "blesim bench: %d advertisers at 100 ms + 1 active scanner, %d s simulated\n", *n, *secs)
	r := bench.Run(*n, *secs)
	fmt.Fprintln(stdout, r)
	if *pairings > 0 {
		fmt.Fprintf(stdout, "\nblesim bench: %d LE Secure Connections pairings through real controllers\n", *pairings)
		pr, err := bench.RunPairings(*pairings)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, pr)
	}
	return nil
}
