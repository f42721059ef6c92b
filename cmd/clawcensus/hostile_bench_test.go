package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/internal/hostiletest"
)

// hostileKinds are what a stranger's server may do to a scanner, one per listener.
var hostileKinds = []struct {
	name  string
	serve func(c net.Conn)
}{
	{"tarpit", func(c net.Conn) { time.Sleep(time.Minute) }},
	{"drip", func(c net.Conn) {
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>"))
		for range 60 {
			time.Sleep(time.Second)
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	}},
	{"endless-body", func(c net.Conn) {
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"))
		chunk := bytes.Repeat([]byte("<title>x</title>"), 4096)
		for range 4096 { // 256 MiB at most, cut short when the scanner hangs up
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}},
	{"gzip-bomb", func(c net.Conn) { c.Write(gzipBomb) }},
	{"header-bomb", func(c net.Conn) { c.Write(headerBomb) }},
	{"garbage", func(c net.Conn) { c.Write(bytes.Repeat([]byte{0xff, 0x00, 0x1b, '['}, 64<<10)) }},
	{"redirect-loop", func(c net.Conn) {
		c.Write([]byte("HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n"))
	}},
	{"ansi", func(c net.Conn) {
		body := "<title>\x1b]0;pwned\x07\x1b[2J\x1b[31mOpenClaw Control</title>"
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nServer: \x1b[31mevil\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}},
}

var (
	headerBomb = []byte("HTTP/1.1 200 OK\r\nX-Bomb: " + strings.Repeat("A", 9<<20) + "\r\nContent-Length: 0\r\n\r\n")
	gzipBomb   = func() []byte {
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		w.Write(make([]byte, 64<<20)) // 64 MiB of zeros in ~64 KiB
		w.Close()
		return append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", z.Len())), z.Bytes()...)
	}()
)

// BenchmarkHostileHosts scans 1,000 hostile hosts (125 of each kind above) and 20 replays of a
// real gateway on loopback, and reports the scanner's peak RSS, its wall time and the gateways
// it found. The bounds: every gateway found, peak RSS under 300 MB, wall time bounded by the
// per-host deadline (3 s here) and the concurrency (64).
//
//	go test -run '^$' -bench HostileHosts -benchtime 1x ./cmd/clawcensus/
func BenchmarkHostileHosts(b *testing.B) {
	port := 19000 + os.Getpid()%1000
	gw := &http.Server{Handler: fixtureHandler(b, "../../fingerprint/testdata/gateways/openclaw-2026.9.6-token.txtar")}
	b.Cleanup(func() { gw.Close() })
	var lns []net.Listener
	b.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
	})
	for i := range 1020 {
		addr := fmt.Sprintf("127.0.%d.%d:%d", 16+(i+1)/256, (i+1)%256, port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			b.Fatalf("listen %s: %v", addr, err)
		}
		lns = append(lns, ln)
		if i < 20 {
			go gw.Serve(ln)
			continue
		}
		go hostiletest.Serve(ln, hostiletest.AfterRequestLine(hostileKinds[i%len(hostileKinds)].serve))
	}
	// Measured on a binary as users run it: the race detector of the test build multiplies memory.
	bin := filepath.Join(b.TempDir(), "clawcensus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	for range b.N {
		db := filepath.Join(b.TempDir(), "h.db")
		cmd := exec.Command(bin, "scan", "--lab", "--scan-type", "connect", "--rate", "5000", "--http-timeout", "3s",
			"--concurrency", "64", "--retries", "0", "--ports", fmt.Sprint(port), "--db", db, "127.0.16.0/22")
		cmd.Env = testEnv()
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("scan: %v\n%s", err, errb.String())
		}
		wall := time.Since(start)
		rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024 // KiB → MiB
		found := strings.Count(out.String(), `"product":"openclaw"`)
		b.ReportMetric(rss, "peak-RSS-MiB")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(found), "gateways")
		if found != 20 || rss > 300 || strings.ContainsRune(out.String(), 0x1b) {
			b.Errorf("found %d of 20 gateways, peak RSS %.0f MiB, escape bytes on stdout: %v",
				found, rss, strings.ContainsRune(out.String(), 0x1b))
		}
	}
}
