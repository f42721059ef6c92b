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
func (f *Fingerprinter) version(res *observation.Observation, p *Product, fa *Facts) *Version {
	var claims []Claim
	official := true
	for i := range p.Versions {
		e := &p.Versions[i]
		pf := fa.Probes[e.Probe]
		if pf == nil {
			continue
		}
		for _, c := range pf.Claims {
			if c.Source == e.ID {
				// A fact from the network becomes data only when it is a release number: one the
				// table knows, or one of the release grammar with a plausible date. Anything else is
				// kept as evidence, gives no version and no advisories, and the build is not official.
				if !f.isRelease(p, c.Version, res.ObservedAt) {
					official = false
					res.Evidence = append(res.Evidence, fmt.Sprintf("version %s: %q is not a release number (ignored)", c.Source, textsafe.Clean(c.Version, 40)))
					continue
				}
				claims = append(claims, c)
				res.Evidence = append(res.Evidence, fmt.Sprintf("version %s: %s", c.Source, c.Version))
				if c.Channel != "" {
					res.Channel = textsafe.Clean(c.Channel, 40)
				}
				commit := textsafe.Clean(c.Commit, 64)
				switch {
				case commit == "":
				case res.Commit == "":
					res.Commit = commit
				case !strings.HasPrefix(commit, res.Commit) && !strings.HasPrefix(res.Commit, commit):
					res.Evidence = append(res.Evidence, fmt.Sprintf("commit sources disagree: %s vs %s", res.Commit, commit))
					official = false
				}
			}
		}
	}
	decided := false
	var explicit []string
	for _, c := range claims {
		if !slices.Contains(explicit, c.Version) {
			explicit = append(explicit, c.Version)
		}
		if c.Channel != "" && c.Channel != "release" {
			official = false
			res.Evidence = append(res.Evidence, fmt.Sprintf("build channel %q is not a release build", textsafe.Clean(c.Channel, 40)))
		}
	}
	if len(explicit) > 1 {
		official = false
		res.Evidence = append(res.Evidence, "version sources disagree: "+strings.Join(explicit, " vs "))
	}

	// A single claim the table does not know, beyond its newest release, is a release published
	// after the knowledge base was made: not evidence of a fork (fingerprints update learns it).
	newer := len(explicit) == 1 && !f.inTable(p, explicit[0]) && f.newerThanTable(p, explicit[0])
	var fromAssets []string
	if pf := fa.Probes[p.Assets.Probe]; pf != nil && !pf.Failed {
		if names := pf.Assets[p.ID]; len(names) > 0 {
			releases, known := f.rules.ReleasesWithAssets(p.NPM, names)
			switch {
			case (!known || len(releases) == 0) && newer:
				res.Evidence = append(res.Evidence, fmt.Sprintf("assets %s: not in the knowledge base, whose newest %s release is %s (%s): run clawcensus fingerprints update",
					strings.Join(names, ","), p.NPM, f.newest[p.NPM], f.rules.Knowledge.NewestDate))
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

	newer = newer && !decided // assets of a known release under a newer claim: a tampered build
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
	switch {
	case newer:
		res.VersionStatus = observation.VersionNewer
		res.Evidence = append(res.Evidence, fmt.Sprintf("version %s is newer than the knowledge base's newest %s release %s: official unknown until clawcensus fingerprints update",
			res.Version, p.NPM, f.newest[p.NPM]))
	case res.Version != "" && f.inTable(p, res.Version), res.Version == "" && len(fromAssets) > 0:
		res.VersionStatus = observation.VersionKnown
	case res.Version != "" || len(res.VersionCandidates) > 0:
		res.VersionStatus = observation.VersionUnpublished
	}
	if (decided || !official) && !(newer && official) {
		res.Official = &official
	}
	return f.eraVersion(res)
}

// inTable reports whether the release table knows version s of p.
func (f *Fingerprinter) inTable(p *Product, s string) bool {
	for _, rel := range f.rules.Releases {
		if rel.Package == p.NPM && rel.Version == s {
			return true
		}
	}
	return false
}

// newerThanTable reports whether s is a release the table could not know yet: after every one
// of p it knows, or a backport (a day past 31: a later fix to an earlier month's line) the
// table does not hold.
func (f *Fingerprinter) newerThanTable(p *Product, s string) bool {
	v, err := ParseVersion(s)
	newest, ok := f.newest[p.NPM]
	return err == nil && ok && (v.Compare(newest) > 0 || v.Day > 31)
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
func (f *Fingerprinter) consistency(res *observation.Observation, p *Product, ver *Version, fa *Facts) {
	root := fa.Probes[f.probes[0].ID]
	if root == nil || root.Failed || root.Status != 200 {
		return
	}
	var broken []string
	for _, c := range p.Consistency {
		if c.min != nil && (ver == nil || ver.Compare(*c.min) < 0) {
			continue
		}
		got := root.Headers[c.Header]
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

func (f *Fingerprinter) auth(res *observation.Observation, p *Product, ver *Version, fa *Facts) {
	res.Auth = observation.AuthUnknown
	for i := range p.Auth {
		a := &p.Auth[i]
		pf, sent := fa.Probes[a.Probe]
		if a.Probe != "" && !sent {
			continue
		}
		if a.inRange(ver) && fa.hit(hitAuth, p, a) {
			res.Auth = a.Result
			where := "release range"
			if a.Probe != "" {
				where = fmt.Sprintf("%s → %d", f.probePath(a.Probe), pf.Status)
			}
			res.Evidence = append(res.Evidence, fmt.Sprintf("auth %s: %s", a.ID, where))
			return
		}
	}
}

func (f *Fingerprinter) flags(res *observation.Observation, p *Product, ver *Version, fa *Facts) {
	for i := range p.Flags {
		fl := &p.Flags[i]
		if _, sent := fa.Probes[fl.Probe]; sent && fl.inRange(ver) && fa.hit(hitFlag, p, fl) {
			res.Flags = append(res.Flags, fl.ID)
			res.Evidence = append(res.Evidence, fmt.Sprintf("flag %s: %s", fl.ID, f.probePath(fl.Probe)))
		}
	}
	if res.Scheme == "http" {
		res.Flags = append(res.Flags, FlagPlainHTTP)
	} else {
		res.Flags = append(res.Flags, FlagTLS)
		if t := fa.TLS; t != nil {
			res.TLS = t.Desc
			if t.SelfSigned {
				res.Flags = append(res.Flags, FlagSelfSigned)
			}
			if t.Expired {
				res.Flags = append(res.Flags, FlagExpired)
			}
			if t.Funnel {
				res.Flags = append(res.Flags, FlagFunnel)
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
	// Only an advisory whose affected surface is the gateway's own makes it "vulnerable": the
	// others (plugins, local paths, the apps) are listed, not counted.
	if slices.ContainsFunc(res.Advisories, f.rules.GatewayObservable) {
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
