package contacts

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// attr is one RPSL attribute, its continuation lines joined with a space.
type attr struct{ key, value string }

// wantedClass and wantedAttr say what resolution needs; everything else in a dump is skipped
// while it is read, so a gigabyte of person, route and domain objects costs no memory.
var wantedClass = map[string]bool{"inetnum": true, "inet6num": true, "organisation": true, "role": true, "irt": true, "aut-num": true}

var wantedAttr = map[string]bool{"abuse-c": true, "org": true, "mnt-irt": true, "abuse-mailbox": true, "nic-hdl": true, "country": true}

// maxLine bounds one line of a dump; RPSL lines are short, a longer one means a file of
// another kind.
const maxLine = 1 << 20

// readRPSL streams the objects of an RPSL dump to fn: `key: value` lines, a blank line
// between objects, `%` and `#` comment lines, continuation lines that start with a space, a
// tab or `+`. Text is UTF-8 where it is valid UTF-8 and latin-1 otherwise (the RIPE dumps are
// latin-1). Only the classes and attributes resolution needs reach fn, class first; fn must
// not keep the slice.
func readRPSL(r io.Reader, fn func([]attr) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var obj []attr
	skip, keepLast := false, false // skip: the object's class is not wanted
	flush := func() error {
		defer func() { obj, skip, keepLast = obj[:0], false, false }()
		if len(obj) == 0 || skip {
			return nil
		}
		return fn(obj)
	}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(b)) == 0 {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		switch b[0] {
		case '%', '#':
			continue
		case ' ', '\t', '+':
			if keepLast && len(obj) > 0 {
				last := &obj[len(obj)-1]
				last.value = strings.TrimSpace(last.value + " " + text(bytes.TrimSpace(b[1:])))
			}
			continue
		}
		if skip {
			continue
		}
		k, v, ok := bytes.Cut(b, []byte(":"))
		if !ok {
			return fmt.Errorf("line %d: not an RPSL attribute (key: value)", line)
		}
		key := strings.ToLower(string(bytes.TrimSpace(k)))
		if len(obj) == 0 {
			if !wantedClass[key] {
				skip = true
				continue
			}
		} else if keepLast = wantedAttr[key]; !keepLast {
			continue
		}
		keepLast = true
		obj = append(obj, attr{key, text(bytes.TrimSpace(v))})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("after line %d: %w", line, err)
	}
	return flush()
}

// text decodes b: UTF-8 when valid, latin-1 (each byte one rune) otherwise.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// token is an attribute's value up to the first space or `#` comment: `DE # Germany` is DE.
func token(v string) string {
	v, _, _ = strings.Cut(v, "#")
	if f := strings.Fields(v); len(f) > 0 {
		return f[0]
	}
	return ""
}
