package scanner

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
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

// ReadTargets streams the targets named by specs to fn, in order (see TargetReader). A
// literal spec that is not a target is an error; a line of a file or of stdin that is not
// one is skipped.
func ReadTargets(specs []string, stdin io.Reader, fn func(Range) error) error {
	tr := TargetReader{Stdin: stdin}
	return tr.Read(specs, fn)
}

// TargetReader reads target specs. A spec is a target (IP, CIDR, a-b range; several joined by
// commas), "@FILE" or "-" for stdin: one target a line, blank lines and #-comments skipped,
// plain, gzip or xz (see openList), read line by line, never whole. A line that is not a
// target (or is longer than MaxLine) is skipped and counted in Stats with its file and line:
// a hitlist of millions of lines is read as published, never refused for a bad line. A file
// that cannot be read to its end (truncated, damaged) is an error: a census must not cover
// part of a list without saying so.
type TargetReader struct {
	// Stdin is read when a spec is "-".
	Stdin io.Reader
	// Open opens the file of an "@FILE" spec; nil means os.Open. A census worker reads the
	// plan's target files through it from the copies it checked against their hashes.
	Open func(path string) (io.ReadCloser, error)
	// Progress, when set, is called every ProgressLines lines of a file, and at its end.
	Progress func(file string, lines uint64)
	// Stats counts what was read and skipped so far.
	Stats ReadStats
}

// ProgressLines is how often TargetReader.Progress is called.
const ProgressLines = 1 << 20

// ReadStats counts the lines of target files (and stdin) read and skipped.
type ReadStats struct {
	Lines   uint64 `json:"lines"`
	Skipped uint64 `json:"skipped"`
	// Examples are the first few skipped lines, "file:line: why".
	Examples []string `json:"examples,omitempty"`
}

// maxExamples is how many skipped lines ReadStats names.
const maxExamples = 5

func (st *ReadStats) skip(name string, line uint64, err error) {
	st.Skipped++
	if len(st.Examples) < maxExamples {
		st.Examples = append(st.Examples, fmt.Sprintf("%s:%d: %v", name, line, err))
	}
}

// Read streams the targets of specs to fn, in order, stopping at fn's first error.
func (tr *TargetReader) Read(specs []string, fn func(Range) error) error {
	for _, spec := range specs {
		switch {
		case spec == "-":
			if tr.Stdin == nil {
				return errors.New("targets from stdin, but no stdin")
			}
			if err := tr.readLines("stdin", tr.Stdin, fn); err != nil {
				return err
			}
		case strings.HasPrefix(spec, "@"):
			f, err := openListWith(spec[1:], tr.Open)
			if err != nil {
				return fmt.Errorf("target file: %w", err)
			}
			err = tr.readLines(spec[1:], f, fn)
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

func (tr *TargetReader) readLines(name string, r io.Reader, fn func(Range) error) error {
	lr := newLineReader(name, r)
	for {
		text, long, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		tr.Stats.Lines++
		if tr.Progress != nil && lr.line%ProgressLines == 0 {
			tr.Progress(name, lr.line)
		}
		text, err = entry(text, long)
		if err != nil {
			tr.Stats.skip(name, lr.line, err)
			continue
		}
		if text == "" {
			continue
		}
		t, err := ParseTarget(text)
		if err != nil {
			tr.Stats.skip(name, lr.line, err)
			continue
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	if tr.Progress != nil && lr.line%ProgressLines != 0 {
		tr.Progress(name, lr.line)
	}
	return nil
}

// eachLine calls fn with every entry of r (a line stripped of its #-comment and white space;
// blank ones left out). A line fn refuses, or one longer than MaxLine, is an error naming the
// file and line: for lists where a skipped line would be a hole (exclusions).
func eachLine(name string, r io.Reader, fn func(text string) error) error {
	lr := newLineReader(name, r)
	for {
		text, long, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if text, err = entry(text, long); err == nil && text != "" {
			err = fn(text)
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, lr.line, err)
		}
	}
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
