// Package contacts finds who to tell about an address or an AS: the abuse mailbox, from the
// RIRs' public RPSL split dumps (RIPE, APNIC and the others that publish the same layout),
// the RIRs' delegation statistics (registry and country only) and a CERT's own contact table
// (CSV), which wins over RIR data. It reads local files only, streaming them: a full RIPE
// dump is gigabytes, and only the keys resolution needs are kept.
//
// It does not scan, fingerprint or store observations, and makes no network lookups (no
// whois, no RDAP). Its result is a DB, which Encode writes in a compact compiled form (the
// store keeps each import as a version of it) and Decode reads back.
package contacts

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// Help describes the contacts commands, for the CLI.
const Help = "import reads each FILE by its name: *.csv is the CERT's own table\n" +
	"(network_or_asn,contact,name[,tlp][,format]; it wins over RIR data), a name holding\n" +
	"delegated- is an RIR's delegated-*-extended-latest statistics (registry and country for\n" +
	"blocks with no contact), anything else an RPSL split dump (ripe.db.inetnum.gz, apnic.db.irt.gz,\n" +
	"…; gzip or plain), and stores what they give as a new contacts version in the store (--db):\n" +
	"all at once or nothing (Ctrl-C leaves no version). list shows the versions and their files;\n" +
	"lookup prints the contact for an IP or AS and the objects that gave it, from the newest\n" +
	"version or --contacts-version N; export --by contact reads the same."

// Source is one imported file.
type Source struct {
	Name     string // base name
	Kind     string // rpsl, delegated or cert-csv
	SHA256   string // of the file as read (compressed, if it was)
	Registry string // from the name (ripe.db.… is ripe), for RPSL dumps
	Size     int64  // bytes read (compressed, if it was)
	Objects  int    // objects, lines or rows used
}

// Config says what Import reports while it reads; its zero value reports nothing.
type Config struct {
	// Progress receives, per file, a line every ProgressEvery while the file is read (bytes
	// read of its size, the rate) and one when it is done. Nil: no lines.
	Progress io.Writer
	// ProgressEvery is the time between progress lines. Zero means 2 seconds; a negative value
	// writes a line after every read (tests).
	ProgressEvery time.Duration
	// Formats are the values a CERT table's format column may take, in lower case (clawcensus
	// passes its export formats). Nil takes any value: the caller checks it when it uses it.
	Formats []string
}

// DB holds the imported data. Build one with Import, or Decode one Encode wrote.
type DB struct {
	ImportID string // sha256 over the sources' hashes: the same files give the same id
	Imported time.Time
	Sources  []Source

	// Text holds the interned values back to back, value i ending at Ends[i]; value 0 is "".
	// One arena instead of a string each halves what a million handles cost.
	Text  []byte
	Ends  []uint32
	index map[uint64]uint32 // while importing: hash of a value → its id
	clash map[string]uint32 // values whose hash an earlier value had
	seed  maphash.Seed

	Net4    []Span[uint32]
	Net6    []Span[netip.Addr]
	ASN     []Span[uint32]    // aut-num objects, Lo == Hi
	Roles   map[uint32]uint32 // role nic-hdl → abuse-mailbox
	Orgs    map[uint32]uint32 // organisation → abuse-c
	IRTs    map[uint32]uint32 // irt → abuse-mailbox
	Deleg4  []Span[uint32]
	Deleg6  []Span[netip.Addr]
	DelegAS []Span[uint32]
	Cert    []CertEntry
}

// CertEntry is one row of the CERT's own table.
type CertEntry struct {
	Prefix                     netip.Prefix // or an AS
	ASN                        uint32
	Contact, Name, TLP, Format string
	Src                        uint16
	Line                       int
}

// Import reads files (see Help) into a new DB. An error names the file and, where it can,
// the line. A cancelled ctx stops it within one read.
func Import(ctx context.Context, cfg Config, paths ...string) (*DB, error) {
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = 2 * time.Second
	}
	db := newDB()
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := db.importFile(ctx, cfg, p); err != nil {
			return nil, fmt.Errorf("import %s: %w", p, err)
		}
	}
	db.finish()
	return db, nil
}

