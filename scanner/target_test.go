package scanner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in          string
		first, last string
		size        uint64
		err         string
	}{
		{in: "127.0.2.7", first: "127.0.2.7", last: "127.0.2.7", size: 1},
		{in: "127.0.2.7/24", first: "127.0.2.0", last: "127.0.2.255", size: 256},
		{in: "198.18.0.0/15", first: "198.18.0.0", last: "198.19.255.255", size: 1 << 17},
		{in: "0.0.0.0/0", first: "0.0.0.0", last: "255.255.255.255", size: 1 << 32},
		{in: "127.0.0.250-127.0.1.5", first: "127.0.0.250", last: "127.0.1.5", size: 12},
		{in: "::1", first: "::1", last: "::1", size: 1},
		{in: "::1/120", first: "::", last: "::ff", size: 256},
		{in: "::ffff:127.1.2.3", first: "127.1.2.3", last: "127.1.2.3", size: 1},
		{in: "::/0", err: "IPv6 prefixes must be /96 or longer"},
		{in: "127.0.0.9-127.0.0.1", err: "ends before it starts"},
		{in: "127.0.0.1-::1", err: "cannot mix"},
		{in: "gateway.invalid", err: "not an IP address"},
		{in: "::1%lo", err: "not an IP address"},
		{in: "127.0.0.256", err: "not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseTarget(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.First.String() != tt.first || r.Last.String() != tt.last || r.Size() != tt.size {
				t.Errorf("got %s (%d), want %s-%s (%d)", r, r.Size(), tt.first, tt.last, tt.size)
			}
		})
	}
}

