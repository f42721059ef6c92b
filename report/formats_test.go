package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"net/mail"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report/reporttest"
)

// intelmqFields is IntelMQ's data harmonization for the fields an event of ours may carry,
// as data: the type of each field in certtools/intelmq intelmq/etc/harmonization.conf
// (section "event"), and the allowed values of ClassificationTaxonomy, ClassificationType
// and TLP in intelmq/lib/harmonization.py. "extra.*" is the free JSON namespace.
var intelmqFields = map[string]string{
	"feed.name": "String", "feed.provider": "String", "classification.taxonomy": "LowercaseString",
	"classification.type": "ClassificationType", "classification.identifier": "String",
	"source.ip": "IPAddress", "source.port": "Integer", "source.asn": "Integer", "source.as_name": "String",
	"source.network": "IPNetwork", "source.geolocation.cc": "UppercaseString", "source.abuse_contact": "LowercaseString",
	"protocol.transport": "LowercaseString", "protocol.application": "LowercaseString",
	"time.source": "DateTime", "time.observation": "DateTime", "tlp": "TLP", "event_description.text": "String",
}

// intelmqTaxonomy is ClassificationTaxonomy's "vulnerable" and the types under it; intelmqTLP
// are TLP's allowed values (intelmq/lib/harmonization.py).
var (
	intelmqTaxonomy = map[string][]string{"vulnerable": {"ddos-amplifier", "information-disclosure",
		"potentially-unwanted-accessible", "vulnerable-system", "weak-crypto"}}
	intelmqTLP = []string{"WHITE", "GREEN", "AMBER", "RED"}
	// intelmqRequired are the fields every event of ours carries (issue 16 item 3).
	intelmqRequired = []string{"feed.name", "feed.provider", "classification.taxonomy", "classification.type",
		"classification.identifier", "source.ip", "source.port", "protocol.transport", "protocol.application",
		"time.source", "time.observation", "tlp", "event_description.text"}
)

// checkIntelMQ lists what in ev breaks the harmonization.
func checkIntelMQ(ev map[string]any) []string {
	var bad []string
	for _, k := range intelmqRequired {
		if _, ok := ev[k]; !ok {
			bad = append(bad, "missing "+k)
		}
	}
	for k, v := range ev {
		if v == nil || v == "" || (func() bool { l, ok := v.([]any); return ok && len(l) == 0 })() {
			bad = append(bad, k+" is empty: IntelMQ leaves empty values out")
			continue
		}
		if strings.HasPrefix(k, "extra.") {
			continue // JSON: anything
		}
		typ, ok := intelmqFields[k]
		if !ok {
			bad = append(bad, k+" is not a harmonization field")
			continue
		}
		s, isString := v.(string)
		n, isNumber := v.(float64)
		valid := false
		switch typ {
		case "String":
			valid = isString
		case "LowercaseString":
			valid = isString && s == strings.ToLower(s) && regexp.MustCompile(`^[ -~]+$`).MatchString(s)
		case "UppercaseString":
			valid = isString && regexp.MustCompile(`^[A-Z0-9]{2}$`).MatchString(s)
		case "Integer":
			valid = isNumber && n == math.Trunc(n) && n >= 0 && (k != "source.port" || n <= 65535)
		case "IPAddress":
			a, err := netip.ParseAddr(s)
			valid = isString && err == nil && a.Zone() == "" && !a.Is4In6()
		case "IPNetwork":
			_, err := netip.ParsePrefix(s)
			valid = isString && err == nil
		case "DateTime":
			t, err := time.Parse(time.RFC3339, s)
			valid = isString && err == nil && strings.HasSuffix(s, "+00:00") && t.Location() != nil
		case "ClassificationType":
			valid = slices.Contains(intelmqTaxonomy[asString(ev["classification.taxonomy"])], s)
		case "TLP":
			valid = slices.Contains(intelmqTLP, s)
		}
		if k == "classification.taxonomy" {
			_, known := intelmqTaxonomy[s]
			valid = valid && known
		}
		if k == "protocol.transport" {
			valid = valid && slices.Contains([]string{"tcp", "udp"}, s)
		}
		if !valid {
			bad = append(bad, k+" is not a valid "+typ)
		}
	}
	slices.Sort(bad)
	return bad
}

func asString(v any) string { s, _ := v.(string); return s }

