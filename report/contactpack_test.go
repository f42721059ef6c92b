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

// TestPackByContactTerms: a contact the CERT's table gives a tlp and a format gets its files in
// that format and marked with that TLP in each (the CSV's tlp column, IntelMQ's tlp, X-ARF's
// tlp: tag), and so do its cover letters, index.csv and the manifest; a row of the same contact
// that leaves them empty (its AS row) follows them; a contact with neither gets the export's
// format and AMBER; the list of gateways without a contact stays AMBER CSV; index.csv and the
// manifest are marked with the strictest TLP they list.
func TestPackByContactTerms(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 28, 2, 40, 0, 0, time.UTC)
	run := store.Summary{Run: store.Run{ID: 7, StartedAt: time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC), EndedAt: &end,
		Status: store.StatusComplete, Targets: "127.0.0.0/22", Ports: "18789", Method: "connect", Rate: 500, ToolVersion: "test"}}
	green, plain := contactID("green@lab.example"), contactID("plain@lab.example")
	type got struct {
		Format, TLP string   // what the file and its index row and manifest entry say
		Marks       []string // the TLP inside the file, host by host
		Hosts       []string
	}
	greenWant := got{FormatIntelMQ, "GREEN", []string{"GREEN", "GREEN", "GREEN"}, []string{"127.0.0.10:18789", "127.0.0.11:18789", "[::1]:18789"}}
	for _, tc := range []struct {
		name, format, plainTerms string
		want                     map[string]got
		indexTLP                 string
	}{
		{"plain gets the defaults", FormatShadowserver, "", map[string]got{green: greenWant,
			plain:     {FormatShadowserver, "AMBER", []string{"AMBER"}, []string{"127.0.1.5:18789"}},
			NoContact: {"", "AMBER", []string{"AMBER"}, []string{"127.0.2.5:18789"}}}, "AMBER"},
		{"plain is red", FormatXARF, "red", map[string]got{green: greenWant,
			plain:     {FormatXARF, "RED", []string{"RED"}, []string{"127.0.1.5:18789"}},
			NoContact: {"", "AMBER", []string{"AMBER"}, []string{"127.0.2.5:18789"}}}, "RED"},
		{"plain is amber+strict in intelmq", FormatShadowserver, "TLP:Amber+Strict,intelmq", map[string]got{green: greenWant,
			plain:     {FormatIntelMQ, "AMBER+STRICT", []string{"AMBER+STRICT"}, []string{"127.0.1.5:18789"}},
			NoContact: {"", "AMBER", []string{"AMBER"}, []string{"127.0.2.5:18789"}}}, "AMBER+STRICT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := filepath.Join(t.TempDir(), "own.csv")
			os.WriteFile(table, []byte("network_or_asn,contact,name,tlp,format\n127.0.0.0/24,Green@Lab.example,Lab Green,TLP:green,IntelMQ\n"+
				"AS64500,green@lab.example,Lab Green\n127.0.1.0/24,plain@lab.example,Lab Plain,"+tc.plainTerms+"\n"), 0o600)
			db, err := contacts.Import(context.Background(), contacts.Config{Formats: Formats}, table)
			if err != nil {
				t.Fatal(err)
			}
			ex := NewExporter(rules)
			if ex.Format, err = ParseExportFormat(tc.format, "CERT Lab,cert@lab.example", end); err != nil {
				t.Fatal(err)
			}
			ex.Contacts = db
			dir := filepath.Join(t.TempDir(), "pack")
			if _, err := (&Pack{Dir: dir, By: "contact", Run: run, ToolVersion: "test", Generated: end}).Write(reporttest.Observations(), ex); err != nil {
				t.Fatal(err)
			}
			files := map[string]got{}
			for _, r := range readCSVByHeader(t, filepath.Join(dir, "index.csv")) {
				g := files[r["recipient"]]
				if g.Format != "" && g.Format != r["format"] || g.TLP != "" && "TLP:"+g.TLP != r["tlp"] {
					t.Errorf("index: %s's rows disagree: %v", r["recipient"], r)
				}
				g.Format, g.TLP = r["format"], strings.TrimPrefix(r["tlp"], "TLP:")
				if want := map[string]string{"": "csv", FormatShadowserver: "csv", FormatIntelMQ: "jsonl", FormatXARF: "jsonl"}[g.Format]; !strings.HasSuffix(r["file"], "."+want) {
					t.Errorf("index: %s in format %q", r["file"], g.Format)
				}
				hosts, marks := readHosts(t, filepath.Join(dir, r["file"]), g.Format)
				g.Hosts, g.Marks = append(g.Hosts, hosts...), append(g.Marks, marks...)
				files[r["recipient"]] = g
			}
			if d := cmp.Diff(tc.want, files); d != "" {
				t.Errorf("files per recipient (-want +got)\n%s", d)
			}
			var manifest struct {
				TLP        string `json:"index_tlp"`
				Recipients []struct{ Recipient, Format, TLP string }
				Covers     []map[string]string
			}
			b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err := json.Unmarshal(b, &manifest); err != nil || manifest.TLP != "TLP:"+tc.indexTLP || len(manifest.Covers) != 2 {
				t.Errorf("manifest %s (%v)", b, err)
			}
			for _, r := range manifest.Recipients {
				if w := tc.want[r.Recipient]; r.Format != w.Format || r.TLP != "TLP:"+w.TLP {
					t.Errorf("manifest: %s in %q, %q; want %q, %q", r.Recipient, r.Format, r.TLP, w.Format, w.TLP)
				}
			}
			for _, c := range manifest.Covers {
				w := tc.want[c["recipient"]]
				if c["tlp"] != "TLP:"+w.TLP {
					t.Errorf("manifest: the cover of %s is %s, want TLP:%s", c["recipient"], c["tlp"], w.TLP)
				}
				for _, kind := range []string{"markdown", "text"} {
					body, _ := os.ReadFile(filepath.Join(dir, c[kind]))
					text := strings.Join(strings.Fields(string(body)), " ")
					title, _, _ := strings.Cut(string(body), "\n")
					if !strings.HasSuffix(title, " TLP:"+w.TLP) || !strings.Contains(text, "TLP:"+w.TLP+"**: "+tlpSharing[w.TLP]) &&
						!strings.Contains(text, "TLP:"+w.TLP+": "+tlpSharing[w.TLP]) || !strings.Contains(text, w.Format+", every one marked TLP "+w.TLP+")") ||
						w.TLP != "AMBER" && strings.Contains(text, "AMBER:") {
						t.Errorf("%s is not marked %s throughout:\n%s", c[kind], w.TLP, body)
					}
				}
			}
		})
	}
}

