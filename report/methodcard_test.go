package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/report/reporttest"
	"github.com/clawcensus/clawcensus/store"
)

// TestMethodCardEverywhere: every format of report and the pack's manifest carry one method
// card: the unit counted, the series, the window, the knowledge base and what the counted
// words mean, in the same words.
func TestMethodCardEverywhere(t *testing.T) {
	runs := reporttest.Runs()
	method := func(s store.Summary) Methodology {
		return Methodology{Targets: s.Targets, Retries: 1, Method: s.Method, Rate: s.Rate}
	}
	for _, format := range []string{"text", "json", "csv"} {
		var b strings.Builder
		if err := WriteRuns(&b, format, runs, Source{Backend: "sqlite"}, method, nil); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		switch format {
		case "json":
			var doc struct {
				Runs []struct{ Methodology Methodology } `json:"runs"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			m := doc.Runs[0].Methodology
			if len(doc.Runs) != 3 || m.DedupKey == "" || m.Series == "" || m.Window == "" || m.Knowledge == "" ||
				strings.Join(m.Definitions, "\n") != strings.Join(Definitions, "\n") || m.Retries != 1 {
				t.Errorf("json method card: %+v", m)
			}
		case "text":
			for _, want := range append([]string{"method: unit ip:port; series ", "knowledge base: ", "definitions:"}, Definitions...) {
				if !strings.Contains(out, want) {
					t.Errorf("text: no %q in\n%s", want, out)
				}
			}
		case "csv":
			if !strings.Contains(strings.SplitN(out, "\n", 2)[0], "knowledge_base") {
				t.Errorf("csv header: %s", strings.SplitN(out, "\n", 2)[0])
			}
		}
	}
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pack")
	p := &Pack{Dir: dir, By: "asn", Run: runs[2], ToolVersion: "test", Generated: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC),
		Method: method(runs[2])}
	if _, err := p.Write(reporttest.Observations(), NewExporter(rules)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct{ Methodology Methodology }
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	if m := manifest.Methodology; m.Series == "" || len(m.Definitions) != len(Definitions) || m.Knowledge == "" {
		t.Errorf("manifest method card: %+v", m)
	}
}
