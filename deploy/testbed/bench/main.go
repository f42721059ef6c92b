// Command bench runs the side-by-side sweep benchmark on the namespace testbed
// (deploy/testbed/testbed.sh): clawcensus's SYN engine alone and the whole clawcensus scan,
// zmap, masscan and the naabu CLI, interleaved, with GSO/TSO on and off and 0% and 1% loss; then
// the HTTP stage, clawcensus against the httpx CLI, on a clean and a 30% hostile mix. It writes
// the raw results as JSON and docs/benchmarks.md (medians and ranges, ratios to zmap).
//
//	go build -o /tmp/bench ./deploy/testbed/bench && /tmp/bench -reps 2     # as root, from the repo
//
// `bench sweep …` is the engine alone, run inside the scanner namespace by the benchmark.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clawcensus/clawcensus/scanner"
)

const (
	block    = "198.18.0.0/16"
	port     = "18789"
	cooldown = 2 * time.Second
	prefix   = "tb"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "count" {
		if err := count(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "bench count:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "sweep" {
		if err := sweep(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench sweep:", err)
			os.Exit(1)
		}
		return
	}
	reps := flag.Int("reps", 2, "repetitions of each cell")
	out := flag.String("out", "docs/benchmarks.md", "the report")
	raw := flag.String("json", "docs/benchmarks.json", "the raw results")
	tools := flag.String("tools", "clawcensus-engine,clawcensus-engine-retry2,clawcensus-scan,zmap,zmap-P3,masscan,naabu", "sweepers to run")
	httpStage := flag.Bool("http", true, "also run the HTTP stage (clawcensus vs httpx)")
	internet := flag.Bool("internet", true, "also run the Internet-like population (silent, slow, reset, every-port hosts)")
	growth := flag.Bool("growth", true, "also measure how the whole scan grows with open hosts and the share of silent ones")
	sparse := flag.Bool("sparse", true, "also sweep with 1 in 1,000 addresses open (the whole scan against zmap and the engine)")
	cells := flag.String("growth-cells", "", "only these growth rows, OPEN:SILENT[,…] (default: every row of the table)")
	variants := flag.String("scan-variants", "", "more rows in the 1-in-1,000 table: the whole scan again with other settings, "+
		"'LABEL:K=V[ K=V…][;LABEL:…]', each K=V an environment variable of the scan, BIN=PATH another clawcensus binary")
	from := flag.String("from-json", "", "run nothing: write the report from these raw results files (comma-separated), later files' rows after earlier ones'")
	flag.Parse()
	if *from != "" {
		if err := render(strings.Split(*from, ","), *out, *raw); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *cells != "" {
		growthCells = nil
		for _, c := range strings.Split(*cells, ",") {
			var open, silent int
			if _, err := fmt.Sscanf(c, "%d:%d", &open, &silent); err != nil || open <= 0 || silent < 0 || silent > open-10 {
				fmt.Fprintf(os.Stderr, "bench: -growth-cells %q: want OPEN:SILENT with SILENT at most OPEN-10\n", c)
				os.Exit(2)
			}
			growthCells = append(growthCells, struct{ open, silent int }{open, silent})
		}
	}
	vs, err := parseVariants(*variants)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(*reps, strings.Split(*tools, ","), *httpStage, *internet, *growth, *sparse, vs, *out, *raw); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// sweep is the engine alone: a SYN sweep of the block, open host:ports on stdout.
func sweep(args []string) error {
	fs := flag.NewFlagSet("sweep", flag.ExitOnError)
	rate := fs.Int("rate", 10_000_000, "probes per second")
	retries := fs.Int("retries", 0, "retry passes")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the sweep to this file")
	fs.Parse(args)
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	scope, err := scanner.ParseScope(block)
	if err != nil {
		return err
	}
	sw, err := scanner.New(scanner.Config{Rate: *rate, Method: scanner.MethodSYN, Retries: *retries, Timeout: cooldown,
		Blocklist: scanner.NewBlocklist(true), Scope: scope})
	if err != nil {
		return err
	}
	defer sw.Close()
	p, _ := strconv.Atoi(port)
	plan := &scanner.Plan{Specs: []string{block}, Blocklist: scanner.NewBlocklist(true), Ports: []uint16{uint16(p)}, Seed: time.Now().UnixNano()}
	open := make(chan scanner.Open, 4096)
	errc := make(chan error, 1)
	t1 := time.Now()
	var sweepTime time.Duration
	go func() {
		err := sw.Sweep(context.Background(), plan, open)
		sweepTime = time.Since(t1)
		errc <- err
		close(open)
	}()
	w := bufio.NewWriter(os.Stdout)
	for o := range open {
		fmt.Fprintln(w, o.AddrPort)
	}
	w.Flush()
	st := sw.Stats()
	err = <-errc
	fmt.Fprintf(os.Stderr, "engine: sent %d retried %d open %d closed %d invalid %d dropped %d; setup %s, sweep %s (incl. %s wait per pass)\n",
		st.Sent, st.Retried, st.Open, st.Closed, st.Invalid, st.Dropped, t1.Sub(t0).Round(time.Millisecond), sweepTime.Round(time.Millisecond), cooldown)
	return err
}

// Result is one run of one tool in one cell.
type Result struct {
	Stage   string  `json:"stage"` // sweep or http
	Tool    string  `json:"tool"`
	GSO     string  `json:"gso"`
	LossPct float64 `json:"loss_pct"`
	Mix     string  `json:"mix,omitempty"`
	Rep     int     `json:"rep"`
	// Batch tells runs joined by -from-json apart: repetition 1 of one file is not that of another.
	Batch     int     `json:"batch,omitempty"`
	Probes    int     `json:"probes,omitempty"`
	Found     int     `json:"found"`
	Truth     int     `json:"truth"`
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
	WallS     float64 `json:"wall_s"`
	PPS       float64 `json:"pps,omitempty"`
	// SendPPS is the rate of the first 65,536 packets out of the scanner's interface, by its
	// packet counter (sampled every millisecond): what a network sees, whatever else the
	// process does before and after.
	SendPPS   float64 `json:"send_pps,omitempty"`
	HostsPerS float64 `json:"hosts_per_s,omitempty"`
	CPUS      float64 `json:"cpu_s"`
	CPUPerM   float64 `json:"cpu_s_per_million_probes,omitempty"`
	RSSMiB    float64 `json:"peak_rss_mib"`
	Error     string  `json:"error,omitempty"`
	// Internet-like population: hosts in the run, middleboxes stored, open ports found and
	// stored (the whole scan).
	Hosts       int   `json:"hosts,omitempty"`
	Middleboxes int64 `json:"middleboxes,omitempty"`
	Open        int64 `json:"open_ports,omitempty"`
	Silent      int   `json:"silent,omitempty"`
	Stored      int64 `json:"stored,omitempty"`
	AnswersLost int64 `json:"answers_lost,omitempty"`
}

type testbed struct{ script, iface, mac, truth string }

func (t testbed) do(args ...string) error {
	out, err := exec.Command(t.script, append(args[:1:1], append([]string{"-p", prefix}, args[1:]...)...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testbed %v: %v\n%s", args, err, out)
	}
	return nil
}

// render writes the report and the raw results from earlier runs' raw results: a stage
// measured again (say, with a fixed build) replaces nothing by itself; pick the rows with jq.
func render(files []string, out, raw string) error {
	var results []Result
	for fi, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var rs []Result
		if err := json.Unmarshal(b, &rs); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for i := range rs {
			if rs[i].Batch == 0 { // a file of one run: its repetitions are its own
				rs[i].Batch = fi + 1
			}
		}
		results = append(results, rs...)
	}
	b, _ := json.MarshalIndent(results, "", "  ")
	if err := os.WriteFile(raw, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(markdown(results)), 0o644)
}

// up brings a new testbed up (taking any old one down) and reads its interface, the peer's
// MAC (a new veth has a new one: zmap and masscan address their frames to it) and the truth.
func (t *testbed) up(args ...string) error {
	t.do("down")
	if err := t.do(append([]string{"up"}, args...)...); err != nil {
		return err
	}
	info, err := exec.Command(t.script, "info", "-p", prefix).Output()
	if err != nil {
		return err
	}
	for _, f := range strings.Fields(string(info)) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "interface":
			t.iface = v
		case "gateway_mac":
			t.mac = v
		case "truth":
			t.truth = v
		}
	}
	return nil
}

func run(reps int, tools []string, httpStage, internet, growth, sparse bool, variants []scanVariant, out, raw string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (network namespaces, raw sockets)")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tb := testbed{script: "deploy/testbed/testbed.sh"}
	if _, err := os.Stat(tb.script); err != nil {
		return fmt.Errorf("run from the repository's root: %w", err)
	}
	if err := tb.up("-n", "1000", "-seed", "7", "-gateways", "20"); err != nil {
		return err
	}
	defer tb.do("down")
	truth, err := readTruth(tb.truth)
	if err != nil {
		return err
	}
	bin := filepath.Join(os.TempDir(), "clawcensus-bench")
	// Built as make build builds it: static, no cgo.
	build := exec.Command("go", "build", "-o", bin, "./cmd/clawcensus")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build clawcensus: %v\n%s", err, out)
	}
	var results []Result
	for _, gso := range []string{"on", "off"} {
		if err := tb.do("offload", gso); err != nil {
			return err
		}
		for _, loss := range []float64{0, 1} {
			if err := tb.do("loss", strconv.FormatFloat(loss, 'f', -1, 64)); err != nil {
				return err
			}
			for rep := 1; rep <= reps; rep++ {
				for _, tool := range tools { // interleaved: every tool once per repetition
					if tool == "" {
						continue
					}
					if !available(tool) {
						fmt.Fprintf(os.Stderr, "%s is not installed (deploy/testbed/tools.sh): left out\n", tool)
						continue
					}
					r := sweepRun(tb, tool, self, bin, truth, scanVariant{})
					r.GSO, r.LossPct, r.Rep = gso, loss, rep
					fmt.Fprintf(os.Stderr, "sweep %-18s gso=%-3s loss=%g%% rep %d: recall %.3f, %.0f pps, %.2f CPU-s, %.0f MiB %s\n",
						tool, gso, loss, rep, r.Recall, r.PPS, r.CPUS, r.RSSMiB, r.Error)
					results = append(results, r)
				}
			}
		}
	}
	tb.do("loss", "0")
	tb.do("offload", "on")
	if sparse {
		sr, err := sparseRuns(&tb, self, bin, reps, variants)
		if err != nil {
			return err
		}
		results = append(results, sr...)
	}
	if httpStage {
		hr, err := httpRuns(&tb, bin, reps)
		if err != nil {
			return err
		}
		results = append(results, hr...)
	}
	if internet {
		ir, err := internetRuns(&tb, bin, reps)
		if err != nil {
			return err
		}
		results = append(results, ir...)
	}
	if growth {
		gr, err := growthRuns(&tb, bin)
		if err != nil {
			return err
		}
		results = append(results, gr...)
	}
	b, _ := json.MarshalIndent(results, "", "  ")
	if err := os.WriteFile(raw, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(out, []byte(markdown(results)), 0o644)
}

// toolDir holds the naabu, httpx and zgrab2 CLIs (deploy/testbed/tools.sh): $BENCH_TOOLS, or bin/bench-tools.
func toolDir() string {
	if d := os.Getenv("BENCH_TOOLS"); d != "" {
		return d
	}
	return "bin/bench-tools"
}

// available reports whether a tool's program is there; a missing one is left out with a note.
func available(tool string) bool {
	prog := map[string]string{"zmap": "zmap", "zmap-P3": "zmap", "masscan": "masscan"}[tool]
	switch tool {
	case "naabu":
		prog = filepath.Join(toolDir(), "naabu")
	case "httpx", "zgrab2":
		prog = filepath.Join(toolDir(), tool)
	}
	if prog == "" {
		return true
	}
	_, err := exec.LookPath(prog)
	return err == nil
}

func readTruth(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		ap, role, _ := strings.Cut(line, "\t")
		if role != "extra" { // another open port of a gateway host, never swept
			m[ap] = role
		}
	}
	return m, nil
}

