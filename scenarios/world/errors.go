package world

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxErrors is how many problems Parse reports before giving up.
const maxErrors = 25

// Error is one problem in a world file. Its text is
// "file:line: field: message", for example
//
//	world.yaml:12: devices[1].position: want [x, y] in metres, got "near"
//
// Field is empty for problems with the file as a whole; Line is 0 only when
// the YAML parser could not say where the problem is.
type Error struct {
	File  string // the name given to Parse or Load
	Line  int    // 1-based line of the offending YAML node
	Field string // path of the field, e.g. "devices[1].position"
	Msg   string // what is wrong and what is allowed
}

// Error formats e as "file:line: field: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in one world file, in line order. Parse
// returns an ErrorList (never an empty one) when a file is rejected; its
// text is one Error per line.
type ErrorList []*Error

// Error joins the errors' texts with newlines.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap gives errors.As and errors.Is access to each *Error.
func (l ErrorList) Unwrap() []error {
	s := make([]error, len(l))
	for i, e := range l {
		s[i] = e
	}
	return s
}

// finish sorts l by line and trims it to maxErrors entries, counting the
// ones left out and dropped (already left out) in a last entry.
func (l ErrorList) finish(dropped int) ErrorList {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Line < l[j].Line })
	if len(l)+dropped > maxErrors {
		more := len(l) + dropped - maxErrors
		l = append(l[:maxErrors:maxErrors], &Error{File: l[0].File, Msg: fmt.Sprintf("... and %d more problems", more)})
	}
	return l
}

// quote quotes s for an error message, shortening long strings.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

// unknownMsg says that got is not one of options, suggesting the closest
// option if there is a plausible one:
//
//	unknown field "adress" (did you mean "address"?)
//	unknown profile "thermometer" (want one of: generic, oximeter, ...)
func unknownMsg(what, got string, options []string) string {
	if s := suggest(got, options); s != "" {
		return fmt.Sprintf("unknown %s %s (did you mean %q?)", what, quote(got), s)
	}
	return fmt.Sprintf("unknown %s %s (want one of: %s)", what, quote(got), strings.Join(options, ", "))
}

// suggest returns the option closest to got (ignoring case, '-' versus
// '_'), or "" if none is within a couple of typos.
func suggest(got string, options []string) string {
	if len(got) > 64 {
		return ""
	}
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	g := norm(got)
	best, bestD := "", 3
	for _, o := range options {
		d := editDistance(g, norm(o))
		if d < bestD && d < len(o) && d <= max(1, len(g)/3) {
			best, bestD = o, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b
// (in bytes): insertions, deletions, substitutions and swaps of two
// neighbouring characters each cost 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
