package fingerprint_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/fingerprint/registrytest"
)

func findRelease(kf *fingerprint.KnowledgeFile, pkg, v string) *fingerprint.Release {
	for i := range kf.Releases {
		if kf.Releases[i].Package == pkg && kf.Releases[i].Version == v {
			return &kf.Releases[i]
		}
	}
	return nil
}

// TestUpdateAddsRelease: an update from a registry on loopback reads the one new release's
// tarball (not those the base knows, nor a version outside the release grammar), takes its
// bundle names, commit, build date and registry time, marks a tarball without a Control UI
// broken, skips a package the registry does not have (moltbot), and knows a newer release
// than the base.
func TestUpdateAddsRelease(t *testing.T) {
	base, err := fingerprint.EmbeddedKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(t)
	reg.Publish("openclaw", "2026.9.6", registrytest.Release(t, "2026.9.6"))
	reg.Publish("openclaw", "2099.1.2", registrytest.Release(t, "2099.1.2"))
	reg.Publish("openclaw", "1.0.0-rc.1", registrytest.Release(t, "1.0.0-rc.1"))
	reg.Publish("clawdbot", "2099.1.1", registrytest.Tarball(map[string][]byte{"package/package.json": []byte(`{}`)}))
	ctx := t.Context()
	kf, err := fingerprint.Update(ctx, fingerprint.UpdateConfig{Registry: reg.URL, Base: base})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{registrytest.TarballPath("clawdbot", "2099.1.1"), registrytest.TarballPath("openclaw", "2099.1.2")}
	if got := reg.Fetched(); !slices.Equal(got, want) {
		t.Errorf("tarballs fetched %q, want %q", got, want)
	}
	rel := findRelease(kf, "openclaw", "2099.1.2")
	tag := registrytest.AssetTag("2099.1.2")
	if rel == nil || !slices.Equal(rel.Assets, []string{"control-ui-core-" + tag + ".css", "control-ui-core-" + tag + ".js", "index-" + tag + ".js"}) ||
		rel.Commit != "0123456789abcdef0123456789abcdef01234567" || rel.BuiltAt != "2099-01-02T00:00:00.000Z" ||
		!strings.HasPrefix(rel.SWCache, "2099.1.2-release-") || rel.Registry != "2099-01-03T04:05:06.789Z" || rel.Broken != "" {
		t.Errorf("the new release: %+v", rel)
	}
	if rel := findRelease(kf, "clawdbot", "2099.1.1"); rel == nil || !strings.Contains(rel.Broken, "no dist/control-ui/index.html") {
		t.Errorf("a tarball without a Control UI: %+v", rel)
	}
	if len(kf.Releases) != len(base.Releases)+2 || len(kf.Advisories) != len(base.Advisories) || kf.Source != reg.URL ||
		findRelease(kf, "openclaw", "2026.9.6") == nil {
		t.Errorf("%d releases (base %d), %d advisories (base %d), source %q", len(kf.Releases), len(base.Releases),
			len(kf.Advisories), len(base.Advisories), kf.Source)
	}

	dir := t.TempDir()
	if err := fingerprint.WriteKnowledgeFile(filepath.Join(dir, fingerprint.KnowledgeName), kf); err != nil {
		t.Fatal(err)
	}
	r, err := fingerprint.LoadKnowledge(fingerprint.KnowledgeConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	embedded, _ := fingerprint.LoadRules()
	if r.Knowledge.Newest != "openclaw 2099.1.2" || r.Knowledge.NewestDate != "2099-01-02" || !fingerprint.Newer(r.Knowledge, embedded.Knowledge) {
		t.Errorf("updated %s, embedded %s", r.Knowledge, embedded.Knowledge)
	}

	// Again from the updated one: nothing to fetch. With Refresh: every version again.
	if _, err := fingerprint.Update(ctx, fingerprint.UpdateConfig{Registry: reg.URL, Base: r.KnowledgeFile()}); err != nil || len(reg.Fetched()) != 2 {
		t.Errorf("a second update: %v, fetched %q", err, reg.Fetched())
	}
	if _, err := fingerprint.Update(ctx, fingerprint.UpdateConfig{Registry: reg.URL, Base: r.KnowledgeFile(), Refresh: true}); err != nil ||
		len(reg.Fetched()) != 5 {
		t.Errorf("a refresh: %v, fetched %q", err, reg.Fetched())
	}
}

// TestUpdateRefusesOlder: a result older than its base (here: nothing new, and the base was
// generated later) is refused unless forced.
func TestUpdateRefusesOlder(t *testing.T) {
	base, err := fingerprint.EmbeddedKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	base.Generated = "2100-01-01T00:00:00Z"
	reg := registrytest.New(t)
	if _, err := fingerprint.Update(t.Context(), fingerprint.UpdateConfig{Registry: reg.URL, Base: base}); err == nil ||
		!strings.Contains(err.Error(), "older than") {
		t.Errorf("an older result: %v", err)
	}
	if kf, err := fingerprint.Update(t.Context(), fingerprint.UpdateConfig{Registry: reg.URL, Base: base, Force: true}); err != nil ||
		len(kf.Releases) != len(base.Releases) {
		t.Errorf("forced: %v", err)
	}
	for _, bad := range []string{"ftp://example.org", "registry.npmjs.org", "http://user:pw@127.0.0.1/"} {
		if _, err := fingerprint.Update(t.Context(), fingerprint.UpdateConfig{Registry: bad}); !errors.Is(err, fingerprint.ErrUpdateConfig) {
			t.Errorf("registry %q: %v", bad, err)
		}
	}
}

// packumentWith serves a packument for openclaw whose one version 2099.1.2 has dist dist.
func packumentWith(dist map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"name": "openclaw",
			"versions": map[string]any{"2099.1.2": map[string]any{"dist": dist}}})
	}
}

