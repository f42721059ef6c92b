package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// changesLab serves gateways on port of 127.0.21.1 to .12, and an nginx page on .20: each
// host's responses can be switched between runs (serve), and a host started (start).
type changesLab struct {
	t        *testing.T
	port     int
	handlers map[string]http.Handler // fixture name → its replay
	hosts    map[int]*atomic.Value   // last octet → the handler it serves now
}

func newChangesLab(t *testing.T) *changesLab {
	ln, err := net.Listen("tcp", "127.0.21.20:0") // a free port for every host of the lab
	if err != nil {
		t.Fatal(err)
	}
	l := &changesLab{t: t, port: ln.Addr().(*net.TCPAddr).Port, handlers: map[string]http.Handler{}, hosts: map[int]*atomic.Value{}}
	for _, name := range []string{"gateways/openclaw-2026.9.6-none", "gateways/openclaw-2026.9.6-token", "negatives/nginx-default"} {
		l.handlers[name] = fixtureHandler(t, "../../fingerprint/testdata/"+name+".txtar")
	}
	l.listen(20, ln, "negatives/nginx-default")
	return l
}

func (l *changesLab) listen(host int, ln net.Listener, fixture string) {
	v := &atomic.Value{}
	v.Store(l.handlers[fixture])
	l.hosts[host] = v
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.Load().(http.Handler).ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	l.t.Cleanup(func() { srv.Close() })
}

// start listens on 127.0.21.host with fixture.
func (l *changesLab) start(host int, fixture string) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.21.%d:%d", host, l.port))
	if err != nil {
		l.t.Fatal(err)
	}
	l.listen(host, ln, fixture)
}

// serve switches 127.0.21.host to fixture.
func (l *changesLab) serve(host int, fixture string) { l.hosts[host].Store(l.handlers[fixture]) }

func (l *changesLab) scan(db string, targets ...string) {
	l.t.Helper()
	args := append([]string{"scan", "--lab", "--scan-type", "connect", "--rate", "500", "--seed", "7", "--series", "lab",
		"--ports", fmt.Sprint(l.port), "--db", db, "--format", "csv"}, targets...)
	if res := runCLI(l.t, "", args...); res.code != 0 {
		l.t.Fatalf("scan: exit %d\n%s", res.code, res.stderr)
	}
}

// csvColumn reads a CSV file and lists, per row, the named columns joined by spaces.
func csvColumns(t *testing.T, path string, names ...string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	for _, r := range recs[1:] {
		var cells []string
		for _, n := range names {
			i := slices.Index(recs[0], n)
			if i < 0 {
				t.Fatalf("%s has no column %s: %v", path, n, recs[0])
			}
			cells = append(cells, r[i])
		}
		out = append(out, strings.Join(cells, " "))
	}
	slices.Sort(out)
	return out
}

