package smp

import "errors"

// FailRenameForTest makes the bond store's rename fail (a crash between
// writing the temporary file and replacing the old one) until the
// returned function is called.
func FailRenameForTest() (restore func()) {
	rename = func(string, string) error { return errors.New("injected rename failure") }
	return func() { rename = osRename }
}
