package census

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clawcensus/clawcensus/store"
)

// listeners serves a plain HTTP page on port of 127.0.1.1 … 127.0.1.n, and returns the
// expected ip:port set.
func listeners(t *testing.T, n int, port int) map[string]bool {
	t.Helper()
	want := map[string]bool{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx")
		fmt.Fprint(w, "<html><title>Welcome to nginx!</title></html>")
	}), ReadHeaderTimeout: 5 * time.Second}
	for i := 1; i <= n; i++ {
		addr := fmt.Sprintf("127.0.1.%d:%d", i, port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot listen on %s: %v", addr, err)
		}
		go srv.Serve(ln)
		want[addr] = true
	}
	t.Cleanup(func() { srv.Close() })
	return want
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// backends names a fresh store of each backend: a SQLite file, and (with TEST_DATABASE_URL,
// as make test sets it) a database of its own on the throwaway Postgres.
func backends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "c.db") },
		"postgres": func(t *testing.T) string {
			base := os.Getenv("TEST_DATABASE_URL")
			if base == "" {
				t.Skip("TEST_DATABASE_URL is not set: run `make test`, which starts a throwaway PostgreSQL")
			}
			return freshPostgres(t, base)
		},
	}
}

func freshPostgres(t *testing.T, base string) string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("census_test_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err == nil {
			conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func TestLocalRun(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) { testLocalRun(t, dsn(t)) })
	}
}

func testLocalRun(t *testing.T, dsn string) {
	ctx := context.Background()
	port := freePort(t)
	want := listeners(t, 40, port)
	dir := t.TempDir()
	c, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := int64(7)
	p, err := NewPlan(Config{Targets: []string{"127.0.1.0/24"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true,
		Scope: "127.0.0.0/8", Rate: 5000, Method: "connect", UnitSize: 32, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if p.UnitsTotal() != 8 {
		t.Fatalf("%d units, want 8", p.UnitsTotal())
	}
	run, units, err := c.Start(ctx, p, RunInfo{ToolVersion: "test", Method: "connect"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := LocalQueue(run.ID, 0)
	if err := c.q.enqueue(ctx, run.ID, units, q); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int{}
	err = c.Work(ctx, WorkerConfig{Queue: q, Run: run.ID, Spool: filepath.Join(dir, "spool"), PollInterval: 50 * time.Millisecond,
		Emit: func(o store.Observation) {
			mu.Lock()
			got[fmt.Sprintf("%s:%d", o.IP, o.Port)]++
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("emitted %d host:ports, want %d", len(got), len(want))
	}
	sums, err := c.Store().Summaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := sums[0]
	if s.Status != store.StatusComplete || s.UnitsDone != 8 || s.OpenPorts != int64(len(want)) || s.ProbesSent < 256 {
		t.Errorf("run: status %s, units %d/%d, open %d, sent %d", s.Status, s.UnitsDone, s.UnitsTotal, s.OpenPorts, s.ProbesSent)
	}
	obs, err := c.Store().Observations(ctx, run.ID)
	if err != nil || len(obs) != len(want) {
		t.Fatalf("%d observations stored, want %d (%v)", len(obs), len(want), err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "spool")); len(entries) != 0 {
		t.Errorf("spool left behind: %v", entries)
	}
}
