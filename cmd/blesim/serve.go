package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"blesim/linklayer/sim"
	"blesim/scenarios/engine"
	"blesim/scenarios/world"
	"blesim/vhci"
)

const serveAbout = `
Plugs virtual controllers into the running kernel through /dev/vhci (they show
up as hci0, hci1, ... in 'btmgmt info') and/or offers them over an H4 socket,
fills the air with the virtual peripherals WORLD.yaml declares, and runs in real
time until SIGINT or SIGTERM, when it unplugs cleanly.

When everything is attached it prints one line, e.g. 'ready: hci0 hci1' (the
kernel's indexes), so scripts can wait for it. Every controller's HCI traffic
is written as btsnoop (btmon -r FILE) under --trace-dir; --pcap writes the air
as a sniffer sees it, --pcap-decrypted a copy with the encrypted links in
clear. Logs go to stderr (--log-format console|json).

Examples:
  blesim serve world.yaml --vhci 2
  blesim serve world.yaml --hci-listen tcp:127.0.0.1:9000 --hci-listen unix:/tmp/blesim.sock
  blesim help world            # the world file format`

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "WORLD.yaml [flags]", serveAbout, stdout)
	nVHCI := fs.Int("vhci", 0, "number of controllers to plug into the kernel through /dev/vhci")
	vhciPath := fs.String("vhci-path", vhci.DefaultVHCIPath, "the vhci device")
	var listen multiFlag
	fs.Var(&listen, "hci-listen", "offer controllers over H4 sockets: tcp:HOST:PORT or unix:PATH, one controller per accepted connection (repeatable)")
	traceDir := fs.String("trace-dir", "blesim-traces", "directory for the btsnoop traces (one per controller); empty: none")
	pcapFile := fs.String("pcap", "", "write every packet on the simulated air to this pcap file (Wireshark, tshark), encrypted PDUs as sent")
	pcapDecrypted := fs.String("pcap-decrypted", "", "write a copy of the air with encrypted links decrypted (the session keys the controllers derived) to this pcap file, for teaching")
	control := fs.String("control", "", "open a control socket at this path for 'blesim ctl' (forget keys, move devices)")
	stateDir := fs.String("state-dir", "blesim-state", "directory for the devices' bond files (NAME.bonds.json)")
	logs := addLogFlags(fs, "info")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one world file, got %d arguments (usage: blesim serve WORLD.yaml [flags])", len(pos))
	}
	if *nVHCI < 0 || *nVHCI > 16 {
		return usagef("--vhci %d: want 0..16 controllers", *nVHCI)
	}
	if *nVHCI == 0 && len(listen) == 0 {
		fmt.Fprintln(stderr, "blesim serve: note: no --vhci and no --hci-listen: only the world's built-in devices will run")
	}
	log, err := logs.logger(stderr)
	if err != nil {
		return usagef("%v", err)
	}
	defer log.Sync() //nolint:errcheck
	w, err := world.Load(pos[0])
	if err != nil {
		return usageError{err}
	}
	ew, err := engine.Build(w, engine.Options{Log: log, SnoopDir: *traceDir, StateDir: *stateDir,
		PcapFile: *pcapFile, DecryptedPcapFile: *pcapDecrypted})
	if err != nil {
		return usageError{err}
	}
	defer func() {
		if err := ew.Close(); err != nil {
			log.Warn("closing traces", zap.Error(err))
		}
		if *traceDir != "" {
			fmt.Fprintf(stdout, "traces: %s\n", strings.Join(ew.SnoopFiles(), " "))
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var names []string
	var transports []vhci.Transport
	defer func() {
		for _, t := range transports {
			t.Close()
		}
	}()
	for i := 0; i < *nVHCI; i++ {
		v, err := vhci.OpenVHCI(*vhciPath)
		if err != nil {
			return err
		}
		transports = append(transports, v)
		name := fmt.Sprintf("hci%d", v.Index())
		if _, err := ew.AttachExternal(v, name); err != nil {
			return err
		}
		names = append(names, name)
	}
	for _, spec := range listen {
		srv, err := vhci.Listen(spec)
		if err != nil {
			return usagef("--hci-listen %s: %v", spec, err)
		}
		defer srv.Close()
		names = append(names, srv.Addr())
		go acceptLoop(ew, srv, log)
	}

	if *control != "" {
		ln, err := ew.ServeControl(*control)
		if err != nil {
			return err
		}
		defer ln.Close()
	}
	ew.Start()
	flushTraces(ew)
	fmt.Fprintf(stdout, "ready: %s\n", strings.Join(names, " "))
	if f, ok := stdout.(*os.File); ok {
		f.Sync() //nolint:errcheck
	}
	ew.Sched.RunRealtime(ctx, sim.NewRealClock())
	log.Info("shutting down: unplugging controllers")
	return nil
}

// flushTraces flushes the traces every second of virtual time so they can
// be read while serve runs.
func flushTraces(ew *engine.World) {
	ew.Sched.After(sim.Second, func() {
		ew.FlushTraces()
		flushTraces(ew)
	})
}

// acceptLoop attaches one controller per accepted H4 socket connection.
func acceptLoop(ew *engine.World, srv *vhci.Server, log *zap.Logger) {
	n := 0
	for {
		t, err := srv.Accept()
		if err != nil {
			log.Debug("accept loop ends", zap.Error(err))
			return
		}
		n++
		name := fmt.Sprintf("h4-%d", n)
		ew.Sched.Post(func() {
			if _, err := ew.AttachExternal(t, name); err != nil {
				log.Error("cannot attach controller", zap.String("link", t.Name()), zap.Error(err))
				t.Close()
				return
			}
			log.Info("host connected", zap.String("controller", name), zap.String("link", t.Name()))
		})
	}
}
