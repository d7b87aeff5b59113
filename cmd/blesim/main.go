// Command blesim is a userspace virtual Bluetooth Low Energy world:
// virtual controllers on a simulated radio, driven by the real Linux
// kernel through /dev/vhci, by any stack over an H4 socket, or by built-in
// hosts (virtual peripherals and a central).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"blesim/scenarios/bench"
)

// exitUsage is the exit status for usage errors and broken input files.
const exitUsage = 2

// usageError marks errors that should exit with status 2.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "plug virtual controllers into the kernel (/dev/vhci) or an H4 socket and fill the air with a world's devices", runServe},
		{"demo", "in-process demo: a built-in central discovers, connects to and reads a virtual oximeter", runDemo},
		{"bench", "measure the medium and scheduler: 1,000 advertisers and an active scanner", runBench},
		{"vm", "run a command inside a QEMU VM with the real Linux kernel and BlueZ (for machines without /dev/vhci)", runVM},
		{"ctl", "steer a running serve: forget a device's keys, move it (blesim ctl DEVICE COMMAND)", runCtl},
		{"run", "play a scenario in virtual time and check its expectations (exit 1 when one fails)", runRun},
		{"list", "list the built-in scenarios and the device profiles", runList},
		{"help", "show help for a command or topic (help world: the world file reference)", nil},
	}
}

const overview = `blesim — a virtual Bluetooth Low Energy world.

Simulated devices share a software radio; each is a virtual controller with a
real link layer. Real host stacks (Linux + BlueZ through /dev/vhci, or any stack
speaking H4 over a socket) scan, connect and use GATT against virtual
peripherals that a world file declares.

Usage:
  blesim COMMAND [flags] [args]

Commands:
`

const overviewTail = `
Examples:
  blesim serve world.yaml --vhci 2           # two controllers as hci0/hci1 + the world's peripherals
  blesim serve world.yaml --hci-listen tcp:127.0.0.1:9000
  blesim demo                                # see what happens on the air, in virtual time
  blesim vm -- 'blesim serve /world.yaml --vhci 1 & sleep 3; btmgmt info'
  blesim help world                          # the world file format

Run 'blesim help COMMAND' for a command's flags.
`

func printOverview(w io.Writer) {
	fmt.Fprint(w, overview)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, overviewTail)
}

func main() {
	bench.TuneGC() // see bench.SimGCPercent; GOGC in the environment wins
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printOverview(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		if name == "help" && len(args) > 1 {
			return help(args[1], stdout, stderr)
		}
		printOverview(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			err := c.run(args[1:], stdout, stderr)
			if err == nil {
				return 0
			}
			if errors.Is(err, errHelp) {
				return 0
			}
			fmt.Fprintf(stderr, "blesim %s: %v\n", name, err)
			var ue usageError
			if errors.As(err, &ue) {
				return exitUsage
			}
			var ee exitError
			if errors.As(err, &ee) {
				return int(ee)
			}
			return 1
		}
	}
	fmt.Fprintf(stderr, "blesim: unknown command %q\n\n", name)
	printOverview(stderr)
	return exitUsage
}

// exitError carries a specific exit status (e.g. from a VM payload).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// errHelp is returned by a command that printed its help on request.
var errHelp = errors.New("help requested")

func help(topic string, stdout, stderr io.Writer) int {
	if topic == "world" {
		fmt.Fprint(stdout, worldReference())
		return 0
	}
	for _, c := range commands() {
		if c.name == topic && c.run != nil {
			_ = c.run([]string{"--help"}, stdout, stderr)
			return 0
		}
	}
	fmt.Fprintf(stderr, "blesim help: no help for %q (try: blesim help world, or a command name)\n", topic)
	return exitUsage
}
