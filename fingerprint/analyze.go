package fingerprint

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/internal/textsafe"
	"github.com/clawcensus/clawcensus/observation"
)

// version combines every version source: explicit claims (build id, service worker, config
// JSON) and the asset-hash table. It sets Version or VersionCandidates, Channel, Commit and
// Official, and returns the version used to apply era rules (nil when unknown).
func (f *Fingerprinter) version(res *observation.Observation, p *Product, responses map[string]response) *Version {
	var claims []claim
	official := true
	for i := range p.Versions {
		e := &p.Versions[i]
		if r, ok := responses[e.Probe]; ok {
			if c, ok := e.extract(r); ok {
				// A fact from the network becomes data only when it is a release number: one the
				// table knows, or one of the release grammar with a plausible date. Anything else is
				// kept as evidence, gives no version and no advisories, and the build is not official.
				if !f.isRelease(p, c.version, res.ObservedAt) {
					official = false
					res.Evidence = append(res.Evidence, fmt.Sprintf("version %s: %q is not a release number (ignored)", c.source, textsafe.Clean(c.version, 40)))
					continue
				}
				claims = append(claims, c)
				res.Evidence = append(res.Evidence, fmt.Sprintf("version %s: %s", c.source, c.version))
				if c.channel != "" {
					res.Channel = c.channel
				}
				switch {
				case c.commit == "":
				case res.Commit == "":
					res.Commit = c.commit
				case !strings.HasPrefix(c.commit, res.Commit) && !strings.HasPrefix(res.Commit, c.commit):
					res.Evidence = append(res.Evidence, fmt.Sprintf("commit sources disagree: %s vs %s", res.Commit, c.commit))
					official = false
				}
			}
		}
	}
	decided := false
	var explicit []string
	for _, c := range claims {
		if !slices.Contains(explicit, c.version) {
			explicit = append(explicit, c.version)
		}
		if c.channel != "" && c.channel != "release" {
			official = false
			res.Evidence = append(res.Evidence, fmt.Sprintf("build channel %q is not a release build", c.channel))
		}
	}
	if len(explicit) > 1 {
		official = false
		res.Evidence = append(res.Evidence, "version sources disagree: "+strings.Join(explicit, " vs "))
	}

	var fromAssets []string
	if r, ok := responses[p.Assets.Probe]; ok && r.Err == nil {
		if names := p.AssetNames(r.Body); len(names) > 0 {
			releases, known := f.rules.ReleasesWithAssets(p.NPM, names)
			switch {
			case !known || len(releases) == 0:
				official = false
				res.Evidence = append(res.Evidence, fmt.Sprintf("assets %s: in no published %s release (self-built or third-party build)", strings.Join(names, ","), p.NPM))
			default:
				decided = true
				for _, rel := range releases {
					fromAssets = append(fromAssets, rel.Version)
				}
				res.Evidence = append(res.Evidence, fmt.Sprintf("assets %s: %s", strings.Join(names, ","), strings.Join(fromAssets, ",")))
			}
		}
	}

	switch {
	case len(explicit) == 1:
		res.Version = explicit[0]
		if decided && !slices.Contains(fromAssets, res.Version) {
			official = false
			res.Evidence = append(res.Evidence, fmt.Sprintf("claimed version %s does not ship these assets", res.Version))
		}
	case len(explicit) > 1:
		res.VersionCandidates = explicit
	case len(fromAssets) == 1:
		res.Version = fromAssets[0]
	case len(fromAssets) > 1:
		res.VersionCandidates = fromAssets
	}
	slices.SortFunc(res.VersionCandidates, CompareVersions)
	if res.Version != "" && res.Commit != "" {
		for _, rel := range f.rules.Releases {
			if rel.Package == p.NPM && rel.Version == res.Version && rel.Commit != "" && !strings.HasPrefix(rel.Commit, res.Commit) {
				official = false
				res.Evidence = append(res.Evidence, fmt.Sprintf("commit %s is not release %s's %.12s", res.Commit, rel.Version, rel.Commit))
			}
		}
	}
	if decided || !official {
		res.Official = &official
	}
	return f.eraVersion(res)
}

