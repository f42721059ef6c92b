package fingerprint_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/internal/hostiletest"
	"github.com/clawcensus/clawcensus/observation"
)

// TestHeaderBombIsBounded: a server that answers with a 9 MiB header line costs the scanner
// a bounded header buffer, not the line (it was ~43 MB per host through httpx).
func TestHeaderBombIsBounded(t *testing.T) {
	// Built before measuring, so that only the scanner's allocations count.
	bomb := []byte("HTTP/1.1 200 OK\r\nX-Bomb: " + strings.Repeat("A", 9<<20) + "\r\nContent-Length: 0\r\n\r\n")
	addr := hostiletest.Listen(t, hostiletest.AfterRequestLine(func(c net.Conn) { c.Write(bomb) }))
	fp, err := fingerprint.New(fingerprint.Config{ToolVersion: "test", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got := fp.Fingerprint(context.Background(), addr)
	runtime.ReadMemStats(&after)
	if got.Detected() || got.HTTPStatus != 0 {
		t.Errorf("a header bomb read as a response: %+v", got)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("one 9 MiB header bomb: %d bytes allocated, outcome %s", alloc, got.Outcome)
	if alloc > 4<<20 {
		t.Errorf("one header bomb allocated %d bytes; the bound is the 64 KiB header cap", alloc)
	}
}

// TestNoSideEffectsInTmpdir: fingerprinting creates and deletes nothing in $TMPDIR (httpx's
// dialer deleted old folders there by name and kept a LevelDB there).
func TestNoSideEffectsInTmpdir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	keep := filepath.Join(tmp, "clawcensus-keepme")
	if err := os.Mkdir(keep, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-72 * time.Hour)
	os.Chtimes(keep, old, old)
	addr := hostiletest.Listen(t, hostiletest.AfterRequestLine(func(c net.Conn) {
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 27\r\n\r\n<title>hello</title>hello!!"))
	}))
	fp, err := fingerprint.New(fingerprint.Config{ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	fp.Fingerprint(context.Background(), addr)
	fp.Close()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "clawcensus-keepme" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("$TMPDIR holds %v after a scan; want only the planted clawcensus-keepme", names)
	}
}

// TestHostileServers: one server of each hostile kind, each answer bounded: the outcome it
// ends in (a tarpit ends at the per-host deadline: timeout), bounded allocation, and nothing
// raw reaching the title or server fields. Wall time is BenchmarkHostileHosts's to measure.
func TestHostileServers(t *testing.T) {
	endless := bytes.Repeat([]byte("<title>x</title>"), 4096)
	var z bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	gz.Write(make([]byte, 32<<20))
	gz.Close()
	gzipBomb := append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n", z.Len())), z.Bytes()...)
	cases := []struct {
		name    string
		serve   func(net.Conn)
		outcome observation.Outcome
	}{
		{"tarpit", func(c net.Conn) { time.Sleep(5 * time.Second) }, observation.Timeout},
		{"drip", func(c net.Conn) {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>"))
			for range 5 {
				time.Sleep(time.Second)
				c.Write([]byte("x"))
			}
		}, observation.NotOpenClaw},
		{"endless body", func(c net.Conn) {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"))
			for range 1024 { // 64 MiB at most
				if _, err := c.Write(endless); err != nil {
					return
				}
			}
		}, observation.NotOpenClaw},
		{"gzip bomb", func(c net.Conn) { c.Write(gzipBomb) }, observation.NotOpenClaw},
		{"garbage", func(c net.Conn) { c.Write(bytes.Repeat([]byte{0xff, 0, 0x1b, '['}, 16<<10)) }, observation.NotHTTP},
		{"redirect loop", func(c net.Conn) {
			c.Write([]byte("HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n"))
		}, observation.NotOpenClaw},
		{"ansi in a header", func(c net.Conn) {
			// net/http refuses a header value with control bytes: the response is not HTTP.
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nServer: \x1b[31mevil\r\nContent-Length: 0\r\n\r\n")
		}, observation.NotHTTP},
		{"ansi in the title", func(c net.Conn) {
			body := "<title>\x1b]0;pwned\x07\x1b[2JOpenClaw Control</title>"
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}, observation.NotOpenClaw},
	}
	fp, err := fingerprint.New(fingerprint.Config{ToolVersion: "test", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := hostiletest.Listen(t, hostiletest.AfterRequestLine(c.serve))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			got := fp.Fingerprint(context.Background(), addr)
			runtime.ReadMemStats(&after)
			if got.Outcome != c.outcome {
				t.Errorf("outcome %s, want %s (evidence %v)", got.Outcome, c.outcome, got.Evidence)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d bytes", alloc)
			}
			for _, s := range []string{got.Title, got.Server} {
				if strings.ContainsAny(s, "\x1b\x07") {
					t.Errorf("raw control bytes in %q", s)
				}
			}
		})
	}
}
