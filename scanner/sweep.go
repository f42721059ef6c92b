package scanner

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clawcensus/clawcensus/internal/ctxsleep"
)

// Methods of sweeping.
const (
	MethodAuto    = "auto"
	MethodSYN     = "syn"
	MethodConnect = "connect"
)

// Config configures a Sweeper. Zero values mean the documented defaults.
type Config struct {
	// Rate is the probe budget per second across all targets. Zero means DefaultRate.
	// In CONNECT mode it also bounds the connections in flight. SetRate changes the rate
	// while the Sweeper sweeps (a census shares one budget among its workers).
	Rate int
	// Method is MethodSYN, MethodConnect or MethodAuto. Empty means MethodAuto: SYN when the
	// process may open raw sockets (CAP_NET_RAW), CONNECT otherwise.
	Method string
	// Retries is how many extra probes each target gets when the first draws no answer.
	// SYN probes are resent at the end of the pass; CONNECT attempts are retried at once.
	Retries int
	// Timeout bounds one CONNECT attempt and, in SYN mode, the wait for late answers after the
	// last probe. Zero means DefaultTimeout.
	Timeout time.Duration
	// Blocklist is consulted for every probe at send time; nil means the reserved ranges.
	Blocklist *Blocklist
	// Scope, when set, is checked for every probe at send time; a probe outside it stops the
	// sweep with an error.
	Scope Scope
	// Raw, when set, are raw sockets opened earlier (OpenRaw), perhaps before the process gave
	// up the privilege to open them; the Sweeper uses them for SYN and leaves them open.
	Raw *Raw
}

// DefaultRate is the probes per second of a sweep unless told otherwise, and DefaultTimeout
// its connect timeout and wait for late SYN answers: every layer above names these.
const (
	DefaultRate    = 1000
	DefaultTimeout = 2 * time.Second
)

// Raw holds the SYN engine's sockets: opened once, while the process may (CAP_NET_RAW), and
// used by every Sweeper given them, one at a time.
type Raw struct{ e *synEngine }

// OpenRaw opens the raw sockets of SYN sweeps.
func OpenRaw() (*Raw, error) {
	e, err := openSYN()
	if err != nil {
		return nil, explainRaw(err)
	}
	return &Raw{e: e}, nil
}

// Close closes the sockets; a nil Raw is a no-op.
func (r *Raw) Close() {
	if r != nil && r.e != nil {
		r.e.close()
	}
}

// Stats counts a sweep's progress; it is safe to read while the sweep runs.
type Stats struct {
	// Sent counts every probe; Retried those of them that repeat an unanswered one.
	Sent, Retried, Open uint64
	// SYN only: Closed counts RST answers; Invalid, answers to our ports whose cookie did not
	// match (forged, unsolicited, stale); OutOfScope, valid answers from outside the scope;
	// Dropped, probes the kernel refused to send.
	Closed, Invalid, OutOfScope, Dropped uint64
	// SYN only: Lost counts answers the kernel dropped because its receive queue was full
	// (open or closed: they were never read, so it is not known which); Late, SYN-ACKs from
	// hosts not yet found that arrived after the sweep's wait for late answers had ended.
	// Neither is a host handed over; both say the census may have missed some.
	Lost, Late uint64
	// Controls counts control probes (see middlebox.go), paced with the plan's but not in
	// Sent; Middleboxes, open ports whose host answered both control probes too.
	Controls, Middleboxes uint64
}

