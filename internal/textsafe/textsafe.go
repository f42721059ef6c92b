// Package textsafe makes text that came from the network, or from a file of strangers'
// making, safe to put in front of a person: on a terminal, in a log line, in a table cell.
// It removes what could drive a terminal or hide text from a reader; it does not escape for
// any markup (HTML, Markdown, CSV formulas): each output format does that itself.
package textsafe

import (
	"strings"
	"unicode"
)

// Clean returns s without control characters (C0, DEL, C1), format characters (bidi
// overrides, zero-width joiners) and invalid UTF-8 (or U+FFFD), with every run of white
// space made one space and none at either end. It keeps at most max runes, cut on a rune
// boundary; max <= 0 means no bound.
func Clean(s string, max int) string {
	var b strings.Builder
	space := false
	count := 0
	for _, r := range s {
		if max > 0 && count >= max {
			break
		}
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || r == unicode.ReplacementChar || unicode.Is(unicode.Cf, r):
			continue
		}
		if space && b.Len() > 0 {
			if max > 0 && count+1 >= max {
				break
			}
			b.WriteByte(' ')
			count++
		}
		space = false
		b.WriteRune(r)
		count++
	}
	return b.String()
}
