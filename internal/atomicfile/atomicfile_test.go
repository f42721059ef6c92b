package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	failed := errors.New("the writer failed")
	for _, c := range []struct {
		name    string
		old     string // "" means no file before
		write   string
		fail    bool
		want    string
		wantErr error
	}{
		{name: "new file", write: "hello\n", want: "hello\n"},
		{name: "replaces", old: "old\n", write: "new\n", want: "new\n"},
		{name: "empty", old: "old\n", write: "", want: ""},
		{name: "failed write leaves the old file", old: "old\n", write: "half", fail: true, want: "old\n", wantErr: failed},
		{name: "failed write leaves no file", write: "half", fail: true, wantErr: failed},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.txt")
			if c.old != "" {
				if err := os.WriteFile(path, []byte(c.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, 0o644, func(w io.Writer) error {
				if _, err := io.WriteString(w, c.write); err != nil {
					return err
				}
				if c.fail {
					return failed
				}
				return nil
			})
			if !errors.Is(err, c.wantErr) || (err != nil) != (c.wantErr != nil) {
				t.Fatalf("Write: %v, want %v", err, c.wantErr)
			}
			got, rerr := os.ReadFile(path)
			switch {
			case c.fail && c.old == "":
				if !errors.Is(rerr, os.ErrNotExist) {
					t.Errorf("after a failed write: %q, %v; want no file", got, rerr)
				}
			case rerr != nil:
				t.Fatal(rerr)
			case string(got) != c.want:
				t.Errorf("file holds %q, want %q", got, c.want)
			}
			if !c.fail {
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o644 {
					t.Errorf("mode %v, want 0644", st.Mode().Perm())
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "out.txt" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}
}

func TestWriteToAMissingFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "out.txt")
	called := false
	err := Write(path, 0o644, func(io.Writer) error { called = true; return nil })
	if !errors.Is(err, os.ErrNotExist) || called {
		t.Errorf("Write to a missing folder: %v, write called %v; want ErrNotExist before any write", err, called)
	}
}
