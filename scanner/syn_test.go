//go:build linux

package scanner

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// answer builds an IPv4 TCP segment from src to dst (our side) with the given flags and ack,
// as the receive path sees it (network header first).
func answer(src netip.AddrPort, dport uint16, ack uint32, flags byte) []byte {
	p := make([]byte, 40)
	p[0] = 0x45
	p[9] = 6
	copy(p[12:16], src.Addr().AsSlice())
	copy(p[16:20], []byte{127, 0, 0, 1})
	binary.BigEndian.PutUint16(p[20:22], src.Port())
	binary.BigEndian.PutUint16(p[22:24], dport)
	binary.BigEndian.PutUint32(p[28:32], ack)
	p[33] = flags
	return p
}

// TestSYNValidation: only an answer whose destination port and acknowledgement match the
// probe's cookie is taken; forged, unsolicited and mangled answers are counted and dropped.
func TestSYNValidation(t *testing.T) {
	var got []netip.AddrPort
	var open []bool
	e := &synEngine{}
	e.attach(func(ap netip.AddrPort, o, control bool) { got = append(got, ap); open = append(open, o) })
	target := netip.MustParseAddrPort("127.0.0.9:18789")
	seq, sport := e.cookie(target)
	if sport < synPortBase || sport >= synPortBase+synPortCount {
		t.Fatalf("source port %d outside [%d, %d)", sport, synPortBase, synPortBase+synPortCount)
	}
	e.parse(answer(target, sport, seq+1, 0x12)) // SYN-ACK
	e.parse(answer(target, sport, seq+1, 0x14)) // RST-ACK
	for name, p := range map[string][]byte{
		"wrong ack":         answer(target, sport, seq, 0x12),
		"wrong port":        answer(target, sport+1, seq+1, 0x12),
		"other source":      answer(netip.MustParseAddrPort("127.0.0.8:18789"), sport, seq+1, 0x12),
		"other source port": answer(netip.MustParseAddrPort("127.0.0.9:18790"), sport, seq+1, 0x12),
		"random":            answer(target, synPortBase+7, rand.Uint32(), 0x12),
	} {
		before := e.Invalid.Load()
		e.parse(p)
		if e.Invalid.Load() != before+1 {
			t.Errorf("%s: not counted as invalid", name)
		}
	}
	for _, short := range [][]byte{nil, {0x45}, make([]byte, 30), {0x60, 0, 0}} {
		e.parse(short)
	}
	if e.Truncated.Load() != 4 {
		t.Errorf("truncated %d, want 4", e.Truncated.Load())
	}
	if len(got) != 2 || got[0] != target || !open[0] || open[1] {
		t.Errorf("reported %v %v; want the SYN-ACK as open and the RST as closed", got, open)
	}
}

// TestSYNCookieWraps: source ports stay in range and spread over it, every cookie validates
// its own answer only, and the acknowledgement of the largest sequence number wraps to 0.
func TestSYNCookieWraps(t *testing.T) {
	e := &synEngine{}
	seen := map[uint16]bool{}
	for i := range 200_000 {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(i))
		seq, sport := e.cookie(ap)
		if sport < synPortBase || sport >= synPortBase+synPortCount {
			t.Fatalf("%s: source port %d out of range", ap, sport)
		}
		seen[sport] = true
		if !e.valid(ap, sport, seq+1) || e.valid(ap, sport, seq) || e.valid(ap, sport^1, seq+1) {
			t.Fatalf("%s: cookie does not validate exactly its own answer", ap)
		}
	}
	if len(seen) < synPortCount*9/10 {
		t.Errorf("%d distinct source ports of %d", len(seen), synPortCount)
	}
	if !acknowledges(0, ^uint32(0)) || acknowledges(^uint32(0), ^uint32(0)) || acknowledges(1<<32-1, 1<<32-3) {
		t.Error("the acknowledgement of sequence 2^32-1 must be 0")
	}
}

