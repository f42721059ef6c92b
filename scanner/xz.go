package scanner

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// An xz file (tukaani.org's "The .xz File Format" 1.2) is one or more streams with stream
// padding (zero bytes, four at a time) between and after them. A stream is a 12-byte header
// (magic, flags naming the check type, CRC32), blocks, an index of the blocks and a 12-byte
// footer. A block is a header ((size byte+1)*4 bytes: flags, the optional compressed and
// uncompressed sizes, the filters, zero padding, CRC32), the compressed data, zero padding to
// four bytes, and the check of the uncompressed data.
//
// ulikunitz/xz's Reader allocates whatever dictionary a block header asks for, up to 4 GiB,
// in any block of any stream. A filter in front of it cannot see every block header it
// parses: the sizes in a block header are optional, and its LZMA2 decoder may finish an LZMA
// chunk before the compressed size the chunk declares and read its next header from there,
// so where a block ends is known only to the decoder. xzReader therefore walks the container
// itself, checks each block header before anything is allocated for it, and decodes the
// block's data with the library's LZMA2 decoder alone, sized by that header. It reads one
// block at a time, never the whole file.

// maxXZDict bounds the dictionary an xz block may ask the reader to allocate: xz -9 uses
// 64 MiB, and a hostile header could ask for 4 GiB.
const maxXZDict = 64 << 20

// errXZDict is why a block asking for more than maxXZDict is refused.
var errXZDict = fmt.Errorf("more than the %d MiB of xz -9; recompress it with xz -9 or less", maxXZDict>>20)

// xzReader decodes an xz file. Its first error (io.EOF after the last stream) is final.
type xzReader struct {
	r   *bufio.Reader
	err error

	streams int     // streams begun
	block   int     // blocks begun, over all streams (for messages)
	flags   [2]byte // the current stream's flags, which its footer repeats
	inside  bool    // within a stream
	check   int     // bytes of the current stream's check
	newHash func() hash.Hash
	// records hashes the (unpadded, uncompressed) sizes of the stream's blocks read so far,
	// and nrec counts them, to compare with the index without holding one record a block.
	records hash.Hash
	nrec    uint64

	// The current block: data is nil between blocks.
	data                 io.Reader
	in                   xzCounter
	sum                  hash.Hash
	hdrLen               int64
	wantComp, wantUncomp int64 // -1: not in the block header
	uncomp               int64
}

// xzCounter counts the compressed bytes the decoder reads.
type xzCounter struct {
	r io.Reader
	n int64
}

func (c *xzCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// newXZReader reads r up to the first block's data (or the end of an xz file with no
// blocks), so that a file whose first block would be refused is refused when it is opened.
func newXZReader(r *bufio.Reader) (*xzReader, error) {
	x := &xzReader{r: r}
	if x.err = x.next(); x.err != nil && x.err != io.EOF {
		return nil, x.err
	}
	return x, nil
}

func (x *xzReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, x.err
	}
	for x.err == nil {
		if x.data == nil {
			x.err = x.next()
			continue
		}
		n, err := x.data.Read(p)
		x.uncomp += int64(n)
		if x.sum != nil {
			x.sum.Write(p[:n])
		}
		if err == io.EOF {
			x.data, err = nil, x.endBlock()
		}
		x.err = noEOF(err)
		if n > 0 {
			return n, nil // an error comes with the next call
		}
	}
	return 0, x.err
}

// next reads on to the next block's data, through stream padding, stream headers, indexes
// and stream footers. It returns io.EOF after the last stream.
func (x *xzReader) next() error {
	for {
		if !x.inside {
			if err := x.streamHeader(); err != nil {
				return err
			}
		}
		size, err := x.r.ReadByte()
		if err != nil {
			return noEOF(err)
		}
		if size == 0 {
			if err := x.indexAndFooter(); err != nil {
				return err
			}
			continue
		}
		return x.blockHeader(size)
	}
}