// TestChangesSinceAcceptance is issue 16's acceptance for what changed: ten open gateways in
// two networks; before the second run three of them turn on auth and two new ones appear.
// --changes-since gives 3 fixed, 2 new and the other 7 still exposed, per recipient of a pack
// (--by cidrs); report --changes says the same. --mark-sent records what was told, and
// --resend-after leaves it out the next time; a re-check of fewer targets calls nothing
// outside them fixed; runs of two series, or in the wrong order, are usage errors.
func TestChangesSinceAcceptance(t *testing.T) {
	lab := newChangesLab(t)
	for host := 1; host <= 10; host++ {
		lab.start(host, "gateways/openclaw-2026.9.6-none")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "census.db")
	recipients := filepath.Join(dir, "recipients.csv")
	if err := os.WriteFile(recipients, []byte("prefix,recipient\n127.0.21.0/29,net-a\n127.0.21.8/29,net-b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lab.scan(db, "127.0.21.0/27")
	for host := 1; host <= 3; host++ {
		lab.serve(host, "gateways/openclaw-2026.9.6-token")
	}
	lab.start(11, "gateways/openclaw-2026.9.6-none")
	lab.start(12, "gateways/openclaw-2026.9.6-none")
	lab.scan(db, "127.0.21.0/27")

	res := runCLI(t, "", "report", "--db", db, "--changes", "1..2", "--format", "json")
	var rep struct {
		Counts  map[string]int
		Changes []struct{ IP, Change, Why string }
	}
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &rep) != nil {
		t.Fatalf("report --changes: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if diff := cmp.Diff(map[string]int{"new": 2, "fixed": 3, "still-exposed": 7, "regressed": 0, "unchecked": 0}, rep.Counts); diff != "" {
		t.Errorf("report --changes 1..2 counts (-want +got):\n%s", diff)
	}
	for _, c := range rep.Changes {
		if c.Change == "fixed" && c.Why != "authenticated" {
			t.Errorf("fixed %s: why %q, want authenticated", c.IP, c.Why)
		}
	}

	pack := filepath.Join(dir, "pack")
	res = runCLI(t, "", "export", "--db", db, "--changes-since", "1", "--by", "cidrs", "--recipients", recipients, "-o", pack, "--mark-sent")
	if res.code != 0 {
		t.Fatalf("export --changes-since: exit %d\n%s", res.code, res.stderr)
	}
	for _, line := range []string{"changes since run 1: 2 new, 0 regressed, 7 still-exposed, 3 fixed, 0 unchecked",
		"marked 12 findings of run 2 as sent to 2 recipients"} {
		if !strings.Contains(res.stderr, line) {
			t.Errorf("export stderr lacks %q:\n%s", line, res.stderr)
		}
	}
	files, _ := filepath.Glob(filepath.Join(pack, "*-net-*.csv"))
	got := map[string][]string{}
	for _, f := range files {
		name := filepath.Base(f)[len("2006-01-02-scan_openclaw-"):]
		if strings.HasSuffix(name, "-fixed.csv") {
			got[name] = csvColumns(t, f, "ip", "change", "why")
		} else {
			got[name] = csvColumns(t, f, "ip", "change")
		}
	}
	want := map[string][]string{
		"net-a.csv":       {"127.0.21.4 still-exposed", "127.0.21.5 still-exposed", "127.0.21.6 still-exposed", "127.0.21.7 still-exposed"},
		"net-a-fixed.csv": {"127.0.21.1 fixed authenticated", "127.0.21.2 fixed authenticated", "127.0.21.3 fixed authenticated"},
		"net-b.csv": {"127.0.21.10 still-exposed", "127.0.21.11 new", "127.0.21.12 new", "127.0.21.8 still-exposed",
			"127.0.21.9 still-exposed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pack of changes per recipient (-want +got):\n%s", diff)
	}

	// The same per abuse contact (export --by contact): the CERT's own table gives each network
	// a mailbox; each contact's file holds its new and still-exposed gateways, its fixed list
	// the ones it fixed.
	table := filepath.Join(dir, "our-contacts.csv")
	if err := os.WriteFile(table, []byte("network_or_asn,contact,name\n127.0.21.0/29,abuse@net-a.lab.example,Net A\n"+
		"127.0.21.8/29,abuse@net-b.lab.example,Net B\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := runCLI(t, "", "contacts", "import", "--db", db, table); res.code != 0 {
		t.Fatalf("contacts import: exit %d\n%s", res.code, res.stderr)
	}
	byContact := filepath.Join(dir, "by-contact")
	if res := runCLI(t, "", "export", "--db", db, "--changes-since", "1", "--by", "contact", "-o", byContact); res.code != 0 {
		t.Fatalf("export --changes-since --by contact: exit %d\n%s", res.code, res.stderr)
	}
	got = map[string][]string{}
	for _, row := range csvColumns(t, filepath.Join(byContact, "index.csv"), "contact", "file", "fixed_file") {
		f := strings.Fields(row) // contact, file, and the fixed list when there is one
		got[f[0]] = csvColumns(t, filepath.Join(byContact, f[1]), "ip", "change")
		if len(f) == 3 {
			got[f[0]+" fixed"] = csvColumns(t, filepath.Join(byContact, f[2]), "ip", "change")
		}
	}
	want = map[string][]string{
		"abuse@net-a.lab.example":       want["net-a.csv"],
		"abuse@net-a.lab.example fixed": {"127.0.21.1 fixed", "127.0.21.2 fixed", "127.0.21.3 fixed"},
		"abuse@net-b.lab.example":       want["net-b.csv"],
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes per contact (-want +got):\n%s", diff)
	}

	// Told already, unchanged: left out within the age; a single file is another recipient.
	res = runCLI(t, "", "export", "--db", db, "--changes-since", "1", "--by", "cidrs", "--recipients", recipients,
		"-o", filepath.Join(dir, "again"), "--resend-after", "7d")
	if res.code != 0 || !strings.Contains(res.stderr, "left out 12 findings") || !strings.Contains(res.stderr, "exported run 2: 0 gateways") {
		t.Errorf("export --resend-after 7d: exit %d\n%s", res.code, res.stderr)
	}
	res = runCLI(t, "", "export", "--db", db, "--changes-since", "1", "--format", "intelmq", "--resend-after", "7d")
	changes := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("intelmq line %q: %v", line, err)
		}
		changes[fmt.Sprint(ev["extra.change"])]++
	}
	if diff := cmp.Diff(map[string]int{"new": 2, "fixed": 3, "still-exposed": 7}, changes); res.code != 0 || diff != "" {
		t.Errorf("export --changes-since --format intelmq to a file recipient: exit %d (-want +got):\n%s\n%s", res.code, diff, res.stderr)
	}

	// A re-check of fewer targets in the series: what lies outside them is unchecked, not fixed.
	lab.scan(db, "127.0.21.0/29")
	res = runCLI(t, "", "report", "--db", db, "--changes", "2..3", "--format", "json")
	rep.Counts = nil
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &rep) != nil {
		t.Fatalf("report --changes 2..3: exit %d\n%s", res.code, res.stderr)
	}
	if diff := cmp.Diff(map[string]int{"new": 0, "fixed": 0, "still-exposed": 4, "regressed": 0, "unchecked": 5}, rep.Counts); diff != "" {
		t.Errorf("report --changes 2..3 after a re-check of 127.0.21.0/29 (-want +got):\n%s", diff)
	}

	other := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--rate", "500", "--ports", fmt.Sprint(lab.port), "--db", db, "127.0.21.1")
	if other.code != 0 {
		t.Fatalf("scan of another series: exit %d\n%s", other.code, other.stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--changes", "2..1"}, "run 2 is not before run 1"},
		{[]string{"report", "--changes", "3..4"}, "run 3 is of series lab, run 4 of series"},
		{[]string{"report", "--changes", "1..2", "--format", "csv"}, "--format text or json"},
		{[]string{"report", "--changes", "1-2"}, "want A..B"},
		{[]string{"export", "--run", "2", "--changes-since", "2"}, "run 2 is compared with itself"},
		{[]string{"export", "--run", "4", "--changes-since", "1"}, "run 1 is of series lab, run 4 of series"},
		{[]string{"export", "--changes-since", "1"}, "pass --run 4 to export it as it stands"},
		{[]string{"export", "--run", "2", "--changes-since", "9"}, "run 9: no such run"},
		{[]string{"export", "--run", "2", "--resend-after", "a week"}, "--resend-after \"a week\""},
	} {
		res := runCLI(t, "", append(c.args, "--db", db)...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", c.args, res.code, c.want, res.stderr)
		}
	}
}
