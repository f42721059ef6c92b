package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/clawcensus/clawcensus/store/storetest"
)

func contactFixtures(dir string, names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(dir, n))
	}
	return out
}

// TestContactsCLI imports the library's fixtures into the store on every backend, as two
// versions; lookup reads the newest or the one named, list shows both with their files, and
// mistakes of the caller exit 2; an import that fails adds no version.
func TestContactsCLI(t *testing.T) {
	all := contactFixtures(filepath.Join("..", "..", "contacts", "testdata"), "ripe.db.inetnum", "ripe.db.role", "ripe.db.organisation",
		"ripe.db.aut-num", "apnic.db.inetnum", "apnic.db.irt", "delegated-ripencc-extended-latest", "cert-contacts.csv")
	for backend, dsn := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			db := dsn(t)
			r := runCLI(t, "", append([]string{"contacts", "import", "--db", db}, all...)...)
			if r.code != 0 || !strings.Contains(r.stdout, "contacts version 1, imported") || !strings.Contains(r.stdout, "cert-csv") ||
				!strings.Contains(r.stderr, "contacts: ripe.db.inetnum: 0.0 MiB read in ") {
				t.Fatalf("import: %+v", r)
			}
			if r := runCLI(t, "", "contacts", "import", "--db", db, all[7]); r.code != 0 || !strings.Contains(r.stdout, "contacts version 2") {
				t.Fatalf("second import: %+v", r)
			}
			for _, tc := range []struct {
				version, q, want string
			}{
				{"", "198.18.2.5", "contact:  noc@cont.example"},
				{"", "198.18.1.130", "contact:  (none known)"}, // the newest version holds the CERT's table alone
				{"1", "198.18.1.130", "role ORGABU-TEST  abuse-mailbox: abuse@société.example"},
				{"1", "198.19.0.9", "irt IRT-LAB-JP  abuse-mailbox: abuse@irt.example"},
				{"1", "198.19.64.1", "country:  SE"},
				{"1", "AS64500", "aut-num AS64500  org: ORG-EX1-TEST"},
			} {
				args := []string{"contacts", "lookup", "--db", db}
				if tc.version != "" {
					args = append(args, "--contacts-version", tc.version)
				}
				args = append(args, tc.q)
				if r := runCLI(t, "", args...); r.code != 0 || !strings.Contains(r.stdout, tc.want) {
					t.Errorf("lookup %s (version %q): %+v, want %q", tc.q, tc.version, r, tc.want)
				}
			}
			for _, bad := range [][]string{
				{"contacts", "import", "--db", db},
				{"contacts", "lookup", "--db", db},
				{"contacts", "lookup", "--db", db, "example.net"},
				{"contacts", "lookup", "--db", db, "--contacts-version", "9", "198.18.0.1"},
			} {
				if r := runCLI(t, "", bad...); r.code != 2 || r.stderr == "" {
					t.Errorf("%v: %+v, want exit 2 with a message", bad, r)
				}
			}
			if r := runCLI(t, "", "contacts", "import", "--db", db, all[0], filepath.Join(t.TempDir(), "missing.gz")); r.code != 1 {
				t.Errorf("import of a missing file: %+v", r)
			}
			r = runCLI(t, "", "contacts", "list", "--db", db)
			if r.code != 0 || strings.Count(r.stdout, "contacts version ") != 2 || strings.Count(r.stdout, "cert-contacts.csv") != 2 {
				t.Errorf("list: %+v", r)
			}
		})
	}
}

// TestContactsImportInterrupted: Ctrl-C while a large file is read stops the import, and no
// version appears, half or whole.
func TestContactsImportInterrupted(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "contacts.db")
	if r := runCLI(t, "", "contacts", "import", "--db", db, "../../contacts/testdata/cert-contacts.csv"); r.code != 0 {
		t.Fatalf("first import: %+v", r)
	}
	fifo := filepath.Join(dir, "ripe.db.inetnum")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cliBinary, "contacts", "import", "--db", db, fifo)
	cmd.Env = testEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the import to open it
	if err != nil {
		t.Fatal(err)
	}
	object := []byte("inetnum:        127.0.20.0 - 127.0.20.255\nnetname:        ENDLESS\nabuse-c:        LAB-TEST\nsource:         RIPE\n\n")
	written := 0
	for written < 4<<20 { // a pipe holds 64 KiB: four MiB written is four MiB read
		n, err := w.Write(bytes.Repeat(object, 100))
		if err != nil {
			t.Fatal(err)
		}
		written += n
	}
	cmd.Process.Signal(os.Interrupt)
	go func() { // the import reads on until it sees the signal
		for {
			if _, err := w.Write(object); err != nil {
				return
			}
		}
	}()
	err = cmd.Wait()
	w.Close()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "context canceled") {
		t.Fatalf("interrupted import: %v\n%s", err, stderr.String())
	}
	if r := runCLI(t, "", "contacts", "list", "--db", db); r.code != 0 || strings.Count(r.stdout, "contacts version ") != 1 {
		t.Errorf("after the interrupted import: %+v", r)
	}
}

