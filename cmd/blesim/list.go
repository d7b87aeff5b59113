package main

import (
	"fmt"
	"io"

	"blesim/scenarios/library"
	"blesim/scenarios/world"
)

func runList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("list", "", "Lists the built-in scenarios (blesim run NAME) and the device profiles a world file can use (profile: NAME).", stdout)
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	scenarios, err := library.List()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Scenarios (blesim run NAME):")
	w := 0
	for _, s := range scenarios {
		w = max(w, len(s.Name))
	}
	for _, s := range scenarios {
		fmt.Fprintf(stdout, "  %-*s %s\n", w, s.Name, s.Description)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "Profiles:")
	w = 0
	for _, p := range world.Profiles {
		w = max(w, len(p.Name))
	}
	for _, p := range world.Profiles {
		fmt.Fprintf(stdout, "  %-*s %s\n", w, p.Name, p.Summary)
	}
	return nil
}

func worldReference() string { return world.Reference }
