package engine

import "blesim/hosts/meshnode"

// MeshNode returns the device's built-in mesh node (profile mesh-node),
// or nil.
func (d *Device) MeshNode() *meshnode.Node {
	if h, ok := d.Host.(*meshNodeHost); ok {
		return h.Node
	}
	return nil
}

// MeshProvisioner returns the device's built-in mesh provisioner (profile
// mesh-provisioner), or nil.
func (d *Device) MeshProvisioner() *meshnode.Provisioner {
	p, _ := d.Host.(*meshnode.Provisioner)
	return p
}
