package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/observation"
)

// RowWriter prints results to a writer (stdout) in the chosen format, one as it arrives: gateways,
// and with --all every HTTP service.
type RowWriter struct {
	all    bool
	format interface{ writeRecord(Record) error }
	// BeforeRow, when set, runs before each row (the progress line clears itself).
	BeforeRow func()
}

// Write prints o when it is a gateway (with all: any HTTP service), at once; the table adds
// its note at Flush.
func (w *RowWriter) Write(o observation.Observation) error {
	if !o.Detected() && !(w.all && o.HTTPStatus != 0) {
		return nil
	}
	if w.BeforeRow != nil {
		w.BeforeRow()
	}
	return w.format.writeRecord(toRecord(o))
}

// RowFormats are the formats of NewRowWriter.
var RowFormats = []string{"jsonl", "csv", "table"}

// NewRowWriter writes scan's rows to w as jsonl, csv (its header at once) or table.
func NewRowWriter(w io.Writer, format string, all bool) (*RowWriter, error) {
	switch format {
	case "jsonl":
		return &RowWriter{all: all, format: &jsonlWriter{enc: json.NewEncoder(w)}}, nil
	case "csv":
		cw := NewCSV(w)
		if err := cw.Write(csvHeader); err != nil {
			return nil, err
		}
		cw.Flush()
		return &RowWriter{all: all, format: &csvWriter{w: cw}}, cw.Error()
	case "table":
		return &RowWriter{all: all, format: &tableWriter{w: w}}, nil
	}
	return nil, fmt.Errorf("--format %q: want jsonl, csv or table", format)
}

// Record is the JSON Lines contract: scripts depend on these keys.
type Record struct {
	IP                string    `json:"ip"`
	Port              int       `json:"port"`
	Scheme            string    `json:"scheme"`
	Product           string    `json:"product"`
	Version           string    `json:"version"`
	VersionCandidates *[]string `json:"version_candidates,omitempty"` // a gateway whose version is not exact
	VersionStatus     string    `json:"version_status,omitempty"`
	Auth              *string   `json:"auth"` // null for what is not a gateway
	Official          *bool     `json:"official"`
	Advisories        []string  `json:"advisories"`
	Evidence          []string  `json:"evidence"`
	ObservedAt        string    `json:"observed_at"`
	// Beyond the contract: more context for triage.
	Outcome  string   `json:"outcome"`
	Channel  string   `json:"channel,omitempty"`
	Commit   string   `json:"commit,omitempty"`
	Honeypot bool     `json:"honeypot,omitempty"`
	Flags    []string `json:"flags,omitempty"`
	MIIT     []string `json:"miit_violations,omitempty"`
	Status   int      `json:"http_status,omitempty"`
	Title    string   `json:"title,omitempty"`
	Server   string   `json:"server,omitempty"`
	TLS      string   `json:"tls,omitempty"`
	ASN      uint32   `json:"asn,omitempty"`
	ASOrg    string   `json:"as_org,omitempty"`
	Country  string   `json:"country,omitempty"`
	Aliased  string   `json:"aliased,omitempty"`

	observed time.Time
}

// toRecord maps an observation to the contract: a detected gateway's outcome is its product
// (openclaw, clawdbot or moltbot, as the product key says); what is not a gateway has a null
// auth and no version_candidates; a gateway without an exact version always has
// version_candidates (empty when nothing narrowed it).
func toRecord(o observation.Observation) Record {
	r := Record{
		IP: o.IP.String(), Port: int(o.Port), Scheme: o.Scheme, Product: o.Product, Version: o.Version, VersionStatus: o.VersionStatus, Official: o.Official,
		Advisories: nonNil(o.Advisories), Evidence: nonNil(o.Evidence), ObservedAt: o.ObservedAt.Format(time.RFC3339),
		Outcome: string(o.Outcome), Channel: o.Channel, Commit: o.Commit, Honeypot: o.Honeypot, Flags: o.Flags, MIIT: o.MIIT,
		Status: o.HTTPStatus, Title: o.Title, Server: o.Server, TLS: o.TLS, observed: o.ObservedAt,
		ASN: o.ASN, ASOrg: TextCell(o.ASOrg), Country: TextCell(o.Country), Aliased: o.Aliased,
	}
	if o.Detected() {
		r.Outcome = o.Product
		auth := o.Auth
		r.Auth = &auth
		if o.Version == "" {
			vc := nonNil(o.VersionCandidates)
			r.VersionCandidates = &vc
		}
	}
	return r
}

