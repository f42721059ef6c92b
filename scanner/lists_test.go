package scanner

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ulikunitz/xz"
)

// compressed returns text as each list encoding: plain, gzip and xz.
func compressed(t testing.TB, text []byte) map[string][]byte {
	t.Helper()
	var gz, x bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(text)
	zw.Close()
	xw, err := xz.NewWriter(&x)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(text)
	xw.Close()
	return map[string][]byte{"plain": text, "gzip": gz.Bytes(), "xz": x.Bytes()}
}

// TestTargetFilesAreReadAsPublished: a hitlist, plain, gzip or xz (told apart by content, not
// name), with comments, CRLF line ends, bad lines, a line of 10 MB and a long comment, gives
// the same targets; each bad line is skipped and counted with its line number, and nothing
// aborts the reading.
func TestTargetFilesAreReadAsPublished(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("# responsive-addresses, a TUM-style header\r\n")
	b.WriteString("2001:2::1\r\n")
	b.WriteString("not-an-address\n")
	b.WriteString("2001:2::2 # trailing comment\n")
	b.WriteString(strings.Repeat("7", 10<<20) + "\n") // line 5: 10 MB, no comment
	b.WriteString("2001:2::3/127\n")
	b.WriteString("127.0.0.1 #" + strings.Repeat("c", MaxLine*2) + "\n") // long, but a comment
	b.WriteString("2001:2::/64\n")                                       // line 8: too wide to sweep
	b.WriteString("\n   \n2001:2::9")                                    // no final line end
	want := []string{"2001:2::1", "2001:2::2", "2001:2::2-2001:2::3", "127.0.0.1", "2001:2::9"}
	for enc, data := range compressed(t, b.Bytes()) {
		t.Run(enc, func(t *testing.T) {
			path := t.TempDir() + "/hitlist" // no extension: the content says what it is
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			var progress []uint64
			tr := TargetReader{Progress: func(file string, lines uint64) { progress = append(progress, lines) }}
			var got []string
			if err := tr.Read([]string{"@" + path}, func(r Range) error { got = append(got, r.String()); return nil }); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
			if tr.Stats.Lines != 11 || tr.Stats.Skipped != 3 {
				t.Errorf("read %d lines, skipped %d; want 11 and 3", tr.Stats.Lines, tr.Stats.Skipped)
			}
			for i, line := range []int{3, 5, 8} {
				if i >= len(tr.Stats.Examples) || !strings.HasPrefix(tr.Stats.Examples[i], fmt.Sprintf("%s:%d: ", path, line)) {
					t.Errorf("skipped lines %q, want line %d named", tr.Stats.Examples, line)
				}
			}
			if diff := cmp.Diff([]uint64{11}, progress); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTruncatedListIsRefused: a compressed list cut short is an error that names the file and
// the last line read, not a census of part of it.
func TestTruncatedListIsRefused(t *testing.T) {
	var b bytes.Buffer
	for i := range 50_000 {
		fmt.Fprintf(&b, "2001:2::%x\n", i)
	}
	for enc, data := range compressed(t, b.Bytes()) {
		if enc == "plain" {
			continue
		}
		t.Run(enc, func(t *testing.T) {
			path := t.TempDir() + "/hitlist"
			if err := os.WriteFile(path, data[:len(data)*2/3], 0o600); err != nil {
				t.Fatal(err)
			}
			n := 0
			err := ReadTargets([]string{"@" + path}, nil, func(Range) error { n++; return nil })
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "truncated after line") {
				t.Errorf("err = %v, want the file named as truncated", err)
			}
			if n >= 50_000 {
				t.Errorf("%d targets read before the damage; want fewer than all", n)
			}
		})
	}
}

// TestExclusionListsStayStrict: an exclude file may be compressed too, but a line in it that
// is not a network is an error: skipping it would probe what was meant to be excluded.
func TestExclusionListsStayStrict(t *testing.T) {
	for enc, data := range compressed(t, []byte("2001:2::/48\n127.0.0.0/8\n")) {
		path := t.TempDir() + "/exclude"
		os.WriteFile(path, data, 0o600)
		bl := NewBlocklist(true)
		if err := bl.AddFile(path); err != nil || bl.Len() != 2 {
			t.Errorf("%s: %d entries, %v; want 2", enc, bl.Len(), err)
		}
	}
	for _, text := range []string{"2001:2::/48\nnot-a-network\n", strings.Repeat("1", MaxLine+1) + "\n"} {
		path := t.TempDir() + "/exclude"
		os.WriteFile(path, []byte(text), 0o600)
		if err := NewBlocklist(true).AddFile(path); err == nil {
			t.Errorf("%.20q: loaded, want an error", text)
		}
	}
}

// FuzzTargetLines: a target file of any content is read to its end without error (bad lines
// are skipped and counted), every line is counted once, and what it yields are valid ranges.
func FuzzTargetLines(f *testing.F) {
	for _, s := range []string{"2001:2::1\n# c\nbad\n127.0.0.1/30\r\n", "\n\n", "2001:2::1-2001:2::5 # x", "\x00\xff\n::1%lo\n", strings.Repeat("#", MaxLine+3)} {
		f.Add([]byte(s))
	}
	cli := readFixture(f, multiBlockXZ) // xz of five blocks; then two streams, stream padding
	f.Add(cli)
	f.Add(join(cli, make([]byte, 4), compressed(f, []byte("127.0.0.1\n"))["xz"]))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := t.TempDir() + "/list"
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var tr TargetReader
		err := tr.Read([]string{"@" + path}, func(r Range) error {
			if !r.First.IsValid() || r.Last.Less(r.First) || r.First.Is4() != r.Last.Is4() {
				t.Errorf("invalid range %v", r)
			}
			return nil
		})
		if bytes.HasPrefix(data, gzipMagic) || bytes.HasPrefix(data, xzMagic) {
			return // a damaged compressed file may be refused
		}
		if err != nil {
			t.Fatal(err)
		}
		lines := uint64(bytes.Count(data, []byte("\n")))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		if tr.Stats.Lines != lines || tr.Stats.Skipped > lines {
			t.Errorf("counted %d lines (%d skipped), the data has %d", tr.Stats.Lines, tr.Stats.Skipped, lines)
		}
	})
}
