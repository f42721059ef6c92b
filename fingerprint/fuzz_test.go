package fingerprint

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
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

// fixtureResponses reads a recorded host into the responses identify takes (probe ID →
// response), the sections named as the probes are.
func fixtureResponses(f *testing.F, fp *Fingerprinter, name string) map[string]response {
	data, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	sections := map[string][]byte{}
	for _, file := range txtar.Parse(data).Files {
		sections[file.Name] = file.Data
	}
	responses := map[string]response{}
	for _, p := range fp.probes {
		raw, ok := sections[p.Method+" "+p.Path]
		if !ok {
			continue
		}
		head, body, _ := strings.Cut(string(raw), "\n\n")
		status, err := strconv.Atoi(strings.Fields(head + " x x")[1])
		if err != nil {
			f.Fatalf("%s %s: %v", name, p.Path, err)
		}
		h := http.Header{}
		for _, line := range strings.Split(head, "\n")[1:] {
			if k, v, ok := strings.Cut(line, ": "); ok {
				h.Add(k, v)
			}
		}
		responses[p.ID] = response{Status: status, Header: h, Body: []byte(body)}
	}
	return responses
}

// releaseGrammar is a release number as OpenClaw writes them: YYYY.M.D[-N][-beta.N].
var releaseGrammar = regexp.MustCompile(`^(\d{4})\.([1-9]\d?)\.([1-9]\d?)(-[1-9]\d{0,5})?(-beta\.[1-9]\d{0,5})?$`)

// FuzzVersionClaims replays a real 2026.9.6 gateway with an arbitrary claim in each version
// source (the build-id attribute, the service worker's cache version, the config JSON's
// serverVersion), seen on an arbitrary day, then reanalyses what it stored. Whatever the claims,
// a version (exact or candidate) is one the release table knows or a release-grammar number on
// a real date no later than a day after the observation (checked here without the code under
// test); advisories come only from such versions; an official build is one the table knows.
// This is what counts, exports and the web view read.
func FuzzVersionClaims(f *testing.F) {
	fp, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	defer fp.Close()
	recorded := fixtureResponses(f, fp, "testdata/gateways/openclaw-2026.9.6-none.txtar")
	// The page's lines that carry what this target is about (the build id, the asset names, the
	// title): the asset pattern over the whole 18 kB page costs ten times the rest of a run.
	root := recorded["root"]
	var lines []string
	for _, line := range strings.Split(string(root.Body), "\n") {
		if strings.Contains(line, "data-openclaw-") || strings.Contains(line, "assets/") || strings.Contains(line, "<title") {
			lines = append(lines, line)
		}
	}
	root.Body = []byte(strings.Join(lines, "\n"))
	recorded["root"] = root
	const build, sw, config = `data-openclaw-control-ui-build-id="2026.9.6-release-eb377ac59e6c`, `EMBEDDED_CACHE_VERSION = "2026.9.6-release-eb377ac59e6c`, `"serverVersion":"2026.9.6"`
	seen := time.Date(2026, 11, 26, 6, 8, 26, 0, time.UTC)
	for _, c := range [][3]string{
		{"2026.9.6-release-eb377ac59e6c", "2026.9.6-release-eb377ac59e6c", "2026.9.6"},
		{"2026.2.31-release-eb377ac59e6c", "2026.2.31-release-eb377ac59e6c", "2026.2.31"},
		{"2099.12.9-release-eb377ac59e6c", "2026.9.6-release-eb377ac59e6c", "2099.12.99"},
		{"2026.11.27-release-eb377ac", "2026.11.28-beta.1-eb377ac59e6c", "2026.11.27-1"},
		{"2026.7.33-release-eb377ac", "2026.1.29-release-eb377ac59e6c", "2026.9.6\x1b[31m"},
		{"2025.1.1-nightly-0000000", "2026.9.6-eb377ac59e6c", "2026.02.03"},
	} {
		f.Add(c[0], c[1], c[2], int16(0))
		f.Add(c[0], c[1], c[2], int16(-400))
	}
	f.Fuzz(func(t *testing.T, buildClaim, swClaim, configClaim string, days int16) {
		responses := maps.Clone(recorded)
		replace := func(id, old, new string) {
			r := responses[id]
			body := strings.Replace(string(r.Body), old, new, -1)
			if body == string(r.Body) && old != new {
				t.Fatalf("the fixture's %s response has no %s", id, old)
			}
			r.Body = []byte(body)
			responses[id] = r
		}
		value, _ := json.Marshal(configClaim)
		replace("root", build, `data-openclaw-control-ui-build-id="`+buildClaim)
		replace("sw", sw, `EMBEDDED_CACHE_VERSION = "`+swClaim)
		replace("config", config, `"serverVersion":`+string(value))
		at := seen.AddDate(0, 0, int(days))
		res := observation.Observation{ObservedAt: at}
		res.Title = extractTitle(responses["root"].Body)
		fp.identify(&res, responses)
		if !res.Detected() { // the claims are no markers: else the rule below would hold vacuously
			t.Fatalf("a gateway with claims %q, %q, %q is not detected: %v", buildClaim, swClaim, configClaim, res.Evidence)
		}
		again, err := fp.Reanalyze(res)
		if err != nil {
			t.Fatalf("reanalyze: %v", err)
		}
		for _, o := range []observation.Observation{res, again} {
			checkVersions(t, fp, o, at)
		}
	})
}

