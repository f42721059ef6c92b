package scanner

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The target set is a set (see union): what an earlier target covered is not a target again.
// union keeps every span read, O(n) memory: 32 bytes a range, 320 MB for a 10M-line hitlist.
// Target files are read twice instead, so that memory stays bounded however long they are:
//
//  1. The first pass parses every spec, counts the ranges and checks whether each family's
//     ranges come in ascending order of their first address (a hitlist as published, or any
//     list that went through sort).
//  2. Ascending: the second pass emits each range minus what came before, and what came
//     before is one number per family (the highest address so far): O(1) memory, the input
//     order kept, the same ranges as union gives.
//  3. Not ascending, at most Plan.MemoryRanges ranges: union, in memory, in input order (as
//     before).
//  4. Not ascending and longer: an external merge sort. Runs of MemoryRanges spans are sorted
//     and spilled to a temporary directory, then merged, and the merged stream (ascending)
//     goes through 2. The walk then follows address order, not the file's: the order of a
//     list this long and this shuffled carries no meaning, and the permutation mixes each
//     chunk anyway. Memory: one run (20 MB) and a read buffer per run; disk: 33 bytes a range.
//
// A plan reading stdin ("-") cannot read it twice: it gets union (census stores stdin targets
// in the plan, at most 100,000 lines).

// DefaultMemoryRanges is Plan.MemoryRanges unless set: 524,288 ranges, 20-32 MB.
const DefaultMemoryRanges = 1 << 19

// ascending makes an ascending stream of ranges a set, with one number per family.
type ascending struct {
	top  [2]u128 // the highest address so far, per family
	seen [2]bool
}

func family(r Range) int {
	if r.First.Is4() {
		return 0
	}
	return 1
}

// inOrder reports whether r starts at or after every earlier range of its family starts; it
// records r. The caller checks order with one ascending and makes sets with another.
func (a *ascending) inOrder(r Range) bool {
	f, first := family(r), toU128(r.First)
	ok := !a.seen[f] || !first.less(a.top[f])
	a.top[f], a.seen[f] = first, true
	return ok
}

// fresh returns the part of r no earlier range covered, for r that starts at or after every
// earlier one: everything at or below the highest address so far was covered (the range that
// reached it started at or before r does), nothing above it was.
func (a *ascending) fresh(r Range) (Range, bool) {
	f := family(r)
	first, last := toU128(r.First), toU128(r.Last)
	if a.seen[f] {
		if !a.top[f].less(last) {
			return Range{}, false
		}
		if !a.top[f].less(first) {
			first = a.top[f].add(1)
		}
	}
	a.top[f], a.seen[f] = last, true
	if first == toU128(r.First) {
		return r, true
	}
	return Range{First: fromU128(first, f == 0), Last: r.Last}, true
}

// readSet reads the targets of specs with tr and passes on each part of them no earlier target
// covered, once (see the comment at the top of this file).
// emit gets the fresh parts of one target at a time.
func readSet(tr *TargetReader, specs []string, limit int, emit func([]Range) error) error {
	twice := !slices.Contains(specs, "-") && slices.ContainsFunc(specs, func(s string) bool { return strings.HasPrefix(s, "@") })
	if twice {
		var order ascending
		inOrder, n := true, 0
		// The first pass says how far it got; the second is silent, and counts skipped lines.
		first := *tr
		tr.Progress = nil
		if err := first.Read(specs, func(r Range) error {
			n++
			inOrder = inOrder && order.inOrder(r)
			return nil
		}); err != nil {
			return err
		}
		switch {
		case inOrder:
			var set ascending
			return tr.Read(specs, func(r Range) error {
				if f, ok := set.fresh(r); ok {
					return emit([]Range{f})
				}
				return nil
			})
		case n > limit:
			return sortedSet(tr, specs, limit, emit)
		}
	}
	var u union
	return tr.Read(specs, func(r Range) error {
		if f := u.add(r); len(f) > 0 {
			return emit(f)
		}
		return nil
	})
}

// spanRecord is a span on disk: family (0 IPv4, 1 IPv6), first, last.
const spanRecord = 1 + 4*8

type fspan struct {
	fam         uint8
	first, last u128
}

