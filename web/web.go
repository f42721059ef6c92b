// Package web is the read-only web view of a store, behind a token when it is set: runs, the
// trend chart, version and auth tables, a search by IP, CIDR or ASN with the evidence, each
// run's report and its export. It is an http.Handler that answers GET and HEAD only; every
// asset is in the page (no script, no CDN).
//
// It reads through Source and renders with package report (documents, exports). It never
// writes to the store, never listens (the caller owns the socket and the server's timeouts)
// and never decides what a host is. Only cmd/clawcensus imports it.
package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report"
	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// Source is what the web view reads; a store opened read-only is one.
type Source interface {
	Summaries(ctx context.Context) ([]store.Summary, error)
	Observations(ctx context.Context, runID int64) ([]observation.Observation, error)
}

// Config configures the web view.
type Config struct {
	// Token, when set, is required of every request: ?token=… once (it becomes a cookie) or an
	// Authorization: Bearer header.
	Token string
	// Methodology fills what only the plan knows for a run's report; nil leaves it out.
	Methodology func(run store.Summary) report.Methodology
	// MaxResults bounds a search; zero means 500.
	MaxResults int
	// Listen is the address the view is served on, host:port as the listener reports it. A
	// request is answered only if its Host is that address (with or without the port),
	// localhost or a name in Hosts; any other gets 421, so a page on a name rebound to
	// loopback (DNS rebinding) cannot read the view. Listening on 0.0.0.0 or :: lets any IP
	// literal through (a rebinding needs a name). Empty means loopback on any port:
	// localhost and loopback literals.
	Listen string
	// Hosts are further names the view answers to (serve --host): NAME, or NAME:PORT to allow
	// that port only.
	Hosts []string
}

// Handler is the read-only web view: runs, the trend chart, version and auth tables, a search
// by IP, CIDR or ASN with the evidence, each run's report and its export. Every asset is in the
// page (no script, no CDN); it answers GET and HEAD only.
type Handler struct {
	src   Source
	rules *fingerprint.Rules
	ex    *report.Exporter
	cfg   Config
	mux   *http.ServeMux

	mu    sync.Mutex
	cache map[int64][]observation.Observation // gateways per finished run
}

// New returns the web view of src, which rules describe.
func New(src Source, rules *fingerprint.Rules, cfg Config) *Handler {
	if cfg.MaxResults == 0 {
		cfg.MaxResults = 500
	}
	w := &Handler{src: src, rules: rules, ex: report.NewExporter(rules), cfg: cfg, mux: http.NewServeMux(), cache: map[int64][]observation.Observation{}}
	w.mux.HandleFunc("GET /{$}", w.index)
	w.mux.HandleFunc("GET /search", w.search)
	w.mux.HandleFunc("GET /runs/{id}", w.run)
	w.mux.HandleFunc("GET /runs/{id}/export.csv", w.export)
	w.mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { rw.Write([]byte("ok\n")) })
	return w
}

// ServeHTTP sets the security headers, refuses all but GET and HEAD, checks the token and
// serves the page.
func (w *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	h := rw.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if !AllowedHost(w.cfg.Listen, w.cfg.Hosts, r.Host) {
		http.Error(rw, fmt.Sprintf("this view does not answer to the name %q: open it by its address, localhost or a name given with serve --host", report.TextCell(r.Host)), http.StatusMisdirectedRequest)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(rw, "read-only", http.StatusMethodNotAllowed)
		return
	}
	if crossSite(r) {
		http.Error(rw, "a page of another site may link to this view but not read from it", http.StatusForbidden)
		return
	}
	if w.cfg.Token != "" && !w.authorized(rw, r) {
		return
	}
	w.mux.ServeHTTP(rw, r)
}

