package scanner

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

// writeHitlist writes n distinct addresses of 2001:2::/48 as an xz hitlist, shuffled or in
// ascending order, with a comment every 1,000 lines and a bad line every 10,000 (as a file may
// come from a sloppy export); it returns the bad lines written.
func writeHitlist(b *testing.B, path string, n int, sorted bool) uint64 {
	rng := rand.New(rand.NewPCG(uint64(n), 18))
	addrs := make([]netip.Addr, n)
	base := netip.MustParseAddr("2001:2::").As16()
	for i := range addrs {
		a := base
		binary.BigEndian.PutUint16(a[6:], uint16(rng.Uint32()))
		binary.BigEndian.PutUint64(a[8:], uint64(i)<<32|uint64(rng.Uint32()))
		addrs[i] = netip.AddrFrom16(a)
	}
	if sorted {
		slices.SortFunc(addrs, netip.Addr.Compare)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	xw, err := xz.WriterConfig{DictCap: 8 << 20}.NewWriter(f)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(xw, 1<<20)
	var bad uint64
	for i, a := range addrs {
		if i%1000 == 0 {
			fmt.Fprintf(w, "# block %d\n", i/1000)
		}
		if i%10000 == 5000 {
			w.WriteString("2001:2::zz\n")
			bad++
		}
		w.WriteString(a.String())
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := xw.Close(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return bad
}

// BenchmarkHitlist plans a census of an xz hitlist of CLAWCENSUS_BENCH_LINES addresses (1M
// unless set) with comments and bad lines, published in ascending order or shuffled (more
// than DefaultMemoryRanges ranges: sorted on disk), and reports the peak heap in use while it reads
// (sampled every 10 ms), the lines read per second, and checks what was counted and skipped.
// Not run in CI: go test -run - -bench Hitlist -benchtime 1x ./scanner/
func BenchmarkHitlist(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CLAWCENSUS_BENCH_LINES")); err == nil && v > 0 {
		n = v
	}
	for _, order := range []string{"ascending", "shuffled"} {
		path := b.TempDir() + "/responsive-addresses.txt.xz"
		bad := writeHitlist(b, path, n, order == "ascending")
		b.Run(order, func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var peak atomic.Uint64
				stop, sampled := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(sampled)
					var ms runtime.MemStats
					t := time.NewTicker(10 * time.Millisecond)
					defer t.Stop()
					for {
						runtime.ReadMemStats(&ms)
						peak.Store(max(peak.Load(), ms.HeapInuse))
						select {
						case <-stop:
							return
						case <-t.C:
						}
					}
				}()
				start := time.Now()
				tot, err := (&Plan{Specs: []string{"@" + path}, Blocklist: NewBlocklist(true)}).Count()
				elapsed := time.Since(start)
				close(stop)
				<-sampled
				if err != nil {
					b.Fatal(err)
				}
				if tot.Addresses != uint64(n) || tot.Read.Skipped != bad {
					b.Fatalf("counted %d addresses, %d lines skipped; want %d and %d", tot.Addresses, tot.Read.Skipped, n, bad)
				}
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(tot.Read.Lines)/elapsed.Seconds(), "lines/s")
			}
		})
	}
}
