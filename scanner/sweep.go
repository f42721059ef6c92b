package scanner

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Mzack9999/gopacket/pcap"
	"github.com/projectdiscovery/naabu/v2/pkg/port"
	"github.com/projectdiscovery/naabu/v2/pkg/privileges"
	"github.com/projectdiscovery/naabu/v2/pkg/protocol"
	"github.com/projectdiscovery/naabu/v2/pkg/result"
	"github.com/projectdiscovery/naabu/v2/pkg/scan"
	"golang.org/x/time/rate"
)

// Methods of sweeping.
const (
	MethodAuto    = "auto"
	MethodSYN     = "syn"
	MethodConnect = "connect"
)

// Config configures a Sweeper. Zero values mean the documented defaults.
type Config struct {
	// Rate is the probe budget per second across all targets. Zero means 1000.
	// In CONNECT mode it also bounds the connections in flight, as naabu does.
	Rate int
	// Method is MethodSYN, MethodConnect or MethodAuto. Empty means MethodAuto: SYN when the
	// process may open raw sockets and libpcap loads, CONNECT otherwise.
	Method string
	// Retries is how many extra probes each target gets when the first draws no answer.
	// SYN probes are resent at the end of the pass; CONNECT attempts are retried at once.
	Retries int
	// Timeout bounds one CONNECT attempt and, in SYN mode, the wait for late answers after the
	// last probe. Zero means 2s.
	Timeout time.Duration
	// Blocklist is consulted for every probe at send time; nil means the reserved ranges.
	Blocklist *Blocklist
	// Scope, when set, is checked for every probe at send time; a probe outside it stops the
	// sweep with an error.
	Scope Scope
}

// Stats counts a sweep's progress; it is safe to read while the sweep runs.
type Stats struct {
	// Sent counts every probe; Retried those of them that repeat an unanswered one.
	Sent, Retried, Open uint64
}

// Sweeper probes host:port pairs and reports those that answer. One per process: naabu's
// raw-socket engine is a process-wide resource.
type Sweeper struct {
	cfg     Config
	method  string
	engine  *scan.Scanner
	sent    atomic.Uint64
	retried atomic.Uint64
	open    atomic.Uint64

	tracked bool // SYN: the engine was told the target ranges

	mu      sync.Mutex
	found   map[netip.AddrPort]bool
	out     chan<- netip.AddrPort
	ctx     context.Context
	sending sync.WaitGroup // reports under way to out
}

// SYNAvailable reports whether this process can send raw SYN probes, and why not.
func SYNAvailable() (bool, string) {
	if !privileges.IsPrivileged {
		return false, "no CAP_NET_RAW (run as root or grant the capability)"
	}
	if err := pcap.LoadUnixPCAP(); err != nil {
		return false, "libpcap is not installed (Debian: apt-get install libpcap0.8)"
	}
	if scan.PkgRouter == nil {
		return false, "no routing table"
	}
	return true, ""
}

// New validates cfg and prepares naabu's engine.
func New(cfg Config) (*Sweeper, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 1000
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("rate %d: must be positive", cfg.Rate)
	}
	if cfg.Retries < 0 {
		return nil, fmt.Errorf("retries %d: must be zero or more", cfg.Retries)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Blocklist == nil {
		cfg.Blocklist = NewBlocklist(false)
	}
	method := strings.ToLower(cfg.Method)
	synOK, why := SYNAvailable()
	switch method {
	case "", MethodAuto:
		method = MethodConnect
		if synOK {
			method = MethodSYN
		}
	case MethodSYN:
		if !synOK {
			return nil, fmt.Errorf("syn scan impossible: %s; use --scan-type connect", why)
		}
	case MethodConnect:
	default:
		return nil, fmt.Errorf("scan type %q: want auto, syn or connect", cfg.Method)
	}
	s := &Sweeper{cfg: cfg, method: method, found: map[netip.AddrPort]bool{}}
	engine, err := scan.NewScanner(&scan.Options{
		Timeout:  cfg.Timeout,
		Retries:  cfg.Retries,
		Rate:     cfg.Rate,
		Stream:   true,
		ScanType: map[string]string{MethodSYN: scan.TypeSyn, MethodConnect: scan.TypeConnect}[method],
		OnReceive: func(hr *result.HostResult) {
			s.receive(hr)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start naabu engine: %w", err)
	}
	if method == MethodSYN && engine.ScanType != scan.TypeSyn {
		return nil, errors.New("syn scan impossible: naabu found no free raw-socket handler")
	}
	s.engine = engine
	return s, nil
}

// Method is the sweep method in use: MethodSYN or MethodConnect.
func (s *Sweeper) Method() string { return s.method }

// Stats returns the counters so far.
func (s *Sweeper) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Retried: s.retried.Load(), Open: s.open.Load()}
}

