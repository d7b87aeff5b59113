package scenario

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/scenarios/engine"
	"blesim/scenarios/kernel"
	"blesim/scenarios/world"
	"blesim/vhci"
	"blesim/vhci/hci"
)

// kernelCentral is the real Linux kernel and BlueZ playing a scenario's
// central (host: kernel). Run plugs the device's controller into the
// kernel through /dev/vhci; the steps call bluetoothd over D-Bus
// (Device1.Connect, Pair, Disconnect, Adapter1.RemoveDevice,
// GattCharacteristic1.ReadValue...). Those calls block, so they run one
// at a time on a worker goroutine and report back to the simulation
// goroutine through Sched.Post. The events expectations look at come from
// the controller's HCI traffic (hciTap), exactly what the kernel did.
type kernelCentral struct {
	r    *runner
	d    *engine.Device
	bz   *kernel.BlueZ
	jobs chan func()
	tap  *hciTap
	// conns counts the links up, from HCI.
	conns int
	peer  *engine.Device // of the last connect
	// agent is the capability the agent is registered with.
	agent string
	// bonded is what bluetoothd had bonds with when the run ended.
	bonded  []hci.BDAddr
	bondErr error
	// typed is the passkey a passkey step gave (the user types it when
	// bluetoothd asks); the agent reads it on the D-Bus goroutine.
	mu    sync.Mutex
	typed *uint32
}

// setPasskey sets what the agent answers RequestPasskey with.
func (k *kernelCentral) setPasskey(v uint32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.typed = &v
}

// kernelSetupTimeout bounds how long bluetoothd may take to show the
// adapter once the controller is plugged in.
const kernelSetupTimeout = 20 * time.Second

// attachKernel plugs d's controller into the kernel through the vhci
// device at path and starts the central's worker, which connects to
// bluetoothd and calls ready (on the simulation goroutine) once the
// adapter is powered.
func (r *runner) attachKernel(d *engine.Device, vhciPath, bus string, ready func(error)) error {
	t, err := vhci.OpenVHCI(vhciPath)
	if err != nil {
		return fmt.Errorf("%s has host: kernel: %w", d.Spec.Name, err)
	}
	k := &kernelCentral{r: r, d: d, jobs: make(chan func(), 16)}
	k.tap = newHCITap(func(e profiles.Event) { k.event(e) })
	if _, err := r.ew.AttachHost(d, t, k.tap.packet); err != nil {
		t.Close()
		return err
	}
	r.kernels[d.Spec.Name] = k
	r.closers = append(r.closers, func() {
		close(k.jobs)
		if k.bz != nil {
			_ = k.bz.Close()
		}
		_ = t.Close()
	})
	go func() {
		for job := range k.jobs {
			job()
		}
	}()
	k.jobs <- func() {
		bz, err := kernel.Open(bus, d.Spec.Address, kernelSetupTimeout, r.log.With(zap.String("dev", d.Spec.Name), zap.String("host", "kernel")))
		if err == nil {
			bz.Agent = kernel.Agent{Passkey: k.passkey, Confirm: k.confirm, Display: k.display}
			err = bz.RegisterAgent("KeyboardDisplay")
			k.agent = "KeyboardDisplay"
		}
		r.ew.Sched.Post(func() {
			k.bz = bz
			if err != nil {
				err = fmt.Errorf("%s (host: kernel): %w", d.Spec.Name, err)
			}
			ready(err)
		})
	}
	return nil
}

// event takes what the HCI tap saw.
func (k *kernelCentral) event(e profiles.Event) {
	switch e.(type) {
	case profiles.Connected:
		k.conns++
	case profiles.Disconnected:
		k.conns--
	}
	k.r.observe(k.d.Spec.Name, e)
}

// do runs call on the worker goroutine and then done with its error on
// the simulation goroutine.
func (k *kernelCentral) do(what string, call func(bz *kernel.BlueZ) error, done func(error)) {
	k.jobs <- func() {
		err := call(k.bz)
		if err != nil {
			err = fmt.Errorf("bluetoothd: %s: %w", what, err)
		}
		k.r.ew.Sched.Post(func() { done(err) })
	}
}

func (k *kernelCentral) connected() bool { return k.conns > 0 }

func (k *kernelCentral) connect(peer *engine.Device, finish func(error)) error {
	k.peer = peer
	name := k.d.Spec.Name
	k.r.wait(name, func(e profiles.Event) (bool, error) {
		_, ok := e.(profiles.Connected)
		return ok, nil
	}, finish)
	addr := peer.Spec.Address
	k.do("connect "+peer.Spec.Name, func(bz *kernel.BlueZ) error {
		if err := bz.Discover(addr, 20*time.Second); err != nil {
			return err
		}
		return bz.Connect(addr)
	}, func(err error) {
		// The HCI tap reports a connection before the kernel hears of it,
		// so when a link came up the step is already complete and this
		// does nothing: Connect's error then only says the link did not
		// last (a lost bond), which the events show.
		if err != nil {
			finish(err)
		}
	})
	return nil
}

func (k *kernelCentral) disconnect(finish func(error)) error {
	if k.peer == nil {
		return errors.New("no connection made by a step to disconnect")
	}
	k.r.wait(k.d.Spec.Name, func(e profiles.Event) (bool, error) {
		_, ok := e.(profiles.Disconnected)
		return ok, nil
	}, finish)
	addr := k.peer.Spec.Address
	k.do("disconnect", func(bz *kernel.BlueZ) error { return bz.Disconnect(addr) }, func(err error) {
		if err != nil {
			finish(err) // does nothing if the Disconnection Complete came first
		}
	})
	return nil
}

