package clawcensus_test

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/clawcensus/clawcensus/"

// deps lists the packages pattern imports, itself included.
func deps(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pattern).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	return strings.Fields(string(out))
}

func imports(deps []string, pkg string) bool {
	for _, d := range deps {
		if d == pkg || strings.HasPrefix(d, pkg+"/") {
			return true
		}
	}
	return false
}

// TestStagesDoNotImportEachOther keeps the pipeline's stages independent: scanner,
// fingerprint, enrich and store exchange plain values, census wires them, only cmd imports
// census, and only store imports migrations.
func TestStagesDoNotImportEachOther(t *testing.T) {
	stages := []string{"scanner", "fingerprint", "enrich", "store"}
	for _, pkg := range append(stages, "census") {
		ds := deps(t, "./"+pkg+"/...")
		for _, other := range append(stages, "census") {
			if other == pkg || (pkg == "census" && other != "census") {
				continue
			}
			if imports(ds, mod+other) {
				t.Errorf("%s imports %s", pkg, other)
			}
		}
	}
	// report reads what the stages produced (store's values, fingerprint's rules) and writes
	// documents; no stage and not census may depend on it, and it never imports census.
	for _, pkg := range append(stages, "census") {
		if imports(deps(t, "./"+pkg+"/..."), mod+"report") {
			t.Errorf("%s imports report", pkg)
		}
	}
	for _, banned := range []string{"census", "scanner", "enrich"} {
		if imports(deps(t, "./report/..."), mod+banned) {
			t.Errorf("report imports %s", banned)
		}
	}
	for _, pkg := range []string{"scanner", "fingerprint", "enrich", "census", "report", "cmd/clawcensus", "cmd/clawlab"} {
		if imports(directImports(t, pkg), mod+"migrations") {
			t.Errorf("%s imports migrations; only store may", pkg)
		}
	}
}

func directImports(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "./"+pkg+"/...").Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestDependenciesStayBehindTheirAdapters keeps River under census, chromedp in tests, and
// naabu and httpx out (they were replaced: naabu's init opened raw sockets in any root
// process that linked it; httpx's dialer deleted folders in $TMPDIR).
func TestDependenciesStayBehindTheirAdapters(t *testing.T) {
	for _, gone := range []string{"github.com/projectdiscovery/naabu", "github.com/projectdiscovery/httpx", "github.com/chromedp/chromedp"} {
		if imports(deps(t, "./..."), gone) {
			t.Errorf("a package links %s", gone)
		}
	}
	for dep, home := range map[string][]string{
		"github.com/riverqueue/river": {"census"},
		mod + "census":                {"census", "cmd/clawcensus"},
	} {
		for _, pkg := range []string{"scanner", "fingerprint", "enrich", "store", "census", "report", "migrations", "cmd/clawcensus", "cmd/clawlab"} {
			direct := directImports(t, pkg)
			allowed := false
			for _, h := range home {
				allowed = allowed || h == pkg
			}
			if !allowed && imports(direct, dep) {
				t.Errorf("%s imports %s directly; only %v may", pkg, dep, home)
			}
		}
	}
}