// Sweeper probes host:port pairs and reports those that answer. In SYN mode it owns raw
// sockets, opened by New: one Sweeper per process.
type Sweeper struct {
	cfg     Config
	method  string
	syn     *synEngine
	ownsSYN bool // opened by New, closed by Close
	dialer  net.Dialer
	sent    atomic.Uint64
	retried atomic.Uint64
	open    atomic.Uint64
	closed  atomic.Uint64
	scope   atomic.Uint64 // answers from outside the scope
	dropped atomic.Uint64
	lost    atomic.Uint64
	late    atomic.Uint64
	ctlSeed maphash.Seed // picks control ports
	// controls and middleboxes: see Stats.
	controls, middleboxes atomic.Uint64
	// rate is the probes per second now (Config.Rate until SetRate); pace is the pacer of the
	// sweep under way, which SetRate changes too.
	rate atomic.Int64
	// behind is set while the senders of a SYN pass run later than their schedule: the kernel
	// or the CPU, not the rate, is what limits them (see Behind).
	behind atomic.Bool
	pace   *pacer
	// between is the pacer of probes sent beside a sweep while none is under way (Pace).
	between *pacer

	mu       sync.Mutex
	found    map[netip.AddrPort]bool // open ports reported in this sweep
	answered answeredSet             // SYN: probes answered (open or closed) in this sweep
	// pending holds open ports found and not yet handed to the sweep's output: whoever finds
	// one (the packet reader, a CONNECT probe) never waits for the consumer, so a slow HTTP
	// stage delays hosts but never makes the engine miss answers.
	pending []Open
	wake    chan struct{} // a port was added to pending
	active  bool          // a sweep is under way: reports are taken
	// SYN: open ports waiting for their control probes' answers, the control probe each
	// answer settles, control probes to send, when the last was queued.
	verdicts     map[netip.AddrPort]*verdict
	controlOf    map[netip.AddrPort]*verdict
	controlQueue []netip.AddrPort
	controlWake  chan struct{}
	lastControl  time.Time
}

// SYNAvailable reports whether this process can send raw SYN probes, and why not. It opens
// and closes a raw socket to find out.
func SYNAvailable() (bool, string) {
	return synAvailable()
}

// New validates cfg and, for SYN sweeps, opens the raw sockets (before anything is read from
// the network, so that the caller may drop its privileges once New returns).
func New(cfg Config) (*Sweeper, error) {
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("rate %d: must be positive", cfg.Rate)
	}
	if cfg.Retries < 0 {
		return nil, fmt.Errorf("retries %d: must be zero or more", cfg.Retries)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Blocklist == nil {
		cfg.Blocklist = NewBlocklist(false)
	}
	s := &Sweeper{cfg: cfg, found: map[netip.AddrPort]bool{}, answered: newAnsweredSet(),
		wake: make(chan struct{}, 1), dialer: net.Dialer{Timeout: cfg.Timeout}, ctlSeed: maphash.MakeSeed(),
		verdicts: map[netip.AddrPort]*verdict{}, controlOf: map[netip.AddrPort]*verdict{}, controlWake: make(chan struct{}, 1)}
	s.rate.Store(int64(cfg.Rate))
	method := strings.ToLower(cfg.Method)
	switch method {
	case "", MethodAuto, MethodSYN:
		var syn *synEngine
		var err error
		if cfg.Raw != nil {
			syn = cfg.Raw.e
		} else if syn, err = openSYN(); err == nil {
			s.ownsSYN = true
		}
		switch {
		case err == nil:
			s.syn, s.method = syn, MethodSYN
		case method == MethodSYN:
			return nil, fmt.Errorf("syn scan impossible: %w; use --scan-type connect", explainRaw(err))
		default:
			s.method = MethodConnect
		}
	case MethodConnect:
		s.method = MethodConnect
	default:
		return nil, fmt.Errorf("scan type %q: want auto, syn or connect", cfg.Method)
	}
	return s, nil
}

func explainRaw(err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("%w (raw sockets need CAP_NET_RAW: run as root or grant it with setcap cap_net_raw+ep)", err)
	}
	return err
}

// Method is the sweep method in use: MethodSYN or MethodConnect.
func (s *Sweeper) Method() string { return s.method }

// Stats returns the counters so far.
func (s *Sweeper) Stats() Stats {
	st := Stats{Sent: s.sent.Load(), Retried: s.retried.Load(), Open: s.open.Load(), Closed: s.closed.Load(),
		OutOfScope: s.scope.Load(), Dropped: s.dropped.Load(), Lost: s.lost.Load(), Late: s.late.Load(),
		Controls: s.controls.Load(), Middleboxes: s.middleboxes.Load()}
	if s.syn != nil {
		st.Invalid = s.syn.Invalid.Load()
	}
	return st
}

