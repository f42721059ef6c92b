package census

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clawcensus/clawcensus/internal/cmdline"
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

// SpoolDir is where a worker on the store dsn keeps its spool unless told otherwise (--spool):
// beside a SQLite store (its file and "-spool": each store its own, so that a replay never
// stores one store's observations under another's run numbers), or, for Postgres, in the
// user's state directory ($XDG_STATE_HOME/clawcensus/spool, else ~/.local/state/clawcensus/spool),
// one directory per store. Never the working directory: a spool left in a checkout by a run that
// became nobody made the next run there fail.
func SpoolDir(dsn string) (string, error) {
	if files := store.Files(dsn); len(files) > 0 && !strings.HasPrefix(filepath.Base(files[0]), ":") && files[0] != "" {
		abs, err := filepath.Abs(files[0])
		if err != nil {
			return "", fmt.Errorf("spool: %w", err)
		}
		return abs + "-spool", nil
	}
	state := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(state) { // the XDG rule: a relative value is ignored
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("spool: no state directory to keep it in (%v): name one with --spool DIR", err)
		}
		state = filepath.Join(home, ".local", "state")
	}
	sum := sha256.Sum256([]byte(store.Redact(dsn)))
	return filepath.Join(state, "clawcensus", "spool", "postgres-"+hex.EncodeToString(sum[:6])), nil
}

func openSpool(dir, id string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, spoolAccess(dir, err)
	}
	path := filepath.Join(dir, safeName(id)+spoolExt)
	f, err := lockedFile(path)
	if err != nil {
		return nil, spoolAccess(dir, err)
	}
	size, err := trimTornTail(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool %s: %w", path, err)
	}
	return &spool{dir: dir, path: path, f: f, dirty: size > 0}, nil
}

// lockedFile opens (or makes) a spool file and takes its exclusive lock: one worker id, one file.
func lockedFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another worker with the same id holds %s: %w", path, err)
	}
	return f, nil
}

