package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/clawcensus/clawcensus/contacts"
	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
)

// A pack by contact (--by contact) sends each contact address its gateways' files, with a
// cover letter in Markdown and in plain text: what was found, when, how it was observed, what
// to do about each host (the same findings and fixes as clawcensus check), the TLP and how to
// opt out. The gateways no contact is known for go to one list apart, by registry and country,
// for the CERT to route itself.

// NoContact is the recipient id of the list of gateways no contact is known for.
const NoContact = "no-contact"

// coverHosts bounds the hosts a cover letter lists (the data file has them all).
const coverHosts = 50

// contactRecipient is the recipient of a gateway whose lookup gave r: an id made from the
// address (fit for a file name), the CERT table's name, and the address; all "" without one.
func contactRecipient(r contacts.Result) (id, name, contact string) {
	if contact = contactAddress(r); contact == "" {
		return "", "", ""
	}
	return contactID(contact), TextCell(r.Name), contact
}

// contactAddress is r's contact, cleaned and in lower case (one mailbox, however a source
// spelled it; IntelMQ's source.abuse_contact is lower case).
func contactAddress(r contacts.Result) string {
	return strings.ToLower(TextCell(r.Contact))
}

var notInID = regexp.MustCompile(`[^a-z0-9]+`)

// contactID is a recipient id for contact: its letters and digits, hyphenated and cut to 48,
// and six hex digits of its hash, so that two addresses that read alike never share files.
func contactID(contact string) string {
	slug := strings.Trim(notInID.ReplaceAllString(contact, "-"), "-")
	if len(slug) > 48 {
		slug = strings.TrimRight(slug[:48], "-")
	}
	sum := sha256.Sum256([]byte(contact))
	return cmp.Or(slug, "contact") + "-" + hex.EncodeToString(sum[:3])
}

// writeContacts writes a cover letter per contact and the list of gateways without one, and
// returns the recipients with their covers and that list, and what the manifest adds.
func (p *Pack) writeContacts(recips []Recipient, groups map[packKey][]observation.Observation, none []observation.Observation,
	ex *Exporter, terms map[string]sendTerms) ([]Recipient, map[string]any, error) {
	day := p.Run.StartedAt.UTC().Format("2006-01-02")
	byID, files := map[string][]observation.Observation{}, map[string][]string{}
	for k, rows := range groups {
		if len(rows) > 0 { // a recipient with only fixed gateways (--changes-since) has its fixed list, no letter
			byID[k.id] = append(byID[k.id], rows...)
		}
	}
	for _, r := range recips {
		if r.File != "" {
			files[r.ID] = append(files[r.ID], r.File)
		}
	}
	var covers []map[string]string
	coverOf := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		rows := byID[id]
		slices.SortFunc(rows, observation.Compare)
		slices.Sort(files[id])
		c, err := p.cover(rows, files[id], ex.forRecipient(terms[contactAddress(ex.Contacts.For(rows[0].IP, rows[0].ASN))]))
		if err != nil {
			return nil, nil, err
		}
		name := fmt.Sprintf("%s-cover-%s", day, id)
		md, err := p.writeFile(name+".md", func(w io.Writer) error { return coverMD.Execute(w, c) })
		if err != nil {
			return nil, nil, err
		}
		txt, err := p.writeFile(name+".txt", func(w io.Writer) error { return coverText.Execute(w, c) })
		if err != nil {
			return nil, nil, err
		}
		coverOf[id] = name + ".md"
		covers = append(covers, map[string]string{"recipient": id, "contact": c.Contact, "markdown": name + ".md", "markdown_sha256": md,
			"text": name + ".txt", "text_sha256": txt, "tlp": "TLP:" + c.TLP})
	}
	for i := range recips {
		recips[i].Cover = coverOf[recips[i].ID]
	}
	list, byRegistry, err := p.writeNoContact(day, none, ex)
	if err != nil {
		return nil, nil, err
	}
	if list.Gateways > 0 {
		recips = append(recips, list)
	}
	return recips, map[string]any{"covers": covers, "no_contact": map[string]any{"file": list.File, "sha256": list.SHA256,
		"gateways": list.Gateways, "by_registry_and_country": byRegistry, "tlp": list.TLP}}, nil
}

