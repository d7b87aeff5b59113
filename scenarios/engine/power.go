package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"blesim/hosts/meshnode"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/scenarios/world"
	"blesim/vhci"
)

// Power: a device can lose power and get it back. Power off is a radio
// that lost its supply: its controller stops advertising, scanning and
// initiating and drops every connection without a word on air, so a peer
// sees its link end with a supervision timeout (0x08, Core v5.4 Vol 6
// Part B §4.5.2); its built-in host stops (nothing it had queued reaches
// the controller, nothing it does afterwards is reported). Power on boots
// a new instance of the host, as a device's firmware restarts with empty
// RAM: it brings the controller up with HCI Reset (Vol 4 Part E §7.3.2)
// and starts advertising or scanning again.
//
// What survives is what the device keeps in flash: its bond store (the
// bond file, written on every change), and a mesh device's state file.
// A device boots loading its bonds unless told otherwise
// (security.load_bonds_at_boot: false in the world file, or BootOptions):
// then its host starts with an empty view of its bonds while the file
// still holds them — the firmware bug that saves bonds but never restores
// them. The host writes its own view on its next change (a new pairing).
// A device without a bond file keeps bonds in memory; the engine carries
// them over a reboot that loads them, as flash would.

// BootOptions say how a device powers on.
type BootOptions struct {
	// LoadBonds, when set, overrides the device's world setting
	// (security.load_bonds_at_boot, default true).
	LoadBonds *bool
	// NoStart creates the new host without starting it (a scenario
	// starts a central at its next connect step).
	NoStart bool
}

// hostRun is one boot of a device's host: packets and events of an
// earlier boot are dropped.
type hostRun struct {
	up, down *hciLink
}

// Powered reports whether the device has power.
func (d *Device) Powered() bool { return !d.off }

// PowerOff cuts the device's power (see Power above). Powering off a
// device that is off is an error.
func (w *World) PowerOff(d *Device) error {
	if d.Kernel() {
		return fmt.Errorf("%s is driven by the kernel; only built-in hosts can be powered off", d.Spec.Name)
	}
	if d.off {
		return fmt.Errorf("%s is already off", d.Spec.Name)
	}
	if m := d.SMP(); m != nil && m.Store().Path() == "" {
		// What the host changed is in flash; a host that changed nothing
		// (one that booted without loading) left flash as it was.
		now := snapshot(m.Store())
		if d.flash == nil || !reflect.DeepEqual(now, d.booted) {
			d.flash = now
		}
	}
	d.off = true
	d.gen++
	d.run = nil
	d.Ctrl.PowerOff()
	d.log.Info("power off")
	return nil
}

// PowerOn gives an off device power again: a new host boots (loading its
// bonds or not, per opts) and, unless opts.NoStart, starts.
func (w *World) PowerOn(d *Device, opts BootOptions) error {
	if !d.off {
		return fmt.Errorf("%s is already on", d.Spec.Name)
	}
	load := d.Spec.Security.LoadBondsAtBoot
	if opts.LoadBonds != nil {
		load = *opts.LoadBonds
	}
	if err := w.boot(d, load); err != nil {
		return err
	}
	d.off = false
	d.log.Info("power on", zap.Bool("load_bonds", load))
	if !opts.NoStart {
		d.Host.Start()
	}
	return nil
}

// Reboot is PowerOff then PowerOn at the same instant.
func (w *World) Reboot(d *Device, opts BootOptions) error {
	if err := w.PowerOff(d); err != nil {
		return err
	}
	return w.PowerOn(d, opts)
}

// flashBonds are the bonds of a device without a bond file, kept over a
// power cycle.
type flashBonds struct {
	bonds []smp.Bond
	irk   *smp.Key
}