// measure runs cmd and reads its rusage.
func measure(cmd *exec.Cmd, e *bytes.Buffer) (stdout []byte, wall, cpu, rss float64, err error) {
	var o bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, e
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start).Seconds()
	if cmd.ProcessState != nil {
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		rss = float64(ru.Maxrss) / 1024
	}
	if err != nil {
		err = fmt.Errorf("%v: %s", err, lastLine(e.String()))
	}
	return o.Bytes(), wall, cpu, rss, err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// sweepRun runs one tool once; v, a variant of the whole scan (zero for any other tool).
func sweepRun(tb testbed, tool, self, bin string, truth map[string]string, v scanVariant) Result {
	ns := []string{"ip", "netns", "exec", prefix + "-scan"}
	var argv []string
	outFile := ""
	switch tool {
	case "clawcensus-engine":
		argv = []string{self, "sweep", "-rate", "10000000"}
	case "clawcensus-engine-retry2":
		argv = []string{self, "sweep", "-rate", "10000000", "-retries", "2"}
	case "zmap-P3":
		argv = []string{"zmap", "-p", port, "-r", "0", "-P", "3", "-b", "/dev/null", "-i", tb.iface, "-G", tb.mac, "-S", "198.19.255.1",
			"-c", "2", "-q", "--disable-syslog", "-f", "saddr", "-o", "-", block}
	case "clawcensus-scan":
		argv = append([]string{"env", "CLAWCENSUS_SCOPE=" + block}, v.env...)
		argv = append(argv, cmp.Or(v.bin, bin), "scan", "--lab", "--scan-type", "syn", "--rate", "10000000",
			"--retries", "0", "--timeout", "2s", "--all", "--db", filepath.Join(os.TempDir(), fmt.Sprintf("bench-%d.db", time.Now().UnixNano())), block)
	case "zmap":
		argv = []string{"zmap", "-p", port, "-r", "0", "-b", "/dev/null", "-i", tb.iface, "-G", tb.mac, "-S", "198.19.255.1",
			"-c", "2", "-q", "--disable-syslog", "-f", "saddr", "-o", "-", block}
	case "masscan":
		// masscan keeps "waiting" long after --wait on this link: it is stopped at 6 s (INT, then
		// KILL) and its results read from its file; its rate is its own report.
		outFile = filepath.Join(os.TempDir(), "bench-masscan.txt")
		os.Remove(outFile)
		argv = []string{"timeout", "-s", "INT", "-k", "3", "6", "masscan", "-p" + port, block, "--rate", "10000000", "--adapter", tb.iface,
			"--adapter-ip", "198.19.255.1", "--router-mac", tb.mac, "--wait", "2", "-oL", outFile}
	case "naabu":
		argv = []string{filepath.Join(toolDir(), "naabu"), "-host", block, "-p", port, "-s", "s", "-rate", "1000000", "-retries", "0",
			"-interface", tb.iface, "-silent", "-warm-up-time", "2", "-disable-update-check"}
	default:
		return Result{Stage: "sweep", Tool: tool, Error: "unknown tool"}
	}
	cmd := exec.Command(ns[0], append(ns[1:], argv...)...)
	var stderr bytes.Buffer
	counter, err := countSent(prefix+"-scan", tb.iface)
	if err != nil {
		return Result{Stage: "sweep", Tool: tool, Error: err.Error()}
	}
	out, wall, cpu, rss, err := measure(cmd, &stderr)
	r := Result{Stage: "sweep", Tool: tool, Probes: 65536, WallS: wall, CPUS: cpu, RSSMiB: rss, Truth: len(truth),
		SendPPS: counter.stop(65536)}
	waits := 1.0 // cooldowns inside the wall time
	switch tool {
	case "clawcensus-engine-retry2":
		waits = 3 // each pass waits for late answers; a retry pass resends only unanswered probes
	case "zmap-P3":
		r.Probes = 3 * 65536
	}
	if m := regexp.MustCompile(`engine: sent (\d+)`).FindStringSubmatch(stderr.String()); m != nil {
		r.Probes, _ = strconv.Atoi(m[1])
	}
	if outFile != "" {
		out, _ = os.ReadFile(outFile)
		err = nil // stopped on purpose
	}
	if err != nil {
		r.Error = err.Error()
		return r
	}
	found := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		var ap string
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "{"): // clawcensus JSON Lines
			var rec struct {
				IP   string
				Port int
			}
			if json.Unmarshal([]byte(line), &rec) != nil {
				continue
			}
			ap = fmt.Sprintf("%s:%d", rec.IP, rec.Port)
		case strings.HasPrefix(line, "open "): // masscan -oL: open tcp PORT IP TS
			f := strings.Fields(line)
			if len(f) < 4 {
				continue
			}
			ap = f[3] + ":" + f[2]
		case strings.Contains(line, ":"): // ip:port
			ap = line
		default: // zmap saddr
			ap = line + ":" + port
		}
		found[ap] = true
	}
	hit := 0
	for ap := range found {
		if _, ok := truth[ap]; ok {
			hit++
		}
	}
	r.Found = len(found)
	r.Recall = float64(hit) / float64(len(truth))
	if len(found) > 0 {
		r.Precision = float64(hit) / float64(len(found))
	}
	if send := wall - waits*cooldown.Seconds(); send > 0 {
		r.PPS = float64(r.Probes) / send
	}
	if tool == "masscan" {
		r.PPS = 0
		for _, m := range regexp.MustCompile(`rate: *([0-9.]+)-kpps`).FindAllStringSubmatch(stderr.String(), -1) {
			if v, err := strconv.ParseFloat(m[1], 64); err == nil {
				r.PPS = max(r.PPS, v*1000)
			}
		}
	}
	r.CPUPerM = cpu / float64(r.Probes) * 1e6
	return r
}

