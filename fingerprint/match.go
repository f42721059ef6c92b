package fingerprint

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// match reports whether m holds for r, with ver the version found so far (nil: unknown).
func (m *Matcher) match(r response, ver *Version) bool {
	return m.inRange(ver) && (m.Probe == "" || m.holds(r))
}

// inRange reports whether ver is in m's release range (always, when m has none).
func (m *Matcher) inRange(ver *Version) bool {
	if (m.min != nil || m.max != nil) && ver == nil {
		return false
	}
	return !(m.min != nil && ver.Compare(*m.min) < 0 || m.max != nil && ver.Compare(*m.max) > 0)
}

// holds reports whether r passes m's tests on a response (status, contains, regex).
func (m *Matcher) holds(r response) bool {
	if r.Err != nil || r.Status == 0 {
		return false
	}
	if len(m.Status) > 0 && !slices.Contains(m.Status, r.Status) {
		return false
	}
	if m.Contains != "" && !bytes.Contains(r.Body, []byte(m.Contains)) {
		return false
	}
	if m.re != nil && !m.re.Match(r.Body) {
		return false
	}
	return true
}

func (e *Extractor) extract(r response) (Claim, bool) {
	if r.Err != nil || r.Status == 0 || len(e.Status) > 0 && !slices.Contains(e.Status, r.Status) {
		return Claim{}, false
	}
	c := Claim{Source: e.ID}
	if e.re != nil {
		m := e.re.FindSubmatch(r.Body)
		if m == nil {
			return Claim{}, false
		}
		c.Version = string(m[e.re.SubexpIndex("version")])
		if i := e.re.SubexpIndex("channel"); i >= 0 {
			c.Channel = string(m[i])
		}
		if i := e.re.SubexpIndex("commit"); i >= 0 {
			c.Commit = string(m[i])
		}
	} else {
		var obj map[string]json.RawMessage
		if json.Unmarshal(r.Body, &obj) != nil {
			return Claim{}, false
		}
		var s string
		if json.Unmarshal(obj[e.JSON], &s) != nil {
			return Claim{}, false
		}
		c.Version = s
	}
	// Whether the claim is a release number is the caller's to judge (isRelease): a claim
	// that is not one is evidence too.
	return c, c.Version != ""
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.{0,400}?)</title>`)

func extractTitle(body []byte) string {
	m := titleRE.FindSubmatch(body)
	if m == nil {
		return ""
	}
	return textsafe.Clean(string(m[1]), 120)
}