// The X-ARF v4 schema, as data: xarf/xarf-spec schemas/v4/xarf-core.json (required keys,
// contact_info with additionalProperties false, category enum, tags pattern),
// schemas/v4/vulnerability-class.json (type enum, service, severity), and
// schemas/v4/types/vulnerability-open.json and vulnerability-cve.json (required per type,
// evidence_source enum).
var (
	xarfRequired        = []string{"xarf_version", "report_id", "timestamp", "reporter", "sender", "source_identifier", "category", "type"}
	xarfContactKeys     = []string{"contact", "domain", "org"}
	xarfCategories      = []string{"messaging", "content", "copyright", "connection", "vulnerability", "infrastructure", "reputation"}
	xarfVulnTypes       = []string{"open", "cve", "outdated_dnssec", "ssl_freak", "ssl_poodle", "ssl_heartbleed", "malicious_activity", "misconfiguration", "weak_credentials", "information_disclosure", "privilege_escalation", "code_injection", "authentication_bypass"}
	xarfRequiredPerType = map[string][]string{"open": {"service"}, "cve": {"service", "service_port", "cve_id"}}
	xarfEvidenceSources = []string{"vulnerability_scan", "researcher_analysis", "automated_discovery", "penetration_testing"}
	xarfSeverities      = []string{"informational", "low", "medium", "high", "critical"}
	xarfVersionPattern  = regexp.MustCompile(`^4\.[0-9]+\.[0-9]+$`)
	xarfTagPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9_+-]*:[a-z0-9][a-z0-9_+\-.]*$`)
	xarfCVEPattern      = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]+$`)
	uuidPattern         = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// checkXARF lists what in r breaks the schema.
func checkXARF(r map[string]any) []string {
	var bad []string
	need := append(slices.Clone(xarfRequired), xarfRequiredPerType[asString(r["type"])]...)
	for _, k := range need {
		if _, ok := r[k]; !ok {
			bad = append(bad, "missing "+k)
		}
	}
	port := func(k string) {
		if v, ok := r[k]; ok {
			if n, isNum := v.(float64); !isNum || n != math.Trunc(n) || n < 1 || n > 65535 {
				bad = append(bad, k+" is not a port")
			}
		}
	}
	maxLen := func(k string, n int) {
		if v, ok := r[k]; ok {
			if s, isStr := v.(string); !isStr || len(s) > n {
				bad = append(bad, k+" is not a string of at most "+string(rune('0'+n/100))+"00")
			}
		}
	}
	if !xarfVersionPattern.MatchString(asString(r["xarf_version"])) {
		bad = append(bad, "xarf_version")
	}
	if !uuidPattern.MatchString(asString(r["report_id"])) {
		bad = append(bad, "report_id is not a UUID")
	}
	if _, err := time.Parse(time.RFC3339, asString(r["timestamp"])); err != nil {
		bad = append(bad, "timestamp is not a date-time")
	}
	for _, who := range []string{"reporter", "sender"} {
		c, _ := r[who].(map[string]any)
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, xarfContactKeys) {
			bad = append(bad, who+" keys "+strings.Join(keys, ","))
		}
		if org := asString(c["org"]); org == "" || len(org) > 200 {
			bad = append(bad, who+".org")
		}
		if a, err := mail.ParseAddress(asString(c["contact"])); err != nil || a.Address != c["contact"] {
			bad = append(bad, who+".contact is not an email")
		}
		if !hostname.MatchString(asString(c["domain"])) {
			bad = append(bad, who+".domain is not a hostname")
		}
	}
	if asString(r["source_identifier"]) == "" {
		bad = append(bad, "source_identifier")
	}
	port("source_port")
	port("service_port")
	if !slices.Contains(xarfCategories, asString(r["category"])) || r["category"] != "vulnerability" {
		bad = append(bad, "category")
	}
	if !slices.Contains(xarfVulnTypes, asString(r["type"])) {
		bad = append(bad, "type")
	}
	if v, ok := r["evidence_source"]; ok && !slices.Contains(xarfEvidenceSources, asString(v)) {
		bad = append(bad, "evidence_source")
	}
	maxLen("service", 200)
	maxLen("service_version", 100)
	maxLen("description", 1000)
	if v, ok := r["cve_id"]; ok && !xarfCVEPattern.MatchString(asString(v)) {
		bad = append(bad, "cve_id")
	}
	if v, ok := r["cve_ids"]; ok {
		l, _ := v.([]any)
		seen := map[any]bool{}
		for _, id := range l {
			if !xarfCVEPattern.MatchString(asString(id)) || seen[id] {
				bad = append(bad, "cve_ids")
			}
			seen[id] = true
		}
		if len(l) == 0 || len(l) > 10 {
			bad = append(bad, "cve_ids count")
		}
	}
	if v, ok := r["severity"]; ok && !slices.Contains(xarfSeverities, asString(v)) {
		bad = append(bad, "severity")
	}
	if v, ok := r["tags"]; ok {
		l, _ := v.([]any)
		for _, t := range l {
			if !xarfTagPattern.MatchString(asString(t)) {
				bad = append(bad, "tag "+asString(t))
			}
		}
		if len(l) > 20 {
			bad = append(bad, "more than 20 tags")
		}
	}
	return bad
}

