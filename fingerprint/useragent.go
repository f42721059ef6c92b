package fingerprint

import (
	"fmt"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/clawcensus/clawcensus/internal/textsafe"
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
	if err := textsafe.Check(what, s, maxUserAgentPart); err != nil {
		return fmt.Errorf("%w: it cannot go into a User-Agent", err)
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
