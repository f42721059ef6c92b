package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/contacts"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report/reporttest"
)

// TestTLPInEveryFormat: an exporter's TLP marks every place a recipient's files carry one: the
// Shadowserver CSV's tlp column, IntelMQ's tlp (TLP 1.0: CLEAR as WHITE, AMBER+STRICT as the
// stricter RED, the exact label in extra.tlp; still a valid event), X-ARF's tlp: tag (still
// valid) and the list of fixed gateways; no TLP is AMBER, as a single-file export has it.
func TestTLPInEveryFormat(t *testing.T) {
	o := reporttest.Observations()[0]
	type marks struct{ CSV, IntelMQ, IntelMQExtra, XARF, Fixed string }
	for _, tc := range []struct {
		tlp  string
		want marks
	}{
		{"", marks{"AMBER", "AMBER", "", "tlp:amber", "TLP:AMBER"}},
		{"CLEAR", marks{"CLEAR", "WHITE", "CLEAR", "tlp:clear", "TLP:CLEAR"}},
		{"GREEN", marks{"GREEN", "GREEN", "", "tlp:green", "TLP:GREEN"}},
		{"AMBER", marks{"AMBER", "AMBER", "", "tlp:amber", "TLP:AMBER"}},
		{"AMBER+STRICT", marks{"AMBER+STRICT", "RED", "AMBER+STRICT", "tlp:amber+strict", "TLP:AMBER+STRICT"}},
		{"RED", marks{"RED", "RED", "", "tlp:red", "TLP:RED"}},
	} {
		t.Run(tc.tlp, func(t *testing.T) {
			ex := NewExporter(nil)
			ex.TLP = tc.tlp
			var got marks
			row := ex.Row(o)
			got.CSV = row[len(row)-1]
			ev := ex.IntelMQEvent(o, time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC))
			got.IntelMQ, got.IntelMQExtra = asString(ev["tlp"]), asString(ev["extra.tlp"])
			b, _ := json.Marshal(ev)
			var decoded map[string]any
			json.Unmarshal(b, &decoded)
			if bad := checkIntelMQ(decoded); len(bad) > 0 {
				t.Errorf("IntelMQ event: %v", bad)
			}
			x := ex.XARF(o, "00000000-0000-4000-8000-000000000000")
			got.XARF = x.Tags[0]
			b, _ = json.Marshal(x)
			json.Unmarshal(b, &decoded)
			if bad := checkXARF(decoded); len(bad) > 0 {
				t.Errorf("X-ARF report: %v", bad)
			}
			ex.delta = &delta{of: map[netip.AddrPort]Change{o.Key(): {Class: ChangeFixed}}}
			var fixed bytes.Buffer
			if err := ex.writeFixed(&fixed, []observation.Observation{o}); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&fixed).ReadAll()
			if err != nil || len(recs) != 2 || recs[0][len(recs[0])-1] != "tlp" {
				t.Fatalf("fixed list %v (%v)", recs, err)
			}
			got.Fixed = recs[1][len(recs[1])-1]
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
	for _, label := range contacts.TLPs {
		if tlpSharing[label] == "" {
			t.Errorf("no sharing rule for %s", label)
		}
	}
}

// TestContactTermsRefuseOldTables: a contacts version imported before import checked the
// table's tlp and format may hold what an export cannot honour; a pack by contact refuses it,
// by file and line, rather than mark or write a contact's files otherwise than it says.
func TestContactTermsRefuseOldTables(t *testing.T) {
	row := func(contact, tlp, format string, line int) contacts.CertEntry {
		return contacts.CertEntry{Prefix: netip.MustParsePrefix("127.0.0.0/24"), Contact: contact, TLP: tlp, Format: format, Line: line}
	}
	for _, tc := range []struct {
		rows []contacts.CertEntry
		want string // "" for no error
	}{
		{[]contacts.CertEntry{row("a@lab.example", "tlp:green", "IntelMQ", 2), row("A@lab.example", "", "", 3)}, ""},
		{[]contacts.CertEntry{row("a@lab.example", "purple", "", 2)}, `contacts table own.csv line 2: tlp "purple": want one of`},
		{[]contacts.CertEntry{row("a@lab.example", "", "csv", 4)}, `contacts table own.csv line 4: format "csv": want one of shadowserver, intelmq, xarf`},
		{[]contacts.CertEntry{row("a@lab.example", "green", "", 2), row("A@Lab.example", "red", "", 5)},
			`contacts table own.csv line 5: A@Lab.example gets tlp "RED", format "" here and "GREEN", "" from contacts table own.csv line 2`},
	} {
		db := &contacts.DB{Sources: []contacts.Source{{Name: "own.csv"}}, Cert: tc.rows}
		terms, err := contactTerms(db)
		switch {
		case tc.want == "" && (err != nil || terms["a@lab.example"] != sendTerms{"GREEN", FormatIntelMQ}):
			t.Errorf("%v: %v, %v", tc.rows, terms, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: %v, want %q", tc.rows, err, tc.want)
		}
	}
}