func (db *DB) importFile(ctx context.Context, cfg Config, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	name := filepath.Base(path)
	m := &meter{r: f, name: textsafe.Clean(name, 200), w: cfg.Progress, every: cfg.ProgressEvery, start: time.Now()}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		m.size = fi.Size()
	}
	m.last = m.start
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(m, h), 256<<10)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		r = gz
	}
	cr := &ctxReader{ctx: ctx, r: r}
	r = cr
	src := Source{Name: name}
	if len(db.Sources) >= 1<<16-1 || len(db.Text) > 1<<32-1<<20 {
		return errors.New("too many files")
	}
	i := uint16(len(db.Sources))
	switch {
	case strings.HasSuffix(strings.TrimSuffix(strings.ToLower(name), ".gz"), ".csv"):
		src.Kind = "cert-csv"
		src.Objects, err = db.readCert(r, i, cfg.Formats)
	case strings.Contains(name, "delegated-"):
		src.Kind = "delegated"
		src.Objects, err = db.readDelegated(r, i)
	default:
		src.Kind = "rpsl"
		if reg, _, ok := strings.Cut(name, ".db."); ok {
			src.Registry = strings.ToLower(reg)
		}
		src.Objects, err = db.readDump(r, i)
	}
	if cr.err != nil && !errors.Is(cr.err, io.EOF) {
		err = cr.err // a parser may stumble on the half line a broken stream ends with: say why it ended
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) {
			return fmt.Errorf("%w (a truncated or corrupt gzip file? fetch it again)", err)
		}
		return err
	}
	if _, err := io.Copy(io.Discard, br); err != nil { // hash what the parser did not need
		return err
	}
	src.SHA256, src.Size = hex.EncodeToString(h.Sum(nil)), m.n
	db.Sources = append(db.Sources, src)
	m.done(src.Objects)
	return nil
}

// ctxReader stops a long import when ctx is cancelled, and keeps the error that ended the
// stream.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

func newDB() *DB {
	return &DB{Ends: []uint32{0}, index: map[uint64]uint32{}, clash: map[string]uint32{}, seed: maphash.MakeSeed(),
		Roles: map[uint32]uint32{}, Orgs: map[uint32]uint32{}, IRTs: map[uint32]uint32{}}
}

// intern returns the id of s, adding it if new.
func (db *DB) intern(s string) uint32 {
	if s == "" {
		return 0
	}
	h := maphash.String(db.seed, s)
	id, ok := db.index[h]
	if ok && db.str(id) == s {
		return id
	}
	if id, ok := db.clash[s]; ok {
		return id
	}
	db.Text = append(db.Text, s...)
	db.Ends = append(db.Ends, uint32(len(db.Text)))
	next := uint32(len(db.Ends) - 1)
	if ok {
		db.clash[s] = next
	} else {
		db.index[h] = next
	}
	return next
}

// str is the interned value id ("" for 0 or an id out of range).
func (db *DB) str(id uint32) string {
	if id == 0 || int(id) >= len(db.Ends) || db.Ends[id-1] > db.Ends[id] || int(db.Ends[id]) > len(db.Text) {
		return ""
	}
	return string(db.Text[db.Ends[id-1]:db.Ends[id]])
}

