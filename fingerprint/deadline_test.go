package fingerprint_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/fingerprint/fixture"
	"github.com/clawcensus/clawcensus/internal/hostiletest"
	"github.com/clawcensus/clawcensus/observation"
)

// TestSilentHostEndsAtFirstByte: a host that accepts and never answers ends as a timeout at
// the first-byte deadline, though the whole-host deadline is an hour away (without the
// first-byte deadline this test would hang), and costs one connection: no TLS attempt follows
// a plaintext request that drew nothing.
func TestSilentHostEndsAtFirstByte(t *testing.T) {
	var accepted atomic.Int64
	silent := make(chan struct{})
	defer close(silent)
	addr := hostiletest.Listen(t, func(c net.Conn) { accepted.Add(1); c.Read(make([]byte, 4096)); <-silent })
	fp, err := fingerprint.New(fingerprint.Config{ToolVersion: "test", Timeout: time.Hour, FirstByte: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	got := fp.Fingerprint(context.Background(), addr)
	if got.Outcome != observation.Timeout || got.Scheme != "http" {
		t.Errorf("outcome %s over %s, want timeout over http", got.Outcome, got.Scheme)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("%d connections to a silent host, want 1 (no TLS attempt after silence)", n)
	}
}

// TestSlowGatewayIsStillRead: a real gateway's replay that waits before each answer and then
// sends its pages slowly, each page taking longer than the first-byte deadline, is still read
// whole and identified: the first-byte deadline bounds the wait for headers, not the pages.
func TestSlowGatewayIsStillRead(t *testing.T) {
	fs, err := fixture.Load("testdata/gateways")
	if err != nil {
		t.Fatal(err)
	}
	var f *fixture.Fixture
	for _, c := range fs {
		if strings.HasPrefix(c.Name, "openclaw-2026.9.6-token") {
			f = c
			break
		}
	}
	if f == nil {
		t.Fatal("no openclaw-2026.9.6-token fixture")
	}
	const firstByte = time.Second
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(firstByte / 10)
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.(http.Flusher).Flush()
		body := rec.Body.Bytes()
		for i := 0; i < len(body); i += max(1, len(body)/4) {
			time.Sleep(firstByte / 2) // the page takes twice the first-byte deadline
			w.Write(body[i:min(len(body), i+max(1, len(body)/4))])
			w.(http.Flusher).Flush()
		}
	})
	srv := httptest.NewServer(slow)
	defer srv.Close()
	fp, err := fingerprint.New(fingerprint.Config{ToolVersion: "test", Timeout: time.Minute, FirstByte: firstByte})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	got := fp.Fingerprint(context.Background(), netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://")))
	if !got.Detected() || got.Product != f.Meta["product"] || got.Version != f.Meta["version"] {
		t.Errorf("slow gateway: outcome %s, %s %s; want %s %s (evidence %v)", got.Outcome, got.Product, got.Version,
			f.Meta["product"], f.Meta["version"], got.Evidence)
	}
}
