package fingerprint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/internal/textsafe"
	"github.com/clawcensus/clawcensus/observation"
)

// Config configures a Fingerprinter. Zero values mean the documented defaults.
type Config struct {
	// Timeout bounds all probes to one host together. Zero means DefaultTimeout.
	Timeout time.Duration
	// FirstByte bounds, for each probe, the connection and the wait for the response's
	// headers: a host that accepts and never answers (a SYN proxy, a tarpit, a firewall that
	// accepts on every port: most "open" ports on the Internet) costs this much, not Timeout,
	// while a slow gateway still has Timeout to send its pages. Zero means DefaultFirstByte; more than
	// Timeout means Timeout.
	FirstByte time.Duration
	// MaxBody caps each response body in bytes. Zero means 512 KiB.
	MaxBody int64
	// BodyBudget caps the response bodies held by all hosts in flight together, in bytes: a
	// host whose next body bytes would pass it waits for others to finish (within its own
	// deadline), so memory stays bounded whatever the concurrency. Zero means 128 MiB; it is
	// never less than MaxBody.
	BodyBudget int64
	// ToolVersion and Contact make the User-Agent "clawcensus/<ToolVersion> (+<Contact>)";
	// New refuses either when it is not printable text that net/http sends as written (see
	// CheckContact).
	ToolVersion string
	Contact     string
	// OptIn enables active probes by their opt_in name (e.g. "invoke"). Empty: GETs only.
	OptIn []string
	// WebSocket reads the server's first WebSocket frame from each detected gateway and
	// closes (no method call, no token). Off by default.
	WebSocket bool
	// Rules is the knowledge base. Nil means LoadRules().
	Rules *Rules
}

// Fingerprinter identifies gateways. It is safe for concurrent use.
type Fingerprinter struct {
	cfg    Config
	rules  *Rules
	probes []ProbeSpec
	client *client
	latest map[string]Version // npm package -> newest non-prerelease in the release table
	// newest is, per npm package, the newest release the table knows (prereleases too): a
	// claim beyond it is newer than the knowledge base, not a fork.
	newest map[string]Version
}

// DefaultTimeout bounds all probes to one host, and DefaultFirstByte each probe's connection
// and wait for response headers, unless told otherwise (see Config): every layer above names
// these.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultFirstByte = 3 * time.Second
)

// New validates cfg, loads the rules and prepares the HTTP client.
func New(cfg Config) (*Fingerprinter, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.FirstByte == 0 {
		cfg.FirstByte = DefaultFirstByte
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 512 << 10
	}
	if cfg.BodyBudget == 0 {
		cfg.BodyBudget = 128 << 20
	}
	if cfg.Timeout < 0 || cfg.FirstByte < 0 || cfg.MaxBody < 0 || cfg.BodyBudget < 0 {
		return nil, errors.New("fingerprint: timeouts, body cap and body budget must be positive")
	}
	cfg.FirstByte = min(cfg.FirstByte, cfg.Timeout)
	cfg.BodyBudget = max(cfg.BodyBudget, cfg.MaxBody)
	if cfg.ToolVersion == "" {
		cfg.ToolVersion = "dev"
	}
	rules := cfg.Rules
	if rules == nil {
		var err error
		if rules, err = LoadRules(); err != nil {
			return nil, err
		}
	}
	f := &Fingerprinter{cfg: cfg, rules: rules, latest: map[string]Version{}, newest: map[string]Version{}}
	known := map[string]bool{}
	for _, p := range rules.Probes {
		if p.OptIn != "" {
			known[p.OptIn] = true
			if !slices.Contains(cfg.OptIn, p.OptIn) {
				continue
			}
		}
		f.probes = append(f.probes, p)
	}
	for _, o := range cfg.OptIn {
		if !known[o] {
			return nil, fmt.Errorf("active probe %q: no such opt-in probe", o)
		}
	}
	for _, rel := range rules.Releases {
		v, err := ParseVersion(rel.Version)
		if err == nil {
			if cur, ok := f.newest[rel.Package]; !ok || v.Compare(cur) > 0 {
				f.newest[rel.Package] = v
			}
		}
		if err != nil || v.Beta > 0 || rel.Broken != "" || v.Year < 2026 {
			continue
		}
		if cur, ok := f.latest[rel.Package]; !ok || v.Compare(cur) > 0 {
			f.latest[rel.Package] = v
		}
	}
	ua, err := userAgent(cfg.ToolVersion, cfg.Contact)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	c, err := newClient(ua, cfg.FirstByte, cfg.MaxBody, cfg.BodyBudget)
	if err != nil {
		return nil, err
	}
	f.client = c
	return f, nil
}

// Probes returns the requests this fingerprinter may send to one host, in order.
func (f *Fingerprinter) Probes() []ProbeSpec { return slices.Clone(f.probes) }

// UserAgent is the User-Agent every probe carries.
func (f *Fingerprinter) UserAgent() string { return f.client.userAgent }

// Close releases the HTTP client's dialer.
func (f *Fingerprinter) Close() { f.client.close() }