// formatCases are the shared sample gateways and the edges of each field: an IPv4-mapped
// address, a lower-case and a bogus country, hostile AS names, https, flags, candidates, a
// gateway-observable CVE and an advisory without one, nothing known.
func formatCases(t *testing.T, rules *fingerprint.Rules) []observation.Observation {
	t.Helper()
	var cve, other string
	for _, a := range rules.Advisories {
		if a.Observable == fingerprint.ObservableGateway && strings.HasPrefix(a.ID, "CVE-") && cve == "" {
			cve = a.ID
		}
		if !strings.HasPrefix(a.ID, "CVE-") && other == "" {
			other = a.ID
		}
	}
	if cve == "" {
		t.Fatal("the knowledge base holds no gateway-observable CVE")
	}
	no, yes := false, true
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.FixedZone("CET", 3600))
	gw := func(ip string, mod func(*observation.Observation)) observation.Observation {
		o := observation.Observation{IP: netip.MustParseAddr(ip), Port: 18789, Scheme: "http", Outcome: observation.OpenClaw,
			Product: "openclaw", Auth: observation.AuthUnknown, ObservedAt: at}
		mod(&o)
		return o
	}
	obs := reporttest.Observations()
	obs = append(obs,
		gw("::ffff:127.0.0.20", func(o *observation.Observation) {
			o.Auth, o.Advisories, o.Country, o.ASN, o.ASOrg = "none", []string{cve, other}, "zz", 64500, "Lab\x1b[31m One\n"
		}),
		gw("127.0.0.21", func(o *observation.Observation) {
			o.Scheme, o.Port, o.Auth, o.Official, o.Flags, o.Country = "https", 443, "required", &yes, []string{"tls", "host-terminal-enabled"}, "Z1Z"
			o.VersionCandidates, o.VersionStatus = []string{"2026.3.7", "2026.3.8"}, observation.VersionKnown
		}),
		gw("198.18.0.5", func(o *observation.Observation) {
			o.Product, o.Official, o.Version, o.VersionStatus, o.Advisories = "clawdbot", &no, "2026.1.24-3", observation.VersionUnpublished, []string{cve}
		}),
		gw("198.18.0.6", func(o *observation.Observation) { o.Product, o.Auth = "moltbot", "" }),
		// A look-alike: left out unless IncludeHoneypots, then tagged.
		gw("198.18.0.7", func(o *observation.Observation) {
			o.Auth, o.Version, o.Honeypot, o.Official, o.Advisories = "none", "2026.6.10", true, &no, []string{cve}
			o.Flags, o.Evidence = []string{"plaintext-http", "probable-honeypot"}, []string{`contradiction: Server header "Apache" present (a real gateway sends none)`}
		}),
	)
	return obs
}