// forever writes chunk until the client goes away.
func forever(w io.Writer, chunk []byte) {
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// TestUpdateRefusesHostileRegistry: whatever a registry sends, an update ends with an error
// that names the package (and the version) and says what was wrong, and returns nothing.
func TestUpdateRefusesHostileRegistry(t *testing.T) {
	good := registrytest.Release(t, "2099.1.2")
	tgz := registrytest.TarballPath("openclaw", "2099.1.2")
	// A gzip member of 64 MiB of zeros: concatenated, they inflate past any bound in little space.
	var zeros bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zeros, gzip.BestCompression)
	zw.Write(make([]byte, 64<<20))
	zw.Close()
	tarHeader := func(size int64) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		tw.WriteHeader(&tar.Header{Name: "package/huge", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
		tw.Flush()
		return b.Bytes()
	}
	cases := []struct {
		name    string
		setup   func(reg *registrytest.Registry)
		timeout time.Duration
		want    []string
	}{
		{"truncated tarball", func(reg *registrytest.Registry) {
			reg.Handle(tgz, func(w http.ResponseWriter, _ *http.Request) { w.Write(good[:len(good)/2]) })
		}, 0, []string{"openclaw@2099.1.2: tarball", "truncated"}},
		{"bad integrity", func(reg *registrytest.Registry) {
			reg.PublishIntegrity("openclaw", "2099.1.2", good, registrytest.Integrity([]byte("another tarball")))
		}, 0, []string{"openclaw@2099.1.2: tarball", "does not match its dist.integrity (sha512)"}},
		{"malformed integrity", func(reg *registrytest.Registry) {
			reg.PublishIntegrity("openclaw", "2099.1.2", good, "sha512-not!base64")
		}, 0, []string{"openclaw@2099.1.2", "not a sha512 digest"}},
		{"no integrity", func(reg *registrytest.Registry) {
			reg.PublishIntegrity("openclaw", "2099.1.2", good, "")
		}, 0, []string{"openclaw@2099.1.2", "no sha256, sha384 or sha512 digest"}},
		{"sha1 only", func(reg *registrytest.Registry) {
			reg.PublishIntegrity("openclaw", "2099.1.2", good, "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=")
		}, 0, []string{"openclaw@2099.1.2", "no sha256, sha384 or sha512 digest"}},
		{"10 GB declared", func(reg *registrytest.Registry) {
			reg.Handle(tgz, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "10000000000")
				forever(w, make([]byte, 64<<10))
			})
		}, 0, []string{"openclaw@2099.1.2: tarball", "10000000000 bytes, more than the 256 MiB allowed"}},
		{"10 GB streamed", func(reg *registrytest.Registry) {
			reg.Handle(tgz, func(w http.ResponseWriter, _ *http.Request) {
				gz, _ := gzip.NewWriterLevel(w, gzip.NoCompression)
				gz.Write(tarHeader(10e9))
				forever(gz, make([]byte, 64<<10))
			})
		}, 0, []string{"openclaw@2099.1.2: tarball", "more than the 256 MiB allowed"}},
		{"gzip bomb", func(reg *registrytest.Registry) {
			reg.Handle(tgz, func(w http.ResponseWriter, _ *http.Request) {
				gz := gzip.NewWriter(w)
				gz.Write(tarHeader(10e9))
				gz.Close()
				forever(w, zeros.Bytes())
			})
		}, 0, []string{"openclaw@2099.1.2: tarball", "more than the 1024 MiB allowed"}},
		{"endless packument", func(reg *registrytest.Registry) {
			reg.Handle("/openclaw", func(w http.ResponseWriter, _ *http.Request) {
				w.Write([]byte(`{"name":"openclaw","versions":{"2099.1.2":`))
				forever(w, bytes.Repeat([]byte(" "), 64<<10))
			})
		}, 0, []string{"openclaw: packument", "more than the 64 MiB allowed"}},
		{"slow packument", func(reg *registrytest.Registry) {
			reg.Handle("/openclaw", func(w http.ResponseWriter, req *http.Request) {
				for req.Context().Err() == nil {
					w.Write([]byte(" "))
					w.(http.Flusher).Flush()
					time.Sleep(50 * time.Millisecond)
				}
			})
		}, time.Second, []string{"openclaw: packument", "not done within 1s"}},
		{"garbage JSON", func(reg *registrytest.Registry) {
			reg.Handle("/openclaw", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>gateway</html>")) })
		}, 0, []string{"openclaw: packument", "not a packument"}},
		{"another package's packument", func(reg *registrytest.Registry) {
			reg.Handle("/openclaw", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"name":"evil\u001b[2J"}`)) })
		}, 0, []string{"openclaw: packument", `names package "evil[2J"`}},
		{"too many versions", func(reg *registrytest.Registry) {
			reg.Handle("/openclaw", func(w http.ResponseWriter, _ *http.Request) {
				vs := map[string]any{}
				for i := range 10001 {
					vs[fmt.Sprintf("2026.1.%d", i)] = map[string]any{}
				}
				json.NewEncoder(w).Encode(map[string]any{"name": "openclaw", "versions": vs})
			})
		}, 0, []string{"openclaw: packument", "10001 versions, more than 10000"}},
		{"tarball on another host", func(reg *registrytest.Registry) {
			reg.Handle("/openclaw", packumentWith(map[string]string{"tarball": "http://127.0.0.3:9/x.tgz", "integrity": registrytest.Integrity(good)}))
		}, 0, []string{"openclaw@2099.1.2", "not on the registry"}},
		{"tarball not http", func(reg *registrytest.Registry) {
			reg.Handle("/openclaw", packumentWith(map[string]string{"tarball": "file:///etc/passwd", "integrity": registrytest.Integrity(good)}))
		}, 0, []string{"openclaw@2099.1.2", "want an http or https URL"}},
		{"redirect elsewhere", func(reg *registrytest.Registry) {
			reg.Handle(tgz, func(w http.ResponseWriter, req *http.Request) {
				http.Redirect(w, req, "http://127.0.0.2:9/x.tgz", http.StatusFound)
			})
		}, 0, []string{"openclaw@2099.1.2: tarball", "redirect to http://127.0.0.2:9 refused"}},
		{"tarball missing", func(reg *registrytest.Registry) {
			reg.Handle(tgz, http.NotFound)
		}, 0, []string{"openclaw@2099.1.2: tarball", "not found"}},
		{"server error", func(reg *registrytest.Registry) {
			reg.Handle("/clawdbot", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
		}, 0, []string{"clawdbot: packument", `the registry answered "502 Bad Gateway"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.New(t)
			reg.Publish("openclaw", "2099.1.2", good)
			tc.setup(reg)
			start := time.Now()
			kf, err := fingerprint.Update(t.Context(), fingerprint.UpdateConfig{Registry: reg.URL, Timeout: tc.timeout})
			if err == nil || kf != nil {
				t.Fatalf("no error (%v)", kf != nil)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			t.Logf("%s after %s", err, time.Since(start).Round(time.Millisecond))
		})
	}
}

// osvRecord is an OSV record of openclaw (and pkgs) fixed in fixed.
func osvRecord(id string, aliases []string, modified, summary, fixed string, pkgs ...string) []byte {
	var affected []any
	for _, p := range append([]string{"openclaw"}, pkgs...) {
		affected = append(affected, map[string]any{"package": map[string]string{"ecosystem": "npm", "name": p},
			"ranges": []any{map[string]any{"type": "SEMVER", "events": []any{map[string]string{"introduced": "0"}, map[string]string{"fixed": fixed}}}}})
	}
	b, _ := json.Marshal(map[string]any{"schema_version": "1.6.0", "id": id, "aliases": aliases, "modified": modified,
		"summary": summary, "affected": affected, "database_specific": map[string]string{"severity": "HIGH"}})
	return b
}

// TestUpdateImportsOSV: from an OSV export (a directory, and the same as a .zip), a record
// the base knows (under its GHSA id, the base's is the CVE) is refreshed and keeps its
// classification, notes and the clawdbot range the base added; a new record is classified by
// its words and says so; a record of another package is not taken.
func TestUpdateImportsOSV(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		// In the base as CVE-2026-32034 (observable gateway); the words would say "plugin".
		"GHSA-3cvx-236h-m9fj.json": osvRecord("GHSA-3cvx-236h-m9fj", []string{"CVE-2026-32034"}, "2099-01-01T00:00:00Z",
			"Control UI plugin auth over plaintext HTTP", "2026.2.22"),
		"GHSA-zzzz-zzzz-zzzz.json": osvRecord("GHSA-zzzz-zzzz-zzzz", []string{"CVE-2099-0001"}, "2099-01-01T00:00:00Z",
			"The macOS app trusts any gateway", "2099.1.2"),
		"GHSA-other.json": []byte(`{"id":"GHSA-other","summary":"not ours: openclaw-lookalike","affected":[{"package":{"ecosystem":"npm","name":"openclaw-lookalike"}}]}`),
	}
	var zbuf bytes.Buffer
	zipw := zip.NewWriter(&zbuf)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		w, _ := zipw.Create(name)
		w.Write(data)
	}
	zipw.Close()
	zipPath := filepath.Join(t.TempDir(), "all.zip")
	if err := os.WriteFile(zipPath, zbuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := fingerprint.EmbeddedKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(t)
	for _, export := range []string{dir, zipPath} {
		kf, err := fingerprint.Update(t.Context(), fingerprint.UpdateConfig{Registry: reg.URL, OSV: export})
		if err != nil {
			t.Fatal(err)
		}
		if len(kf.Advisories) != len(base.Advisories)+1 || kf.Source != reg.URL+"; osv "+export {
			t.Fatalf("%s: %d advisories (base %d), source %q", export, len(kf.Advisories), len(base.Advisories), kf.Source)
		}
		path := filepath.Join(t.TempDir(), "kb.json")
		if err := fingerprint.WriteKnowledgeFile(path, kf); err != nil {
			t.Fatal(err)
		}
		r, err := fingerprint.LoadKnowledge(fingerprint.KnowledgeConfig{File: path})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]fingerprint.Advisory{}
		for _, a := range r.Advisories {
			byID[a.ID] = a
		}
		known, added := byID["CVE-2026-32034"], byID["CVE-2099-0001"]
		if known.Observable != fingerprint.ObservableGateway || known.Summary != "Control UI plugin auth over plaintext HTTP" ||
			len(known.Affected) != 2 || known.Affected[1].Package.Name != "clawdbot" || known.Affected[0].Ranges[0].Events[1].Fixed != "2026.2.22" {
			t.Errorf("%s: the known record: %+v", export, known)
		}
		if added.Observable != fingerprint.ObservableDesktopApp || !slices.Contains(r.AdvisoriesFor("openclaw", "2099.1.1"), "CVE-2099-0001") {
			t.Errorf("%s: the new record: %+v", export, added)
		}
		var raw []string
		for _, rec := range kf.Advisories {
			raw = append(raw, string(rec))
		}
		all := strings.Join(raw, "\n")
		if strings.Count(all, `"observable_source":"keywords"`) != 1 || !strings.Contains(all, `"packages_note"`) {
			t.Errorf("%s: the records:\n%s", export, all)
		}
	}
}