// Fingerprint probes addr and says what it is. Network failures are outcomes on the result.
func (f *Fingerprinter) Fingerprint(ctx context.Context, addr netip.AddrPort) observation.Observation {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	ctx, release := f.client.hold(ctx)
	defer release()
	res := observation.Observation{IP: addr.Addr(), Port: addr.Port(), ObservedAt: time.Now().UTC()}
	root := f.probes[0]
	scheme := "http"
	first := f.client.do(ctx, scheme, addr, root)
	// A host that took the request and said nothing is silent, not TLS: a TLS server answers
	// plaintext at once (an alert, a close, a 400), so the TLS attempt would only wait again.
	if (first.Err != nil && !silent(first.Err)) || looksLikeTLSPort(first) {
		if tlsResp := f.client.do(ctx, "https", addr, root); tlsResp.Err == nil {
			scheme, first = "https", tlsResp
		}
	}
	res.Scheme = scheme
	if first.Err != nil {
		res.Outcome = classifyErr(first.Err)
		return res
	}
	responses := map[string]response{root.ID: first}
	res.HTTPStatus = first.Status
	res.Server = textsafe.Clean(first.Header.Get("Server"), 80)
	res.Title = extractTitle(first.Body)

	gate := false
	for i := range f.rules.Products {
		for _, m := range f.rules.Products[i].Markers {
			if m.Probe == root.ID && m.match(first, nil) {
				gate = true
			}
		}
	}
	if gate {
		for _, p := range f.probes[1:] {
			if ctx.Err() != nil {
				break
			}
			responses[p.ID] = f.client.do(ctx, scheme, addr, p)
		}
	}
	fa := f.identify(&res, responses)
	if f.cfg.WebSocket && res.Detected() && ctx.Err() == nil {
		fa.WebSocket, fa.Challenge = f.websocket(ctx, &res)
		res.Evidence = append(res.Evidence, fa.WebSocket)
		if fa.Challenge {
			res.Flags = append(res.Flags, "websocket-challenge")
			slices.Sort(res.Flags)
		}
		keepFacts(&res, fa)
	}
	return res
}

// websocket reads the gateway's first WebSocket frame and says what it was: the evidence line,
// and whether it is a gateway's connect.challenge.
func (f *Fingerprinter) websocket(ctx context.Context, res *observation.Observation) (string, bool) {
	ch, err := firstFrame(ctx, res.Scheme, res.AddrPort(), "/", f.client.userAgent)
	switch {
	case err != nil:
		return "websocket: " + textsafe.Clean(err.Error(), 120), false
	case ch.Type == "event" && ch.Event == "connect.challenge":
		return ch.describe(), true
	}
	return ch.describe() + " (not a gateway challenge)", false
}

// identify classifies the responses of one host (probe ID → response): Fingerprint without
// the network, so the fuzz target can drive it directly. It reads the facts and judges them;
// a gateway's facts are kept with it, so its verdict can be redone (Reanalyze).
func (f *Fingerprinter) identify(res *observation.Observation, responses map[string]response) *Facts {
	fa := f.facts(responses)
	f.judge(res, fa)
	keepFacts(res, fa)
	return fa
}

// keepFacts stores a gateway's facts with its observation.
func keepFacts(res *observation.Observation, fa *Facts) {
	if res.Detected() {
		if b, err := json.Marshal(fa); err == nil {
			res.Facts = string(b)
		}
	}
}

// judge gives the verdict of one host's facts with this fingerprinter's rules and knowledge
// base.
func (f *Fingerprinter) judge(res *observation.Observation, fa *Facts) {
	res.Outcome = observation.NotOpenClaw
	var best *Product
	var bestGroups []string
	for i := range f.rules.Products {
		p := &f.rules.Products[i]
		var groups, evidence []string
		for j := range p.Markers {
			if m := &p.Markers[j]; m.Probe != "" && m.inRange(nil) && fa.hit(hitMarker, p, m) {
				if !slices.Contains(groups, m.Group) {
					groups = append(groups, m.Group)
				}
				evidence = append(evidence, fmt.Sprintf("marker %s/%s on %s", p.ID, m.ID, f.probePath(m.Probe)))
			}
		}
		if len(groups) >= p.MinGroups && len(groups) > len(bestGroups) {
			best, bestGroups = p, groups
			res.Evidence = evidence
		}
	}
	if best == nil {
		return
	}
	res.Outcome = observation.OpenClaw
	res.Product = best.ID
	ver := f.version(res, best, fa)
	f.consistency(res, best, ver, fa)
	f.auth(res, best, ver, fa)
	f.flags(res, best, ver, fa)
	if fa.WebSocket != "" {
		res.Evidence = append(res.Evidence, fa.WebSocket)
		if fa.Challenge {
			res.Flags = append(res.Flags, "websocket-challenge")
			slices.Sort(res.Flags)
		}
	}
	f.advisories(res, best)
	f.miit(res, best)
}

func (f *Fingerprinter) probePath(id string) string {
	for _, p := range f.rules.Probes {
		if p.ID == id {
			return p.Method + " " + p.Path
		}
	}
	return id
}

func looksLikeTLSPort(r response) bool {
	if r.Err != nil || r.Status != 400 {
		return false
	}
	b := strings.ToLower(string(r.Body))
	return strings.Contains(b, "https port") || strings.Contains(b, "http request to an https server")
}
