package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
)

// resultWriter prints results to stdout in the chosen format, one as it arrives.
type resultWriter interface {
	write(fingerprint.Result) error
}

func newWriter(w io.Writer, format string, all bool) (resultWriter, error) {
	switch format {
	case "jsonl":
		return &jsonlWriter{enc: json.NewEncoder(w), all: all}, nil
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return nil, err
		}
		cw.Flush()
		return &csvWriter{w: cw, all: all}, cw.Error()
	case "table":
		fmt.Fprintf(w, tableFormat, "IP", "PORT", "PRODUCT", "VERSION", "AUTH", "OFFICIAL", "ADVISORIES", "FLAGS")
		return &tableWriter{w: w, all: all}, nil
	}
	return nil, usagef("--format %q: want jsonl, csv or table", format)
}

func shown(r fingerprint.Result, all bool) bool {
	return r.Detected() || (all && r.Status != 0)
}

// record is the JSON Lines contract: scripts depend on these keys.
type record struct {
	IP                string   `json:"ip"`
	Port              int      `json:"port"`
	Scheme            string   `json:"scheme"`
	Product           string   `json:"product"`
	Version           string   `json:"version"`
	VersionCandidates []string `json:"version_candidates,omitempty"`
	Auth              string   `json:"auth"`
	Official          *bool    `json:"official"`
	Advisories        []string `json:"advisories"`
	Evidence          []string `json:"evidence"`
	ObservedAt        string   `json:"observed_at"`
	// Beyond the contract: more context for triage.
	Outcome  string   `json:"outcome"`
	Channel  string   `json:"channel,omitempty"`
	Honeypot bool     `json:"honeypot,omitempty"`
	Flags    []string `json:"flags,omitempty"`
	MIIT     []string `json:"miit_violations,omitempty"`
	Status   int      `json:"http_status,omitempty"`
	Title    string   `json:"title,omitempty"`
	Server   string   `json:"server,omitempty"`
	TLS      string   `json:"tls,omitempty"`
}

func toRecord(r fingerprint.Result) record {
	return record{
		IP: r.Addr.Addr().String(), Port: int(r.Addr.Port()), Scheme: r.Scheme, Product: r.Product,
		Version: r.Version, VersionCandidates: r.VersionCandidates, Auth: r.Auth, Official: r.Official,
		Advisories: nonNil(r.Advisories), Evidence: nonNil(r.Evidence), ObservedAt: r.ObservedAt.Format(time.RFC3339),
		Outcome: r.Outcome, Channel: r.Channel, Honeypot: r.Honeypot, Flags: r.Flags, MIIT: r.MIIT,
		Status: r.Status, Title: r.Title, Server: r.Server, TLS: r.TLS,
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

type jsonlWriter struct {
	enc *json.Encoder
	all bool
}

func (j *jsonlWriter) write(r fingerprint.Result) error {
	if !shown(r, j.all) {
		return nil
	}
	return j.enc.Encode(toRecord(r))
}

var csvHeader = []string{"timestamp", "ip", "port", "scheme", "product", "version", "version_candidates", "auth",
	"official", "advisories", "flags", "miit_violations", "outcome", "http_status", "title", "server"}

type csvWriter struct {
	w   *csv.Writer
	all bool
}

func (c *csvWriter) write(r fingerprint.Result) error {
	if !shown(r, c.all) {
		return nil
	}
	rec := toRecord(r)
	c.w.Write([]string{
		r.ObservedAt.UTC().Format("2006-01-02 15:04:05"), rec.IP, fmt.Sprint(rec.Port), rec.Scheme, rec.Product,
		rec.Version, strings.Join(rec.VersionCandidates, ","), rec.Auth, officialText(rec.Official),
		strings.Join(rec.Advisories, ","), strings.Join(rec.Flags, ","), strings.Join(rec.MIIT, ","), rec.Outcome,
		fmt.Sprint(rec.Status), csvSafe(rec.Title), csvSafe(rec.Server),
	})
	c.w.Flush()
	return c.w.Error()
}

// csvSafe keeps a spreadsheet from reading a hostile cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

func officialText(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "true"
	}
	return "false"
}

const tableFormat = "%-39s %-5s %-9s %-22s %-9s %-8s %-10s %s\n"

type tableWriter struct {
	w   io.Writer
	all bool
}

func (t *tableWriter) write(r fingerprint.Result) error {
	if !shown(r, t.all) {
		return nil
	}
	rec := toRecord(r)
	product, ver := rec.Product, rec.Version
	if product == "" {
		product = "-"
	}
	if ver == "" && len(rec.VersionCandidates) > 0 {
		ver = rec.VersionCandidates[0] + "…" + rec.VersionCandidates[len(rec.VersionCandidates)-1]
	}
	if ver == "" {
		ver = "?"
	}
	_, err := fmt.Fprintf(t.w, tableFormat, rec.IP, fmt.Sprint(rec.Port), product, ver, orDash(rec.Auth),
		officialText(rec.Official), fmt.Sprint(len(rec.Advisories)), strings.Join(rec.Flags, ","))
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