// checkVersions holds FuzzVersionClaims's rule on one observation seen at at.
func checkVersions(t *testing.T, fp *Fingerprinter, o observation.Observation, at time.Time) {
	t.Helper()
	if !o.Detected() {
		return
	}
	var pkg string
	for _, p := range fp.rules.Products {
		if p.ID == o.Product {
			pkg = p.NPM
		}
	}
	known := func(s string) bool {
		for _, rel := range fp.rules.Releases {
			if rel.Package == pkg && rel.Version == s && rel.Broken == "" {
				return true
			}
		}
		return false
	}
	dated := func(s string) bool {
		m := releaseGrammar.FindStringSubmatch(s)
		if m == nil {
			return false
		}
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		if d > 31 && d <= 99 { // a backport to that month's line: its month may not be after the observation
			month := time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, time.UTC)
			return y >= 2025 && mo >= 1 && mo <= 12 && !month.After(at.Add(24*time.Hour))
		}
		day := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
		return y >= 2025 && day.Year() == y && int(day.Month()) == mo && day.Day() == d && !day.After(at.Add(24*time.Hour))
	}
	versions := o.VersionCandidates
	if o.Version != "" {
		versions = append([]string{o.Version}, versions...)
	}
	for _, v := range versions {
		if !known(v) && !dated(v) {
			t.Errorf("version %q (of %q, %q) is neither a known release nor a dated one on %s\n%s",
				v, o.Version, o.VersionCandidates, at.Format(time.DateOnly), strings.Join(o.Evidence, "\n"))
		}
	}
	if len(versions) == 0 && len(o.Advisories) > 0 {
		t.Errorf("advisories %v without a version\n%s", o.Advisories, strings.Join(o.Evidence, "\n"))
	}
	if o.Official != nil && *o.Official {
		if o.Version == "" || !known(o.Version) {
			t.Errorf("official with version %q, candidates %q: not a release the table knows", o.Version, o.VersionCandidates)
		}
		for _, e := range o.Evidence {
			// An accepted claim reads "version SOURCE: V"; an ignored one says so after it.
			if rest, ok := strings.CutPrefix(e, "version "); ok {
				if _, v, ok := strings.Cut(rest, ": "); ok && !strings.Contains(v, " ") && !known(v) {
					t.Errorf("official although claim %q is unknown to the table\n%s", v, strings.Join(o.Evidence, "\n"))
				}
			}
		}
	}
}