// httpRuns fingerprints the testbed's open hosts from a candidate list: clawcensus's HTTP
// stage against the httpx CLI, on the clean population and on one with 30% hostile hosts.
func httpRuns(tb *testbed, bin string, reps int) ([]Result, error) {
	var results []Result
	for _, mix := range []struct {
		name    string
		hostile string
	}{{"clean", "0"}, {"30% hostile", "300"}} {
		if err := tb.up("-n", "1000", "-seed", "7", "-gateways", "20", "-hostile", mix.hostile); err != nil {
			return nil, err
		}
		truth, err := readTruth(tb.truth)
		if err != nil {
			return nil, err
		}
		list := filepath.Join(os.TempDir(), "bench-hosts.txt")
		var keys []string
		for ap := range truth {
			keys = append(keys, ap)
		}
		slices.Sort(keys)
		os.WriteFile(list, []byte(strings.Join(keys, "\n")+"\n"), 0o644)
		for rep := 1; rep <= reps; rep++ {
			for _, tool := range []string{"clawcensus", "httpx", "zgrab2"} {
				if !available(tool) {
					continue
				}
				argv := peerArgv(tool, list, 64)
				if tool == "clawcensus" {
					argv = []string{"env", "CLAWCENSUS_SCOPE=" + block, bin, "scan", "--lab", "--candidates", list, "--concurrency", "64",
						"--http-timeout", "3s", "--db", filepath.Join(os.TempDir(), fmt.Sprintf("bench-http-%d.db", time.Now().UnixNano()))}
				}
				out, wall, cpu, rss, err := measure(exec.Command("ip", append([]string{"netns", "exec", prefix + "-scan"}, argv...)...), &bytes.Buffer{})
				r := Result{Stage: "http", Tool: tool, Mix: mix.name, Rep: rep, WallS: wall, CPUS: cpu, RSSMiB: rss, Truth: 20, GSO: "on"}
				if err != nil {
					r.Error = err.Error()
				}
				found := peerFound(out)
				if tool == "clawcensus" {
					found = gatewaysIn(out)
				}
				r.Found = found
				r.Recall = float64(found) / 20
				r.HostsPerS = float64(len(truth)) / wall
				fmt.Fprintf(os.Stderr, "http  %-10s %-12s rep %d: %d/20 gateways, %.0f hosts/s, %.2f CPU-s, %.0f MiB %s\n",
					tool, mix.name, rep, found, r.HostsPerS, cpu, rss, r.Error)
				results = append(results, r)
			}
		}
	}
	return results, nil
}

