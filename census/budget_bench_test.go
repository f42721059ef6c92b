package census

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
	"github.com/clawcensus/clawcensus/store/storetest"
)

// The census benchmarks count probes where the scanner sends them: the sweepers' own counters
// (probes and control probes), sampled every sampleEvery. A window's count is bounded from
// above (the sample at or before its start, the one at or after its end), so a reported
// maximum over 5 s windows is never below the true one.

const sampleEvery = 10 * time.Millisecond

type sample struct {
	at time.Time
	n  uint64
}

// sweepers counts what the sweepers of in-process workers send.
type sweepers struct {
	mu  sync.Mutex
	all []*scanner.Sweeper
}

func (s *sweepers) add(sw *scanner.Sweeper) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, sw)
}

func (s *sweepers) sent() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, sw := range s.all {
		st := sw.Stats()
		n += st.Sent + st.Controls
	}
	return n
}

// sampleUntil records count() every sampleEvery until done is closed.
func sampleUntil(count func() uint64, done <-chan struct{}) []sample {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	out := []sample{{time.Now(), count()}}
	for {
		select {
		case <-done:
			return append(out, sample{time.Now(), count()})
		case now := <-t.C:
			out = append(out, sample{now, count()})
		}
	}
}

// below is the last sample of s at or before t (0 before the first); above, the first at or
// after t (the last one after the end).
func below(s []sample, t time.Time) uint64 {
	i, _ := slices.BinarySearchFunc(s, t, func(x sample, t time.Time) int { return x.at.Compare(t) })
	if i < len(s) && s[i].at.Equal(t) {
		return s[i].n
	}
	if i == 0 {
		return 0
	}
	return s[i-1].n
}

func above(s []sample, t time.Time) uint64 {
	i, _ := slices.BinarySearchFunc(s, t, func(x sample, t time.Time) int { return x.at.Compare(t) })
	if i == len(s) {
		return s[len(s)-1].n
	}
	return s[i].n
}

// sendRates returns, for the sum of several counters' series (one per worker), the most
// probes per second in any window of w (an upper bound); the mean rate from the first probe to
// the last (from the last sample before any was sent to the first that shows every one sent);
// and the steady rate, while every worker sends: from the last worker's first probe to the
// first worker's last.
func sendRates(series [][]sample, w time.Duration) (maxRate, mean, steady float64) {
	var first, last, allIn, firstOut time.Time
	var total uint64
	var sending [][]sample
	for _, s := range series {
		if len(s) == 0 || s[len(s)-1].n == 0 {
			continue
		}
		sending = append(sending, s)
		end := s[len(s)-1].n
		total += end
		start := s[max(slices.IndexFunc(s, func(x sample) bool { return x.n > 0 })-1, 0)].at
		stop := s[slices.IndexFunc(s, func(x sample) bool { return x.n == end })].at
		if first.IsZero() || start.Before(first) {
			first = start
		}
		if start.After(allIn) {
			allIn = start
		}
		if stop.After(last) {
			last = stop
		}
		if firstOut.IsZero() || stop.Before(firstOut) {
			firstOut = stop
		}
	}
	if total == 0 || !last.After(first) {
		return 0, 0, 0
	}
	count := func(from, to time.Time) (n uint64) {
		for _, s := range sending {
			n += above(s, to) - below(s, from)
		}
		return n
	}
	for t := first; t.Before(last); t = t.Add(sampleEvery) {
		maxRate = max(maxRate, float64(count(t, t.Add(w)))/w.Seconds())
	}
	if firstOut.After(allIn) {
		// A lower bound: the counts inside the interval.
		var n uint64
		for _, s := range sending {
			n += below(s, firstOut) - above(s, allIn)
		}
		steady = float64(n) / firstOut.Sub(allIn).Seconds()
	}
	return maxRate, float64(total) / last.Sub(first).Seconds(), steady
}

// storedSet counts a run's stored observations per ip:port.
func storedSet(ctx context.Context, st store.Store, run int64) (map[string]int, error) {
	obs, err := st.Observations(ctx, run)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, o := range obs {
		out[fmt.Sprintf("%s:%d", o.IP, o.Port)]++
	}
	return out, nil
}

// benchDSN names a fresh store for a benchmark: Postgres where TEST_DATABASE_URL names a
// server, SQLite otherwise.
func benchDSN(b *testing.B) string {
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return storetest.Postgres(b)
	}
	return storetest.SQLite(b)
}

