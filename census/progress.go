package census

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Progress reports a run's work done and left on a writer (stderr): a live line on a terminal (cleared before
// any result row is printed), a plain line every 10 seconds otherwise, and a closing line of
// totals. A sweep counts its first pass against the planned probes and retries apart; the ETA
// is the first pass left at the recent rate, scaled by the retries actually sent so far.
// Candidates have no total: their lines read are counted instead.
type Progress struct {
	w          io.Writer
	firstPass  uint64 // planned probes (0 with candidates)
	candidates bool
	st         *Stats
	live       bool
	start      time.Time

	mu       sync.Mutex
	showing  bool // a live line is on the terminal
	lastSent int64
	lastAt   time.Time
}

// NewProgress writes a run's progress to w once the run starts (see ScanConfig).
func NewProgress(w io.Writer) *Progress { return &Progress{w: w, live: isTerminal(w)} }

// begin sets what the run will do; st are its counters.
func (pr *Progress) begin(firstPass uint64, candidates bool, st *Stats) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	now := time.Now()
	pr.firstPass, pr.candidates, pr.st, pr.start, pr.lastAt = firstPass, candidates, st, now, now
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (pr *Progress) run(ctx context.Context) {
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
			pr.print()
		}
	}
}

// Clear takes the live line off the terminal before a result row is printed there; the next
// tick draws it again below the row.
func (pr *Progress) Clear() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.showing {
		fmt.Fprint(pr.w, "\r\033[K")
		pr.showing = false
	}
}

func (pr *Progress) print() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	line := pr.line(time.Now())
	if pr.live {
		fmt.Fprintf(pr.w, "\r\033[K%s", line)
		pr.showing = true
		return
	}
	fmt.Fprintln(pr.w, line)
}

func (pr *Progress) line(now time.Time) string {
	sent, retried := pr.st.Sent.Load(), pr.st.Retried.Load()
	rate := float64(sent-pr.lastSent) / now.Sub(pr.lastAt).Seconds()
	pr.lastSent, pr.lastAt = sent, now
	found := fmt.Sprintf("open %d, fingerprinted %d, detected %d", pr.st.Open.Load(), pr.st.Fingerprinted.Load(), pr.st.Detected.Load()) + pr.honeypots()
	elapsed := now.Sub(pr.start).Round(time.Second)
	var line string
	if pr.candidates {
		line = fmt.Sprintf("progress: candidate lines read %d, %s, elapsed %s", pr.st.Read.Load(), found, elapsed)
	} else {
		first := uint64(sent - retried)
		line = fmt.Sprintf("progress: first pass %d of %d probes", min(first, pr.firstPass), pr.firstPass)
		if retried > 0 {
			line += fmt.Sprintf(", retries %d", retried)
		}
		line += fmt.Sprintf(", %.0f/s, %s, units done %d, elapsed %s", rate, found, pr.st.UnitsDone.Load(), elapsed)
		if first < pr.firstPass {
			line += ", eta " + eta(pr.firstPass, first, uint64(sent), rate)
		} else {
			line += ", first pass done"
		}
	}
	return line + pr.losses()
}

// eta is the first pass left (first < total) at rate, scaled by the probes sent per
// first-pass probe so far (retries cost time too); "?" before anything was measured.
func eta(total, first, sent uint64, rate float64) string {
	if rate <= 0 || first == 0 {
		return "?"
	}
	perProbe := float64(sent) / float64(first)
	return (time.Duration(float64(total-first)*perProbe/rate) * time.Second).Round(time.Second).String()
}

// honeypots names the probable honeypots found, counted apart from the gateways, when any were.
func (pr *Progress) honeypots() string {
	if n := pr.st.Honeypots.Load(); n > 0 {
		return fmt.Sprintf(" (and %d probable honeypots, not counted)", n)
	}
	return ""
}

// losses names, when there are any, the observations held in the spool and the answers the
// sweep could not keep.
func (pr *Progress) losses() string {
	var s string
	if n := pr.st.Spooled.Load(); n > 0 {
		s += fmt.Sprintf(", spooled %d", n)
	}
	if n := pr.st.Lost.Load(); n > 0 {
		s += fmt.Sprintf(", answers lost %d", n)
	}
	return s
}

// final replaces the live line with the totals.
func (pr *Progress) final() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	sent, retried := pr.st.Sent.Load(), pr.st.Retried.Load()
	what := fmt.Sprintf("%d probes sent (%d first pass, %d retries)", sent, sent-retried, retried)
	if pr.candidates {
		what = fmt.Sprintf("%d candidate lines read", pr.st.Read.Load())
	}
	line := fmt.Sprintf("done: %s, open %d, fingerprinted %d, detected %d%s, units done %d, in %s", what, pr.st.Open.Load(),
		pr.st.Fingerprinted.Load(), pr.st.Detected.Load(), pr.honeypots(), pr.st.UnitsDone.Load(), time.Since(pr.start).Round(time.Millisecond))
	line += pr.losses()
	if pr.live {
		fmt.Fprint(pr.w, "\r\033[K")
	}
	fmt.Fprintln(pr.w, line)
	pr.showing = false
}
