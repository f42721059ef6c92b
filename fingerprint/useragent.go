package fingerprint

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

// maxUserAgentPart bounds the tool version and the contact: each is a short label in every
// request's User-Agent.
const maxUserAgentPart = 256

// CheckContact refuses a contact (Config.Contact) that cannot go into the User-Agent as
// written: one that is not a valid HTTP header value (a CR or LF makes net/http refuse every
// request, so every probe would fail), or that holds other control or format characters,
// white space other than inner ASCII spaces, invalid UTF-8, or more than 256 bytes.
func CheckContact(contact string) error { return checkUserAgentPart("contact", contact) }

func checkUserAgentPart(what, s string) error {
	switch {
	case len(s) > maxUserAgentPart:
		return fmt.Errorf("%s of %d bytes: at most %d", what, len(s), maxUserAgentPart)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s %q: not valid UTF-8", what, s)
	}
	if i := strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') || r == utf8.RuneError
	}); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("%s %q: character %U at byte %d cannot go into a User-Agent (a CRLF file or a stray paste?)", what, s, r, i)
	}
	if s != strings.TrimSpace(s) {
		return fmt.Errorf("%s %q: white space at an end", what, s)
	}
	return nil
}

// userAgent makes the User-Agent of cfg, and refuses one net/http would not send as made.
func userAgent(toolVersion, contact string) (string, error) {
	if err := checkUserAgentPart("tool version", toolVersion); err != nil {
		return "", err
	}
	if err := CheckContact(contact); err != nil {
		return "", err
	}
	ua := "clawcensus/" + toolVersion
	if contact != "" {
		ua += " (+" + contact + ")"
	}
	if !httpguts.ValidHeaderFieldValue(ua) {
		return "", fmt.Errorf("user agent %q: not a valid HTTP header value", ua)
	}
	return ua, nil
}
