package fingerprint

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// An update reads the release table from an npm-compatible registry: each package's packument
// (the full one: the abbreviated install form lacks `time`), then the tarball of every version
// the base does not know, checked against the packument's dist.integrity, from which
// dist/control-ui/index.html, its sw.js and dist/build-info.json make the Release. Everything
// the registry sends is treated as hostile: every read is bounded, every request has a
// deadline, and a fault names the package and version and yields nothing.

// DefaultRegistry is the public npm registry.
const DefaultRegistry = "https://registry.npmjs.org"

// DefaultUpdateTimeout bounds one registry request, headers and body.
const DefaultUpdateTimeout = 10 * time.Minute

// updatePackages are the npm names OpenClaw has been published under.
var updatePackages = []string{"clawdbot", "moltbot", "openclaw"}

// Bounds on what a registry may send.
const (
	maxPackument = 64 << 20  // one packument's body
	maxVersions  = 10000     // versions in one packument
	maxTarball   = 256 << 20 // one tarball, as sent
	maxUnpacked  = 1 << 30   // one tarball, gunzipped
	maxTarFile   = 4 << 20   // each file read from a tarball
	maxRedirects = 5
)

// The files of a tarball a release is made from.
const (
	tarIndex     = "package/dist/control-ui/index.html"
	tarSW        = "package/dist/control-ui/sw.js"
	tarBuildInfo = "package/dist/build-info.json"
)

// ErrUpdateConfig marks an UpdateConfig that cannot work (the caller's mistake, not the
// registry's).
var ErrUpdateConfig = errors.New("update configuration")

// UpdateConfig says where an update reads from and what it starts with.
type UpdateConfig struct {
	// Registry is an npm-compatible registry's URL (http or https). Empty means DefaultRegistry.
	Registry string
	// Base is the knowledge base to start from, normally the one in use: its releases and
	// advisories are kept. Nil means the embedded one.
	Base *KnowledgeFile
	// OSV is an OSV export to take advisories from: a directory of .json records, a .zip of
	// them (OSV's npm/all.zip) or one .json record. Empty means the base's advisories as they are.
	OSV string
	// Refresh re-reads the versions the base already knows.
	Refresh bool
	// Force returns the result even when it is older than the base (Newer).
	Force bool
	// Timeout bounds each registry request, headers and body. Zero means DefaultUpdateTimeout.
	Timeout time.Duration
	// Log gets a line per release read and per package skipped. Nil means no log.
	Log *slog.Logger
}