// AuthText is the auth posture, or "" for what is not a gateway.
func (r Record) AuthText() string {
	if r.Auth == nil {
		return ""
	}
	return *r.Auth
}

// Candidates are the version candidates, nil when the record has none.
func (r Record) Candidates() []string {
	if r.VersionCandidates == nil {
		return nil
	}
	return *r.VersionCandidates
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

type jsonlWriter struct{ enc *json.Encoder }

func (j *jsonlWriter) writeRecord(rec Record) error { return j.enc.Encode(rec) }

var csvHeader = []string{"timestamp", "ip", "port", "scheme", "product", "version", "version_candidates", "auth",
	"official", "advisories", "flags", "miit_violations", "outcome", "http_status", "title", "server", "version_status"}

type csvWriter struct{ w CSV }

func (c *csvWriter) writeRecord(rec Record) error {
	c.w.Write([]string{
		rec.observed.UTC().Format("2006-01-02 15:04:05"), rec.IP, fmt.Sprint(rec.Port), rec.Scheme, rec.Product,
		rec.Version, strings.Join(rec.Candidates(), ","), rec.AuthText(), observation.OfficialText(rec.Official),
		strings.Join(rec.Advisories, ","), strings.Join(rec.Flags, ","), strings.Join(rec.MIIT, ","), rec.Outcome,
		fmt.Sprint(rec.Status), rec.Title, rec.Server, rec.VersionStatus,
	})
	c.w.Flush()
	return c.w.Error()
}

// tableColumns are the table's headings and widths: with one space between, a row fits 100
// columns; a longer cell is cut, its last rune an ellipsis, but never an address: IP holds the
// longest IPv6 text (39). FLAGS takes the rest.
var tableColumns = []struct {
	name  string
	width int
}{{"IP", 39}, {"PORT", 5}, {"PRODUCT", 8}, {"VERSION", 12}, {"AUTH", 8}, {"OFFICIAL", 8}, {"ADV", 3}, {"FLAGS", 10}}

// TableWidth is the most columns a table row takes.
const TableWidth = 100

// tableWriter is for people: a row per gateway as it is found (fixed columns, so rows printed
// apart line up), and when the run ends a note on what an unknown auth means.
type tableWriter struct {
	w       io.Writer
	started bool
	unknown int
}

func (t *tableWriter) writeRecord(rec Record) error {
	if err := t.header(); err != nil {
		return err
	}
	if rec.AuthText() == "unknown" {
		t.unknown++
	}
	return t.writeRow(rec)
}

func (t *tableWriter) header() error {
	if t.started {
		return nil
	}
	t.started = true
	names := make([]string, len(tableColumns))
	for i, c := range tableColumns {
		names[i] = c.name
	}
	return t.line(names)
}

// line prints one row of cells, each cut or padded to its column's width.
func (t *tableWriter) line(cells []string) error {
	var b strings.Builder
	for i, c := range tableColumns {
		cell := []rune(cells[i])
		if len(cell) > c.width {
			cell = append(cell[:c.width-1], '…')
		}
		b.WriteString(string(cell))
		if i < len(tableColumns)-1 {
			b.WriteString(strings.Repeat(" ", c.width-len(cell)+1))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(t.w, b.String())
	return err
}

// Flush ends the table: its header when no row came, and the note on unknown auth; only the
// table format has anything to add at the end.
func (w *RowWriter) Flush() error {
	t, ok := w.format.(*tableWriter)
	if !ok {
		return nil
	}
	if err := t.header(); err != nil {
		return err
	}
	if t.unknown > 0 {
		_, err := fmt.Fprintf(t.w, "auth unknown for %d gateways: their passive answers are the same with and without a token on these releases;\n"+
			"  --active-probe invoke (opt-in: one POST /tools/invoke with body {}, refused by validation before any tool runs) tells them apart\n", t.unknown)
		t.unknown = 0
		return err
	}
	return nil
}

func (t *tableWriter) writeRow(rec Record) error {
	product, ver := rec.Product, rec.Version
	if product == "" {
		product = "-"
	}
	if vc := rec.Candidates(); ver == "" && len(vc) > 0 {
		ver = vc[0] + "…" + vc[len(vc)-1]
	}
	if ver == "" {
		ver = "?"
	}
	return t.line([]string{rec.IP, fmt.Sprint(rec.Port), TextCell(product), TextCell(ver), TextCell(orDash(rec.AuthText())),
		observation.OfficialText(rec.Official), fmt.Sprint(len(rec.Advisories)), TextCell(strings.Join(rec.Flags, ","))})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
