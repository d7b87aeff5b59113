package engine

import (
	"errors"
	"fmt"
	"io"

	"go.uber.org/zap"

	"blesim/scenarios/world"
	"blesim/vhci"
)

// A device with host: kernel has a controller but no built-in host until
// AttachHost plugs a transport in (blesim run opens /dev/vhci for it, and
// the kernel with bluetoothd becomes its host). Its HCI traffic is traced
// like any device's and can be watched with OnHCI.

// addKernelDevice builds the controller of a host: kernel device.
func (w *World) addKernelDevice(spec world.Device) (*Device, error) {
	d := &Device{Spec: spec}
	ctrl, sn, err := w.newController(spec.Name, spec.Address, spec.Position, spec.TxPower)
	if err != nil {
		return nil, err
	}
	d.Ctrl, d.snoop = ctrl, sn
	d.log = w.log.With(zap.String("dev", spec.Name))
	return d, nil
}

// Kernel reports whether the device is driven by the kernel (host:
// kernel) rather than a built-in host.
func (d *Device) Kernel() bool { return d.Spec.Host == world.HostKernel }

// AttachHost connects the controller of a host: kernel device to t (the
// device's /dev/vhci attachment). A goroutine reads t and posts packets
// into the simulation; writes happen on the simulation goroutine. onHCI,
// when set, sees every packet in both directions on the simulation
// goroutine, after it is traced.
func (w *World) AttachHost(d *Device, t vhci.Transport, onHCI func(dir vhci.Direction, h4 []byte)) (*External, error) {
	if !d.Kernel() {
		return nil, fmt.Errorf("%s has a built-in host", d.Spec.Name)
	}
	x := &External{Ctrl: d.Ctrl, Transport: t, Done: make(chan struct{})}
	log := d.log
	d.Ctrl.SetHostSink(func(h4 []byte) {
		d.snoop.write(vhci.ControllerToHost, h4)
		if onHCI != nil {
			onHCI(vhci.ControllerToHost, h4)
		}
		if err := t.WritePacket(h4); err != nil {
			log.Warn("write to host failed", zap.String("link", t.Name()), zap.Error(err))
		}
	})
	go func() {
		defer close(x.Done)
		for {
			pkt, err := t.ReadPacket()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, vhci.ErrClosed) {
					x.Err = fmt.Errorf("%s: %w", t.Name(), err)
				}
				w.Sched.Post(func() { d.Ctrl.Detach() })
				return
			}
			w.Sched.Post(func() {
				d.snoop.write(vhci.HostToController, pkt)
				if onHCI != nil {
					onHCI(vhci.HostToController, pkt)
				}
				d.Ctrl.FromHost(pkt)
			})
		}
	}()
	return x, nil
}
