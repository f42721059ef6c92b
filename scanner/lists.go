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
)

// A list file (targets, a hitlist, aliased prefixes, exclusions, opt-outs) is text, one entry
// a line, with #-comments. It may be compressed as it was published (the TUM IPv6 Hitlist
// Service ships .txt.xz files; gzip is common too): the file's first bytes say which, never
// its name. It is read line by line, never whole.

// MaxLine bounds one line of a list. An address, a prefix or a range needs under 100 bytes;
// a longer line is skipped (or, in an exclusion list, refused), and never held whole.
const MaxLine = 4096

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
		r, err = newXZReader(br)
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
			why := "damaged or truncated"
			if errors.Is(err, errXZDict) {
				why = "refused"
			}
			return "", false, fmt.Errorf("read %s: %s after line %d: %w", lr.name, why, lr.line, err)
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
