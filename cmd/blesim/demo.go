package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"blesim/hosts/att"
	"blesim/hosts/profiles"
	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/scenarios/engine"
	"blesim/scenarios/report"
	"blesim/scenarios/world"
)

const demoAbout = `
Runs a small world in virtual time: a built-in central scans, finds the
virtual oximeter "Oximeter" 2 m away, connects, discovers its GATT database,
reads the Battery Level and PLX Features, subscribes to PLX Continuous
Measurement, listens for a few seconds and disconnects. Prints each step
with its virtual time, what went over the air, and where the outputs went:
a btsnoop trace per controller (btmon -r FILE), the air as pcap (air.pcap;
tshark, Wireshark), a copy with encrypted links decrypted for teaching
(air-decrypted.pcap) and a message sequence chart (report.html). Logs go to
stderr (--log-format console|json). Exit status 0 when every step happened.`

// demoWorld is the demo's world file.
const demoWorld = `seed: 7
devices:
  - name: Central
    profile: central
    address: "00:AA:02:00:00:01"
    address_type: public
    position: [0, 0]
  - name: Oximeter
    profile: oximeter
    position: [2, 0]
    adv_interval: 100ms
    battery_level: 87
`

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[flags]", demoAbout, stdout)
	out := fs.String("out", "blesim-demo", "directory for the outputs (btsnoop traces, pcaps, report.html)")
	seed := fs.Uint64("seed", 7, "random seed (the same seed gives the same run)")
	logs := addLogFlags(fs, "warn")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	log, err := logs.logger(stderr)
	if err != nil {
		return usageError{err}
	}
	defer log.Sync() //nolint:errcheck
	w, err := world.Parse("demo.yaml", []byte(demoWorld))
	if err != nil {
		return err
	}
	w.Seed = *seed
	battery, plxFeatures, plxCont := att.UUID16(0x2A19), att.UUID16(0x2A60), att.UUID16(0x2A5F)
	ew, err := engine.Build(w, engine.Options{
		Log:               log,
		SnoopDir:          *out,
		PcapFile:          filepath.Join(*out, "air.pcap"),
		DecryptedPcapFile: filepath.Join(*out, "air-decrypted.pcap"),
		CentralConfig: func(world.Device) profiles.CentralConfig {
			return profiles.CentralConfig{
				Target:    "Oximeter",
				Read:      []att.UUID{battery, plxFeatures},
				Subscribe: []att.UUID{plxCont},
				Hold:      3 * 1e9,
			}
		},
	})
	if err != nil {
		return err
	}
	defer ew.Close()

	rec := report.Record(ew, "blesim demo: a central reads a virtual oximeter")
	air := map[string]int{}
	ew.OnAir(func(tx *radio.Reception, _ *radio.Port) { air[classify(tx)]++ })

	central := ew.Device("Central")
	var (
		reads, notes int
		done, discon bool
	)
	central.OnEvent = func(d *engine.Device, e profiles.Event) {
		t := ew.Sched.Now()
		line := describe(e)
		if line == "" {
			return
		}
		switch ev := e.(type) {
		case profiles.Read:
			reads++
		case profiles.Notification:
			notes++
			if notes > 3 {
				if notes == 4 {
					fmt.Fprintf(stdout, "%12s  %-8s  ... (further notifications not shown)\n", t, d.Spec.Name)
				}
				return
			}
		case profiles.ProceduresDone:
			done = true
		case profiles.Disconnected:
			discon = true
			_ = ev
		}
		fmt.Fprintf(stdout, "%12s  %-8s  %s\n", t, d.Spec.Name, line)
	}
	fmt.Fprintf(stdout, "blesim demo: a central and a virtual oximeter 2 m apart (seed %d), virtual time\n\n", *seed)
	ew.Start()
	ew.Sched.RunWhile(sim.Time(30*sim.Second), func() bool { return !discon })
	ew.Sched.RunFor(100 * sim.Millisecond)

	fmt.Fprintf(stdout, "\non the air (%s of virtual time):\n", ew.Sched.Now())
	keys := make([]string, 0, len(air))
	for k := range air {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %6d  %s\n", air[k], k)
	}
	if err := ew.Close(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nbtsnoop traces (open with: btmon -r FILE, or Wireshark):")
	for _, f := range ew.SnoopFiles() {
		abs, _ := filepath.Abs(f)
		fmt.Fprintf(stdout, "  %s\n", abs)
	}
	abs, _ := filepath.Abs(filepath.Join(*out, "air.pcap"))
	fmt.Fprintf(stdout, "the air as a sniffer sees it (tshark -r FILE, or Wireshark):\n  %s\n", abs)
	abs, _ = filepath.Abs(filepath.Join(*out, "air-decrypted.pcap"))
	fmt.Fprintf(stdout, "the same with encrypted links decrypted, for teaching:\n  %s\n", abs)
	chart := filepath.Join(*out, "report.html")
	if err := writeChart(chart, rec); err != nil {
		return err
	}
	abs, _ = filepath.Abs(chart)
	fmt.Fprintf(stdout, "a message sequence chart of the run (open it in a browser):\n  %s\n", abs)
	if !done || reads < 2 || notes < 1 || !discon {
		fmt.Fprintf(stderr, "demo incomplete: procedures done=%v, reads=%d, notifications=%d, disconnected=%v\n", done, reads, notes, discon)
		return exitError(1)
	}
	if f, ok := stdout.(*os.File); ok {
		f.Sync() //nolint:errcheck
	}
	return nil
}

