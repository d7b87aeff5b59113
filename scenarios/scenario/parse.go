package scenario

import (
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"blesim/hosts/smp"
	"blesim/scenarios/world"
)

// ownFields are the top-level fields a scenario adds to a world file.
var ownFields = []string{"name", "description", "duration", "steps", "expect"}

// Load reads and parses the scenario file at path.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a scenario file; name is used in errors and Source. A
// rejected file gives a world.ErrorList ("file:line: field: message").
func Parse(name string, data []byte) (*Scenario, error) {
	root, err := world.ParseYAML(name, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: name}
	if root == nil {
		return nil, world.ErrorList{{File: name, Msg: "empty scenario: want a mapping with name, devices, steps and expect"}}
	}
	if root.Kind != yaml.MappingNode {
		return nil, world.ErrorList{{File: name, Line: root.Line, Msg: "want a scenario: a mapping with name, devices, steps and expect, got " + describe(root)}}
	}
	known := append(world.Fields(), ownFields...)
	worldPart := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: root.Line, Column: root.Column}
	m := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || !slices.Contains(known, k.Value):
			d.errorf(k, "", "unknown field %s; want one of: %s", describe(k), strings.Join(known, ", "))
		case slices.Contains(world.Fields(), k.Value):
			worldPart.Content = append(worldPart.Content, k, v)
		case m[k.Value] != nil:
			d.errorf(k, "", "field %q is given twice", k.Value)
		default:
			m[k.Value] = v
		}
	}
	s := &Scenario{Source: name}
	w, werr := world.ParseNode(name, worldPart)
	if werr != nil {
		if l, ok := werr.(world.ErrorList); ok {
			d.errs = append(d.errs, l...)
		} else {
			d.errorf(root, "", "%v", werr)
		}
	}
	s.World = w
	if v := m["name"]; v != nil {
		s.Name, _ = d.str(v, "name", "a scenario name")
	}
	if v := m["description"]; v != nil {
		s.Description, _ = d.str(v, "description", "a one-line description")
	}
	if v := m["duration"]; v != nil {
		s.Duration, _ = d.duration(v, "duration", time.Millisecond, MaxDuration)
	}
	if v := m["steps"]; v != nil {
		for i, n := range d.list(v, "steps") {
			if st, ok := d.step(n, fmt.Sprintf("steps[%d]", i)); ok {
				s.Steps = append(s.Steps, st)
			}
		}
	}
	if v := m["expect"]; v != nil {
		for i, n := range d.list(v, "expect") {
			if e, ok := d.expectation(n, fmt.Sprintf("expect[%d]", i)); ok {
				s.Expect = append(s.Expect, e)
			}
		}
	}
	if w != nil {
		d.checkDevices(s)
		d.checkMesh(s) // mesh_steps.go
	}
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
		return nil, d.errs
	}
	return s, nil
}

// decoder collects problems with file, line and field.
type decoder struct {
	file string
	errs world.ErrorList
	// refs are the device names used, checked by checkDevices.
	refs []ref
}

// ref is a device name used by a step or an expectation.
type ref struct {
	node    *yaml.Node
	path    string
	name    string
	central bool // the device must be a central
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &world.Error{File: d.file, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// describe says what n is, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return fmt.Sprintf("a list of %d items", len(n.Content))
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// fields checks that n is a mapping with keys from known, each once.
func (d *decoder) fields(n *yaml.Node, path string, known []string) (map[string]*yaml.Node, bool) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping with %s, got %s", strings.Join(known, ", "), describe(n))
		return nil, false
	}
	m := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !slices.Contains(known, k.Value) {
			d.errorf(k, path, "unknown field %s; want one of: %s", describe(k), strings.Join(known, ", "))
			continue
		}
		if m[k.Value] != nil {
			d.errorf(k, path, "field %q is given twice", k.Value)
			continue
		}
		m[k.Value] = v
	}
	return m, true
}

func join(path, name string) string { return path + "." + name }

func (d *decoder) list(n *yaml.Node, path string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "want a list, got %s", describe(n))
		return nil
	}
	return n.Content
}

func (d *decoder) str(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" || n.Value == "" {
		d.errorf(n, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) boolean(n *yaml.Node, path string) bool {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		d.errorf(n, path, "want true or false, got %s", describe(n))
	}
	return v
}

func (d *decoder) number(n *yaml.Node, path, what string, lo, hi float64) (float64, bool) {
	var v float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || tag != "!!int" && tag != "!!float" || n.Decode(&v) != nil ||
		math.IsNaN(v) || v < lo || v > hi {
		d.errorf(n, path, "want %s from %g to %g, got %s", what, lo, hi, describe(n))
		return 0, false
	}
	return v, true
}

// byte8 reads a status or reason code: 0x06, 6 or "0x06".
func (d *decoder) byte8(n *yaml.Node, path, what string) (*uint8, bool) {
	if n.Kind == yaml.ScalarNode {
		if v, err := strconv.ParseUint(n.Value, 0, 8); err == nil {
			b := uint8(v)
			return &b, true
		}
	}
	d.errorf(n, path, "want %s from 0x00 to 0xFF (e.g. 0x06), got %s", what, describe(n))
	return nil, false
}

