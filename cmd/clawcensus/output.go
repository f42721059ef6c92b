package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/store"
)

// resultWriter prints results to stdout in the chosen format, one as it arrives: gateways,
// and with --all every HTTP service.
type resultWriter struct {
	all    bool
	format interface{ writeRecord(record) error }
}

func (w *resultWriter) write(o store.Observation) error {
	if o.Outcome != store.OutcomeOpenClaw && !(w.all && o.HTTPStatus != 0) {
		return nil
	}
	return w.format.writeRecord(toRecord(o))
}

func newWriter(w io.Writer, format string, all bool) (*resultWriter, error) {
	switch format {
	case "jsonl":
		return &resultWriter{all, &jsonlWriter{enc: json.NewEncoder(w)}}, nil
	case "csv":
		cw := newSafeCSV(w)
		if err := cw.Write(csvHeader); err != nil {
			return nil, err
		}
		cw.Flush()
		return &resultWriter{all, &csvWriter{w: cw}}, cw.Error()
	case "table":
		fmt.Fprintf(w, tableFormat, "IP", "PORT", "PRODUCT", "VERSION", "AUTH", "OFFICIAL", "ADVISORIES", "FLAGS")
		return &resultWriter{all, &tableWriter{w: w}}, nil
	}
	return nil, usagef("--format %q: want jsonl, csv or table", format)
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
	ASN      uint32   `json:"asn,omitempty"`
	ASOrg    string   `json:"as_org,omitempty"`
	Country  string   `json:"country,omitempty"`

	observed time.Time
}

func toRecord(o store.Observation) record {
	return record{
		IP: o.IP.String(), Port: int(o.Port), Scheme: o.Scheme, Product: o.Product,
		Version: o.Version, VersionCandidates: o.VersionCandidates, Auth: o.Auth, Official: o.Official,
		Advisories: nonNil(o.Advisories), Evidence: nonNil(o.Evidence), ObservedAt: o.ObservedAt.Format(time.RFC3339),
		Outcome: string(o.Outcome), Channel: o.Channel, Honeypot: o.Honeypot, Flags: o.Flags, MIIT: o.MIIT,
		Status: o.HTTPStatus, Title: o.Title, Server: o.Server, TLS: o.TLS, observed: o.ObservedAt,
		ASN: o.ASN, ASOrg: o.ASOrg, Country: o.Country,
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

type jsonlWriter struct{ enc *json.Encoder }

func (j *jsonlWriter) writeRecord(rec record) error { return j.enc.Encode(rec) }

var csvHeader = []string{"timestamp", "ip", "port", "scheme", "product", "version", "version_candidates", "auth",
	"official", "advisories", "flags", "miit_violations", "outcome", "http_status", "title", "server"}

type csvWriter struct{ w safeCSV }

func (c *csvWriter) writeRecord(rec record) error {
	c.w.Write([]string{
		rec.observed.UTC().Format("2006-01-02 15:04:05"), rec.IP, fmt.Sprint(rec.Port), rec.Scheme, rec.Product,
		rec.Version, strings.Join(rec.VersionCandidates, ","), rec.Auth, store.OfficialText(rec.Official),
		strings.Join(rec.Advisories, ","), strings.Join(rec.Flags, ","), strings.Join(rec.MIIT, ","), rec.Outcome,
		fmt.Sprint(rec.Status), rec.Title, rec.Server,
	})
	c.w.Flush()
	return c.w.Error()
}

const tableFormat = "%-39s %-5s %-9s %-22s %-9s %-8s %-10s %s\n"

type tableWriter struct{ w io.Writer }

func (t *tableWriter) writeRecord(rec record) error {
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
	_, err := fmt.Fprintf(t.w, tableFormat, rec.IP, fmt.Sprint(rec.Port), textCell(product), textCell(ver), textCell(orDash(rec.Auth)),
		store.OfficialText(rec.Official), fmt.Sprint(len(rec.Advisories)), textCell(strings.Join(rec.Flags, ",")))
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