// NoContactHeader is the list of gateways no contact is known for: where the delegation
// statistics place them, then the gateway; sorted by registry, country, address and port.
var NoContactHeader = []string{"registry", "country", "ip", "port", "asn", "as_name", "severity", "product", "version", "auth",
	"advisories", "observed_at", "tlp"}

// writeNoContact writes the list of gateways without a contact (none when there are none) and
// counts them by registry and country.
func (p *Pack) writeNoContact(day string, none []observation.Observation, ex *Exporter) (Recipient, []map[string]any, error) {
	type row struct {
		registry, country string
		o                 observation.Observation
	}
	rows := make([]row, len(none))
	for i, o := range none {
		r := ex.Contacts.For(o.IP, o.ASN)
		rows[i] = row{cmp.Or(strings.ToLower(TextCell(r.Registry)), "unknown"), cmp.Or(strings.ToUpper(TextCell(r.Country)),
			strings.ToUpper(TextCell(o.Country)), "unknown"), o}
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.registry, b.registry), cmp.Compare(a.country, b.country), observation.Compare(a.o, b.o))
	})
	list := Recipient{ID: NoContact, ReportType: "no_contact", File: day + "-" + NoContact + ".csv", TLP: "TLP:" + DefaultTLP} // for the CERT itself
	list.tally(none, ex)
	var groups []map[string]any
	for i, r := range rows {
		if i == 0 || r.registry != rows[i-1].registry || r.country != rows[i-1].country {
			groups = append(groups, map[string]any{"registry": r.registry, "country": r.country, "gateways": 0})
		}
		groups[len(groups)-1]["gateways"] = groups[len(groups)-1]["gateways"].(int) + 1
	}
	if len(rows) == 0 {
		return list, groups, nil
	}
	sum, err := p.writeFile(list.File, func(w io.Writer) error {
		c := NewCSV(w)
		c.Write(NoContactHeader)
		for _, r := range rows {
			o := r.o
			c.Write([]string{r.registry, r.country, o.IP.String(), fmt.Sprint(o.Port), asnText(o.ASN), o.ASOrg, ex.judge.Verdict(o).Severity, o.Product,
				o.Version, o.Auth, strings.Join(o.Advisories, ","), o.ObservedAt.UTC().Format(time.RFC3339), DefaultTLP})
		}
		c.Flush()
		return c.Error()
	})
	list.SHA256 = sum
	return list, groups, err
}

var (
	coverMD   = texttemplate.Must(texttemplate.New("cover.md.tmpl").Funcs(funcs).ParseFS(templates, "templates/cover.md.tmpl"))
	coverText = texttemplate.Must(texttemplate.New("cover.txt.tmpl").Funcs(funcs).Funcs(texttemplate.FuncMap{"wrap": wrap}).
			ParseFS(templates, "templates/cover.txt.tmpl"))
)

