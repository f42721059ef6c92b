package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/clawcensus/clawcensus/observation"
)

// IntelMQ's event, as its data harmonization (intelmq/etc/harmonization.conf) names the
// fields: one flat JSON object per gateway, dotted keys, empty values left out as IntelMQ
// leaves them out.
const (
	IntelMQFeedName   = "clawcensus-openclaw"
	IntelMQIdentifier = "openclaw"
	IntelMQTaxonomy   = "vulnerable"
	// IntelMQVulnerable is the classification.type of a gateway open to anyone or running a
	// release with an advisory on its own surface; IntelMQAccessible, of any other.
	IntelMQVulnerable = "vulnerable-system"
	IntelMQAccessible = "potentially-unwanted-accessible"
)

// intelmqTime is IntelMQ's DateTime as its sanitiser writes it: ISO 8601, UTC, +00:00.
const intelmqTime = "2006-01-02T15:04:05+00:00"

var countryCode = regexp.MustCompile(`^[A-Z0-9]{2}$`)

// IntelMQEvent is one gateway as an IntelMQ event, observed (time.observation) at seen.
func (e *Exporter) IntelMQEvent(o observation.Observation, seen time.Time) map[string]any {
	v := e.judge.Verdict(o)
	ev := map[string]any{
		"feed.name": IntelMQFeedName, "feed.provider": cmp.Or(e.Format.Reporter, PlaceholderReporter).Org,
		"classification.taxonomy": IntelMQTaxonomy, "classification.type": IntelMQAccessible,
		"classification.identifier": IntelMQIdentifier,
		"source.ip":                 o.IP.Unmap().String(), "source.port": int(o.Port),
		"protocol.transport": "tcp", "protocol.application": strings.ToLower(cmp.Or(o.Scheme, "http")),
		"time.source": o.ObservedAt.UTC().Format(intelmqTime), "time.observation": seen.UTC().Format(intelmqTime),
		"tlp": e.intelmqTLP(), "event_description.text": e.description(o, v),
	}
	if !v.ProbableHoneypot && (o.Auth == observation.AuthNone || len(e.judge.vulnerable(o)) > 0) {
		ev["classification.type"] = IntelMQVulnerable
	}
	if v.ProbableHoneypot {
		ev["extra.probable_honeypot"] = true
	}
	if e.tlp() != ev["tlp"] {
		ev["extra.tlp"] = e.tlp() // the TLP 2.0 label IntelMQ's field cannot hold
	}
	if o.ASN != 0 {
		ev["source.asn"] = int(o.ASN)
	}
	if o.ASOrg != "" {
		ev["source.as_name"] = TextCell(o.ASOrg)
	}
	if cc := strings.ToUpper(o.Country); countryCode.MatchString(cc) {
		ev["source.geolocation.cc"] = cc
	}
	if e.Contacts != nil {
		if c := asciiAddress(contactAddress(e.Contacts.For(o.IP, o.ASN))); c != "" {
			ev["source.abuse_contact"] = c
		}
	}
	extra := map[string]any{"product": o.Product, "version": o.Version, "version_status": o.VersionStatus, "auth": o.Auth,
		"severity": v.Severity, "change": e.changeOf(o)}
	for k, v := range extra {
		if v != "" {
			ev["extra."+k] = v
		}
	}
	if o.Official != nil {
		ev["extra.official"] = *o.Official
	}
	if len(o.VersionCandidates) > 0 {
		ev["extra.version_candidates"] = o.VersionCandidates
	}
	if len(o.Advisories) > 0 {
		ev["extra.advisories"] = o.Advisories
	}
	if len(o.Flags) > 0 {
		ev["extra.flags"] = o.Flags
	}
	return ev
}

// asciiAddress is an address as mail tools take it: the domain of an internationalised one in
// its ASCII form (IDNA), "" when that still leaves a character outside printable ASCII.
func asciiAddress(a string) string {
	local, domain, ok := strings.Cut(a, "@")
	if ok {
		if ace, err := idna.Lookup.ToASCII(domain); err == nil {
			a = local + "@" + ace
		}
	}
	if !printableASCII.MatchString(a) {
		return ""
	}
	return a
}

var printableASCII = regexp.MustCompile(`^[!-~]+$`)

// description is the event's one line for a person: what, where, how bad.
func (e *Exporter) description(o observation.Observation, v Verdict) string {
	d := fmt.Sprintf("%s gateway reachable from the internet on %s/%d (auth %s", cmp.Or(o.Product, "openclaw"),
		cmp.Or(o.Scheme, "http"), o.Port, cmp.Or(o.Auth, observation.AuthUnknown))
	if v.ProbableHoneypot {
		d = "host that " + v.NotCounted + "; it claims: " + d
	}
	if o.Version != "" {
		d += ", version " + o.Version
	}
	if adv := e.judge.vulnerable(o); len(adv) > 0 {
		d += ", affected by " + strings.Join(adv, " ")
	}
	return TextCell(d + "); severity " + v.Severity + "; advisories are implied by the version, not confirmed by exploitation")
}

// WriteIntelMQ writes an IntelMQ event (IntelMQEvent) a line for each gateway in obs, in
// the order given. time.observation is e.Format.Now, or the time of writing.
func (e *Exporter) WriteIntelMQ(w io.Writer, obs []observation.Observation) error {
	seen := e.Format.Now
	if seen.IsZero() {
		seen = time.Now()
	}
	enc := json.NewEncoder(w)
	for _, o := range obs {
		if _, ok := e.Exports(o); !ok {
			continue
		}
		if err := enc.Encode(e.IntelMQEvent(o, seen)); err != nil {
			return err
		}
	}
	return nil
}
