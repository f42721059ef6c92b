package contacts

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// synthDump generates an RPSL dump of about size bytes on the fly, shaped like RIPE's: per
// block a wide network with abuse-c, a more specific one with org, one with neither, a role,
// an organisation and a person (a class the import skips), with the remarks, descr and
// mnt-by lines that make real objects ~400 bytes.
type synthDump struct {
	size, done int64
	i          uint32
	buf        []byte
}

func (s *synthDump) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.done >= s.size {
			return 0, io.EOF
		}
		s.buf = s.next(s.buf[:0])
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	s.done += int64(n)
	return n, nil
}

func (s *synthDump) next(b []byte) []byte {
	s.i++
	i := s.i
	base := i << 8 // a /24 per block, computed: no address is written in this file
	ip := func(u uint32) string { return addr4(u).String() }
	common := "mnt-by:         SYNTH-MNT\nremarks:        synthetic object generated for the import benchmark\n" +
		"remarks:        ----------------------------------------------------------\n" +
		"created:        2020-01-01T00:00:00Z\nlast-modified:  2024-01-01T00:00:00Z\nsource:         RIPE\n\n"
	n := strconv.FormatUint(uint64(i), 10)
	b = fmt.Appendf(b, "inetnum:        %s - %s\nnetname:        SYNTH-%s\ndescr:        Synthetic network\ncountry:        DE # synthetic\nabuse-c:        AB%s-TEST\nstatus:         ALLOCATED PA\n%s",
		ip(base), ip(base+255), n, n, common)
	b = fmt.Appendf(b, "inetnum:        %s - %s\nnetname:        SYNTH-%s-ORG\ndescr:          Soci\xe9t\xe9\ncountry:        FR\norg:            ORG-S%s-TEST\nstatus:         ASSIGNED PA\n%s",
		ip(base), ip(base+127), n, n, common)
	b = fmt.Appendf(b, "inetnum:        %s - %s\nnetname:        SYNTH-%s-NONE\ncountry:        FR\nstatus:         ASSIGNED PA\n%s",
		ip(base+128), ip(base+191), n, common)
	b = fmt.Appendf(b, "role:           Abuse %s\naddress:        Dummy address\nnic-hdl:        AB%s-TEST\nabuse-mailbox:  abuse-%s@synth.example\n%s", n, n, n, common)
	b = fmt.Appendf(b, "organisation:   ORG-S%s-TEST\norg-name:       Synthetic %s\norg-type:       OTHER\nabuse-c:        AB%s-TEST\n%s", n, n, n, common)
	b = fmt.Appendf(b, "person:         Dummy Person\naddress:        Dummy address\nphone:          +00 000 0000\nnic-hdl:        DUMY%s-RIPE\n%s", n, common)
	return b
}

// BenchmarkImportRPSL streams a synthetic dump (CLAWCENSUS_BENCH_MB megabytes, 100 unless
// set) through the import and reports the peak heap in use during it (sampled every 20 ms),
// the heap still live after it, the memory the runtime took from the OS and the throughput.
// On 2 EPYC cores, 1024 MB: peak heap 260 MB, live 72 MB, 114 MB/s. Not run in CI: go test -run - -bench ImportRPSL ./contacts/
func BenchmarkImportRPSL(b *testing.B) {
	mb := int64(100)
	if v, err := strconv.ParseInt(os.Getenv("CLAWCENSUS_BENCH_MB"), 10, 64); err == nil && v > 0 {
		mb = v
	}
	for b.Loop() {
		runtime.GC()
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		start := time.Now()
		db := newDB()
		db.Sources = []Source{{Name: "ripe.db.synthetic", Registry: "ripe"}}
		n, err := db.readDump(&synthDump{size: mb << 20}, 0)
		if err != nil {
			b.Fatal(err)
		}
		db.finish()
		elapsed := time.Since(start)
		close(stop)
		<-sampled
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if r, err := db.Lookup(addr4(7<<8 + 5).String()); err != nil || r.Contact != "abuse-7@synth.example" {
			b.Fatalf("lookup after import: %+v %v", r, err)
		}
		b.ReportMetric(float64(mb), "dump-MB")
		b.ReportMetric(float64(n), "objects")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "live-heap-MB")
		b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MB") // all the runtime ever took from the OS
		b.ReportMetric(float64(mb)/elapsed.Seconds(), "MB/s")
		runtime.KeepAlive(db)
	}
}
