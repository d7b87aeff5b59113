package world

import (
	"encoding/hex"
	"strings"

	"gopkg.in/yaml.v3"
)

// Mesh is a mesh device's section (profiles mesh-node and
// mesh-provisioner; Mesh Protocol v1.1 §5).
type Mesh struct {
	// Node fields.
	UUID          [16]byte
	Bearers       []string // pb-adv, pb-gatt
	OOBInfo       uint16
	URI           string
	Elements      int
	StaticOOB     []byte
	PublicKeyOOB  bool
	PrivateKey    []byte // 32 bytes when the OOB public key is fixed
	OutputSize    int
	OutputActions []string
	InputSize     int
	InputActions  []string
	StateFile     string

	// Provisioner fields.
	NetKey, AppKey []byte
	IVIndex        uint32
	Address        uint16
	Targets        []MeshTarget
	Any            bool
	PBGATT         bool
}

// MeshTarget is a device the provisioner provisions with known OOB data.
type MeshTarget struct {
	UUID      [16]byte
	StaticOOB []byte
	PublicKey []byte
}

// Mesh action names (Mesh Protocol v1.1 §5.4.1.2).
var (
	MeshBearers       = []string{"pb-adv", "pb-gatt"}
	MeshOutputActions = []string{"blink", "beep", "vibrate", "numeric", "alphanumeric"}
	MeshInputActions  = []string{"push", "twist", "numeric", "alphanumeric"}
)

var (
	meshNodeFields = []string{"uuid", "bearers", "oob_info", "uri", "elements", "static_oob", "public_key_oob",
		"private_key", "output_oob", "input_oob", "state_file"}
	meshProvFields   = []string{"net_key", "app_key", "iv_index", "address", "targets", "any", "pb_gatt", "state_file"}
	meshOOBFields    = []string{"size", "actions"}
	meshTargetFields = []string{"uuid", "static_oob", "public_key"}
)

// meshNode decodes a mesh-node's mesh section.
func (d *decoder) meshNode(n *yaml.Node, path string) Mesh {
	var m Mesh
	f, ok := d.fields(n, path, "a mapping with "+joinList(meshNodeFields), meshNodeFields)
	if !ok {
		return m
	}
	if v := d.required(n, f, path, "uuid", "the 16-byte Device UUID as 32 hex digits"); v != nil {
		m.UUID, _ = d.uuid128(v, path+".uuid")
	}
	if v := f["bearers"].val; v != nil {
		for i, b := range d.list(v, path+".bearers", "a list such as [pb-adv, pb-gatt]") {
			if s, ok := d.enum(b, index(path+".bearers", i), "bearer", MeshBearers); ok {
				m.Bearers = append(m.Bearers, s)
			}
		}
	}
	if v := f["oob_info"].val; v != nil {
		x, _ := d.integer(v, path+".oob_info", "the beacon's 16-bit OOB Information", 0, 0xFFFF)
		m.OOBInfo = uint16(x)
	}
	if v := f["uri"].val; v != nil {
		m.URI, _ = d.str(v, path+".uri", "a URI")
	}
	if v := f["elements"].val; v != nil {
		x, _ := d.integer(v, path+".elements", "the number of elements", 1, 16)
		m.Elements = int(x)
	}
	if v := f["static_oob"].val; v != nil {
		m.StaticOOB, _ = d.value(v, path+".static_oob")
		if len(m.StaticOOB) > 32 {
			d.errorf(v, path+".static_oob", "a static OOB value is at most 32 bytes (16 for the CMAC algorithm)")
		}
	}
	if v := f["public_key_oob"].val; v != nil {
		m.PublicKeyOOB, _ = d.boolean(v, path+".public_key_oob")
	}
	if v := f["private_key"].val; v != nil {
		m.PrivateKey = d.hexBytes(v, path+".private_key", 32)
		if k := f["public_key_oob"].key; k == nil || !m.PublicKeyOOB {
			d.errorf(f["private_key"].key, path+".private_key", "a fixed private key is only used with public_key_oob: true")
		}
	}
	if v := f["output_oob"].val; v != nil {
		m.OutputSize, m.OutputActions = d.meshOOB(v, path+".output_oob", MeshOutputActions)
	}
	if v := f["input_oob"].val; v != nil {
		m.InputSize, m.InputActions = d.meshOOB(v, path+".input_oob", MeshInputActions)
	}
	if v := f["state_file"].val; v != nil {
		m.StateFile, _ = d.str(v, path+".state_file", "a file path")
	}
	return m
}

