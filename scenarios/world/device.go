package world

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"blesim/vhci/hci"
)

// Field names of devices, services and characteristics, in the order
// Reference documents them.
var (
	deviceFields = []string{"name", "profile", "address", "address_type", "position", "tx_power",
		"adv_interval", "connectable", "battery_level", "services", "security", "mesh", "host", "count"}
	serviceFields        = []string{"uuid", "characteristics"}
	characteristicFields = []string{"uuid", "properties", "value", "notify_every", "security"}
)

// device decodes one entry of devices.
func (d *decoder) device(n *yaml.Node, path string) (Device, decl) {
	dv := Device{Line: n.Line, AddressType: hci.AddrRandom, AdvInterval: DefaultAdvInterval, Connectable: true, Security: DefaultSecurity()}
	dc := decl{path: path, family: devRandom}
	m, ok := d.fields(n, path, "a device: a mapping with name, profile and the optional fields", deviceFields)
	if !ok {
		dc.bad = true
		return dv, dc
	}
	if v := d.required(n, m, path, "name", fmt.Sprintf("the advertised name, 1 to %d bytes", MaxNameLen)); v != nil {
		dv.Name, dc.nameOK = d.name(v, path+".name")
		dc.name = v
	}
	if v := d.required(n, m, path, "profile", "one of: "+joinList(profileNames())); v != nil {
		dv.Profile, _ = d.enum(v, path+".profile", "profile", profileNames())
	}
	dv.Address, dv.AddressType = d.address(m, path, hci.AddrRandom, &dc)
	if dv.AddressType == hci.AddrPublic {
		dc.family = devPublic
	}
	if v := m["position"].val; v != nil {
		dv.Position = d.position(v, path+".position")
	}
	if v := m["tx_power"].val; v != nil {
		p, _ := d.integer(v, path+".tx_power", "a whole number of dBm", MinTxPower, MaxTxPower)
		dv.TxPower = int8(p)
	}
	if v := m["adv_interval"].val; v != nil {
		if iv, ok := d.duration(v, path+".adv_interval", MinAdvInterval, MaxAdvInterval); ok {
			dv.AdvInterval = iv
		}
	}
	if v := m["connectable"].val; v != nil {
		if c, ok := d.boolean(v, path+".connectable"); ok {
			dv.Connectable = c
		}
	}
	if v := m["battery_level"].val; v != nil {
		if b, ok := d.integer(v, path+".battery_level", "a whole-number percentage", 0, 100); ok {
			level := uint8(b)
			dv.BatteryLevel = &level
		}
	}
	if v := m["services"].val; v != nil {
		for i, s := range d.list(v, path+".services", "a list of services") {
			dv.Services = append(dv.Services, d.service(s, index(path+".services", i)))
		}
	}
	if v := m["security"].val; v != nil {
		dv.Security = d.security(v, path+".security")
	}
	if v := m["mesh"].val; v != nil {
		switch dv.Profile {
		case ProfileMeshNode:
			dv.Mesh = d.meshNode(v, path+".mesh")
		case ProfileMeshProvisioner:
			dv.Mesh = d.meshProvisioner(v, path+".mesh")
		default:
			d.errorf(m["mesh"].key, path+".mesh", "only the mesh-node and mesh-provisioner profiles take a mesh section")
		}
	} else if dv.Profile == ProfileMeshNode {
		d.errorf(n, path, "a mesh-node needs a mesh section with at least its uuid")
	} else if dv.Profile == ProfileMeshProvisioner {
		dv.Mesh = Mesh{Any: true}
	}
	if v := m["host"].val; v != nil {
		dv.Host, _ = d.enum(v, path+".host", "host", Hosts)
		if dv.Host == HostKernel && dv.Profile != "" && dv.Profile != ProfileCentral {
			d.errorf(v, path+".host", "host: kernel plays a central (the kernel and BlueZ drive the controller); the %s profile is built-in only", dv.Profile)
		}
	}
	d.checkProfile(&dv, m, path)
	d.checkELock(&dv, m, path) // security_lock.go
	return dv, dc
}

// name checks a device name.
func (d *decoder) name(n *yaml.Node, path string) (string, bool) {
	s, ok := d.str(n, path, fmt.Sprintf("the advertised name, 1 to %d bytes", MaxNameLen))
	if !ok {
		return "", false
	}
	bad := func(format string, args ...any) (string, bool) {
		d.errorf(n, path, format, args...)
		return "", false
	}
	switch {
	case s == "":
		return bad("want the advertised name, 1 to %d bytes, got an empty string", MaxNameLen)
	case !utf8.ValidString(s):
		return bad("%s is not valid UTF-8", quote(s))
	case len(s) > MaxNameLen:
		return bad("%s is %d bytes; a name must fit in one advertising packet next to the flags: at most %d bytes of UTF-8",
			quote(s), len(s), MaxNameLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return bad("%s contains the control character %U; a name is one line of text", quote(s), r)
		}
	}
	return s, true
}

