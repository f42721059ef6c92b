package report

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/contacts"
	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/report/reporttest"
	"github.com/clawcensus/clawcensus/store"
)

// labContacts imports the contacts package's fixtures and a CERT table that names the network
// of 127.0.1.5 with an upper-case address and a name that is hostile to Markdown.
func labContacts(t *testing.T) *contacts.DB {
	t.Helper()
	cert := filepath.Join(t.TempDir(), "own.csv")
	if err := os.WriteFile(cert, []byte("127.0.1.0/24,NOC@Lab-Two.example,Lab | <b>Two</b>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	paths := []string{cert}
	for _, n := range []string{"ripe.db.organisation", "ripe.db.role", "ripe.db.aut-num", "delegated-ripencc-extended-latest", "cert-contacts.csv"} {
		paths = append(paths, filepath.Join("..", "contacts", "testdata", n))
	}
	db, err := contacts.Import(context.Background(), contacts.Config{}, paths...)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestPackByContact writes a pack by contact in every format: one file set per contact (the
// CERT's table before RIR data, by address before AS), each gateway in exactly one file or in
// the list of gateways without a contact (by registry and country), TLP AMBER inside every
// per-host file, a cover letter in Markdown and text with the findings and fixes check gives,
// and IntelMQ's source.abuse_contact set to the recipient's address.
func TestPackByContact(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 28, 2, 40, 0, 0, time.UTC)
	run := store.Summary{Run: store.Run{ID: 7, StartedAt: time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC), EndedAt: &end,
		Status: store.StatusComplete, Targets: "127.0.0.0/22", Ports: "18789", Method: "connect", Rate: 500, ToolVersion: "test"}}
	obs := reporttest.Observations()
	obs[0].MIIT = []string{"internet-exposure", "no-authentication"} // 127.0.0.10, auth none
	obs[1].MIIT = []string{"internet-exposure"}
	db := labContacts(t)
	societe, cert := contactID("abuse@société.example"), contactID("noc@lab-two.example")
	want := map[string][]string{ // recipient → its gateways
		societe:   {"127.0.0.10:18789", "127.0.0.11:18789", "[::1]:18789"}, // aut-num AS64500 → organisation → role
		cert:      {"127.0.1.5:18789"},                                     // the CERT's table by address, before its AS64501 row
		NoContact: {"127.0.2.5:18789"},                                     // delegated stats only: ripencc, SE
	}
	abuseContact := map[string]string{societe: "abuse@xn--socit-esab.example", cert: "noc@lab-two.example"} // IDNA: IntelMQ's mail bots take ASCII
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			ex := NewExporter(rules)
			if ex.Format, err = ParseExportFormat(format, "CERT Lab,cert@lab.example", end); err != nil {
				t.Fatal(err)
			}
			ex.Contacts = db
			dir := filepath.Join(t.TempDir(), "pack")
			p := &Pack{Dir: dir, By: "contact", Run: run, ToolVersion: "test", Generated: end, Method: Methodology{Targets: "127.0.0.0/22",
				Ports: "18789", Method: "connect", Rate: 500, Retries: 1, ToolVersion: "test", Contact: "https://lab.example/scan"}}
			recips, err := p.Write(obs, ex)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, r := range recips {
				path := filepath.Join(dir, r.File)
				switch {
				case r.ID == NoContact:
					for _, row := range readCSVByHeader(t, path) {
						got[r.ID] = append(got[r.ID], row["ip"]+":"+row["port"])
						if row["registry"] != "ripencc" || row["country"] != "SE" || row["tlp"] != "AMBER" {
							t.Errorf("no-contact row %v", row)
						}
					}
				case format == FormatShadowserver:
					for _, row := range readCSVByHeader(t, path) {
						got[r.ID] = append(got[r.ID], hostPort(row["ip"], row["port"]))
						if row["tlp"] != "AMBER" {
							t.Errorf("%s: row without TLP AMBER: %v", r.File, row)
						}
					}
				default:
					f, _ := os.Open(path)
					sc := bufio.NewScanner(f)
					for sc.Scan() {
						var ev map[string]any
						if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
							t.Fatal(err)
						}
						if format == FormatIntelMQ {
							got[r.ID] = append(got[r.ID], hostPort(ev["source.ip"].(string), jsonNumber(ev["source.port"])))
							if ev["source.abuse_contact"] != abuseContact[r.ID] || ev["tlp"] != "AMBER" || len(checkIntelMQ(ev)) > 0 {
								t.Errorf("%s: event %v: %v", r.File, ev, checkIntelMQ(ev))
							}
						} else {
							got[r.ID] = append(got[r.ID], hostPort(ev["source_identifier"].(string), jsonNumber(ev["source_port"])))
							if !slices.Contains(anyStrings(ev["tags"]), "tlp:amber") {
								t.Errorf("%s: report without tlp:amber: %v", r.File, ev)
							}
						}
					}
					f.Close()
				}
			}
			for _, ips := range got {
				slices.Sort(ips)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("gateways per recipient (-want +got)\n%s", d)
			}
			index := readCSVByHeader(t, filepath.Join(dir, "index.csv"))
			if len(index) != 4 { // société's IPv4 and IPv6 files, the CERT's contact, the list
				t.Errorf("index: %v", index)
			}
			for _, r := range index {
				if r["recipient"] != NoContact && (r["contact"] == "" || r["cover"] != "2026-11-28-cover-"+r["recipient"]+".md" ||
					!strings.HasSuffix(r["file"], "."+ex.Format.Ext())) {
					t.Errorf("index row %v", r)
				}
			}
			var manifest struct {
				Format    string
				Covers    []map[string]string
				NoContact struct {
					Gateways int
					Groups   []map[string]any `json:"by_registry_and_country"`
				} `json:"no_contact"`
			}
			b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err := json.Unmarshal(b, &manifest); err != nil || manifest.Format != format || len(manifest.Covers) != 2 || manifest.NoContact.Gateways != 1 ||
				!cmp.Equal(manifest.NoContact.Groups, []map[string]any{{"registry": "ripencc", "country": "SE", "gateways": 1.0}}) {
				t.Errorf("manifest %s (%v)", b, err)
			}
			for _, c := range manifest.Covers {
				for _, kind := range []string{"markdown", "text"} {
					body, err := os.ReadFile(filepath.Join(dir, c[kind]))
					if err != nil || sha256Hex(body) != c[kind+"_sha256"] {
						t.Fatalf("%s: %v, or not the sha256 the manifest says", c[kind], err)
					}
					text := string(body)
					if kind == "markdown" {
						text = strings.ReplaceAll(strings.ReplaceAll(text, `\[`, "["), `\]`, "]") // an IPv6 host, escaped for Markdown
					}
					for _, must := range append([]string{"TLP:AMBER", c["contact"], "2026-11-28T02:00:00Z", "cert@lab.example", "opt-out register",
						"https://lab.example/scan", "GET /", "127.0.0.0/22, ports 18789", "connect at 500 probes a second", "loopback"}, want[c["recipient"]]...) {
						if !strings.Contains(text, must) {
							t.Errorf("%s lacks %q:\n%s", c[kind], must, text)
						}
					}
					if c["recipient"] == societe && (!strings.Contains(text, "Turn on token auth") || !strings.Contains(text, "aut-num AS64500") ||
						!strings.Contains(text, "The gateway answers from this vantage point")) {
						t.Errorf("%s: the fix for the open gateway or how the contact was found is missing:\n%s", c[kind], text)
					}
					if c["recipient"] == cert && kind == "markdown" && (strings.Contains(text, "<b>") || !strings.Contains(text, `Lab \| &lt;b&gt;Two`)) {
						t.Errorf("%s: a name from a contact table reaches Markdown unescaped:\n%s", c[kind], text)
					}
				}
			}
		})
	}
	if _, err := (&Pack{Dir: t.TempDir(), By: "contact", Run: run}).Write(obs, NewExporter(rules)); err == nil {
		t.Error("a pack by contact without contacts")
	}
}

func hostPort(ip, port string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + port
	}
	return ip + ":" + port
}

func jsonNumber(v any) string { return strings.TrimSuffix(strings.TrimSuffix(jsonText(v), ".0"), "\n") }

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestContactID: an id is fit for a file name, and addresses that read alike get their own.
func TestContactID(t *testing.T) {
	ids := map[string]bool{}
	for _, c := range []string{"abuse@a-b.example", "abuse-a@b.example", "abuse@société.example", "@@@", strings.Repeat("x", 300) + "@y.example"} {
		id := contactID(c)
		if !recipientName.MatchString(id) || id == NoContact || ids[id] {
			t.Errorf("%q: id %q", c, id)
		}
		ids[id] = true
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