// Update refreshes a knowledge base from a registry (and, with cfg.OSV, an OSV export) and
// returns it: Generated now, Source the registry (and the export). It writes nothing. A missing
// package (404) is skipped; any other fault of the registry is an error naming the package and
// version. A result older than the base is refused unless cfg.Force.
func Update(ctx context.Context, cfg UpdateConfig) (*KnowledgeFile, error) {
	reg, err := url.Parse(cmp.Or(cfg.Registry, DefaultRegistry))
	if err != nil || (reg.Scheme != "http" && reg.Scheme != "https") || reg.Host == "" || reg.User != nil {
		return nil, fmt.Errorf("%w: registry %q: want an http or https URL", ErrUpdateConfig, cfg.Registry)
	}
	reg.Path, reg.RawQuery, reg.Fragment = strings.TrimSuffix(reg.Path, "/"), "", ""
	if cfg.OSV != "" {
		if _, err := os.Stat(cfg.OSV); err != nil {
			return nil, fmt.Errorf("%w: OSV export: %w", ErrUpdateConfig, err)
		}
	}
	base := cfg.Base
	if base == nil {
		if base, err = EmbeddedKnowledge(); err != nil {
			return nil, err
		}
	}
	baseID, err := knowledgeIdentity(base)
	if err != nil {
		return nil, fmt.Errorf("the base knowledge base: %w", err)
	}
	rules, err := LoadRules()
	if err != nil {
		return nil, err
	}
	u := &updater{reg: reg, rules: rules, timeout: cmp.Or(cfg.Timeout, DefaultUpdateTimeout),
		log: cmp.Or(cfg.Log, slog.New(slog.DiscardHandler))}
	u.client = &http.Client{Transport: &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:    30 * time.Second,
		ResponseHeaderTimeout:  time.Minute,
		MaxResponseHeaderBytes: 1 << 20,
		IdleConnTimeout:        time.Minute,
		ForceAttemptHTTP2:      true,
	}, CheckRedirect: u.checkRedirect}
	defer u.client.CloseIdleConnections()

	out := &KnowledgeFile{Format: KnowledgeFormat, Releases: slices.Clone(base.Releases),
		Advisories: slices.Clone(base.Advisories)}
	at := map[string]int{}
	for i, rel := range out.Releases {
		at[rel.Package+"@"+rel.Version] = i
	}
	for _, pkg := range updatePackages {
		rels, err := u.readPackage(ctx, pkg, func(v string) bool { _, ok := at[pkg+"@"+v]; return cfg.Refresh || !ok })
		if err != nil {
			return nil, err
		}
		for _, rel := range rels {
			if i, ok := at[rel.Package+"@"+rel.Version]; ok {
				out.Releases[i] = rel
			} else {
				at[rel.Package+"@"+rel.Version] = len(out.Releases)
				out.Releases = append(out.Releases, rel)
			}
		}
	}
	slices.SortFunc(out.Releases, func(a, b Release) int {
		return cmp.Or(strings.Compare(a.Package, b.Package), CompareVersions(a.Version, b.Version))
	})
	out.Source = reg.String()
	if cfg.OSV != "" {
		if out.Advisories, err = importOSV(out.Advisories, cfg.OSV); err != nil {
			return nil, err
		}
		out.Source += "; osv " + cfg.OSV
	}
	out.Generated = time.Now().UTC().Format(time.RFC3339)
	id, err := knowledgeIdentity(out)
	if err != nil {
		return nil, fmt.Errorf("the updated knowledge base: %w", err)
	}
	if Newer(baseID, id) && !cfg.Force {
		return nil, fmt.Errorf("the updated knowledge base (%s) is older than the one it started from (%s); force to accept it", id, baseID)
	}
	return out, nil
}

// knowledgeIdentity compiles kf, which checks it, and names it.
func knowledgeIdentity(kf *KnowledgeFile) (Identity, error) {
	r, err := LoadRules()
	if err != nil {
		return Identity{}, err
	}
	if err := r.useKnowledge(kf, "embedded"); err != nil {
		return Identity{}, err
	}
	return r.Knowledge, nil
}

type updater struct {
	reg     *url.URL
	rules   *Rules
	client  *http.Client
	timeout time.Duration
	log     *slog.Logger
}

// checkRedirect follows a registry's redirects only to the registry itself.
func (u *updater) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("more than %d redirects", maxRedirects)
	}
	if req.URL.Scheme != u.reg.Scheme || req.URL.Host != u.reg.Host {
		return fmt.Errorf("redirect to %s://%s refused: not the registry", req.URL.Scheme, textsafe.Clean(req.URL.Host, 100))
	}
	return nil
}

type packument struct {
	Name     string `json:"name"`
	Versions map[string]struct {
		Dist struct {
			Tarball   string `json:"tarball"`
			Integrity string `json:"integrity"`
		} `json:"dist"`
	} `json:"versions"`
	Time map[string]string `json:"time"`
}

