package scanner

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// CandidateSkip is a candidate line that is not probed, and why: it did not parse, a
// blocklist covers it, or it lies outside the scope.
type CandidateSkip struct {
	Line   int
	Text   string
	Reason string
}

// ReadCandidates streams host:port candidates from an external sweep to fn. A line that does
// not parse, or whose address a blocklist covers or the scope leaves out, is passed to skipped
// and the reading goes on: one bad line (masscan's banner lines, say) never stops a run. It
// accepts, line by line: "ip:port" and "[ipv6]:port"; zmap CSV with a header naming saddr and
// sport (or only saddr, then defaultPort); masscan -oL lines "open tcp PORT IP TIME"; and a
// bare IP (defaultPort). Only fn's error or a read error stops it.
func ReadCandidates(name string, r io.Reader, bl *Blocklist, scope Scope, defaultPort uint16, fn func(netip.AddrPort) error, skipped func(CandidateSkip)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<16)
	saddr, sport := -1, -1
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if line == 1 && strings.Contains(text, "saddr") {
			for i, f := range strings.Split(text, ",") {
				switch strings.TrimSpace(f) {
				case "saddr":
					saddr = i
				case "sport":
					sport = i
				}
			}
			continue
		}
		ap, err := parseCandidate(text, saddr, sport, defaultPort)
		if err != nil {
			skipped(CandidateSkip{Line: line, Text: text, Reason: err.Error()})
			continue
		}
		if src, blocked := bl.Lookup(ap.Addr()); blocked {
			skipped(CandidateSkip{Line: line, Text: text, Reason: "blocked by " + src})
			continue
		}
		if err := scope.Check(ap.Addr()); err != nil {
			skipped(CandidateSkip{Line: line, Text: text, Reason: err.Error()})
			continue
		}
		if err := fn(ap); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

func parseCandidate(text string, saddr, sport int, defaultPort uint16) (netip.AddrPort, error) {
	if saddr >= 0 {
		fields := strings.Split(text, ",")
		if saddr >= len(fields) || (sport >= len(fields)) {
			return netip.AddrPort{}, fmt.Errorf("zmap CSV line %q has too few fields", text)
		}
		a, err := parseAddr(fields[saddr])
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("zmap CSV line %q: bad saddr", text)
		}
		p := defaultPort
		if sport >= 0 {
			if p, err = parsePort(fields[sport]); err != nil {
				return netip.AddrPort{}, err
			}
		}
		return netip.AddrPortFrom(a, p), nil
	}
	if f := strings.Fields(text); len(f) >= 4 && f[0] == "open" && f[1] == "tcp" {
		p, err := parsePort(f[2])
		if err != nil {
			return netip.AddrPort{}, err
		}
		a, err := parseAddr(f[3])
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("masscan line %q: bad address", text)
		}
		return netip.AddrPortFrom(a, p), nil
	}
	if ap, err := netip.ParseAddrPort(text); err == nil {
		if ap.Port() == 0 {
			return netip.AddrPort{}, fmt.Errorf("candidate %q: port 0", text)
		}
		a, err := normalizeAddr(ap.Addr())
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("candidate %q: %w", text, err)
		}
		return netip.AddrPortFrom(a, ap.Port()), nil
	}
	if a, err := parseAddr(text); err == nil {
		return netip.AddrPortFrom(a, defaultPort), nil
	}
	return netip.AddrPort{}, fmt.Errorf("candidate %q: want ip:port, a zmap CSV or masscan -oL line", text)
}
