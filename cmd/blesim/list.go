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
	for _, s := range scenarios {
		fmt.Fprintf(stdout, "  %-18s %s\n", s.Name, s.Description)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "Profiles:")
	for _, p := range world.Profiles {
		fmt.Fprintf(stdout, "  %-11s %s\n", p.Name, p.Summary)
	}
	return nil
}

func worldReference() string { return world.Reference }