func TestReadTargetsFileAndStdin(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/targets.txt"
	writeFile(t, file, "# a comment\n127.0.2.1\n\n127.0.2.8/30  # trailing comment\n")
	var got []string
	err := ReadTargets([]string{"@" + file, "-", "198.18.100.1,198.18.100.2"}, strings.NewReader("127.0.3.5\n"), func(r Range) error {
		got = append(got, r.String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.2.1", "127.0.2.8-127.0.2.11", "127.0.3.5", "198.18.100.1", "198.18.100.2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A bad line of a file is skipped and named; a bad literal is an error.
	writeFile(t, file, "127.0.2.1\nnot-a-target\n")
	tr := TargetReader{}
	n := 0
	err = tr.Read([]string{"@" + file}, func(Range) error { n++; return nil })
	if err != nil || n != 1 || tr.Stats.Skipped != 1 || !strings.Contains(tr.Stats.Examples[0], "targets.txt:2") {
		t.Errorf("read %d targets, stats %+v, err %v; want 1, one line skipped naming targets.txt:2", n, tr.Stats, err)
	}
	if err := ReadTargets([]string{"not-a-target"}, nil, func(Range) error { return nil }); err == nil {
		t.Error("a literal that is not a target was accepted")
	}
}

// TestBlocklist checks the built-in reserved ranges against an independent reading of the
// list (netip.Prefix.Contains) at every range's edges and one address beyond each edge, so the
// test needs no address outside loopback and the namespace range; TestPlanCount pins the total.
func TestBlocklist(t *testing.T) {
	bl := NewBlocklist(false)
	var reserved []netip.Prefix
	for _, s := range Reserved {
		reserved = append(reserved, netip.MustParsePrefix(s))
	}
	covered := func(a netip.Addr) bool {
		for _, p := range reserved {
			if p.Contains(a) || (a.Is4In6() && p.Contains(a.Unmap())) {
				return true
			}
		}
		return false
	}
	beyond := 0
	for _, p := range reserved {
		first, last := p.Masked().Addr(), lastAddr(p)
		for _, a := range []netip.Addr{first, last, first.Prev(), last.Next()} {
			if !a.IsValid() {
				continue
			}
			_, blocked := bl.Lookup(a)
			if blocked != covered(a) {
				t.Errorf("%s (an edge of %s): blocked %v, reserved %v", a, p, blocked, covered(a))
			}
			if !blocked {
				beyond++
			}
		}
	}
	if beyond == 0 {
		t.Error("no edge lies outside the reserved ranges: the check above compared nothing unblocked")
	}
	for _, a := range []string{"127.0.0.1", "198.18.5.5", "::1", "::ffff:127.0.0.1", "::"} {
		if _, blocked := bl.Lookup(netip.MustParseAddr(a)); !blocked {
			t.Errorf("%s not blocked by the reserved ranges", a)
		}
	}
	if lab := NewBlocklist(true); lab.Len() != 0 {
		t.Errorf("lab blocklist has %d entries, want none", lab.Len())
	}

	// A range across loopback's edges keeps what lies outside it.
	loop := netip.MustParsePrefix("127.0.0.0/8")
	below, above := loop.Addr(), lastAddr(loop)
	for range 256 {
		below = below.Prev()
	}
	for range 11 {
		above = above.Next()
	}
	kept, by := bl.Subtract(Range{First: below, Last: above})
	want := []Range{{First: below, Last: loop.Addr().Prev()}, {First: lastAddr(loop).Next(), Last: above}}
	if diff := cmp.Diff(want, kept, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("subtract (-want +got):\n%s", diff)
	}
	if len(by) != 1 || !strings.Contains(by[0], "reserved") {
		t.Errorf("removed by %v, want the reserved list", by)
	}

	dir := t.TempDir()
	writeFile(t, dir+"/optout.txt", "# opted out\n127.0.8.0/24\n127.0.1.1-127.0.1.3\n::/0\n")
	lab := NewBlocklist(true)
	if err := lab.AddFile(dir + "/optout.txt"); err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]bool{"127.0.8.8": true, "127.0.1.2": true, "127.0.1.4": false, "::1": true, "198.18.0.1": false} {
		src, blocked := lab.Lookup(netip.MustParseAddr(a))
		if blocked != want || (blocked && !strings.Contains(src, "optout.txt")) {
			t.Errorf("%s: blocked=%v by %q, want %v by the exclude file", a, blocked, src, want)
		}
	}
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestPermutationIsABijectionAndShardsPartition(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 7, 255, 256, 1000, 4097} {
		p := newPermutation(n, 42)
		seen := make([]bool, n)
		for i := uint64(0); i < n; i++ {
			v := p.at(i)
			if v >= n || seen[v] {
				t.Fatalf("n=%d: at(%d)=%d repeats or escapes", n, i, v)
			}
			seen[v] = true
		}
	}
	if newPermutation(1000, 1).at(0) == newPermutation(1000, 2).at(0) && newPermutation(1000, 1).at(1) == newPermutation(1000, 2).at(1) {
		t.Error("different seeds give the same order")
	}

	collect := func(seed int64, shard Shard) []netip.AddrPort {
		plan := &Plan{Specs: []string{"198.18.2.0/24", "198.19.100.0/25"}, Blocklist: NewBlocklist(true), Ports: []uint16{80, 18789}, Seed: seed, Shard: shard}
		var got []netip.AddrPort
		if err := plan.Walk(context.Background(), func(ap netip.AddrPort) error { got = append(got, ap); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	whole := collect(7, Shard{})
	if len(whole) != 384*2 {
		t.Fatalf("walk visited %d probes, want %d", len(whole), 384*2)
	}
	if !slices.Equal(whole, collect(7, Shard{})) {
		t.Error("the same seed gave a different order")
	}
	sorted := slices.Clone(whole)
	slices.SortFunc(sorted, func(a, b netip.AddrPort) int { return a.Compare(b) })
	if slices.Equal(sorted, whole) {
		t.Error("the walk is in address order, not permuted")
	}
	var union []netip.AddrPort
	for i := uint64(0); i < 3; i++ {
		part := collect(7, Shard{Index: i, Count: 3})
		if len(part) != 256 {
			t.Errorf("shard %d/3 has %d probes, want 256", i, len(part))
		}
		union = append(union, part...)
	}
	slices.SortFunc(union, func(a, b netip.AddrPort) int { return a.Compare(b) })
	if !slices.Equal(sorted, union) {
		t.Error("the shards together are not exactly the whole walk")
	}
}

func TestPlanCount(t *testing.T) {
	plan := &Plan{Specs: []string{"0.0.0.0/0"}}
	tot, err := plan.Count()
	if err != nil {
		t.Fatal(err)
	}
	// 2^32 minus the IPv4 entries of Reserved (592,708,864 addresses, counted by hand from the
	// IANA special-purpose registry).
	const want = 3702258432
	if tot.Addresses != want || tot.Probes != want {
		t.Errorf("0.0.0.0/0 counts %d addresses, %d probes; want %d", tot.Addresses, tot.Probes, uint64(want))
	}
	for _, specs := range [][]string{{"198.18.0.0/15"}, {"127.0.0.1"}} {
		_, err := (&Plan{Specs: specs}).Count()
		if err == nil || !strings.Contains(err.Error(), "reserved ranges") {
			t.Errorf("%v: err = %v, want a refusal naming the reserved ranges", specs, err)
		}
	}
	sh, _ := ParseShard("1/4")
	tot, err = (&Plan{Specs: []string{"198.18.2.0/24"}, Blocklist: NewBlocklist(true), Ports: []uint16{1, 2, 3}, Shard: sh}).Count()
	if err != nil || tot.Probes != 192 {
		t.Errorf("shard 1/4 of 768 probes: %d (%v), want 192", tot.Probes, err)
	}
}

func TestParsePortsAndShard(t *testing.T) {
	got, err := ParsePorts("18789,8080-8082,funnel,443")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint16{443, 8080, 8081, 8082, 8443, 10000, 18789}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Every port once, whatever the overlaps: the set is a bitmap, not a list of repeats.
	for spec, want := range map[string]int{strings.Repeat("1-65535,", 100_000) + "80": 65535, "60-130,64-127,1-1,65535": 73, "63-64,127-128": 4} {
		got, err := ParsePorts(spec)
		if err != nil || len(got) != want || !slices.IsSorted(got) || slices.Contains(got, 0) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("ParsePorts(%.40q…): %d ports, %v; want %d, sorted, distinct", spec, len(got), err, want)
		}
	}
	for _, bad := range []string{"0", "65536", "9-1", "http", "1,,2"} {
		if _, err := ParsePorts(bad); err == nil {
			t.Errorf("ParsePorts(%q) accepted", bad)
		}
	}
	// N is bounded (issue 19 item 5: 0/4294967296 exhausted memory).
	for _, bad := range []string{"4/4", "1", "-1/3", "a/b", "1/0", "01/3", "0/65537", "0/4294967296", "0/18446744073709551615"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

func TestReadCandidates(t *testing.T) {
	input := strings.Join([]string{
		"127.0.2.1:18789",
		"[::1]:443",
		"open tcp 8080 127.0.2.9 1700000000",
		"127.0.3.4",
		"127.0.4.1:18789",
	}, "\n")
	read := func(name, input string, bl *Blocklist, scope Scope) (got []string, skipped []CandidateSkip, err error) {
		err = ReadCandidates(name, strings.NewReader(input), bl, scope, 18789,
			func(ap netip.AddrPort) error { got = append(got, ap.String()); return nil },
			func(s CandidateSkip) { skipped = append(skipped, s) })
		return got, skipped, err
	}
	got, _, err := read("mixed", input, NewBlocklist(true), Scope{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.2.1:18789", "[::1]:443", "127.0.2.9:8080", "127.0.3.4:18789", "127.0.4.1:18789"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Outside lab mode every one of these is reserved space: all skipped, none passed on.
	got, skipped, err := read("mixed", input, NewBlocklist(false), Scope{})
	if err != nil || len(got) != 0 || len(skipped) != 5 {
		t.Errorf("default blocklist: passed %v, skipped %v, err %v; want all 5 skipped", got, skipped, err)
	}
	got, _, err = read("zmap.csv", "saddr,sport\n127.0.5.3,18789\n127.0.5.4,8443\n", NewBlocklist(true), Scope{})
	if err != nil || !slices.Equal(got, []string{"127.0.5.3:18789", "127.0.5.4:8443"}) {
		t.Errorf("zmap CSV: %v, %v", got, err)
	}
	// Bad lines (masscan's banner lines, a bad port) and lines outside the scope are skipped
	// with their line numbers; the good ones around them are read.
	scope, _ := ParseScope("127.0.2.0/24")
	got, skipped, err = read("masscan.txt", "#masscan\nbanner tcp 18789 127.0.2.1 1 http Server: x\n127.0.2.1:99999\n127.0.2.7:18789\n127.0.9.9:18789\n",
		NewBlocklist(true), scope)
	if err != nil || !slices.Equal(got, []string{"127.0.2.7:18789"}) || len(skipped) != 3 {
		t.Fatalf("bad lines: passed %v, skipped %+v, err %v", got, skipped, err)
	}
	for i, line := range []int{2, 3, 5} {
		if skipped[i].Line != line {
			t.Errorf("skip %d names line %d, want %d", i, skipped[i].Line, line)
		}
	}
	if !strings.Contains(skipped[2].Reason, "outside the authorized scope") {
		t.Errorf("out-of-scope skip: %q", skipped[2].Reason)
	}
}

func TestScope(t *testing.T) {
	sc, err := ParseScope("127.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]bool{"127.3.4.5": true, "::1": true, "198.18.0.1": false, "::2": false, "::ffff:127.0.0.1": true} {
		if got := sc.Allows(netip.MustParseAddr(a)); got != want {
			t.Errorf("Allows(%s) = %v, want %v", a, got, want)
		}
	}
	if err := sc.Check(netip.MustParseAddr("198.18.0.1")); err == nil || !strings.Contains(err.Error(), "outside the authorized scope") {
		t.Errorf("Check = %v", err)
	}
	if none, _ := ParseScope(""); none.Set() || !none.Allows(netip.MustParseAddr("198.18.0.1")) {
		t.Error("an empty scope restricts")
	}
	if _, err := ParseScope("127.0.0.0/33"); err == nil {
		t.Error("a bad scope was accepted")
	}
}

// TestWalkAcrossChunks streams more target lines than one chunk holds and checks every target
// is visited exactly once, across chunk boundaries, and that shards still partition.
func TestWalkAcrossChunks(t *testing.T) {
	n := 2*ChunkRanges + 5
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "127.%d.%d.%d\n", i>>16, (i>>8)&0xff, i&0xff)
	}
	file := t.TempDir() + "/many.txt"
	writeFile(t, file, b.String())
	seen := make(map[netip.Addr]int, n)
	for shard := uint64(0); shard < 2; shard++ {
		plan := &Plan{Specs: []string{"@" + file}, Blocklist: NewBlocklist(true), Seed: 3, Shard: Shard{Index: shard, Count: 2}}
		err := plan.Walk(context.Background(), func(ap netip.AddrPort) error {
			seen[ap.Addr()]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != n {
		t.Fatalf("visited %d distinct targets, want %d", len(seen), n)
	}
	for a, c := range seen {
		if c != 1 {
			t.Fatalf("%s visited %d times", a, c)
		}
	}
}

func TestRangePrefixes(t *testing.T) {
	tests := map[string][]string{
		"127.0.2.0/24":          {"127.0.2.0/24"},
		"127.0.2.7":             {"127.0.2.7/32"},
		"127.0.0.1-127.0.0.6":   {"127.0.0.1/32", "127.0.0.2/31", "127.0.0.4/31", "127.0.0.6/32"},
		"198.18.0.0-198.19.0.1": {"198.18.0.0/16", "198.19.0.0/31"},
		"0.0.0.0/0":             {"0.0.0.0/0"},
		"::1-::4":               {"::1/128", "::2/127", "::4/128"},
	}
	for in, want := range tests {
		r, err := ParseTarget(in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range r.Prefixes() {
			got = append(got, p.String())
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", in, diff)
		}
	}
}

// TestSkipResumes checks that a walk skipping k positions yields exactly the tail of the full
// walk, across chunks and shards.
func TestSkipResumes(t *testing.T) {
	var b strings.Builder
	for i := range ChunkRanges + 300 {
		fmt.Fprintf(&b, "127.%d.%d.%d\n", i>>16, (i>>8)&0xff, i&0xff)
	}
	file := t.TempDir() + "/t.txt"
	writeFile(t, file, b.String())
	walk := func(skip uint64) []netip.AddrPort {
		plan := &Plan{Specs: []string{"@" + file}, Blocklist: NewBlocklist(true), Ports: []uint16{1, 2}, Seed: 9, Shard: Shard{Index: 1, Count: 3}, Skip: skip}
		var got []netip.AddrPort
		if err := plan.Walk(context.Background(), func(ap netip.AddrPort) error { got = append(got, ap); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	full := walk(0)
	for _, k := range []uint64{0, 1, 100, uint64(len(full)) / 2, uint64(len(full)) - 1, uint64(len(full)), uint64(len(full)) + 5} {
		got := walk(k)
		want := full[min(k, uint64(len(full))):]
		if !slices.Equal(got, want) {
			t.Errorf("skip %d: %d probes, want the last %d of the full walk", k, len(got), len(want))
		}
	}
}

// TestWindowsPartitionTheWalk checks that consecutive Skip/Limit windows (a census's work
// units) together yield the full walk exactly once and in order, across chunk boundaries.
func TestWindowsPartitionTheWalk(t *testing.T) {
	var b strings.Builder
	for i := range ChunkRanges + 300 {
		fmt.Fprintf(&b, "127.%d.%d.%d\n", i>>16, (i>>8)&0xff, i&0xff)
	}
	file := t.TempDir() + "/t.txt"
	writeFile(t, file, b.String())
	walk := func(skip, limit uint64) []netip.AddrPort {
		plan := &Plan{Specs: []string{"@" + file}, Blocklist: NewBlocklist(true), Ports: []uint16{1, 2}, Seed: 3, Skip: skip, Limit: limit}
		var got []netip.AddrPort
		if err := plan.Walk(context.Background(), func(ap netip.AddrPort) error { got = append(got, ap); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	full := walk(0, 0)
	for _, size := range []uint64{1 << 10, 50_000, ChunkRanges*2 - 1, uint64(len(full)), uint64(len(full)) + 7} {
		var joined []netip.AddrPort
		for skip := uint64(0); skip < uint64(len(full)); skip += size {
			w := walk(skip, size)
			if want := min(size, uint64(len(full))-skip); uint64(len(w)) != want {
				t.Fatalf("size %d, window at %d: %d probes, want %d", size, skip, len(w), want)
			}
			joined = append(joined, w...)
		}
		if !slices.Equal(joined, full) {
			t.Errorf("size %d: windows joined differ from the full walk", size)
		}
	}
}

func TestOptOutRegister(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/optout.csv"
	writeFile(t, good, "network,requested_by,requested_at,verification,reason\n"+
		"# a comment\n"+
		"127.0.4.0/24,noc@example.net,2026-10-01,WHOIS abuse contact confirmed by email,do not scan\n"+
		"::/0,abuse@example.org,2026-11-02,RPKI ROA,\n")
	bl := NewBlocklist(true)
	if err := bl.AddOptOutFile(good); err != nil {
		t.Fatal(err)
	}
	src, blocked := bl.Lookup(netip.MustParseAddr("127.0.4.4"))
	if !blocked || !strings.Contains(src, "requested by noc@example.net on 2026-10-01") {
		t.Errorf("127.0.4.4: blocked %v by %q", blocked, src)
	}
	if src, blocked := bl.Lookup(netip.MustParseAddr("::1")); !blocked || !strings.Contains(src, "abuse@example.org") {
		t.Errorf("::1: blocked %v by %q, want the IPv6 entry", blocked, src)
	}
	for name, body := range map[string]string{
		"header":  "cidr,who\n127.0.8.0/24,x\n",
		"who":     "network,requested_by,requested_at,verification,reason\n127.0.8.0/24,,2026-10-01,email,x\n",
		"date":    "network,requested_by,requested_at,verification,reason\n127.0.8.0/24,a,01/10/2026,email,x\n",
		"network": "network,requested_by,requested_at,verification,reason\ngateway.invalid,a,2026-10-01,email,x\n",
	} {
		path := dir + "/" + name + ".csv"
		writeFile(t, path, body)
		if err := NewBlocklist(false).AddOptOutFile(path); err == nil {
			t.Errorf("%s: a bad register was accepted", name)
		}
	}
}

// TestBlocklistIndexMatchesLinearScan checks the indexed Lookup and Subtract against a plain
// scan over many overlapping entries.
func TestBlocklistIndexMatchesLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bl := &Blocklist{}
	for i := range 300 {
		first := rng.Uint32N(1 << 16)
		r := Range{First: fromU128(u128{lo: uint64(first)}, true), Last: fromU128(u128{lo: uint64(first + rng.Uint32N(2000))}, true)}
		bl.add(r, fmt.Sprint("list", i%7))
	}
	bl.index()
	naive := func(v uint32) (string, bool) {
		x := u128{lo: uint64(v)}
		for _, e := range bl.entries { // sorted, stable: the first covering entry names the source
			if !x.less(e.first) && !e.last.less(x) {
				return e.source, true
			}
		}
		return "", false
	}
	for v := uint32(0); v < 1<<16+3000; v += 7 {
		gotSrc, got := bl.Lookup(fromU128(u128{lo: uint64(v)}, true))
		wantSrc, want := naive(v)
		if got != want || gotSrc != wantSrc {
			t.Fatalf("%d: Lookup = %q %v, want %q %v", v, gotSrc, got, wantSrc, want)
		}
	}
	for range 200 {
		a := rng.Uint32N(1 << 16)
		r := Range{First: fromU128(u128{lo: uint64(a)}, true), Last: fromU128(u128{lo: uint64(a + rng.Uint32N(5000))}, true)}
		kept, _ := bl.Subtract(r)
		var n uint64
		for _, k := range kept {
			n += k.Size()
			for _, x := range []netip.Addr{k.First, k.Last} {
				if _, blocked := bl.Lookup(x); blocked {
					t.Fatalf("%s survived subtraction", x)
				}
			}
		}
		var free uint64
		for i := uint64(0); i < r.Size(); i++ {
			if _, blocked := bl.Lookup(r.Addr(i)); !blocked {
				free++
			}
		}
		if n != free {
			t.Fatalf("%s: kept %d addresses, %d are unblocked", r, n, free)
		}
	}
}

func TestScopeOutside(t *testing.T) {
	for _, c := range []struct {
		scope, target string
		outside       string // "" when the target lies inside
	}{
		{"127.0.0.0/8", "127.0.0.0/24", ""},
		{"127.0.0.0/8,::1", "::1", ""},
		{"127.0.0.0/8", "198.18.0.0/24", "198.18.0.0"},
		{"127.0.0.0/25,127.0.0.128/25", "127.0.0.0/24", ""},
		{"127.0.0.0/25", "127.0.0.0/24", "127.0.0.128"},
		{"127.0.0.0/25,127.0.0.192/26", "127.0.0.0/24", "127.0.0.128"},
		{"198.18.0.0/15", "198.18.0.0-198.19.255.255", ""},
		{"198.18.1.0/24", "198.18.0.255-198.18.1.5", "198.18.0.255"},
		{"127.0.0.1", "127.0.0.1-127.0.0.2", "127.0.0.2"},
		{"", "198.18.0.1", ""},
	} {
		sc, err := ParseScope(c.scope)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseTarget(c.target)
		if err != nil {
			t.Fatal(err)
		}
		a, out := sc.Outside(r)
		got := ""
		if out {
			got = a.String()
		}
		if got != c.outside {
			t.Errorf("scope %s, target %s: outside %q, want %q", c.scope, c.target, got, c.outside)
		}
	}
}

// TestOneAddressNormaliser: every list that names addresses reads IPv4-mapped and
// IPv4-compatible forms as the IPv4 address they name, and refuses zones.
func TestOneAddressNormaliser(t *testing.T) {
	dir := t.TempDir()
	exclude := dir + "/exclude.txt"
	writeFile(t, exclude, "::ffff:127.0.2.0/120\n::ffff:127.0.3.7\n")
	optout := dir + "/optout.csv"
	writeFile(t, optout, "network,requested_by,requested_at,verification,reason\n::ffff:127.0.4.0/120,noc@example.net,2026-10-01,WHOIS,\n")
	bl := NewBlocklist(true)
	if err := bl.AddFile(exclude); err != nil {
		t.Fatal(err)
	}
	if err := bl.AddOptOutFile(optout); err != nil {
		t.Fatal(err)
	}
	for addr, blocked := range map[string]bool{"127.0.2.5": true, "127.0.3.7": true, "127.0.4.200": true, "127.0.5.1": false,
		"::ffff:127.0.2.9": true, "::1%lo": true} {
		if _, got := bl.Lookup(netip.MustParseAddr(addr)); got != blocked {
			t.Errorf("Lookup(%s) blocked %v, want %v", addr, got, blocked)
		}
	}
	// Targets: the mapped and compatible forms are the IPv4 target (and the reserved-range
	// blocklist applies to it); zones are refused.
	for in, want := range map[string]string{"::ffff:127.0.0.1": "127.0.0.1", "::127.0.0.1": "127.0.0.1",
		"::ffff:127.0.0.0/120": "127.0.0.0-127.0.0.255", "::1": "::1", "::ffff:127.0.0.1-::ffff:127.0.0.3": "127.0.0.1-127.0.0.3"} {
		r, err := ParseTarget(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", in, r, err, want)
		}
	}
	if _, err := ParseTarget("::1%lo"); err == nil {
		t.Error("a zoned target was accepted")
	}
	if _, blocked := NewBlocklist(false).Lookup(netip.MustParseAddr("::127.0.0.1")); !blocked {
		t.Error("an IPv4-compatible loopback address passed the reserved-range blocklist")
	}
	sc, err := ParseScope("::ffff:127.0.0.0/104")
	if err != nil || !sc.Allows(netip.MustParseAddr("127.0.0.1")) || sc.Allows(netip.MustParseAddr("::1")) {
		t.Errorf("a mapped scope: %v", err)
	}
	aps, err := parseCandidateLine("[::ffff:127.0.0.1]:18789", 1)
	if err != nil || len(aps) != 1 || aps[0].String() != "127.0.0.1:18789" {
		t.Errorf("a mapped candidate: %v, %v", aps, err)
	}
}

// TestSubtractCounts: what each list removed is counted once per address, for the first list
// that covers it, and the counts add up with what is kept.
func TestSubtractCounts(t *testing.T) {
	dir := t.TempDir()
	a, b := dir+"/a.txt", dir+"/b.txt"
	writeFile(t, a, "127.0.0.0/25\n")
	writeFile(t, b, "127.0.0.64/26\n127.0.0.200\n")
	bl := NewBlocklist(true)
	if err := bl.AddFile(a); err != nil {
		t.Fatal(err)
	}
	if err := bl.AddFile(b); err != nil {
		t.Fatal(err)
	}
	r, _ := ParseTarget("127.0.0.0/24")
	kept, removed := bl.SubtractCounted(r)
	var keptN, removedN uint64
	for _, k := range kept {
		keptN += k.Size()
	}
	got := map[string]uint64{}
	for _, x := range removed {
		removedN += x.Addresses
		got[filepath.Base(x.Source)] = x.Addresses
	}
	if keptN+removedN != 256 || keptN != 127 {
		t.Errorf("kept %d, removed %d of 256", keptN, removedN)
	}
	if got["a.txt"] != 128 || got["b.txt"] != 1 {
		t.Errorf("removed per list: %v (want a.txt 128, b.txt 1: its /26 lies inside a.txt's /25)", got)
	}
}

// TestOptOutRegisterBadCSV: a register that is not valid CSV (an unterminated quote, found by
// FuzzListFiles: it panicked) is an error naming the file, not a crash.
func TestOptOutRegisterBadCSV(t *testing.T) {
	path := t.TempDir() + "/optout.csv"
	writeFile(t, path, "network,requested_by,requested_at,verification,reason\n\"")
	if err := NewBlocklist(true).AddOptOutFile(path); err == nil || !strings.Contains(err.Error(), "optout.csv") {
		t.Errorf("err = %v, want one naming the register", err)
	}
}

// TestSplitWindowPartitions: the parts a SYN sweep's senders walk are, one after another,
// exactly the window, whether the window is a unit (Limit) or the whole shard.
func TestSplitWindowPartitions(t *testing.T) {
	walk := func(p *Plan) []netip.AddrPort {
		var got []netip.AddrPort
		if err := p.Walk(context.Background(), func(ap netip.AddrPort) error { got = append(got, ap); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, base := range []Plan{
		{Specs: []string{"198.18.0.0/19"}, Ports: []uint16{80, 18789}, Seed: 4},
		{Specs: []string{"198.18.0.0/19"}, Ports: []uint16{18789}, Seed: 4, Skip: 1000, Limit: 6000},
		{Specs: []string{"198.18.0.0/19"}, Ports: []uint16{18789}, Seed: 4, Shard: Shard{Index: 1, Count: 3}},
	} {
		base.Blocklist = NewBlocklist(true)
		whole := walk(&base)
		for _, n := range []int{1, 2, 3} {
			var joined []netip.AddrPort
			for _, part := range splitWindow(&base, n) {
				joined = append(joined, walk(part)...)
			}
			if !slices.Equal(joined, whole) {
				t.Errorf("skip %d limit %d shard %v, %d parts: %d probes, want the %d of the window in order", base.Skip, base.Limit, base.Shard, n, len(joined), len(whole))
			}
		}
	}
	small := &Plan{Specs: []string{"127.0.0.1"}, Blocklist: NewBlocklist(true)}
	if len(splitWindow(small, 2)) != 1 {
		t.Error("a one-probe window was split")
	}
}

// TestIPv6EmbeddingIPv4: scope and blocklists read ::a.b.c.d and ::ffff:a.b.c.d as IPv4, but a
// probe to one would leave as IPv6 by another route; so an IPv6 range reaching into that space
// is refused at parse time (found by FuzzParseTarget: a /97 at the start of the IPv6 space
// kept its last address, which the blocklist calls loopback), and the send-time guard refuses
// such an address whatever its source. The refused targets reach beyond ::/104 by nature, so they are computed here rather
// than written (TestNoTestNamesAnOutsideAddress); they are only parsed, never swept.
func TestIPv6EmbeddingIPv4(t *testing.T) {
	zero := netip.IPv6Unspecified()
	beyond := netip.AddrFrom16([16]byte{7: 2}) // past the IPv4-compatible block
	for _, s := range []string{netip.PrefixFrom(zero, 97).String(), netip.PrefixFrom(zero, 96).String(),
		"::1-" + beyond.String(), "::ff:ffff-" + ipv4CompatibleFirst.String()} {
		if r, err := ParseTarget(s); err == nil {
			t.Errorf("ParseTarget(%q) = %s, want a refusal", s, r)
		}
	}
	for s, want := range map[string]string{"::/104": "::-::ff:ffff", "::127.0.2.0/120": "127.0.2.0-127.0.2.255", "::ffff:127.0.0.1": "127.0.0.1", "::2-::ff:ffff": "::2-::ff:ffff"} {
		if r, err := ParseTarget(s); err != nil || r.String() != want {
			t.Errorf("ParseTarget(%q) = %s, %v; want %s", s, r, err, want)
		}
	}
	scope, _ := ParseScope("127.0.0.0/8, ::1")
	sw := &Sweeper{cfg: Config{Scope: scope, Blocklist: NewBlocklist(true)}}
	for _, a := range []string{"::7f00:1", "::ffff:127.0.0.1"} {
		ap := netip.AddrPortFrom(netip.MustParseAddr(a), 18789)
		if err := sw.allowed(ap); err == nil || !strings.Contains(err.Error(), "embedding an IPv4") {
			t.Errorf("allowed(%s) = %v", ap, err)
		}
	}
	for _, a := range []string{"127.0.0.1", "::1"} {
		if err := sw.allowed(netip.AddrPortFrom(netip.MustParseAddr(a), 18789)); err != nil {
			t.Errorf("allowed(%s) = %v", a, err)
		}
	}
}

// TestConnectSweepEndsAtItsDeadline: when the limiter refuses probes whose turn would come
// after the context's deadline, the sweep returns once the deadline has passed, with the
// context's own error, so a --max-runtime run reads interrupted, never failed (it could end
// a few milliseconds early, before the context was done, and lose that race).
func TestConnectSweepEndsAtItsDeadline(t *testing.T) {
	scope, _ := ParseScope("127.0.0.0/8")
	sw, err := New(Config{Rate: 20, Method: MethodConnect, Timeout: 100 * time.Millisecond, Blocklist: NewBlocklist(true), Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		open := make(chan Open, 256)
		err := sw.Sweep(ctx, &Plan{Specs: []string{"127.0.9.0/24"}, Blocklist: NewBlocklist(true), Ports: []uint16{1}, Seed: 5}, open)
		done := ctx.Err()
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || done == nil {
			t.Fatalf("the sweep returned %v with the context not yet done (%v)", err, done)
		}
	}
}

// TestReservedIPv6 holds the built-in blocklist to the reserved IPv6 space (written as bytes:
// the suite names no address outside its own test space): documentation, ULA, link-local,
// site-local, multicast, 6to4 and Teredo relays, NAT64 and SIIT forms of IPv4, benchmarking,
// the space IANA has not allocated for global unicast; and to letting global unicast through.
func TestReservedIPv6(t *testing.T) {
	bl := NewBlocklist(false)
	for _, c := range []struct {
		name    string
		addr    [16]byte
		blocked bool
	}{
		{"documentation (RFC 3849)", [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}, true},
		{"documentation (RFC 9637)", [16]byte{0x3f, 0xff, 0x0f, 0xff, 15: 1}, true},
		{"ULA", [16]byte{0xfd, 0x12, 15: 1}, true},
		{"link-local", [16]byte{0xfe, 0x80, 15: 1}, true},
		{"site-local (deprecated)", [16]byte{0xfe, 0xc0, 15: 1}, true},
		{"multicast", [16]byte{0xff, 0x02, 15: 1}, true},
		{"6to4", [16]byte{0x20, 0x02, 0xc6, 0x12, 15: 1}, true},
		{"Teredo", [16]byte{0x20, 0x01, 0x00, 0x00, 0x41, 15: 1}, true},
		{"NAT64 well-known prefix", [16]byte{0x00, 0x64, 0xff, 0x9b, 12: 0xc6, 13: 0x12, 15: 1}, true},
		{"SIIT IPv4-translated", [16]byte{8: 0xff, 9: 0xff, 12: 0xc6, 13: 0x12, 15: 1}, true},
		{"benchmarking (the IPv6 testbed's; --lab lifts it)", [16]byte{0x20, 0x01, 0x00, 0x02, 15: 1}, true},
		{"dummy prefix", [16]byte{0x01, 0x00, 7: 1, 15: 1}, true},
		{"unallocated, above global unicast", [16]byte{0x40, 15: 1}, true},
		{"unallocated, above ULA", [16]byte{0xe0, 15: 1}, true},
		{"global unicast", [16]byte{0x2a, 0x00, 0x14, 0x50, 15: 1}, false},
		{"global unicast beside the IETF block", [16]byte{0x20, 0x01, 0x40, 15: 1}, false},
	} {
		a := netip.AddrFrom16(c.addr)
		if _, blocked := bl.Lookup(a); blocked != c.blocked {
			t.Errorf("%s: blocked %v, want %v", c.name, blocked, c.blocked)
		}
		if c.blocked {
			if _, blocked := NewBlocklist(true).Lookup(a); blocked {
				t.Errorf("%s: blocked in lab mode", c.name)
			}
		}
	}
}
