// Package contactstest generates large synthetic RPSL dumps for the benchmarks of contacts and
// of what stores them. Only tests import it.
package contactstest

import (
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strconv"
	"time"
)

// Dump is an RPSL dump of about Size bytes, generated as it is read and shaped like RIPE's:
// per block a wide network with abuse-c, a more specific one with org, one with neither, a
// role, an organisation and a person (a class an import skips), with the remarks, descr and
// mnt-by lines that make real objects ~400 bytes. Block i is the /24 at i<<8, its mailbox
// abuse-i@synth.example (Mailbox).
type Dump struct {
	Size, done int64
	i          uint32
	buf        []byte
}

// Mailbox is the abuse mailbox of the networks of block i.
func Mailbox(i uint32) string { return "abuse-" + strconv.FormatUint(uint64(i), 10) + "@synth.example" }

// Addr is an address in block i (i<<8 + host): computed, so no address is written here.
func Addr(i uint32, host uint8) netip.Addr {
	u := i<<8 + uint32(host)
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}

func (s *Dump) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.done >= s.Size {
			return 0, io.EOF
		}
		s.buf = s.next(s.buf[:0])
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	s.done += int64(n)
	return n, nil
}

func (s *Dump) next(b []byte) []byte {
	s.i++
	i := s.i
	ip := func(host uint8) string { return Addr(i, host).String() }
	common := "mnt-by:         SYNTH-MNT\nremarks:        synthetic object generated for the import benchmark\n" +
		"remarks:        ----------------------------------------------------------\n" +
		"created:        2020-01-01T00:00:00Z\nlast-modified:  2024-01-01T00:00:00Z\nsource:         RIPE\n\n"
	n := strconv.FormatUint(uint64(i), 10)
	b = fmt.Appendf(b, "inetnum:        %s - %s\nnetname:        SYNTH-%s\ndescr:        Synthetic network\ncountry:        DE # synthetic\nabuse-c:        AB%s-TEST\nstatus:         ALLOCATED PA\n%s",
		ip(0), ip(255), n, n, common)
	b = fmt.Appendf(b, "inetnum:        %s - %s\nnetname:        SYNTH-%s-ORG\ndescr:          Soci\xe9t\xe9\ncountry:        FR\norg:            ORG-S%s-TEST\nstatus:         ASSIGNED PA\n%s",
		ip(0), ip(127), n, n, common)
	b = fmt.Appendf(b, "inetnum:        %s - %s\nnetname:        SYNTH-%s-NONE\ncountry:        FR\nstatus:         ASSIGNED PA\n%s",
		ip(128), ip(191), n, common)
	b = fmt.Appendf(b, "role:           Abuse %s\naddress:        Dummy address\nnic-hdl:        AB%s-TEST\nabuse-mailbox:  %s\n%s", n, n, Mailbox(i), common)
	b = fmt.Appendf(b, "organisation:   ORG-S%s-TEST\norg-name:       Synthetic %s\norg-type:       OTHER\nabuse-c:        AB%s-TEST\n%s", n, n, n, common)
	b = fmt.Appendf(b, "person:         Dummy Person\naddress:        Dummy address\nphone:          +00 000 0000\nnic-hdl:        DUMY%s-RIPE\n%s", n, common)
	return b
}

// PeakHeap samples the heap in use every 20 ms, from now until the function it returns is
// called; that function returns the highest sample, in bytes.
func PeakHeap() (stop func() uint64) {
	runtime.GC()
	var peak uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-sampled
		return peak
	}
}