// spoolAccess says, when a spool directory cannot be used because another user owns it, who
// does and the two ways out; any other error as it is.
func spoolAccess(dir string, err error) error {
	if !errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("spool %s: %w", dir, err)
	}
	var fi os.FileInfo
	for d := dir; fi == nil; d = filepath.Dir(d) { // the directory, or the nearest that exists
		if info, serr := os.Stat(d); serr == nil {
			fi, dir = info, d
		} else if filepath.Dir(d) == d {
			return fmt.Errorf("spool %s: %w", dir, err)
		}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == os.Geteuid() {
		return fmt.Errorf("spool %s: %w (name a directory this process may write with --spool DIR)", dir, err)
	}
	owner := strconv.Itoa(int(st.Uid))
	if u, lerr := user.LookupId(owner); lerr == nil {
		owner = u.Username + " (uid " + owner + ")"
	}
	return fmt.Errorf("spool %s belongs to %s, not to this process (uid %d): give it back with `sudo chown -R %d:%d %s`, "+
		"or name another directory with --spool DIR", dir, owner, os.Geteuid(), os.Geteuid(), os.Getegid(), cmdline.Quote(dir))
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

// replay stores what the spool holds and empties it. Nothing is dropped on failure. A spool
// with damaged records (a line that is not one, a run this store does not hold) has its
// readable records stored and is then moved aside whole, with a message naming both paths; the
// worker goes on with a fresh spool.
func (s *spool) replay(ctx context.Context, st store.Store) error {
	if !s.dirty {
		return nil
	}
	damaged, err := replayFile(ctx, st, s.f)
	if err != nil {
		return err
	}
	if damaged {
		f, err := lockedFile(s.path)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.f.Close()
		s.f, s.dirty = f, false
		return nil
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
	damaged, err := replayFile(ctx, st, f)
	if err != nil || damaged {
		return err // moved aside when damaged
	}
	slog.Info("spool: replayed a dead worker's observations", "spool", name)
	return os.Remove(name)
}

// maxSpoolLine bounds one spooled record: an observation is a few KiB.
const maxSpoolLine = 16 << 20

// replayFile upserts every readable observation of f, run by run, in batches. A torn last line
// (the process died mid-write, before the sync) was never acknowledged and is not a record.
// When other lines are damaged, or name a run the store does not hold, f is moved aside whole
// once the rest is stored (damaged is true): the records stay there, never silently dropped.
func replayFile(ctx context.Context, st store.Store, f *os.File) (damaged bool, err error) {
	if _, err := f.Seek(0, 0); err != nil {
		return false, err
	}
	runs, err := st.Runs(ctx)
	if err != nil {
		return false, fmt.Errorf("replay spool: %w", err)
	}
	known := map[int64]bool{}
	for _, r := range runs {
		known[r.ID] = true
	}
	batch := map[int64][]observation.Observation{}
	n, bad := 0, 0
	var first string
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
	r := bufio.NewReaderSize(f, 64<<10)
	for line := 1; ; line++ {
		text, complete, err := readSpoolLine(r)
		if err != nil {
			return false, fmt.Errorf("read spool %s: %w", f.Name(), err)
		}
		if len(text) == 0 && complete == io.EOF {
			break
		}
		var s spooled
		why := ""
		if complete == errLongLine {
			why = "longer than 16 MiB"
		} else if err := json.Unmarshal(text, &s); err != nil {
			if complete == io.EOF {
				break // torn: never acknowledged
			}
			why = err.Error()
		} else if !known[s.Run] {
			why = fmt.Sprintf("run %d is not in this store", s.Run)
		}
		if why != "" {
			if bad++; bad == 1 {
				first = fmt.Sprintf("line %d: %s", line, why)
			}
			continue
		}
		batch[s.Run] = append(batch[s.Run], s.Obs)
		if n++; n >= 5000 {
			if err := flush(); err != nil {
				return false, err
			}
		}
		if complete == io.EOF {
			break
		}
	}
	if err := flush(); err != nil {
		return false, err
	}
	if bad == 0 {
		return false, nil
	}
	aside := fmt.Sprintf("%s.damaged-%s", f.Name(), time.Now().UTC().Format("20060102T150405.000Z"))
	if err := os.Rename(f.Name(), aside); err != nil {
		return false, fmt.Errorf("spool %s: %d damaged records (%s), and it cannot be moved aside: %w", f.Name(), bad, first, err)
	}
	slog.Warn("spool: damaged records; the readable ones are stored and the file is moved aside, whole", "spool", f.Name(),
		"moved_to", aside, "damaged", bad, "first", first)
	return true, nil
}

// errLongLine marks a spool line longer than maxSpoolLine (skipped to its end).
var errLongLine = errors.New("line too long")

// readSpoolLine reads one line without its newline; complete is nil for a whole line, io.EOF
// for a last line without a newline (or none: text empty), errLongLine for one too long.
func readSpoolLine(r *bufio.Reader) (text []byte, complete, err error) {
	var buf []byte
	long := false
	for {
		chunk, rerr := r.ReadSlice('\n')
		if !long {
			if len(buf)+len(chunk) > maxSpoolLine {
				long, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case rerr == bufio.ErrBufferFull:
			continue
		case rerr == io.EOF:
			if long {
				return nil, errLongLine, nil
			}
			return buf, io.EOF, nil
		case rerr != nil:
			return nil, nil, rerr
		case long:
			return nil, errLongLine, nil
		}
		return buf[:len(buf)-1], nil, nil
	}
}

// trimTornTail cuts a last line left without its newline (a write torn by the process's death,
// never acknowledged), so that the next batch does not join it; it returns the size left.
func trimTornTail(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			keep := start + int64(i) + 1
			if keep == size {
				return size, nil
			}
			return keep, f.Truncate(keep)
		}
		end = start
	}
	return 0, f.Truncate(0)
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
