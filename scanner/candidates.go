package scanner

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// CandidateSkip is a candidate record that is not probed, and why: it did not parse, a
// blocklist covers it, or it lies outside the scope; or, NotOpen, the record itself says the
// port is not an open TCP port (zmap's RSTs, nmap's closed ports, masscan's banners), which is
// no fault of the file.
type CandidateSkip struct {
	Line    int
	Text    string
	Reason  string
	NotOpen bool
}

// maxCandidateLine bounds one line (one record) of a candidates file.
const maxCandidateLine = 1 << 16

// ReadCandidates streams host:port candidates from an external sweep to fn. A record that does
// not parse, names no open TCP port, or whose address a blocklist covers or the scope leaves out
// is passed to skipped and the reading goes on: one bad record (masscan's banner lines, say)
// never stops a run. The format is recognised from the content, so the output of the usual
// tools can be given as written:
//
//   - "ip:port", "[ipv6]:port" (naabu, many others) and a bare address (defaultPort);
//   - CSV with a header naming the address (saddr or ip) and optionally the port (sport or
//     port) and status (success, classification): zmap -O csv, naabu -csv;
//   - one JSON object per line, in a JSON array or not: zmap -O json, naabu -json, masscan -oJ
//     and -oD;
//   - masscan -oL ("open tcp PORT IP TIME");
//   - grepable output, masscan -oG and nmap -oG ("Host: IP ... Ports: 18789/open/tcp//...");
//   - XML, nmap -oX and masscan -oX (<host> with <address> and <port><state state="open">).
//
// Only fn's error or a read error stops it. An XML file that ends early (an interrupted nmap)
// yields the hosts before the break and one skip that says where.
func ReadCandidates(name string, r io.Reader, bl *Blocklist, scope Scope, defaultPort uint16, fn func(netip.AddrPort) error, skipped func(CandidateSkip)) error {
	br := bufio.NewReaderSize(r, 4096)
	emit := func(line int, text string, aps []netip.AddrPort) error {
		for _, ap := range aps {
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
		return nil
	}
	var err error
	if looksLikeXML(br) {
		err = readXMLCandidates(br, emit, skipped)
	} else {
		err = readLineCandidates(br, defaultPort, emit, skipped)
	}
	if ce, ok := err.(callerError); ok {
		return ce.err // fn's own error, as fn returned it
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// callerError marks an error returned by fn, so that it is not taken for a read error.
type callerError struct{ err error }

func (c callerError) Error() string { return c.err.Error() }

// looksLikeXML reports whether the first non-blank byte (after a byte-order mark) opens a tag.
// It peeks no further than it must, so a pipe is never waited on for more.
func looksLikeXML(br *bufio.Reader) bool {
	bom := []byte("\ufeff")
	for n := 1; n <= 1024; n++ {
		b, _ := br.Peek(n)
		if len(b) < n {
			return false
		}
		if len(b) < len(bom) && bytes.HasPrefix(bom, b) {
			continue // maybe a byte-order mark
		}
		if t := bytes.TrimLeft(bytes.TrimPrefix(b, bom), " \t\r\n"); len(t) > 0 {
			return t[0] == '<'
		}
	}
	return false
}

// readLineCandidates reads the line-oriented formats.
func readLineCandidates(br *bufio.Reader, defaultPort uint16, emit func(int, string, []netip.AddrPort) error, skipped func(CandidateSkip)) error {
	var csv *csvColumns
	first := true
	for line := 1; ; line++ {
		raw, long, err := readLine(br)
		if err != nil && len(raw) == 0 {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if long {
			skipped(CandidateSkip{Line: line, Text: string(raw[:min(len(raw), 64)]) + "…", Reason: fmt.Sprintf("a line longer than %d bytes: no sweeper writes one", maxCandidateLine)})
			continue
		}
		text := strings.TrimSpace(string(raw))
		if line == 1 {
			text = strings.TrimSpace(strings.TrimPrefix(text, "\ufeff"))
		}
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if first {
			first = false
			if cols, ok := csvHeader(text); ok {
				csv = cols
				continue
			}
		}
		var aps []netip.AddrPort
		if csv != nil {
			aps, err = csv.parse(text, defaultPort)
		} else {
			aps, err = parseCandidateLine(text, defaultPort)
		}
		if err != nil {
			var no notOpen
			skipped(CandidateSkip{Line: line, Text: text, Reason: err.Error(), NotOpen: errors.As(err, &no)})
			continue
		}
		if err := emit(line, text, aps); err != nil {
			return callerError{err}
		}
	}
}

// readLine reads one line without its newline. A line longer than maxCandidateLine is read
// past to its end and reported as long, with its first bytes: memory stays bounded whatever
// the file holds, and the lines after it are still read.
func readLine(br *bufio.Reader) (line []byte, long bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > maxCandidateLine+1 {
			long = true
		}
		if !long {
			line = append(line, chunk...)
		} else if len(line) < 64 {
			line = append(line, chunk[:min(len(chunk), 64-len(line))]...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil:
			return line, long, err
		}
		return bytes.TrimSuffix(line, []byte("\n")), long, nil
	}
}

// parseCandidateLine reads one line of the formats without a header. Lines that belong to a
// format but carry no record (a JSON array's brackets, nmap's "Status: Up") yield nothing and
// no error.
func parseCandidateLine(text string, defaultPort uint16) ([]netip.AddrPort, error) {
	switch {
	case text == "[" || text == "]" || text == "," || text == "[]":
		return nil, nil
	case strings.HasPrefix(text, "{") || strings.HasPrefix(text, ",{") || strings.HasPrefix(text, ", {"):
		return parseJSONCandidate(text, defaultPort)
	case strings.HasPrefix(text, "Host:") || strings.Contains(text, "\tHost: ") || strings.HasPrefix(text, "Timestamp:"):
		return parseGrepable(text)
	}
	if f := strings.Fields(text); len(f) >= 4 && (f[0] == "open" || f[0] == "closed" || f[0] == "banner") {
		return parseMasscanList(f, text)
	}
	if ap, err := netip.ParseAddrPort(text); err == nil {
		if ap.Port() == 0 {
			return nil, fmt.Errorf("candidate %q: port 0", text)
		}
		a, err := normalizeAddr(ap.Addr())
		if err != nil {
			return nil, fmt.Errorf("candidate %q: %w", text, err)
		}
		return []netip.AddrPort{netip.AddrPortFrom(a, ap.Port())}, nil
	}
	if a, err := parseAddr(text); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(a, defaultPort)}, nil
	}
	if strings.Contains(text, ",") {
		return parseHeaderlessCSV(text, defaultPort)
	}
	return nil, fmt.Errorf("candidate %q: want ip:port, CSV, JSON, masscan -oL, grepable or XML output of a sweep", text)
}

// parseMasscanList reads a masscan -oL line: "open tcp PORT IP TIME". Banner lines and closed
// ports are records too, but not candidates.
func parseMasscanList(f []string, text string) ([]netip.AddrPort, error) {
	switch {
	case f[0] == "banner":
		return nil, notOpen("masscan banner line: not a port")
	case f[0] != "open":
		return nil, fmt.Errorf("masscan line %q: %w", text, notOpen("not open ("+f[0]+")"))
	case f[1] != "tcp":
		return nil, fmt.Errorf("masscan line %q: %w", text, notOpen("not TCP"))
	}
	p, err := parsePort(f[2])
	if err != nil {
		return nil, err
	}
	a, err := parseAddr(f[3])
	if err != nil {
		return nil, fmt.Errorf("masscan line %q: bad address", text)
	}
	return []netip.AddrPort{netip.AddrPortFrom(a, p)}, nil
}
