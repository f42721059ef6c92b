package report

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/observation"
)

// XARFVersion is the X-ARF schema version the reports follow (xarf/xarf-spec,
// schemas/v4/xarf-core.json: "4.x.y").
const XARFVersion = "4.0.0"

// XARFContact is X-ARF's contact_info: a reporter or sender.
type XARFContact struct {
	Org     string `json:"org"`
	Contact string `json:"contact"`
	Domain  string `json:"domain"`
}

// XARFReport is one gateway as an X-ARF v4 report of category vulnerability, type open or
// (when an advisory on the gateway's own surface has a CVE id) cve. The field names are the
// published schema's (xarf/xarf-spec schemas/v4: xarf-core.json, vulnerability-class.json,
// types/vulnerability-open.json, types/vulnerability-cve.json).
type XARFReport struct {
	XARFVersion      string      `json:"xarf_version"`
	ReportID         string      `json:"report_id"`
	Timestamp        string      `json:"timestamp"`
	Reporter         XARFContact `json:"reporter"`
	Sender           XARFContact `json:"sender"`
	SourceIdentifier string      `json:"source_identifier"`
	SourcePort       int         `json:"source_port"`
	Category         string      `json:"category"`
	Type             string      `json:"type"`
	EvidenceSource   string      `json:"evidence_source"`
	Service          string      `json:"service"`
	ServiceVersion   string      `json:"service_version,omitempty"`
	ServicePort      int         `json:"service_port"`
	CVEID            string      `json:"cve_id,omitempty"`
	CVEIDs           []string    `json:"cve_ids,omitempty"`
	Severity         string      `json:"severity"`
	Description      string      `json:"description"`
	Tags             []string    `json:"tags"`
	// Change is the gateway's change since an earlier run (export --changes-since), also a
	// change: tag; the core schema allows more properties.
	Change string `json:"change,omitempty"`
}

var (
	cveID    = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]+$`)
	hostname = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
	tagWord  = regexp.MustCompile(`[^a-z0-9_+.-]+`)
)

// XARF is one gateway as an X-ARF report with the given id (a UUID).
func (e *Exporter) XARF(o observation.Observation, id string) XARFReport {
	v := e.judge.Verdict(o)
	who := cmp.Or(e.Format.Reporter, PlaceholderReporter)
	contact := XARFContact{Org: who.Org, Contact: who.Contact, Domain: who.Domain}
	r := XARFReport{XARFVersion: XARFVersion, ReportID: id, Timestamp: o.ObservedAt.UTC().Format(time.RFC3339),
		Reporter: contact, Sender: contact, SourceIdentifier: o.IP.Unmap().String(), SourcePort: int(o.Port),
		Category: "vulnerability", Type: "open", EvidenceSource: "vulnerability_scan",
		Service: TextCell(cmp.Or(o.Product, "openclaw")) + " gateway", ServiceVersion: TextCell(o.Version), ServicePort: int(o.Port),
		Severity: v.Severity, Description: e.description(o, v), Tags: []string{"tlp:" + tag(e.tlp()), "product:" + tag(o.Product)}}
	if v.ProbableHoneypot {
		r.Tags = append(r.Tags, "verdict:probable-honeypot")
	}
	if r.Severity == "info" {
		r.Severity = "informational" // the schema's word
	}
	for _, a := range e.judge.vulnerable(o) {
		if cveID.MatchString(a) && !slices.Contains(r.CVEIDs, a) && len(r.CVEIDs) < 10 {
			r.CVEIDs = append(r.CVEIDs, a)
		}
	}
	if len(r.CVEIDs) > 0 {
		r.Type, r.CVEID = "cve", r.CVEIDs[0]
	}
	if o.Auth != "" {
		r.Tags = append(r.Tags, "auth:"+tag(o.Auth))
	}
	if r.Change = e.changeOf(o); r.Change != "" {
		r.Tags = append(r.Tags, "change:"+r.Change)
	}
	for _, f := range o.Flags {
		if len(r.Tags) < 20 {
			r.Tags = append(r.Tags, "flag:"+tag(f))
		}
	}
	if len(r.Description) > 1000 {
		r.Description = r.Description[:997] + "..."
	}
	return r
}

// tag makes s a tag's predicate: lowercase letters, digits and _+-. only.
func tag(s string) string {
	return cmp.Or(strings.Trim(tagWord.ReplaceAllString(strings.ToLower(s), "-"), "-_+."), "unknown")
}

// WriteXARF writes an X-ARF report (XARF) a line for each gateway in obs, in the order
// given, each with a new random report id.
func (e *Exporter) WriteXARF(w io.Writer, obs []observation.Observation) error {
	enc := json.NewEncoder(w)
	for _, o := range obs {
		if _, ok := e.Exports(o); !ok {
			continue
		}
		if err := enc.Encode(e.XARF(o, newUUID())); err != nil {
			return err
		}
	}
	return nil
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