// BenchmarkRateBudget: a plan at 3,000 probes per second swept by 1, 2 and 4 workers at once
// (in this process, each with its own store handle and River client, as processes would have),
// CONNECT probes to closed loopback ports (each answered by a RST at once). It reports the
// aggregate rate while every worker sends (steady), from the first probe to the last (mean,
// with the workers' start and the run's tail), and the most in any 5 s window, each as a
// fraction of the plan's rate: one budget for all, never the rate per worker.
//
//	go test -run '^$' -bench RateBudget -benchtime 1x ./census/
func BenchmarkRateBudget(b *testing.B) {
	const rate = 3000
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for range b.N {
				ctx := context.Background()
				dsn := benchDSN(b)
				c, err := Open(ctx, dsn)
				if err != nil {
					b.Fatal(err)
				}
				seed := int64(1)
				p, err := NewPlan(PlanConfig{Targets: []string{"127.16.0.0/17"}, Ports: []uint16{9}, Seed: &seed, Lab: true,
					Scope: "127.0.0.0/8", Rate: rate, Method: "connect", Timeout: time.Second, UnitSize: 2048})
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.Start(ctx, p, RunInfo{}, nil, Shared); err != nil {
					b.Fatal(err)
				}
				done := make(chan struct{})
				var wg, sampling sync.WaitGroup
				series := make([][]sample, workers)
				for i := range workers {
					sws := &sweepers{}
					sampling.Add(1)
					go func() { defer sampling.Done(); series[i] = sampleUntil(sws.sent, done) }()
					wg.Add(1)
					go func() {
						defer wg.Done()
						wc, err := Open(ctx, dsn)
						if err != nil {
							b.Error(err)
							return
						}
						defer wc.Close()
						if err := wc.Work(ctx, WorkerConfig{ID: fmt.Sprintf("w%d", i), Queue: QueueShared,
							Spool: filepath.Join(b.TempDir(), "spool"), onSweeper: sws.add}); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				close(done)
				sampling.Wait()
				c.Close()
				max5, mean, steady := sendRates(series, 5*time.Second)
				var sent uint64
				for _, s := range series {
					sent += s[len(s)-1].n
				}
				if sent < p.Probes {
					b.Fatalf("%d probes sent of %d", sent, p.Probes)
				}
				b.ReportMetric(steady/rate, "steady/plan")
				b.ReportMetric(mean/rate, "mean/plan")
				b.ReportMetric(max5/rate, "max5s/plan")
			}
		})
	}
}

// The acceptance benchmark's workers are processes: this test binary started again with
// benchWorkerEnv naming the store. A worker works with default settings and prints its
// sweepers' counters every sampleEvery ("S unix-ns count"), until it has no unit left.
const benchWorkerEnv = "CLAWCENSUS_BENCH_WORKER"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(benchWorkerEnv); dsn != "" {
		os.Exit(benchWorker(dsn, os.Getenv(benchWorkerEnv+"_ID")))
	}
	os.Exit(m.Run())
}

func benchWorker(dsn, id string) int {
	ctx := context.Background()
	c, err := Open(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	sws := &sweepers{}
	done := make(chan struct{})
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		w := bufio.NewWriter(os.Stdout)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintf(w, "S %d %d\n", time.Now().UnixNano(), sws.sent())
				w.Flush()
				return
			case now := <-t.C:
				fmt.Fprintf(w, "S %d %d\n", now.UnixNano(), sws.sent())
				w.Flush()
			}
		}
	}()
	err = c.Work(ctx, WorkerConfig{ID: id, Queue: QueueShared, Spool: filepath.Join(os.TempDir(), "clawcensus-bench-spool-"+id),
		onSweeper: sws.add})
	close(done)
	<-printed
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// benchLab serves a plain HTTP page on port of 2,000 loopback addresses, 127.0.8.1 onwards,
// and returns their ip:port set.
func benchLab(b *testing.B, port int) map[string]bool {
	b.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx")
		fmt.Fprint(w, "<html><title>Welcome to nginx!</title></html>")
	}), ReadHeaderTimeout: 5 * time.Second}
	b.Cleanup(func() { srv.Close() })
	want := map[string]bool{}
	for i := 1; i <= 2000; i++ {
		addr := fmt.Sprintf("127.0.%d.%d:%d", 8+i/256, i%256, port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			b.Fatalf("listener %d: %v", i, err)
		}
		go srv.Serve(ln)
		want[addr] = true
	}
	return want
}