// meshOOB decodes {size: N, actions: [...]}.
func (d *decoder) meshOOB(n *yaml.Node, path string, actions []string) (int, []string) {
	f, ok := d.fields(n, path, "a mapping with size and actions", meshOOBFields)
	if !ok {
		return 0, nil
	}
	size := 0
	if v := d.required(n, f, path, "size", "the number of digits or characters, 1 to 8"); v != nil {
		x, _ := d.integer(v, path+".size", "the OOB size", 1, 8)
		size = int(x)
	}
	var acts []string
	if v := d.required(n, f, path, "actions", "a list of: "+joinList(actions)); v != nil {
		for i, a := range d.list(v, path+".actions", "a list of: "+joinList(actions)) {
			if s, ok := d.enum(a, index(path+".actions", i), "action", actions); ok {
				acts = append(acts, s)
			}
		}
	}
	return size, acts
}

// meshProvisioner decodes a mesh-provisioner's mesh section.
func (d *decoder) meshProvisioner(n *yaml.Node, path string) Mesh {
	var m Mesh
	f, ok := d.fields(n, path, "a mapping with "+joinList(meshProvFields), meshProvFields)
	if !ok {
		return m
	}
	if v := f["net_key"].val; v != nil {
		m.NetKey = d.hexBytes(v, path+".net_key", 16)
	}
	if v := f["app_key"].val; v != nil {
		m.AppKey = d.hexBytes(v, path+".app_key", 16)
	}
	if v := f["iv_index"].val; v != nil {
		x, _ := d.integer(v, path+".iv_index", "the IV Index", 0, 0xFFFFFFFF)
		m.IVIndex = uint32(x)
	}
	if v := f["address"].val; v != nil {
		x, _ := d.integer(v, path+".address", "the provisioner's unicast address", 1, 0x7FFF)
		m.Address = uint16(x)
	}
	if v := f["any"].val; v != nil {
		m.Any, _ = d.boolean(v, path+".any")
	}
	if v := f["pb_gatt"].val; v != nil {
		m.PBGATT, _ = d.boolean(v, path+".pb_gatt")
	}
	if v := f["state_file"].val; v != nil {
		m.StateFile, _ = d.str(v, path+".state_file", "a file path")
	}
	if v := f["targets"].val; v != nil {
		for i, t := range d.list(v, path+".targets", "a list of devices: uuid and optional static_oob / public_key") {
			p := index(path+".targets", i)
			tf, ok := d.fields(t, p, "a mapping with "+joinList(meshTargetFields), meshTargetFields)
			if !ok {
				continue
			}
			var mt MeshTarget
			if u := d.required(t, tf, p, "uuid", "the device's UUID"); u != nil {
				mt.UUID, _ = d.uuid128(u, p+".uuid")
			}
			if s := tf["static_oob"].val; s != nil {
				mt.StaticOOB, _ = d.value(s, p+".static_oob")
			}
			if k := tf["public_key"].val; k != nil {
				mt.PublicKey = d.hexBytes(k, p+".public_key", 64)
			}
			m.Targets = append(m.Targets, mt)
		}
	}
	if len(m.Targets) == 0 && f["any"].val == nil {
		m.Any = true
	}
	return m
}

// uuid128 decodes a Device UUID: 32 hex digits, dashes allowed.
func (d *decoder) uuid128(n *yaml.Node, path string) ([16]byte, bool) {
	var u [16]byte
	s, ok := d.str(n, path, "a 16-byte UUID as 32 hex digits")
	if !ok {
		return u, false
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		d.errorf(n, path, "want a 16-byte UUID as 32 hex digits (dashes allowed), got %s", quote(s))
		return u, false
	}
	copy(u[:], b)
	return u, true
}

// hexBytes decodes exactly n bytes given as hex ("hex:" prefix optional).
func (d *decoder) hexBytes(node *yaml.Node, path string, n int) []byte {
	s, ok := d.str(node, path, "bytes in hex")
	if !ok {
		return nil
	}
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimPrefix(s, "hex:"), " ", ""))
	if err != nil || len(b) != n {
		d.errorf(node, path, "want %d bytes as %d hex digits, got %s", n, 2*n, quote(s))
		return nil
	}
	return b
}
