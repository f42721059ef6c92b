// Package observation is the one record of what the census saw at one host:port, and the one
// table of its columns. The fingerprinter fills it, census adds the network and the work
// unit, the store keeps it, and the CLI, the reports and the exports print it: every one of
// them names the same fields, and the column list in the store's SQL, the CSV headers, the
// JSON keys and the README's table are checked against Columns by one test.
//
// It holds values only: it sweeps, fingerprints, stores and prints nothing, and imports no
// package of this module.
package observation

import (
	"cmp"
	"net/netip"
	"time"
)

// Outcome is what happened to one host:port: a value, never an error.
type Outcome string

// Outcomes. The fingerprinter gives the first six; Unprobed marks an open port a run found but
// did not fingerprint before it stopped (a later result replaces it); Middlebox, an open port
// whose host answered the sweep's control probes as well (it accepts on every port) and was
// not fingerprinted.
const (
	OpenClaw    Outcome = "openclaw"     // a gateway of some product was identified
	NotOpenClaw Outcome = "not-openclaw" // an HTTP service, but not a gateway
	NotHTTP     Outcome = "not-http"     // the port answered, but not with HTTP
	Refused     Outcome = "refused"
	Timeout     Outcome = "timeout"
	TLSError    Outcome = "tls-error"
	Unprobed    Outcome = "open-unprobed"
	Middlebox   Outcome = "middlebox"
)

// Outcomes lists every outcome, in the order above.
var Outcomes = []Outcome{OpenClaw, NotOpenClaw, NotHTTP, Refused, Timeout, TLSError, Unprobed, Middlebox}

// Detected reports whether the outcome identified a gateway, real or a look-alike: the CLI's
// rows and the store's SQL (a non-empty product: Product is set exactly when Outcome is OpenClaw)
// use it. What the census counts is narrower: Observation.Counts.
func (o Outcome) Detected() bool { return o == OpenClaw }

// Version statuses: what the knowledge base in use knows of a gateway's version.
const (
	// VersionKnown: a release the table holds (or candidates its assets allow).
	VersionKnown = "known"
	// VersionNewer: a claimed release after the table's newest: published since the
	// knowledge base was made (clawcensus fingerprints update learns it); official unknown.
	VersionNewer = "newer-than-knowledge-base"
	// VersionUnpublished: a claimed release of the grammar the table does not hold and that is
	// not newer than its newest: a self-built or third-party build.
	VersionUnpublished = "unpublished"
)

// Auth postures of a gateway.
const (
	AuthNone     = "none"
	AuthRequired = "required"
	AuthUnknown  = "unknown"
)

// Observation is what one run saw at one host:port.
type Observation struct {
	IP      netip.Addr
	Port    uint16
	Scheme  string // http or https
	Outcome Outcome
	// Product is openclaw, clawdbot or moltbot when Outcome is OpenClaw, and empty otherwise.
	Product string
	// Version is the exact release, or "" when only VersionCandidates narrow it down.
	Version           string
	VersionCandidates []string
	// VersionStatus says what the knowledge base knows of the version (VersionKnown, …).
	VersionStatus string
	// Channel and Commit come from the build id or service worker when the gateway shows them.
	Channel string
	Commit  string
	Auth    string
	// Official is true when every version source and the header set agree with one published
	// release, false for forks, unknown builds and look-alikes, nil when nothing tells.
	Official *bool
	// Honeypot is set when the page copies a gateway but contradicts its header set.
	Honeypot   bool
	Advisories []string
	// Flags are posture facts: bootstrap-config-leak, host-terminal-enabled, plaintext-http, …
	Flags []string
	// Evidence says which rule and marker led to each conclusion.
	Evidence []string
	// MIIT lists the MIIT/NVDB "don'ts" this observation shows violated.
	MIIT       []string
	Title      string
	Server     string
	HTTPStatus int
	TLS        string // protocol version and certificate subject, for https
	// ASN, ASOrg and Country come from the run's enrichment databases (empty without them).
	ASN     uint32
	ASOrg   string
	Country string
	// Aliased is the aliased prefix the address stands for (every address of it answers: one
	// host or middlebox, observed once), from the run's list or found by the run; "" otherwise.
	Aliased    string
	ObservedAt time.Time
	// Facts are what the fingerprinter read from a gateway's responses (bounded, versioned JSON:
	// fingerprint.Facts), so that its verdict can be redone with a newer knowledge base; empty
	// for what is not a gateway.
	Facts string
	// Unit is the work unit whose window holds this ip:port (0 for runs without units).
	Unit int64
}

// AddrPort is the observation's host:port.
func (o *Observation) AddrPort() netip.AddrPort { return netip.AddrPortFrom(o.IP, o.Port) }

// Key is the ip:port o stands for from run to run: its own, or for an aliased prefix (every
// address of it answers; the one probed is chosen by the run's seed) the prefix's first
// address, so two runs that probed different addresses of one aliased prefix speak of one thing.
func (o *Observation) Key() netip.AddrPort { return KeyOf(o.IP, o.Port, o.Aliased) }

// KeyOf is Observation.Key of an observation of ip:port with aliased prefix aliased ("" none).
func KeyOf(ip netip.Addr, port uint16, aliased string) netip.AddrPort {
	if p, err := netip.ParsePrefix(aliased); err == nil && p.Contains(ip) {
		return netip.AddrPortFrom(p.Masked().Addr().Unmap(), port)
	}
	return netip.AddrPortFrom(ip.Unmap(), port)
}

// Detected reports whether o identified a gateway (see Outcome.Detected).
func (o *Observation) Detected() bool { return o.Outcome.Detected() }

// Counts reports whether o is a gateway the census counts: detected, and not a probable
// honeypot (those are counted apart, see ProbableHoneypot). It is the one definition of "a
// gateway that counts": report.Judge's verdict (check, export, the web view) takes it from
// here, the store's counting SQL says the same (a product and not honeypot), and a run's
// live progress counts with it.
func (o *Observation) Counts() bool { return o.Detected() && !o.Honeypot }

// ProbableHoneypot reports whether o answers like a gateway but contradicts a real one
// (Honeypot): counted apart from the gateways, never inside them.
func (o *Observation) ProbableHoneypot() bool { return o.Detected() && o.Honeypot }

// Compare orders observations by address, then port: the order every listing of hosts uses
// (a check's verdicts, a pack's files, the web view and its export). For slices.SortFunc.
func Compare(a, b Observation) int {
	return cmp.Or(a.IP.Compare(b.IP), cmp.Compare(a.Port, b.Port))
}

// OfficialText names an official-build verdict: "true", "false" or "unknown".
func OfficialText(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "true"
	}
	return "false"
}
