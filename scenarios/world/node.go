package world

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the size of a world file's node tree with every alias
// expanded, so that a small file cannot make Parse do unbounded work.
const maxNodes = 1 << 21

// field is one "key: value" entry of a YAML mapping. val is nil when the
// value is null (nothing written after the colon, ~ or null): such a field
// counts as absent.
type field struct{ key, val *yaml.Node }

// decoder turns a YAML node tree into a World, collecting every problem.
type decoder struct {
	file    string
	errs    ErrorList
	dropped int // problems beyond maxKept, counted but not kept
}

// maxKept bounds the problems a decoder keeps (it reports the first
// maxErrors by line, and counts the rest).
const maxKept = 1000

// errorf records a problem with node n (nil: no line) at field path.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	if len(d.errs) >= maxKept {
		d.dropped++
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// join appends a field name to a path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// index appends a list index to a path.
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// resolve follows an alias to the value it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is a null scalar.
func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe says what n is, for "got ..." in error messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode && len(n.Content) == 0:
		return "an empty list"
	case n.Kind == yaml.SequenceNode && len(n.Content) == 1:
		return "a list of 1 item"
	case n.Kind == yaml.SequenceNode:
		return fmt.Sprintf("a list of %d items", len(n.Content))
	case n.Kind != yaml.ScalarNode:
		return "something else"
	}
	switch n.ShortTag() {
	case "!!str":
		return quote(n.Value)
	case "!!null":
		return "nothing"
	}
	if len(n.Value) > 40 {
		return n.Value[:40] + "..."
	}
	return n.Value
}

// fields checks that n is a mapping whose keys are all in known, each at
// most once, and returns its entries by key. want describes the mapping for
// the error when n is something else.
func (d *decoder) fields(n *yaml.Node, path, want string, known []string) (map[string]field, bool) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want %s, got %s", want, describe(n))
		return nil, false
	}
	m := make(map[string]field, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		switch {
		case k.Kind != yaml.ScalarNode:
			d.errorf(k, path, "want a field name, got %s", describe(k))
			continue
		case k.ShortTag() == "!!merge":
			d.errorf(k, path, "merge keys (<<) are not supported: write the fields out, or use an alias (*name) for a whole value")
			continue
		case !slices.Contains(known, k.Value):
			d.errorf(k, path, "%s", unknownMsg("field", k.Value, known))
			continue
		}
		if prev, dup := m[k.Value]; dup {
			d.errorf(k, path, "field %q is given twice (first on line %d)", k.Value, prev.key.Line)
			continue
		}
		if isNull(v) {
			v = nil
		}
		m[k.Value] = field{k, v}
	}
	return m, true
}

// required returns the value of field name of mapping n, or reports that
// it is missing or empty. what describes the value.
func (d *decoder) required(n *yaml.Node, m map[string]field, path, name, what string) *yaml.Node {
	f, ok := m[name]
	if !ok {
		d.errorf(n, path, "missing required field %q (%s)", name, what)
		return nil
	}
	if f.val == nil {
		d.errorf(f.key, join(path, name), "want %s, got nothing", what)
	}
	return f.val
}

// list checks that n is a sequence and returns its items, aliases resolved.
func (d *decoder) list(n *yaml.Node, path, want string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "want %s, got %s", want, describe(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = resolve(c)
	}
	return items
}

// str returns the text of a scalar as written; numbers and booleans count
// (an unquoted 1800 is the text "1800").
func (d *decoder) str(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

// enum returns a scalar that must be one of options; what names the kind
// of value ("profile").
func (d *decoder) enum(n *yaml.Node, path, what string, options []string) (string, bool) {
	s, ok := d.str(n, path, "a "+what+" (one of: "+joinList(options)+")")
	if !ok {
		return "", false
	}
	if !slices.Contains(options, s) {
		d.errorf(n, path, "%s", unknownMsg(what, s, options))
		return "", false
	}
	return s, true
}

// number returns a finite int or float scalar in [lo, hi]. what describes
// the value ("a loss in dB").
func (d *decoder) number(n *yaml.Node, path, what string, lo, hi float64) (float64, bool) {
	var v float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || tag != "!!int" && tag != "!!float" || n.Decode(&v) != nil ||
		math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
		d.errorf(n, path, "want %s from %s to %s, got %s", what, fmtFloat(lo), fmtFloat(hi), describe(n))
		return 0, false
	}
	return v, true
}

