package report

import (
	"cmp"
	"embed"
	"encoding/base64"
	"fmt"
	htmltemplate "html/template"
	"io"
	"maps"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/store"
)

// Methodology is what a published number needs beside it: how the run was made. The caller
// fills what only the run's plan knows (exclusions, retries, opt-in probes); NewDocument adds
// the probes and markers from the rules.
type Methodology struct {
	Targets     string   `json:"targets"`
	TargetCount int64    `json:"target_count"`
	Ports       string   `json:"ports"`
	Method      string   `json:"method"`
	Rate        int      `json:"rate"`
	Seed        int64    `json:"seed"`
	Shard       string   `json:"shard"`
	Retries     int      `json:"retries"`
	Exclusions  []string `json:"exclusions"` // what each list removed
	Scope       string   `json:"scope,omitempty"`
	ActiveProbe []string `json:"active_probes,omitempty"` // opt-in probes the run sent
	Probes      []string `json:"http_probes,omitempty"`   // "GET /" … (from the rules)
	Markers     []string `json:"markers,omitempty"`       // "openclaw: title, app-element, … (2 groups of …)"
	DedupKey    string   `json:"unit_counted"`
	// Series names the runs this one is compared with; Knowledge the knowledge base its
	// verdicts come from.
	Series      string   `json:"series"`
	Knowledge   string   `json:"knowledge_base"`
	Window      string   `json:"window"`
	Confidence  []string `json:"confidence"`
	Definitions []string `json:"definitions"`
	ToolVersion string   `json:"tool_version"`
	Enrichment  string   `json:"enrichment,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	Authority   string   `json:"authorization,omitempty"` // the authorization note
}

// Definitions say what the counted words mean: one text for every report, export and view.
var Definitions = []string{
	"unit counted: one ip:port in a run, however often it was probed",
	"gateway: an HTTP service whose answers match markers of at least two independent groups of an OpenClaw (Clawdbot, Moltbot) rule",
	"no auth: the gateway answers its Control UI or API without credentials (auth none); unknown when its release answers alike with and without a token",
	"vulnerable: its version is in the affected range of an advisory whose affected surface is the gateway's own (observable: gateway); advisories for plugins, local paths or the apps are listed, not counted",
	"official: every version source and the header set agree with one release the knowledge base holds; false for forks, self-built and look-alike builds; unknown (null) when nothing tells, or the release is newer than the knowledge base",
	"probable honeypot: answers like a gateway but contradicts a real one's header set; counted apart, in no other count, and exported only when asked for (export --include-honeypots)",
}

// MethodCard completes m with what the run itself says: the unit counted, the series, the
// window, the knowledge base, what the counted words mean.
func MethodCard(run store.Summary, m Methodology) Methodology {
	m.DedupKey = "ip:port within a run: each host and port counts once, whatever retries, shards or resumes did"
	m.Series = run.SeriesLabel()
	if id := run.SeriesID(); id != m.Series {
		m.Series += " (" + id + ")"
	}
	m.Knowledge = cmp.Or(KnowledgeOf(run), "embedded in "+run.ToolVersion+" (not recorded: the run predates it)")
	end := "not finished"
	if run.EndedAt != nil {
		end = run.EndedAt.UTC().Format(time.RFC3339)
	}
	m.Window = run.StartedAt.UTC().Format(time.RFC3339) + " – " + end
	m.Confidence = []string{
		"a gateway is counted when markers of at least two independent groups match (rules are data, proven on recorded real gateways)",
		"a version is exact only when the assets' hashes or the config name a known release; otherwise the candidates are kept",
		"auth is read from passive answers; releases that answer alike with and without a token read unknown unless the opt-in probe ran",
		"advisories are implied by the version, not confirmed by exploitation",
	}
	m.Definitions = Definitions
	return m
}

// AdvisoryCount is one advisory and how many gateways run a release it affects.
type AdvisoryCount struct {
	ID       string
	Aliases  []string
	Severity string
	Summary  string
	Gateways int64
}

// Document is one run's report.
type Document struct {
	Run        store.Summary
	Trend      []TrendRow // the run's series: every day's last complete run, up to the run
	Method     Methodology
	Advisories []AdvisoryCount // most gateways first
	Latest     string          // the newest stable OpenClaw release known
	Generated  time.Time
	charts     []Chart
}

// NewDocument assembles the report of run from every run's summary (for the trend), the rules
// (probes, markers, advisories, the newest release) and what the caller knows of the plan.
// The trend is the run's series alone, up to the run: a later run, or a run of other targets
// on the same day, never stands in for it.
func NewDocument(run store.Summary, runs []store.Summary, rules *fingerprint.Rules, m Methodology, generated time.Time) (*Document, error) {
	d := &Document{Run: run, Method: MethodCard(run, m), Latest: rules.Latest("openclaw"), Generated: generated.UTC()}
	var upTo []store.Summary
	for _, r := range runs {
		if r.SeriesID() == run.SeriesID() && r.ID <= run.ID {
			upTo = append(upTo, r)
		}
	}
	for _, r := range Trend(upTo) {
		if r.Day <= run.StartedAt.UTC().Format("2006-01-02") {
			d.Trend = append(d.Trend, r)
		}
	}
	for _, p := range rules.Probes {
		s := p.Method + " " + p.Path
		switch {
		case p.OptIn != "":
			s += " (opt-in: --active-probe " + p.OptIn + ")"
		case p.Gated:
			s += " (only after a marker matched)"
		}
		d.Method.Probes = append(d.Method.Probes, s)
	}
	for _, p := range rules.Products {
		ids := make([]string, len(p.Markers))
		for i, mk := range p.Markers {
			ids[i] = mk.ID
		}
		d.Method.Markers = append(d.Method.Markers, fmt.Sprintf("%s: %s (at least %d independent groups)", p.ID, strings.Join(ids, ", "), p.MinGroups))
	}
	known := map[string]fingerprint.Advisory{}
	for _, a := range rules.Advisories {
		known[a.ID] = a
	}
	for id, n := range run.ByAdvisory {
		a := known[id]
		d.Advisories = append(d.Advisories, AdvisoryCount{ID: id, Aliases: a.Aliases, Severity: strings.ToLower(a.Severity), Summary: a.Summary, Gateways: n})
	}
	slices.SortFunc(d.Advisories, func(a, b AdvisoryCount) int {
		return cmp.Or(cmp.Compare(b.Gateways, a.Gateways), cmp.Compare(a.ID, b.ID))
	})
	var err error
	d.charts, err = d.Charts()
	return d, err
}

// Row is one line of a count table.
type Row struct {
	Key   string
	Count int64
	Share string // of the run's gateways
}

// Table lists a count map for a template: versions newest first, anything else by count.
func (d *Document) Table(name string) []Row {
	var m map[string]int64
	order := func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) }
	switch name {
	case "version":
		m, order = d.Run.ByVersion, func(a, b string) int { return fingerprint.CompareVersions(b, a) }
	case "auth":
		m = d.Run.ByAuth
	case "product":
		m = d.Run.ByProduct
	case "official":
		m = d.Run.ByOfficial
	case "flag":
		m = d.Run.ByFlag
	case "miit":
		m = d.Run.ByMIIT
	case "country":
		m = d.Run.ByCountry
	case "asn":
		m = d.Run.ByASN
	}
	var rows []Row
	for _, k := range slices.SortedFunc(maps.Keys(m), order) {
		rows = append(rows, Row{Key: cmp.Or(TextCell(k), "unknown"), Count: m[k], Share: share(m[k], d.Run.Detected)})
	}
	return rows
}

func share(n, of int64) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// Series is the run's series as a person reads it.
func (d *Document) Series() string { return TextCell(d.Run.SeriesLabel()) }

// ChartList is the rendered figures, in order.
func (d *Document) ChartList() []Chart { return d.charts }

//go:embed templates
var templates embed.FS

// mdCell makes a value safe in a Markdown table cell: no control bytes, no pipes, no HTML.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'", "[", `\[`, "]", `\]`).Replace(TextCell(s))
}

var funcs = map[string]any{
	"md":    mdCell,
	"clean": TextCell,
	"join":  strings.Join,
	"svg64": func(b []byte) string {
		return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(b)
	},
	"day": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"rfc": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}

var (
	mdTemplate   = texttemplate.Must(texttemplate.New("report.md.tmpl").Funcs(funcs).ParseFS(templates, "templates/report.md.tmpl"))
	htmlTemplate = htmltemplate.Must(htmltemplate.New("report.html.tmpl").Funcs(htmltemplate.FuncMap(funcs)).Funcs(htmltemplate.FuncMap{
		"svg": func(b []byte) htmltemplate.HTML { return htmltemplate.HTML(b) }, // rendered here from numbers and escaped labels
	}).ParseFS(templates, "templates/report.html.tmpl"))
)

// WriteMarkdown writes the report as Markdown, charts inline as SVG data URIs.
func (d *Document) WriteMarkdown(w io.Writer) error { return mdTemplate.Execute(w, d) }

// WriteHTML writes the report as one self-contained HTML page (inline CSS and SVG, no script).
func (d *Document) WriteHTML(w io.Writer) error { return htmlTemplate.Execute(w, d) }
