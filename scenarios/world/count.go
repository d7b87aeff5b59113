package world

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"blesim/vhci/hci"
)

// MaxCount is the largest count of one device entry.
const MaxCount = 1000

// replicate expands a device entry with count: N into N devices named
// NAME-1 .. NAME-N. With an address, copy i (from 0) gets the address plus
// i in its 40 low bits (the top octet, and so a static random address's
// type bits, stays); without one each copy gets a default address. Every
// other field is shared, position included.
func (d *decoder) replicate(n *yaml.Node, path string, dv Device, dc decl) ([]Device, []decl) {
	one := func() ([]Device, []decl) { return []Device{dv}, []decl{dc} }
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return one()
	}
	var key, val *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "count" {
			key, val = k, resolve(n.Content[i+1])
		}
	}
	if val == nil {
		return one()
	}
	c, ok := d.integer(val, path+".count", "a number of copies", 1, MaxCount)
	if !ok || c == 1 {
		return one()
	}
	count := int(c)
	switch {
	case dv.Profile == ProfileMeshNode || dv.Profile == ProfileMeshProvisioner:
		d.errorf(key, path+".count", "the %s profile cannot be copied with count: each mesh device needs its own uuid and state; declare them one by one", dv.Profile)
		return one()
	case dv.Security.BondFile != "":
		d.errorf(key, path+".count", "every copy would share security.bond_file %s; remove bond_file (each copy then keeps STATE_DIR/NAME-i.bonds.json)", quote(dv.Security.BondFile))
		return one()
	case dv.Host != "" && dv.Host != HostBuiltin:
		d.errorf(key, path+".count", "only built-in devices can be copied with count (host: %s drives one controller)", dv.Host)
		return one()
	}
	if dc.nameOK {
		if long := fmt.Sprintf("%s-%d", dv.Name, count); len(long) > MaxNameLen {
			d.errorf(dc.name, path+".name", "with count: %d the names run up to %s, %d bytes; a name is at most %d bytes, so shorten %s",
				count, quote(long), len(long), MaxNameLen, quote(dv.Name))
			return one()
		}
	}
	devs := make([]Device, 0, count)
	decls := make([]decl, 0, count)
	for i := range count {
		cp, cd := dv, dc
		cp.Services = append([]Service(nil), dv.Services...)
		cd.path = fmt.Sprintf("%s(copy %d)", path, i+1)
		if dc.nameOK {
			cp.Name = fmt.Sprintf("%s-%d", dv.Name, i+1)
		}
		if dc.addr != nil && dc.addrOK {
			a, ok := addAddress(dv.Address, uint64(i))
			if !ok {
				d.errorf(dc.addr, path+".address", "%s plus %d copies runs past the address's 40 low bits; give a lower address", dv.Address, count-1)
				return one()
			}
			if msg := checkAddress(a, dv.AddressType, true); msg != "" {
				d.errorf(dc.addr, path+".address", "copy %d: %s", i+1, msg)
				return one()
			}
			cp.Address = a
		}
		devs = append(devs, cp)
		decls = append(decls, cd)
	}
	return devs, decls
}

// addAddress adds i to the 40 low bits of a (octets 0..4, least
// significant first), keeping the top octet.
func addAddress(a hci.BDAddr, i uint64) (hci.BDAddr, bool) {
	var v uint64
	for k := 4; k >= 0; k-- {
		v = v<<8 | uint64(a[k])
	}
	v += i
	if v >= 1<<40 {
		return a, false
	}
	for k := range 5 {
		a[k] = byte(v >> (8 * k))
	}
	return a, true
}
