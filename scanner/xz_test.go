package scanner

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ulikunitz/xz"
)

// multiBlockXZ is what `xz -T2 --block-size=8KiB -6` (XZ Utils 5.4.1) made of multiBlockText:
// one stream of five blocks, each header with both sizes, CRC64 checks, an 8 MiB dictionary.
const multiBlockXZ = "testdata/xz/multiblock.txt.xz"

// multiBlockText is the text of multiBlockXZ: 3,000 lines.
func multiBlockText() string {
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "2001:2::%x\n", i)
	}
	return b.String()
}

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xzWrite compresses text with ulikunitz/xz's writer as c says.
func xzWrite(t testing.TB, c xz.WriterConfig, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := c.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, text)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// xzBlocks returns the offsets of the block headers of an xz file of one stream, found from
// its end (footer, backward size, index), not by the reader under test.
func xzBlocks(t testing.TB, data []byte) []int {
	t.Helper()
	foot := data[len(data)-12:]
	idx := data[len(data)-12-int(binary.LittleEndian.Uint32(foot[4:8])+1)*4:]
	if idx[0] != 0 {
		t.Fatal("no index where the footer says")
	}
	b := bytes.NewReader(idx[1:])
	n, err := readVarint(b)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int
	for off := 12; len(offs) < int(n); {
		unpadded, err1 := readVarint(b)
		_, err2 := readVarint(b)
		if err1 != nil || err2 != nil {
			t.Fatal("bad index record")
		}
		offs = append(offs, off)
		off += (int(unpadded) + 3) &^ 3
	}
	return offs
}

// withDict returns data with the block header at off asking for the dictionary size code
// bits (36: 1 GiB, 40: 4 GiB), its CRC32 made right again.
func withDict(t testing.TB, data []byte, off int, bits byte) []byte {
	t.Helper()
	data = bytes.Clone(data)
	h := data[off : off+(int(data[off])+1)*4]
	b := bytes.NewReader(h[2:])
	for _, bit := range []byte{0x40, 0x80} {
		if h[1]&bit != 0 {
			readVarint(b)
		}
	}
	i := len(h) - b.Len()
	if h[1]&3 != 0 || h[i] != 0x21 || h[i+1] != 1 {
		t.Fatalf("block at %d: no lone LZMA2 filter", off)
	}
	h[i+2] = bits
	binary.LittleEndian.PutUint32(h[len(h)-4:], crc32.ChecksumIEEE(h[:len(h)-4]))
	return data
}

func writeTemp(t testing.TB, data []byte) string {
	t.Helper()
	path := t.TempDir() + "/hitlist"
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestXZFilesOfManyBlocksAndStreamsRead: xz files as xz -T writes them (many blocks, sizes in
// the headers), as the Go writer writes them (each check type, no sizes), concatenated
// streams with stream padding, and an empty stream read whole and exact.
func TestXZFilesOfManyBlocksAndStreamsRead(t *testing.T) {
	text := multiBlockText()
	cli := readFixture(t, multiBlockXZ)
	if n := len(xzBlocks(t, cli)); n != 5 {
		t.Fatalf("%s has %d blocks, want 5", multiBlockXZ, n)
	}
	small := xz.WriterConfig{DictCap: 1 << 16, BlockSize: 4 << 10}
	crc32c, sha, none := small, small, small
	crc32c.CheckSum, sha.CheckSum, none.NoCheckSum = xz.CRC32, xz.SHA256, true
	goCRC32, goSHA, goNone := xzWrite(t, crc32c, text), xzWrite(t, sha, text), xzWrite(t, none, text)
	for _, data := range [][]byte{goCRC32, goSHA, goNone} {
		if n := len(xzBlocks(t, data)); n < 2 {
			t.Fatalf("the Go writer wrote %d blocks, want several", n)
		}
	}
	empty := xzWrite(t, xz.WriterConfig{}, "")
	pad := make([]byte, 8)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"xz -T2 --block-size=8KiB", cli, text},
		{"4 KiB blocks, CRC32", goCRC32, text},
		{"4 KiB blocks, SHA-256", goSHA, text},
		{"4 KiB blocks, no check", goNone, text},
		{"a dictionary of 64 MiB", withDict(t, cli, xzBlocks(t, cli)[2], 28), text},
		{"two streams, padding between and after", join(cli, pad, xzWrite(t, crc32c, "127.0.0.1\n"), pad[:4]), text + "127.0.0.1\n"},
		{"an empty stream, then one", join(empty, cli), text},
		{"an empty stream alone", empty, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := openList(writeTemp(t, tc.data))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := io.ReadAll(f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
		})
	}
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestXZDictionaryIsBounded: a block asking for a dictionary over the 64 MiB of xz -9 is
// refused, in the first block (when the file is opened), in a later block and in a later
// stream (when the reading gets there), with the file and the size named, and without the
// dictionary allocated.
func TestXZDictionaryIsBounded(t *testing.T) {
	cli := readFixture(t, multiBlockXZ)
	offs := xzBlocks(t, cli)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"first block, 4 GiB", withDict(t, cli, offs[0], 40), "target file: PATH: xz dictionary of 4095 MiB in block 1: more than the 64 MiB of xz -9"},
		{"first block, 96 MiB", withDict(t, cli, offs[0], 29), "target file: PATH: xz dictionary of 96 MiB in block 1"},
		{"second block, 1 GiB", withDict(t, cli, offs[1], 36), "read PATH: refused after line 705: xz dictionary of 1024 MiB in block 2"},
		{"last block of a second stream, 1 GiB", join(cli, withDict(t, cli, offs[4], 36)), "xz dictionary of 1024 MiB in block 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, tc.data)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := ReadTargets([]string{"@" + path}, nil, func(Range) error { return nil })
			runtime.ReadMemStats(&after)
			if want := strings.ReplaceAll(tc.want, "PATH", path); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want one naming the file and with %q", err, want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
				t.Errorf("allocated %d MiB while reading", alloc>>20)
			}
		})
	}
}

