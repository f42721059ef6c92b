package fingerprint

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/observation"
)

func TestDefaultProbesArePassiveGETs(t *testing.T) {
	fp, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	for _, p := range fp.Probes() {
		if p.Method != http.MethodGet || p.Body != "" {
			t.Errorf("default probe %s is %s %s with body %q: only GETs may go out by default", p.ID, p.Method, p.Path, p.Body)
		}
	}
	active, err := New(Config{OptIn: []string{"invoke"}})
	if err != nil {
		t.Fatal(err)
	}
	defer active.Close()
	if !slices.ContainsFunc(active.Probes(), func(p ProbeSpec) bool { return p.Method == http.MethodPost }) {
		t.Error("opting in to invoke adds no POST probe")
	}
	if !strings.HasPrefix(fp.UserAgent(), "clawcensus/") {
		t.Errorf("User-Agent %q", fp.UserAgent())
	}
}

func TestVersionOrder(t *testing.T) {
	ordered := []string{"2026.1.24", "2026.1.24-3", "2026.2.2", "2026.2.2-3", "2026.2.23-beta.1", "2026.2.23",
		"2026.5.16-beta.1", "2026.5.16-beta.7", "2026.7.1-beta.6", "2026.7.1", "2026.7.1-1", "2026.7.1-2", "2026.7.33", "2026.9.6"}
	for i := range ordered {
		for j := range ordered {
			got := CompareVersions(ordered[i], ordered[j])
			want := sign(i - j)
			if got != want {
				t.Errorf("compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
		v, err := ParseVersion(ordered[i])
		if err != nil || v.String() != ordered[i] {
			t.Errorf("%s round-trips as %s (%v)", ordered[i], v, err)
		}
	}
	for _, bad := range []string{"", "2026.1", "2026.1.x", "2026.1.2-beta", "2026.1.2-0", "v2026.1.2", "2026.1.2-beta.1-3", "99999.1.1"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
}

func TestAdvisoryRanges(t *testing.T) {
	rules, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pkg, version string
		has, hasNot  []string
	}{
		{"clawdbot", "2026.1.24-3", []string{"CVE-2026-25253", "CVE-2026-26317", "CVE-2026-28458"}, []string{"CVE-2026-25593", "OPENCLAW-2026-70247"}},
		{"clawdbot", "2026.1.19", []string{"CVE-2026-25593"}, []string{"CVE-2026-28458"}}, // the relay came in 2026.1.20
		{"openclaw", "2026.1.29", []string{"CVE-2026-28472", "CVE-2026-28458"}, []string{"CVE-2026-25253"}},
		{"openclaw", "2026.2.1", []string{"CVE-2026-26317"}, []string{"CVE-2026-28458"}},
		{"openclaw", "2026.2.15", []string{"OPENCLAW-2026-70247"}, []string{"CVE-2026-26317"}},
		{"openclaw", "2026.2.14", nil, []string{"OPENCLAW-2026-70247"}},
		{"openclaw", "2026.4.21", []string{"OPENCLAW-2026-70247"}, []string{"CVE-2026-43585", "CVE-2026-45001"}},
		{"openclaw", "2026.4.22", []string{"CVE-2026-62207"}, []string{"OPENCLAW-2026-70247"}},
		{"openclaw", "2026.6.5-beta.1", []string{"CVE-2026-62207"}, nil},
		{"openclaw", "2026.6.5", nil, []string{"CVE-2026-62207"}},
	}
	for _, tt := range tests {
		got := rules.AdvisoriesFor(tt.pkg, tt.version)
		for _, id := range tt.has {
			if !slices.Contains(got, id) {
				t.Errorf("%s@%s: %s missing from %v", tt.pkg, tt.version, id, got)
			}
		}
		for _, id := range tt.hasNot {
			if slices.Contains(got, id) {
				t.Errorf("%s@%s: %s should not apply", tt.pkg, tt.version, id)
			}
		}
	}
}

// TestAdvisoriesObservable holds every shipped advisory to the fields a count relies on: an
// observable place from the four, a severity, and a public source (a home-made id also says why).
func TestAdvisoriesObservable(t *testing.T) {
	rules, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rules.Advisories {
		t.Run(a.ID, func(t *testing.T) {
			if !slices.Contains([]string{ObservableGateway, ObservablePlugin, ObservableLocal, ObservableDesktopApp}, a.Observable) {
				t.Errorf("observable %q", a.Observable)
			}
			if a.Severity == "" {
				t.Error("no severity")
			}
			if !strings.HasPrefix(a.ID, "CVE-") && !strings.HasPrefix(a.ID, "GHSA-") && !strings.HasPrefix(a.ID, "OPENCLAW-") {
				t.Errorf("id %q is of no known kind", a.ID)
			}
		})
	}
	// The observable subset: a local-only advisory is implied by the version but not counted as reachable.
	all := rules.AdvisoriesFor("openclaw", "2026.1.29")
	gw := slices.DeleteFunc(slices.Clone(all), func(id string) bool { return !rules.GatewayObservable(id) })
	if !slices.Contains(all, "CVE-2026-28458") || slices.Contains(gw, "CVE-2026-28458") || !slices.Contains(gw, "CVE-2026-28472") {
		t.Errorf("all %v, observable %v", all, gw)
	}
}

func TestAdvisoryObservableRequired(t *testing.T) {
	rules := minimalRules
	adv := `{"id":"A","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]%s}`
	for name, tail := range map[string]string{
		"missing":    ``,
		"empty":      `,"database_specific":{"observable":""}`,
		"unknown":    `,"database_specific":{"observable":"internet"}`,
		"wrong case": `,"database_specific":{"observable":"Gateway"}`,
	} {
		fs := fstest.MapFS{
			"rules/releases.json": {Data: []byte(`{"generated":"","note":"","releases":[]}`)},
			"rules/a.yaml":        {Data: []byte(rules)},
			"advisories/bad.json": {Data: []byte(fmt.Sprintf(adv, tail))},
		}
		_, err := loadRules(fs)
		if err == nil || !strings.Contains(err.Error(), "advisories/bad.json") || !strings.Contains(err.Error(), "observable") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

func TestReleaseTable(t *testing.T) {
	rules, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	usable, builds := 0, map[string]bool{}
	for _, r := range rules.Releases {
		if r.Broken == "" {
			usable++
			builds[strings.Join(r.Assets, ",")] = true
			// The commit may be absent: 2026.3.23-1 was published with "commit": null.
			if len(r.Assets) == 0 || r.BuiltAt == "" {
				t.Errorf("%s@%s lacks assets or a build date", r.Package, r.Version)
			}
		}
	}
	if usable < 130 || len(builds) < 100 {
		t.Errorf("release table: %d usable releases, %d UI builds; the generator output is missing", usable, len(builds))
	}
	// 2026.2.2 and its republish 2026.2.2-3 ship the same UI: the table says so.
	got, known := rules.ReleasesWithAssets("openclaw", []string{"index-BVBLXya3.css", "index-CYRpW51H.js"})
	var versions []string
	for _, r := range got {
		versions = append(versions, r.Version)
	}
	if !known || !cmp.Equal(versions, []string{"2026.2.2-3", "2026.2.2"}) && !cmp.Equal(versions, []string{"2026.2.2", "2026.2.2-3"}) {
		t.Errorf("shared UI build: %v %v", versions, known)
	}
}

func TestBadRulesFailFast(t *testing.T) {
	good := minimalRules
	base := fstest.MapFS{
		"rules/releases.json":  {Data: []byte(`{"generated":"","note":"","releases":[]}`)},
		"advisories/none.json": {Data: []byte(`{"id":"A","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}],"database_specific":{"observable":"gateway"}}`)},
		"rules/a.yaml":         {Data: []byte(good)},
	}
	if _, err := loadRules(base); err != nil {
		t.Fatalf("a good rule set failed: %v", err)
	}
	flagged := fstest.MapFS{"rules/a.yaml": {Data: []byte(good + "    flags:\n      - {id: some-flag, probe: root, contains: y}\n")}}
	flagged["rules/releases.json"], flagged["advisories/none.json"] = base["rules/releases.json"], base["advisories/none.json"]
	if _, err := loadRules(flagged); err != nil {
		t.Fatalf("a hyphenated flag failed: %v", err)
	}
	tests := map[string]string{
		"unknown field":         strings.Replace(good, "min_groups: 1", "min_groups: 1\n    colour: red", 1),
		"POST not opt-in":       strings.Replace(good, "method: GET", "method: POST", 1),
		"unknown probe":         strings.Replace(good, "probe: root, contains", "probe: nope, contains", 1),
		"bad regex":             strings.Replace(good, "contains: x", "regex: '('", 1),
		"too few groups":        strings.Replace(good, "min_groups: 1", "min_groups: 2", 1),
		"bad version bound":     strings.Replace(good, "contains: x", "contains: x, min_version: 2026.x", 1),
		"flag with underscores": good + "    flags:\n      - {id: some_flag, probe: root, contains: y}\n",
	}
	for name, yaml := range tests {
		fs := fstest.MapFS{}
		for k, v := range base {
			fs[k] = v
		}
		fs["rules/a.yaml"] = &fstest.MapFile{Data: []byte(yaml)}
		_, err := loadRules(fs)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "rules/a.yaml") && !strings.Contains(err.Error(), "product x") && !strings.Contains(err.Error(), "probe") {
			t.Errorf("%s: error %q does not say where", name, err)
		}
	}
}

func TestCommitSourcesMustAgree(t *testing.T) {
	fp, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	root := `<html data-openclaw-control-ui-build-id="2026.9.6-release-eb377ac59e6c-2026-09-23T16-33-12.144Z"><title>OpenClaw Control</title><openclaw-app></openclaw-app>`
	sw := `const EMBEDDED_CACHE_VERSION = "2026.9.6-release-aaaaaaaaaaaa-2026-09-23T16-33-12.144Z";`
	var res observation.Observation
	fp.identify(&res, map[string]response{"root": {Status: 200, Body: []byte(root)}, "sw": {Status: 200, Body: []byte(sw)}})
	if !res.Detected() || res.Version != "2026.9.6" || res.Official == nil || *res.Official {
		t.Errorf("detected %v version %q official %v", res.Detected(), res.Version, ptrBool(res.Official))
	}
	if !slices.ContainsFunc(res.Evidence, func(e string) bool { return strings.Contains(e, "commit sources disagree") }) {
		t.Errorf("evidence %v", res.Evidence)
	}
}

func ptrBool(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func TestLatestRelease(t *testing.T) {
	r, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	latest := r.Latest("openclaw")
	v, err := ParseVersion(latest)
	if err != nil || v.Beta != 0 {
		t.Fatalf("Latest = %q (%v), want a stable release", latest, err)
	}
	for _, rel := range r.Releases {
		if rel.Package == "openclaw" && rel.Broken == "" && !strings.Contains(rel.Version, "beta") && CompareVersions(rel.Version, latest) > 0 {
			t.Errorf("%s is newer than Latest %s", rel.Version, latest)
		}
	}
	if r.Latest("no-such-package") != "" {
		t.Error("a package without releases has a latest one")
	}
}

// minimalRules is the smallest rule file that compiles: one probe, one product, one marker.
const minimalRules = `probes:
  - {id: root, method: GET, path: /}
products:
  - id: x
    npm: x
    min_groups: 1
    markers:
      - {id: t, group: title, probe: root, contains: x}
`
