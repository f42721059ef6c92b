package clawcensus_test

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

const mod = "github.com/clawcensus/clawcensus/"

// Every rule below names packages, and a rule about a package that was renamed, moved or
// removed would hold without checking anything. So each pattern a rule lists must match a
// package and each package a rule bans or allows must resolve with go list, or the test fails
// (tailscale's deptest checks its lists the same way). The modules that were replaced (naabu,
// httpx) are the exception: they are out of go.mod, so nothing names them to resolve.

var listed = struct {
	sync.Mutex
	m map[string][]string
}{m: map[string][]string{}}

// goList runs go list with args, once per distinct args, and returns its output's fields.
func goList(args ...string) ([]string, error) {
	key := strings.Join(args, "\x00")
	listed.Lock()
	defer listed.Unlock()
	if out, ok := listed.m[key]; ok {
		return out, nil
	}
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	out := strings.Fields(string(b))
	if len(out) == 0 { // a pattern like ./gone/... only warns, and lists nothing
		return nil, fmt.Errorf("go list %s: no package: %s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
	}
	listed.m[key] = out
	return out, nil
}

// resolves says why path (an import path or a ./folder/... pattern) names no package, if it
// names none.
func resolves(path string) error {
	_, err := goList(path)
	return err
}

// deps lists the packages pattern imports, itself included; pattern must match a package.
func deps(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := goList("-deps", pattern)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// directImports lists what the packages of pattern import themselves (tests aside); pattern
// must match a package.
func directImports(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := goList("-f", `{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}`, "./"+pkg+"/...")
	if err != nil {
		t.Fatal(err)
	}
	var imported []string
	for _, f := range out {
		if !strings.HasSuffix(f, ":") { // the importer's own path, there so no package lists nothing
			imported = append(imported, f)
		}
	}
	return imported
}

// imports reports whether deps hold pkg or a package below it; pkg must resolve.
func imports(t *testing.T, deps []string, pkg string) bool {
	t.Helper()
	if err := resolves(pkg); err != nil {
		t.Fatalf("a rule names %s, which is no package: %v", pkg, err)
	}
	return linked(deps, pkg)
}

func linked(deps []string, pkg string) bool {
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
			if imports(t, ds, mod+other) {
				t.Errorf("%s imports %s", pkg, other)
			}
		}
	}
	// report reads what the stages produced (store's values, fingerprint's rules) and writes
	// documents; no stage and not census may depend on it, and it never imports census, nor
	// the web view built on it.
	for _, pkg := range append(stages, "census") {
		if imports(t, deps(t, "./"+pkg+"/..."), mod+"report") {
			t.Errorf("%s imports report", pkg)
		}
	}
	for _, banned := range []string{"census", "scanner", "enrich", "web"} {
		if imports(t, deps(t, "./report/..."), mod+banned) {
			t.Errorf("report imports %s", banned)
		}
	}
	// contacts is a stage beside enrich: it maps an address or an AS to who to tell, from files
	// the operator supplies. No stage imports it, and it imports no stage, nor what is built
	// on them.
	for _, pkg := range stages {
		if imports(t, deps(t, "./"+pkg+"/..."), mod+"contacts") {
			t.Errorf("%s imports contacts", pkg)
		}
	}
	for _, banned := range append(stages, "census", "report", "web", "migrations", "observation") {
		if imports(t, deps(t, "./contacts/..."), mod+banned) {
			t.Errorf("contacts imports %s", banned)
		}
	}
	for _, pkg := range []string{"scanner", "fingerprint", "enrich", "contacts", "census", "report", "web", "privilege", "cmd/clawcensus", "cmd/clawlab"} {
		if imports(t, directImports(t, pkg), mod+"migrations") {
			t.Errorf("%s imports migrations; only store may", pkg)
		}
	}
}

// TestPrivilegeIsALeaf keeps package privilege free of the rest of the module: it decides
// whom root becomes from plain values, so whatever imports it pulls in nothing else.
func TestPrivilegeIsALeaf(t *testing.T) {
	all, err := goList("./...")
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{}
	for _, pkg := range all {
		ours[pkg] = pkg != mod+"privilege"
	}
	for _, d := range deps(t, "./privilege/...") {
		if ours[d] {
			t.Errorf("privilege imports %s; it may import no package of this module", d)
		}
	}
}

// TestOnlyCmdImportsWeb keeps the web view at the top, beside the CLI: no package but
// cmd/clawcensus imports web, in its code or its tests.
func TestOnlyCmdImportsWeb(t *testing.T) {
	if err := resolves(mod + "web"); err != nil {
		t.Fatal(err)
	}
	out, err := goList("-f", `{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}|`, "./...")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range strings.Split(strings.Join(out, " "), "|") {
		pkg, imported, _ := strings.Cut(strings.TrimSpace(row), ":")
		if pkg == "" || pkg == mod+"web" || pkg == mod+"cmd/clawcensus" {
			continue
		}
		if linked(strings.Fields(imported), mod+"web") {
			t.Errorf("%s imports web; only cmd/clawcensus may", pkg)
		}
	}
}

// TestRulesCannotNameWhatIsGone: the guard itself fails on a folder or an import path that
// holds no package, so a rule cannot go quiet when what it names goes.
func TestRulesCannotNameWhatIsGone(t *testing.T) {
	for _, gone := range []string{"./no-such-folder/...", mod + "no-such-package", "github.com/riverqueue/river/no-such-package"} {
		if err := resolves(gone); err == nil {
			t.Errorf("%s resolves", gone)
		}
	}
	for _, there := range []string{"./privilege/...", mod + "web", "github.com/riverqueue/river"} {
		if err := resolves(there); err != nil {
			t.Errorf("%s: %v", there, err)
		}
	}
}

// TestDependenciesStayBehindTheirAdapters keeps River under census, chromedp in tests, and
// naabu and httpx out (they were replaced: naabu's init opened raw sockets in any root
// process that linked it; httpx's dialer deleted folders in $TMPDIR).
func TestDependenciesStayBehindTheirAdapters(t *testing.T) {
	all := deps(t, "./...")
	for _, gone := range []string{"github.com/projectdiscovery/naabu", "github.com/projectdiscovery/httpx"} {
		if linked(all, gone) { // out of go.mod: nothing to resolve
			t.Errorf("a package links %s", gone)
		}
	}
	if imports(t, all, "github.com/chromedp/chromedp") {
		t.Errorf("a package links github.com/chromedp/chromedp")
	}
	for dep, home := range map[string][]string{
		"github.com/riverqueue/river": {"census"},
		mod + "census":                {"census", "cmd/clawcensus"},
	} {
		for _, pkg := range []string{"scanner", "fingerprint", "enrich", "store", "census", "report", "web", "privilege", "migrations", "cmd/clawcensus", "cmd/clawlab"} {
			direct := directImports(t, pkg)
			allowed := false
			for _, h := range home {
				allowed = allowed || h == pkg
			}
			if !allowed && imports(t, direct, dep) {
				t.Errorf("%s imports %s directly; only %v may", pkg, dep, home)
			}
		}
	}
}