// TestDamagedXZIsRefused: an xz file cut anywhere (in a block header, between blocks, in the
// index, the footer or the stream padding), with a damaged block or index, or with data
// after its stream, is an error naming the file and the last line read, not a list read in
// part.
func TestDamagedXZIsRefused(t *testing.T) {
	cli := readFixture(t, multiBlockXZ)
	offs := xzBlocks(t, cli)
	flip := func(i int) []byte {
		b := bytes.Clone(cli)
		b[i] ^= 0x10
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"cut in the second block header", cli[:offs[1]+5]},
		{"cut between blocks", cli[:offs[2]]},
		{"cut in a block's data", cli[:offs[3]-20]},
		{"cut in the index", cli[:len(cli)-14]},
		{"cut in the footer", cli[:len(cli)-1]},
		{"cut in the stream padding", join(cli, []byte{0, 0})},
		{"a block header damaged", flip(offs[2] + 3)},
		{"a block's data damaged", flip(offs[2] + 40)},
		{"a block's check damaged", flip(offs[3] - 1)},
		{"the index damaged", flip(len(cli) - 18)},
		{"the footer damaged", flip(len(cli) - 3)},
		{"data after the stream", join(cli, []byte("2001:2::1\n"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, tc.data)
			err := ReadTargets([]string{"@" + path}, nil, func(Range) error { return nil })
			if err == nil || !strings.Contains(err.Error(), "read "+path+": damaged or truncated after line ") {
				t.Errorf("err = %v, want the file named as damaged or truncated", err)
			}
		})
	}
}

// BenchmarkXZRead reads a 200,000-line xz file of 1 MiB blocks with ulikunitz/xz's own reader
// and as a list: go test -run - -bench XZRead ./scanner/
func BenchmarkXZRead(b *testing.B) {
	var text strings.Builder
	for i := range 200_000 {
		fmt.Fprintf(&text, "2001:2::%x:%x\n", i*7919, i)
	}
	data := xzWrite(b, xz.WriterConfig{DictCap: 1 << 20, BlockSize: 1 << 20}, text.String())
	path := writeTemp(b, data)
	for _, tc := range []struct {
		name string
		open func() (io.Reader, error)
	}{
		{"xz.Reader", func() (io.Reader, error) { return xz.NewReader(bytes.NewReader(data)) }},
		{"openList", func() (io.Reader, error) { return openList(path) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(text.Len()))
			for b.Loop() {
				r, err := tc.open()
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != int64(text.Len()) {
					b.Fatalf("read %d bytes, %v", n, err)
				}
				if c, ok := r.(io.Closer); ok {
					c.Close()
				}
			}
		})
	}
}
