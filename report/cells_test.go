package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/report/reporttest"
	"github.com/clawcensus/clawcensus/store"
)

func TestCellsAreNeutralised(t *testing.T) {
	for in, want := range map[string]string{
		"nginx": "nginx", "=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+202.1.1": "'+202.1.1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)",
		"2026.9.6\x1b[31m": "2026.9.6[31m", "a\tb\r\nc": "a b c", "\x00=1": "'=1", "ok\u0085": "ok", "Zürich": "Zürich",
	} {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
	var b bytes.Buffer
	w := NewCSV(&b)
	w.Write([]string{"2026-11-28 00:00:00", "127.0.0.1", "=cmd|' /C calc'!A0", "ver\x07sion"})
	w.Flush()
	if out := b.String(); strings.ContainsAny(out, "\x07") || !strings.Contains(out, "'=cmd") {
		t.Errorf("CSV row %q", out)
	}
}

// formatRunes are the bidi controls and zero-width characters an enrichment database can
// carry in an AS name or a country (U+202E reverses what follows on screen).
const formatRunes = "\u202a\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f\ufeff"

// TestEnrichmentTextIsNeutralised: an AS name and a country from an mmdb file carried bidi
// controls into the text report's counts, the report's tables and charts and its JSON rows;
// every output passes them through TextCell now, whatever the store holds.
func TestEnrichmentTextIsNeutralised(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	runs := reporttest.Runs()
	run := runs[2]
	run.Enrichment = "Evil\u202eDB built 2026-11-01 (lab.mmdb)"
	run.ByCountry = map[string]int64{"D\u200bE": 3, "\u202eZZ": 2}
	run.ByASN = map[string]int64{"AS64500 \u2066Lab\u2069": 5}
	runs[2] = run
	obs := reporttest.Observations()
	for i := range obs {
		obs[i].ASOrg, obs[i].Country = "Lab\u202e SA\ufeff", "D\u200fE"
	}
	doc, err := NewDocument(run, runs, rules, Methodology{Enrichment: run.Enrichment}, run.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]func(w *strings.Builder) error{
		"html": func(w *strings.Builder) error { return doc.WriteHTML(w) },
		"md":   func(w *strings.Builder) error { return doc.WriteMarkdown(w) },
		"csv":  func(w *strings.Builder) error { return NewExporter(rules).WriteCSV(w, obs) },
	}
	for _, format := range []string{"text", "json", "csv"} {
		outputs["runs "+format] = func(w *strings.Builder) error {
			return WriteRuns(w, format, runs[2:], Source{Backend: "sqlite"}, func(store.Summary) Methodology { return Methodology{} }, rules)
		}
	}
	outputs["records"] = func(w *strings.Builder) error {
		for _, o := range obs {
			b, err := json.Marshal(toRecord(o))
			if err != nil {
				return err
			}
			w.Write(b)
		}
		return nil
	}
	for name, write := range outputs {
		var b strings.Builder
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if i := strings.IndexAny(b.String(), formatRunes); i >= 0 {
			t.Errorf("%s: a format character at %d: %q", name, i, b.String()[max(0, i-40):min(len(b.String()), i+40)])
		}
	}
}
