package store

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ContactVersion is one import of abuse-contact data (clawcensus contacts import): the files it
// was read from and what they gave. Its data, the compiled form package contacts reads, is
// stored with it; the store does not look inside.
type ContactVersion struct {
	ID         int64
	ImportedAt time.Time
	// ImportID is the import's own id (a hash of its files): the same files give the same id.
	ImportID string
	// Summary says what the data holds ("12 IPv4 and 0 IPv6 networks, …").
	Summary string
	// Bytes is the size of the stored data.
	Bytes   int64
	Sources []ContactSource
}

// ContactSource is one file of an import.
type ContactSource struct {
	Name     string // base name
	Kind     string // rpsl, delegated or cert-csv
	Registry string // ripe, apnic, … for RPSL dumps
	SHA256   string // of the file as read
	Size     int64  // bytes
	Objects  int64  // objects, lines or rows it gave
}

// ErrNoContacts means the store holds no contacts version (or not the one asked for).
var ErrNoContacts = errors.New("no contacts in the store (clawcensus contacts import FILE... loads them)")

// contactPiece is the size of one stored piece of a version's data: big enough that a
// gigabyte is a thousand rows, small enough that a row is never a burden to either backend.
const contactPiece = 1 << 20

// pieceWriter cuts what is written into contactPiece-sized pieces and hands each to put.
type pieceWriter struct {
	buf []byte
	seq int
	n   int64
	put func(seq int, b []byte) error
}

func (w *pieceWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, contactPiece)
		}
		n := min(len(p), contactPiece-len(w.buf))
		w.buf = append(w.buf, p[:n]...)
		p, written = p[n:], written+n
		if len(w.buf) == contactPiece {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush puts what is buffered, if anything.
func (w *pieceWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if err := w.put(w.seq, w.buf); err != nil {
		return err
	}
	w.seq++
	w.n += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

// pieceReader reads a version's pieces in order, a row at a time, and checks that none is
// missing and that they add up to the size recorded.
type pieceReader struct {
	next func() (seq int, b []byte, ok bool, err error) // the next row; ok false after the last
	v    ContactVersion
	seq  int
	n    int64
	buf  []byte
	done bool
}

func (r *pieceReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.done {
			return 0, io.EOF
		}
		seq, b, ok, err := r.next()
		switch {
		case err != nil:
			return 0, fmt.Errorf("contacts version %d: %w", r.v.ID, err)
		case !ok && r.n != r.v.Bytes:
			return 0, fmt.Errorf("contacts version %d: %d bytes stored, %d recorded", r.v.ID, r.n, r.v.Bytes)
		case !ok:
			r.done = true
			return 0, io.EOF
		case seq != r.seq:
			return 0, fmt.Errorf("contacts version %d: piece %d missing", r.v.ID, r.seq)
		}
		r.seq, r.buf, r.n = r.seq+1, b, r.n+int64(len(b))
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// newestContacts is the version ReadContacts reads for id 0.
const newestContacts = 0

// noVersion is ErrNoContacts for id: none at all, or not that one.
func noVersion(id int64) error {
	if id == newestContacts {
		return ErrNoContacts
	}
	return fmt.Errorf("contacts version %d: %w", id, ErrNoContacts)
}
