package contacts

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// readDelegated reads an RIR's delegated-*-extended-latest file:
// registry|cc|type|start|value|date|status[|opaque-id], skipping the version line, the
// summary lines and blocks that are available or reserved (they have no holder).
func (db *DB) readDelegated(r io.Reader, src uint16) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	n, line := 0, 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		f := strings.Split(s, "|")
		if len(f) < 7 || f[1] == "*" || f[5] == "summary" || (f[6] != "allocated" && f[6] != "assigned") {
			continue // the version line, a summary line, a free block
		}
		reg := db.intern(strings.ToLower(f[0]))
		if reg > 1<<16-1 {
			return n, fmt.Errorf("line %d: too many distinct values", line)
		}
		k := Keys{Src: src, Reg: uint16(reg)}
		copy(k.CC[:], strings.ToUpper(f[1]))
		value, err := strconv.ParseUint(f[4], 10, 64)
		if err != nil || value == 0 {
			return n, fmt.Errorf("line %d: value %q is no count", line, f[4])
		}
		switch f[2] {
		case "ipv4":
			a, err := netip.ParseAddr(f[3])
			if err != nil || !a.Is4() || uint64(v4(a))+value-1 > 1<<32-1 {
				return n, fmt.Errorf("line %d: %q + %d is no IPv4 block", line, f[3], value)
			}
			db.Deleg4 = append(db.Deleg4, Span[uint32]{Lo: v4(a), Hi: v4(a) + uint32(value-1), K: k})
		case "ipv6":
			p, err := netip.ParsePrefix(f[3] + "/" + f[4])
			if err != nil || !p.Addr().Is6() {
				return n, fmt.Errorf("line %d: %s/%s is no IPv6 prefix", line, f[3], f[4])
			}
			lo, hi, _ := rangeOf(p.Masked())
			db.Deleg6 = append(db.Deleg6, Span[netip.Addr]{Lo: lo, Hi: hi, K: k})
		case "asn":
			as, err := parseASN(f[3])
			if err != nil || uint64(as)+value-1 > 1<<32-1 {
				return n, fmt.Errorf("line %d: %q + %d is no AS block", line, f[3], value)
			}
			db.DelegAS = append(db.DelegAS, Span[uint32]{Lo: as, Hi: as + uint32(value-1), K: k})
		default:
			continue
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("after line %d: %w", line, err)
	}
	return n, nil
}

// readCert reads the CERT's own table: network_or_asn,contact,name[,tlp][,format], a header
// line allowed, `#` comments. A network is a prefix or one address; an AS is AS64500 or 64500.
// tlp is a TLP label (ParseTLP), format one of formats (any when nil), both "" for the
// sender's default. They are the contact's: its rows, in this file or an earlier one, may
// leave them empty but not differ.
func (db *DB) readCert(r io.Reader, src uint16, formats []string) (int, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	terms := map[string]*[2]CertEntry{} // contact → the rows that gave its tlp and format
	for _, e := range db.Cert {
		db.certTerms(terms, e)
	}
	n := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		line, _ := cr.FieldPos(0)
		if n == 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "network_or_asn") {
			continue
		}
		if len(rec) < 3 || len(rec) > 5 {
			return n, fmt.Errorf("line %d: %d fields, want network_or_asn,contact,name[,tlp][,format]", line, len(rec))
		}
		for len(rec) < 5 {
			rec = append(rec, "")
		}
		e := CertEntry{Contact: strings.TrimSpace(rec[1]), Name: strings.TrimSpace(rec[2]), Format: strings.ToLower(strings.TrimSpace(rec[4])),
			Src: src, Line: line}
		if e.Contact == "" {
			return n, fmt.Errorf("line %d: no contact", line)
		}
		if e.TLP, err = ParseTLP(rec[3]); err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		if e.Format != "" && formats != nil && !slices.Contains(formats, e.Format) {
			return n, fmt.Errorf("line %d: format %q: want one of %s, or nothing for the export's --format", line,
				textsafe.Clean(rec[4], 40), strings.Join(formats, ", "))
		}
		key := strings.TrimSpace(rec[0])
		if p, err := netip.ParsePrefix(key); err == nil {
			e.Prefix = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-bitsLost(p)).Masked()
		} else if a, err := netip.ParseAddr(key); err == nil {
			e.Prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		} else if as, err := parseASN(key); err == nil {
			e.ASN = as
		} else {
			return n, fmt.Errorf("line %d: %q is no network (prefix or address) or AS", line, key)
		}
		if err := db.certTerms(terms, e); err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		db.Cert = append(db.Cert, e)
		n++
	}
}

// certTerms notes e's tlp and format as its contact's (in terms), or says how they differ from
// what an earlier row gave.
func (db *DB) certTerms(terms map[string]*[2]CertEntry, e CertEntry) error {
	key := strings.ToLower(e.Contact)
	t := terms[key]
	if t == nil {
		t = &[2]CertEntry{}
		terms[key] = t
	}
	for i, v := range []struct{ name, value, earlier string }{{"tlp", e.TLP, t[0].TLP}, {"format", e.Format, t[1].Format}} {
		switch {
		case v.value == "":
		case v.earlier == "":
			t[i] = e
		case v.value != v.earlier:
			at := fmt.Sprintf("line %d", t[i].Line)
			if t[i].Src != e.Src {
				at = db.file(t[i].Src) + " " + at
			}
			return fmt.Errorf("%s has %s %s here and %s on %s: one %s per contact (leave it empty on its other rows)",
				textsafe.Clean(e.Contact, 100), v.name, textsafe.Clean(v.value, 40), textsafe.Clean(v.earlier, 40), at, v.name)
		}
	}
	return nil
}

// bitsLost is how many prefix bits an IPv4-mapped prefix loses when unmapped.
func bitsLost(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return 96
	}
	return 0
}