// streamHeader reads stream padding and the next stream's header, or returns io.EOF when
// the file ends after a stream.
func (x *xzReader) streamHeader() error {
	var h [12]byte
	for {
		n, err := io.ReadFull(x.r, h[:4])
		if n == 0 && err == io.EOF && x.streams > 0 {
			return io.EOF
		}
		if err != nil {
			return noEOF(err)
		}
		if x.streams == 0 || [4]byte(h[:4]) != [4]byte{} {
			break
		}
	}
	if _, err := io.ReadFull(x.r, h[4:]); err != nil {
		return noEOF(err)
	}
	x.streams++
	if !bytes.Equal(h[:6], xzMagic) {
		return fmt.Errorf("xz stream %d: no stream header", x.streams)
	}
	if crc32.ChecksumIEEE(h[6:8]) != binary.LittleEndian.Uint32(h[8:]) {
		return fmt.Errorf("xz stream %d: header damaged (CRC32)", x.streams)
	}
	switch {
	case h[6] != 0 || h[7]&0xf0 != 0:
		return fmt.Errorf("xz stream %d: unknown flags %#x", x.streams, h[6:8])
	case h[7] == 0:
		x.check, x.newHash = 0, nil
	case h[7] == 1:
		x.check, x.newHash = 4, func() hash.Hash { return crc32.NewIEEE() }
	case h[7] == 4:
		x.check, x.newHash = 8, func() hash.Hash { return crc64.New(crc64Table) }
	case h[7] == 10:
		x.check, x.newHash = 32, sha256.New
	default:
		return fmt.Errorf("xz stream %d: check type %d not supported (none, CRC32, CRC64 or SHA-256)", x.streams, h[7])
	}
	x.flags, x.inside, x.records, x.nrec = [2]byte(h[6:8]), true, sha256.New(), 0
	return nil
}

var crc64Table = crc64.MakeTable(crc64.ECMA)

// blockHeader reads the rest of a block header whose first byte is size, refuses a
// dictionary over maxXZDict, and makes the block's decoder.
func (x *xzReader) blockHeader(size byte) error {
	x.block++
	h := make([]byte, (int(size)+1)*4)
	h[0] = size
	if _, err := io.ReadFull(x.r, h[1:]); err != nil {
		return noEOF(err)
	}
	end := len(h) - 4
	if crc32.ChecksumIEEE(h[:end]) != binary.LittleEndian.Uint32(h[end:]) {
		return fmt.Errorf("xz block %d: header damaged (CRC32)", x.block)
	}
	flags := h[1]
	if flags&0x3c != 0 {
		return fmt.Errorf("xz block %d: unknown flags %#x", x.block, flags)
	}
	if flags&3 != 0 {
		return fmt.Errorf("xz block %d: %d filters; only LZMA2 alone is supported", x.block, flags&3+1)
	}
	b := bytes.NewReader(h[2:end])
	x.wantComp, x.wantUncomp = -1, -1
	for _, f := range []struct {
		bit  byte
		size *int64
	}{{0x40, &x.wantComp}, {0x80, &x.wantUncomp}} {
		if flags&f.bit != 0 {
			v, err := readVarint(b)
			if err != nil || f.bit == 0x40 && v == 0 {
				return fmt.Errorf("xz block %d: bad size in the header", x.block)
			}
			*f.size = int64(v)
		}
	}
	id, err := readVarint(b)
	if err != nil || id != 0x21 {
		return fmt.Errorf("xz block %d: filter %#x not supported (LZMA2 only)", x.block, id)
	}
	if n, err := readVarint(b); err != nil || n != 1 {
		return fmt.Errorf("xz block %d: bad LZMA2 properties", x.block)
	}
	bits, err := b.ReadByte()
	if err != nil || bits > 40 {
		return fmt.Errorf("xz block %d: bad LZMA2 dictionary size", x.block)
	}
	dict := uint64(0xffffffff)
	if bits < 40 {
		dict = uint64(2|bits&1) << (bits/2 + 11)
	}
	if dict > maxXZDict {
		return fmt.Errorf("xz dictionary of %d MiB in block %d: %w", dict>>20, x.block, errXZDict)
	}
	for b.Len() > 0 {
		if c, _ := b.ReadByte(); c != 0 {
			return fmt.Errorf("xz block %d: header padding not zero", x.block)
		}
	}
	x.hdrLen, x.uncomp = int64(len(h)), 0
	x.in = xzCounter{r: x.r}
	if x.wantComp >= 0 {
		x.in.r = io.LimitReader(x.r, x.wantComp)
	}
	if x.wantUncomp >= 0 {
		// A block's data refers only to what the block itself decoded: a dictionary larger than
		// its size is never used, and a file of many small blocks costs no 64 MiB apiece.
		dict = min(dict, max(uint64(x.wantUncomp), lzma.MinDictCap))
	}
	x.data, err = lzma.Reader2Config{DictCap: int(dict)}.NewReader2(&x.in)
	if x.sum = nil; x.newHash != nil {
		x.sum = x.newHash()
	}
	return err
}

