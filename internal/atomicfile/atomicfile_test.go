package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// TestCheck: `report --db self.db -o self.db` replaced the store with the report. An output
// may not be a store's file under any name, a directory, a symlink or another kind of file,
// and replaces an existing file only when forced.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "self.db")
	for _, f := range []string{db, db + "-wal", filepath.Join(dir, "old.csv")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Symlink(db, filepath.Join(dir, "link-to-db"))
	os.Symlink(filepath.Join(dir, "old.csv"), filepath.Join(dir, "link"))
	os.Symlink(dir, filepath.Join(dir, "via"))
	os.Link(db, filepath.Join(dir, "hard.db"))
	protected := []string{db, db + "-wal", db + "-shm", db + ".lock"}
	t.Chdir(dir)
	for path, want := range map[string]string{
		db: "store's own file", "self.db": "store's own file", "./sub/../self.db": "store's own file", "via/self.db": "store's own file",
		"self.db-wal": "store's own file", "self.db-shm": "store's own file", "self.db.lock": "store's own file",
		"link-to-db": "store's own file", "hard.db": "store's own file",
		"sub": "directory", "link": "symbolic link", "old.csv": "--force", "/dev/null": "not a regular file",
		"new.csv": "", "sub/new.md": "",
	} {
		for _, force := range []bool{false, true} {
			err := Check(path, force, protected)
			w := want
			if force && want == "--force" {
				w = ""
			}
			if (w == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), w)) {
				t.Errorf("Check(%q, force %v): %v, want %q", path, force, err, w)
			}
		}
	}
}
