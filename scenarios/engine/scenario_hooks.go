package engine

import (
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
)

// SMP returns the Security Manager of the device's built-in host (its
// pairing state, bonds and findings), or nil for hosts without one (mesh
// devices).
func (d *Device) SMP() *smp.Manager {
	switch h := d.Host.(type) {
	case *profiles.Central:
		return h.SMP
	case *profiles.Oximeter:
		return h.SMP
	case *profiles.HeartRate:
		return h.SMP
	case *profiles.Generic:
		return h.SMP
	case *profiles.Lock:
		return h.SMP
	}
	return nil
}