// contactLab serves 240 listeners on port of 127.0.16.1–60 … 127.0.19.1–60, four /24s: in each,
// every tenth an nginx page, the others replays of real gateways (2026.9.6 with a token and
// 2026.3.8 open, alternately). It returns the gateways' ip:port.
func contactLab(t *testing.T) (port uint16, gateways []string) {
	t.Helper()
	token := &http.Server{Handler: fixtureHandler(t, "../../fingerprint/testdata/gateways/openclaw-2026.9.6-token.txtar")}
	open := &http.Server{Handler: fixtureHandler(t, "../../fingerprint/testdata/gateways/openclaw-2026.3.8-none.txtar")}
	nginx := &http.Server{Handler: fixtureHandler(t, "../../fingerprint/testdata/negatives/nginx-default.txtar")}
	t.Cleanup(func() { token.Close(); open.Close(); nginx.Close() })
	first, err := net.Listen("tcp", "127.0.16.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = uint16(first.Addr().(*net.TCPAddr).Port)
	for n := 16; n <= 19; n++ {
		for h := 1; h <= 60; h++ {
			ln := first
			if n != 16 || h != 1 {
				if ln, err = net.Listen("tcp", fmt.Sprintf("127.0.%d.%d:%d", n, h, port)); err != nil {
					t.Fatalf("listener: %v", err)
				}
			}
			switch {
			case h%10 == 0:
				go nginx.Serve(ln)
				continue
			case h%2 == 0:
				go token.Serve(ln)
			default:
				go open.Serve(ln)
			}
			gateways = append(gateways, fmt.Sprintf("127.0.%d.%d:%d", n, h, port))
		}
	}
	slices.Sort(gateways)
	return port, gateways
}

// TestExportByContact is issue 16's acceptance for packs by contact: a census of a lab of 240
// listeners in four networks, whose RPSL fixtures give three abuse mailboxes (one through the
// network's organisation) and leave the fourth to the delegation statistics, exported by
// contact in every format: three contact sets and one list of gateways without a contact,
// every gateway in exactly one of them, TLP AMBER inside every file.
func TestExportByContact(t *testing.T) {
	port, gateways := contactLab(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "census.db")
	if r := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--rate", "5000", "--seed", "16", "--ports", fmt.Sprint(port), "--db", db,
		"--format", "csv", "127.0.16.0/22"); r.code != 0 {
		t.Fatalf("scan: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, "", "export", "--db", db, "--by", "contact", "-o", filepath.Join(dir, "early")); r.code != 2 || !strings.Contains(r.stderr, "no contacts in the store") {
		t.Errorf("export by contact before an import: %+v", r)
	}
	if r := runCLI(t, "", append([]string{"contacts", "import", "--db", db}, contactFixtures("testdata/contacts", "ripe.db.inetnum",
		"ripe.db.role", "ripe.db.organisation", "delegated-ripencc-extended-latest")...)...); r.code != 0 {
		t.Fatalf("contacts import: %+v", r)
	}
	if r := runCLI(t, "", "export", "--db", db, "--by", "contact", "--contacts-version", "5", "-o", filepath.Join(dir, "v5")); r.code != 2 ||
		!strings.Contains(r.stderr, "contacts version 5: no contacts") {
		t.Errorf("export by a contacts version not there: %+v", r)
	}
	wantContact := map[string]string{"16": "abuse@net16.example", "17": "abuse@net17.example", "18": "abuse@net18.example", "19": ""}
	for _, format := range []string{"shadowserver", "intelmq", "xarf"} {
		t.Run(format, func(t *testing.T) {
			pack := filepath.Join(dir, "pack-"+format)
			r := runCLI(t, "", "export", "--db", db, "--by", "contact", "--format", format, "--reporter", "CERT Lab,cert@lab.example", "-o", pack)
			if r.code != 0 {
				t.Fatalf("export: %+v", r)
			}
			index := readCSV(t, filepath.Join(pack, "index.csv"))
			contactsSeen := map[string]bool{}
			var got []string
			for _, row := range index {
				file := filepath.Join(pack, row["file"])
				if row["recipient"] == "no-contact" {
					for _, h := range readCSV(t, file) {
						got = append(got, h["ip"]+":"+h["port"])
						if network(h["ip"]) != "19" || h["registry"] != "ripencc" || h["country"] != "SE" || h["tlp"] != "AMBER" {
							t.Errorf("no-contact row %v", h)
						}
					}
					continue
				}
				contactsSeen[row["contact"]] = true
				if _, err := os.Stat(filepath.Join(pack, strings.TrimSuffix(row["cover"], ".md")+".txt")); err != nil || row["cover"] == "" {
					t.Errorf("%s: no cover letter (%v)", row["contact"], err)
				}
				for _, h := range hostsOf(t, file, format) {
					got = append(got, h.addr)
					if wantContact[network(strings.Split(h.addr, ":")[0])] != row["contact"] || !h.amber || (format == "intelmq" && h.contact != row["contact"]) {
						t.Errorf("%s in the file of %s: %+v", h.addr, row["contact"], h)
					}
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, gateways) || len(contactsSeen) != 3 {
				t.Errorf("%d gateways in the pack to %d contacts %v, want each of the lab's %d once, to 3", len(got), len(contactsSeen), contactsSeen, len(gateways))
			}
		})
	}

	// The CERT's table gives net17's contact GREEN and X-ARF: its files follow, the others keep
	// --format and AMBER. A format export does not write is refused at import, by line.
	table := filepath.Join(dir, "own.csv")
	os.WriteFile(table, []byte("127.0.17.0/24,abuse@net17.example,Net 17,tlp:green,csv\n"), 0o600)
	if r := runCLI(t, "", "contacts", "import", "--db", db, table); r.code == 0 || !strings.Contains(r.stderr, `own.csv: line 1: format "csv": want one of shadowserver, intelmq, xarf`) {
		t.Errorf("import of a table with a format export does not write: %+v", r)
	}
	os.WriteFile(table, []byte("127.0.17.0/24,abuse@net17.example,Net 17,tlp:green,XARF\n"), 0o600)
	if r := runCLI(t, "", append([]string{"contacts", "import", "--db", db, table}, contactFixtures("testdata/contacts", "ripe.db.inetnum",
		"ripe.db.role", "ripe.db.organisation", "delegated-ripencc-extended-latest")...)...); r.code != 0 {
		t.Fatalf("contacts import: %+v", r)
	}
	pack := filepath.Join(dir, "pack-terms")
	if r := runCLI(t, "", "export", "--db", db, "--by", "contact", "-o", pack); r.code != 0 {
		t.Fatalf("export: %+v", r)
	}
	xarfFiles := 0
	for _, row := range readCSV(t, filepath.Join(pack, "index.csv")) {
		format, tlp := "shadowserver", "TLP:AMBER"
		if row["contact"] == "abuse@net17.example" {
			format, tlp = "xarf", "TLP:GREEN"
		}
		if row["recipient"] == "no-contact" {
			format = ""
		}
		if row["format"] != format || row["tlp"] != tlp {
			t.Errorf("index row %v: want %s, %s", row, format, tlp)
		}
		if format == "xarf" {
			xarfFiles++
			for _, h := range hostsOf(t, filepath.Join(pack, row["file"]), format) {
				if network(strings.Split(h.addr, ":")[0]) != "17" || h.amber {
					t.Errorf("%s in net17's X-ARF file: %+v", h.addr, h)
				}
			}
			if b, err := os.ReadFile(filepath.Join(pack, row["file"])); err != nil || !strings.Contains(string(b), `"tlp:green"`) {
				t.Errorf("%s: not marked tlp:green (%v)", row["file"], err)
			}
		}
	}
	if xarfFiles != 1 {
		t.Errorf("%d X-ARF files for net17's contact, want 1", xarfFiles)
	}
}

// network is the third octet of a lab address.
func network(ip string) string { return strings.Split(ip, ".")[2] }

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
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

type packHost struct {
	addr, contact string
	amber         bool
}

// hostsOf reads the gateways of one per-host file in format, and whether each is marked AMBER.
func hostsOf(t *testing.T, path, format string) []packHost {
	t.Helper()
	if format == "shadowserver" {
		var out []packHost
		for _, r := range readCSV(t, path) {
			out = append(out, packHost{addr: r["ip"] + ":" + r["port"], amber: r["tlp"] == "AMBER"})
		}
		return out
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []packHost
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if format == "intelmq" {
			out = append(out, packHost{addr: fmt.Sprintf("%v:%v", ev["source.ip"], ev["source.port"]), contact: fmt.Sprint(ev["source.abuse_contact"]),
				amber: ev["tlp"] == "AMBER"})
		} else {
			tags, _ := json.Marshal(ev["tags"])
			out = append(out, packHost{addr: fmt.Sprintf("%v:%v", ev["source_identifier"], ev["source_port"]), amber: strings.Contains(string(tags), `"tlp:amber"`)})
		}
	}
	return out
}
