// Package engine turns a world (scenarios/world) into a running
// simulation: one scheduler, one medium, a virtual controller per device
// driven by its built-in host, and further controllers for external hosts
// (the kernel through /dev/vhci, or H4 socket peers). Every controller
// gets a btsnoop trace.
package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"blesim/hosts/meshnode"
	"blesim/hosts/profiles"
	"blesim/linklayer"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/scenarios/trace"
	"blesim/scenarios/world"
	"blesim/vhci"
	"blesim/vhci/hci"
)

// hciLatency is the delay of the in-memory HCI link between a built-in
// host and its controller, standing in for a UART/USB hop.
const hciLatency = 50 * sim.Microsecond

// Epoch is the wall-clock time virtual time zero maps to in traces, so
// runs with the same seed produce byte-identical files.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configure Build.
type Options struct {
	// Log receives the simulation's logs. Nil discards them.
	Log *zap.Logger
	// SnoopDir, when set, receives one btsnoop file per controller
	// (NAME.btsnoop), readable with btmon -r and Wireshark.
	SnoopDir string
	// PcapFile, when set, receives every packet on the air as pcap
	// (LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR), as a sniffer would see it:
	// encrypted PDUs stay encrypted. tshark and Wireshark dissect it.
	PcapFile string
	// DecryptedPcapFile, when set, receives a copy of the air for
	// teaching in which the data PDUs of encrypted links are in clear,
	// decrypted with the session keys the controllers derived (pcap.go,
	// decrypt.go in scenarios/trace; decrypted.go here).
	DecryptedPcapFile string
	// StateDir holds the devices' bond files (NAME.bonds.json) unless a
	// device names its own bond_file.
	StateDir string
	// CentralConfig, when set, configures each central device (target,
	// characteristics to read and subscribe to). Name and address come
	// from the world either way.
	CentralConfig func(spec world.Device) profiles.CentralConfig
}

// Device is one world device: a controller and its built-in host.
type Device struct {
	Spec world.Device
	Ctrl *linklayer.Controller
	// Host is the built-in host: *profiles.Oximeter, *profiles.HeartRate,
	// *profiles.Generic or *profiles.Central.
	Host interface {
		Receive(h4 []byte)
		Start()
	}
	// Central is set for the central profile.
	Central *profiles.Central
	// Events collects what the built-in host reported, in order.
	Events []profiles.Event
	// MeshEvents collects a mesh-node's or mesh-provisioner's events.
	MeshEvents []meshnode.Event
	// OnEvent, when set, sees each event as it happens.
	OnEvent func(d *Device, e profiles.Event)
	// OnMeshEvent, when set, sees each mesh event as it happens.
	OnMeshEvent func(d *Device, e meshnode.Event)
	snoop       *snoop
	log         *zap.Logger
	// Power (power.go): off, the boot count gen, the running host's HCI
	// links, and the bonds of a memory store kept over a power cycle
	// (flash) and as the running host booted with them.
	off           bool
	gen           int
	run           *hostRun
	flash, booted *flashBonds
}

// World is a running simulation.
type World struct {
	Spec    *world.World
	Sched   *sim.Scheduler
	Medium  *radio.Medium
	Devices []*Device
	log     *zap.Logger
	opts    Options
	snoops  []*snoop
	nextExt int
	onAir   []func(tx *radio.Reception, from *radio.Port)
	pcap    *trace.Pcap
	pcapF   *os.File
	// onKeys sees the keys of every encryption session a controller puts
	// into use (OnSessionKeys); dpcap is the decrypted copy of the air.
	onKeys []func(linklayer.SessionKeys)
	dpcap  *trace.Pcap
	dpcapF *os.File
	// dec opens the encrypted data PDUs once for every OnAirDecrypted
	// function.
	dec     *trace.Decryptor
	onClear []func(tx *radio.Reception, from *radio.Port, clear radio.Packet, st int)
}

// OnAir adds fn to the functions that see every transmission when it
// starts (the medium's tap).
func (w *World) OnAir(fn func(tx *radio.Reception, from *radio.Port)) {
	w.onAir = append(w.onAir, fn)
}

// Build creates the simulation for w. Built-in hosts are wired but not
// started: call Start.
func Build(w *world.World, opts Options) (*World, error) {
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	s := sim.New(w.Seed)
	m := radio.NewMedium(s, radio.Config{
		PathLossExponent: w.Medium.PathLossExponent,
		ReferenceLossDB:  w.Medium.ReferenceLossDB,
		SensitivityDBm:   w.Medium.SensitivityDBm,
		LossRate:         w.Medium.PacketLoss,
	})
	ew := &World{Spec: w, Sched: s, Medium: m, log: opts.Log, opts: opts}
	m.SetTap(func(tx *radio.Reception, from *radio.Port) {
		for _, fn := range ew.onAir {
			fn(tx, from)
		}
	})
	if opts.PcapFile != "" {
		if err := ew.openPcap(opts.PcapFile); err != nil {
			return nil, err
		}
	}
	if opts.DecryptedPcapFile != "" {
		if err := ew.openDecryptedPcap(opts.DecryptedPcapFile); err != nil {
			ew.Close()
			return nil, err
		}
	}
	if opts.SnoopDir != "" {
		if err := os.MkdirAll(opts.SnoopDir, 0o755); err != nil {
			return nil, fmt.Errorf("trace directory: %w", err)
		}
	}
	if opts.StateDir != "" {
		// Bond and mesh state files hold keys: the directory is private.
		if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("state directory: %w", err)
		}
	}
	for _, spec := range w.Devices {
		d, err := ew.addDevice(spec)
		if err != nil {
			ew.Close()
			return nil, fmt.Errorf("%s:%d: device %q: %w", w.Source, spec.Line, spec.Name, err)
		}
		ew.Devices = append(ew.Devices, d)
	}
	return ew, nil
}