// TestPacerSchedule: probe n is due at start + n/rate, on an absolute timeline (a sender a
// little late is not slowed further, an early one waits exactly the difference); a sender
// idle for seconds catches up pacerMaxLag, never the budget it left unused; a new rate
// continues the timeline from the next probe's time.
func TestPacerSchedule(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	for _, pps := range []int{1000, 100_000, 1_000_000} {
		now := start
		p := &pacer{start: start, interval: 1e9 / float64(pps), now: func() time.Time { return now }}
		at := func(from time.Time, k int, interval float64) time.Time {
			return from.Add(time.Duration(float64(k) * interval))
		}
		// The sender sleeps until each probe is due, late by ten probes now and then (within
		// pacerMaxLag at every rate): made up exactly.
		sleep := func(d time.Duration) {
			if d > 0 {
				now = now.Add(d)
			}
		}
		for n := range 5000 {
			got, want := p.next(), at(start, n, p.interval).Sub(now)
			if got != want {
				t.Fatalf("%d pps, probe %d: wait %v, want %v", pps, n, got, want)
			}
			sleep(got)
			if n%100 == 0 {
				now = now.Add(time.Duration(10 * 1e9 / float64(pps)))
			}
		}
		// Two seconds idle: the next probe is due pacerMaxLag ago, and the timeline goes on
		// from there.
		now = now.Add(2 * time.Second)
		resumed := now.Add(-pacerMaxLag)
		for k := range 100 {
			got, want := p.next(), at(resumed, k, p.interval).Sub(now)
			if got != want {
				t.Fatalf("%d pps after a pause, probe %d: wait %v, want %v", pps, k, got, want)
			}
			sleep(got)
		}
		// Half the rate from the next probe's time on.
		next := at(resumed, 100, p.interval)
		p.setRate(pps / 2)
		for k := range 100 {
			got, want := p.next(), at(next, k, 2e9/float64(pps)).Sub(now)
			if got != want {
				t.Fatalf("%d pps halved, probe %d: wait %v, want %v", pps, k, got, want)
			}
			sleep(got)
		}
	}
}

// TestPacerBehind: a sweep's senders are behind once they fall more than pacerMaxLag behind
// while sending, and stay so until they come within pacerBehind of the timeline; coming back
// from an idle spell is not falling behind, and turns taken beside the sweep change nothing.
func TestPacerBehind(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	now := start
	p := &pacer{start: start, interval: 1e9 / 100_000, now: func() time.Time { return now }} // 10 µs a probe
	take := func(sweep bool) (wait time.Duration, behind bool) {
		n, wait, behind := p.take(synBatch, sweep)
		if n != 20 { // pacerSlack / 10 µs
			t.Fatalf("took %d turns, want 20", n)
		}
		return wait, behind
	}
	// On time: 20 probes every 200 µs.
	for range 50 {
		if wait, behind := take(true); behind {
			t.Fatalf("behind while on time (wait %v)", wait)
		}
		now = now.Add(200 * time.Microsecond)
	}
	// Sending at half the rate: 20 probes every 400 µs, 100 µs between takes.
	for i := 0; ; i++ {
		_, behind := take(true)
		if behind {
			break
		}
		if i > 1000 {
			t.Fatal("never behind at half the rate")
		}
		now = now.Add(400 * time.Microsecond)
	}
	for range 10 { // still slow: still behind
		now = now.Add(400 * time.Microsecond)
		if _, behind := take(true); !behind {
			t.Fatal("no longer behind while still slow")
		}
	}
	// Turns beside the sweep neither set nor clear it.
	if _, behind := take(false); !behind {
		t.Fatal("a turn beside the sweep cleared behind")
	}
	// Catching up: takes without time passing come within pacerBehind of the timeline.
	for i := 0; ; i++ {
		if _, behind := take(true); !behind {
			break
		}
		if i > 1000 {
			t.Fatal("still behind after catching up")
		}
	}
	// Two seconds idle (between passes): the first turn back is far behind the timeline, and
	// not behind.
	now = now.Add(2 * time.Second)
	if wait, behind := take(true); behind || wait != -pacerMaxLag {
		t.Errorf("back from idle: behind %v, wait %v (want -%v)", behind, wait, pacerMaxLag)
	}
	// Turns beside the sweep after a pass (control probes in its wait) do not make it behind.
	now = now.Add(time.Second)
	if _, behind := take(false); behind {
		t.Error("a turn beside the sweep after idle set behind")
	}
}

