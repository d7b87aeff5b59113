package engine

import (
	"fmt"

	"blesim/scenarios/world"
	"blesim/vhci"
)

// A device with host: kernel has a controller but no built-in host
// (addDevice stops there) until AttachHost plugs a transport in: blesim
// run opens /dev/vhci for it, and the kernel with bluetoothd becomes its
// host. Its HCI traffic is traced like any device's, and AttachHost's
// onHCI sees it.

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
	return w.plug(d.Ctrl, d.snoop, t, d.log, onHCI), nil
}
