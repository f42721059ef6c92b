// Package atomicfile writes a file whole or not at all, so that a reader (a person, a
// web server, a CERT's mail robot) finds the old file or the new one and never a part. It
// does not lock: two writers of one path each win in turn, the last rename standing.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write creates or replaces path with what write writes, with permissions perm. The bytes
// go to a temporary file in path's folder (a rename does not cross file systems), which is
// synced, given perm and renamed over path; then the folder is synced, so the rename too
// survives a crash. If write or any step fails, path is as it was and the temporary file is
// gone. An error from write is returned as it is.
func Write(path string, perm os.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Chmod(perm), tmp.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
