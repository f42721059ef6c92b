package report

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/contacts"
	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/internal/atomicfile"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
)

// ShadowserverHeader follows Shadowserver's scan_http_vulnerable report (consumers key on the
// header), then clawcensus's own columns. The last, tlp, is the file's TLP label in every row
// (Exporter.TLP): the marking travels inside the file, where a CSV reader keeps it (a comment
// line would break many).
var ShadowserverHeader = []string{"timestamp", "severity", "ip", "protocol", "port", "hostname", "tag", "asn", "geo",
	"region", "city", "naics", "hostname_source", "sector", "http", "http_code", "http_reason", "content_type",
	"connection", "www_authenticate", "set_cookie", "server", "content_length", "transfer_encoding", "http_date",
	"version", "build_date", "detail", "build_branch",
	"product", "auth", "official", "advisories", "miit_violations", "evidence", "as_name", "version_status", "tlp"}

// Exporter writes gateways as Shadowserver-style rows.
type Exporter struct {
	built map[string]string // package@version → build date
	judge *Judge
	// Format is what Write writes and who sends it (ParseExportFormat).
	Format ExportFormat
	// IncludeHoneypots writes the probable honeypots too, tagged probable-honeypot; by
	// default they are left out, as they are left out of every count.
	IncludeHoneypots bool
	// delta, set by Notify.Select, gives each row its change since an earlier run.
	delta *delta
	// Contacts says who to tell about each gateway: a pack --by contact groups by it, and
	// IntelMQ events carry it as source.abuse_contact. Nil: no contacts.
	Contacts *contacts.DB
	// TLP marks the per-host files Write writes (the tlp column, IntelMQ's tlp, X-ARF's tlp:
	// tag) and a pack's cover letters and lists of fixed gateways: one of contacts.TLPs; ""
	// is DefaultTLP. A pack by contact sets it per contact from the CERT's table.
	TLP string
}

// NewExporter reads build dates from the rules, and judges with them (NewJudge).
func NewExporter(rules *fingerprint.Rules) *Exporter {
	e := &Exporter{built: map[string]string{}, judge: NewJudge(rules)}
	if rules != nil {
		for _, r := range rules.Releases {
			e.built[r.Package+"@"+r.Version] = r.BuiltAt
		}
	}
	return e
}

// Judge is the judge whose verdicts the exporter writes.
func (e *Exporter) Judge() *Judge { return e.judge }

// Exports reports whether o is written, with its verdict: a gateway that counts, or a probable
// honeypot when IncludeHoneypots is set.
func (e *Exporter) Exports(o observation.Observation) (Verdict, bool) {
	v := e.judge.Verdict(o)
	return v, v.Counts || (v.ProbableHoneypot && e.IncludeHoneypots)
}

// Honeypots counts the probable honeypots among obs, and says in a few words what the
// exporter does with them ("" when there are none).
func (e *Exporter) Honeypots(obs []observation.Observation) (n int, note string) {
	for _, o := range obs {
		if o.ProbableHoneypot() {
			n++
		}
	}
	return n, e.honeypotNote(n)
}

func (e *Exporter) honeypotNote(n int) string {
	switch {
	case n == 0:
		return ""
	case e.IncludeHoneypots:
		return fmt.Sprintf("%d probable honeypots included, tagged probable-honeypot", n)
	}
	return fmt.Sprintf("%d probable honeypots left out (answer like a gateway, contradict a real one; --include-honeypots puts them in)", n)
}

// Row is one gateway's row under ShadowserverHeader.
func (e *Exporter) Row(o observation.Observation) []string {
	v := e.judge.Verdict(o)
	return []string{
		o.ObservedAt.UTC().Format("2006-01-02 15:04:05"), v.Severity, o.IP.String(), "tcp",
		fmt.Sprint(o.Port), "", strings.Join(e.tags(o, v), ","), asnText(o.ASN), o.Country, "", "", "", "", "", o.Scheme,
		fmt.Sprint(o.HTTPStatus), "", "", "", "", "", o.Server, "", "", "",
		o.Version, e.built[o.Product+"@"+o.Version], detail(o), o.Channel,
		o.Product, o.Auth, observation.OfficialText(o.Official), strings.Join(o.Advisories, ","), strings.Join(o.MIIT, ","),
		strings.Join(o.Evidence, "; "), o.ASOrg, o.VersionStatus, e.tlp(),
	}
}