// Sweep walks plan, paced evenly at the configured rate, and sends every open host:port to
// open, once, with the verdict of its control probes (Open.Middlebox). Finding a host never
// waits for the consumer: hosts found while the consumer is behind are held (a few dozen
// bytes each) and handed over in turn, and Sweep returns only once every host it found has
// been handed over, also when ctx is done. So the caller reads
// open until Sweep returns (then closes it), keeping what it cannot use any more, say, as
// unprobed. One Sweeper may sweep many windows of one plan in turn (the work units of a
// census), never two at once; each reports what it found.
func (s *Sweeper) Sweep(ctx context.Context, plan *Plan, open chan<- Open) error {
	s.mu.Lock()
	s.found = map[netip.AddrPort]bool{}
	s.answered = newAnsweredSet()
	s.pending = s.pending[:0]
	s.active = true
	s.mu.Unlock()
	ended := make(chan struct{})
	delivered := make(chan struct{})
	go func() { defer close(delivered); s.deliver(open, ended) }()
	var err error
	if s.method == MethodSYN {
		s.syn.drops() // what the kernel dropped before this sweep is no answer of its
		s.syn.attach(s.reply)
		err = s.sweepSYN(ctx, plan)
		s.syn.attach(nil)
		s.lost.Add(s.syn.drops())
	} else {
		s.mu.Lock()
		p := newPacer(s.Rate())
		s.pace = p
		s.mu.Unlock()
		err = s.sweepConnect(ctx, plan, p)
	}
	// Answers after this are late: counted, not reported. What was found goes out first.
	s.mu.Lock()
	s.active, s.pace = false, nil
	s.mu.Unlock()
	close(ended)
	<-delivered
	return err
}

// deliver hands the pending hosts to out in the order found, until the sweep has ended and
// none is left.
func (s *Sweeper) deliver(out chan<- Open, ended <-chan struct{}) {
	var batch []Open
	for {
		s.mu.Lock()
		batch, s.pending = s.pending, batch[:0]
		last := !s.active
		s.mu.Unlock()
		for _, o := range batch {
			out <- o
		}
		switch {
		case len(batch) > 0:
		case last:
			return
		default:
			select {
			case <-s.wake:
			case <-ended:
			}
		}
	}
}

func (s *Sweeper) allowed(ap netip.AddrPort) error {
	// Scope and blocklists read an IPv4-mapped or IPv4-compatible address as the IPv4 address
	// it names, but a probe to it would leave as IPv6, by another route: never sent.
	if embedsIPv4(ap.Addr()) {
		return fmt.Errorf("refusing to probe %s: an IPv6 address embedding an IPv4 one (write the IPv4 address)", ap.Addr())
	}
	if err := s.cfg.Scope.Check(ap.Addr()); err != nil {
		return err
	}
	if src, blocked := s.cfg.Blocklist.Lookup(ap.Addr()); blocked {
		return fmt.Errorf("refusing to probe %s: blocked by %s", ap, src)
	}
	return nil
}

// sweepSYN sends the plan's probes from the raw sockets in batches, paced evenly, and waits
// the timeout for late answers after each pass; a retry pass resends only the probes that
// drew no answer at all (neither SYN-ACK nor RST). The window is cut into one part per
// sender goroutine (up to the cores there are, at most synSenders): the kernel's send path,
// not Go, is what each probe costs most, and the parts share one pacer.
func (s *Sweeper) sweepSYN(ctx context.Context, plan *Plan) error {
	parts := splitWindow(plan, min(runtime.GOMAXPROCS(0), synSenders))
	defer addProcs(len(parts))()
	s.mu.Lock()
	p := newPacer(s.Rate())
	s.pace = p
	s.mu.Unlock()
	ctl, cctx := errgroup.WithContext(ctx)
	passesDone := make(chan struct{})
	ctl.Go(func() error { return s.sendControls(cctx, p, passesDone) })
	err := func() error {
		for pass := 0; pass <= s.cfg.Retries; pass++ {
			g, gctx := errgroup.WithContext(cctx)
			for _, part := range parts {
				g.Go(func() error { return s.sendPass(gctx, part, pass, p) })
			}
			err := g.Wait()
			s.behind.Store(false) // between passes and after the last; only the passes' senders set it
			if err != nil {
				return err
			}
			// Answers to the last probes of a pass arrive within the timeout.
			if err := ctxsleep.Sleep(cctx, s.cfg.Timeout); err != nil {
				return err
			}
		}
		return nil
	}()
	close(passesDone)
	if cerr := ctl.Wait(); cerr != nil {
		err = cerr // the passes then saw their context cancelled: this is why
	}
	// Hosts still waiting for a control answer are hosts; also when interrupted, they are
	// reported, never dropped.
	s.settle(ctx)
	return err
}

