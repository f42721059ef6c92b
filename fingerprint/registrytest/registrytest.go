// Package registrytest serves an npm-compatible registry on loopback for the tests of
// `fingerprints update`: packuments and small release tarballs built in memory from the
// recorded gateways' Control UI pages. It never reaches the real registry.
package registrytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint/fixture"
)

// Registry is a registry on 127.0.0.1.
type Registry struct {
	URL string

	mu       sync.Mutex
	versions map[string]map[string]version // package -> version
	handlers map[string]http.HandlerFunc   // path -> what answers instead
	fetched  []string
}

type version struct {
	tarball   []byte
	integrity string
	time      string
}

// New starts a registry with no packages (every packument 404) until Publish; it stops when
// the test ends.
func New(t testing.TB) *Registry {
	r := &Registry{versions: map[string]map[string]version{}, handlers: map[string]http.HandlerFunc{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Publish adds a version with its tarball, its true sha512 integrity and a registry time.
func (r *Registry) Publish(pkg, v string, tarball []byte) {
	r.PublishIntegrity(pkg, v, tarball, Integrity(tarball))
}

// PublishIntegrity adds a version whose packument claims integrity for tarball.
func (r *Registry) PublishIntegrity(pkg, v string, tarball []byte, integrity string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.versions[pkg] == nil {
		r.versions[pkg] = map[string]version{}
	}
	r.versions[pkg][v] = version{tarball, integrity, "2099-01-03T04:05:06.789Z"}
}

// Handle makes h answer path (a packument "/openclaw" or a tarball TarballPath) instead.
func (r *Registry) Handle(path string, h http.HandlerFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[path] = h
}

// TarballPath is where the registry serves a version's tarball.
func TarballPath(pkg, v string) string { return "/" + pkg + "/-/" + pkg + "-" + v + ".tgz" }

// Fetched lists the tarball paths served so far.
func (r *Registry) Fetched() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.fetched...)
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	h := r.handlers[req.URL.Path]
	if strings.HasSuffix(req.URL.Path, ".tgz") {
		r.fetched = append(r.fetched, req.URL.Path)
	}
	pkg, rest, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	vs := r.versions[pkg]
	var body []byte
	switch {
	case h != nil:
	case rest == "" && vs != nil:
		p := map[string]any{"name": pkg, "dist-tags": map[string]string{}, "versions": map[string]any{},
			"time": map[string]string{"created": "2026-01-01T00:00:00.000Z"}}
		for v, ver := range vs {
			p["versions"].(map[string]any)[v] = map[string]any{"name": pkg, "version": v,
				"dist": map[string]string{"tarball": r.URL + TarballPath(pkg, v), "integrity": ver.integrity}}
			p["time"].(map[string]string)[v] = ver.time
		}
		body, _ = json.Marshal(p)
	case strings.HasPrefix(rest, "-/"):
		for v, ver := range vs {
			if TarballPath(pkg, v) == req.URL.Path {
				body = ver.tarball
			}
		}
	}
	r.mu.Unlock()
	switch {
	case h != nil:
		h(w, req)
	case body == nil:
		http.NotFound(w, req)
	default:
		w.Write(body)
	}
}

// Integrity is the SRI sha512 value npm publishes for b.
func Integrity(b []byte) string {
	sum := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// Tarball packs files (name -> content, names as in the tarball: "package/…") as npm does, a
// gzipped tar, in name order.
func Tarball(files map[string][]byte) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg})
		tw.Write(files[n])
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

var assetRE = regexp.MustCompile(`assets/(index|control-ui-core)-[A-Za-z0-9_-]{8}\.(js|css)`)

// Release builds the tarball of OpenClaw release v: the Control UI page of the recorded
// 2026.9.6 gateway rewritten to v (new bundle names AssetTag(v), commit 0123456789ab, build
// time 2099-01-02), its sw.js and a build-info.json.
func Release(t testing.TB, v string) []byte {
	t.Helper()
	path := filepath.Join(moduleRoot(t), recorded)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fixture.Parse(filepath.Base(path), data)
	if err != nil {
		t.Fatal(err)
	}
	page := rewrite(f.Responses["GET /"].Body, v)
	buildID := v + "-release-0123456789ab-2099-01-02T00-00-00.000Z"
	return Tarball(map[string][]byte{
		"package/package.json":               fmt.Appendf(nil, `{"name":"openclaw","version":%q}`, v),
		"package/dist/control-ui/index.html": page,
		"package/dist/control-ui/sw.js":      fmt.Appendf(nil, "const EMBEDDED_CACHE_VERSION = %q;\n", buildID),
		"package/dist/build-info.json": fmt.Appendf(nil, `{"commit":"0123456789abcdef0123456789abcdef01234567","builtAt":"2099-01-02T00:00:00.000Z","buildId":%q}`,
			buildID),
	})
}

// AssetTag is the 8-character bundle hash Release gives version v.
func AssetTag(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])[:8]
}

// moduleRoot finds go.mod above the working directory.
func moduleRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("registrytest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// recorded is the recorded gateway Release and Gateway rewrite: a real 2026.9.6 gateway.
const recorded = "fingerprint/testdata/gateways/openclaw-2026.9.6-token.txtar"

// rewrite makes bytes of the recorded 2026.9.6 gateway those of release v: its version, commit,
// build time and bundle names (each the same length, so recorded lengths stay true).
func rewrite(b []byte, v string) []byte {
	b = assetRE.ReplaceAll(b, []byte("assets/${1}-"+AssetTag(v)+".$2"))
	for old, new := range map[string]string{"2026.9.6": v, "eb377ac59e6c": "0123456789ab", "2026-09-23T16-33-12.144Z": "2099-01-02T00-00-00.000Z"} {
		b = bytes.ReplaceAll(b, []byte(old), []byte(new))
	}
	return b
}

// Gateway is the recorded 2026.9.6 gateway rewritten to release v (v must be as long as
// "2026.9.6"): what a gateway on Release(t, v) serves, to replay on loopback.
func Gateway(t testing.TB, v string) *fixture.Fixture {
	t.Helper()
	if len(v) != len("2026.9.6") {
		t.Fatalf("registrytest: version %q: want one as long as 2026.9.6", v)
	}
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), recorded))
	if err != nil {
		t.Fatal(err)
	}
	f, err := fixture.Parse(filepath.Base(recorded), rewrite(data, v))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
