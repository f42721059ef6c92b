package report

import (
	"slices"
	"strings"
	"sync"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
)

// Verdict is what clawcensus concludes about one host:port: the one answer that check, export,
// the census's counts and the web view give about it (Judge.Verdict decides it).
type Verdict struct {
	// Gateway is set when the answers identified a gateway, real or a look-alike
	// (observation.Observation.Detected).
	Gateway bool
	// Counts is set for a gateway the census counts, export notifies and check calls exposed:
	// detected, and not a probable honeypot (observation.Observation.Counts).
	Counts bool
	// ProbableHoneypot is set for a host that answers like a gateway but contradicts a real
	// one: counted apart everywhere, exported only when asked for (tagged probable-honeypot).
	ProbableHoneypot bool
	// Severity ranks what the network's owner should fix first (Severity's words) for a
	// gateway that counts; a probable honeypot is "info" whatever it claims; "" for what is no
	// gateway.
	Severity string
	// Findings are what is wrong, in the order to act, each with its fix (remediation.yaml);
	// for a probable honeypot, what it claims.
	Findings []Finding
	// NotCounted says in one line why a gateway is not counted; "" when it counts.
	NotCounted string
}

// The severities, worst first.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
	SeverityInfo     = "info"
)

// Judge gives verdicts with one knowledge base: its advisories' severities and surfaces and
// its newest release. A nil rules judges every advisory as on the gateway's own surface, with
// no severity.
type Judge struct {
	rules      *fingerprint.Rules
	severityOf map[string]string // advisory id → severity, lower case
	latest     string
}

// NewJudge reads the advisories' severities and the newest OpenClaw release from rules.
func NewJudge(rules *fingerprint.Rules) *Judge {
	j := &Judge{rules: rules, severityOf: map[string]string{}}
	if rules != nil {
		for _, a := range rules.Advisories {
			j.severityOf[a.ID] = strings.ToLower(a.Severity)
		}
		j.latest = rules.Latest("openclaw")
	}
	return j
}

// Verdict is the verdict on o. It is the one decision of what counts, what is a probable
// honeypot, how severe a gateway is and what to do about it: check, export (every format and
// the packs), the web view and the census's counts (through observation.Observation.Counts,
// which the store's SQL mirrors) all take it from here.
func (j *Judge) Verdict(o observation.Observation) Verdict {
	if !o.Detected() {
		return Verdict{}
	}
	v := Verdict{Gateway: true, Counts: o.Counts(), ProbableHoneypot: o.ProbableHoneypot(), Severity: j.severity(o),
		Findings: findings(o, remedies(), j.latest)}
	if v.ProbableHoneypot {
		v.Severity = SeverityInfo
		v.NotCounted = "answers like a gateway but contradicts a real one" + contradiction(o) + ": probable honeypot, not counted"
	}
	return v
}

// contradiction is the first contradiction the fingerprint stage recorded, in parentheses.
func contradiction(o observation.Observation) string {
	for _, e := range o.Evidence {
		if c, ok := strings.CutPrefix(e, "contradiction: "); ok {
			return " (" + TextCell(c) + ")"
		}
	}
	return ""
}

// vulnerable lists o's advisories on the gateway's own surface: what makes it "vulnerable"
// (the others, plugins, local paths and apps, are listed but not counted).
func (j *Judge) vulnerable(o observation.Observation) []string {
	if j.rules == nil {
		return o.Advisories // no knowledge base to tell them apart: every one counts
	}
	return slices.DeleteFunc(slices.Clone(o.Advisories), func(id string) bool { return !j.rules.GatewayObservable(id) })
}

// severity ranks what a network owner should fix first: open access to a vulnerable release
// is critical; open access or a critical advisory is high; any advisory or a leak is medium;
// a gateway that asks for auth on a current release is low.
func (j *Judge) severity(o observation.Observation) string {
	worst := ""
	vulnerable := j.vulnerable(o)
	for _, a := range vulnerable {
		if s := j.severityOf[a]; s == SeverityCritical || (s == SeverityHigh && worst != SeverityCritical) {
			worst = s
		}
	}
	open := o.Auth == observation.AuthNone
	switch {
	case open && len(vulnerable) > 0:
		return SeverityCritical
	case open || worst == SeverityCritical:
		return SeverityHigh
	case len(vulnerable) > 0 || slices.Contains(o.Flags, "bootstrap-config-leak"):
		return SeverityMedium
	case o.Auth == observation.AuthRequired:
		return SeverityLow
	}
	return SeverityInfo
}

// remedies are the embedded remediation texts, decoded once (TestEveryFindingHasAdvice and
// LoadRemedies' own checks keep them sound, so a failure here is a broken build).
var remedies = sync.OnceValue(func() map[string]Remedy {
	m, err := LoadRemedies()
	if err != nil {
		panic("report: the embedded " + err.Error())
	}
	return m
})
