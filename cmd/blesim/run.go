package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"blesim/scenarios/engine"
	"blesim/scenarios/library"
	"blesim/scenarios/scenario"
)

const runAbout = `Plays a scenario in virtual time with the built-in hosts and checks its
expectations. SCENARIO is a scenario file or the name of a built-in one
(blesim list). Exit status: 0 when every expectation held, 1 when one did
not (the summary says which, what was expected, what happened and at which
simulated time), 2 for a broken file or usage.

The output directory (--out; default a fresh blesim-run-NAME-* directory
under the current one, printed at the end) receives:
  NAME.btsnoop        each controller's HCI traffic (btmon -r FILE, Wireshark)
  air.pcap            the air as a sniffer sees it, encrypted PDUs as sent
                      (LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR: tshark, Wireshark)
  air-decrypted.pcap  the same packets with the encrypted links decrypted with
                      the session keys the controllers derived, for teaching
  result.json         expectations, findings, step timings (for CI)
  report.html         a message sequence chart of the run: open it in a browser

Logs go to stderr (--log-format console|json). On a terminal (or with
--progress) a status line shows the simulated time, the steps done and the
scheduler's speed every two seconds; it does not change any output file.

` + scenario.Reference

// runRun is `blesim run SCENARIO.yaml [--out DIR] [--json]`.
func runRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "SCENARIO.yaml|NAME [--out DIR] [--json] [--progress] [--log-format console|json]", runAbout, stdout)
	out := fs.String("out", "", "output directory (default: a fresh blesim-run-NAME-* directory under the current one)")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of the summary")
	logs := addLogFlags(fs, "warn")
	var prog progressFlag
	fs.Var(&prog, "progress", "show a progress line on stderr (default: only when stderr is a terminal)")
	var hosts hostFlags
	fs.Var(&hosts, "host", "NAME=kernel: the real kernel and BlueZ play central NAME through /dev/vhci (real time; needs root, hci_vhci and bluetoothd, e.g. inside blesim vm); repeatable")
	vhciPath := fs.String("vhci-path", "/dev/vhci", "the vhci device for --host NAME=kernel")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one scenario file or built-in scenario name, got %d (see: blesim list)", len(pos))
	}
	s, err := loadScenario(pos[0])
	if err != nil {
		return usageError{err}
	}
	for _, h := range hosts {
		if err := s.SetHost(h[0], h[1]); err != nil {
			return usagef("--host %s=%s: %v", h[0], h[1], err)
		}
	}
	log, err := logs.logger(stderr)
	if err != nil {
		return usageError{err}
	}
	defer log.Sync() //nolint:errcheck
	dir := *out
	if dir == "" {
		name := s.Name
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(s.Source), filepath.Ext(s.Source))
		}
		if dir, err = os.MkdirTemp(".", "blesim-run-"+fileSafe(name)+"-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	opts := scenario.Options{Log: log, OutDir: dir, VHCIPath: *vhciPath}
	var stopProgress func()
	if prog.enabled(stderr) {
		tty := isTerminal(stderr)
		opts.Started = func(ew *engine.World, steps func() (int, int)) {
			stopProgress = startProgress(stderr, tty, ew, steps)
		}
	}
	res, err := scenario.Run(s, opts)
	if stopProgress != nil {
		stopProgress()
	}
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	resultPath := filepath.Join(dir, "result.json")
	if err := os.WriteFile(resultPath, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if *asJSON {
		fmt.Fprintf(stdout, "%s\n", data)
	} else {
		fmt.Fprint(stdout, res.Summary())
		fmt.Fprintf(stdout, "outputs in %s (btsnoop per controller, air.pcap, air-decrypted.pcap, result.json, report.html)\n", dir)
	}
	if !res.Passed {
		var names []string
		for _, e := range res.Failed() {
			names = append(names, fmt.Sprintf("expect[%d] (line %d)", e.Index, e.Line))
		}
		// A plain error: main's run prints it and exits with status 1.
		return fmt.Errorf("%s: %s did not hold", s.Source, strings.Join(names, ", "))
	}
	return nil
}

// loadScenario reads a scenario file, or a built-in scenario by name when
// no such file exists.
func loadScenario(arg string) (*scenario.Scenario, error) {
	s, err := scenario.Load(arg)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if _, ok := library.Data(arg); ok {
		return library.Load(arg)
	}
	return nil, fmt.Errorf("%s: no such file, and no built-in scenario of that name (built-in: %s)", arg, strings.Join(library.Names(), ", "))
}

// fileSafe keeps letters, digits, '-' and '_' of s.
func fileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// hostFlags collects --host NAME=HOST.
type hostFlags [][2]string

func (h *hostFlags) String() string { return fmt.Sprint(*h) }

func (h *hostFlags) Set(v string) error {
	name, host, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=kernel or NAME=builtin, got %q", v)
	}
	*h = append(*h, [2]string{name, host})
	return nil
}
