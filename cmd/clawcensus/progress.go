package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/clawcensus/clawcensus/census"
)

// progress reports probes sent, rate, open ports, detections and ETA on stderr: a live line
// on a terminal, a plain line every 10 seconds otherwise.
type progress struct {
	w        io.Writer
	total    uint64
	st       *census.Stats
	live     bool
	start    time.Time
	lastSent int64
	lastAt   time.Time
}

func newProgress(w io.Writer, total uint64, st *census.Stats) *progress {
	live := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			live = true
		}
	}
	now := time.Now()
	return &progress{w: w, total: total, st: st, live: live, start: now, lastAt: now}
}

func (pr *progress) run(ctx context.Context) {
	every := 10 * time.Second
	if pr.live {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pr.print(false)
		}
	}
}

func (pr *progress) final() { pr.print(true) }

func (pr *progress) print(final bool) {
	sent := pr.st.Sent.Load()
	now := time.Now()
	rate := float64(sent-pr.lastSent) / now.Sub(pr.lastAt).Seconds()
	pr.lastSent, pr.lastAt = sent, now
	eta := "?"
	if pr.total > 0 && rate > 0 && uint64(sent) <= pr.total {
		eta = (time.Duration(float64(pr.total-uint64(sent))/rate) * time.Second).Round(time.Second).String()
	}
	line := fmt.Sprintf("progress: sent %d of at most %d probes, %.0f/s, open %d, fingerprinted %d, detected %d, units done %d, elapsed %s, eta %s",
		sent, pr.total, rate, pr.st.Open.Load(), pr.st.Fingerprinted.Load(), pr.st.Detected.Load(), pr.st.UnitsDone.Load(),
		now.Sub(pr.start).Round(time.Second), eta)
	if n := pr.st.Spooled.Load(); n > 0 {
		line += fmt.Sprintf(", spooled %d", n)
	}
	switch {
	case pr.live && !final:
		fmt.Fprintf(pr.w, "\r\033[K%s", line)
	case pr.live:
		fmt.Fprintf(pr.w, "\r\033[K%s\n", line)
	default:
		fmt.Fprintln(pr.w, line)
	}
}
