package census

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync/atomic"

	"github.com/clawcensus/clawcensus/internal/textsafe"
	"github.com/clawcensus/clawcensus/scanner"
)

// readCandidates feeds the plan's candidates (a file, checked against its hash, or stdin).
func readCandidates(ctx context.Context, ex *executor, stdin io.Reader, read *atomic.Int64, open chan<- scanner.Open) error {
	var r io.Reader
	name := "stdin"
	if ex.plan.Candidates != nil {
		f, err := os.Open(ex.plan.Candidates.Path) // verified with the plan's other files (newExecutor)
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, ex.plan.Candidates.Path
	} else if stdin != nil {
		r = stdin
	} else {
		return errors.New("the plan reads candidates from stdin: only the process that planned it can")
	}
	// Reading a pipe cannot be cancelled, so the reader runs on its own and this returns as
	// soon as ctx is done.
	found := make(chan netip.AddrPort)
	done := make(chan error, 1)
	var skips candidateSkips
	seen := newAddrPortSet()
	go func() {
		done <- scanner.ReadCandidates(name, r, ex.bl, ex.scope, ex.plan.Ports[0], func(ap netip.AddrPort) error {
			read.Add(1)
			if !seen.add(ap) {
				skips.dup++ // probed once, counted once
				return nil
			}
			select {
			case found <- ap:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, func(sk scanner.CandidateSkip) { read.Add(1); skips.add(sk) })
	}()
	accepted := 0
	for {
		select {
		case ap := <-found:
			accepted++
			select {
			case open <- scanner.Open{AddrPort: ap}:
			case <-ctx.Done():
				return ctx.Err()
			}
		case err := <-done:
			skips.summary(name)
			if err == nil && accepted == 0 {
				return fmt.Errorf("%w: every candidate in %s was skipped (%d records skipped, %d about ports that are not open)", scanner.ErrNoTargets, name, skips.n, skips.notOpen)
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// candidateSkips logs the first skipped candidate records with their line numbers, then
// counts; records that only say a port is not open (closed, UDP, banners) are counted apart,
// without a warning each.
type candidateSkips struct{ n, notOpen, dup int }

const candidateSkipsLogged = 10

func (c *candidateSkips) add(s scanner.CandidateSkip) {
	if s.NotOpen {
		c.notOpen++
		return
	}
	c.n++
	if c.n <= candidateSkipsLogged {
		slog.Warn("candidate skipped", "line", s.Line, "text", textsafe.Clean(s.Text, 200), "reason", s.Reason)
	}
}

func (c *candidateSkips) summary(name string) {
	if c.n > 0 {
		slog.Warn("candidates skipped", "file", name, "records", c.n, "logged", min(c.n, candidateSkipsLogged))
	}
	if c.notOpen > 0 {
		slog.Info("records about ports that are not open read past (closed, UDP, banners, repeats)", "file", name, "records", c.notOpen)
	}
	if c.dup > 0 {
		slog.Info("candidates named more than once probed once", "file", name, "repeats", c.dup)
	}
}

// addrPortSet remembers the candidates already passed on: 8 bytes a key for IPv4, so a list
// of millions stays small.
type addrPortSet struct {
	v4 map[uint64]struct{}
	v6 map[netip.AddrPort]struct{}
}

func newAddrPortSet() *addrPortSet {
	return &addrPortSet{v4: map[uint64]struct{}{}, v6: map[netip.AddrPort]struct{}{}}
}

// add reports whether ap is new.
func (s *addrPortSet) add(ap netip.AddrPort) bool {
	if a := ap.Addr(); a.Is4() {
		b := a.As4()
		k := uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(ap.Port())
		if _, ok := s.v4[k]; ok {
			return false
		}
		s.v4[k] = struct{}{}
		return true
	}
	if _, ok := s.v6[ap]; ok {
		return false
	}
	s.v6[ap] = struct{}{}
	return true
}
