// Package textsafe makes text that came from the network, or from a file of strangers'
// making, safe to put in front of a person: on a terminal, in a log line, in a table cell.
// It removes what could drive a terminal or hide text from a reader; it does not escape for
// any markup (HTML, Markdown, CSV formulas): each output format does that itself.
package textsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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

// Check refuses s unless Clean would leave it as written, spaces aside: invalid UTF-8, control
// characters (C0 with tab, CR and LF; DEL; C1), format characters (bidi overrides, zero-width
// joiners), white space other than the ASCII space, or more than max bytes (max <= 0: no
// bound). what names the value in the error. It is for values a person or a program hands us
// (flags, environment, API fields): those are refused, never silently cleaned.
func Check(what, s string, max int) error {
	if max > 0 && len(s) > max {
		return fmt.Errorf("%s of %d bytes: at most %d", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q: not valid UTF-8", what, s)
	}
	if i := strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') || r == utf8.RuneError
	}); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("%s %q: character %U at byte %d (control, format or line-breaking characters are refused; a CRLF file or a stray paste?)", what, s, r, i)
	}
	return nil
}