// wrap breaks s (cleaned) into lines of at most 76 characters between words.
func wrap(s string) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(TextCell(s)) {
		if n > 0 && n+1+len(w) > 76 {
			b.WriteByte('\n')
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// coverLetter is what a cover letter says (templates/cover.*.tmpl).
type coverLetter struct {
	Contact, Name string
	From          Reporter
	RunID         int64
	Method        Methodology
	Generated     time.Time
	Files         []string
	Format        string
	Total         Recipient // the counts
	First, Last   time.Time // the first and last observation
	Hosts         []coverHost
	More          int // hosts not listed
	Fixes         []coverFix
	Chains        []string // how the contact was found
	Latest        string
	TLP           string // the label of the letter and its files (contacts.TLPs)
	Sharing       string // who the reader may share them with (tlpSharing)
}

// coverHost is one host's row.
type coverHost struct{ Addr, Found, Auth, Severity, Findings string }

// coverFix is one finding (its text as check prints it) and the hosts it is about.
type coverFix struct {
	Finding
	Hosts []string
	More  int
}

// cover assembles the letter to one contact about rows (sorted), whose data is in files; ex is
// the recipient's exporter (forRecipient: its TLP and format).
func (p *Pack) cover(rows []observation.Observation, files []string, ex *Exporter) (*coverLetter, error) {
	rules := cmp.Or(ex.judge.rules, &fingerprint.Rules{})
	check := Check(rows, nil, "", ex.judge) // the verdicts and fixes check gives, host by host
	first := ex.Contacts.For(rows[0].IP, rows[0].ASN)
	c := &coverLetter{Contact: contactAddress(first), Name: TextCell(first.Name), From: cmp.Or(ex.Format.Reporter, PlaceholderReporter),
		RunID: p.Run.ID, Method: MethodCard(p.Run, p.Method), Generated: p.Generated.UTC(), Files: files,
		Format: ex.Format.Name, First: rows[0].ObservedAt.UTC(), Last: rows[0].ObservedAt.UTC(), Latest: check.Latest,
		TLP: ex.tlp(), Sharing: tlpSharing[ex.tlp()]}
	c.Total.tally(rows, ex)
	for _, pr := range rules.Probes {
		if pr.OptIn == "" { // the opt-in ones that ran are the method card's ActiveProbe
			c.Method.Probes = append(c.Method.Probes, pr.Method+" "+pr.Path)
		}
	}
	fixAt := map[string]int{} // a finding's text → its place in c.Fixes
	for i, o := range rows {
		c.First, c.Last = minTime(c.First, o.ObservedAt.UTC()), maxTime(c.Last, o.ObservedAt.UTC())
		if chain := chainText(ex.Contacts.For(o.IP, o.ASN)); !slices.Contains(c.Chains, chain) && len(c.Chains) < 5 {
			c.Chains = append(c.Chains, chain)
		}
		h := check.Hosts[i]
		addr := o.AddrPort().String()
		var ids []string
		for _, f := range h.Findings {
			if f.Info {
				continue
			}
			ids = append(ids, f.ID)
			key := strings.Join(append([]string{f.ID, f.Title, f.Why, f.Fix, f.MIIT}, f.Docs...), "\x00")
			at, ok := fixAt[key]
			if !ok {
				at, fixAt[key] = len(c.Fixes), len(c.Fixes)
				c.Fixes = append(c.Fixes, coverFix{Finding: f})
			}
			if fx := &c.Fixes[at]; len(fx.Hosts) < coverHosts/2 {
				fx.Hosts = append(fx.Hosts, addr)
			} else {
				fx.More++
			}
		}
		if len(c.Hosts) == coverHosts {
			c.More++
			continue
		}
		found := cmp.Or(h.Product, "openclaw") + " " + cmp.Or(h.Version, "version one of "+strings.Join(h.VersionCandidates, " "))
		c.Hosts = append(c.Hosts, coverHost{Addr: addr, Found: found, Auth: h.Auth, Severity: h.Severity, Findings: strings.Join(ids, ", ")})
	}
	return c, nil
}

// chainText is how a contact was found, in one line.
func chainText(r contacts.Result) string {
	var steps []string
	for _, s := range r.Chain {
		if s.Attr == "" {
			continue // a note: this object gave no contact
		}
		step := s.Object
		if s.Attr != "" {
			step += " (" + s.Attr + ": " + s.Value + ")"
		}
		if s.File != "" {
			step += " [" + s.File + "]"
		}
		steps = append(steps, step)
	}
	return TextCell(strings.Join(steps, " → "))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
