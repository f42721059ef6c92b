package census

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/internal/textsafe"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/scanner"
)

// TestValuesAreCheckedWhereTheyEnter: a contact, authorization, worker id or series with a CR,
// LF or other control or format character is refused with a message naming it, by the API a
// program calls, not only by the CLI (issue 19 item 1: a trailing CR in --contact made every
// HTTP probe fail and the run complete).
func TestValuesAreCheckedWhereTheyEnter(t *testing.T) {
	base := PlanConfig{Targets: []string{"127.0.0.1"}, Ports: []uint16{9}, Lab: true, Scope: "127.0.0.0/8"}
	for _, c := range []struct{ contact, want string }{
		{"https://example.org/scan\r", "U+000D"},
		{"ops@example.org\n", "U+000A"},
		{"a\r\nX-Injected: 1", "U+000D"},
		{"tab\there", "U+0009"},
		{"nul\x00", "U+0000"},
		{"bidi \u202egro.elpmaxe", "U+202E"},
		{"line\u2028sep", "U+2028"},
		{"\xff\xfe", "UTF-8"},
		{" https://example.org", "white space"},
		{strings.Repeat("a", 257), "at most 256"},
	} {
		cfg := base
		cfg.Contact = c.contact
		if _, err := NewPlan(cfg); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "contact") {
			t.Errorf("contact %q: %v; want a refusal naming the contact and %s", c.contact, err, c.want)
		}
	}
	cfg := base
	cfg.Contact = "https://example.org/scan (Jane Doe, ops@example.org)"
	p, err := NewPlan(cfg)
	if err != nil {
		t.Fatalf("a plain contact: %v", err)
	}
	// A stored plan is checked as it is read: a worker elsewhere refuses it, not its probes.
	bad := strings.Replace(p.Marshal(), `"contact":"https://example.org/scan`, `"contact":"https://example.org/scan\r`, 1)
	if _, err := ParsePlan(bad); err == nil || !strings.Contains(err.Error(), "U+000D") {
		t.Errorf("a stored plan with a CR in its contact: %v", err)
	}

	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.Start(ctx, p, RunInfo{ToolVersion: "test", Authorization: "ticket 42\r"}, nil, Local(0)); err == nil || !strings.Contains(err.Error(), "authorization") {
		t.Errorf("an authorization with a CR: %v", err)
	}
	if _, _, err := c.Start(ctx, p, RunInfo{ToolVersion: "test", Series: "daily\r"}, nil, Local(0)); err == nil || !strings.Contains(err.Error(), "series") {
		t.Errorf("a series with a CR: %v", err)
	}
	if err := c.Work(ctx, WorkerConfig{ID: "w1\n", Queue: QueueShared, Spool: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "worker id") {
		t.Errorf("a worker id with a LF: %v", err)
	}
	for _, ok := range []string{"", "plain text", "Zürich, 2026-05-01 – 2026-05-31"} {
		if err := CheckText("value", ok, 100); err != nil {
			t.Errorf("CheckText(%q): %v", ok, err)
		}
	}
}

// TestShardCountIsBounded: N is at most the plan's probes and scanner.MaxShards, and a plan
// of many shards is totalled without reading the targets once per shard (issue 19 item 5:
// 0/100000000 took 1.6 GB and 73 s for a /24 dry run).
func TestShardCountIsBounded(t *testing.T) {
	base := PlanConfig{Targets: []string{"127.0.0.0/24"}, Ports: []uint16{9}, Lab: true, Scope: "127.0.0.0/8"}
	for _, c := range []struct {
		shards uint64
		want   string
	}{
		{257, "at most 256"},
		{100_000_000, "at most 65536"},
		{1 << 32, "at most 65536"},
	} {
		cfg := base
		cfg.Shards = c.shards
		if _, err := NewPlan(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d shards of 256 probes: %v; want %q", c.shards, err, c.want)
		}
	}
	// As many shards as probes: one each, and the shares are what each shard walks.
	cfg := base
	cfg.Ports = []uint16{9, 10, 11}
	cfg.Targets = []string{"127.0.0.0/24", "127.0.1.0/28"}
	cfg.Shards = 7
	p, err := NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for i := range p.Shards {
		specs := p.specs()
		sp := &scanner.Plan{Specs: specs, Blocklist: scanner.NewBlocklist(true), Ports: p.Ports, Seed: p.Seed, Shard: scanner.Shard{Index: i, Count: p.Shards}}
		var walked uint64
		if err := sp.Walk(context.Background(), func(netip.AddrPort) error { walked++; return nil }); err != nil {
			t.Fatal(err)
		}
		if walked != p.ShardProbes[i] {
			t.Errorf("shard %d walks %d probes, the plan says %d", i, walked, p.ShardProbes[i])
		}
		sum += p.ShardProbes[i]
	}
	if sum != p.Probes || p.Probes != 816 {
		t.Errorf("shards total %d of %d probes, want 816", sum, p.Probes)
	}
	// The most shards: a /8 in 65,536 parts plans in well under a second and a few MB.
	cfg = base
	cfg.Targets, cfg.Shards = []string{"127.0.0.0/8"}, scanner.MaxShards
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	p, err = NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if len(p.ShardProbes) != scanner.MaxShards || p.ShardProbes[0] != 256 || p.ShardProbes[scanner.MaxShards-1] != 256 {
		t.Errorf("%d shard totals, first %d", len(p.ShardProbes), p.ShardProbes[0])
	}
	// Not a timing assertion: a log line for the reader of -v.
	t.Logf("%d shards planned in %s, %d KiB allocated", p.Shards, time.Since(start), (after.TotalAlloc-before.TotalAlloc)>>10)
}