// BenchmarkKilledWorker is the census's acceptance on a lab of 2,000 listeners (127.0.8.0/21)
// and 16,384 closed loopback addresses, one plan at 500 probes per second in 24 units, three
// worker processes with default settings (heartbeat timeout 60 s, TTL 15 s, poll 1 s); the
// first is killed with SIGKILL mid-unit, once it has sent 200 probes. It reports the seconds
// from the kill until its units are handed over, until one is in work again, and until the
// run is complete; and the most the three sent in any 5 s window, as a fraction of the plan's
// rate. It fails unless the run holds exactly the listeners, once
// each, and counts every probe and open port once.
//
//	go test -run '^$' -bench KilledWorker -benchtime 1x ./census/
func BenchmarkKilledWorker(b *testing.B) {
	const rate = 500
	for range b.N {
		ctx := context.Background()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		want := benchLab(b, port)
		dsn := benchDSN(b)
		c, err := Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		seed := int64(17)
		p, err := NewPlan(PlanConfig{Targets: []string{"127.0.8.0/21", "127.1.0.0/18"}, Ports: []uint16{uint16(port)}, Seed: &seed,
			Lab: true, Scope: "127.0.0.0/8", Rate: rate, Method: "connect", Timeout: time.Second, UnitSize: 768})
		if err != nil {
			b.Fatal(err)
		}
		run, units, err := c.Start(ctx, p, RunInfo{}, nil, Shared)
		if err != nil {
			b.Fatal(err)
		}
		type child struct {
			cmd    *exec.Cmd
			series []sample
			log    strings.Builder
			read   chan struct{}
			mu     sync.Mutex
		}
		children := make([]*child, 3)
		for i := range children {
			ch := &child{read: make(chan struct{})}
			ch.cmd = exec.Command(os.Args[0], "-test.run=^$")
			ch.cmd.Env = append(os.Environ(), benchWorkerEnv+"="+dsn, fmt.Sprintf("%s_ID=w%d", benchWorkerEnv, i))
			ch.cmd.Stderr = &ch.log
			out, err := ch.cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := ch.cmd.Start(); err != nil {
				b.Fatal(err)
			}
			go func() {
				defer close(ch.read)
				readSamples(out, func(s sample) {
					ch.mu.Lock()
					ch.series = append(ch.series, s)
					ch.mu.Unlock()
				})
			}()
			children[i] = ch
		}
		sentBy := func(ch *child) uint64 {
			ch.mu.Lock()
			defer ch.mu.Unlock()
			if len(ch.series) == 0 {
				return 0
			}
			return ch.series[len(ch.series)-1].n
		}
		deadline := time.Now().Add(2 * time.Minute)
		for sentBy(children[0]) < 200 {
			if time.Now().After(deadline) {
				b.Fatalf("worker 0 sent nothing\n%s", children[0].log.String())
			}
			time.Sleep(sampleEvery)
		}
		children[0].cmd.Process.Kill()
		killed := time.Now()
		children[0].cmd.Wait()
		var handedOver, inWork, complete time.Time
		for complete.IsZero() {
			if time.Now().After(killed.Add(3 * time.Minute)) {
				b.Fatalf("the run did not complete within 3 minutes of the kill\n%s\n%s", children[1].log.String(), children[2].log.String())
			}
			time.Sleep(100 * time.Millisecond)
			jobs, err := c.q.running(ctx, QueueShared)
			if err != nil {
				continue
			}
			held := slices.ContainsFunc(jobs, func(j heldJob) bool { return j.Holder == "w0" })
			if !held && handedOver.IsZero() {
				handedOver = time.Now()
			}
			if inWork.IsZero() && slices.ContainsFunc(jobs, func(j heldJob) bool { return j.Args.Handovers > 0 }) {
				inWork = time.Now()
			}
			if runs, err := c.Store().Runs(ctx); err == nil && runs[0].Status == store.StatusComplete {
				complete = time.Now()
			}
		}
		for i, ch := range children[1:] {
			if err := ch.cmd.Wait(); err != nil {
				b.Fatalf("worker %d: %v\n%s", i+1, err, ch.log.String())
			}
		}
		var series [][]sample
		for _, ch := range children {
			<-ch.read
			series = append(series, ch.series)
		}
		max5, _, _ := sendRates(series, 5*time.Second)

		got, err := storedSet(ctx, c.Store(), run.ID)
		if err != nil {
			b.Fatal(err)
		}
		missing, extra := 0, 0
		for k := range want {
			if got[k] != 1 {
				missing++
			}
		}
		for k := range got {
			if !want[k] {
				extra++
			}
		}
		sums, err := c.Store().Summaries(ctx)
		if err != nil {
			b.Fatal(err)
		}
		s := sums[0]
		c.Close()
		if missing+extra > 0 || len(got) != len(want) || s.UnitsDone != int64(len(units)) || s.OpenPorts != int64(len(want)) ||
			s.Stored != int64(len(want)) || s.ProbesSent != int64(p.Probes) {
			b.Fatalf("the run: %d stored (%d not once, %d not listening), units %d/%d, open %d, stored %d, probes %d of %d",
				len(got), missing, extra, s.UnitsDone, len(units), s.OpenPorts, s.Stored, s.ProbesSent, p.Probes)
		}
		if inWork.IsZero() {
			inWork = complete // handed over and finished between two looks
		}
		b.ReportMetric(handedOver.Sub(killed).Seconds(), "s-to-handover")
		b.ReportMetric(inWork.Sub(killed).Seconds(), "s-to-in-work")
		b.ReportMetric(complete.Sub(killed).Seconds(), "s-to-complete")
		b.ReportMetric(max5/rate, "max5s/plan")
	}
}

// readSamples reads a bench worker's "S unix-ns count" lines.
func readSamples(r io.Reader, add func(sample)) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var ns int64
		var n uint64
		if _, err := fmt.Sscanf(sc.Text(), "S %d %d", &ns, &n); err == nil {
			add(sample{time.Unix(0, ns), n})
		}
	}
}
