package world

import "gopkg.in/yaml.v3"

// Fields lists the top-level fields of a world file, for formats that
// embed a world (scenario files add their own fields next to these).
func Fields() []string { return append([]string(nil), worldFields...) }

// ParseYAML parses data as a single YAML document with the checks Parse
// applies (one document, bounded aliases) and returns its root node, or
// nil for an empty document. A rejected file gives an ErrorList.
func ParseYAML(name string, data []byte) (*yaml.Node, error) {
	root, perr := parseYAML(name, data)
	if perr != nil {
		return nil, ErrorList{perr}
	}
	return root, nil
}

// ParseNode decodes a world from root, a YAML mapping holding only world
// fields (nil: the default world), as Parse does for a whole file. name
// is the file name used in errors and in World.Source.
func ParseNode(name string, root *yaml.Node) (*World, error) {
	d := &decoder{file: name}
	w := d.world(root)
	if len(d.errs) > 0 {
		return nil, d.errs.finish(d.dropped)
	}
	w.Source = name
	return w, nil
}