// sparseRuns sweeps the block with 65 of its 65,536 addresses open (1 in 1,000, GSO/TSO on, no
// loss): the whole clawcensus scan, the engine alone and zmap, interleaved, their send rates by
// the packet counter.
func sparseRuns(tb *testbed, self, bin string, reps int, variants []scanVariant) ([]Result, error) {
	if err := tb.up("-n", "65", "-seed", "13", "-gateways", "5"); err != nil {
		return nil, err
	}
	truth, err := readTruth(tb.truth)
	if err != nil {
		return nil, err
	}
	type entry struct {
		row, tool string // the table's row, the tool run
		v         scanVariant
	}
	entries := []entry{{"clawcensus-scan", "clawcensus-scan", scanVariant{}}}
	for _, v := range variants {
		entries = append(entries, entry{"clawcensus-scan+" + v.label, "clawcensus-scan", v})
	}
	entries = append(entries, entry{"clawcensus-engine", "clawcensus-engine", scanVariant{}}, entry{"zmap", "zmap", scanVariant{}})
	var results []Result
	for rep := 1; rep <= max(reps, 5); rep++ { // five at least: runs of one cell differ by up to ±20% here
		for _, e := range entries {
			if !available(e.tool) {
				continue
			}
			r := sweepRun(*tb, e.tool, self, bin, truth, e.v)
			r.Tool = e.row
			r.Stage, r.Mix, r.GSO, r.Rep = "sparse", "1 in 1,000 open", "on", rep
			fmt.Fprintf(os.Stderr, "sparse %-18s rep %d: recall %.3f, send %.0f pps (counter), %.2f CPU-s %s\n", e.row, rep, r.Recall, r.SendPPS, r.CPUS, r.Error)
			results = append(results, r)
		}
	}
	return results, nil
}

// scanVariant is one of the -scan-variants: the whole scan again, with other environment
// variables (GOMAXPROCS, GOGC, …) or another binary, as one more row of the 1-in-1,000 table.
type scanVariant struct {
	label string
	env   []string
	bin   string
}

func parseVariants(spec string) ([]scanVariant, error) {
	var vs []scanVariant
	for _, v := range strings.Split(spec, ";") {
		if strings.TrimSpace(v) == "" {
			continue
		}
		label, kvs, ok := strings.Cut(strings.TrimSpace(v), ":")
		if !ok || label == "" || strings.ContainsAny(label, "+| \t`") {
			return nil, fmt.Errorf("-scan-variants %q: want LABEL:K=V[ K=V…], a label without spaces, +, | or `", v)
		}
		sv := scanVariant{label: label}
		for _, o := range vs {
			if o.label == label {
				return nil, fmt.Errorf("-scan-variants: label %q twice", label)
			}
		}
		for _, kv := range strings.Fields(kvs) {
			k, val, ok := strings.Cut(kv, "=")
			switch {
			case !ok || k == "":
				return nil, fmt.Errorf("-scan-variants %q: %q is not K=V", v, kv)
			case k == "BIN":
				sv.bin = val
			default:
				sv.env = append(sv.env, kv)
			}
		}
		vs = append(vs, sv)
	}
	return vs, nil
}