// checkProfile reports fields that the device's profile does not take.
func (d *decoder) checkProfile(dv *Device, m map[string]field, path string) {
	given := func(name string) *yaml.Node {
		if f := m[name]; f.val != nil {
			return f.key
		}
		return nil
	}
	if k := given("services"); k != nil && dv.Profile != "" && dv.Profile != ProfileGeneric {
		d.errorf(k, path+".services", "only the generic profile takes services; the %s profile builds its own GATT database", dv.Profile)
	}
	if dv.Profile == ProfileCentral {
		for _, f := range []string{"adv_interval", "connectable", "battery_level"} {
			if k := given(f); k != nil {
				d.errorf(k, path+"."+f, "the central profile does not advertise or serve GATT; remove %s", f)
			}
		}
		d.checkCentralSecurity(&dv.Security, path) // security_keys.go
	}
	if dv.Profile == ProfileMeshNode || dv.Profile == ProfileMeshProvisioner {
		for _, f := range []string{"connectable", "battery_level", "security"} {
			if k := given(f); k != nil {
				d.errorf(k, path+"."+f, "the %s profile does not take %s (mesh security comes from the provisioning OOB fields)", dv.Profile, f)
			}
		}
	}
	if k := given("battery_level"); k != nil && dv.Profile == ProfileGeneric {
		for i, s := range dv.Services {
			if s.UUID == UUID16(0x180F) {
				d.errorf(k, path+".battery_level", "battery_level adds a Battery Service (180F) but %s.services[%d] declares one too; keep one of them", path, i)
			}
		}
	}
}

// service decodes one entry of services.
func (d *decoder) service(n *yaml.Node, path string) Service {
	var s Service
	m, ok := d.fields(n, path, "a service: a mapping with uuid and characteristics", serviceFields)
	if !ok {
		return s
	}
	if v := d.required(n, m, path, "uuid", "the service UUID"); v != nil {
		s.UUID, _ = d.attrUUID(v, path+".uuid")
	}
	if v := m["characteristics"].val; v != nil {
		for i, c := range d.list(v, path+".characteristics", "a list of characteristics") {
			s.Characteristics = append(s.Characteristics, d.characteristic(c, index(path+".characteristics", i)))
		}
	}
	return s
}

// characteristic decodes one entry of characteristics.
func (d *decoder) characteristic(n *yaml.Node, path string) Characteristic {
	var c Characteristic
	m, ok := d.fields(n, path, "a characteristic: a mapping with uuid, properties and optional value and notify_every", characteristicFields)
	if !ok {
		return c
	}
	if v := d.required(n, m, path, "uuid", "the characteristic UUID"); v != nil {
		c.UUID, _ = d.attrUUID(v, path+".uuid")
	}
	if v := d.required(n, m, path, "properties", "a list such as [read, notify]"); v != nil {
		c.Properties = d.properties(v, path+".properties")
	}
	valueOK := false
	if v := m["value"].val; v != nil {
		c.Value, valueOK = d.value(v, path+".value")
	}
	if v := m["security"].val; v != nil {
		c.Security, _ = d.enum(v, path+".security", "security level", CharSecurity)
	}
	if v := m["notify_every"].val; v != nil {
		c.NotifyEvery, _ = d.duration(v, path+".notify_every", MinNotifyEvery, MaxNotifyEvery)
		k := m["notify_every"].key
		switch {
		case c.Properties != 0 && c.Properties&(PropNotify|PropIndicate) == 0:
			d.errorf(k, path+".notify_every", "the value is only sent on its own for notify or indicate; add one of them to properties")
		case len(c.Value) == 0 && (valueOK || m["value"].val == nil):
			d.errorf(k, path+".notify_every", "needs a non-empty value: the host sends it and increments its last byte each period")
		}
	}
	return c
}

// attrUUID decodes a service or characteristic UUID.
func (d *decoder) attrUUID(n *yaml.Node, path string) (UUID, bool) {
	s, ok := d.str(n, path, `a UUID such as "180F" or "6e400001-b5a3-f393-e0a9-e50e24dcca9e"`)
	if !ok {
		return UUID{}, false
	}
	u, err := ParseUUID(s)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return UUID{}, false
	}
	if v := u.Uint16(); u.Is16() && v >= 0x2800 && v <= 0x29FF {
		d.errorf(n, path, "%s is a GATT declaration or descriptor type; the host makes those itself", u)
		return UUID{}, false
	}
	return u, true
}

// properties decodes a characteristic's property list.
func (d *decoder) properties(n *yaml.Node, path string) Properties {
	names := make([]string, len(propertyNames))
	for i, p := range propertyNames {
		names[i] = p.name
	}
	items := d.list(n, path, "a list such as [read, notify]")
	if len(items) == 0 && n.Kind == yaml.SequenceNode {
		d.errorf(n, path, "want at least one of: %s", joinList(names))
	}
	var props Properties
	for i, item := range items {
		s, ok := d.enum(item, index(path, i), "property", names)
		if !ok {
			continue
		}
		for _, p := range propertyNames {
			if p.name != s {
				continue
			}
			if props&p.bit != 0 {
				d.errorf(item, index(path, i), "%q is listed twice", s)
			}
			props |= p.bit
		}
	}
	return props
}

// value decodes a characteristic value: "hex:..." bytes or UTF-8 text.
func (d *decoder) value(n *yaml.Node, path string) ([]byte, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.errorf(n, path, `want "hex:" and bytes in hex (e.g. "hex:5701") or a text string, got %s; quote it to send it as text`, describe(n))
		return nil, false
	}
	b := []byte(n.Value)
	if h, ok := strings.CutPrefix(n.Value, "hex:"); ok {
		h = strings.ReplaceAll(h, " ", "")
		var err error
		if b, err = hex.DecodeString(h); err != nil {
			d.errorf(n, path, `want "hex:" and an even number of hex digits (spaces allowed between bytes), got %s`, quote(n.Value))
			return nil, false
		}
	}
	if len(b) > MaxValueLen {
		d.errorf(n, path, "the value is %d bytes; an attribute value is at most %d bytes", len(b), MaxValueLen)
		return nil, false
	}
	return b, true
}
