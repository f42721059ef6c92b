package scanner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
)

// ChunkRanges is how many target ranges are permuted together. Targets are read in chunks of
// this many ranges so that a 10M-line file is never held whole; a chunk may still cover
// billions of addresses (0.0.0.0/0 is one range).
const ChunkRanges = 1 << 16

// ErrNoTargets means every target was removed by a blocklist (or none was given).
var ErrNoTargets = errors.New("no targets left")

// Shard selects one of Count disjoint parts of a scan; Index counts from 0.
type Shard struct{ Index, Count uint64 }

// MaxShards is the most parts a scan may be cut into (as ZMap's 16-bit --shards): a census
// keeps a probe total per shard, and more parts than machines to run them is a mistake.
const MaxShards = 1 << 16

// ParseShard parses "i/N" with 0 <= i < N <= MaxShards.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{Index: 0, Count: 1}, nil
	}
	var sh Shard
	if _, err := fmt.Sscanf(s, "%d/%d", &sh.Index, &sh.Count); err != nil || sh.Count == 0 || sh.Index >= sh.Count || fmt.Sprintf("%d/%d", sh.Index, sh.Count) != s {
		return Shard{}, fmt.Errorf("shard %q: want i/N with 0 <= i < N, e.g. 0/4", s)
	}
	if sh.Count > MaxShards {
		return Shard{}, fmt.Errorf("shard %q: at most %d shards", s, MaxShards)
	}
	return sh, nil
}

