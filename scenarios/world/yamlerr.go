package world

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// yamlLine matches the location yaml.v3 puts in front of a syntax error.
var yamlLine = regexp.MustCompile(`^line (\d+): `)

// yamlUnknownAnchor matches yaml.v3's error for an alias with no anchor.
var yamlUnknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// parserProblems are the messages of yaml.v3's parser (as opposed to its
// scanner). For these it reports a 0-based line number; for scanner errors
// a 1-based one; for either it leaves the number out on the first line.
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"found undefined tag handle",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

// readerProblems are the messages of yaml.v3's input reader, which carry
// no position at all.
var readerProblems = []string{
	"invalid leading UTF-8 octet",
	"incomplete UTF-8 octet sequence",
	"invalid trailing UTF-8 octet",
	"invalid length of a UTF-8 sequence",
	"invalid Unicode character",
	"control characters are not allowed",
}

// syntaxError turns a yaml.v3 parse error into an Error with the right
// 1-based line.
func syntaxError(name string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
		for _, p := range parserProblems {
			if msg == p {
				line++
			}
		}
	} else if m := yamlUnknownAnchor.FindStringSubmatch(msg); m != nil {
		line = aliasLine(data, m[1])
		msg = "alias *" + m[1] + " names no anchor (&" + m[1] + ") defined before it"
	} else {
		for _, p := range readerProblems {
			if msg == p {
				line = badCharLine(data)
			}
		}
	}
	// Problems found at the end of the input are reported on the line
	// after the last one.
	lines := bytes.Count(data, []byte("\n"))
	if !bytes.HasSuffix(data, []byte("\n")) {
		lines++
	}
	return &Error{File: name, Line: min(line, max(lines, 1)), Msg: "YAML syntax error: " + msg}
}

// lineAt returns the 1-based line of byte offset off in data.
func lineAt(data []byte, off int) int { return bytes.Count(data[:off], []byte("\n")) + 1 }

// aliasLine returns the line of the first "*name" alias in data, or 0.
func aliasLine(data []byte, name string) int {
	pat := []byte("*" + name)
	for off := 0; off < len(data); {
		i := bytes.Index(data[off:], pat)
		if i < 0 {
			return 0
		}
		start, end := off+i, off+i+len(pat)
		before := start == 0 || strings.IndexByte(" \t\n[{,:-", data[start-1]) >= 0
		after := end == len(data) || strings.IndexByte(" \t\r\n,]}", data[end]) >= 0
		if before && after {
			return lineAt(data, start)
		}
		off = start + 1
	}
	return 0
}

// badCharLine returns the line of the first byte that YAML does not allow
// (invalid UTF-8 or a control character), or 0 if there is none.
func badCharLine(data []byte) int {
	if bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}) {
		data = data[3:] // a UTF-8 byte order mark is allowed
	}
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		bad := r == utf8.RuneError && size <= 1 ||
			r < 0x20 && r != '\t' && r != '\n' && r != '\r' ||
			r >= 0x7F && r <= 0x9F && r != 0x85 ||
			r == 0xFEFF || r == 0xFFFE || r == 0xFFFF
		if bad {
			return lineAt(data, off)
		}
		off += size
	}
	return 0
}
