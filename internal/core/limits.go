package core

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field sizes. Every string a tenant can store or send has a maximum, in bytes of UTF-8, so
// that no object, list or log line can be made arbitrarily large. The README's Security
// section lists them; a value over its limit is refused with an Invalid error naming the field.
const (
	// MaxNameLen bounds names: machines, networks, scripts, templates, teams, hosts, API keys,
	// and users' first and last names.
	MaxNameLen = 255
	// MaxEmailLen and MaxEmailLocalLen are RFC 5321's limits (§4.5.3.1): a path of 256 octets
	// including its angle brackets, a local part of 64.
	MaxEmailLen      = 254
	MaxEmailLocalLen = 64
	// MaxPasswordLen bounds passwords (hashing cost grows with length).
	MaxPasswordLen = 256
	// MaxDescriptionLen bounds free-text descriptions (a script's description).
	MaxDescriptionLen = 1024
	// MaxParamLen bounds any other string parameter: ids, regions, machine types, filter
	// values, order clauses, tokens, paths of template images.
	MaxParamLen = 1024
	// MaxOrderTerms bounds the terms of a list's order clause (after repeated fields are
	// dropped: a field sorted on twice sorts the same as once).
	MaxOrderTerms = 16
)

// CheckName validates a name a tenant gives an object: not blank, at most MaxNameLen bytes of
// valid UTF-8, no control or bidirectional-formatting characters (which would let a name
// rewrite a terminal, forge a line of a table or log, or read differently than it sorts).
func CheckName(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return Errorf(Invalid, "%s is required", field)
	}
	return CheckText(field, v, MaxNameLen)
}

// CheckText validates a free-text value of at most max bytes: valid UTF-8 without control
// or bidirectional-formatting characters; tabs and newlines are allowed only where multiline
// (a description), which callers check with CheckMultiline instead.
func CheckText(field, v string, max int) error {
	if err := CheckLen(field, v, max); err != nil {
		return err
	}
	if i := unsafeRune(v, false); i >= 0 {
		return Errorf(Invalid, "%s contains a control character (%U at byte %d)", field, []rune(v[i:])[0], i)
	}
	return nil
}

// CheckMultiline is CheckText allowing tabs and line breaks.
func CheckMultiline(field, v string, max int) error {
	if err := CheckLen(field, v, max); err != nil {
		return err
	}
	if i := unsafeRune(v, true); i >= 0 {
		return Errorf(Invalid, "%s contains a control character (%U at byte %d)", field, []rune(v[i:])[0], i)
	}
	return nil
}

// CheckLen refuses a value longer than max bytes, or one that is not valid UTF-8.
func CheckLen(field, v string, max int) error {
	if len(v) > max {
		return Errorf(Invalid, "%s is %d bytes long; the limit is %d", field, len(v), max)
	}
	if !utf8.ValidString(v) {
		return Errorf(Invalid, "%s is not valid UTF-8", field)
	}
	return nil
}

// CheckEmailLen applies RFC 5321's length limits to an address already parsed as one.
func CheckEmailLen(field, v string) error {
	if len(v) > MaxEmailLen {
		return Errorf(Invalid, "%s is %d bytes long; the limit is %d (RFC 5321)", field, len(v), MaxEmailLen)
	}
	if at := strings.LastIndexByte(v, '@'); at > MaxEmailLocalLen {
		return Errorf(Invalid, "the local part of %s is %d bytes long; the limit is %d (RFC 5321)", field, at, MaxEmailLocalLen)
	}
	return CheckText(field, v, MaxEmailLen)
}

// unsafeRune returns the byte offset of the first control, bidirectional-formatting or line
// or paragraph separator character of v, or -1. With multiline, tab, LF and CR are allowed.
func unsafeRune(v string, multiline bool) int {
	for i, r := range v {
		if multiline && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if UnsafeRune(r) {
			return i
		}
	}
	return -1
}

// UnsafeRune reports whether r must not be shown raw on a terminal or in a one-line record:
// C0 and C1 controls, DEL, the Unicode line and paragraph separators and the bidirectional
// formatting characters (embeddings, overrides, isolates and marks).
func UnsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f', r == '\u061c':
		return true
	}
	return false
}

// Printable returns v with every UnsafeRune escaped as Go does in a quoted string (\x1b,
// \n, \u202e) and invalid UTF-8 bytes as \xNN, for showing tenant-supplied text where a
// control character would act instead of being seen.
func Printable(v string) string {
	clean := true
	for _, r := range v {
		if r == utf8.RuneError || UnsafeRune(r) || r == '\\' {
			clean = false
			break
		}
	}
	if clean {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, v[i])
		case r == '\\':
			b.WriteString(`\\`)
		case UnsafeRune(r):
			q := fmt.Sprintf("%+q", string(r)) // "\x1b", "\n", "\u202e"
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(v[i : i+n])
		}
		i += n
	}
	return b.String()
}
