package report

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report/reporttest"
	"github.com/clawcensus/clawcensus/store"
)

func TestSeverity(t *testing.T) {
	sev := map[string]string{"CVE-2026-32922": "critical", "CVE-2026-45001": "high"}
	yes := true
	tests := []struct {
		name string
		o    observation.Observation
		want string
	}{
		{"open and vulnerable", observation.Observation{Auth: "none", Advisories: []string{"CVE-2026-45001"}}, "critical"},
		{"open, current", observation.Observation{Auth: "none"}, "high"},
		{"critical advisory behind auth", observation.Observation{Auth: "required", Advisories: []string{"CVE-2026-32922"}}, "high"},
		{"high advisory, auth unknown", observation.Observation{Auth: "unknown", Advisories: []string{"CVE-2026-45001"}}, "medium"},
		{"config leak", observation.Observation{Auth: "unknown", Flags: []string{"bootstrap-config-leak"}}, "medium"},
		{"current, auth on", observation.Observation{Auth: "required", Official: &yes}, "low"},
		{"nothing known", observation.Observation{Auth: "unknown"}, "info"},
	}
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	j := NewJudge(rules)
	j.severityOf = sev
	for _, tt := range tests {
		tt.o.Outcome, tt.o.Product = observation.OpenClaw, "openclaw"
		if got := j.Verdict(tt.o).Severity; got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func readCSVByHeader(t *testing.T, path string) []map[string]string {
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
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// TestPackPerRecipient writes a pack each way and reads every file back by its header.
func TestPackPerRecipient(t *testing.T) {
	run := store.Summary{Run: store.Run{ID: 7, StartedAt: time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC), Status: store.StatusComplete,
		Enrichment: "lab.mmdb"}}
	ex := &Exporter{built: map[string]string{}, judge: &Judge{severityOf: map[string]string{"CVE-2026-45001": "high"}}}
	recipients := filepath.Join(t.TempDir(), "recipients.csv")
	os.WriteFile(recipients, []byte("# networks\n127.0.0.0/16,cert-lab\n127.0.1.0/24,noc-two\n"), 0o644)
	cidrs, err := ReadCIDRRecipients(recipients)
	if err != nil {
		t.Fatal(err)
	}
	// Files by report type and recipient: IPv6 gateways go to scan6_openclaw files.
	for by, want := range map[string]map[string][]string{
		"asn": {"scan_openclaw-as64500": {"127.0.0.10", "127.0.0.11"}, "scan_openclaw-as64501": {"127.0.1.5"},
			"scan_openclaw-as-unknown": {"127.0.2.5"}, "scan6_openclaw-as64500": {"::1"}},
		"country": {"scan_openclaw-zz": {"127.0.0.10", "127.0.0.11"}, "scan_openclaw-yy": {"127.0.1.5"},
			"scan_openclaw-country-unknown": {"127.0.2.5"}, "scan6_openclaw-zz": {"::1"}},
		"cidrs": {"scan_openclaw-cert-lab": {"127.0.0.10", "127.0.0.11", "127.0.2.5"}, "scan_openclaw-noc-two": {"127.0.1.5"},
			"scan6_openclaw-unassigned": {"::1"}},
	} {
		dir := filepath.Join(t.TempDir(), by)
		p := &Pack{Dir: dir, By: by, CIDRs: cidrs, Run: run, ToolVersion: "test", Generated: run.StartedAt,
			Summary: func(w io.Writer) error { _, err := io.WriteString(w, "# summary\n"); return err }}
		recips, err := p.Write(reporttest.Observations(), ex)
		if err != nil {
			t.Fatalf("%s: %v", by, err)
		}
		if len(recips) != len(want) {
			t.Errorf("%s: %d recipients, want %d", by, len(recips), len(want))
		}
		for id, ips := range want {
			rows := readCSVByHeader(t, filepath.Join(dir, "2026-11-28-"+id+".csv"))
			var got []string
			for _, r := range rows {
				got = append(got, r["ip"])
				if r["port"] != "18789" || r["product"] != "openclaw" || r["version"] != "2026.3.8" || r["protocol"] != "tcp" {
					t.Errorf("%s/%s: row %v", by, id, r)
				}
				if r["ip"] == "127.0.0.10" && (r["severity"] != "critical" || r["asn"] != "64500" || r["geo"] != "ZZ" || r["as_name"] != "'=Lab One") {
					t.Errorf("%s/%s: the open, vulnerable gateway reads %v", by, id, r)
				}
			}
			if !slices.Equal(got, ips) {
				t.Errorf("%s/%s: %v, want %v", by, id, got, ips)
			}
		}
		index := readCSVByHeader(t, filepath.Join(dir, "index.csv"))
		total := 0
		for _, r := range index {
			n, _ := strconv.Atoi(r["gateways"])
			total += n
			if r["tlp"] != "TLP:AMBER" || len(r["sha256"]) != 64 || r["file"] != "2026-11-28-"+r["report_type"]+"-"+r["recipient"]+".csv" {
				t.Errorf("%s: index row %v", by, r)
			}
		}
		if total != 5 || len(index) != len(want) {
			t.Errorf("%s: index lists %d files, %d gateways; want %d, 5", by, len(index), total, len(want))
		}
		var manifest struct {
			Run        int64
			Enrichment string
			Recipients []Recipient
		}
		b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err := json.Unmarshal(b, &manifest); err != nil || manifest.Run != 7 || manifest.Enrichment != "lab.mmdb" || len(manifest.Recipients) != len(want) {
			t.Errorf("%s: manifest %s (%v)", by, b, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "summary.md")); string(b) != "# summary\n" {
			t.Errorf("%s: summary.md %q", by, b)
		}
		if _, err := p.Write(reporttest.Observations(), ex); err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Errorf("%s: a second pack into the same directory: %v", by, err)
		}
	}
	for name, body := range map[string]string{"no comma": "127.0.0.0/8\n", "bad name": "127.0.0.0/8,CERT Lab\n", "bad prefix": "127.0.0.0/33,a\n", "empty": "# none\n"} {
		path := filepath.Join(t.TempDir(), "r.csv")
		os.WriteFile(path, []byte(body), 0o644)
		if _, err := ReadCIDRRecipients(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestRecipientsFile: a recipient named "unassigned" also got the gateways no prefix covers,
// and a prefix listed for two recipients silently went to the first; both are refused with
// their lines now. A header line is accepted, and a bad name is told the rule.
func TestRecipientsFile(t *testing.T) {
	read := func(body string) ([]CIDRRecipient, error) {
		path := filepath.Join(t.TempDir(), "r.csv")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return ReadCIDRRecipients(path)
	}
	for body, want := range map[string]string{
		"127.0.0.0/24,unassigned\n":                         "r.csv:1: recipient \"unassigned\" is reserved",
		"# files\n127.0.0.0/24,index\n":                     "r.csv:2: recipient \"index\" is reserved: a recipient name is 1 to 63 lowercase",
		"prefix,recipient\n127.0.0.0/24,manifest\n":         "r.csv:2: recipient \"manifest\" is reserved",
		"127.0.0.0/24,a\n127.0.1.0/24,summary\n":            "r.csv:2: recipient \"summary\" is reserved",
		"127.0.0.0/24,-lead\n":                              "r.csv:1: recipient \"-lead\": a recipient name is 1 to 63 lowercase letters, digits and hyphens, starting with a letter or digit",
		"# x\n127.0.0.0/24,cert-a\n\n127.0.0.9/24,cert-b\n": "r.csv:4: 127.0.0.0/24 is listed on line 2 already (for cert-a)",
		"127.0.0.1,cert-a\n::ffff:127.0.0.1,cert-a\n":       "r.csv:2: 127.0.0.1/32 is listed on line 1 already",
		"127.0.0.0/24,CERT A\n":                             "lowercase letters, digits and hyphens, starting with a letter or digit",
		"prefix,recipient\nprefix,recipient\n":              "r.csv:2: \"prefix\" is not an IP address",
		"127.0.0.0/24,a\nprefix,recipient\n":                "r.csv:2: \"prefix\" is not an IP address",
		"::1%eth0,a\n":                                      "is not an IP address",
	} {
		if _, err := read(body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
	for _, header := range []string{"prefix,recipient", "CIDR, recipient", "# comment\nnetwork,owner"} {
		rs, err := read(header + "\n127.0.0.0/24,cert-a\n")
		if err != nil || len(rs) != 1 || rs[0].Recipient != "cert-a" {
			t.Errorf("header %q: %v %v", header, rs, err)
		}
	}
}

// TestEveryFindingHasAdvice: each MIIT/NVDB id and each flag the rules or the analysis can
// emit has remediation text (a new flag is a data change here too).
func TestEveryFindingHasAdvice(t *testing.T) {
	remedies, err := LoadRemedies()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	ids := append(append([]string{"auth-unknown"}, fingerprint.MIITViolations...), fingerprint.BuiltinFlags...)
	for _, p := range rules.Products {
		for _, f := range p.Flags {
			ids = append(ids, f.ID)
		}
	}
	for _, id := range ids {
		if _, ok := remedies[id]; !ok {
			t.Errorf("no remediation for %q", id)
		}
	}
}
