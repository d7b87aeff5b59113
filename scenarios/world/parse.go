package world

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"blesim/vhci/hci"
)

// Field names of each mapping, in the order Reference documents them.
var (
	worldFields      = []string{"seed", "medium", "controllers", "devices"}
	mediumFields     = []string{"path_loss_exponent", "reference_loss_db", "sensitivity_dbm", "packet_loss"}
	controllerFields = []string{"address", "address_type", "position"}
)

// Load reads and parses the world file at path. Errors name the file as
// path is written.
func Load(path string) (*World, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a world file. name is the file name used in errors and in
// World.Source. An empty file (or one holding only comments) is the
// default world: seed 1, the default medium, no controllers, no devices.
// A rejected file gives an ErrorList with every problem found.
func Parse(name string, data []byte) (*World, error) {
	root, perr := parseYAML(name, data)
	if perr != nil {
		return nil, ErrorList{perr}
	}
	d := &decoder{file: name}
	w := d.world(root)
	if len(d.errs) > 0 {
		return nil, d.errs.finish(d.dropped)
	}
	w.Source = name
	return w, nil
}

// parseYAML parses data as a single YAML document and returns its root
// node, or nil for an empty document.
func parseYAML(name string, data []byte) (root *yaml.Node, perr *Error) {
	defer func() {
		if r := recover(); r != nil { // yaml.v3 should not panic; never pass one on
			root, perr = nil, &Error{File: name, Msg: fmt.Sprintf("cannot read the file as YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, data, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, &Error{File: name, Line: next.Line, Msg: "a world file holds one YAML document, but a second one starts here"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(name, data, err)
	}
	if e := checkAliases(name, &doc); e != nil {
		return nil, e
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

// world decodes the root mapping.
func (d *decoder) world(root *yaml.Node) *World {
	w := &World{Seed: DefaultSeed, Medium: DefaultMedium()}
	root = resolve(root)
	if root == nil || isNull(root) {
		return w
	}
	m, ok := d.fields(root, "", "a world: a mapping with seed, medium, controllers and devices", worldFields)
	if !ok {
		return w
	}
	if v := m["seed"].val; v != nil {
		w.Seed, _ = d.uint64(v, "seed")
	}
	if v := m["medium"].val; v != nil {
		w.Medium = d.medium(v)
	}
	var ctrl, dev []decl
	if v := m["controllers"].val; v != nil {
		for i, n := range d.list(v, "controllers", "a list of controllers") {
			c, cd := d.controller(n, index("controllers", i))
			w.Controllers = append(w.Controllers, c)
			ctrl = append(ctrl, cd)
		}
	}
	if v := m["devices"].val; v != nil {
		for i, n := range d.list(v, "devices", "a list of devices") {
			dv, dd := d.device(n, index("devices", i))
			devs, decls := d.replicate(n, index("devices", i), dv, dd) // count: N (count.go)
			w.Devices = append(w.Devices, devs...)
			dev = append(dev, decls...)
		}
	}
	d.checkNames(w.Devices, dev)
	d.assignAddresses(w, ctrl, dev)
	return w
}

// medium decodes the medium mapping.
func (d *decoder) medium(n *yaml.Node) Medium {
	md := DefaultMedium()
	m, ok := d.fields(n, "medium", "a mapping with "+joinList(mediumFields), mediumFields)
	if !ok {
		return md
	}
	num := func(name, what string, lo, hi float64, dst *float64) {
		if v := m[name].val; v != nil {
			if x, ok := d.number(v, "medium."+name, what, lo, hi); ok {
				*dst = x
			}
		}
	}
	num("path_loss_exponent", "a path-loss exponent", 1.5, 6, &md.PathLossExponent)
	num("reference_loss_db", "a loss in dB", 0, 100, &md.ReferenceLossDB)
	num("sensitivity_dbm", "a level in dBm", -120, -30, &md.SensitivityDBm)
	num("packet_loss", "a probability", 0, 1, &md.PacketLoss)
	return md
}

// controller decodes one entry of controllers.
func (d *decoder) controller(n *yaml.Node, path string) (Controller, decl) {
	c := Controller{AddressType: hci.AddrPublic}
	dc := decl{path: path, family: ctrlPublic}
	m, ok := d.fields(n, path, "a controller: a mapping with "+joinList(controllerFields), controllerFields)
	if !ok {
		dc.bad = true
		return c, dc
	}
	c.Address, c.AddressType = d.address(m, path, hci.AddrPublic, &dc)
	if c.AddressType == hci.AddrRandom {
		dc.family = ctrlRandom
	}
	if v := m["position"].val; v != nil {
		c.Position = d.position(v, path+".position")
	}
	return c, dc
}

// position decodes [x, y] in metres.
func (d *decoder) position(n *yaml.Node, path string) [2]float64 {
	var p [2]float64
	if n.Kind != yaml.SequenceNode || len(n.Content) != 2 {
		d.errorf(n, path, "want [x, y] in metres, got %s", describe(n))
		return p
	}
	for i, c := range n.Content {
		p[i], _ = d.number(resolve(c), index(path, i), "a distance in metres", -MaxPosition, MaxPosition)
	}
	return p
}
