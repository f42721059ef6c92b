package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/fingerprint/registrytest"
)

// TestFingerprintsUpdate: `fingerprints update` against a registry on loopback writes the
// data directory's knowledge base, which `fingerprints --data` then uses; an update that
// fails (a tarball that does not match its integrity) exits 1 and leaves the file in use as
// it was; the next good one replaces it; --fingerprints pins a file; a bad --registry exits 2.
func TestFingerprintsUpdate(t *testing.T) {
	data := t.TempDir()
	path := filepath.Join(data, fingerprint.KnowledgeName)
	reg := registrytest.New(t)
	reg.Publish("openclaw", "2099.1.2", registrytest.Release(t, "2099.1.2"))
	update := []string{"fingerprints", "update", "--registry", reg.URL, "--data", data}
	res := runCLI(t, "", update...)
	if res.code != 0 || !strings.Contains(res.stdout, "before: ") ||
		!strings.Contains(res.stdout, "after:  ") || !strings.Contains(res.stdout, "(newest openclaw 2099.1.2 of 2099-01-02)") {
		t.Fatalf("update: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res = runCLI(t, "", "fingerprints", "--data", data)
	if line, _, _ := strings.Cut(res.stdout, "\n"); res.code != 0 || !strings.HasPrefix(line, "knowledge base: ") ||
		!strings.Contains(line, "openclaw 2099.1.2") || !strings.HasSuffix(line, "("+path+")") {
		t.Errorf("fingerprints --data: exit %d, first line %q", res.code, line)
	}

	reg.PublishIntegrity("openclaw", "2099.1.3", registrytest.Release(t, "2099.1.3"), registrytest.Integrity([]byte("another")))
	res = runCLI(t, "", update...)
	if now, _ := os.ReadFile(path); res.code != 1 || !strings.Contains(res.stderr, "openclaw@2099.1.3: tarball: does not match its dist.integrity") ||
		!bytes.Equal(now, first) {
		t.Errorf("a failed update: exit %d, file unchanged %v\n%s", res.code, bytes.Equal(now, first), res.stderr)
	}

	reg.Publish("openclaw", "2099.1.3", registrytest.Release(t, "2099.1.3"))
	res = runCLI(t, "", update...)
	if now, _ := os.ReadFile(path); res.code != 0 || bytes.Equal(now, first) || !strings.Contains(res.stdout, "(newest openclaw 2099.1.3 of") {
		t.Errorf("the next update: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}

	pinned := filepath.Join(t.TempDir(), "pinned.json")
	if err := os.WriteFile(pinned, first, 0o644); err != nil {
		t.Fatal(err)
	}
	res = runCLI(t, "", "fingerprints", "--data", data, "--fingerprints", pinned)
	if line, _, _ := strings.Cut(res.stdout, "\n"); res.code != 0 || !strings.Contains(line, "openclaw 2099.1.2") {
		t.Errorf("pinned: exit %d, first line %q", res.code, line)
	}
	for _, args := range [][]string{{"--registry", "ftp://" + strings.TrimPrefix(reg.URL, "http://")}, {"--osv", filepath.Join(data, "none")}} {
		if res := runCLI(t, "", append(update, args...)...); res.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, res.code, res.stderr)
		}
	}
}