// authorized checks the token; a valid ?token= sets a cookie and redirects to the URL without it.
func (w *Handler) authorized(rw http.ResponseWriter, r *http.Request) bool {
	same := func(s string) bool { return subtle.ConstantTimeCompare([]byte(s), []byte(w.cfg.Token)) == 1 }
	if t := r.URL.Query().Get("token"); t != "" && same(t) {
		http.SetCookie(rw, &http.Cookie{Name: "clawcensus_token", Value: t, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		q := r.URL.Query()
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(rw, r, u.RequestURI(), http.StatusSeeOther)
		return false
	}
	if c, err := r.Cookie("clawcensus_token"); err == nil && same(c.Value) {
		return true
	}
	// The scheme is case-insensitive (RFC 9110, 11.1): "bearer" and "BEARER" are Bearer.
	if scheme, b, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") && same(strings.TrimLeft(b, " ")) {
		return true
	}
	http.Error(rw, "a token is required: open the link with ?token=…", http.StatusUnauthorized)
	return false
}

type indexPage struct {
	Runs     []store.Summary
	Latest   *report.Document
	Searched string
}

func (w *Handler) index(rw http.ResponseWriter, r *http.Request) {
	sums, err := w.src.Summaries(r.Context())
	if err != nil {
		w.fail(rw, err)
		return
	}
	page := indexPage{Runs: slices.Clone(sums)}
	slices.Reverse(page.Runs)
	if len(sums) > 0 {
		if page.Latest, err = w.document(sums[len(sums)-1], sums); err != nil {
			w.fail(rw, err)
			return
		}
	}
	w.render(rw, "index", page)
}

func (w *Handler) document(run store.Summary, sums []store.Summary) (*report.Document, error) {
	var m report.Methodology
	if w.cfg.Methodology != nil {
		m = w.cfg.Methodology(run)
	}
	return report.NewDocument(run, sums, w.rules, m, time.Now())
}

func (w *Handler) runOf(rw http.ResponseWriter, r *http.Request, id string) (store.Summary, []store.Summary, bool) {
	sums, err := w.src.Summaries(r.Context())
	if err != nil {
		w.fail(rw, err)
		return store.Summary{}, nil, false
	}
	if id == "" && len(sums) > 0 {
		return sums[len(sums)-1], sums, true
	}
	n, err := strconv.ParseInt(id, 10, 64)
	i := slices.IndexFunc(sums, func(s store.Summary) bool { return s.ID == n })
	if err != nil || i < 0 {
		http.Error(rw, "no such run", http.StatusNotFound)
		return store.Summary{}, nil, false
	}
	return sums[i], sums, true
}

func (w *Handler) run(rw http.ResponseWriter, r *http.Request) {
	run, sums, ok := w.runOf(rw, r, r.PathValue("id"))
	if !ok {
		return
	}
	doc, err := w.document(run, sums)
	if err != nil {
		w.fail(rw, err)
		return
	}
	var b bytes.Buffer
	if err := doc.WriteHTML(&b); err != nil {
		w.fail(rw, err)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Write(b.Bytes())
}

func (w *Handler) export(rw http.ResponseWriter, r *http.Request) {
	run, _, ok := w.runOf(rw, r, r.PathValue("id"))
	if !ok {
		return
	}
	obs, err := w.gateways(r.Context(), run)
	if err != nil {
		w.fail(rw, err)
		return
	}
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-scan_openclaw-run%d.csv"`, run.StartedAt.UTC().Format("2006-01-02"), run.ID))
	w.ex.WriteCSV(rw, obs)
}

// gateways reads a run's gateways, kept in memory for runs that are finished.
func (w *Handler) gateways(ctx context.Context, run store.Summary) ([]observation.Observation, error) {
	w.mu.Lock()
	cached, ok := w.cache[run.ID]
	w.mu.Unlock()
	if ok {
		return cached, nil
	}
	obs, err := w.src.Observations(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	obs = slices.DeleteFunc(obs, func(o observation.Observation) bool { return !o.Detected() })
	slices.SortFunc(obs, observation.Compare)
	if run.Status == store.StatusComplete || run.Status == store.StatusFailed {
		w.mu.Lock()
		w.cache[run.ID] = obs
		w.mu.Unlock()
	}
	return obs, nil
}

type searchPage struct {
	Query string
	Run   store.Summary
	Runs  []store.Summary
	Hits  []hit
	// Gateways and Honeypots count the hits shown by their verdict: gateways that count, and
	// probable honeypots, counted apart.
	Gateways, Honeypots int
	More                bool
	Problem             string
}

// hit is a gateway found by a search, with report's verdict on it.
type hit struct {
	observation.Observation
	Verdict report.Verdict
}

// query is what a search asks for: an address, a prefix or an AS number.
type query struct {
	prefix netip.Prefix
	asn    uint32
}

func parseQuery(q string) (query, error) {
	q = strings.TrimSpace(q)
	if n, ok := strings.CutPrefix(strings.ToUpper(q), "AS"); ok {
		asn, err := strconv.ParseUint(n, 10, 32)
		if err != nil {
			return query{}, fmt.Errorf("%q: an AS number is AS followed by digits", q)
		}
		if asn == 0 {
			return query{}, fmt.Errorf("%q: AS0 is reserved and names no network (gateways without AS data have no number to search)", q)
		}
		return query{asn: uint32(asn)}, nil
	}
	// An address or prefix is read as the scanner reads a target (scanner.ParseTarget): an
	// IPv4-mapped or IPv4-compatible form (::ffff:127.0.0.50, ::127.0.0.50) is the IPv4
	// address, as the scanner stored it; a zone is refused. IPv6 prefixes wider than /96,
	// which no sweep covers, are kept as IPv6, as the scanner keeps them.
	if strings.Contains(q, "-") {
		return query{}, fmt.Errorf("%q: search for an IP address, a CIDR prefix or an AS number (AS64500), not a range", q)
	}
	if p, err := netip.ParsePrefix(q); err == nil && p.Addr().Is6() && p.Bits() < 96 {
		return query{prefix: p.Masked()}, nil
	}
	r, err := scanner.ParseTarget(q)
	if err != nil {
		return query{}, fmt.Errorf("%q: search for an IP address, a CIDR prefix or an AS number (AS64500): %v", q, err)
	}
	bits := r.First.BitLen()
	if p, err := netip.ParsePrefix(q); err == nil {
		bits = p.Bits()
		if p.Addr().Is6() && r.First.Is4() {
			bits -= 96
		}
	}
	return query{prefix: netip.PrefixFrom(r.First, bits).Masked()}, nil
}

func (q query) matches(o observation.Observation) bool {
	if q.asn != 0 {
		return o.ASN == q.asn
	}
	return q.prefix.Contains(o.IP)
}

func (w *Handler) search(rw http.ResponseWriter, r *http.Request) {
	run, sums, ok := w.runOf(rw, r, r.URL.Query().Get("run"))
	if !ok {
		return
	}
	page := searchPage{Query: r.URL.Query().Get("q"), Run: run, Runs: sums}
	q, err := parseQuery(page.Query)
	if err != nil {
		page.Problem = err.Error()
		rw.WriteHeader(http.StatusBadRequest)
		w.render(rw, "search", page)
		return
	}
	obs, err := w.gateways(r.Context(), run)
	if err != nil {
		w.fail(rw, err)
		return
	}
	for _, o := range obs {
		if q.matches(o) {
			if len(page.Hits) == w.cfg.MaxResults {
				page.More = true
				break
			}
			v := w.ex.Judge().Verdict(o)
			page.Hits = append(page.Hits, hit{o, v})
			if v.Counts {
				page.Gateways++
			} else if v.ProbableHoneypot {
				page.Honeypots++
			}
		}
	}
	w.render(rw, "search", page)
}

func (w *Handler) render(rw http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		w.fail(rw, err)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Write(b.Bytes())
}

func (w *Handler) fail(rw http.ResponseWriter, err error) {
	http.Error(rw, "the store could not be read: "+report.TextCell(err.Error()), http.StatusInternalServerError)
}

//go:embed templates
var templates embed.FS

// pages are the view's own pages; a run's report is report's HTML document.
var pages = template.Must(template.New("web").Funcs(template.FuncMap{
	"join":     strings.Join,
	"rfc":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"svg":      func(b []byte) template.HTML { return template.HTML(b) }, // rendered by report from numbers and escaped labels
	"official": observation.OfficialText,
	"clean":    report.TextCell,
}).ParseFS(templates, "templates/web.html.tmpl"))
