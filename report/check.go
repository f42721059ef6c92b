package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/clawcensus/clawcensus/observation"
)

// Remedy is what an operator is told about one finding (remediation.yaml).
type Remedy struct {
	Title  string   `yaml:"title"`
	Why    string   `yaml:"why"`
	Fix    string   `yaml:"fix"`
	MIIT   string   `yaml:"miit"`
	Docs   []string `yaml:"docs"`
	Info   bool     `yaml:"info"`    // a fact, not a problem
	SameAs string   `yaml:"same_as"` // another id says it already
}

//go:embed remediation.yaml
var remediationYAML []byte

// LoadRemedies decodes the embedded remediation texts strictly.
func LoadRemedies() (map[string]Remedy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(remediationYAML))
	dec.KnownFields(true)
	var m map[string]Remedy
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("remediation.yaml: %w", err)
	}
	for id, r := range m {
		if r.SameAs != "" {
			if _, ok := m[r.SameAs]; !ok {
				return nil, fmt.Errorf("remediation.yaml: %s: same_as %q is not an entry", id, r.SameAs)
			}
			continue
		}
		if r.Title == "" || (!r.Info && (r.Why == "" || r.Fix == "" || r.MIIT == "" || len(r.Docs) == 0)) {
			return nil, fmt.Errorf("remediation.yaml: %s: a finding needs title, why, fix, miit and docs", id)
		}
	}
	return m, nil
}

// Finding is one thing wrong (or, with Info, worth knowing) about a gateway.
type Finding struct {
	ID    string   `json:"id"`
	Title string   `json:"title"`
	Why   string   `json:"why,omitempty"`
	Fix   string   `json:"fix,omitempty"`
	MIIT  string   `json:"miit,omitempty"`
	Docs  []string `json:"docs,omitempty"`
	Info  bool     `json:"info,omitempty"`
}

// HostVerdict is one open port as the check saw it.
type HostVerdict struct {
	IP                string   `json:"ip"`
	Port              int      `json:"port"`
	Scheme            string   `json:"scheme,omitempty"`
	Outcome           string   `json:"outcome"`
	Product           string   `json:"product,omitempty"`
	Version           string   `json:"version,omitempty"`
	VersionCandidates []string `json:"version_candidates,omitempty"`
	Auth              string   `json:"auth,omitempty"`
	Official          *bool    `json:"official,omitempty"`
	// Exposed is the verdict's Counts: a gateway check believes real.
	Exposed bool `json:"exposed"`
	// ProbableHoneypot and NotCounted: a host that answers like a gateway but contradicts a
	// real one, and why it is not counted.
	ProbableHoneypot bool      `json:"probable_honeypot,omitempty"`
	NotCounted       string    `json:"not_counted,omitempty"`
	Severity         string    `json:"severity,omitempty"`
	Advisories       []string  `json:"advisories,omitempty"`
	Findings         []Finding `json:"findings,omitempty"`
	Server           string    `json:"server,omitempty"`
	Title            string    `json:"title,omitempty"`
	Evidence         []string  `json:"evidence,omitempty"`
}

// CheckResult is an operator's verdict on their own hosts.
type CheckResult struct {
	Verdict string   `json:"verdict"` // "exposed" or "not-exposed"
	Targets []string `json:"targets"`
	Ports   string   `json:"ports"`
	Latest  string   `json:"latest_release"`
	// Exposed counts the gateways that count; Honeypots, the probable honeypots, apart.
	Exposed   int           `json:"exposed"`
	Honeypots int           `json:"probable_honeypots"`
	Open      int           `json:"open_ports"`
	Hosts     []HostVerdict `json:"hosts"`
}

// Check turns a check's observations (every open port) into the judge's verdicts with their
// fixes. The check is "exposed" (and the command exits 3) exactly when a host's verdict counts:
// every gateway believed real, whatever its severity; a probable honeypot is listed with the
// reason it does not count.
func Check(obs []observation.Observation, targets []string, ports string, j *Judge) *CheckResult {
	res := &CheckResult{Verdict: "not-exposed", Targets: targets, Ports: ports, Latest: j.latest, Hosts: []HostVerdict{}}
	for _, o := range obs {
		h := HostVerdict{IP: o.IP.String(), Port: int(o.Port), Scheme: o.Scheme, Outcome: string(o.Outcome), Server: TextCell(o.Server),
			Title: TextCell(o.Title)}
		res.Open++
		if v := j.Verdict(o); v.Gateway {
			h.Outcome, h.Product, h.Version, h.VersionCandidates, h.Auth, h.Official = o.Product, o.Product, o.Version, o.VersionCandidates, o.Auth, o.Official
			h.Advisories, h.Evidence, h.Severity, h.Findings = o.Advisories, o.Evidence, v.Severity, v.Findings
			h.Exposed, h.ProbableHoneypot, h.NotCounted = v.Counts, v.ProbableHoneypot, v.NotCounted
		}
		switch {
		case h.Exposed:
			res.Exposed++
			res.Verdict = "exposed"
		case h.ProbableHoneypot:
			res.Honeypots++
		}
		res.Hosts = append(res.Hosts, h)
	}
	return res
}