// readDump keeps, per object, only the handles resolution follows.
func (db *DB) readDump(r io.Reader, src uint16) (int, error) {
	n := 0
	err := readRPSL(r, func(obj []attr) error {
		get := func(key string) string {
			for _, a := range obj[1:] {
				if a.key == key {
					return token(a.value)
				}
			}
			return ""
		}
		handle := func(key string) uint32 { return db.intern(strings.ToUpper(get(key))) }
		var k Keys
		if cls := obj[0].key; cls == "inetnum" || cls == "inet6num" || cls == "aut-num" {
			k = Keys{AbuseC: handle("abuse-c"), Org: handle("org"), IRT: handle("mnt-irt"), Src: src}
			copy(k.CC[:], strings.ToUpper(get("country")))
			if k.AbuseC == 0 && k.Org == 0 && k.IRT == 0 {
				return nil // nothing to resolve; its country alone is not worth the memory
			}
		}
		n++
		switch obj[0].key {
		case "inetnum", "inet6num":
			lo, hi, err := parseRange(obj[0].value)
			if err != nil {
				return fmt.Errorf("%s %q: %w", obj[0].key, obj[0].value, err)
			}
			if lo.Is4() {
				db.Net4 = append(db.Net4, Span[uint32]{Lo: v4(lo), Hi: v4(hi), K: k})
			} else {
				db.Net6 = append(db.Net6, Span[netip.Addr]{Lo: lo, Hi: hi, K: k})
			}
		case "aut-num":
			as, err := parseASN(obj[0].value)
			if err != nil {
				return err
			}
			db.ASN = append(db.ASN, Span[uint32]{Lo: as, Hi: as, K: k})
		case "role":
			if mb := get("abuse-mailbox"); mb != "" {
				db.Roles[db.intern(strings.ToUpper(get("nic-hdl")))] = db.intern(mb)
			}
		case "irt":
			if mb := get("abuse-mailbox"); mb != "" {
				db.IRTs[db.intern(strings.ToUpper(token(obj[0].value)))] = db.intern(mb)
			}
		case "organisation":
			if c := handle("abuse-c"); c != 0 {
				db.Orgs[db.intern(strings.ToUpper(token(obj[0].value)))] = c
			}
		}
		return nil
	})
	return n, err
}

// parseRange reads `a - b`, a prefix or one address.
func parseRange(s string) (lo, hi netip.Addr, err error) {
	s, _, _ = strings.Cut(s, "#")
	if a, b, ok := strings.Cut(s, "-"); ok {
		if lo, err = netip.ParseAddr(strings.TrimSpace(a)); err == nil {
			hi, err = netip.ParseAddr(strings.TrimSpace(b))
		}
		if err == nil && (lo.Is4() != hi.Is4() || hi.Less(lo)) {
			err = errors.New("not a range")
		}
		return lo.Unmap(), hi.Unmap(), err
	}
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		lo, err = netip.ParseAddr(s)
		return lo.Unmap(), lo.Unmap(), err
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return lo, hi, err
	}
	return rangeOf(p.Masked())
}

func rangeOf(p netip.Prefix) (lo, hi netip.Addr, err error) {
	lo = p.Addr().Unmap()
	b := lo.AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	hi, _ = netip.AddrFromSlice(b)
	return lo, hi, nil
}

func v4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr4(u uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}

// parseASN reads AS64500, as64500 or 64500.
func parseASN(s string) (uint32, error) {
	t := strings.TrimPrefix(strings.ToUpper(token(s)), "AS")
	var n uint64
	if t == "" || len(t) > 10 {
		return 0, fmt.Errorf("%q: not an AS number", s)
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q: not an AS number", s)
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<32-1 {
		return 0, fmt.Errorf("%q: not an AS number", s)
	}
	return uint32(n), nil
}

func (db *DB) finish() {
	db.index, db.clash = nil, nil // only an import adds values
	finish(db.Net4, cmp.Compare[uint32])
	finish(db.Net6, netip.Addr.Compare)
	finish(db.ASN, cmp.Compare[uint32])
	finish(db.Deleg4, cmp.Compare[uint32])
	finish(db.Deleg6, netip.Addr.Compare)
	finish(db.DelegAS, cmp.Compare[uint32])
	var ids []string
	for _, s := range db.Sources {
		ids = append(ids, s.SHA256)
	}
	slices.Sort(ids)
	sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	db.ImportID = hex.EncodeToString(sum[:6])
	db.Imported = time.Now().UTC()
}