// isRelease reports whether s names a release of p: in the release table, or of the release
// grammar (YYYY.M.D[-N][-beta.N]) with a plausible, real date no later than a day after the
// observation at (now, when at is zero).
func (f *Fingerprinter) isRelease(p *Product, s string, at time.Time) bool {
	for _, rel := range f.rules.Releases {
		if rel.Package == p.NPM && rel.Version == s {
			return rel.Broken == "" // a broken publish (no Control UI) is no gateway's version
		}
	}
	if at.IsZero() {
		at = time.Now()
	}
	v, err := ParseVersion(s)
	return err == nil && v.Plausible() && v.String() == s && v.Dated(at.Add(claimSlack))
}

// eraVersion is the version era rules use: the exact one, or the oldest candidate.
func (f *Fingerprinter) eraVersion(res *observation.Observation) *Version {
	s := res.Version
	if s == "" && len(res.VersionCandidates) > 0 {
		s = res.VersionCandidates[0]
	}
	if v, err := ParseVersion(s); err == nil {
		return &v
	}
	return nil
}

// consistency checks the header set against what a real gateway of this era sends.
func (f *Fingerprinter) consistency(res *observation.Observation, p *Product, ver *Version, responses map[string]response) {
	root := responses[f.probes[0].ID]
	if root.Err != nil || root.Status != 200 {
		return
	}
	var broken []string
	for _, c := range p.Consistency {
		if c.min != nil && (ver == nil || ver.Compare(*c.min) < 0) {
			continue
		}
		got := root.Header.Get(c.Header)
		switch {
		case c.Absent && got != "":
			broken = append(broken, fmt.Sprintf("%s header %q present (a real gateway sends none)", c.Header, textsafe.Clean(got, 60)))
		case !c.Absent && got == "":
			broken = append(broken, fmt.Sprintf("%s header missing (a real gateway of this era sends it)", c.Header))
		case c.Equals != "" && !strings.EqualFold(got, c.Equals):
			broken = append(broken, fmt.Sprintf("%s header %q, want %q", c.Header, textsafe.Clean(got, 60), c.Equals))
		}
	}
	if len(broken) == 0 {
		return
	}
	res.Honeypot = true
	official := false
	res.Official = &official
	res.Flags = append(res.Flags, FlagHoneypot)
	for _, b := range broken {
		res.Evidence = append(res.Evidence, "contradiction: "+b)
	}
}

func (f *Fingerprinter) auth(res *observation.Observation, p *Product, ver *Version, responses map[string]response) {
	res.Auth = observation.AuthUnknown
	for _, a := range p.Auth {
		r, sent := responses[a.Probe]
		if a.Probe != "" && !sent {
			continue
		}
		if a.match(r, ver) {
			res.Auth = a.Result
			where := "release range"
			if a.Probe != "" {
				where = fmt.Sprintf("%s → %d", f.probePath(a.Probe), r.Status)
			}
			res.Evidence = append(res.Evidence, fmt.Sprintf("auth %s: %s", a.ID, where))
			return
		}
	}
}

func (f *Fingerprinter) flags(res *observation.Observation, p *Product, ver *Version, responses map[string]response) {
	for _, fl := range p.Flags {
		if r, ok := responses[fl.Probe]; ok && fl.match(r, ver) {
			res.Flags = append(res.Flags, fl.ID)
			res.Evidence = append(res.Evidence, fmt.Sprintf("flag %s: %s", fl.ID, f.probePath(fl.Probe)))
		}
	}
	if res.Scheme == "http" {
		res.Flags = append(res.Flags, FlagPlainHTTP)
	} else {
		res.Flags = append(res.Flags, FlagTLS)
		if t := responses[f.probes[0].ID].TLS; t != nil {
			res.TLS = describeTLS(t)
			if t.SelfSigned {
				res.Flags = append(res.Flags, FlagSelfSigned)
			}
			if t.Expired {
				res.Flags = append(res.Flags, FlagExpired)
			}
			for _, san := range append([]string{t.SubjectCN}, t.SANs...) {
				if strings.HasSuffix(strings.ToLower(san), ".ts.net") {
					res.Flags = append(res.Flags, FlagFunnel)
					break
				}
			}
		}
	}
	slices.Sort(res.Flags)
	res.Flags = slices.Compact(res.Flags)
}