// needRawSockets skips where the process may not open raw sockets (CI runs as root).
func needRawSockets(t *testing.T) {
	t.Helper()
	if os.Getenv("CLAWCENSUS_USERNS") == "1" {
		t.Skip("in an unprivileged user namespace raw sockets are not real: run as root (CI does)")
	}
	if ok, why := SYNAvailable(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI runs as root, yet: %s", why)
		}
		t.Skip(why)
	}
}

// TestSYNSweepLoopback sweeps 127.3.0.0/24 with raw SYNs: every listener is found, every other
// address answers RST (loopback answers for all of 127/8), nothing is invalid; and the scope
// still refuses at send time.
func TestSYNSweepLoopback(t *testing.T) {
	needRawSockets(t)
	const port = 29789
	want := map[netip.AddrPort]bool{}
	for i := range 40 {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 3, 0, byte(3 + 6*i)}), port)
		ln, err := net.Listen("tcp", ap.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		want[ap] = true
	}
	scope, _ := ParseScope("127.3.0.0/24")
	sw, err := New(Config{Rate: 20000, Method: MethodSYN, Retries: 1, Timeout: 500 * time.Millisecond, Blocklist: NewBlocklist(true), Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	plan := &Plan{Specs: []string{"127.3.0.0/24"}, Blocklist: NewBlocklist(true), Ports: []uint16{port}, Seed: 9}
	got := sweepAll(t, sw, plan)
	for ap := range want {
		if !got[ap] {
			t.Errorf("%s not found", ap)
		}
	}
	// Invalid is not asserted: the suite's packages run at once in one sealed namespace, and
	// the answers to another test process's SYN engine reach this one's packet socket too (same
	// source-port range, another key): they are rightly counted invalid. A cookie fault here
	// would show as missing open or closed ports.
	st := sw.Stats()
	if len(got) != len(want) || st.Open != uint64(len(want)) || st.Closed != 256-uint64(len(want)) || st.Retried != 0 || st.Sent != 256 {
		t.Errorf("found %d of %d; stats %+v", len(got), len(want), st)
	}
	// A second window of the same sweeper finds them again (answers are per sweep).
	if again := sweepAll(t, sw, plan); len(again) != len(want) {
		t.Errorf("second sweep found %d", len(again))
	}
	// Outside the scope: refused before the probe leaves, the sweep ends with the error.
	outside := &Plan{Specs: []string{"127.4.0.1"}, Blocklist: NewBlocklist(true), Ports: []uint16{port}, Seed: 9}
	open := make(chan Open, 1)
	sent := sw.Stats().Sent
	if err := sw.Sweep(context.Background(), outside, open); err == nil || sw.Stats().Sent != sent {
		t.Errorf("a probe outside the scope: err %v, sent %d more", err, sw.Stats().Sent-sent)
	}
}

// TestSYNSweepIPv6Loopback: the IPv6 path (a raw TCP socket whose checksum the kernel fills in)
// against the real stack on ::1: the listening ports answer SYN-ACK, the others RST, each
// validated by its cookie.
func TestSYNSweepIPv6Loopback(t *testing.T) {
	needRawSockets(t)
	var ports []uint16
	want := map[netip.AddrPort]bool{}
	for i := range 6 {
		ln, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		}
		t.Cleanup(func() { ln.Close() })
		ap := netip.MustParseAddrPort(ln.Addr().String())
		ports = append(ports, ap.Port())
		if i%2 == 0 {
			want[ap] = true
		} else {
			ln.Close() // closed again: its port answers RST
		}
	}
	scope, _ := ParseScope("::1")
	sw, err := New(Config{Rate: 20000, Method: MethodSYN, Retries: 1, Timeout: 500 * time.Millisecond, Blocklist: NewBlocklist(true), Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	got := sweepAll(t, sw, &Plan{Specs: []string{"::1"}, Blocklist: NewBlocklist(true), Ports: ports, Seed: 3})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("open ports (-want +got):\n%s", diff)
	}
	if st := sw.Stats(); st.Closed != 3 || st.Sent != 6 { // Invalid: see TestSYNSweepLoopback
		t.Errorf("stats %+v: want 3 closed, 6 sent", st)
	}
}

// TestSYNIgnoresForgedAnswers: SYN-ACKs forged to our source ports during a sweep (from a
// raw socket on loopback, with acknowledgements that match no probe) are counted as invalid
// and never reported.
func TestSYNIgnoresForgedAnswers(t *testing.T) {
	needRawSockets(t)
	scope, _ := ParseScope("127.5.0.0/24")
	sw, err := New(Config{Rate: 1000, Method: MethodSYN, Retries: 0, Timeout: 300 * time.Millisecond, Blocklist: NewBlocklist(true), Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var forged atomic.Int64
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			pkt := make([]byte, 40)
			src := [4]byte{127, 5, 0, byte(i)}
			writeIPv4(pkt[:20], src, [4]byte{127, 0, 0, 1}, 40, 1)
			binary.BigEndian.PutUint16(pkt[20:22], 18789)
			binary.BigEndian.PutUint16(pkt[22:24], uint16(synPortBase+i%synPortCount))
			binary.BigEndian.PutUint32(pkt[28:32], rand.Uint32())
			pkt[32], pkt[33] = 5<<4, 0x12
			sa := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
			if unix.Sendto(fd, pkt, 0, sa) == nil {
				forged.Add(1)
			}
		}
	}()
	got := sweepAll(t, sw, &Plan{Specs: []string{"127.5.0.0/28"}, Blocklist: NewBlocklist(true), Ports: []uint16{18789}, Seed: 3})
	close(stop)
	if len(got) != 0 {
		t.Errorf("forged answers reported as open: %v", got)
	}
	if st := sw.Stats(); st.Invalid == 0 || forged.Load() == 0 {
		t.Errorf("forged %d, counted invalid %d", forged.Load(), st.Invalid)
	}
}

func sweepAll(t *testing.T, sw *Sweeper, plan *Plan) map[netip.AddrPort]bool {
	t.Helper()
	open := make(chan Open, 1024)
	errc := make(chan error, 1)
	go func() { errc <- sw.Sweep(context.Background(), plan, open); close(open) }()
	got := map[netip.AddrPort]bool{}
	for o := range open {
		ap := o.AddrPort
		if o.Middlebox {
			t.Errorf("%s called a middlebox", ap)
		}
		if got[ap] {
			t.Errorf("%s reported twice", ap)
		}
		got[ap] = true
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return got
}

// TestRouteTables reads /proc/net/route's little-endian fields and masks, and keeps loopback
// on the raw IP socket (it has no link to send frames on).
func TestRouteTables(t *testing.T) {
	if v, err := hexLE("0012C6C6"); err != nil || v != 0xC6C61200 {
		t.Errorf("hexLE = %x, %v", v, err)
	}
	if _, err := hexLE("zz"); err == nil {
		t.Error("a bad field was read")
	}
	for mask, want := range map[uint32]int{0: 0, 0xff000000: 8, 0xffff0000: 16, 0xffffffff: 32, 0xff00ff00: -1} {
		if got := onesCount(mask); got != want {
			t.Errorf("onesCount(%x) = %d, want %d", mask, got, want)
		}
	}
	r, err := lookupRoute4(netip.MustParseAddr("127.0.0.1"))
	if err != nil || r.link || r.src != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("loopback route %+v (%v): want the raw IP socket from 127.0.0.1", r, err)
	}
}

// TestSYNSlowConsumerLosesNothing: more open hosts than any channel between the sweep and
// the HTTP stage holds, and a consumer that reads nothing until every probe is out and the
// sweep's wait for late answers has passed (a fingerprinter that has fallen behind): every
// open host is still handed over, once, and the reader of answers never waited for the
// consumer (no answered probe is retried).
func TestSYNSlowConsumerLosesNothing(t *testing.T) {
	needRawSockets(t)
	const port, hosts = 29790, 3000
	want := map[netip.AddrPort]bool{}
	for i := range hosts {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 6, byte(i >> 8), byte(i)}), port)
		ln, err := net.Listen("tcp", ap.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		want[ap] = true
	}
	scope, _ := ParseScope("127.6.0.0/20")
	const timeout = 300 * time.Millisecond
	sw, err := New(Config{Rate: 20000, Method: MethodSYN, Retries: 1, Timeout: timeout, Blocklist: NewBlocklist(true), Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	open := make(chan Open, 16)
	errc := make(chan error, 1)
	go func() {
		errc <- sw.Sweep(context.Background(), &Plan{Specs: []string{"127.6.0.0/20"}, Blocklist: NewBlocklist(true), Ports: []uint16{port}, Seed: 4}, open)
		close(open)
	}()
	for sw.Stats().Sent < 4096 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(3 * timeout) // the consumer is behind by more than the sweep's wait for late answers
	got := map[netip.AddrPort]bool{}
	for o := range open {
		ap := o.AddrPort
		if got[ap] {
			t.Errorf("%s handed over twice", ap)
		}
		got[ap] = true
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	missing := 0
	for ap := range want {
		if !got[ap] {
			missing++
		}
	}
	st := sw.Stats()
	if missing > 0 || len(got) != hosts || st.Open != hosts {
		t.Errorf("handed over %d of %d open hosts (%d missing); stats %+v", len(got), hosts, missing, st)
	}
	if st.Retried != 0 || st.Closed != 4096-hosts || st.Lost != 0 || st.Late != 0 {
		t.Errorf("answers not read while the consumer was behind: stats %+v (want no retry, %d closed, none lost)", st, 4096-hosts)
	}
}

// TestControlCookie: a control probe's answer validates as a control answer only, and a plan
// probe's as a plan answer only.
func TestControlCookie(t *testing.T) {
	e := &synEngine{}
	for i := range 1000 {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 9, 1, byte(i)}), uint16(1024+i))
		seq, sport := e.cookie(ap)
		cseq, csport := e.controlCookie(ap)
		if !e.valid(ap, sport, seq+1) || e.validControl(ap, sport, seq+1) ||
			!e.validControl(ap, csport, cseq+1) || e.valid(ap, csport, cseq+1) {
			t.Fatalf("%s: plan and control cookies are not told apart", ap)
		}
	}
}

// TestBehindWhileTheSenderCannotKeepTheRate: a SYN sweep asked for more than any sender here can
// send (10M probes/s) is behind its schedule while it sends, which lets the HTTP stage yield to
// it; after the sweep it is not.
func TestBehindWhileTheSenderCannotKeepTheRate(t *testing.T) {
	needRawSockets(t)
	scope, _ := ParseScope("127.5.0.0/16")
	sw, err := New(Config{Rate: 10_000_000, Method: MethodSYN, Timeout: 100 * time.Millisecond, Blocklist: NewBlocklist(true), Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	var seen atomic.Bool
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				if sw.Behind() {
					seen.Store(true)
				}
				runtime.Gosched()
			}
		}
	}()
	sweepAll(t, sw, &Plan{Specs: []string{"127.5.0.0/16"}, Blocklist: NewBlocklist(true), Ports: []uint16{29790}, Seed: 5})
	close(done)
	if !seen.Load() {
		t.Error("65,536 probes asked at 10M/s: the sweep never said it was behind")
	}
	if sw.Behind() {
		t.Error("behind after the sweep")
	}
}
