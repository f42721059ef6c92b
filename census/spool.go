package census

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
)

// spool is a worker's local, append-only file of observations the store could not take. Each
// batch is synced before the worker goes on, so what was seen survives the database's absence
// and the worker's death; it is replayed (upserted: replays are harmless) when the store is
// back, and before the worker marks a unit done. A worker holds an exclusive lock on its own
// file; a later worker on the same machine replays the files whose owners died.
type spool struct {
	dir, path string
	f         *os.File
	dirty     bool
}

type spooled struct {
	Run int64                   `json:"run"`
	Obs observation.Observation `json:"obs"`
}

const spoolExt = ".spool"

func openSpool(dir, id string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	path := filepath.Join(dir, safeName(id)+spoolExt)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool %s: another worker with the same id holds it: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	return &spool{dir: dir, path: path, f: f, dirty: st.Size() > 0}, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// append writes a batch and syncs it: when it returns nil, the batch is on disk.
func (s *spool) append(run int64, obs []observation.Observation) error {
	w := bufio.NewWriter(s.f)
	enc := json.NewEncoder(w)
	for _, o := range obs {
		if err := enc.Encode(spooled{Run: run, Obs: o}); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	s.dirty = true
	return s.f.Sync()
}

// replay stores what the spool holds and empties it. Nothing is dropped on failure.
func (s *spool) replay(ctx context.Context, st store.Store) error {
	if !s.dirty {
		return nil
	}
	if err := replayFile(ctx, st, s.f); err != nil {
		return err
	}
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.dirty = false
	return s.f.Sync()
}

// replayOrphans replays and removes the spool files of workers that died on this machine.
func (s *spool) replayOrphans(ctx context.Context, st store.Store) error {
	if err := s.replay(ctx, st); err != nil {
		return err
	}
	names, err := filepath.Glob(filepath.Join(s.dir, "*"+spoolExt))
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if name == s.path {
			continue
		}
		errs = append(errs, replayOrphan(ctx, st, name))
	}
	return errors.Join(errs...)
}

func replayOrphan(ctx context.Context, st store.Store, name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil // its worker is alive
	}
	if err := replayFile(ctx, st, f); err != nil {
		return err
	}
	slog.Info("spool: replayed a dead worker's observations", "spool", name)
	return os.Remove(name)
}

// replayFile upserts every observation of f, run by run, in batches.
func replayFile(ctx context.Context, st store.Store, f *os.File) error {
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	batch := map[int64][]observation.Observation{}
	n := 0
	flush := func() error {
		for run, obs := range batch {
			if err := st.AddObservations(ctx, run, obs); err != nil {
				return fmt.Errorf("replay spool: %w", err)
			}
		}
		clear(batch)
		n = 0
		return nil
	}
	for line := 1; sc.Scan(); line++ {
		var s spooled
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			// A torn last line (the process died mid-write, before the sync) was never
			// acknowledged; anything else is damage worth stopping for.
			if !sc.Scan() {
				break
			}
			return fmt.Errorf("spool %s:%d: %w", f.Name(), line, err)
		}
		batch[s.Run] = append(batch[s.Run], s.Obs)
		if n++; n >= 5000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read spool %s: %w", f.Name(), err)
	}
	return flush()
}

func (s *spool) close() error {
	if s.dirty {
		return s.f.Close() // kept for the next worker on this machine
	}
	name := s.f.Name()
	s.f.Close()
	err := os.Remove(name)
	os.Remove(s.dir) // only when empty: other workers' spools stay
	return err
}