// advisories lists the advisories the version implies; with only candidates, those that
// every candidate is affected by.
func (f *Fingerprinter) advisories(res *observation.Observation, p *Product) {
	versions := res.VersionCandidates
	if res.Version != "" {
		versions = []string{res.Version}
	}
	for i, v := range versions {
		ids := f.rules.AdvisoriesFor(p.NPM, v)
		if i == 0 {
			res.Advisories = ids
			continue
		}
		res.Advisories = slices.DeleteFunc(res.Advisories, func(id string) bool { return !slices.Contains(ids, id) })
	}
}

// MIIT/NVDB "six don'ts" that one observation can show violated.
const (
	MIITOutdated  = "outdated-version"   // not the latest official version
	MIITMirror    = "unofficial-build"   // no mirror or third-party builds
	MIITExposed   = "internet-exposure"  // no exposure to the Internet
	MIITAuthOff   = "no-authentication"  // least privilege: access without credentials
	MIITUnpatched = "known-advisories"   // patch regularly
	MIITTerminal  = "host-terminal-open" // least privilege: host terminal enabled
)

// MIITViolations lists every MIIT/NVDB id an observation can carry.
var MIITViolations = []string{MIITOutdated, MIITMirror, MIITExposed, MIITAuthOff, MIITUnpatched, MIITTerminal}

// Posture flags the analysis itself sets (the rules' flags come from rules/*.yaml).
const (
	FlagHoneypot   = "probable-honeypot"
	FlagPlainHTTP  = "plaintext-http"
	FlagTLS        = "tls"
	FlagSelfSigned = "tls-self-signed"
	FlagExpired    = "tls-expired"
	FlagFunnel     = "tailscale-funnel"
)

// BuiltinFlags lists the flags the analysis sets.
var BuiltinFlags = []string{FlagHoneypot, FlagPlainHTTP, FlagTLS, FlagSelfSigned, FlagExpired, FlagFunnel}

func (f *Fingerprinter) miit(res *observation.Observation, p *Product) {
	res.MIIT = []string{MIITExposed}
	latest, known := f.latest["openclaw"]
	switch {
	case p.ID != "openclaw":
		res.MIIT = append(res.MIIT, MIITOutdated) // renamed product: no longer maintained
	case res.Version != "" && known:
		if v, err := ParseVersion(res.Version); err == nil && v.Compare(latest) < 0 {
			res.MIIT = append(res.MIIT, MIITOutdated)
		}
	}
	if res.Official != nil && !*res.Official {
		res.MIIT = append(res.MIIT, MIITMirror)
	}
	if res.Auth == observation.AuthNone {
		res.MIIT = append(res.MIIT, MIITAuthOff)
	}
	if len(res.Advisories) > 0 {
		res.MIIT = append(res.MIIT, MIITUnpatched)
	}
	if slices.Contains(res.Flags, "host-terminal-enabled") {
		res.MIIT = append(res.MIIT, MIITTerminal)
	}
}

func describeTLS(t *tlsInfo) string {
	parts := []string{textsafe.Clean(t.Version, 20), textsafe.Clean(t.Cipher, 60)}
	if t.SubjectCN != "" {
		parts = append(parts, "subject "+textsafe.Clean(t.SubjectCN, 100))
	}
	if t.IssuerCN != "" {
		parts = append(parts, "issuer "+textsafe.Clean(t.IssuerCN, 100))
	}
	if len(t.SANs) > 0 {
		sans := t.SANs[:min(len(t.SANs), 5)]
		clean := make([]string, len(sans))
		for i, s := range sans {
			clean[i] = textsafe.Clean(s, 100)
		}
		parts = append(parts, "names "+strings.Join(clean, ","))
	}
	return strings.Join(parts, "; ")
}