// findings lists what the observation shows, in the order an operator should act: exposure,
// auth, then the MIIT/NVDB items and posture flags as the fingerprint stage reported them.
func findings(o observation.Observation, remedies map[string]Remedy, latest string) []Finding {
	ids := append([]string{}, o.MIIT...)
	if o.Auth == observation.AuthUnknown {
		ids = append(ids, "auth-unknown")
	}
	ids = append(ids, o.Flags...)
	version := o.Version
	if version == "" {
		version = "version not exact"
	}
	fill := strings.NewReplacer("{latest}", latest, "{version}", version, "{advisories}", strings.Join(o.Advisories, ", ")).Replace
	seen := map[string]bool{}
	var out []Finding
	for _, id := range ids {
		r, known := remedies[id]
		if known && r.SameAs != "" {
			id, r = r.SameAs, remedies[r.SameAs]
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if !known {
			out = append(out, Finding{ID: id, Title: id, Why: "a finding this clawcensus has no advice for yet; see the evidence", Info: false})
			continue
		}
		out = append(out, Finding{ID: id, Title: fill(r.Title), Why: fill(r.Why), Fix: fill(r.Fix), MIIT: r.MIIT, Docs: r.Docs, Info: r.Info})
	}
	return out
}

// Write prints the verdict as text (for a person) or json.
func (r *CheckResult) Write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.WriteText(w)
}

// WriteText prints the verdict for a person.
func (r *CheckResult) WriteText(w io.Writer) error {
	var b strings.Builder
	apart := ""
	if r.Honeypots > 0 {
		apart = fmt.Sprintf("; %d probable honeypot(s) answer like one, not counted", r.Honeypots)
	}
	switch {
	case r.Exposed > 0:
		fmt.Fprintf(&b, "EXPOSED: %d OpenClaw gateway(s) answer%s (%d open port(s) on %s, ports %s)\n", r.Exposed, apart, r.Open, strings.Join(r.Targets, " "), r.Ports)
	case r.Honeypots > 0:
		fmt.Fprintf(&b, "not exposed: no OpenClaw gateway believed real answers%s (%d open port(s) on %s, ports %s)\n", apart, r.Open, strings.Join(r.Targets, " "), r.Ports)
	case r.Open > 0:
		fmt.Fprintf(&b, "not exposed: no OpenClaw gateway answers (%d open port(s) on %s, ports %s)\n", r.Open, strings.Join(r.Targets, " "), r.Ports)
	default:
		fmt.Fprintf(&b, "not exposed: nothing answered on %s, ports %s\n", strings.Join(r.Targets, " "), r.Ports)
	}
	for _, h := range r.Hosts {
		addr := fmt.Sprintf("%s:%d", h.IP, h.Port)
		if strings.Contains(h.IP, ":") {
			addr = fmt.Sprintf("[%s]:%d", h.IP, h.Port)
		}
		if h.Product == "" {
			what := h.Outcome
			if h.Server != "" || h.Title != "" {
				what += fmt.Sprintf(" (server %q, title %q)", h.Server, h.Title)
			}
			fmt.Fprintf(&b, "\n%s  open, not an OpenClaw gateway: %s\n", addr, what)
			continue
		}
		version := h.Version
		if version == "" {
			version = "version one of " + strings.Join(h.VersionCandidates, " ")
		}
		fmt.Fprintf(&b, "\n%s  %s %s, auth %s, official build: %s  [%s]\n", addr, h.Product, version, h.Auth, observation.OfficialText(h.Official), h.Severity)
		if h.NotCounted != "" {
			fmt.Fprintf(&b, "  %s %s; what it claims:\n", addr, h.NotCounted)
		}
		for _, f := range h.Findings {
			mark := "✗"
			if f.Info {
				mark = "·"
			}
			fmt.Fprintf(&b, "  %s %s\n", mark, f.Title)
			if f.Why != "" {
				fmt.Fprintf(&b, "      why: %s\n", f.Why)
			}
			if f.Fix != "" {
				fmt.Fprintf(&b, "      fix: %s\n", f.Fix)
			}
			if f.MIIT != "" {
				fmt.Fprintf(&b, "      MIIT/NVDB: %s\n", f.MIIT)
			}
			for _, d := range f.Docs {
				fmt.Fprintf(&b, "      docs: %s\n", d)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
