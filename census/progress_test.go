package census

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestProgressLines(t *testing.T) {
	st := &Stats{}
	pr := newProgress(&bytes.Buffer{}, 1000, false, st)
	start := pr.lastAt
	st.Sent.Store(500)
	if got := pr.line(start.Add(time.Second)); !strings.Contains(got, "first pass 500 of 1000 probes, 500/s") || !strings.Contains(got, "eta 1s") {
		t.Errorf("half way: %q", got)
	}
	// Retries: 100 of the 1,100 sent repeat unanswered probes; 1,000 first-pass probes are done.
	st.Sent.Store(1100)
	st.Retried.Store(100)
	got := pr.line(start.Add(2 * time.Second))
	if !strings.Contains(got, "first pass 1000 of 1000 probes, retries 100") || !strings.Contains(got, "first pass done") || strings.Contains(got, "eta") {
		t.Errorf("after the first pass: %q", got)
	}
	// The ETA counts the retries sent so far per first-pass probe: 400 left × 1.25 at 500/s.
	st.Sent.Store(750)
	st.Retried.Store(150)
	pr.lastSent, pr.lastAt = 250, start
	if got := pr.line(start.Add(time.Second)); !strings.Contains(got, "eta 1s") {
		t.Errorf("with retries: %q", got)
	}

	// Probable honeypots are a number apart, named only when there are any.
	st.Detected.Store(7)
	if got := pr.line(start.Add(3 * time.Second)); !strings.Contains(got, "detected 7,") || strings.Contains(got, "honeypot") {
		t.Errorf("no honeypot: %q", got)
	}
	st.Honeypots.Store(2)
	if got := pr.line(start.Add(4 * time.Second)); !strings.Contains(got, "detected 7 (and 2 probable honeypots, not counted),") {
		t.Errorf("two honeypots: %q", got)
	}

	cand := newProgress(&bytes.Buffer{}, 0, true, &Stats{})
	cand.st.Read.Store(42)
	if got := cand.line(time.Now()); !strings.Contains(got, "candidate lines read 42") || strings.Contains(got, "eta") || strings.Contains(got, "of 0") {
		t.Errorf("candidates: %q", got)
	}
}

func TestProgressClearsBeforeRowsAndEndsWithTotals(t *testing.T) {
	var b bytes.Buffer
	st := &Stats{}
	pr := newProgress(&b, 10, false, st)
	pr.live = true
	pr.Clear()
	if b.Len() != 0 {
		t.Errorf("clear with no live line wrote %q", b.String())
	}
	pr.print()
	pr.Clear()
	if !strings.HasSuffix(b.String(), "\r\033[K") {
		t.Errorf("the live line was not cleared before a row: %q", b.String())
	}
	st.Sent.Store(12)
	st.Retried.Store(2)
	b.Reset()
	pr.final()
	if got := b.String(); !strings.Contains(got, "done: 12 probes sent (10 first pass, 2 retries)") || strings.Contains(got, "eta") || !strings.HasSuffix(got, "\n") {
		t.Errorf("final line: %q", got)
	}
}

func newProgress(w io.Writer, firstPass uint64, candidates bool, st *Stats) *Progress {
	pr := NewProgress(w)
	pr.begin(firstPass, candidates, st)
	return pr
}
