package contacts

import (
	"fmt"
	"io"
	"time"
)

// meter counts the bytes read from one file and writes Config.Progress's lines: a full RIPE
// dump takes minutes, and the person who started it should see it move.
type meter struct {
	r           io.Reader
	w           io.Writer
	name        string
	n, size     int64
	every       time.Duration
	start, last time.Time
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.n += int64(n)
	if m.w != nil {
		if now := time.Now(); m.every < 0 || now.Sub(m.last) >= m.every {
			m.last = now
			of := ""
			if m.size > 0 {
				of = fmt.Sprintf(" of %s (%d%%)", mib(m.size), m.n*100/m.size)
			}
			fmt.Fprintf(m.w, "contacts: %s: %s%s, %s/s\n", m.name, mib(m.n), of, mib(rate(m.n, now.Sub(m.start))))
		}
	}
	return n, err
}

// done writes the file's last line.
func (m *meter) done(objects int) {
	if m.w != nil {
		took := time.Since(m.start)
		fmt.Fprintf(m.w, "contacts: %s: %s read in %s (%s/s), %d used\n", m.name, mib(m.n), took.Round(100*time.Millisecond),
			mib(rate(m.n, took)), objects)
	}
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