// WriteCSV writes ShadowserverHeader and a row (Row) for each gateway in obs, an
// observation with a product, in the order given.
func (e *Exporter) WriteCSV(w io.Writer, obs []observation.Observation) error {
	c := NewCSV(w)
	c.Write(e.deltaColumns(slices.Clip(ShadowserverHeader), "change"))
	for _, o := range obs {
		if _, ok := e.Exports(o); ok {
			c.Write(e.deltaColumns(e.Row(o), e.changeOf(o)))
		}
	}
	c.Flush()
	return c.Error()
}

// tags is Shadowserver's lowercase tag list: product, posture, then advisories; a probable
// honeypot (written only when asked for) says so first.
func (e *Exporter) tags(o observation.Observation, v Verdict) []string {
	t := []string{o.Product}
	if v.ProbableHoneypot {
		t = []string{"probable-honeypot", o.Product}
	}
	switch o.Auth {
	case observation.AuthNone:
		t = append(t, "no-auth")
	case observation.AuthRequired:
		t = append(t, "auth-required")
	}
	if o.Official != nil && !*o.Official {
		t = append(t, "unofficial-build")
	}
	if o.VersionStatus == observation.VersionNewer {
		t = append(t, observation.VersionNewer)
	}
	if len(e.judge.vulnerable(o)) > 0 {
		t = append(t, "vulnerable-version")
	}
	for _, a := range o.Advisories {
		t = append(t, strings.ToLower(a))
	}
	return t
}

func detail(o observation.Observation) string {
	d := "auth " + o.Auth + ", official " + observation.OfficialText(o.Official)
	if len(o.VersionCandidates) > 0 {
		d += ", version one of " + strings.Join(o.VersionCandidates, " ")
	}
	if len(o.Flags) > 0 {
		d += ", flags " + strings.Join(o.Flags, " ")
	}
	return d
}

func asnText(asn uint32) string {
	if asn == 0 {
		return ""
	}
	return fmt.Sprint(asn)
}

// CIDRRecipient is one line of a recipients file: the networks a CERT or owner answers for.
type CIDRRecipient struct {
	Prefix    netip.Prefix
	Recipient string
}

var recipientName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// recipientRule is what a recipient name may be, as every error about one says it.
const recipientRule = "1 to 63 lowercase letters, digits and hyphens, starting with a letter or digit; not a name the pack gives itself (unassigned, index, manifest, summary)"

// Unassigned is the recipient of the gateways a recipients file lists no prefix for.
const Unassigned = "unassigned"

// ReservedRecipients are the names a pack gives itself: the recipient of what no prefix
// covers, and its own files (index.csv, manifest.json, summary.md). A recipients file may not
// name a recipient so.
var ReservedRecipients = []string{Unassigned, "index", "manifest", "summary"}

// ReadCIDRRecipients reads "prefix,recipient" lines: '#' comments and blank lines are skipped,
// and the first line may be a header ("prefix,recipient"; its first field prefix, cidr,
// network or ip). A recipient name becomes part of a file name (recipientRule). A prefix
// listed twice is an error naming both lines: which recipient it was meant for is not the
// file's order to decide.
func ReadCIDRRecipients(path string) ([]CIDRRecipient, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []CIDRRecipient
	lineOf := map[netip.Prefix]int{}
	first := true
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cidr, who, ok := strings.Cut(line, ",")
		cidr, who = strings.TrimSpace(cidr), strings.TrimSpace(who)
		if first && ok && slices.Contains([]string{"prefix", "cidr", "network", "ip"}, strings.ToLower(cidr)) {
			first = false
			continue // a header
		}
		first = false
		switch {
		case !ok:
			return nil, fmt.Errorf("%s:%d: want prefix,recipient", path, n)
		case slices.Contains(ReservedRecipients, who):
			return nil, fmt.Errorf("%s:%d: recipient %q is reserved: a recipient name is %s", path, n, who, recipientRule)
		case !recipientName.MatchString(who):
			return nil, fmt.Errorf("%s:%d: recipient %q: a recipient name is %s", path, n, TextCell(who), recipientRule)
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			a, aerr := netip.ParseAddr(cidr)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%s:%d: %q is not an IP address or CIDR prefix", path, n, TextCell(cidr))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		p = p.Masked()
		if at, dup := lineOf[p]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed on line %d already (for %s): list each prefix once", path, n, p, at, out[slices.IndexFunc(out, func(r CIDRRecipient) bool { return r.Prefix == p })].Recipient)
		}
		lineOf[p] = n
		out = append(out, CIDRRecipient{Prefix: p, Recipient: who})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no recipients", path)
	}
	return out, nil
}