// sparseMarkdown is the 1-in-1,000 table: send rates by the packet counter.
func sparseMarkdown(results []Result) string {
	cells := map[string][]float64{}
	recall := map[string][]float64{}
	type repetition struct{ batch, rep int }
	zmapOf := map[repetition]float64{} // zmap's send rate in each repetition
	var order []string
	for _, r := range results {
		if r.Stage != "sparse" || r.Error != "" {
			continue
		}
		if _, ok := cells[r.Tool]; !ok {
			order = append(order, r.Tool)
		}
		cells[r.Tool] = append(cells[r.Tool], r.SendPPS)
		recall[r.Tool] = append(recall[r.Tool], r.Recall)
		if r.Tool == "zmap" {
			zmapOf[repetition{r.Batch, r.Rep}] = r.SendPPS
		}
	}
	if len(order) == 0 {
		return ""
	}
	// A tool's rate over zmap's in the same repetition (they ran one after the other): the
	// machine's slow and fast spells, which move every tool, cancel out.
	paired := map[string][]float64{}
	for _, r := range results {
		if z := zmapOf[repetition{r.Batch, r.Rep}]; r.Stage == "sparse" && r.Error == "" && z > 0 {
			paired[r.Tool] = append(paired[r.Tool], r.SendPPS/z)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Sweep with 1 in 1,000 addresses open\n\n`testbed.sh up -n 65 -seed 13 -gateways 5`, GSO/TSO on, no loss; tools as in the sweep table, interleaved. Send rate\n")
	fmt.Fprintf(&b, "of the first 65,536 packets by the veth's packet counter; best and median of the runs, and the median and range of each\n")
	fmt.Fprintf(&b, "run's rate over zmap's in the same repetition.\n\n")
	fmt.Fprintf(&b, "| tool | recall | send pps best | × zmap best | send pps median (range) | × zmap median | × zmap, same repetition: median (range) |\n|---|---|---|---|---|---|---|\n")
	ratio := func(v, z float64) string {
		if z <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", v/z)
	}
	zb, zm := 0.0, median(cells["zmap"])
	if len(cells["zmap"]) > 0 {
		zb = slices.Max(cells["zmap"])
	}
	for _, tool := range order {
		v := cells[tool]
		pr := "–"
		if p := paired[tool]; len(p) > 0 {
			pr = fmt.Sprintf("%.2f (%s)", median(p), span(p, "%.2f"))
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %.0f (%s) | %s | %s |\n", tool, span(recall[tool], "%.3f"), slices.Max(v), ratio(slices.Max(v), zb),
			median(v), span(v, "%.0f"), ratio(median(v), zm), pr)
	}
	return b.String()
}

// internetPopulation is the Internet-like mix: of 30,000 open hosts (enough that the rate, not
// the slowest host's 10 s, sets the time), 60% accept and never answer, 10% answer after
// 100-500 ms, 5% reset, 5% are hostile, 1% accept on every port, 20 are real-gateway replays
// (every fifth with another open port), the rest nginx pages.
var internetPopulation = []string{"-n", "30000", "-seed", "11", "-gateways", "20", "-hostile", "1500", "-silent", "18000",
	"-slow", "3000", "-reset", "1500", "-everyport", "300"}

// internetRuns measures the HTTP stage on the Internet-like population (clawcensus with its
// defaults, against the httpx CLI with 1,000 threads and a 3 s timeout, on the list of open
// hosts), and the whole clawcensus scan of the block with its defaults but the rate.
func internetRuns(tb *testbed, bin string, reps int) ([]Result, error) {
	if err := tb.up(internetPopulation...); err != nil {
		return nil, err
	}
	truth, err := readTruth(tb.truth)
	if err != nil {
		return nil, err
	}
	gateways, middleboxes := 0, 0
	var keys []string
	for ap, role := range truth {
		keys = append(keys, ap)
		if strings.HasPrefix(role, "gateway:") {
			gateways++
		}
		if role == "everyport" {
			middleboxes++
		}
	}
	slices.Sort(keys)
	list := filepath.Join(os.TempDir(), "bench-internet-hosts.txt")
	os.WriteFile(list, []byte(strings.Join(keys, "\n")+"\n"), 0o644)
	var results []Result
	for rep := 1; rep <= reps; rep++ {
		for _, tool := range []string{"clawcensus", "httpx", "zgrab2", "clawcensus-scan"} {
			// httpx takes minutes here (the table says how many): once is enough to compare.
			if !available(strings.TrimSuffix(tool, "-scan")) || tool == "httpx" && rep > 1 {
				continue
			}
			db := filepath.Join(os.TempDir(), fmt.Sprintf("bench-internet-%d.db", time.Now().UnixNano()))
			var argv []string
			switch tool {
			case "clawcensus":
				argv = []string{"env", "CLAWCENSUS_SCOPE=" + block, bin, "scan", "--lab", "--candidates", list, "--db", db}
			case "httpx", "zgrab2":
				argv = peerArgv(tool, list, 1000)
			case "clawcensus-scan":
				argv = []string{"env", "CLAWCENSUS_SCOPE=" + block, bin, "scan", "--lab", "--scan-type", "syn", "--rate", "100000",
					"--ports", port, "--db", db, block}
			}
			stdout, wall, cpu, rss, err := measure(exec.Command("ip", append([]string{"netns", "exec", prefix + "-scan"}, argv...)...), &bytes.Buffer{})
			r := Result{Stage: "internet", Tool: tool, Mix: "internet-like", Rep: rep, WallS: wall, CPUS: cpu, RSSMiB: rss,
				Truth: gateways, Hosts: len(truth), GSO: "on"}
			if err != nil {
				r.Error = err.Error()
			}
			if tool == "httpx" || tool == "zgrab2" {
				r.Found = peerFound(stdout)
			} else {
				r.Found = gatewaysIn(stdout)
				runFacts(bin, db, &r)
			}
			r.Recall = float64(r.Found) / float64(gateways)
			r.HostsPerS = float64(len(truth)) / wall
			fmt.Fprintf(os.Stderr, "internet %-16s rep %d: %d/%d gateways, %.0f hosts/s, %.1f s, %.2f CPU-s, %.0f MiB, open %d stored %d lost %d middleboxes %d (of %d) %s\n",
				tool, rep, r.Found, gateways, r.HostsPerS, wall, cpu, rss, r.Open, r.Stored, r.AnswersLost, r.Middleboxes, middleboxes, r.Error)
			results = append(results, r)
		}
	}
	return results, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func span(v []float64, format string) string {
	if len(v) == 0 {
		return "–"
	}
	lo, hi := slices.Min(v), slices.Max(v)
	if fmt.Sprintf(format, lo) == fmt.Sprintf(format, hi) {
		return fmt.Sprintf(format, lo)
	}
	return fmt.Sprintf(format+"–"+format, lo, hi)
}

func markdown(results []Result) string {
	var b strings.Builder
	host, _ := os.Hostname()
	cpu := "unknown CPU"
	if c, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(c), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	fmt.Fprintf(&b, "# Benchmarks: the sweep side by side, and the HTTP stage\n\n")
	fmt.Fprintf(&b, "Run %s on %s: %d cores (%s), Linux %s, Go %s. Produced by `make bench` (as root):\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, runtime.NumCPU(), cpu, strings.TrimSpace(string(kernel)), runtime.Version())
	fmt.Fprintf(&b, "`deploy/testbed/bench` on the namespace testbed of `deploy/testbed/testbed.sh` — %s answered on lo by an AnyIP route,\n", block)
	fmt.Fprintf(&b, "1,000 seeded hosts listening on %s (20 real-gateway replays, the rest nginx pages), every other address answering RST,\n", port)
	fmt.Fprintf(&b, "a veth pair between the scanner and the hosts, no route out. One port, 65,536 probes per run; tools interleaved;\n")
	fmt.Fprintf(&b, "raw results in `docs/benchmarks.json`.\n\n")
	fmt.Fprintf(&b, "- **send pps, counter**: the first 65,536 packets out of the scanner's veth by its packet counter, sampled every\n")
	fmt.Fprintf(&b, "  millisecond: the rate the network sees, whatever the process does before and after (the whole scan's start-up,\n")
	fmt.Fprintf(&b, "  fingerprinting); it includes the scanner host's RSTs to SYN-ACKs and clawcensus's control probes (2 per open host).\n")
	fmt.Fprintf(&b, "- **pps**: probes ÷ (wall time − the 2 s every tool waits for late answers); **CPU/M**: user+system seconds per\n")
	fmt.Fprintf(&b, "  million probes (the whole process: the full `clawcensus scan` also fingerprints every open host); **RSS**: peak.\n")
	fmt.Fprintf(&b, "- Rates: `-r 0` (unlimited) for zmap, 10M/s asked of clawcensus and masscan, 1M/s of naabu; one pass, except\n")
	fmt.Fprintf(&b, "  `clawcensus-engine-retry2` (two retry passes over the probes that drew no answer; its pps counts the 2 s wait of each\n")
	fmt.Fprintf(&b, "  pass out) and `zmap-P3` (three probes per address, zmap's way of retrying).\n")
	fmt.Fprintf(&b, "- masscan keeps waiting long after `--wait 2` on this link, so it is stopped at 6 s and its pps is its own peak report;\n")
	fmt.Fprintf(&b, "  its CPU and wall time include that idle wait. naabu's wait is its `-warm-up-time 2`.\n\n")
	type key struct {
		tool, gso string
		loss      float64
	}
	cells := map[key][]Result{}
	var order []key
	for _, r := range results {
		if r.Stage != "sweep" {
			continue
		}
		k := key{r.Tool, r.GSO, r.LossPct}
		if _, ok := cells[k]; !ok {
			order = append(order, k)
		}
		cells[k] = append(cells[k], r)
	}
	zmapPPS := map[[2]string]float64{}
	zmapCPU := map[[2]string]float64{}
	zmapSend := map[[2]string]float64{}
	for k, rs := range cells {
		if k.tool == "zmap" {
			var pps, cpu, send []float64
			for _, r := range rs {
				pps = append(pps, r.PPS)
				cpu = append(cpu, r.CPUPerM)
				send = append(send, r.SendPPS)
			}
			zmapPPS[[2]string{k.gso, fmt.Sprint(k.loss)}] = median(pps)
			zmapCPU[[2]string{k.gso, fmt.Sprint(k.loss)}] = median(cpu)
			zmapSend[[2]string{k.gso, fmt.Sprint(k.loss)}] = median(send)
		}
	}
	fmt.Fprintf(&b, "## Sweep\n\n| GSO/TSO | loss | tool | recall | precision | pps (median, range) | × zmap pps | send pps, counter | × zmap send | CPU-s per M probes | × zmap CPU | peak RSS MiB | errors |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	slices.SortStableFunc(order, func(a, c key) int {
		return cmp.Or(cmp.Compare(c.gso, a.gso), cmp.Compare(a.loss, c.loss))
	})
	for _, k := range order {
		rs := cells[k]
		var rec, prec, pps, cpu, rss, send []float64
		errs := 0
		for _, r := range rs {
			if r.Error != "" {
				errs++
				continue
			}
			rec, prec, pps, cpu, rss = append(rec, r.Recall), append(prec, r.Precision), append(pps, r.PPS), append(cpu, r.CPUPerM), append(rss, r.RSSMiB)
			send = append(send, r.SendPPS)
		}
		z := [2]string{k.gso, fmt.Sprint(k.loss)}
		ratio, cratio := "–", "–"
		if zmapPPS[z] > 0 && len(pps) > 0 {
			ratio = fmt.Sprintf("%.2f", median(pps)/zmapPPS[z])
		}
		if zmapCPU[z] > 0 && len(cpu) > 0 {
			cratio = fmt.Sprintf("%.2f", median(cpu)/zmapCPU[z])
		}
		sratio := "–"
		if zmapSend[z] > 0 && len(send) > 0 {
			sratio = fmt.Sprintf("%.2f", median(send)/zmapSend[z])
		}
		fmt.Fprintf(&b, "| %s | %g%% | %s | %s | %s | %.0f (%s) | %s | %.0f (%s) | %s | %.1f (%s) | %s | %s | %d |\n", k.gso, k.loss, k.tool,
			span(rec, "%.3f"), span(prec, "%.3f"), median(pps), span(pps, "%.0f"), ratio, median(send), span(send, "%.0f"), sratio,
			median(cpu), span(cpu, "%.1f"), cratio, span(rss, "%.0f"), errs)
	}
	var httpRows []Result
	for _, r := range results {
		if r.Stage == "http" {
			httpRows = append(httpRows, r)
		}
	}
	if len(httpRows) > 0 {
		fmt.Fprintf(&b, "\n## HTTP stage (candidates in, 1,000 hosts, 64 at once, 3 s per host)\n\n")
		fmt.Fprintf(&b, "| mix | tool | gateways found of 20 | hosts/s | CPU-s | peak RSS MiB | errors |\n|---|---|---|---|---|---|---|\n")
		type hk struct{ mix, tool string }
		hc := map[hk][]Result{}
		var ho []hk
		for _, r := range httpRows {
			k := hk{r.Mix, r.Tool}
			if _, ok := hc[k]; !ok {
				ho = append(ho, k)
			}
			hc[k] = append(hc[k], r)
		}
		for _, k := range ho {
			var found, hps, cpu, rss []float64
			errs := 0
			for _, r := range hc[k] {
				if r.Error != "" {
					errs++
				}
				found, hps, cpu, rss = append(found, float64(r.Found)), append(hps, r.HostsPerS), append(cpu, r.CPUS), append(rss, r.RSSMiB)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.0f (%s) | %s | %s | %d |\n", k.mix, k.tool, span(found, "%.0f"), median(hps), span(hps, "%.0f"),
				span(cpu, "%.2f"), span(rss, "%.0f"), errs)
		}
		fmt.Fprintf(&b, "\nhttpx (v1.8.1) and zgrab2 (v0.2.0, `http --senders N --connect-timeout 3s --target-timeout 3s`) identify nothing; a gateway counts for them when\nthe Control UI page came back with 200.\n")
	}
	b.WriteString(sparseMarkdown(results))
	b.WriteString(internetMarkdown(results))
	b.WriteString(growthMarkdown(results))
	return b.String()
}

// internetMarkdown is the Internet-like population's table.
func internetMarkdown(results []Result) string {
	cells := map[string][]Result{}
	var order []string
	for _, r := range results {
		if r.Stage != "internet" {
			continue
		}
		if _, ok := cells[r.Tool]; !ok {
			order = append(order, r.Tool)
		}
		cells[r.Tool] = append(cells[r.Tool], r)
	}
	if len(order) == 0 {
		return ""
	}
	var b strings.Builder
	hosts := cells[order[0]][0].Hosts
	fmt.Fprintf(&b, "\n## Internet-like population (%d open hosts: 60%% silent, 10%% slow, 5%% reset, 5%% hostile, 1%% every port, 20 gateways)\n\n", hosts)
	fmt.Fprintf(&b, "Past 12,000 open hosts the testbed listens on the wildcard address and nftables answers RST for the closed ones.\n")
	fmt.Fprintf(&b, "`testbed.sh up %s`. `clawcensus` is the HTTP stage alone on the list of open hosts (`scan --candidates`, defaults:\n", strings.Join(internetPopulation, " "))
	fmt.Fprintf(&b, "4,096 hosts at once, 3 s first-byte deadline, 10 s per host); `httpx` the httpx CLI v1.8.1 and `zgrab2` the zgrab2 CLI v0.2.0\n")
	fmt.Fprintf(&b, "on the same list (`-threads 1000 -timeout 3 -retries 0`; `http --senders 1000 --connect-timeout 3s --target-timeout 3s`); `clawcensus-scan` the whole scan of %s (SYN, `--rate 100000`, defaults otherwise),\n", block)
	fmt.Fprintf(&b, "whose report gives open ports, stored observations, answers lost and middleboxes.\n\n")
	fmt.Fprintf(&b, "| tool | gateways found | hosts/s (median, range) | wall s | CPU-s | peak RSS MiB | open / stored / lost | middleboxes | errors |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, tool := range order {
		var found, hps, wall, cpu, rss []float64
		errs := 0
		last := cells[tool][len(cells[tool])-1]
		for _, r := range cells[tool] {
			if r.Error != "" {
				errs++
			}
			found, hps, wall, cpu, rss = append(found, float64(r.Found)), append(hps, r.HostsPerS), append(wall, r.WallS), append(cpu, r.CPUS), append(rss, r.RSSMiB)
		}
		kept, mb := "–", "–"
		if strings.HasPrefix(tool, "clawcensus") {
			kept = fmt.Sprintf("%d / %d / %d", last.Open, last.Stored, last.AnswersLost)
			mb = fmt.Sprint(last.Middleboxes)
		}
		fmt.Fprintf(&b, "| %s | %s of %d | %.0f (%s) | %s | %s | %s | %s | %s | %d |\n", tool, span(found, "%.0f"), last.Truth, median(hps),
			span(hps, "%.0f"), span(wall, "%.1f"), span(cpu, "%.2f"), span(rss, "%.0f"), kept, mb, errs)
	}
	return b.String()
}

// growthCells are the populations of the growth table: open hosts and how many of them are
// silent (the rest answer with an nginx page), 10 of them gateway replays.
var growthCells = []struct{ open, silent int }{
	{1000, 0}, {1000, 990}, {10000, 0}, {10000, 9990}, {50000, 0}, {50000, 49990},
	{10000, 3000}, {10000, 6000}, {10000, 9000},
}

// growthRuns scans the block once per cell with the whole clawcensus scan (SYN, --rate 100000,
// defaults otherwise): how wall time and peak memory grow with open hosts and with the share
// that never answers.
func growthRuns(tb *testbed, bin string) ([]Result, error) {
	var results []Result
	for _, c := range growthCells {
		if err := tb.up("-n", fmt.Sprint(c.open), "-seed", "5", "-gateways", "10", "-silent", fmt.Sprint(c.silent)); err != nil {
			return nil, err
		}
		db := filepath.Join(os.TempDir(), fmt.Sprintf("bench-growth-%d.db", time.Now().UnixNano()))
		argv := []string{"env", "CLAWCENSUS_SCOPE=" + block, bin, "scan", "--lab", "--scan-type", "syn", "--rate", "100000",
			"--ports", port, "--db", db, block}
		stdout, wall, cpu, rss, err := measure(exec.Command("ip", append([]string{"netns", "exec", prefix + "-scan"}, argv...)...), &bytes.Buffer{})
		r := Result{Stage: "growth", Tool: "clawcensus-scan", Rep: 1, WallS: wall, CPUS: cpu, RSSMiB: rss, Truth: 10, Hosts: c.open,
			Silent: c.silent, GSO: "on"}
		if err != nil {
			r.Error = err.Error()
		}
		r.Found = gatewaysIn(stdout)
		runFacts(bin, db, &r)
		fmt.Fprintf(os.Stderr, "growth open %d silent %d: %.1f s, %.0f MiB, %d/10 gateways, open %d stored %d lost %d %s\n",
			c.open, c.silent, wall, rss, r.Found, r.Open, r.Stored, r.AnswersLost, r.Error)
		results = append(results, r)
	}
	return results, nil
}

// gatewaysIn counts the gateways in clawcensus scan's JSON Lines.
// peerArgv runs an HTTP peer (httpx or zgrab2) on list (ip:port lines) with threads at once
// and a 3 s timeout. Their own memory is unbounded on hostile hosts: the benchmark caps their
// address space at 6 GiB.
func peerArgv(tool, list string, threads int) []string {
	argv := []string{"prlimit", "--as=6442450944", "--", filepath.Join(toolDir(), tool)}
	if tool == "zgrab2" {
		// zgrab2 reads addresses (every host of the list listens on port); its JSON lines carry
		// the response body.
		ips := list + ".ips"
		b, _ := os.ReadFile(list)
		var out []string
		for _, l := range strings.Fields(string(b)) {
			host, _, _ := strings.Cut(l, ":")
			out = append(out, host)
		}
		os.WriteFile(ips, []byte(strings.Join(out, "\n")+"\n"), 0o644)
		return append(argv, "http", "--blocklist-file", "/dev/null", "--input-file", ips, "--output-file", "-",
			"--senders", fmt.Sprint(threads), "--port", port, "--connect-timeout", "3s", "--target-timeout", "3s")
	}
	return append(argv, "-l", list, "-silent", "-json", "-threads", fmt.Sprint(threads), "-timeout", "3", "-retries", "0",
		"-disable-update-check", "-no-fallback")
}

// peerFound counts, in a peer's JSON lines, the Control UI pages that came back with 200: the
// peers identify nothing, so that is what a gateway found means for them.
func peerFound(stdout []byte) int {
	n := 0
	for _, line := range strings.Split(string(stdout), "\n") {
		if strings.Contains(line, "Control") && strings.Contains(line, `"status_code":200`) {
			n++
		}
	}
	return n
}

func gatewaysIn(stdout []byte) int {
	n := 0
	for _, line := range strings.Split(string(stdout), "\n") {
		if strings.Contains(line, `"outcome":"openclaw"`) || strings.Contains(line, `"outcome":"clawdbot"`) {
			n++
		}
	}
	return n
}

// runFacts reads the newest run's open ports, stored observations, lost answers and
// middleboxes from the store db (its report), then removes the store.
func runFacts(bin, db string, r *Result) {
	if out, err := exec.Command(bin, "report", "--db", db, "--format", "json").Output(); err == nil {
		var rep struct {
			Runs []struct {
				OpenPorts   int64 `json:"open_ports"`
				Stored      int64 `json:"stored"`
				AnswersLost int64 `json:"answers_lost"`
				Middleboxes int64 `json:"middleboxes"`
			} `json:"runs"`
		}
		if json.Unmarshal(out, &rep) == nil && len(rep.Runs) > 0 {
			last := rep.Runs[len(rep.Runs)-1]
			r.Open, r.Stored, r.AnswersLost, r.Middleboxes = last.OpenPorts, last.Stored, last.AnswersLost, last.Middleboxes
		}
	}
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		os.Remove(f)
	}
}

// growthMarkdown is the growth table.
func growthMarkdown(results []Result) string {
	var b strings.Builder
	for _, r := range results {
		if r.Stage != "growth" {
			continue
		}
		if b.Len() == 0 {
			fmt.Fprintf(&b, "\n## Growth: the whole scan against open hosts and the share that never answers\n\n")
			fmt.Fprintf(&b, "One `clawcensus scan --scan-type syn --rate 100000 --ports %s %s` per row (defaults otherwise: 4,096 hosts at once,\n", port, block)
			fmt.Fprintf(&b, "3 s first-byte deadline) on `testbed.sh up -n OPEN -seed 5 -gateways 10 -silent SILENT`; the other open hosts serve an\n")
			fmt.Fprintf(&b, "nginx page. Wall time includes the sweep (65,536 probes, 0.7 s), its 2 s wait for late answers and every host's\n")
			fmt.Fprintf(&b, "fingerprinting; open / stored / lost come from the run's report. Past 12,000 open hosts the testbed listens on the\n")
			fmt.Fprintf(&b, "wildcard address and nftables answers RST for the closed ones. A row alone:\n")
			fmt.Fprintf(&b, "`bench -reps 1 -tools '' -http=false -internet=false -sparse=false -growth-cells OPEN:SILENT` (as root, from the repository).\n\n")
			fmt.Fprintf(&b, "| open hosts | silent | wall s | CPU-s | peak RSS MiB | gateways | open / stored / lost | errors |\n|---|---|---|---|---|---|---|---|\n")
		}
		errs := 0
		if r.Error != "" {
			errs = 1
		}
		fmt.Fprintf(&b, "| %d | %d (%.0f%%) | %.1f | %.2f | %.0f | %d of 10 | %d / %d / %d | %d |\n", r.Hosts, r.Silent,
			100*float64(r.Silent)/float64(r.Hosts), r.WallS, r.CPUS, r.RSSMiB, r.Found, r.Open, r.Stored, r.AnswersLost, errs)
	}
	return b.String()
}

// sendCounter samples an interface's transmitted-packet counter in the scanner's namespace
// every millisecond: a child (`bench count`) runs there and prints its samples when its stdin
// closes. (Joining the namespace from a thread of this process could move its main thread,
// and testbed.sh down then kills every process it finds in the namespace.)
type sendCounter struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   bytes.Buffer
}

type sample struct {
	at time.Time
	n  uint64
}

func countSent(netns, iface string) (*sendCounter, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &sendCounter{cmd: exec.Command("ip", "netns", "exec", netns, self, "count", iface)}
	c.cmd.Stdout = &c.out
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	ready, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	// The first sample is taken before anything is sent: the child says so on stderr.
	if _, err := bufio.NewReader(ready).ReadString('\n'); err != nil {
		c.stdin.Close()
		c.cmd.Wait()
		return nil, fmt.Errorf("bench count in %s: %w", netns, err)
	}
	return c, nil
}

// count is the child: it samples iface's transmitted packets every millisecond until stdin
// closes, then prints "unixnano packets" per sample that changed the count.
func count(iface string) error {
	var samples []sample
	closed := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(closed) }()
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	last := ^uint64(0)
	for first := true; ; first = false {
		if n, ok := txPackets(iface); ok && n != last {
			samples = append(samples, sample{time.Now(), n})
			last = n
		}
		if first {
			fmt.Fprintln(os.Stderr, "ready")
		}
		select {
		case <-closed:
			w := bufio.NewWriter(os.Stdout)
			for _, s := range samples {
				fmt.Fprintf(w, "%d %d\n", s.at.UnixNano(), s.n)
			}
			return w.Flush()
		case <-t.C:
		}
	}
}