// readPackage reads the releases of pkg that want selects; nil when the registry does not
// have pkg.
func (u *updater) readPackage(ctx context.Context, pkg string, want func(version string) bool) ([]Release, error) {
	var p packument
	found, err := u.get(ctx, u.reg.JoinPath(pkg).String(), maxPackument, func(body io.Reader) error {
		data, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("not a packument: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: packument: %w", pkg, err)
	}
	if !found {
		u.log.Info("not in the registry", "package", pkg)
		return nil, nil
	}
	if p.Name != pkg {
		return nil, fmt.Errorf("%s: packument: names package %q", pkg, textsafe.Clean(p.Name, 100))
	}
	if len(p.Versions) > maxVersions {
		return nil, fmt.Errorf("%s: packument: %d versions, more than %d", pkg, len(p.Versions), maxVersions)
	}
	var versions []string
	for v := range p.Versions {
		if _, err := ParseVersion(v); err != nil {
			u.log.Warn("version skipped: not of the release grammar", "package", pkg, "version", textsafe.Clean(v, 100))
			continue
		}
		if want(v) {
			versions = append(versions, v)
		}
	}
	slices.SortFunc(versions, CompareVersions)
	var rels []Release
	for _, v := range versions {
		rel, err := u.readRelease(ctx, pkg, v, p.Versions[v].Dist.Tarball, p.Versions[v].Dist.Integrity)
		if err != nil {
			return nil, fmt.Errorf("%s@%s: %w", pkg, v, err)
		}
		if t, err := time.Parse(time.RFC3339, p.Time[v]); err == nil {
			rel.Registry = t.UTC().Format(time.RFC3339Nano)
		}
		u.log.Info("release", "package", pkg, "version", v, "assets", strings.Join(rel.Assets, ","), "broken", rel.Broken)
		rels = append(rels, rel)
	}
	return rels, nil
}

// readRelease fetches one tarball, checks it against its integrity and describes it.
func (u *updater) readRelease(ctx context.Context, pkg, version, tarball, integrity string) (Release, error) {
	sum, err := parseIntegrity(integrity)
	if err != nil {
		return Release{}, err
	}
	tu, err := url.Parse(tarball)
	if err != nil || (tu.Scheme != "http" && tu.Scheme != "https") || tu.User != nil {
		return Release{}, fmt.Errorf("dist.tarball %q: want an http or https URL", textsafe.Clean(tarball, 200))
	}
	if tu.Scheme != u.reg.Scheme && u.reg.Scheme == "https" || tu.Host != u.reg.Host {
		return Release{}, fmt.Errorf("dist.tarball %q refused: not on the registry %s", textsafe.Clean(tarball, 200), u.reg.Host)
	}
	var files map[string][]byte
	found, err := u.get(ctx, tu.String(), maxTarball, func(body io.Reader) error {
		h := sum.new()
		files, err = readTarball(io.TeeReader(body, h))
		if err != nil {
			return err
		}
		if _, err := io.Copy(h, body); err != nil { // the rest: gzip's trailer, padding
			return err
		}
		if !bytes.Equal(h.Sum(nil), sum.digest) {
			return fmt.Errorf("does not match its dist.integrity (%s)", sum.algo)
		}
		return nil
	})
	if err == nil && !found {
		err = errors.New("not found (404)")
	}
	if err != nil {
		return Release{}, fmt.Errorf("tarball: %w", err)
	}
	if files[tarIndex] == nil {
		return Release{Package: pkg, Version: version, Broken: "no dist/control-ui/index.html in the tarball"}, nil
	}
	rel := u.rules.ReleaseFromTarball(pkg, version, files[tarIndex], files[tarSW], files[tarBuildInfo])
	if len(rel.Assets) == 0 {
		rel.Broken = "no bundle names in dist/control-ui/index.html"
	}
	if b := knownBroken[pkg+"@"+version]; b != "" {
		rel.Broken = b
	}
	return rel, nil
}

// knownBroken are publishes that cannot run, found by installing them (see
// shared/docs/openclaw-on-the-wire.md). Their UI may be shared with a working release, so
// they stay in the table, marked, and the matcher ignores them.
var knownBroken = map[string]string{
	"clawdbot@2026.1.24": "broken publish: the tarball lacks dist modules its entry imports (dist/link-understanding/); superseded by 2026.1.24-3",
}

// get fetches url within the request timeout and hands read at most limit bytes of the body
// (more is an error). It reports false, and calls nothing, on a 404.
func (u *updater) get(ctx context.Context, url string, limit int64, read func(io.Reader) error) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := u.client.Do(req)
	if err != nil {
		return false, u.timedOut(ctx, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("the registry answered %q", textsafe.Clean(resp.Status, 100))
	case resp.ContentLength > limit:
		return false, fmt.Errorf("%d bytes, more than the %d MiB allowed", resp.ContentLength, limit>>20)
	}
	if err := read(&boundedReader{r: resp.Body, left: limit}); err != nil {
		return false, u.timedOut(ctx, err)
	}
	return true, nil
}

// timedOut says so when err came from the request's deadline.
func (u *updater) timedOut(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("not done within %s: %w", u.timeout, err)
	}
	return err
}

