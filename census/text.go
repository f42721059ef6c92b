package census

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckText refuses a value that would reach a terminal, a log line, a file name or a stored
// field other than as written: invalid UTF-8, control characters (C0 with tab, CR and LF;
// DEL; C1), format characters (bidi overrides, zero-width joiners), white space other than the
// ASCII space, or more than max bytes (max <= 0: no bound). what names the value in the error.
// Flags, environment and API fields are checked with it where they enter (a trailing CR from a
// CRLF config file is the usual case): a value is refused, never silently cleaned.
func CheckText(what, s string, max int) error {
	if max > 0 && len(s) > max {
		return fmt.Errorf("%s of %d bytes: at most %d", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q: not valid UTF-8", what, s)
	}
	if i := strings.IndexFunc(s, badTextRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("%s %q: character %U at byte %d (control, format or line-breaking characters are refused; a CRLF file or a stray paste?)", what, s, r, i)
	}
	return nil
}

func badTextRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') || r == utf8.RuneError
}