// endBlock reads the block's padding and check, once its data is decoded, and records its
// sizes for the index.
func (x *xzReader) endBlock() error {
	comp := x.in.n
	if x.wantComp >= 0 && comp != x.wantComp || x.wantUncomp >= 0 && x.uncomp != x.wantUncomp {
		return fmt.Errorf("xz block %d: sizes other than its header says", x.block)
	}
	var buf [3 + 32]byte
	pad := int((4 - comp%4) % 4)
	tail := buf[:pad+x.check]
	if _, err := io.ReadFull(x.r, tail); err != nil {
		return noEOF(err)
	}
	if !allZero(tail[:pad]) {
		return fmt.Errorf("xz block %d: padding not zero", x.block)
	}
	if x.sum != nil && !bytes.Equal(tail[pad:], xzSum(x.sum)) {
		return fmt.Errorf("xz block %d: data damaged (check)", x.block)
	}
	addRecord(uint64(x.hdrLen+comp)+uint64(x.check), uint64(x.uncomp), x.records)
	x.nrec++
	return nil
}

// addRecord adds one index record to h.
func addRecord(unpadded, uncompressed uint64, h hash.Hash) {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], unpadded)
	binary.LittleEndian.PutUint64(b[8:], uncompressed)
	h.Write(b[:])
}

// xzSum is h's value as the xz check field holds it (CRC32 and CRC64 little-endian).
func xzSum(h hash.Hash) []byte {
	switch h := h.(type) {
	case hash.Hash32:
		return binary.LittleEndian.AppendUint32(nil, h.Sum32())
	case hash.Hash64:
		return binary.LittleEndian.AppendUint64(nil, h.Sum64())
	}
	return h.Sum(nil)
}

// indexAndFooter reads the index (its indicator byte read already) and the stream footer,
// and checks them against the blocks read.
func (x *xzReader) indexAndFooter() error {
	crc := crc32.NewIEEE()
	crc.Write([]byte{0})
	r := &xzIndexReader{r: x.r, crc: crc, n: 1}
	n, err := readVarint(r)
	if err != nil {
		return noEOF(err)
	}
	if n != x.nrec {
		return fmt.Errorf("xz stream %d: the index lists %d blocks, the stream has %d", x.streams, n, x.nrec)
	}
	listed := sha256.New()
	for range n {
		unpadded, err := readVarint(r)
		if err != nil {
			return noEOF(err)
		}
		uncompressed, err := readVarint(r)
		if err != nil {
			return noEOF(err)
		}
		addRecord(unpadded, uncompressed, listed)
	}
	if !bytes.Equal(listed.Sum(nil), x.records.Sum(nil)) {
		return fmt.Errorf("xz stream %d: the index does not match the blocks", x.streams)
	}
	for r.n%4 != 0 {
		if c, err := r.ReadByte(); err != nil || c != 0 {
			return fmt.Errorf("xz stream %d: index padding not zero or cut: %v", x.streams, noEOF(err))
		}
	}
	size := r.n + 4
	var f [4 + 12]byte // the index CRC32, then the footer
	if _, err := io.ReadFull(x.r, f[:]); err != nil {
		return noEOF(err)
	}
	foot := f[4:]
	switch {
	case binary.LittleEndian.Uint32(f[:4]) != crc.Sum32():
		return fmt.Errorf("xz stream %d: index damaged (CRC32)", x.streams)
	case crc32.ChecksumIEEE(foot[4:10]) != binary.LittleEndian.Uint32(foot[:4]) || string(foot[10:]) != "YZ":
		return fmt.Errorf("xz stream %d: footer damaged", x.streams)
	case (int64(binary.LittleEndian.Uint32(foot[4:8]))+1)*4 != size || [2]byte(foot[8:10]) != x.flags:
		return fmt.Errorf("xz stream %d: footer does not match its header and index", x.streams)
	}
	x.inside = false
	return nil
}

// xzIndexReader reads an index byte by byte, counting its bytes and their CRC32.
type xzIndexReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	n   int64
}

func (r *xzIndexReader) ReadByte() (byte, error) {
	c, err := r.r.ReadByte()
	if err == nil {
		r.crc.Write([]byte{c})
		r.n++
	}
	return c, err
}

// readVarint reads a variable-length integer of the xz format: 7 bits a byte, least
// significant first, at most 9 bytes, no needless zero byte at the end.
func readVarint(r io.ByteReader) (uint64, error) {
	var v uint64
	for i := range 9 {
		c, err := r.ReadByte()
		if err != nil {
			return 0, noEOF(err)
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, errors.New("xz: bad integer")
			}
			return v, nil
		}
	}
	return 0, errors.New("xz: bad integer")
}

// noEOF is err, except that the end of the input amid a structure is io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