// integer returns an integer scalar in [lo, hi].
func (d *decoder) integer(n *yaml.Node, path, what string, lo, hi int64) (int64, bool) {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || v < lo || v > hi {
		d.errorf(n, path, "want %s from %d to %d, got %s", what, lo, hi, describe(n))
		return 0, false
	}
	return v, true
}

// uint64 returns a non-negative integer scalar.
func (d *decoder) uint64(n *yaml.Node, path string) (uint64, bool) {
	var v uint64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.errorf(n, path, "want a whole number from 0 to %d, got %s", uint64(math.MaxUint64), describe(n))
		return 0, false
	}
	return v, true
}

// boolean returns a true or false scalar.
func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		d.errorf(n, path, "want true or false, got %s", describe(n))
		return false, false
	}
	return v, true
}

// duration returns a duration in [lo, hi], written in Go syntax ("100ms",
// "1.5s") or as a whole number of milliseconds.
func (d *decoder) duration(n *yaml.Node, path string, lo, hi time.Duration) (time.Duration, bool) {
	inRange := func(v time.Duration) (time.Duration, bool) {
		if v < lo || v > hi {
			d.errorf(n, path, "want a duration from %s to %s, got %s", fmtDuration(lo), fmtDuration(hi), fmtDuration(v))
			return 0, false
		}
		return v, true
	}
	const maxMs = int64(math.MaxInt64 / time.Millisecond)
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int":
			var ms int64
			if n.Decode(&ms) != nil || ms < -maxMs || ms > maxMs {
				d.errorf(n, path, "want a duration from %s to %s, got %s ms", fmtDuration(lo), fmtDuration(hi), describe(n))
				return 0, false
			}
			return inRange(time.Duration(ms) * time.Millisecond)
		case "!!str":
			if v, err := time.ParseDuration(n.Value); err == nil {
				return inRange(v)
			}
		}
	}
	d.errorf(n, path, "want a duration such as 100ms or 1.5s, or a whole number of milliseconds, got %s", describe(n))
	return 0, false
}

// fmtFloat formats a range bound without trailing zeros.
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// joinList joins options with ", ".
func joinList(options []string) string { return strings.Join(options, ", ") }

// fmtDuration formats a duration as Go does, without zero minutes and
// seconds at the end: "24h", "1m", "1.5s".
func fmtDuration(v time.Duration) string {
	s := v.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

// checkAliases rejects an alias that refers to a value containing the
// alias itself, and a tree that expands to more than maxNodes nodes.
func checkAliases(file string, root *yaml.Node) *Error {
	size := map[*yaml.Node]int{} // -1 while the node is being walked
	var bad *Error
	var walk func(n *yaml.Node) int
	walk = func(n *yaml.Node) int {
		if s, done := size[n]; done || bad != nil {
			return max(s, 0)
		}
		size[n] = -1
		total := 1
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			if size[n.Alias] == -1 {
				bad = &Error{File: file, Line: n.Line, Msg: fmt.Sprintf("alias *%s refers to a value that contains the alias", n.Value)}
				return 0
			}
			total += walk(n.Alias)
		}
		for _, c := range n.Content {
			if total += walk(c); total > maxNodes {
				break
			}
		}
		total = min(total, maxNodes+1)
		size[n] = total
		return total
	}
	if walk(root) > maxNodes && bad == nil {
		bad = &Error{File: file, Line: root.Line, Msg: fmt.Sprintf("the file has more than %d values once aliases are expanded", maxNodes)}
	}
	return bad
}