// agentCapabilities maps SMP IO capabilities to BlueZ agent capabilities.
var agentCapabilities = map[smp.IOCapability]string{
	smp.DisplayOnly: "DisplayOnly", smp.DisplayYesNo: "DisplayYesNo", smp.KeyboardOnly: "KeyboardOnly",
	smp.NoInputNoOutput: "NoInputNoOutput", smp.KeyboardDisplay: "KeyboardDisplay",
}

func (k *kernelCentral) pair(opts smp.PairOptions, finish func(error)) error {
	if k.peer == nil {
		return errors.New("pair needs a connection made by a connect step")
	}
	// bluetoothd decides bonding, Secure Connections and MITM itself
	// (bonding when pairable, SC when both support it, MITM when the IO
	// capabilities allow); the agent's capability is what a step sets.
	capability, ok := agentCapabilities[opts.IO]
	if !ok {
		return fmt.Errorf("io_capability %d has no BlueZ agent capability", opts.IO)
	}
	addr := k.peer.Spec.Address
	k.do("pair", func(bz *kernel.BlueZ) error {
		if capability != k.agent {
			if err := bz.RegisterAgent(capability); err != nil {
				return err
			}
			k.agent = capability
		}
		return bz.Pair(addr)
	}, finish)
	return nil
}

func (k *kernelCentral) deleteBond(peer *engine.Device, finish func(error)) error {
	if peer == nil {
		return errors.New("with host: kernel, delete_bond needs a peer (bluetoothctl remove ADDRESS)")
	}
	addr := peer.Spec.Address
	k.do("remove "+peer.Spec.Name, func(bz *kernel.BlueZ) error { return bz.Remove(addr) }, finish)
	return nil
}

func (k *kernelCentral) gatt(st Step, finish func(error)) error {
	u, err := att.ParseUUID(st.UUID.Bytes())
	if err != nil {
		return err
	}
	addr, uuid, dev := k.peer.Spec.Address, u.Long(), st.Device
	var value []byte
	k.do(st.Action+" "+u.String(), func(bz *kernel.BlueZ) error {
		switch st.Action {
		case ActRead:
			v, err := bz.ReadValue(addr, uuid)
			value = v
			return err
		case ActWrite:
			return bz.WriteValue(addr, uuid, st.Value)
		default:
			return bz.StartNotify(addr, uuid)
		}
	}, func(err error) {
		switch {
		case err != nil:
			k.r.observe(dev, profiles.Error{Step: st.Action + " " + u.String(), Err: err})
		case st.Action == ActRead:
			k.r.observe(dev, profiles.Read{UUID: u, Value: value})
		case st.Action == ActSubscribe:
			k.r.observe(dev, profiles.Subscribed{UUID: u, CCCD: 1})
		}
		finish(err)
	})
	return nil
}

// The agent's answers run on the D-Bus reader goroutine; what they need
// from the world is fixed at build time (the peer's printed passkey) or
// handed to the simulation goroutine.

// passkey answers RequestPasskey with the passkey a passkey step gave,
// or else the one printed on the peer (its world security.passkey), as a
// user would type it from the label.
func (k *kernelCentral) passkey(dev hci.BDAddr) (uint32, error) {
	k.mu.Lock()
	typed := k.typed
	k.mu.Unlock()
	if typed != nil {
		return *typed, nil
	}
	for _, d := range k.r.ew.Devices {
		if d.Spec.Address == dev && d.Spec.Security.Passkey != nil {
			return *d.Spec.Security.Passkey, nil
		}
	}
	return 0, fmt.Errorf("%s shows a passkey that is not in the world file (give the device a fixed security.passkey)", dev)
}

// confirm answers a numeric comparison: the built-in peers accept, and
// the scenario checks the outcome on both sides.
func (k *kernelCentral) confirm(hci.BDAddr, uint32) bool { return true }

// display types the passkey bluetoothd shows on the peer's keyboard.
func (k *kernelCentral) display(dev hci.BDAddr, pk uint32) {
	k.r.ew.Sched.Post(func() {
		for _, d := range k.r.ew.Devices {
			if d.Spec.Address != dev {
				continue
			}
			if ui, ok := d.Host.(engine.UserInput); ok {
				if err := ui.EnterPasskey(pk); err != nil {
					k.r.log.Warn("typing the kernel's passkey failed", zap.String("dev", d.Spec.Name), zap.Error(err))
				}
			}
		}
	})
}

// SetHost makes device name run with host (world.HostBuiltin or
// world.HostKernel), as `blesim run --host NAME=kernel` does without
// editing the file.
func (s *Scenario) SetHost(name, host string) error {
	if host != world.HostBuiltin && host != world.HostKernel {
		return fmt.Errorf("host %q: want %s or %s", host, world.HostBuiltin, world.HostKernel)
	}
	for i := range s.World.Devices {
		d := &s.World.Devices[i]
		if d.Name != name {
			continue
		}
		if host == world.HostKernel && d.Profile != world.ProfileCentral {
			return fmt.Errorf("%s is a %s; host: kernel plays a central", name, d.Profile)
		}
		d.Host = host
		return nil
	}
	return fmt.Errorf("%s has no device %q", s.Source, name)
}