// Behind reports whether a SYN sweep is sending later than its schedule: the senders cannot
// keep the rate asked (the CPU or the kernel's send path is the limit, as with an unlimited
// rate). Work beside the sweep (fingerprinting) may then yield the CPU to it; between passes
// and sweeps it is false.
func (s *Sweeper) Behind() bool { return s.behind.Load() }

// pacerBehind is how close to its timeline a sweep that was behind must come to be behind no
// longer: a few batches.
const pacerBehind = time.Millisecond

// synSenders bounds the sender goroutines of one SYN sweep.
const synSenders = 2

// splitWindow cuts a plan's window into n contiguous parts of its sequence; a plan that reads
// stdin, or too small to be worth it, stays whole.
func splitWindow(plan *Plan, n int) []*Plan {
	if n < 2 || slices.Contains(plan.Specs, "-") {
		return []*Plan{plan}
	}
	size := plan.Limit
	if size == 0 {
		tot, err := plan.Count()
		if err != nil || tot.Probes <= plan.Skip {
			return []*Plan{plan}
		}
		size = tot.Probes - plan.Skip
	}
	if size < 4096 {
		return []*Plan{plan}
	}
	var parts []*Plan
	at := plan.Skip
	for i := range n {
		part := *plan
		part.Skip = at
		part.Limit = size / uint64(n)
		if i == n-1 {
			part.Limit = size - (at - plan.Skip)
		}
		at += part.Limit
		parts = append(parts, &part)
	}
	return parts
}

// sendPass sends one pass over one part of the window.
func (s *Sweeper) sendPass(ctx context.Context, plan *Plan, pass int, p *pacer) error {
	out := s.newProbeSender(p, &s.sent, false)
	err := plan.Walk(ctx, func(ap netip.AddrPort) error {
		if pass > 0 && s.isAnswered(ap) {
			return nil
		}
		if err := out.send(ctx, ap); err != nil {
			return err
		}
		if pass > 0 {
			s.retried.Add(1)
		}
		return nil
	})
	if ferr := out.flush(); err == nil {
		err = ferr
	}
	return err
}

// probeSender builds probes into one batch per way out (raw IPv4, raw IPv6, Ethernet frames),
// paced by a shared pacer, and counts what the kernel took in sent (dropped: what it refused).
// Each sender goroutine has its own.
type probeSender struct {
	s          *Sweeper
	p          *pacer
	sent       *atomic.Uint64
	control    bool
	b4, b6, bl *synBatcher
	turns      int // probes the pacer has counted that this sender has yet to build
}

func (s *Sweeper) newProbeSender(p *pacer, sent *atomic.Uint64, control bool) *probeSender {
	return &probeSender{s: s, p: p, sent: sent, control: control,
		b4: s.syn.newBatcher(batchIPv4), b6: s.syn.newBatcher(batchIPv6), bl: s.syn.newBatcher(batchLink)}
}

// send checks ap against scope and blocklists, waits for its turn, and builds its probe;
// a full batch leaves at once.
func (o *probeSender) send(ctx context.Context, ap netip.AddrPort) error {
	if err := o.s.allowed(ap); err != nil {
		return err
	}
	if o.turns == 0 {
		var wait time.Duration
		var behind bool
		o.turns, wait, behind = o.p.take(synBatch, !o.control)
		if !o.control && behind != o.s.behind.Load() {
			o.s.behind.Store(behind)
		}
		if wait > pacerSlack {
			// Ahead of the schedule: what is built goes now, then the sender sleeps.
			if err := o.flush(); err != nil {
				return err
			}
			if err := ctxsleep.Sleep(ctx, wait); err != nil {
				return err
			}
		}
	}
	o.turns--
	b := o.b6
	var r route4
	if ap.Addr().Is4() {
		var err error
		if r, err = o.s.syn.route4(ap.Addr()); err != nil {
			return err
		}
		b = o.b4
		if r.link {
			b = o.bl
		}
	}
	full, err := b.add(ap, r, o.control)
	if err != nil || !full {
		return err
	}
	return o.flush()
}

// flush sends what the batches hold.
func (o *probeSender) flush() error {
	for _, b := range []*synBatcher{o.b4, o.b6, o.bl} {
		sent, dropped := b.Sent, b.Dropped
		err := b.flush()
		o.sent.Add(b.Sent - sent)
		o.s.dropped.Add(b.Dropped - dropped)
		if err != nil {
			return err
		}
	}
	return nil
}