// boot creates a host instance for d and wires it to the controller
// through two new HCI links. Without load the host starts with an empty
// view of its bonds: its bond file is moved aside while the host opens it.
func (w *World) boot(d *Device, load bool) error {
	gen := d.gen
	run := &hostRun{}
	run.down = newHCILink(w.Sched, func(pkt []byte) {
		if d.gen != gen {
			return
		}
		d.snoop.write(vhci.HostToController, pkt)
		d.Ctrl.FromHost(pkt)
	})
	toController := func(h4 []byte) {
		if d.gen == gen {
			run.down.send(append([]byte(nil), h4...))
		}
	}
	emit := func(e profiles.Event) {
		if d.gen == gen {
			d.emit(e)
		}
	}
	meshEmit := func(e meshnode.Event) {
		if d.gen == gen {
			d.MeshEvents = append(d.MeshEvents, e)
			if d.OnMeshEvent != nil {
				d.OnMeshEvent(d, e)
			}
		}
	}
	restore, err := w.hideBonds(d, load)
	if err != nil {
		return err
	}
	// A host that lost power is silent: its timers still run (a command
	// that times out) but nothing it logs is printed.
	log := d.log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return bootCore{c, d, gen} }))
	host, central, err := newHost(log, w.Sched, toController, d.Spec, emit, w.opts.CentralConfig, w.opts.StateDir, meshEmit)
	if rerr := restore(); err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	d.Host, d.Central, d.run = host, central, run
	run.up = newHCILink(w.Sched, func(h4 []byte) {
		if d.gen == gen {
			host.Receive(h4)
		}
	})
	if m := d.SMP(); m != nil && m.Store().Path() == "" {
		if d.flash != nil && load {
			for _, b := range d.flash.bonds {
				if err := m.Store().Put(b); err != nil {
					return err
				}
			}
			if d.flash.irk != nil {
				if err := m.Store().SetLocalIRK(*d.flash.irk); err != nil {
					return err
				}
			}
		}
		d.booted = snapshot(m.Store())
	}
	return nil
}

// snapshot copies a memory store's bonds and local IRK.
func snapshot(s *smp.Store) *flashBonds {
	f := &flashBonds{bonds: s.All()}
	if k, ok := s.LocalIRK(); ok {
		f.irk = &k
	}
	return f
}

// hideBonds moves the device's bond file aside while a host that must not
// load it opens its store; the returned function puts it back.
func (w *World) hideBonds(d *Device, load bool) (func() error, error) {
	nothing := func() error { return nil }
	if load {
		return nothing, nil
	}
	path := w.bondFile(d)
	if path == "" {
		return nothing, nil
	}
	aside := path + ".not-loaded"
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nothing, nil
		}
		return nil, fmt.Errorf("bond file: %w", err)
	}
	return func() error {
		if err := os.Rename(aside, path); err != nil {
			return fmt.Errorf("bond file: %w", err)
		}
		return nil
	}, nil
}

// bondFile is where the device keeps its bonds ("" in memory): its
// current host's store, else what its host will open.
func (w *World) bondFile(d *Device) string {
	if d.Host != nil {
		if m := d.SMP(); m != nil {
			return m.Store().Path()
		}
		return ""
	}
	if d.Spec.Profile == world.ProfileCentral {
		if w.opts.CentralConfig != nil {
			if f := w.opts.CentralConfig(d.Spec).Security.BondFile; f != "" {
				return f
			}
		}
		if w.opts.StateDir != "" {
			return filepath.Join(w.opts.StateDir, fileName(d.Spec.Name)+".bonds.json")
		}
		return ""
	}
	return securityConfig(d.Spec, w.opts.StateDir).BondFile
}

// bootCore drops the log entries of a host whose boot is over.
type bootCore struct {
	zapcore.Core
	d   *Device
	gen int
}

func (c bootCore) With(f []zapcore.Field) zapcore.Core { return bootCore{c.Core.With(f), c.d, c.gen} }

func (c bootCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.d.gen != c.gen {
		return ce
	}
	return c.Core.Check(e, ce)
}
