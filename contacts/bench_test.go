package contacts

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/contacts/contactstest"
)

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
		peak := contactstest.PeakHeap()
		start := time.Now()
		db := newDB()
		db.Sources = []Source{{Name: "ripe.db.synthetic", Registry: "ripe"}}
		n, err := db.readDump(&contactstest.Dump{Size: mb << 20}, 0)
		if err != nil {
			b.Fatal(err)
		}
		db.finish()
		elapsed := time.Since(start)
		top := peak()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if r, err := db.Lookup(contactstest.Addr(7, 5).String()); err != nil || r.Contact != contactstest.Mailbox(7) {
			b.Fatalf("lookup after import: %+v %v", r, err)
		}
		b.ReportMetric(float64(mb), "dump-MB")
		b.ReportMetric(float64(n), "objects")
		b.ReportMetric(float64(top)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "live-heap-MB")
		b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MB") // all the runtime ever took from the OS
		b.ReportMetric(float64(mb)/elapsed.Seconds(), "MB/s")
		runtime.KeepAlive(db)
	}
}
