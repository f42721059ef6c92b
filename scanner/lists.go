package scanner

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ulikunitz/xz"
)

// A list file (targets, a hitlist, aliased prefixes, exclusions, opt-outs) is text, one entry
// a line, with #-comments. It may be compressed as it was published (the TUM IPv6 Hitlist
// Service ships .txt.xz files; gzip is common too): the file's first bytes say which, never
// its name. It is read line by line, never whole.

// MaxLine bounds one line of a list. An address, a prefix or a range needs under 100 bytes;
// a longer line is skipped (or, in an exclusion list, refused), and never held whole.
const MaxLine = 4096

// maxXZDict bounds the dictionary an xz file may ask the reader to allocate: xz -9 uses
// 64 MiB, and a hostile header could ask for 4 GiB.
const maxXZDict = 64 << 20

var (
	gzipMagic = []byte{0x1f, 0x8b}
	xzMagic   = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
)

// openList opens a list file, plain, gzip or xz.
func openList(path string) (io.ReadCloser, error) { return openListWith(path, nil) }

// openListWith is openList reading the file through open (nil: os.Open).
func openListWith(path string, open func(string) (io.ReadCloser, error)) (io.ReadCloser, error) {
	if open == nil {
		open = func(name string) (io.ReadCloser, error) { return os.Open(name) }
	}
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(len(xzMagic))
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		r, err = gzip.NewReader(br)
	case bytes.HasPrefix(head, xzMagic):
		if err = checkXZDict(br); err == nil {
			r, err = xz.NewReader(br)
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// checkXZDict refuses an xz file whose first block asks for a dictionary over maxXZDict. The
// block header follows the 12-byte stream header: its size, flags (filter count, optional
// sizes), then each filter's id and properties; LZMA2 (id 0x21) has one byte, the dictionary.
func checkXZDict(br *bufio.Reader) error {
	head, _ := br.Peek(13)
	if len(head) < 13 || head[12] == 0 {
		return nil // no block (an empty stream) or too short: the reader says what is wrong
	}
	hdr, _ := br.Peek(12 + (int(head[12])+1)*4)
	if len(hdr) < 14 {
		return nil
	}
	b := hdr[14:]
	varint := func() uint64 {
		var v uint64
		for i := 0; i < 9 && len(b) > 0; i++ {
			c := b[0]
			b = b[1:]
			v |= uint64(c&0x7f) << (7 * i)
			if c&0x80 == 0 {
				break
			}
		}
		return v
	}
	flags := hdr[13]
	if flags&0x40 != 0 {
		varint()
	}
	if flags&0x80 != 0 {
		varint()
	}
	for range int(flags&3) + 1 {
		id, size := varint(), varint()
		if size > uint64(len(b)) {
			return nil
		}
		props := b[:size]
		b = b[size:]
		if id == 0x21 && len(props) == 1 {
			bits := props[0] & 0x3f
			if bits > 40 {
				return nil // invalid: the reader refuses it
			}
			dict := uint64(0xffffffff)
			if bits < 40 {
				dict = uint64(2|bits&1) << (bits/2 + 11)
			}
			if dict > maxXZDict {
				return fmt.Errorf("xz dictionary of %d MiB: more than the %d MiB of xz -9; recompress it with xz -9 or less", dict>>20, maxXZDict>>20)
			}
		}
	}
	return nil
}

// lineReader reads a list line by line in bounded memory: a line longer than MaxLine is cut,
// and the rest of it skipped.
type lineReader struct {
	name string
	br   *bufio.Reader
	line uint64 // lines read so far
	buf  []byte
}

func newLineReader(name string, r io.Reader) *lineReader {
	return &lineReader{name: name, br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its line end, and whether it was longer than MaxLine
// (text is then its first MaxLine bytes). It returns io.EOF after the last line, and an
// error naming the file and the last good line when the file cannot be read to its end (a
// truncated or damaged compressed file).
func (lr *lineReader) next() (text string, long bool, err error) {
	lr.buf = lr.buf[:0]
	for {
		frag, err := lr.br.ReadSlice('\n')
		if room := MaxLine + 1 - len(lr.buf); len(frag) > room {
			lr.buf = append(lr.buf, frag[:max(room, 0)]...)
			long = true
		} else {
			lr.buf = append(lr.buf, frag...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF && len(lr.buf) == 0 && !long {
			return "", false, io.EOF
		}
		if err != nil && err != io.EOF {
			return "", false, fmt.Errorf("read %s: damaged or truncated after line %d: %w", lr.name, lr.line, err)
		}
		break
	}
	lr.line++
	b := bytes.TrimSuffix(lr.buf, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) > MaxLine {
		b, long = b[:MaxLine], true
	}
	return string(b), long, nil
}

// entry strips a line of its #-comment and white space. A line longer than MaxLine is an
// entry only when its comment starts within the first MaxLine bytes.
func entry(text string, long bool) (string, error) {
	before, _, comment := strings.Cut(text, "#")
	if long && !comment {
		return "", fmt.Errorf("line longer than %d bytes", MaxLine)
	}
	return strings.TrimSpace(before), nil
}
