package fingerprint

import (
	"net/netip"
	"time"
)

// Outcomes: what happened to one host:port. They are values, not errors.
const (
	OutcomeOpenClaw    = "openclaw"     // a gateway of some product was identified
	OutcomeNotOpenClaw = "not-openclaw" // an HTTP service, but not a gateway
	OutcomeNotHTTP     = "not-http"     // the port answered, but not with HTTP
	OutcomeRefused     = "refused"
	OutcomeTimeout     = "timeout"
	OutcomeTLSError    = "tls-error"
)

// Auth postures.
const (
	AuthNone     = "none"
	AuthRequired = "required"
	AuthUnknown  = "unknown"
)

// Result is what the fingerprinter learned about one host:port.
type Result struct {
	Addr    netip.AddrPort
	Scheme  string // http or https
	Outcome string
	// Product is openclaw, clawdbot or moltbot when Outcome is OutcomeOpenClaw.
	Product string
	// Version is the exact release, or "" when only VersionCandidates narrow it down.
	Version           string
	VersionCandidates []string
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
	Status     int
	TLS        string // protocol version and certificate subject, for https
	ObservedAt time.Time
}

// Detected reports whether r identified a gateway.
func (r *Result) Detected() bool { return r.Outcome == OutcomeOpenClaw }
