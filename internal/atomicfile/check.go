package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Check says why path must not be written as an output, if it must not: it is one of the
// files in protected (a store's own files: its database, -wal, -shm, .lock), under any name
// (a relative path, a symlinked folder, a hard link), a directory, a symlink (the rename would
// replace the link, not what it points to), or something other than a regular file; or it
// exists and force is false. A store overwritten by a report is a census lost, so an output
// replaces a file only when asked to.
func Check(path string, force bool, protected []string) error {
	fi, err := os.Lstat(path)
	exists := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, p := range protected {
		if same(path, p) {
			return fmt.Errorf("%s is the store's own file %s: write the output elsewhere", path, p)
		}
	}
	switch {
	case !exists:
		return nil
	case fi.IsDir():
		return fmt.Errorf("%s is a directory: name a file", path)
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link: name the file itself", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	case !force:
		return fmt.Errorf("%s exists: add --force to replace it", path)
	}
	return nil
}

// same reports whether a and b name one file: the same file on disk, or, where either does
// not exist yet, the same name once folders' symlinks are resolved.
func same(a, b string) bool {
	if fa, err := os.Stat(a); err == nil {
		if fb, err := os.Stat(b); err == nil {
			return os.SameFile(fa, fb)
		}
	}
	return resolved(a) == resolved(b)
}

func resolved(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(dir, filepath.Base(abs))
	}
	return abs
}

// Output writes an output file the user named: Check, then Write with mode 0644. opened
// reports whether write ran (an error before it is the caller's mistake: a path refused or
// not writable).
func Output(path string, force bool, protected []string, write func(io.Writer) error) (opened bool, err error) {
	if err := Check(path, force, protected); err != nil {
		return false, err
	}
	err = Write(path, 0o644, func(w io.Writer) error { opened = true; return write(w) })
	return opened, err
}