// boundedReader reads at most left bytes of r; past that, an error (never a quiet EOF, which
// would make a cut body look whole).
type boundedReader struct {
	r    io.Reader
	left int64
	max  int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.max == 0 {
		b.max = b.left
	}
	if b.left < 0 {
		return 0, fmt.Errorf("more than the %d MiB allowed", b.max>>20)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("more than the %d MiB allowed", b.max>>20)
	}
	return n, err
}

// readTarball reads the files a release is made from out of a gzipped tar, to its end (a
// truncated or corrupt tarball is an error), bounded by maxUnpacked.
func readTarball(r io.Reader) (map[string][]byte, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	unpacked := &boundedReader{r: gz, left: maxUnpacked}
	tr := tar.NewReader(unpacked)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, truncated(err)
		}
		if h.Typeflag != tar.TypeReg || (h.Name != tarIndex && h.Name != tarSW && h.Name != tarBuildInfo) {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxTarFile+1))
		if err != nil {
			return nil, truncated(err)
		}
		if len(data) > maxTarFile {
			return nil, fmt.Errorf("%s: more than %d MiB", h.Name, maxTarFile>>20)
		}
		files[h.Name] = data
	}
	// The gzip stream must end whole too: its trailer holds the checksum.
	if _, err := io.Copy(io.Discard, unpacked); err != nil {
		return nil, truncated(err)
	}
	return files, nil
}

func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated: %w", err)
	}
	return err
}

// integrity is a parsed Subresource Integrity value: the strongest digest it lists.
type integrity struct {
	algo   string
	digest []byte
	new    func() hash.Hash
}

// parseIntegrity reads dist.integrity ("sha512-<base64>", space-separated alternatives). It
// must hold a well-formed sha256, sha384 or sha512 digest; the strongest is used.
func parseIntegrity(s string) (integrity, error) {
	algos := []struct {
		name string
		new  func() hash.Hash
		size int
	}{{"sha512", sha512.New, 64}, {"sha384", sha512.New384, 48}, {"sha256", sha256.New, 32}}
	var best integrity
	rank := len(algos)
	for _, tok := range strings.Fields(s) {
		name, b64, _ := strings.Cut(tok, "-")
		b64, _, _ = strings.Cut(b64, "?") // SRI options
		for i, a := range algos {
			if a.name != name {
				continue
			}
			d, err := base64.StdEncoding.DecodeString(b64)
			if err != nil || len(d) != a.size {
				return integrity{}, fmt.Errorf("dist.integrity %q: not a %s digest", textsafe.Clean(s, 200), name)
			}
			if i < rank {
				best, rank = integrity{algo: name, digest: d, new: a.new}, i
			}
		}
	}
	if best.new == nil {
		return integrity{}, fmt.Errorf("dist.integrity %q: no sha256, sha384 or sha512 digest: refused", textsafe.Clean(s, 200))
	}
	return best, nil
}

// UpdateDataDir updates the knowledge base in use with dataDir (empty means DefaultDataDir;
// see LoadKnowledge) and writes the result to its KnowledgeName atomically: the file is
// replaced whole or left as it was. cfg.Base is ignored. It returns the identities of the
// knowledge base it started from and of the file written.
func UpdateDataDir(ctx context.Context, dataDir string, cfg UpdateConfig) (before, after Identity, err error) {
	dataDir = cmp.Or(dataDir, DefaultDataDir())
	inUse, err := LoadKnowledge(KnowledgeConfig{DataDir: dataDir})
	if err != nil {
		return before, after, err
	}
	cfg.Base = inUse.KnowledgeFile()
	kf, err := Update(ctx, cfg)
	if err != nil {
		return inUse.Knowledge, after, err
	}
	path := filepath.Join(dataDir, KnowledgeName)
	if err := WriteKnowledgeFile(path, kf); err != nil {
		return inUse.Knowledge, after, err
	}
	written, err := LoadKnowledge(KnowledgeConfig{File: path})
	if err != nil {
		return inUse.Knowledge, after, err
	}
	return inUse.Knowledge, written.Knowledge, nil
}