// TestUniformFailureWarns: a run whose every HTTP probe failed alike (here: open ports that
// do not speak HTTP) says so in a warning; a run with answers does not.
func TestUniformFailureWarns(t *testing.T) {
	port := freePort(t)
	for i := 1; i <= 4; i++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.2.%d:%d", i, port))
		if err != nil {
			t.Skipf("cannot listen: %v", err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
				c.Close()
			}
		}()
	}
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	defer slog.SetDefault(prev)

	ctx := context.Background()
	dir := t.TempDir()
	c, err := Open(ctx, filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := int64(1)
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.2.0/29"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
		Scope: "127.0.0.0/8", Rate: 5000, Method: "connect", Timeout: time.Second, HTTPTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := c.Start(ctx, p, RunInfo{ToolVersion: "test", Method: "connect"}, nil, Local(0))
	if err != nil {
		t.Fatal(err)
	}
	st := &Stats{}
	if err := c.Work(ctx, WorkerConfig{Queue: LocalQueue(run.ID, 0), Run: run.ID, Spool: filepath.Join(dir, "spool"),
		PollInterval: 50 * time.Millisecond, Stats: st}); err != nil {
		t.Fatal(err)
	}
	o, n, ok := st.UniformFailure()
	if !ok || o != observation.NotHTTP || n != 4 {
		t.Errorf("UniformFailure = %s, %d, %v; want not-http, 4, true", o, n, ok)
	}
	if !strings.Contains(logs.String(), "every HTTP probe failed the same way") || !strings.Contains(logs.String(), "outcome=not-http") {
		t.Errorf("no warning in the log:\n%s", logs.String())
	}
	// The run carries the warning, where its report shows it.
	if runs, err := c.Store().Runs(ctx); err != nil || len(runs) != 1 || !strings.Contains(runs[0].Warning, "every HTTP probe failed the same way (not-http, 4 hosts)") {
		t.Errorf("the run's warning: %v, %v", runs, err)
	}

	// One answer among the failures: not uniform.
	st = &Stats{}
	for _, o := range []observation.Outcome{observation.NotHTTP, observation.NotHTTP, observation.NotHTTP, observation.NotOpenClaw, observation.Unprobed} {
		st.countOutcome(o)
	}
	if _, _, ok := st.UniformFailure(); ok {
		t.Error("a run with an HTTP answer counted as uniformly failed")
	}
	st = &Stats{}
	for _, o := range []observation.Outcome{observation.Refused, observation.Refused, observation.Middlebox} {
		st.countOutcome(o)
	}
	if _, _, ok := st.UniformFailure(); ok {
		t.Error("two failures made a uniform failure: too few to say")
	}
}

// FuzzCheckText: text CheckText accepts reaches a terminal as written: the one neutraliser
// (textsafe.Clean) changes nothing but runs of spaces.
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"", "ticket 42", "a\rb", "x\u202ey", "Zoë  two", "\xff", "\u0085", "a\u2028b", "\ufffd", "\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckText("value", s, 0) != nil {
			return
		}
		if got, want := textsafe.Clean(s, 0), strings.Join(strings.Fields(s), " "); got != want {
			t.Fatalf("%q accepted, but the terminal would show %q, not %q", s, got, want)
		}
	})
}