// The report types of a pack's files, one per address family.
const (
	ReportTypeIPv4 = "scan_openclaw"
	ReportTypeIPv6 = "scan6_openclaw"
)

// Recipient is one file of a pack.
type Recipient struct {
	ID         string `json:"recipient"`
	Name       string `json:"name,omitempty"`    // the AS name, when the enrichment data gave one; the CERT table's name of a contact
	Contact    string `json:"contact,omitempty"` // --by contact: the address the file goes to
	Cover      string `json:"cover,omitempty"`   // --by contact: the cover letter (.md; .txt beside it)
	ReportType string `json:"report_type"`       // scan_openclaw (IPv4) or scan6_openclaw (IPv6); no_contact for the list of gateways without one
	File       string `json:"file"`
	Format     string `json:"format,omitempty"` // of File (one of Formats): the CERT table's for a contact, or the export's
	TLP        string `json:"tlp"`              // how File, FixedFile and the cover are marked: TLP:AMBER, or the CERT table's for a contact
	SHA256     string `json:"sha256"`
	Gateways   int    `json:"gateways"`
	NoAuth     int    `json:"no_auth"`
	Vulnerable int    `json:"vulnerable_version"`
	Critical   int    `json:"critical"`
	// Fixed counts the gateways fixed since an earlier run (export --changes-since), listed
	// apart in FixedFile.
	Fixed       int    `json:"fixed,omitempty"`
	FixedFile   string `json:"fixed_file,omitempty"`
	FixedSHA256 string `json:"fixed_sha256,omitempty"`
}

// tally counts rows into r.
func (r *Recipient) tally(rows []observation.Observation, ex *Exporter) {
	for _, o := range rows {
		r.Gateways++
		if o.Auth == observation.AuthNone {
			r.NoAuth++
		}
		if len(o.Advisories) > 0 {
			r.Vulnerable++
		}
		if ex.judge.Verdict(o).Severity == SeverityCritical {
			r.Critical++
		}
	}
}

// packKey is one file of a pack: a recipient and a report type (an address family).
type packKey struct{ id, reportType string }

// Totals are the gateways in recipients and the recipients they go to (a recipient may
// have a file per address family).
func Totals(recipients []Recipient) (gateways, ids int) {
	seen := map[string]bool{}
	for _, r := range recipients {
		gateways += r.Gateways
		seen[r.ID] = true
	}
	return gateways, len(seen)
}

// Pack is what a CERT sends: one file per recipient (TLP:AMBER, in the exporter's format, unless
// the CERT's table says otherwise for a contact), an index, the aggregate summary (TLP:CLEAR)
// and a manifest of the data behind it; --by contact adds a cover letter per contact and the
// list of gateways with none (contactpack.go).
type Pack struct {
	Dir         string
	By          string // one of PackBys
	CIDRs       []CIDRRecipient
	Run         store.Summary
	ToolVersion string
	Generated   time.Time
	// Summary writes the aggregate report (counts only) to summary.md.
	Summary func(io.Writer) error
	// Method is the run's methodology (MethodCard completes it for the manifest).
	Method Methodology
}

// PackBys are the ways a pack splits gateways among recipients (--by).
var PackBys = []string{"asn", "country", "cidrs", "contact"}

// recipientOf names the recipient of one gateway: Unassigned when a cidrs pack has no line for
// it, "" when a contact pack knows no contact.
func (p *Pack) recipientOf(o observation.Observation, ex *Exporter) (id, name, contact string) {
	switch p.By {
	case "contact":
		return contactRecipient(ex.Contacts.For(o.IP, o.ASN))
	case "asn":
		if o.ASN == 0 {
			return "as-unknown", "", ""
		}
		return fmt.Sprintf("as%d", o.ASN), TextCell(o.ASOrg), ""
	case "country":
		c := strings.ToLower(o.Country)
		if len(c) != 2 || c[0] < 'a' || c[0] > 'z' || c[1] < 'a' || c[1] > 'z' {
			return "country-unknown", "", ""
		}
		return c, "", ""
	}
	best := -1
	for i, r := range p.CIDRs {
		if r.Prefix.Contains(o.IP) && (best < 0 || r.Prefix.Bits() > p.CIDRs[best].Prefix.Bits()) {
			best = i
		}
	}
	if best < 0 {
		return Unassigned, "", ""
	}
	return p.CIDRs[best].Recipient, "", ""
}