// duration reads "100ms", "1.5s" or a whole number of milliseconds.
func (d *decoder) duration(n *yaml.Node, path string, lo, hi time.Duration) (time.Duration, bool) {
	var v time.Duration
	ok := false
	if n.Kind == yaml.ScalarNode {
		if ms, err := strconv.ParseInt(n.Value, 10, 32); err == nil && n.ShortTag() == "!!int" {
			v, ok = time.Duration(ms)*time.Millisecond, true
		} else if p, err := time.ParseDuration(n.Value); err == nil {
			v, ok = p, true
		}
	}
	if !ok {
		d.errorf(n, path, "want a duration such as 500ms or 2s, got %s", describe(n))
		return 0, false
	}
	if v < lo || v > hi {
		d.errorf(n, path, "want a duration from %s to %s, got %s", lo, hi, v)
		return 0, false
	}
	return v, true
}

func (d *decoder) uuid(n *yaml.Node, path string) (world.UUID, bool) {
	s, ok := d.str(n, path, `a UUID such as "2A19"`)
	if !ok {
		return world.UUID{}, false
	}
	u, err := world.ParseUUID(s)
	if err != nil {
		d.errorf(n, path, "want a 16-bit (\"2A19\") or 128-bit UUID, got %s", describe(n))
		return world.UUID{}, false
	}
	return u, true
}

// value reads "hex:5701" bytes or UTF-8 text.
func (d *decoder) value(n *yaml.Node, path string) ([]byte, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.errorf(n, path, `want "hex:" and bytes in hex (e.g. "hex:57") or text, got %s`, describe(n))
		return nil, false
	}
	if h, ok := strings.CutPrefix(n.Value, "hex:"); ok {
		b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
		if err != nil {
			d.errorf(n, path, `want "hex:" and an even number of hex digits, got %s`, describe(n))
			return nil, false
		}
		return b, true
	}
	return []byte(n.Value), true
}

// device reads a device name and remembers it for checkDevices.
func (d *decoder) device(n *yaml.Node, path string, central bool) string {
	s, ok := d.str(n, path, "a device name")
	if ok {
		d.refs = append(d.refs, ref{n, path, s, central})
	}
	return s
}

// checkDevices checks that every device named exists (and is a central
// where one is needed), and that each central connects to one peer.
func (d *decoder) checkDevices(s *Scenario) {
	profile := map[string]string{}
	for _, dv := range s.World.Devices {
		profile[dv.Name] = dv.Profile
	}
	for _, r := range d.refs {
		p, ok := profile[r.name]
		switch {
		case !ok:
			names := make([]string, 0, len(profile))
			for _, dv := range s.World.Devices {
				names = append(names, dv.Name)
			}
			d.errorf(r.node, r.path, "no device %q; devices: %s", r.name, strings.Join(names, ", "))
		case r.central && p != world.ProfileCentral:
			d.errorf(r.node, r.path, "%q is a %s; this needs a device with profile central", r.name, p)
		}
	}
	// The built-in central is configured with one target by name.
	peer := map[string]Step{}
	for _, st := range s.Steps {
		if st.Action != ActConnect || st.peerNode == nil {
			continue
		}
		if prev, ok := peer[st.Device]; ok && prev.Peer != st.Peer {
			d.errorf(st.peerNode, st.peerPath, "%s already connects to %q (line %d); a central connects to one peripheral in a scenario", st.Device, prev.Peer, prev.peerNode.Line)
			continue
		}
		peer[st.Device] = st
	}
}

// pairOptions reads aioble-style pairing options.
func (d *decoder) pairOptions(m map[string]*yaml.Node, path string) smp.PairOptions {
	o := smp.PairOptions{Bond: true, LESecure: true, IO: smp.NoInputNoOutput}
	if v := m["bond"]; v != nil {
		o.Bond = d.boolean(v, join(path, "bond"))
	}
	if v := m["secure_connections"]; v != nil {
		o.LESecure = d.boolean(v, join(path, "secure_connections"))
	}
	if v := m["mitm"]; v != nil {
		o.MITM = d.boolean(v, join(path, "mitm"))
	}
	if v := m["io_capability"]; v != nil {
		if s, ok := d.str(v, join(path, "io_capability"), "an IO capability"); ok {
			io, err := parseIO(s)
			if err != nil {
				d.errorf(v, join(path, "io_capability"), "%v", err)
			}
			o.IO = io
		}
	}
	return o
}

// parseIO accepts the names ("no-input-no-output", "keyboard-only") and
// aioble's numbers (0 DisplayOnly to 4 KeyboardDisplay).
func parseIO(s string) (smp.IOCapability, error) {
	if n, err := strconv.ParseUint(s, 10, 8); err == nil && n <= 4 {
		return smp.IOCapability(n), nil
	}
	return smp.ParseIOCapability(s)
}