// writeChart writes the recorded air as an HTML sequence chart.
func writeChart(path string, rec *report.Recorder) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.WriteHTML(f, rec.Timeline()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// classify names a transmission for the air summary.
func classify(tx *radio.Reception) string {
	if tx.Channel >= 37 {
		p, err := pdu.ParseAdv(tx.PDU)
		if err != nil {
			return "malformed advertising PDU"
		}
		return p.Type().String() + " (advertising channels)"
	}
	d, err := pdu.ParseData(tx.PDU)
	if err != nil {
		return "malformed data PDU"
	}
	switch {
	case d.LLID() == pdu.LLIDControl:
		p := d.Payload()
		if len(p) > 0 {
			return pdu.Opcode(p[0]).String() + " (LL control)"
		}
		return "LL control (empty)"
	case d.Length() == 0:
		return "empty data PDU (keeps the connection alive)"
	default:
		return "data PDU with L2CAP payload"
	}
}

// describe turns a host event into a line of the demo's story.
func describe(e profiles.Event) string {
	switch ev := e.(type) {
	case profiles.Ready:
		return fmt.Sprintf("controller up, address %s; scanning", ev.Addr)
	case profiles.Discovered:
		return fmt.Sprintf("found %q at %s, RSSI %d dBm", ev.Name, ev.Addr, ev.RSSI)
	case profiles.Connected:
		return fmt.Sprintf("connected to %s (handle 0x%04x, interval %.2f ms)", ev.PeerAddr, ev.Handle, float64(ev.Interval)*1.25)
	case profiles.MTUExchanged:
		return fmt.Sprintf("ATT MTU %d", ev.MTU)
	case profiles.ServicesDiscovered:
		var names []string
		for _, s := range ev.Services {
			names = append(names, s.UUID.String())
		}
		return fmt.Sprintf("discovered services %s", strings.Join(names, ", "))
	case profiles.Read:
		return fmt.Sprintf("read %s = % x", ev.UUID, ev.Value)
	case profiles.Subscribed:
		return fmt.Sprintf("subscribed to %s", ev.UUID)
	case profiles.Notification:
		kind := "notification"
		if ev.Indication {
			kind = "indication"
		}
		s := fmt.Sprintf("%s from %s: % x", kind, ev.UUID, ev.Value)
		if spo2, pr, ok := profiles.DecodePLX(ev.Value); ok {
			s += fmt.Sprintf(" (SpO2 %.0f %%, pulse %.0f bpm)", spo2, pr)
		}
		return s
	case profiles.ProceduresDone:
		return "GATT procedures done; staying connected for 3 s"
	case profiles.Disconnected:
		return fmt.Sprintf("disconnected: %v", ev.Reason)
	case profiles.Error:
		return fmt.Sprintf("ERROR %v", ev)
	}
	return ""
}