// ShardProbes is shard i's share of a plan whose chunks hold chunkProbes probes each (all
// shards; Totals.ChunkProbes): arithmetic, without reading the targets again.
func ShardProbes(chunkProbes []uint64, sh Shard) uint64 {
	var n uint64
	for _, c := range chunkProbes {
		n += shardShare(c, sh)
	}
	return n
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Plan is what a sweep visits: targets minus the blocklist, times ports, in seeded order.
type Plan struct {
	// Specs are target specifications for ReadTargets.
	Specs []string
	// Stdin is read when a spec is "-".
	Stdin io.Reader
	// Open opens the file of an "@FILE" spec (TargetReader.Open); nil means os.Open.
	Open func(path string) (io.ReadCloser, error)
	// Blocklist removes addresses; nil means the built-in reserved ranges.
	Blocklist *Blocklist
	// Ports are visited for every address. Empty means DefaultPorts.
	Ports []uint16
	// Seed keys the permutation: the same seed visits the same order.
	Seed int64
	// Shard selects a part of the permuted sequence. The zero value means the whole.
	Shard Shard
	// Skip passes over the first Skip probes of this shard's sequence, and Limit, when not
	// zero, stops after that many: together they select one window of the sequence (a work
	// unit of a census).
	Skip, Limit uint64
	// Aliased, when set, collapses the targets inside each aliased prefix into one address
	// (see aliasedPicks), walked after the other targets.
	Aliased *Aliased
	// Progress, when set, hears how far the reading of a target file got (TargetReader).
	Progress func(file string, lines uint64)
	// MemoryRanges is the most target ranges of a shuffled target file made a set in memory;
	// longer ones are sorted on disk (see readSet). Zero means DefaultMemoryRanges.
	MemoryRanges int
}

// Totals describes a plan after exclusions.
type Totals struct {
	Addresses uint64
	Probes    uint64 // Addresses × ports, for this shard
	// ExcludedBy names the lists that removed at least one address; Excluded counts what
	// each removed (all shards).
	ExcludedBy []string
	Excluded   []Exclusion
	// ChunkProbes are the probes of each chunk of the permutation, all shards: what
	// ShardProbes divides among shards.
	ChunkProbes []uint64
	// Read counts the lines of target files read and skipped.
	Read ReadStats
	// AliasedPrefixes counts the aliased prefixes that hold targets, and AliasedAddresses the
	// target addresses inside them (after exclusions): Addresses counts one per prefix.
	AliasedPrefixes, AliasedAddresses uint64
}

func (p *Plan) blocklist() *Blocklist {
	if p.Blocklist == nil {
		p.Blocklist = NewBlocklist(false)
	}
	return p.Blocklist
}

func (p *Plan) ports() []uint16 {
	if len(p.Ports) == 0 {
		p.Ports = []uint16{18789}
	}
	return p.Ports
}

func (p *Plan) shard() Shard {
	if p.Shard.Count == 0 {
		return Shard{Index: 0, Count: 1}
	}
	return p.Shard
}

// Count reads the targets once and totals them. It consumes Stdin when a spec is "-".
func (p *Plan) Count() (Totals, error) {
	var t Totals
	var addrs uint64
	err := p.chunksCounted(func(c *chunk) error {
		addrs += c.total
		t.ChunkProbes = append(t.ChunkProbes, c.total*uint64(len(p.ports())))
		t.Probes += shardShare(c.total*uint64(len(p.ports())), p.shard())
		return nil
	}, &t)
	t.Addresses = addrs
	if err == nil && addrs == 0 {
		err = noTargets(t.ExcludedBy)
	}
	return t, err
}

func noTargets(excludedBy []string) error {
	if len(excludedBy) == 0 {
		return fmt.Errorf("%w: no target given", ErrNoTargets)
	}
	return fmt.Errorf("%w: every target is excluded by %s", ErrNoTargets, strings.Join(excludedBy, "; "))
}

// shardShare is how many of a chunk's n probes shard sh walks: j = Index, Index+Count, ...
func shardShare(n uint64, sh Shard) uint64 {
	if n <= sh.Index {
		return 0
	}
	return (n-sh.Index-1)/sh.Count + 1
}

// Walk calls fn for every probe of this shard in permuted order, stopping at the first error
// or when ctx is done. The blocklist was applied when the targets were read; the sender
// checks each probe once more at send time.
func (p *Plan) Walk(ctx context.Context, fn func(netip.AddrPort) error) error {
	ports := p.ports()
	sh := p.shard()
	var t Totals
	var seen uint64
	skip := p.Skip
	left := p.Limit
	errLimit := errors.New("limit reached")
	err := p.chunksCounted(func(c *chunk) error {
		seen += c.total
		n := c.total * uint64(len(ports))
		share := shardShare(n, sh)
		if skip >= share { // the whole chunk was walked before
			skip -= share
			return nil
		}
		perm := newPermutation(n, p.Seed)
		for j := sh.Index + skip*sh.Count; j < n; j += sh.Count {
			skip = 0
			if p.Limit > 0 {
				if left == 0 {
					return errLimit
				}
				left--
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			idx := perm.at(j)
			addr := c.addr(idx / uint64(len(ports)))
			if err := fn(netip.AddrPortFrom(addr, ports[idx%uint64(len(ports))])); err != nil {
				return err
			}
		}
		return nil
	}, &t)
	if errors.Is(err, errLimit) {
		return nil
	}
	if err == nil && seen == 0 {
		return noTargets(t.ExcludedBy)
	}
	return err
}

// EachRange calls fn for every target range left after the blocklist, in walk order (see
// readSet; aliased picks last). It
// consumes Stdin when a spec is "-".
func (p *Plan) EachRange(fn func(Range) error) error {
	var t Totals
	return p.chunksCounted(func(c *chunk) error {
		for _, r := range c.ranges {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}, &t)
}

// chunk is up to ChunkRanges ranges with running totals, indexable by address number.
type chunk struct {
	ranges []Range
	starts []uint64 // starts[i] is the number of addresses before ranges[i]
	total  uint64
}

func (c *chunk) add(r Range) {
	c.ranges = append(c.ranges, r)
	c.starts = append(c.starts, c.total)
	c.total += r.Size()
}

func (c *chunk) addr(i uint64) netip.Addr {
	k := sort.Search(len(c.starts), func(k int) bool { return c.starts[k] > i }) - 1
	return c.ranges[k].Addr(i - c.starts[k])
}

// chunksCounted reads the targets as a set (readSet), removes what the blocklist covers,
// collapses aliased prefixes, and passes the result on in chunks; t gets what was excluded,
// skipped and collapsed.
func (p *Plan) chunksCounted(fn func(*chunk) error, t *Totals) error {
	bl := p.blocklist()
	c := &chunk{}
	full := func() error {
		if len(c.ranges) < ChunkRanges {
			return nil
		}
		err := fn(c)
		c = &chunk{}
		return err
	}
	add := func(r Range) { c.add(r) }
	var picks *aliasedPicks
	if p.Aliased != nil {
		picks = newAliasedPicks(p.Aliased, p.Seed)
		add = func(r Range) { picks.split(r, c.add) }
	}
	tr := &TargetReader{Stdin: p.Stdin, Open: p.Open, Progress: p.Progress}
	err := readSet(tr, p.Specs, cmp.Or(p.MemoryRanges, DefaultMemoryRanges), func(fresh []Range) error {
		// What an earlier target covered is not a target again (and not excluded again).
		for _, f := range fresh {
			kept, removed := bl.SubtractCounted(f)
			for _, x := range removed {
				t.ExcludedBy = appendUnique(t.ExcludedBy, x.Source)
				t.Excluded = addExclusion(t.Excluded, x.Source, x.Addresses)
			}
			for _, k := range kept {
				add(k)
			}
		}
		return full()
	})
	t.Read = tr.Stats
	if err != nil {
		return err
	}
	if picks != nil {
		t.AliasedPrefixes, t.AliasedAddresses = uint64(len(picks.best)), picks.addresses
		for _, r := range picks.picks() {
			c.add(r)
			if err := full(); err != nil {
				return err
			}
		}
	}
	if c.total > 0 {
		return fn(c)
	}
	return nil
}