// Sweep walks plan, paced evenly at the configured rate, and sends every open host:port to
// open as it is found. It returns when the walk is done and late answers had time to arrive.
// The caller closes open after Sweep returns. One Sweeper may sweep many windows of one plan
// in turn (the work units of a census), never two at once; each reports what it found.
func (s *Sweeper) Sweep(ctx context.Context, plan *Plan, open chan<- netip.AddrPort) error {
	s.mu.Lock()
	s.out, s.ctx = open, ctx
	s.found = map[netip.AddrPort]bool{}
	s.mu.Unlock()
	defer func() {
		// Answers that arrive after the sweep are dropped, and none is sent once we return,
		// so the caller may close open.
		s.mu.Lock()
		s.out = nil
		s.mu.Unlock()
		s.sending.Wait()
	}()
	limiter := newPacer(s.cfg.Rate)
	if s.method == MethodSYN {
		return s.sweepSYN(ctx, plan, limiter)
	}
	return s.sweepConnect(ctx, plan, limiter)
}

func (s *Sweeper) allowed(ap netip.AddrPort) error {
	if err := s.cfg.Scope.Check(ap.Addr()); err != nil {
		return err
	}
	if src, blocked := s.cfg.Blocklist.Lookup(ap.Addr()); blocked {
		return fmt.Errorf("refusing to probe %s: blocked by %s", ap, src)
	}
	return nil
}

func (s *Sweeper) sweepSYN(ctx context.Context, plan *Plan, limiter *rate.Limiter) error {
	workers, stop := context.WithCancel(ctx)
	defer stop()
	s.engine.StartWorkers(workers)
	s.engine.ListenHandler.Phase.Set(scan.Scan)
	// naabu drops answers from addresses it was not told about. Telling it per probe costs a
	// hybrid-map insert each (measured: the sweep fell to a third of its rate), so it is told
	// the target ranges once, as prefixes, for the first window of the plan.
	if !s.tracked {
		err := plan.EachRange(func(r Range) error {
			for _, p := range r.Prefixes() {
				if err := s.engine.IPRanger.Add(p.String()); err != nil {
					return fmt.Errorf("track %s: %w", p, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		s.tracked = true
	}
	for pass := 0; pass <= s.cfg.Retries; pass++ {
		err := plan.Walk(ctx, func(ap netip.AddrPort) error {
			if pass > 0 && s.isFound(ap) {
				return nil
			}
			if err := s.allowed(ap); err != nil {
				return err
			}
			if err := limiter.Wait(ctx); err != nil {
				return err
			}
			s.engine.EnqueueTCP(ap.Addr().String(), scan.Syn, &port.Port{Port: int(ap.Port()), Protocol: protocol.TCP})
			s.sent.Add(1)
			if pass > 0 {
				s.retried.Add(1)
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Answers to the last probes of a pass arrive within the timeout.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.cfg.Timeout):
		}
	}
	return nil
}

func (s *Sweeper) sweepConnect(ctx context.Context, plan *Plan, limiter *rate.Limiter) error {
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
		wg.Add(1)
		go func() {
			defer func() { <-inflight; wg.Done() }()
			p := &port.Port{Port: int(ap.Port()), Protocol: protocol.TCP}
			for try := 0; try <= s.cfg.Retries; try++ {
				if limiter.Wait(ctx) != nil {
					unpaced.Store(true)
					return
				}
				s.sent.Add(1)
				if try > 0 {
					s.retried.Add(1)
				}
				ok, err := s.engine.ConnectPort(ap.Addr().String(), "", p, s.cfg.Timeout)
				if ok && err == nil {
					s.report(ap)
					return
				}
				if err != nil && isRefused(err) {
					return // a RST is an answer: retrying a closed port changes nothing
				}
			}
		}()
		return nil
	})
	wg.Wait()
	if err == nil && unpaced.Load() {
		if err = ctx.Err(); err == nil {
			err = fmt.Errorf("sweep stopped: %w (probes left would pass the deadline)", context.DeadlineExceeded)
		}
	}
	return err
}

func isRefused(err error) bool {
	return strings.Contains(err.Error(), "connection refused")
}

func (s *Sweeper) receive(hr *result.HostResult) {
	addr, err := netip.ParseAddr(hr.IP)
	if err != nil {
		return
	}
	for _, p := range hr.Ports {
		if p.Port > 0 && p.Port < 65536 {
			s.report(netip.AddrPortFrom(addr.Unmap(), uint16(p.Port)))
		}
	}
}

func (s *Sweeper) isFound(ap netip.AddrPort) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.found[ap]
}

// report passes a newly open host:port on, once. Retries and duplicate SYN-ACKs are dropped.
func (s *Sweeper) report(ap netip.AddrPort) {
	s.mu.Lock()
	if s.found[ap] || s.out == nil {
		s.mu.Unlock()
		return
	}
	s.found[ap] = true
	out, ctx := s.out, s.ctx
	s.sending.Add(1)
	s.mu.Unlock()
	defer s.sending.Done()
	s.open.Add(1)
	select {
	case out <- ap:
	case <-ctx.Done():
	}
}

// Close releases naabu's engine.
func (s *Sweeper) Close() error {
	if s.engine == nil || s.engine.ListenHandler == nil {
		return nil
	}
	return s.engine.Close()
}

// newPacer paces probes evenly: its bucket holds 2 ms of budget, enough to make up for a
// sleeping sender's timer slack (with a bucket of one, a sender that oversleeps never catches
// up: measured 1,700/s at --rate 5000), never a burst a network would notice.
func newPacer(pps int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(pps), max(1, pps/500))
}
