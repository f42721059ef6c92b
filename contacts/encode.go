package contacts

import (
	"bufio"
	"cmp"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"time"
)

// encodingMagic starts the compiled form, with the form's version: data of another version is
// refused, never half read.
const encodingMagic = "clawcensus-contacts 2\n"

// perMessage bounds the elements of one gob message. The encoder builds each message whole in
// memory, so writing a DB of any size costs about a megabyte beyond the DB itself.
const perMessage = 1 << 15

// header is the first message: the import, and the length of every section after it.
type header struct {
	ImportID string
	Imported time.Time
	Sources  []Source
	Lens     []int // sections, in the order Encode writes them
}

const sections = 12

// Encode writes db's compiled form to w: a magic line, then gob messages, each section cut into
// messages of at most perMessage elements, so that neither side holds a second copy of db.
func (db *DB) Encode(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := io.WriteString(bw, encodingMagic); err != nil {
		return err
	}
	roles, orgs, irts := pairs(db.Roles), pairs(db.Orgs), pairs(db.IRTs)
	enc := gob.NewEncoder(bw)
	err := enc.Encode(header{ImportID: db.ImportID, Imported: db.Imported, Sources: db.Sources, Lens: []int{len(db.Text), len(db.Ends),
		len(db.Net4), len(db.Net6), len(db.ASN), len(roles), len(orgs), len(irts), len(db.Deleg4), len(db.Deleg6), len(db.DelegAS), len(db.Cert)}})
	chunks(enc, &err, db.Text)
	chunks(enc, &err, db.Ends)
	chunks(enc, &err, db.Net4)
	chunks(enc, &err, db.Net6)
	chunks(enc, &err, db.ASN)
	chunks(enc, &err, roles)
	chunks(enc, &err, orgs)
	chunks(enc, &err, irts)
	chunks(enc, &err, db.Deleg4)
	chunks(enc, &err, db.Deleg6)
	chunks(enc, &err, db.DelegAS)
	chunks(enc, &err, db.Cert)
	if err != nil {
		return err
	}
	return bw.Flush()
}

// pairs flattens m to key, value, key, value…, keys in order: the same DB encodes the same.
func pairs(m map[uint32]uint32) []uint32 {
	out := make([]uint32, 0, 2*len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k, m[k])
	}
	return out
}

// chunks writes s in messages of perMessage elements, unless *err holds an earlier error.
func chunks[T any](enc *gob.Encoder, err *error, s []T) {
	for ; *err == nil && len(s) > 0; s = s[min(len(s), perMessage):] {
		*err = enc.Encode(s[:min(len(s), perMessage)])
	}
}

// Decode reads what Encode wrote. Data that is cut short, of another version or inconsistent
// (an index out of range, spans out of order) is an error, never a DB that misanswers.
func Decode(r io.Reader) (*DB, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, len(encodingMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != encodingMagic {
		return nil, errors.New("not compiled contacts of this version (import the files again)")
	}
	dec := gob.NewDecoder(br)
	var h header
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("compiled contacts: header: %w", err)
	}
	if len(h.Lens) != sections {
		return nil, fmt.Errorf("compiled contacts: %d sections, want %d", len(h.Lens), sections)
	}
	db := &DB{ImportID: h.ImportID, Imported: h.Imported, Sources: h.Sources}
	var roles, orgs, irts []uint32
	var err error
	read(dec, &err, &db.Text, h.Lens[0])
	read(dec, &err, &db.Ends, h.Lens[1])
	read(dec, &err, &db.Net4, h.Lens[2])
	read(dec, &err, &db.Net6, h.Lens[3])
	read(dec, &err, &db.ASN, h.Lens[4])
	read(dec, &err, &roles, h.Lens[5])
	read(dec, &err, &orgs, h.Lens[6])
	read(dec, &err, &irts, h.Lens[7])
	read(dec, &err, &db.Deleg4, h.Lens[8])
	read(dec, &err, &db.Deleg6, h.Lens[9])
	read(dec, &err, &db.DelegAS, h.Lens[10])
	read(dec, &err, &db.Cert, h.Lens[11])
	db.Roles, db.Orgs, db.IRTs = unpair(&err, roles), unpair(&err, orgs), unpair(&err, irts)
	if err == nil {
		err = db.check()
	}
	if err != nil {
		return nil, fmt.Errorf("compiled contacts: %w", err)
	}
	return db, nil
}

// read reads a section of n elements into dst, unless *err holds an earlier error. dst grows
// as messages come: a length that lies costs no allocation.
func read[T any](dec *gob.Decoder, err *error, dst *[]T, n int) {
	if *err == nil && n < 0 {
		*err = errors.New("a section of negative length")
	}
	for *err == nil && len(*dst) < n {
		var part []T
		if *err = dec.Decode(&part); *err == nil && (len(part) == 0 || len(part) > n-len(*dst)) {
			*err = errors.New("a section longer than its header says")
		}
		*dst = append(*dst, part...)
	}
}

// unpair undoes pairs, unless *err holds an earlier error.
func unpair(err *error, p []uint32) map[uint32]uint32 {
	if *err == nil && len(p)%2 != 0 {
		*err = errors.New("a handle without its value")
	}
	m := make(map[uint32]uint32, len(p)/2)
	for i := 0; *err == nil && i < len(p); i += 2 {
		m[p[i]] = p[i+1]
	}
	return m
}

// check refuses what would make a lookup panic, loop or misanswer: string ends out of order,
// a span out of order or whose parent is not before it, a source that is not listed.
func (db *DB) check() error {
	if len(db.Ends) == 0 || db.Ends[0] != 0 {
		return errors.New("no string table")
	}
	for i := 1; i < len(db.Ends); i++ {
		if db.Ends[i] < db.Ends[i-1] || int(db.Ends[i]) > len(db.Text) {
			return fmt.Errorf("string %d out of range", i)
		}
	}
	n := len(db.Sources)
	err := cmp.Or(checkSpans(db.Net4, cmp.Compare[uint32], n), checkSpans(db.Net6, netip.Addr.Compare, n),
		checkSpans(db.ASN, cmp.Compare[uint32], n), checkSpans(db.Deleg4, cmp.Compare[uint32], n),
		checkSpans(db.Deleg6, netip.Addr.Compare, n), checkSpans(db.DelegAS, cmp.Compare[uint32], n))
	if err != nil {
		return err
	}
	for i, e := range db.Cert {
		if int(e.Src) >= n {
			return fmt.Errorf("CERT row %d: source %d of %d", i, e.Src, n)
		}
	}
	return nil
}

func checkSpans[A any](s []Span[A], c func(a, b A) int, sources int) error {
	for i, sp := range s {
		switch {
		case sp.Parent < -1 || int(sp.Parent) >= i:
			return fmt.Errorf("span %d: parent %d", i, sp.Parent)
		case c(sp.Lo, sp.Hi) > 0 || i > 0 && c(s[i-1].Lo, sp.Lo) > 0:
			return fmt.Errorf("span %d out of order", i)
		case int(sp.K.Src) >= sources:
			return fmt.Errorf("span %d: source %d of %d", i, sp.K.Src, sources)
		}
	}
	return nil
}

// Summary says what db holds, in one line.
func (db *DB) Summary() string {
	return fmt.Sprintf("%d IPv4 and %d IPv6 networks, %d AS, %d roles, %d organisations, %d irt, %d delegated blocks, %d CERT rows",
		len(db.Net4), len(db.Net6), len(db.ASN), len(db.Roles), len(db.Orgs), len(db.IRTs),
		len(db.Deleg4)+len(db.Deleg6)+len(db.DelegAS), len(db.Cert))
}
