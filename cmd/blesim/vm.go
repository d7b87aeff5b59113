package main

import (
	"io"
)

func runVM(args []string, stdout, stderr io.Writer) error {
	return usagef("not yet")
}
