// Package library holds blesim's built-in scenarios (the *.yaml files in
// this directory), embedded so that `blesim run lost-bond` works from any
// directory and `blesim list` can show them.
package library

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"

	"blesim/scenarios/scenario"
)

//go:embed *.yaml
var files embed.FS

// Entry is one built-in scenario.
type Entry struct {
	Name        string // the file name without .yaml, e.g. "lost-bond"
	File        string // e.g. "lost-bond.yaml"
	Description string
}

// Names lists the built-in scenarios, sorted by name.
func Names() []string {
	ents, _ := fs.Glob(files, "*.yaml")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e, ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Data returns the text of the built-in scenario name (with or without
// .yaml), and whether there is one.
func Data(name string) ([]byte, bool) {
	name = strings.TrimSuffix(path.Base(name), ".yaml")
	b, err := files.ReadFile(name + ".yaml")
	return b, err == nil
}

// Load parses the built-in scenario name.
func Load(name string) (*scenario.Scenario, error) {
	b, ok := Data(name)
	if !ok {
		return nil, fs.ErrNotExist
	}
	return scenario.Parse(strings.TrimSuffix(name, ".yaml")+".yaml", b)
}

// List returns every built-in scenario with its description.
func List() ([]Entry, error) {
	var out []Entry
	for _, n := range Names() {
		s, err := Load(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Name: n, File: n + ".yaml", Description: s.Description})
	}
	return out, nil
}
