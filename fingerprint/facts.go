package fingerprint

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/clawcensus/clawcensus/internal/textsafe"
	"github.com/clawcensus/clawcensus/observation"
)

// Facts are what the analysis read from one host's responses, and all it reads: each probe's
// status, which rule tests held on its body, the version claims, the asset names, the headers
// the consistency checks read, the TLS handshake's facts. A verdict is a function of the facts
// and the knowledge base, so a stored observation's verdict can be redone with a newer
// knowledge base, without a packet (Reanalyze). They are bounded: no body is kept.
type Facts struct {
	Format int `json:"v"`
	// Rules is the hash of the rule files the facts were read with: a rule's tests on a body
	// cannot be replayed with other rules.
	Rules  string                 `json:"rules"`
	Probes map[string]*ProbeFacts `json:"p"`
	TLS    *TLSFacts              `json:"tls,omitempty"`
	// WebSocket is the evidence of the first WebSocket frame, when read; Challenge, whether it
	// was a gateway's connect.challenge.
	WebSocket string `json:"ws,omitempty"`
	Challenge bool   `json:"wsc,omitempty"`
}

// FactsFormat is the format of Facts this version reads and writes.
const FactsFormat = 1

// ProbeFacts are one probe's facts.
type ProbeFacts struct {
	Status int  `json:"s,omitempty"`
	Failed bool `json:"f,omitempty"`
	// Hits are the rule tests that held on the response, as kind:product/id (m: marker, a:
	// auth, f: flag), version ranges aside (those are judged with the version).
	Hits   []string `json:"h,omitempty"`
	Claims []Claim  `json:"c,omitempty"`
	// Assets are the bundle names each product's asset rule found, by product.
	Assets map[string][]string `json:"a,omitempty"`
	// Headers are the values of the headers the consistency checks read ("" when absent).
	Headers map[string]string `json:"hd,omitempty"`
}

// Claim is one source's statement of the version, as read (judged later: isRelease).
type Claim struct {
	Source  string `json:"src"`
	Version string `json:"ver"`
	Channel string `json:"ch,omitempty"`
	Commit  string `json:"co,omitempty"`
}

// TLSFacts are what the root probe's TLS handshake showed.
type TLSFacts struct {
	Desc       string `json:"d"`
	SelfSigned bool   `json:"ss,omitempty"`
	Expired    bool   `json:"ex,omitempty"`
	Funnel     bool   `json:"fu,omitempty"`
}

const (
	hitMarker = "m:"
	hitAuth   = "a:"
	hitFlag   = "f:"
	// maxClaim bounds a claim kept as a fact: a release number is short; a longer string is
	// evidence of nothing but the server's imagination.
	maxClaim = 64
)

func hitKey(kind string, p *Product, m *Matcher) string { return kind + p.ID + "/" + m.ID }

// facts reads the facts of one host's responses (probe ID → response).
func (f *Fingerprinter) facts(responses map[string]response) *Facts {
	fa := &Facts{Format: FactsFormat, Rules: f.rules.RulesHash, Probes: map[string]*ProbeFacts{}}
	for id, r := range responses {
		pf := &ProbeFacts{Status: r.Status, Failed: r.Err != nil}
		fa.Probes[id] = pf
		for i := range f.rules.Products {
			p := &f.rules.Products[i]
			for _, set := range []struct {
				kind string
				ms   []Matcher
			}{{hitMarker, p.Markers}, {hitAuth, p.Auth}, {hitFlag, p.Flags}} {
				for j := range set.ms {
					if m := &set.ms[j]; m.Probe == id && m.holds(r) {
						pf.Hits = append(pf.Hits, hitKey(set.kind, p, m))
					}
				}
			}
			for j := range p.Versions {
				e := &p.Versions[j]
				if e.Probe != id {
					continue
				}
				if c, ok := e.extract(r); ok {
					c.Version = boundClaim(c.Version)
					c.Channel, c.Commit = boundClaim(c.Channel), boundClaim(c.Commit)
					if !slices.Contains(pf.Claims, c) { // two products may read the same source
						pf.Claims = append(pf.Claims, c)
					}
				}
			}
			if p.Assets.Probe == id && r.Err == nil {
				if names := p.AssetNames(r.Body); len(names) > 0 {
					if pf.Assets == nil {
						pf.Assets = map[string][]string{}
					}
					pf.Assets[p.ID] = names
				}
			}
		}
		if id == f.probes[0].ID && r.Err == nil {
			for i := range f.rules.Products {
				for _, c := range f.rules.Products[i].Consistency {
					if pf.Headers == nil {
						pf.Headers = map[string]string{}
					}
					pf.Headers[c.Header] = textsafe.Clean(r.Header.Get(c.Header), 200)
				}
			}
			if t := r.TLS; t != nil {
				fa.TLS = &TLSFacts{Desc: describeTLS(t), SelfSigned: t.SelfSigned, Expired: t.Expired}
				for _, san := range append([]string{t.SubjectCN}, t.SANs...) {
					if strings.HasSuffix(strings.ToLower(san), ".ts.net") {
						fa.TLS.Funnel = true
					}
				}
			}
		}
		slices.Sort(pf.Hits)
	}
	return fa
}

// boundClaim keeps a claim short and valid UTF-8; the analysis cleans it before showing it.
func boundClaim(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > maxClaim {
		s = s[:maxClaim]
		s = strings.ToValidUTF8(s, "")
	}
	return s
}

// hit reports whether rule m of product p held on its probe's response (a rule with no probe
// always does: it is a version range alone).
func (fa *Facts) hit(kind string, p *Product, m *Matcher) bool {
	if m.Probe == "" {
		return true
	}
	pf := fa.Probes[m.Probe]
	return pf != nil && !pf.Failed && pf.Status != 0 && slices.Contains(pf.Hits, hitKey(kind, p, m))
}

// ErrOtherRules means an observation's facts were read with other rules than these: only a
// new scan can judge it with these rules.
var ErrOtherRules = errors.New("its facts were read with other rules")

// Reanalyze redoes o's verdict from the facts kept with it, with this fingerprinter's
// knowledge base: product, version, version status, official, honeypot, auth, advisories,
// flags, MIIT items and evidence. Where it was seen and what it sent first (address, scheme,
// status, title, server, network) stay. An observation without facts (not a gateway when it
// was seen) is returned as it is.
func (f *Fingerprinter) Reanalyze(o observation.Observation) (observation.Observation, error) {
	if o.Facts == "" {
		return o, nil
	}
	var fa Facts
	if err := json.Unmarshal([]byte(o.Facts), &fa); err != nil {
		return o, fmt.Errorf("facts of %s: %w", o.AddrPort(), err)
	}
	if fa.Format != FactsFormat {
		return o, fmt.Errorf("facts of %s: format %d, this clawcensus reads %d", o.AddrPort(), fa.Format, FactsFormat)
	}
	if fa.Rules != f.rules.RulesHash {
		return o, fmt.Errorf("%s: %w", o.AddrPort(), ErrOtherRules)
	}
	var kept []string // what census added (a middlebox's note)
	for _, e := range o.Evidence {
		if strings.HasPrefix(e, "middlebox:") {
			kept = append(kept, e)
		}
	}
	o.Product, o.Version, o.VersionCandidates, o.VersionStatus, o.Channel, o.Commit = "", "", nil, "", "", ""
	o.Auth, o.Official, o.Honeypot, o.Advisories, o.Flags, o.Evidence, o.MIIT = "", nil, false, nil, nil, nil, nil
	f.judge(&o, &fa)
	o.Evidence = append(o.Evidence, kept...)
	return o, nil
}