// RecipientOf names the recipient of each gateway as ex sees it (with its contacts): "file"
// when the export is one file (By "").
func (p *Pack) RecipientOf(ex *Exporter) func(observation.Observation) string {
	return func(o observation.Observation) string {
		if p.By == "" {
			return "file"
		}
		id, _, _ := p.recipientOf(o, ex)
		return id
	}
}

// Write writes the pack into Dir, which must be empty or new: packs are never mixed. Files
// appear whole (written aside, then renamed). It returns the recipients, most gateways first
// (a contact pack's list of gateways without a contact last).
func (p *Pack) Write(obs []observation.Observation, ex *Exporter) ([]Recipient, error) {
	switch {
	case !slices.Contains(PackBys, p.By):
		return nil, fmt.Errorf("by %q: want %s", p.By, strings.Join(PackBys, ", "))
	case p.By == "contact" && ex.Contacts == nil:
		return nil, errors.New("a pack by contact needs contacts (clawcensus contacts import)")
	}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(p.Dir); err != nil {
		return nil, err
	} else if len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty: write each pack to a new directory", p.Dir)
	}
	var terms map[string]sendTerms // a contact's TLP and format, from the CERT's table
	if p.By == "contact" {
		var err error
		if terms, err = contactTerms(ex.Contacts); err != nil {
			return nil, err
		}
	}
	// One file per recipient and address family: IPv4 and IPv6 are separate report types, as
	// in Shadowserver's feeds (scan_http, scan6_http).
	groups, fixed := map[packKey][]observation.Observation{}, map[packKey][]observation.Observation{}
	names, contactOf := map[string]string{}, map[string]string{}
	var none []observation.Observation // a contact pack's gateways without a contact
	for _, o := range obs {
		if _, ok := ex.Exports(o); !ok {
			continue
		}
		id, name, contact := p.recipientOf(o, ex)
		if p.By == "contact" && contact == "" {
			if ex.changeOf(o) != ChangeFixed { // nobody to tell that it is fixed
				none = append(none, o)
			}
			continue
		}
		contactOf[id] = contact
		k := packKey{id, ReportTypeIPv4}
		if o.IP.Is6() && !o.IP.Is4In6() {
			k.reportType = ReportTypeIPv6
		}
		if ex.changeOf(o) == ChangeFixed { // a short list of its own; groups keeps the key, so the recipient is listed
			fixed[k], groups[k] = append(fixed[k], o), groups[k]
		} else {
			groups[k] = append(groups[k], o)
		}
		names[id] = cmp.Or(names[id], name)
	}
	day := p.Run.StartedAt.UTC().Format("2006-01-02")
	var recips []Recipient
	for k, rows := range groups {
		slices.SortFunc(rows, observation.Compare)
		rex := ex.forRecipient(terms[contactOf[k.id]])
		r := Recipient{ID: k.id, Name: names[k.id], Contact: contactOf[k.id], ReportType: k.reportType, Format: rex.Format.Name, TLP: "TLP:" + rex.tlp(),
			File: fmt.Sprintf("%s-%s-%s.%s", day, k.reportType, k.id, rex.Format.Ext()), Fixed: len(fixed[k])}
		if r.Fixed > 0 {
			r.FixedFile = strings.TrimSuffix(r.File, "."+rex.Format.Ext()) + "-fixed.csv"
			sum, err := p.writeFile(r.FixedFile, func(w io.Writer) error { return rex.writeFixed(w, fixed[k]) })
			if err != nil {
				return nil, err
			}
			r.FixedSHA256 = sum
		}
		if len(rows) == 0 {
			r.File = ""
			recips = append(recips, r)
			continue
		}
		r.tally(rows, ex)
		sum, err := p.writeFile(r.File, func(w io.Writer) error { return rex.Write(w, rows) })
		if err != nil {
			return nil, err
		}
		r.SHA256 = sum
		recips = append(recips, r)
	}
	slices.SortFunc(recips, func(a, b Recipient) int {
		return cmp.Or(cmp.Compare(b.Gateways, a.Gateways), cmp.Compare(a.ID, b.ID), cmp.Compare(a.ReportType, b.ReportType))
	})
	var extra map[string]any // what a contact pack adds to the manifest
	if p.By == "contact" {
		var err error
		if recips, extra, err = p.writeContacts(recips, groups, none, ex, terms); err != nil {
			return nil, err
		}
	}
	indexTLP := DefaultTLP // the strictest of its rows': it names who gets what
	for _, r := range recips {
		if t := strings.TrimPrefix(r.TLP, "TLP:"); tlpRank(t) > tlpRank(indexTLP) {
			indexTLP = t
		}
	}
	if _, err := p.writeFile("index.csv", func(w io.Writer) error {
		c := NewCSV(w)
		c.Write(ex.deltaColumns([]string{"recipient", "name", "report_type", "file", "gateways", "no_auth", "vulnerable_version", "critical", "tlp", "sha256",
			"contact", "cover", "format"}, "fixed", "fixed_file", "fixed_sha256"))
		for _, r := range recips {
			c.Write(ex.deltaColumns([]string{r.ID, r.Name, r.ReportType, r.File, fmt.Sprint(r.Gateways), fmt.Sprint(r.NoAuth), fmt.Sprint(r.Vulnerable),
				fmt.Sprint(r.Critical), r.TLP, r.SHA256, r.Contact, r.Cover, r.Format}, fmt.Sprint(r.Fixed), r.FixedFile, r.FixedSHA256))
		}
		c.Flush()
		return c.Error()
	}); err != nil {
		return nil, err
	}
	summarySum := ""
	if p.Summary != nil {
		var err error
		if summarySum, err = p.writeFile("summary.md", p.Summary); err != nil {
			return nil, err
		}
	}
	// The run's own count: obs may be a selection (--changes-since, --resend-after).
	honeypots := int(p.Run.Honeypots)
	honeypotNote := ex.honeypotNote(honeypots)
	manifest := map[string]any{
		"run": p.Run.ID, "run_started_at": p.Run.StartedAt.UTC().Format(time.RFC3339), "run_status": p.Run.Status,
		"generated_at": p.Generated.UTC().Format(time.RFC3339), "tool_version": p.ToolVersion, "by": p.By,
		"enrichment": p.Run.Enrichment, "targets": p.Run.Targets, "ports": p.Run.Ports, "method": p.Run.Method,
		"recipients": recips, "summary": map[string]string{"file": "summary.md", "sha256": summarySum, "tlp": "TLP:CLEAR"},
		"tlp": fmt.Sprintf("each recipient's files: its tlp in recipients and index.csv (TLP:AMBER unless the CERT's contact table says "+
			"otherwise; AMBER: share only with the network's owner or its CERT); index.csv and manifest.json: TLP:%s; summary.md: TLP:CLEAR", indexTLP),
		"index_tlp":          "TLP:" + indexTLP,
		"note":               "advisories are implied by the version, not confirmed by exploitation",
		"probable_honeypots": map[string]any{"found": honeypots, "included": ex.IncludeHoneypots && honeypots > 0, "note": honeypotNote},
		"methodology":        MethodCard(p.Run, p.Method), "format": ex.Format.Name,
	}
	if ex.delta != nil {
		manifest["changes_since"] = map[string]any{"run": ex.delta.from, "counts": ex.delta.counts}
	}
	maps.Copy(manifest, extra)
	if _, err := p.writeFile("manifest.json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(manifest)
	}); err != nil {
		return nil, err
	}
	return recips, nil
}