func (s fspan) less(t fspan) bool {
	if s.fam != t.fam {
		return s.fam < t.fam
	}
	if s.first != t.first {
		return s.first.less(t.first)
	}
	return s.last.less(t.last)
}

// sortedSet is readSet's external merge sort: runs of limit spans sorted and spilled,
// merged, made a set in address order.
func sortedSet(tr *TargetReader, specs []string, limit int, emit func([]Range) error) (err error) {
	dir, err := os.MkdirTemp("", "clawcensus-targets-")
	if err != nil {
		return fmt.Errorf("sort targets: %w", err)
	}
	defer os.RemoveAll(dir)
	buf := make([]fspan, 0, limit)
	var runs []string
	spill := func() error {
		slices.SortFunc(buf, func(a, b fspan) int {
			if a.less(b) {
				return -1
			}
			if b.less(a) {
				return 1
			}
			return 0
		})
		path := filepath.Join(dir, fmt.Sprintf("run%d", len(runs)))
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("sort targets: %w", err)
		}
		w := bufio.NewWriterSize(f, 256<<10)
		var rec [spanRecord]byte
		for _, s := range buf {
			rec[0] = s.fam
			binary.BigEndian.PutUint64(rec[1:], s.first.hi)
			binary.BigEndian.PutUint64(rec[9:], s.first.lo)
			binary.BigEndian.PutUint64(rec[17:], s.last.hi)
			binary.BigEndian.PutUint64(rec[25:], s.last.lo)
			w.Write(rec[:])
		}
		err = errors.Join(w.Flush(), f.Close())
		if err != nil {
			return fmt.Errorf("sort targets: %w", err)
		}
		runs = append(runs, path)
		buf = buf[:0]
		return nil
	}
	if err := tr.Read(specs, func(r Range) error {
		buf = append(buf, fspan{uint8(family(r)), toU128(r.First), toU128(r.Last)})
		if len(buf) == cap(buf) {
			return spill()
		}
		return nil
	}); err != nil {
		return err
	}
	if len(buf) > 0 {
		if err := spill(); err != nil {
			return err
		}
	}
	buf = nil
	m := &merger{}
	for _, path := range runs {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("sort targets: %w", err)
		}
		defer f.Close()
		rr := &runReader{r: bufio.NewReaderSize(f, 64<<10)}
		if ok, err := rr.next(); err != nil {
			return err
		} else if ok {
			m.runs = append(m.runs, rr)
		}
	}
	heap.Init(m)
	var set ascending
	for m.Len() > 0 {
		rr := m.runs[0]
		s := rr.cur
		r := Range{First: fromU128(s.first, s.fam == 0), Last: fromU128(s.last, s.fam == 0)}
		if f, ok := set.fresh(r); ok {
			if err := emit([]Range{f}); err != nil {
				return err
			}
		}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(m, 0)
		} else {
			heap.Pop(m)
		}
	}
	return nil
}

// runReader reads one sorted run back.
type runReader struct {
	r   *bufio.Reader
	cur fspan
}

func (rr *runReader) next() (bool, error) {
	var rec [spanRecord]byte
	if _, err := io.ReadFull(rr.r, rec[:]); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("sort targets: read a run back: %w", err)
	}
	rr.cur = fspan{rec[0], u128{binary.BigEndian.Uint64(rec[1:]), binary.BigEndian.Uint64(rec[9:])},
		u128{binary.BigEndian.Uint64(rec[17:]), binary.BigEndian.Uint64(rec[25:])}}
	return true, nil
}

// merger is a heap of runs by their current span.
type merger struct{ runs []*runReader }

func (m *merger) Len() int           { return len(m.runs) }
func (m *merger) Less(i, j int) bool { return m.runs[i].cur.less(m.runs[j].cur) }
func (m *merger) Swap(i, j int)      { m.runs[i], m.runs[j] = m.runs[j], m.runs[i] }
func (m *merger) Push(x any)         { m.runs = append(m.runs, x.(*runReader)) }
func (m *merger) Pop() any {
	x := m.runs[len(m.runs)-1]
	m.runs = m.runs[:len(m.runs)-1]
	return x
}
