package scenario

import (
	"errors"
	"fmt"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
	"blesim/scenarios/engine"
	"blesim/vhci/hci"
)

// central is what a scenario's central steps drive: the built-in Go
// central (builtinCentral) or the real kernel and BlueZ
// (kernelCentral). Each method starts the action and calls finish once it
// is complete, on the simulation goroutine; an error return means the
// action could not start (finish is then not called). The events
// expectations look at reach the runner through observe either way.
type central interface {
	connected() bool
	connect(peer *engine.Device, finish func(error)) error
	disconnect(finish func(error)) error
	pair(opts smp.PairOptions, finish func(error)) error
	// gatt runs a read, write or subscribe step.
	gatt(st Step, finish func(error)) error
	// deleteBond deletes the bond with peer, or every bond when peer is
	// nil.
	deleteBond(peer *engine.Device, finish func(error)) error
}

// central returns the central that plays device d, creating it on first
// use.
func (r *runner) central(d *engine.Device) (central, error) {
	if c, ok := r.centrals[d.Spec.Name]; ok {
		return c, nil
	}
	var c central
	switch {
	case d.Kernel():
		k, ok := r.kernels[d.Spec.Name]
		if !ok {
			return nil, fmt.Errorf("%s has host: kernel but no kernel is attached", d.Spec.Name)
		}
		c = k
	case d.Central != nil:
		c = &builtinCentral{r: r, d: d}
	default:
		return nil, fmt.Errorf("%s (%s) is not a central", d.Spec.Name, d.Spec.Profile)
	}
	r.centrals[d.Spec.Name] = c
	return c, nil
}

// builtinCentral is profiles.Central, blesim's own Go central.
type builtinCentral struct {
	r       *runner
	d       *engine.Device
	started bool
}

func (b *builtinCentral) connected() bool { return b.d.Central.Conn != nil }

func (b *builtinCentral) connect(_ *engine.Device, finish func(error)) error {
	// The central's target (the peer) was set when the world was built.
	b.r.wait(b.d.Spec.Name, func(e profiles.Event) (bool, error) {
		switch e := e.(type) {
		case profiles.Connected:
			return true, nil
		case profiles.Error:
			if e.Step == "connect" || e.Step == "create connection" || e.Step == "bring-up" {
				return true, e
			}
		}
		return false, nil
	}, finish)
	if !b.started {
		b.started = true
		b.d.Central.Start() // brings the controller up, then scans and connects
	} else {
		b.d.Central.Scan()
	}
	return nil
}

func (b *builtinCentral) disconnect(finish func(error)) error {
	b.r.wait(b.d.Spec.Name, func(e profiles.Event) (bool, error) {
		_, ok := e.(profiles.Disconnected)
		return ok, nil
	}, finish)
	b.d.Central.Disconnect()
	return nil
}

func (b *builtinCentral) pair(opts smp.PairOptions, finish func(error)) error {
	c := b.d.Central
	c.SMP.PairThen(c.Conn.Handle, &opts, finish)
	return nil
}

func (b *builtinCentral) deleteBond(peer *engine.Device, finish func(error)) error {
	c := b.d.Central
	if peer == nil {
		_, err := c.ForgetKeys()
		finish(err)
		return nil
	}
	a := peer.Spec.Address
	errR := c.DeleteBond(smp.Address{Type: hci.AddrRandom, Addr: a})
	errP := c.DeleteBond(smp.Address{Type: hci.AddrPublic, Addr: a})
	if errR != nil && errP != nil {
		return fmt.Errorf("%s has no bond with %s: %v", b.d.Spec.Name, peer.Spec.Name, errR)
	}
	finish(nil)
	return nil
}

func (b *builtinCentral) gatt(st Step, finish func(error)) error {
	u, err := att.ParseUUID(st.UUID.Bytes())
	if err != nil {
		return err
	}
	b.withCharacteristic(u, func(cl *gatt.Client, ch *gatt.RemoteCharacteristic) {
		b.gattOp(st, cl, ch, u, finish)
	}, finish)
	return nil
}

// withCharacteristic waits until the central has discovered the
// characteristic u on its current connection, then calls fn.
func (b *builtinCentral) withCharacteristic(u att.UUID, fn func(*gatt.Client, *gatt.RemoteCharacteristic), finish func(error)) {
	c := b.d.Central
	cl := c.Client
	var poll func()
	poll = func() {
		if c.Client != cl || cl == nil {
			finish(errors.New("the connection went away"))
			return
		}
		if ch := cl.Characteristic(u); ch != nil {
			fn(cl, ch)
			return
		}
		b.r.ew.Sched.After(10*sim.Millisecond, poll)
	}
	poll()
}

// gattOp runs a read, write or subscription and records its outcome as
// the central's events.
func (b *builtinCentral) gattOp(st Step, cl *gatt.Client, ch *gatt.RemoteCharacteristic, u att.UUID, finish func(error)) {
	r, dev := b.r, st.Device
	fail := func(err error) {
		if err != nil {
			r.observe(dev, profiles.Error{Step: st.Action + " " + u.String(), Err: err})
		}
		finish(err)
	}
	switch st.Action {
	case ActRead:
		cl.Read(ch.ValueHandle, func(v []byte, err error) {
			if err == nil {
				r.observe(dev, profiles.Read{UUID: u, Handle: ch.ValueHandle, Value: v})
			}
			fail(err)
		})
	case ActWrite:
		cl.Write(ch.ValueHandle, st.Value, fail)
	case ActSubscribe:
		cl.Subscribe(ch, func(v []byte, ind bool) {
			r.observe(dev, profiles.Notification{UUID: u, Handle: ch.ValueHandle, Value: v, Indication: ind})
		}, func(err error) {
			if err == nil {
				r.observe(dev, profiles.Subscribed{UUID: u, CCCD: 1})
			}
			fail(err)
		})
	}
}

// centralRestarted makes the built-in central of device name bring its
// controller up again at its next connect (after power_on or reboot).
func (r *runner) centralRestarted(name string) {
	if b, ok := r.centrals[name].(*builtinCentral); ok {
		b.started = false
	}
}