// TestIntelMQEventsFollowTheHarmonization writes every sample gateway as IntelMQ events and
// checks each against the harmonization's field list and values.
func TestIntelMQEventsFollowTheHarmonization(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	ex := NewExporter(rules)
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	if ex.Format, err = ParseExportFormat(FormatIntelMQ, "CERT Lab,cert@lab.example", now); err != nil {
		t.Fatal(err)
	}
	obs := formatCases(t, rules)
	var buf bytes.Buffer
	if err := ex.Write(&buf, obs); err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		events = append(events, ev)
		if bad := checkIntelMQ(ev); len(bad) > 0 {
			t.Errorf("%v %v: %s", ev["source.ip"], ev["source.port"], strings.Join(bad, "; "))
		}
	}
	counted := slices.DeleteFunc(slices.Clone(obs), func(o observation.Observation) bool { return !o.Counts() })
	if len(events) != len(counted) {
		t.Fatalf("%d events for %d gateways that count", len(events), len(counted))
	}
	for i, o := range counted {
		ev := events[i]
		wantType := IntelMQAccessible
		if o.Auth == observation.AuthNone || len(ex.judge.vulnerable(o)) > 0 {
			wantType = IntelMQVulnerable
		}
		want := map[string]any{"feed.name": IntelMQFeedName, "feed.provider": "CERT Lab", "classification.type": wantType,
			"source.ip": o.IP.Unmap().String(), "time.observation": "2026-11-29T09:00:00+00:00",
			"time.source": o.ObservedAt.UTC().Format("2006-01-02T15:04:05+00:00"), "extra.severity": ex.Judge().Verdict(o).Severity}
		for k, v := range want {
			if ev[k] != v {
				t.Errorf("event %d %s = %v, want %v", i, k, ev[k], v)
			}
		}
		if strings.ContainsAny(asString(ev["source.as_name"])+asString(ev["event_description.text"]), "\x1b\n") {
			t.Errorf("event %d carries control characters", i)
		}
	}
}

// TestXARFReportsFollowTheSchema writes every sample gateway as X-ARF reports and checks
// each against the published v4 schema.
func TestXARFReportsFollowTheSchema(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	for i, reporter := range []string{"", "CERT Lab,cert@lab.example", "CERT Lab,cert@mail.lab.example,lab.example"} {
		ex := NewExporter(rules)
		ex.IncludeHoneypots = i == 2 // a honeypot's report validates too
		if ex.Format, err = ParseExportFormat(FormatXARF, reporter, time.Time{}); err != nil {
			t.Fatal(err)
		}
		obs := formatCases(t, rules)
		var buf bytes.Buffer
		if err := ex.Write(&buf, obs); err != nil {
			t.Fatal(err)
		}
		types, ids := map[string]int{}, map[string]bool{}
		sc := bufio.NewScanner(&buf)
		for sc.Scan() {
			var r map[string]any
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			if bad := checkXARF(r); len(bad) > 0 {
				t.Errorf("reporter %q, %v: %s", reporter, r["source_identifier"], strings.Join(bad, "; "))
			}
			types[asString(r["type"])]++
			ids[asString(r["report_id"])] = true
		}
		if types["cve"] == 0 || types["open"] == 0 || len(ids) != types["cve"]+types["open"] {
			t.Errorf("reporter %q: types %v, %d distinct ids: want both types and one id per report", reporter, types, len(ids))
		}
	}
}

func TestParseExportFormat(t *testing.T) {
	tests := []struct {
		format, reporter string
		wantErr          string
		want             Reporter
		ext              string
	}{
		{"", "", "", PlaceholderReporter, "csv"},
		{"shadowserver", "", "", PlaceholderReporter, "csv"},
		{"xarf", "CERT Lab, cert@lab.example", "", Reporter{"CERT Lab", "cert@lab.example", "lab.example"}, "jsonl"},
		{"intelmq", "", "", PlaceholderReporter, "jsonl"},
		{"csv", "", "want shadowserver, intelmq, xarf", Reporter{}, ""},
		{"xarf", "CERT Lab", "want ORG,EMAIL[,DOMAIN]", Reporter{}, ""},
		{"xarf", "CERT Lab,Lab <cert@lab.example>", "not a bare e-mail", Reporter{}, ""},
		{"xarf", "CERT Lab,cert@lab.example,bad domain", "not a host name", Reporter{}, ""},
	}
	for _, tt := range tests {
		f, err := ParseExportFormat(tt.format, tt.reporter, time.Time{})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q %q: err %v, want %q", tt.format, tt.reporter, err, tt.wantErr)
			}
			continue
		}
		if err != nil || f.Reporter != tt.want || !slices.Contains(Formats, f.Name) || f.Ext() != tt.ext {
			t.Errorf("%q %q: %v, %+v; want %+v", tt.format, tt.reporter, err, f, tt.want)
		}
	}
}
