package scenario

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"blesim/scenarios/engine"
	"blesim/scenarios/world"
)

// Power steps (scenarios/engine power.go): a device loses power, gets it
// back, or reboots, with or without loading its saved bonds.
//
//	steps:
//	  - power_off: Lock                     # peers see a supervision timeout (0x08)
//	  - power_on: Lock                      # HCI Reset, the host starts again
//	  - reboot: {device: Lock, load_bonds: false}
const (
	ActPowerOff = "power_off"
	ActPowerOn  = "power_on"
	ActReboot   = "reboot"
)

// powerFields are the fields of power_on and reboot as mappings
// (power_off takes a device name only).
var powerFields = []string{"device", "load_bonds"}

// deviceStep decodes the power steps; handled is false for other actions.
func (d *decoder) deviceStep(st *Step, v *yaml.Node, p string) (ok, handled bool) {
	switch st.Action {
	case ActPowerOff, ActPowerOn, ActReboot:
	default:
		return false, false
	}
	if v.Kind == yaml.ScalarNode {
		st.Device = d.device(v, p, false)
		return st.Device != "", true
	}
	if st.Action == ActPowerOff {
		d.errorf(v, p, "want a device name, got %s", describe(v))
		return false, true
	}
	nerr := len(d.errs)
	m, ok := d.fields(v, p, powerFields)
	if !ok {
		return false, true
	}
	if dv := d.need(v, m, p, "device", "a device name"); dv != nil {
		st.Device = d.device(dv, join(p, "device"), false)
	}
	if lv := m["load_bonds"]; lv != nil {
		b := d.boolean(lv, join(p, "load_bonds"))
		st.LoadBonds = &b
	}
	return len(d.errs) == nerr, true
}

// offline says why a step cannot act on a device without power (nil when
// it can).
func (r *runner) offline(st Step) error {
	d := r.ew.Device(st.Device)
	if d == nil || d.Powered() {
		return nil
	}
	switch st.Action {
	case ActPowerOn, ActReboot, ActMove, ActWait, ActPacketLoss:
		return nil
	}
	return fmt.Errorf("%s has no power (power_on it first)", st.Device)
}

// powerAct runs a power step; handled is false for other actions.
func (r *runner) powerAct(st Step, finish func(error)) (handled bool, err error) {
	d := r.ew.Device(st.Device)
	// A central boots without starting: it starts scanning and
	// connecting at its next connect step, as at the start of a run.
	opts := engine.BootOptions{LoadBonds: st.LoadBonds, NoStart: d != nil && d.Spec.Profile == world.ProfileCentral}
	switch st.Action {
	case ActPowerOff:
		err = r.ew.PowerOff(d)
	case ActPowerOn:
		err = r.ew.PowerOn(d, opts)
	case ActReboot:
		err = r.ew.Reboot(d, opts)
	default:
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if opts.NoStart {
		r.centralRestarted(st.Device)
	}
	finish(nil)
	return true, nil
}
