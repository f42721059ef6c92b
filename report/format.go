package report

import (
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/observation"
)

// The formats export writes one run's gateways in (--format).
const (
	FormatShadowserver = "shadowserver" // Shadowserver-style CSV (ShadowserverHeader): the default
	FormatIntelMQ      = "intelmq"      // IntelMQ events, one JSON object a line (intelmq.go)
	FormatXARF         = "xarf"         // X-ARF v4 reports, one JSON object a line (xarf.go)
)

// Formats lists the formats, the default first.
var Formats = []string{FormatShadowserver, FormatIntelMQ, FormatXARF}

// Reporter is who sends a notification: the X-ARF reporter and sender, the IntelMQ feed
// provider. A zero Reporter stands for PlaceholderReporter, which a receiver sees as such
// (the .invalid domain never resolves).
type Reporter struct {
	Org     string // organisation name
	Contact string // contact e-mail address
	Domain  string // the organisation's domain: the contact's when not given
}

// PlaceholderReporter is the reporter of an export given no --reporter.
var PlaceholderReporter = Reporter{Org: "clawcensus operator (unset: export --reporter)", Contact: "abuse@reporter.invalid",
	Domain: "reporter.invalid"}

// ParseReporter reads --reporter "ORG,EMAIL[,DOMAIN]"; "" is PlaceholderReporter.
func ParseReporter(s string) (Reporter, error) {
	if strings.TrimSpace(s) == "" {
		return PlaceholderReporter, nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return Reporter{}, fmt.Errorf("--reporter %q: want ORG,EMAIL[,DOMAIN]", TextCell(s))
	}
	a, err := mail.ParseAddress(parts[1])
	if err != nil || a.Name != "" || a.Address != parts[1] {
		return Reporter{}, fmt.Errorf("--reporter: %q is not a bare e-mail address", TextCell(parts[1]))
	}
	r := Reporter{Org: parts[0], Contact: parts[1], Domain: parts[1][strings.LastIndex(parts[1], "@")+1:]}
	if len(parts) == 3 && parts[2] != "" {
		r.Domain = parts[2]
	}
	if !hostname.MatchString(r.Domain) {
		return Reporter{}, fmt.Errorf("--reporter: domain %q is not a host name", TextCell(r.Domain))
	}
	return r, nil
}

// ExportFormat is how Exporter.Write writes: its zero value is Shadowserver CSV, from
// PlaceholderReporter, with IntelMQ's time.observation the time of writing.
type ExportFormat struct {
	Name     string // one of Formats; "" is FormatShadowserver
	Reporter Reporter
	Now      time.Time // IntelMQ's time.observation
}

// Ext is the file name extension of the format's files: csv, or jsonl for JSON lines.
func (f ExportFormat) Ext() string {
	if f.Name == FormatIntelMQ || f.Name == FormatXARF {
		return "jsonl"
	}
	return "csv"
}

// ParseExportFormat reads --format (one of Formats, "" the default) and --reporter
// (ParseReporter). A pack (--by) writes its recipients' files in any of them.
func ParseExportFormat(format, reporter string, now time.Time) (ExportFormat, error) {
	switch format {
	case "", FormatShadowserver:
		format = FormatShadowserver
	case FormatIntelMQ, FormatXARF:
	default:
		return ExportFormat{}, fmt.Errorf("--format %q: want %s", TextCell(format), strings.Join(Formats, ", "))
	}
	r, err := ParseReporter(reporter)
	if err != nil {
		return ExportFormat{}, err
	}
	return ExportFormat{Name: format, Reporter: r, Now: now}, nil
}

// Write writes the gateways of obs in e.Format, in the order given.
func (e *Exporter) Write(w io.Writer, obs []observation.Observation) error {
	switch e.Format.Name {
	case FormatIntelMQ:
		return e.WriteIntelMQ(w, obs)
	case FormatXARF:
		return e.WriteXARF(w, obs)
	}
	return e.WriteCSV(w, obs)
}

// ExportHelp is the description of clawcensus export.
const ExportHelp = `--format shadowserver (the default) writes CSV whose columns follow Shadowserver's
scan_http_vulnerable report (consumers key on the header), then clawcensus's own. asn, geo and
as_name come from the databases given to scan (--asn-db, --country-db); region, city, hostname
and the like stay empty: no lookups are made. --format intelmq writes IntelMQ events (one JSON
object a line, feed.name clawcensus-openclaw, taxonomy vulnerable); --format xarf writes X-ARF
v4 reports (one a line, category vulnerability, type open or cve); --reporter ORG,EMAIL[,DOMAIN]
names the sender (without it, a placeholder on the .invalid domain).
Per-IP data is TLP:AMBER: share it only with the network's owner or its CERT.

Without --run, export takes the newest run only when it is complete and of the census's series
(the series of the widest complete run); otherwise it stops and names the --run N to pass. With
--run N it exports that run, warning when it is not complete. Probable honeypots (they answer
like a gateway but contradict a real one) are left out, as they are of every count;
--include-honeypots writes them too, tagged probable-honeypot, severity info.

With --by asn|country|cidrs|contact and -o DIR (new or empty), export writes a notification
pack: YYYY-MM-DD-scan_openclaw-<recipient>.csv (.jsonl for intelmq and xarf) per recipient
(as64500, de, a name from --recipients, or a contact's address made a name) for IPv4 and
YYYY-MM-DD-scan6_openclaw-<recipient>.csv for IPv6, as Shadowserver keeps the families apart;
index.csv (files and counts, TLP:AMBER or its strictest row's), summary.md (the run's report,
counts only, TLP:CLEAR) and manifest.json (run, tool version, data sets, file hashes). --recipients FILE for --by
cidrs: one 'prefix,recipient' line per network (a first line 'prefix,recipient' is a header);
the most specific prefix wins; gateways in none go to 'unassigned'. A recipient is 1 to 63
lowercase letters, digits and hyphens, not unassigned, index, manifest or summary; a prefix may
be listed once. --by contact reads the newest contacts version in the store (clawcensus
contacts import; --contacts-version N for another) and adds a cover letter per contact
(YYYY-MM-DD-cover-<recipient>.md and .txt: what was found, when, how, the fix per host, TLP,
how to opt out); gateways with no contact go to YYYY-MM-DD-no-contact.csv, by registry and
country. The CSV's last column, tlp, is AMBER in every row. A contact the CERT's own table
gives a tlp or format gets its files in that format and marked with that TLP (IntelMQ's tlp
takes TLP 1.0: CLEAR is WHITE, AMBER+STRICT is RED, extra.tlp says which); index.csv and
manifest.json say each recipient's. The README shows the IntelMQ Shadowserver parser
configuration that reads these files.

--changes-since RUN (an earlier run of the same series) exports what changed instead: each
ip:port exposed (severity medium or above) in either run, classed new, regressed, still-exposed
or fixed, in a change column (intelmq: extra.change; xarf: change and a change: tag); a pack
lists each recipient's fixed gateways apart, in <file>-fixed.csv. An ip:port the later run did not
look at (outside its targets, the run not complete) is unchecked: never called fixed, never
exported. --mark-sent records what the export tells whom (the recipient, or 'file'), what it said
and when; --resend-after AGE (7d, 36h) leaves out a finding whose latest notice to the same
recipient within AGE said the same.`
