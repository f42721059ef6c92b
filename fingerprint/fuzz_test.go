package fingerprint

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/tools/txtar"

	"github.com/clawcensus/clawcensus/observation"
)

// seedBodies adds the recorded bodies of every fixture to a fuzz corpus.
func seedBodies(f *testing.F, sections ...string) {
	files, _ := filepath.Glob("testdata/*/*.txtar")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range txtar.Parse(data).Files {
			for _, s := range sections {
				if file.Name == s {
					_, body, _ := strings.Cut(string(file.Data), "\n\n")
					f.Add([]byte(body))
				}
			}
		}
	}
}

// FuzzIdentify feeds hostile bodies to every extractor at once: the title, markers, build id,
// service-worker version, config JSON, asset names. Nothing may panic, and what reaches a
// terminal carries no control characters.
func FuzzIdentify(f *testing.F) {
	seedBodies(f, "GET /", "GET /sw.js", "GET /__openclaw/control-ui-config.json")
	fp, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	defer fp.Close()
	f.Fuzz(func(t *testing.T, body []byte) {
		h := http.Header{"Server": {string(body[:min(len(body), 40)])}}
		responses := map[string]response{}
		for _, p := range fp.probes {
			responses[p.ID] = response{Status: 200, Header: h, Body: body}
		}
		var res observation.Observation
		res.Title = extractTitle(body)
		fp.identify(&res, responses)
		for _, s := range append([]string{res.Title, res.Version}, res.VersionCandidates...) {
			if strings.IndexFunc(s, unicode.IsControl) >= 0 {
				t.Errorf("control character in %q", s)
			}
		}
		if res.Version != "" {
			if _, err := ParseVersion(res.Version); err != nil {
				t.Errorf("reported version %q does not parse: %v", res.Version, err)
			}
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"2026.1.24-3", "2026.5.16-beta.4", "2026.9.6", "0.0.1", "2026.7.1-1-beta.2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		w, err := ParseVersion(v.String())
		if err != nil || w.Compare(v) != 0 {
			t.Errorf("%q → %s does not round-trip: %v", s, v, err)
		}
	})
}
