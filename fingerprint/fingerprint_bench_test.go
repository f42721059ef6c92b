package fingerprint_test

import (
	"context"
	"net"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/fingerprint/fixture"
)

// BenchmarkFingerprint measures hosts fingerprinted per second against replays on 127.0.0.1:
// a full gateway (every gated probe) and a non-gateway (one GET).
func BenchmarkFingerprint(b *testing.B) {
	for _, name := range []string{"gateways/openclaw-2026.9.6-token", "negatives/nginx-default"} {
		b.Run(name[strings.Index(name, "/")+1:], func(b *testing.B) {
			fs, err := fixture.Load("testdata/" + name[:strings.Index(name, "/")])
			if err != nil {
				b.Fatal(err)
			}
			var fx *fixture.Fixture
			for _, f := range fs {
				if strings.HasSuffix(name, f.Name) {
					fx = f
				}
			}
			srv := httptest.NewServer(fx)
			defer srv.Close()
			addr := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
			fp := newBenchFingerprinter(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					fp.Fingerprint(context.Background(), addr)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hosts/s")
		})
	}
}

// BenchmarkSilentHostsInFlight measures what a host that accepts and never answers costs while
// it waits for its first byte: 2,048 such hosts (one listener on 127.0.0.1, each connection
// held) fingerprinted at once, the heap and stacks in use while all wait, per host. Each ends
// at the first-byte deadline (here 2 s).
func BenchmarkSilentHostsInFlight(b *testing.B) {
	const hosts = 2048
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	// The listener keeps each connection and reads nothing (the request waits in the kernel),
	// so that the heap measured is nearly all the scanner's.
	var accepted atomic.Int64
	var mu sync.Mutex
	var held []net.Conn
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			accepted.Add(1)
		}
	}()
	addr := netip.MustParseAddrPort(ln.Addr().String())
	fp, err := fingerprint.New(fingerprint.Config{ToolVersion: "bench", FirstByte: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer fp.Close()
	for range b.N {
		var before, during runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := accepted.Load()
		var wg sync.WaitGroup
		for range hosts {
			wg.Add(1)
			go func() { defer wg.Done(); fp.Fingerprint(context.Background(), addr) }()
		}
		for accepted.Load()-start < hosts {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // every request written, every host waiting
		runtime.ReadMemStats(&during)
		wg.Wait()
		inUse := float64(during.HeapInuse+during.StackInuse) - float64(before.HeapInuse+before.StackInuse)
		b.ReportMetric(inUse/hosts, "bytes/host-in-flight")
	}
}
