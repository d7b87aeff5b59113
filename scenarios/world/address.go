package world

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"blesim/vhci/hci"
)

// addressTypes are the address_type values, indexed by hci.AddressType.
var addressTypes = []string{"public", "random"}

// decl is what the file said about one controller's or device's identity,
// kept for the checks across entries.
type decl struct {
	path   string     // "devices[1]"
	family addrFamily // family of the default address
	bad    bool       // the entry is not a mapping
	addr   *yaml.Node // the address value; nil when the file gives none
	addrOK bool       // addr is a valid address
	name   *yaml.Node // the name value (devices); nil when missing
	nameOK bool       // name is a valid name
}

// address decodes the address and address_type fields of a controller or
// device; typ is the type when address_type is omitted.
func (d *decoder) address(m map[string]field, path string, typ hci.AddressType, dc *decl) (hci.BDAddr, hci.AddressType) {
	var a hci.BDAddr
	typeGiven := false
	if v := m["address_type"].val; v != nil {
		s, ok := d.enum(v, path+".address_type", "address type", addressTypes)
		if !ok {
			return a, typ
		}
		typeGiven = true
		if s == "random" {
			typ = hci.AddrRandom
		} else {
			typ = hci.AddrPublic
		}
	}
	v := m["address"].val
	if v == nil {
		return a, typ
	}
	dc.addr = v
	s, ok := d.str(v, path+".address", `a Bluetooth address such as "C0:11:22:33:44:55"`)
	if !ok {
		return a, typ
	}
	a, err := hci.ParseBDAddr(s)
	if err != nil {
		d.errorf(v, path+".address", "%v", err)
		return a, typ
	}
	if msg := checkAddress(a, typ, typeGiven); msg != "" {
		d.errorf(v, path+".address", "%s", msg)
		return a, typ
	}
	dc.addrOK = true
	return a, typ
}

// checkAddress says what is wrong with address a of type typ, or "".
func checkAddress(a hci.BDAddr, typ hci.AddressType, typeGiven bool) string {
	zero, ones := a == hci.BDAddr{}, a == hci.BDAddr{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	switch {
	case typ == hci.AddrPublic && (zero || ones):
		return fmt.Sprintf("%s is not a usable device address", a)
	case typ == hci.AddrRandom && !a.IsStaticRandom():
		msg := fmt.Sprintf("%s is not a static random address: a static address has 11 as its two most significant bits, so its first octet is C0 to FF "+
			"(private addresses, resolvable or not, are made at run time, not declared)", a)
		if !typeGiven {
			msg += "; address_type is random unless given, so for a public address add address_type: public"
		}
		return msg
	case typ == hci.AddrRandom && (ones || a == hci.BDAddr{0, 0, 0, 0, 0, 0xC0}):
		return fmt.Sprintf("%s is not a valid static random address: its 46 random bits must not be all 0 or all 1", a)
	}
	return ""
}

// checkNames reports device names used twice.
func (d *decoder) checkNames(devs []Device, dec []decl) {
	first := map[string]int{}
	for i, dv := range devs {
		if !dec[i].nameOK {
			continue
		}
		if j, dup := first[dv.Name]; dup {
			d.errorf(dec[i].name, dec[i].path+".name", "%s is already used by %s (line %d); device names must be unique",
				quote(dv.Name), dec[j].path, dec[j].name.Line)
			continue
		}
		first[dv.Name] = i
	}
}

// assignAddresses reports addresses used twice and gives each controller
// and device without an address the default one: the (i+1)-th address of
// its family, or the next one not written elsewhere in the file or given
// to an earlier entry.
func (d *decoder) assignAddresses(w *World, ctrl, dev []decl) {
	taken := map[hci.BDAddr]bool{}
	owner := map[hci.BDAddr]*decl{}
	claim := func(dc *decl, a hci.BDAddr) {
		if !dc.addrOK {
			return
		}
		if o, dup := owner[a]; dup {
			d.errorf(dc.addr, dc.path+".address", "%s is already used by %s (line %d); addresses must be unique", a, o.path, o.addr.Line)
			return
		}
		owner[a], taken[a] = dc, true
	}
	for i := range ctrl {
		claim(&ctrl[i], w.Controllers[i].Address)
	}
	for i := range dev {
		claim(&dev[i], w.Devices[i].Address)
	}
	for i, dc := range ctrl {
		if dc.addr == nil && !dc.bad {
			w.Controllers[i].Address = allocate(taken, dc.family, uint64(i)+1)
		}
	}
	for i, dc := range dev {
		if dc.addr == nil && !dc.bad {
			w.Devices[i].Address = allocate(taken, dc.family, uint64(i)+1)
		}
	}
}
