package scanner

import (
	"context"
	"hash/maphash"
	"net/netip"
	"time"

	"github.com/clawcensus/clawcensus/internal/ctxsleep"
)

// Open is an open host:port a sweep found.
type Open struct {
	netip.AddrPort
	// Middlebox is set when the host completed a handshake on both control ports as well:
	// it answers on ports nobody chose (a SYN proxy, a firewall or tarpit that accepts on
	// every port), so the probed port says nothing about a service behind it.
	Middlebox bool
}

// Control probes tell middleboxes apart without state per probe beyond the open hosts: a host
// that answers SYN-ACK on the probed port is probed on two control ports, chosen by a keyed
// hash of the host and port, so no one can know them in advance and no probed port is one.
// A real host with a few open services answers RST (or nothing) on at least one of them; a
// box that accepts on every port answers both. One RST settles it as a host (the verdict
// comes at once), two SYN-ACKs as a middlebox; a control probe without an answer leaves the
// host a host, so loss can only let a middlebox through to fingerprinting, never hide a
// gateway. A gateway host with one other open port is still a host: both control ports would
// have to be open services. The chance that a host with k open ports answers both is
// (k/64,512)², one in 4 billion for k = 1.
const controlProbes = 2

// controlPorts are ap's control ports: distinct, in 1024-65535, never ap's own port.
func controlPorts(seed maphash.Seed, ap netip.AddrPort) [controlProbes]netip.AddrPort {
	var out [controlProbes]netip.AddrPort
	for i := range controlProbes {
		h := maphash.Comparable(seed, struct {
			ap netip.AddrPort
			i  int
		}{ap, i})
		for {
			p := uint16(1024 + h%(65536-1024))
			if p != ap.Port() && (i == 0 || p != out[0].Port()) {
				out[i] = netip.AddrPortFrom(ap.Addr(), p)
				break
			}
			h = h>>1 | h<<63
		}
	}
	return out
}

// verdict is an open host:port waiting for its control probes' answers.
type verdict struct {
	orig netip.AddrPort
	open int // control SYN-ACKs so far
}

// await holds an open plan probe until its control probes answer, and queues them (SYN).
// Called with s.mu held.
func (s *Sweeper) await(ap netip.AddrPort) {
	if s.found[ap] || s.verdicts[ap] != nil {
		return // a repeated SYN-ACK
	}
	v := &verdict{orig: ap}
	s.verdicts[ap] = v
	for _, c := range controlPorts(s.ctlSeed, ap) {
		s.controlOf[c] = v
		s.controlQueue = append(s.controlQueue, c)
	}
	s.lastControl = time.Now()
	select {
	case s.controlWake <- struct{}{}:
	default:
	}
}

// controlAnswer settles a verdict from a control probe's answer. Called with s.mu held; it
// returns the host to report, if settled.
func (s *Sweeper) controlAnswer(c netip.AddrPort, open bool) (Open, bool) {
	v := s.controlOf[c]
	if v == nil {
		return Open{}, false
	}
	delete(s.controlOf, c)
	if open {
		if v.open++; v.open < controlProbes {
			return Open{}, false
		}
	}
	for _, other := range controlPorts(s.ctlSeed, v.orig) {
		delete(s.controlOf, other)
	}
	delete(s.verdicts, v.orig)
	return Open{AddrPort: v.orig, Middlebox: open}, true
}

// settle waits for the control probes' answers, at most the sweep's timeout after the last
// one left, then reports every host still waiting as a host (its controls drew no answer).
func (s *Sweeper) settle(ctx context.Context) {
	for {
		s.mu.Lock()
		n, since := len(s.verdicts), time.Since(s.lastControl)
		s.mu.Unlock()
		if n == 0 || since > s.cfg.Timeout || ctx.Err() != nil {
			break
		}
		ctxsleep.Sleep(ctx, min(20*time.Millisecond, s.cfg.Timeout-since))
	}
	s.mu.Lock()
	var rest []Open
	for ap := range s.verdicts {
		rest = append(rest, Open{AddrPort: ap})
	}
	clear(s.verdicts)
	clear(s.controlOf)
	s.mu.Unlock()
	for _, o := range rest {
		s.report(o)
	}
}

// sendControls sends queued control probes from the raw sockets, paced with the plan's
// probes, until ended is closed and the queue is empty.
func (s *Sweeper) sendControls(ctx context.Context, p *pacer, ended <-chan struct{}) error {
	out := s.newProbeSender(p, &s.controls, true)
	var batch []netip.AddrPort
	for {
		s.mu.Lock()
		batch, s.controlQueue = s.controlQueue, batch[:0]
		s.mu.Unlock()
		for _, c := range batch {
			if err := out.send(ctx, c); err != nil {
				return err
			}
		}
		if err := out.flush(); err != nil {
			return err
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-s.controlWake:
		case <-ended:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// connectControls dials ap's control ports (CONNECT sweeps): a middlebox when both connect.
func (s *Sweeper) connectControls(ctx context.Context, p *pacer, ap netip.AddrPort) bool {
	for _, c := range controlPorts(s.ctlSeed, ap) {
		if s.allowed(c) != nil || p.wait(ctx) != nil {
			return false
		}
		s.controls.Add(1)
		conn, err := s.dialer.DialContext(ctx, "tcp", c.String())
		if err != nil {
			return false
		}
		conn.Close()
	}
	return true
}
