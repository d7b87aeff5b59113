package main

import (
	"fmt"
	"io"

	"blesim/scenarios/world"
)

func runList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("list", "", "Lists the device profiles a world file can use (profile: NAME).", stdout)
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Profiles:")
	for _, p := range world.Profiles {
		fmt.Fprintf(stdout, "  %-11s %s\n", p.Name, p.Summary)
	}
	return nil
}

func worldReference() string { return world.Reference }