// stop ends the sampling and returns the rate at which the first n packets left.
func (c *sendCounter) stop(n uint64) float64 {
	c.stdin.Close()
	if c.cmd.Wait() != nil {
		return 0
	}
	var s []sample
	for _, line := range strings.Split(strings.TrimSpace(c.out.String()), "\n") {
		var at int64
		var v uint64
		if _, err := fmt.Sscan(line, &at, &v); err == nil {
			s = append(s, sample{time.Unix(0, at), v})
		}
	}
	if len(s) < 2 {
		return 0
	}
	base := s[0].n
	var t0, t1 time.Time
	for i, x := range s {
		if t0.IsZero() && x.n > base && i > 0 {
			t0 = s[i-1].at
		}
		if x.n-base >= n {
			t1 = x.at
			break
		}
	}
	if t0.IsZero() || t1.IsZero() || !t1.After(t0) {
		return 0
	}
	return float64(n) / t1.Sub(t0).Seconds()
}

// txPackets reads iface's transmitted packets from this process's network namespace.
func txPackets(iface string) (uint64, bool) {
	b, err := os.ReadFile("/proc/self/net/dev")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) != iface {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 10 {
			return 0, false
		}
		n, err := strconv.ParseUint(f[9], 10, 64) // receive: 8 fields; transmit: bytes, packets, …
		return n, err == nil
	}
	return 0, false
}