// Start starts every built-in host (bring-up, advertising, scanning).
// Call it on the simulation goroutine (before running the scheduler).
func (w *World) Start() {
	for _, d := range w.Devices {
		if d.Host != nil { // host: kernel devices start when the kernel attaches
			d.Host.Start()
		}
	}
}

// Device returns the device with the given name, or nil.
func (w *World) Device(name string) *Device {
	for _, d := range w.Devices {
		if d.Spec.Name == name {
			return d
		}
	}
	return nil
}

// Close flushes and closes the trace files.
func (w *World) Close() error {
	var errs []error
	if w.pcap != nil {
		errs = append(errs, w.pcap.Close(), w.pcapF.Close())
		w.pcap = nil
	}
	if w.dpcap != nil {
		errs = append(errs, w.dpcap.Close(), w.dpcapF.Close())
		w.dpcap = nil
	}
	for _, sn := range w.snoops {
		if !sn.closed {
			errs = append(errs, sn.close())
			sn.closed = true
		}
	}
	return errors.Join(errs...)
}

// SnoopFiles lists the trace files written so far.
func (w *World) SnoopFiles() []string {
	var out []string
	for _, sn := range w.snoops {
		out = append(out, sn.path)
	}
	return out
}

// createPcap creates the pcap file path (and its directory); what names
// it in errors.
func createPcap(path, what string) (*trace.Pcap, *os.File, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	p, err := trace.NewPcap(f, Epoch)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return p, f, nil
}

func (w *World) openPcap(path string) error {
	p, f, err := createPcap(path, "pcap")
	if err != nil {
		return err
	}
	w.pcap, w.pcapF = p, f
	w.OnAir(func(tx *radio.Reception, _ *radio.Port) {
		if err := p.Write(trace.Packet{At: tx.Start, Air: tx.Packet}); err != nil {
			w.log.Warn("pcap write failed", zap.Error(err))
		}
	})
	return nil
}

func pos(p [2]float64) radio.Position { return radio.Position{X: p[0], Y: p[1]} }

func (w *World) newController(name string, addr hci.BDAddr, p [2]float64, tx int8) (*linklayer.Controller, *snoop, error) {
	c := linklayer.New(w.Sched, w.Medium, linklayer.Config{
		Name: name, Address: addr, Position: pos(p), TxPower: tx,
	}, w.log)
	c.SetSessionObserver(w.sessionKeys)
	var sn *snoop
	if w.opts.SnoopDir != "" {
		var err error
		sn, err = newSnoop(filepath.Join(w.opts.SnoopDir, fileName(name)+".btsnoop"), w.Sched)
		if err != nil {
			return nil, nil, err
		}
		w.snoops = append(w.snoops, sn)
	}
	return c, sn, nil
}

// addDevice builds a device's controller and built-in host and wires them
// through the scheduler (so the run stays deterministic).
func (w *World) addDevice(spec world.Device) (*Device, error) {
	d := &Device{Spec: spec}
	ctrl, sn, err := w.newController(spec.Name, spec.Address, spec.Position, spec.TxPower)
	if err != nil {
		return nil, err
	}
	d.Ctrl, d.snoop = ctrl, sn
	d.log = w.log.With(zap.String("dev", spec.Name))
	if d.Kernel() {
		return d, nil // no built-in host: AttachHost plugs the kernel in
	}
	// The host and its HCI links are made per boot (power.go).
	if err := w.boot(d, spec.Security.LoadBondsAtBoot); err != nil {
		return nil, err
	}
	ctrl.SetHostSink(func(h4 []byte) {
		if d.off || d.run == nil {
			return // a controller without power says nothing
		}
		sn.write(vhci.ControllerToHost, h4)
		d.run.up.send(h4)
	})
	return d, nil
}

func (d *Device) emit(e profiles.Event) {
	d.Events = append(d.Events, e)
	switch e.(type) {
	case profiles.PairingStarted, profiles.PairingComplete, profiles.PairingFailed,
		profiles.EncryptionChanged, profiles.Finding, profiles.BondDeleted, profiles.IdentityResolved, profiles.AddressChanged:
		if ce := d.log.Check(zap.InfoLevel, "security"); ce != nil {
			ce.Write(zap.String("event", fmt.Sprintf("%T", e)[len("profiles."):]), zap.String("detail", fmt.Sprintf("%+v", e)))
		}
	}
	if d.OnEvent != nil {
		d.OnEvent(d, e)
	}
}

func fileName(s string) string {
	b := []byte(s)
	for i, ch := range b {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