// readHosts reads a pack's per-host file in format ("" for the list of gateways without a
// contact): each host and the TLP it is marked with.
func readHosts(t *testing.T, path, format string) (hosts, marks []string) {
	t.Helper()
	if format == "" || format == FormatShadowserver {
		for _, row := range readCSVByHeader(t, path) {
			hosts, marks = append(hosts, hostPort(row["ip"], row["port"])), append(marks, row["tlp"])
		}
		return hosts, marks
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if format == FormatIntelMQ {
			hosts = append(hosts, hostPort(ev["source.ip"].(string), jsonNumber(ev["source.port"])))
			marks = append(marks, cmpOr(asString(ev["extra.tlp"]), asString(ev["tlp"])))
			if bad := checkIntelMQ(ev); len(bad) > 0 {
				t.Errorf("%s: %v", path, bad)
			}
			continue
		}
		hosts = append(hosts, hostPort(ev["source_identifier"].(string), jsonNumber(ev["source_port"])))
		for _, tag := range anyStrings(ev["tags"]) {
			if label, ok := strings.CutPrefix(tag, "tlp:"); ok {
				marks = append(marks, strings.ToUpper(label))
			}
		}
		if bad := checkXARF(ev); len(bad) > 0 {
			t.Errorf("%s: %v", path, bad)
		}
	}
	return hosts, marks
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