// reply takes a validated answer from the SYN engine's reader: to a plan probe, or to a
// control probe.
func (s *Sweeper) reply(ap netip.AddrPort, open, control bool) {
	if !s.cfg.Scope.Allows(ap.Addr()) {
		s.scope.Add(1)
		return
	}
	s.mu.Lock()
	if !s.active { // between sweeps: a late answer to an earlier unit
		late := open && !control && !s.found[ap]
		s.mu.Unlock()
		if late {
			s.late.Add(1)
		}
		return
	}
	if control {
		o, settled := s.controlAnswer(ap, open)
		s.mu.Unlock()
		if settled {
			s.report(o)
		}
		return
	}
	seen := s.answered.add(ap)
	if open {
		s.await(ap)
	}
	s.mu.Unlock()
	if !open && !seen {
		s.closed.Add(1)
	}
}

func (s *Sweeper) isAnswered(ap netip.AddrPort) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered.has(ap)
}

// sweepConnect dials the plan's probes, each first try paced in the walk itself: a probe
// waits for its turn before its goroutine starts, so no turn is taken ahead and a new rate
// (SetRate) holds from the next probe on. Retries and control probes wait for their turns in
// their probe's goroutine. The pacer is the SYN sweep's: its absolute timeline makes up a
// sender's short lateness (a descheduled walk), never more than pacerMaxLag.
func (s *Sweeper) sweepConnect(ctx context.Context, plan *Plan, p *pacer) error {
	inflight := make(chan struct{}, s.cfg.Rate)
	var wg sync.WaitGroup
	// A probe that could not be paced (ctx done, or its deadline nearer than its turn) was
	// never sent: the sweep must not end as if it had been.
	var unpaced atomic.Bool
	err := plan.Walk(ctx, func(ap netip.AddrPort) error {
		if err := s.allowed(ap); err != nil {
			return err
		}
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if p.wait(ctx) != nil {
			<-inflight
			unpaced.Store(true)
			return errUnpaced
		}
		wg.Add(1)
		go func() {
			defer func() { <-inflight; wg.Done() }()
			for try := 0; try <= s.cfg.Retries; try++ {
				if try > 0 && p.wait(ctx) != nil {
					unpaced.Store(true)
					return
				}
				s.sent.Add(1)
				if try > 0 {
					s.retried.Add(1)
				}
				c, err := s.dialer.DialContext(ctx, "tcp", ap.String())
				if err == nil {
					c.Close()
					s.report(Open{AddrPort: ap, Middlebox: s.connectControls(ctx, p, ap)})
					return
				}
				if errors.Is(err, syscall.ECONNREFUSED) {
					return // a RST is an answer: retrying a closed port changes nothing
				}
			}
		}()
		return nil
	})
	wg.Wait()
	if errors.Is(err, errUnpaced) {
		err = nil
	}
	if err == nil && unpaced.Load() {
		// The pacer refuses a probe whose turn would come after the context's deadline, so
		// the deadline is near (the in-flight probes' turns, a second at most). Waiting for it
		// ends the sweep as the deadline does: the caller sees the context done and its cause
		// (--max-runtime: an interrupted run), not a failure that raced it.
		if _, ok := ctx.Deadline(); ok {
			<-ctx.Done()
		}
		if err = ctx.Err(); err == nil {
			err = fmt.Errorf("sweep stopped: %w (probes left would pass the deadline)", context.DeadlineExceeded)
		}
	}
	return err
}

// errUnpaced stops a CONNECT walk whose next probe could not be paced.
var errUnpaced = errors.New("a probe could not be paced")

// report passes a newly open host:port on, once, without waiting for the consumer. Retries
// and duplicate SYN-ACKs are dropped.
func (s *Sweeper) report(o Open) {
	s.mu.Lock()
	if s.found[o.AddrPort] || !s.active {
		s.mu.Unlock()
		return
	}
	s.found[o.AddrPort] = true
	s.pending = append(s.pending, o)
	s.mu.Unlock()
	s.open.Add(1)
	if o.Middlebox {
		s.middleboxes.Add(1)
	}
	select {
	case s.wake <- struct{}{}:
	default: // the deliverer is already woken
	}
}

// Close closes the raw sockets a SYN sweeper opened itself (not those of Config.Raw).
func (s *Sweeper) Close() error {
	if s.syn != nil && s.ownsSYN {
		s.syn.close()
	}
	return nil
}
