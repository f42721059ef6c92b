package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func sampleDocument(t *testing.T) *Document {
	t.Helper()
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	runs := reporttest.Runs()
	d, err := NewDocument(runs[2], runs, rules, Methodology{Targets: "127.0.0.0/24", TargetCount: 256, Ports: "18789",
		Method: "connect", Rate: 2000, Seed: 42, Shard: "0/1", Retries: 1, Exclusions: []string{"none"}, ToolVersion: "test"},
		time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./report -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update, then review the diff)", name)
	}
}

func TestReportGolden(t *testing.T) {
	d := sampleDocument(t)
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{"report.md", d.WriteMarkdown}, {"report.html", d.WriteHTML}} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"run 3", "Methodology", "ip:port within a run", "CVE-2026-45001", "GHSA-g8p2-7wf7-98mq", "2026-11-26",
			"18789", "at least 2 independent groups", "TLP:CLEAR"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s lacks %q", f.name, want)
			}
		}
		golden(t, f.name, b.Bytes())
	}
}

// TestChartsAreSVGWithAxes parses every chart as XML and finds its title and axis labels.
func TestChartsAreSVGWithAxes(t *testing.T) {
	d := sampleDocument(t)
	want := map[string][]string{
		"trend":            {"2026-11-26", "2026-11-28", "no auth", "auth required", "gateways (per ip:port)"},
		"vulnerable-share": {"2026-11-27", "% of gateways", "100"},
		"versions":         {"2026.9.6", "2026.1.24-3", "unknown", "version"},
		"countries":        {"ZZ", "unknown", "country"},
		"networks":         {"AS64500", "autonomous system"},
	}
	if len(d.ChartList()) != len(want) {
		t.Errorf("%d charts, want %d", len(d.ChartList()), len(want))
	}
	for _, c := range d.ChartList() {
		var texts []string
		dec := xml.NewDecoder(bytes.NewReader(c.SVG))
		inText := false
		root := ""
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: not well-formed SVG: %v", c.Name, err)
			}
			switch tk := tok.(type) {
			case xml.StartElement:
				if root == "" {
					root = tk.Name.Local
				}
				inText = tk.Name.Local == "text"
			case xml.CharData:
				if inText {
					texts = append(texts, string(tk))
				}
			case xml.EndElement:
				inText = false
			}
		}
		all := strings.Join(texts, "\n")
		if root != "svg" {
			t.Errorf("%s: root element %q", c.Name, root)
		}
		// Every chart names the knowledge base its verdicts come from; a trend its series too.
		trend := c.Name == "trend" || c.Name == "vulnerable-share"
		if want := "kb not recorded"; (trend && c.Subtitle != "series targets 127.0.0.0/24, ports 18789; "+want) || (!trend && c.Subtitle != want) {
			t.Errorf("%s: subtitle %q: a trend says its series and knowledge base, one run's chart its knowledge base", c.Name, c.Subtitle)
		}
		for _, label := range append(want[c.Name], c.Title, c.Subtitle) {
			if !strings.Contains(all, label) {
				t.Errorf("%s: no text %q in the chart (has %q)", c.Name, label, texts)
			}
		}
	}
}

func TestMarkdownCellsAreNeutralised(t *testing.T) {
	for in, want := range map[string]string{"a|b": `a\|b`, "<script>": "&lt;script&gt;", "x\x1b[31my": `x\[31my`, "[a](b)": `\[a\](b)`} {
		if got := mdCell(in); got != want {
			t.Errorf("mdCell(%q) = %q, want %q", in, got, want)
		}
	}
}
