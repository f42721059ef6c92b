package scanner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"os"
	"strings"
)

// MaxRangeSize is the most addresses one target may cover. IPv6 space cannot be swept
// exhaustively, so IPv6 prefixes shorter than /96 are refused rather than silently truncated.
const MaxRangeSize = 1 << 32

// Range is an inclusive range of addresses of one family.
type Range struct {
	First, Last netip.Addr
}

// Size is the number of addresses in r.
func (r Range) Size() uint64 {
	return toU128(r.First).diff(toU128(r.Last)) + 1
}

// Addr returns the i-th address of r; i must be below r.Size().
func (r Range) Addr(i uint64) netip.Addr {
	return fromU128(toU128(r.First).add(i), r.First.Is4())
}

func (r Range) String() string {
	if r.First == r.Last {
		return r.First.String()
	}
	return r.First.String() + "-" + r.Last.String()
}

// ParseTarget parses one target: an address, a CIDR prefix or an "a-b" range of one family.
func ParseTarget(s string) (Range, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Range{}, errors.New("empty target")
	}
	var r Range
	switch {
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Range{}, fmt.Errorf("target %q: not a CIDR prefix", s)
		}
		if p, err = normalizePrefix(p); err != nil {
			return Range{}, fmt.Errorf("target %q: %w", s, err)
		}
		r.First = p.Addr()
		hostBits := p.Addr().BitLen() - p.Bits()
		if hostBits > 32 {
			return Range{}, fmt.Errorf("target %q: %d addresses is more than one sweep covers (IPv6 prefixes must be /96 or longer)", s, uint64(1)<<min(hostBits, 63))
		}
		r.Last = fromU128(toU128(r.First).add(uint64(1)<<hostBits-1), r.First.Is4())
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		first, err1 := parseAddr(a)
		last, err2 := parseAddr(b)
		if err1 != nil || err2 != nil {
			return Range{}, fmt.Errorf("target %q: a range is two addresses joined by '-'", s)
		}
		if first.Is4() != last.Is4() {
			return Range{}, fmt.Errorf("target %q: a range cannot mix IPv4 and IPv6", s)
		}
		if toU128(last).less(toU128(first)) {
			return Range{}, fmt.Errorf("target %q: range ends before it starts", s)
		}
		r = Range{First: first, Last: last}
		if hi, lo := toU128(first), toU128(last); hi.hi != lo.hi || lo.lo-hi.lo >= MaxRangeSize {
			return Range{}, fmt.Errorf("target %q: more than %d addresses in one range", s, uint64(MaxRangeSize))
		}
	default:
		a, err := parseAddr(s)
		if err != nil {
			return Range{}, fmt.Errorf("target %q: not an IP address, CIDR or range", s)
		}
		r = Range{First: a, Last: a}
	}
	// An IPv6 range that reaches into the IPv4-compatible addresses (::/97, say) would mix
	// addresses read as IPv4 by scope and blocklists with ones read as IPv6: refused.
	if r.First.Is6() && !ipv4CompatibleLast.Less(r.First) && !r.Last.Less(ipv4CompatibleFirst) {
		return Range{}, fmt.Errorf("target %q: reaches into the IPv4-compatible addresses ::1.0.0.0-::255.255.255.255 (deprecated); write IPv4 targets as IPv4", s)
	}
	return r, nil
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, err
	}
	return normalizeAddr(a)
}

// ReadTargets streams the targets named by specs to fn, in order. A spec is a target,
// "@FILE" (one target per line; blank lines and #-comments are skipped) or "-" for stdin.
// Files are read line by line, never whole.
func ReadTargets(specs []string, stdin io.Reader, fn func(Range) error) error {
	for _, spec := range specs {
		switch {
		case spec == "-":
			if err := readTargetLines("stdin", stdin, fn); err != nil {
				return err
			}
		case strings.HasPrefix(spec, "@"):
			f, err := os.Open(spec[1:])
			if err != nil {
				return fmt.Errorf("target file: %w", err)
			}
			err = readTargetLines(spec[1:], f, fn)
			f.Close()
			if err != nil {
				return err
			}
		default:
			for _, field := range strings.Split(spec, ",") {
				r, err := ParseTarget(field)
				if err != nil {
					return err
				}
				if err := fn(r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func readTargetLines(name string, r io.Reader, fn func(Range) error) error {
	return eachLine(name, r, func(text string) error {
		t, err := ParseTarget(text)
		if err != nil {
			return err
		}
		return fn(t)
	})
}

// eachLine calls fn with every non-blank line of r, stripped of #-comments and white space.
// An error from parsing a line is returned with the file name and line number.
func eachLine(name string, r io.Reader, fn func(text string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<16)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if err := fn(text); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// Prefixes returns the fewest CIDR prefixes that exactly cover r.
func (r Range) Prefixes() []netip.Prefix {
	is4 := r.First.Is4()
	bitLen := r.First.BitLen()
	cur, last := toU128(r.First), toU128(r.Last)
	var out []netip.Prefix
	for {
		// The largest block that starts at cur (alignment) and ends by last. Ranges span at
		// most 2^32 addresses within one upper half, so the low 64 bits decide.
		size := uint64(1)
		for size < 1<<32 && cur.lo%(size*2) == 0 && cur.lo+size*2-1 <= last.lo && cur.lo+size*2-1 >= cur.lo {
			size *= 2
		}
		out = append(out, netip.PrefixFrom(fromU128(cur, is4), bitLen-bits.TrailingZeros64(size)))
		end := cur.add(size - 1)
		if !end.less(last) {
			return out
		}
		cur = end.add(1)
	}
}
