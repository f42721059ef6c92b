package scanner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in          string
		first, last string
		size        uint64
		err         string
	}{
		{in: "192.0.2.7", first: "192.0.2.7", last: "192.0.2.7", size: 1},
		{in: "192.0.2.7/24", first: "192.0.2.0", last: "192.0.2.255", size: 256},
		{in: "0.0.0.0/0", first: "0.0.0.0", last: "255.255.255.255", size: 1 << 32},
		{in: "10.0.0.250-10.0.1.5", first: "10.0.0.250", last: "10.0.1.5", size: 12},
		{in: "2001:db8::1", first: "2001:db8::1", last: "2001:db8::1", size: 1},
		{in: "2001:db8::/120", first: "2001:db8::", last: "2001:db8::ff", size: 256},
		{in: "::ffff:1.2.3.4", first: "1.2.3.4", last: "1.2.3.4", size: 1},
		{in: "2001:db8::/64", err: "IPv6 prefixes must be /96 or longer"},
		{in: "10.0.0.9-10.0.0.1", err: "ends before it starts"},
		{in: "10.0.0.1-2001:db8::1", err: "cannot mix"},
		{in: "example.com", err: "not an IP address"},
		{in: "fe80::1%eth0", err: "not an IP address"},
		{in: "300.1.1.1", err: "not an IP address"},
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
	writeFile(t, file, "# a comment\n192.0.2.1\n\n192.0.2.8/30  # trailing comment\n")
	var got []string
	err := ReadTargets([]string{"@" + file, "-", "198.51.100.1,198.51.100.2"}, strings.NewReader("203.0.113.5\n"), func(r Range) error {
		got = append(got, r.String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.1", "192.0.2.8-192.0.2.11", "203.0.113.5", "198.51.100.1", "198.51.100.2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	writeFile(t, file, "192.0.2.1\nnot-a-target\n")
	err = ReadTargets([]string{"@" + file}, nil, func(Range) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "targets.txt:2") {
		t.Errorf("err = %v, want one naming targets.txt:2", err)
	}
}

func TestBlocklist(t *testing.T) {
	bl := NewBlocklist(false)
	for _, a := range []string{"10.1.2.3", "127.0.0.1", "192.168.0.1", "198.18.5.5", "::1", "fe80::1", "2001:db8::5", "255.255.255.255"} {
		if _, blocked := bl.Lookup(netip.MustParseAddr(a)); !blocked {
			t.Errorf("%s not blocked by the reserved ranges", a)
		}
	}
	for _, a := range []string{"8.8.8.8", "2606:4700::1111", "1.1.1.1"} {
		if src, blocked := bl.Lookup(netip.MustParseAddr(a)); blocked {
			t.Errorf("%s blocked by %s", a, src)
		}
	}
	if lab := NewBlocklist(true); lab.Len() != 0 {
		t.Errorf("lab blocklist has %d entries, want none", lab.Len())
	}

	r, _ := ParseTarget("9.255.255.0-11.0.0.10")
	kept, by := bl.Subtract(r)
	var got []string
	for _, k := range kept {
		got = append(got, k.String())
	}
	if diff := cmp.Diff([]string{"9.255.255.0-9.255.255.255", "11.0.0.0-11.0.0.10"}, got); diff != "" {
		t.Errorf("subtract (-want +got):\n%s", diff)
	}
	if len(by) != 1 || !strings.Contains(by[0], "reserved") {
		t.Errorf("removed by %v, want the reserved list", by)
	}

	dir := t.TempDir()
	writeFile(t, dir+"/optout.txt", "# opted out\n8.8.8.0/24\n1.1.1.1-1.1.1.3\n2606:4700::/32\n")
	if err := bl.AddFile(dir + "/optout.txt"); err != nil {
		t.Fatal(err)
	}
	src, blocked := bl.Lookup(netip.MustParseAddr("8.8.8.8"))
	if !blocked || !strings.Contains(src, "optout.txt") {
		t.Errorf("8.8.8.8: blocked=%v by %q, want the exclude file", blocked, src)
	}
	if _, blocked := bl.Lookup(netip.MustParseAddr("2606:4700::1111")); !blocked {
		t.Error("an IPv6 /32 in an exclude file is not applied")
	}
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
		plan := &Plan{Specs: []string{"192.0.2.0/24", "198.51.100.0/25"}, Blocklist: NewBlocklist(true), Ports: []uint16{80, 18789}, Seed: seed, Shard: shard}
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
	// 2^32 minus the reserved IPv4 ranges (0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
	// 192.0.0/24, 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24,
	// 224/4, 240/4 which includes 255.255.255.255).
	const want = 3702258432
	if tot.Addresses != want || tot.Probes != want {
		t.Errorf("0.0.0.0/0 counts %d addresses, %d probes; want %d", tot.Addresses, tot.Probes, uint64(want))
	}
	for _, specs := range [][]string{{"10.0.0.0/8"}, {"127.0.0.1"}} {
		_, err := (&Plan{Specs: specs}).Count()
		if err == nil || !strings.Contains(err.Error(), "reserved ranges") {
			t.Errorf("%v: err = %v, want a refusal naming the reserved ranges", specs, err)
		}
	}
	sh, _ := ParseShard("1/4")
	tot, err = (&Plan{Specs: []string{"192.0.2.0/24"}, Blocklist: NewBlocklist(true), Ports: []uint16{1, 2, 3}, Shard: sh}).Count()
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
	for _, bad := range []string{"0", "65536", "9-1", "http", "1,,2"} {
		if _, err := ParsePorts(bad); err == nil {
			t.Errorf("ParsePorts(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"4/4", "1", "-1/3", "a/b", "1/0", "01/3"} {
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
	for a, want := range map[string]bool{"127.3.4.5": true, "::1": true, "1.0.0.1": false, "::2": false, "::ffff:127.0.0.1": true} {
		if got := sc.Allows(netip.MustParseAddr(a)); got != want {
			t.Errorf("Allows(%s) = %v, want %v", a, got, want)
		}
	}
	if err := sc.Check(netip.MustParseAddr("1.0.0.1")); err == nil || !strings.Contains(err.Error(), "outside the authorized scope") {
		t.Errorf("Check = %v", err)
	}
	if none, _ := ParseScope(""); none.Set() || !none.Allows(netip.MustParseAddr("1.0.0.1")) {
		t.Error("an empty scope restricts")
	}
	if _, err := ParseScope("10.0.0.0/33"); err == nil {
		t.Error("a bad scope was accepted")
	}
}

// TestWalkAcrossChunks streams more target lines than one chunk holds and checks every target
// is visited exactly once, across chunk boundaries, and that shards still partition.
func TestWalkAcrossChunks(t *testing.T) {
	n := 2*ChunkRanges + 5
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "10.%d.%d.%d\n", i>>16, (i>>8)&0xff, i&0xff)
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
		"192.0.2.0/24":                    {"192.0.2.0/24"},
		"192.0.2.7":                       {"192.0.2.7/32"},
		"10.0.0.1-10.0.0.6":               {"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"},
		"0.0.0.0/0":                       {"0.0.0.0/0"},
		"255.255.255.254-255.255.255.255": {"255.255.255.254/31"},
		"2001:db8::1-2001:db8::4":         {"2001:db8::1/128", "2001:db8::2/127", "2001:db8::4/128"},
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
		fmt.Fprintf(&b, "10.%d.%d.%d\n", i>>16, (i>>8)&0xff, i&0xff)
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
		fmt.Fprintf(&b, "10.%d.%d.%d\n", i>>16, (i>>8)&0xff, i&0xff)
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
		"8.8.4.0/24,noc@example.net,2026-10-01,WHOIS abuse contact confirmed by email,do not scan\n"+
		"2606:4700::/32,abuse@example.org,2026-11-02,RPKI ROA,\n")
	bl := NewBlocklist(false)
	if err := bl.AddOptOutFile(good); err != nil {
		t.Fatal(err)
	}
	src, blocked := bl.Lookup(netip.MustParseAddr("8.8.4.4"))
	if !blocked || !strings.Contains(src, "requested by noc@example.net on 2026-10-01") {
		t.Errorf("8.8.4.4: blocked %v by %q", blocked, src)
	}
	for name, body := range map[string]string{
		"header":  "cidr,who\n8.8.8.0/24,x\n",
		"who":     "network,requested_by,requested_at,verification,reason\n8.8.8.0/24,,2026-10-01,email,x\n",
		"date":    "network,requested_by,requested_at,verification,reason\n8.8.8.0/24,a,01/10/2026,email,x\n",
		"network": "network,requested_by,requested_at,verification,reason\nexample.com,a,2026-10-01,email,x\n",
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
		{"127.0.0.0/8", "8.8.8.0/24", "8.8.8.0"},
		{"10.0.0.0/25,10.0.0.128/25", "10.0.0.0/24", ""},
		{"10.0.0.0/25", "10.0.0.0/24", "10.0.0.128"},
		{"10.0.0.0/25,10.0.0.192/26", "10.0.0.0/24", "10.0.0.128"},
		{"198.18.0.0/15", "198.18.0.0-198.19.255.255", ""},
		{"198.18.0.0/15", "198.17.255.255-198.18.0.5", "198.17.255.255"},
		{"127.0.0.1", "127.0.0.1-127.0.0.2", "127.0.0.2"},
		{"", "8.8.8.8", ""},
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
		"::ffff:127.0.2.9": true, "fe80::1%eth0": true} {
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
	if _, err := ParseTarget("fe80::1%eth0"); err == nil {
		t.Error("a zoned target was accepted")
	}
	if _, blocked := NewBlocklist(false).Lookup(netip.MustParseAddr("::127.0.0.1")); !blocked {
		t.Error("an IPv4-compatible loopback address passed the reserved-range blocklist")
	}
	sc, err := ParseScope("::ffff:127.0.0.0/104")
	if err != nil || !sc.Allows(netip.MustParseAddr("127.0.0.1")) || sc.Allows(netip.MustParseAddr("::1")) {
		t.Errorf("a mapped scope: %v", err)
	}
	ap, err := parseCandidate("[::ffff:127.0.0.1]:18789", -1, -1, 1)
	if err != nil || ap.String() != "127.0.0.1:18789" {
		t.Errorf("a mapped candidate: %v, %v", ap, err)
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