// writeFile writes name in Dir whole (atomicfile.Write) and returns its sha256.
func (p *Pack) writeFile(name string, write func(io.Writer) error) (string, error) {
	h := sha256.New()
	if err := atomicfile.Write(filepath.Join(p.Dir, name), 0o644, func(w io.Writer) error {
		return write(io.MultiWriter(w, h))
	}); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// PackRecipients checks how a pack is asked for (--by asn|country|cidrs|contact, -o DIR,
// --recipients FILE) and reads the recipients file of --by cidrs. by "" is a single file, not
// a pack.
func PackRecipients(by, dir, recipients string) ([]CIDRRecipient, error) {
	switch {
	case by != "" && !slices.Contains(PackBys, by):
		return nil, fmt.Errorf("--by %q: want %s", by, strings.Join(PackBys, ", "))
	case by != "" && dir == "":
		return nil, fmt.Errorf("--by %s writes a directory of files: give -o DIR", by)
	case by == "cidrs" && recipients == "":
		return nil, errors.New("--by cidrs needs --recipients FILE ('prefix,recipient' lines)")
	case by != "cidrs" && recipients != "":
		return nil, errors.New("--recipients goes with --by cidrs")
	case by != "cidrs":
		return nil, nil
	}
	cidrs, err := ReadCIDRRecipients(recipients)
	if err != nil {
		return nil, fmt.Errorf("--recipients: %w", err)
	}
	return cidrs, nil
}
