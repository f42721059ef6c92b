package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/store"
)

// storeWithRun makes a closed SQLite store at db holding one finished run.
func storeWithRun(t *testing.T, db string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := &store.Run{StartedAt: time.Now(), Targets: "127.0.0.0/24", Ports: "18789", Shard: "0/1", ToolVersion: "t", Method: "connect"}
	if err := st.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	ended := time.Now()
	if err := st.SetStatus(ctx, run.ID, store.StatusComplete, &ended); err != nil {
		t.Fatal(err)
	}
}

// TestOutputNeverReplacesTheStore: `report --db self.db -o self.db` overwrote the store with
// the report. The store's files, a directory and a symlink are refused (exit 2, the store as
// it was); an existing file is replaced only with --force.
func TestOutputNeverReplacesTheStore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "self.db")
	storeWithRun(t, db)
	orig, _ := os.ReadFile(db)
	old := filepath.Join(dir, "old.csv")
	os.WriteFile(old, []byte("old\n"), 0o644)
	os.Symlink(db, filepath.Join(dir, "link.csv"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--db", db, "-o", db}, "store's own file"},
		{[]string{"report", "--db", db, "-o", db, "--force"}, "store's own file"},
		{[]string{"report", "--db", db, "--format", "html", "-o", filepath.Join(dir, ".", "self.db-wal")}, "store's own file"},
		{[]string{"export", "--db", db, "-o", filepath.Join(dir, "link.csv"), "--force"}, "store's own file"},
		{[]string{"export", "--db", db, "-o", dir}, "is a directory"},
		{[]string{"export", "--db", db, "-o", old}, "add --force"},
		{[]string{"report", "--db", db, "--format", "csv", "-o", old}, "add --force"},
	} {
		res := runCLI(t, "", c.args...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, res.code, res.stderr, c.want)
		}
	}
	if now, _ := os.ReadFile(db); !bytes.Equal(now, orig) {
		t.Error("the store changed")
	}
	if b, _ := os.ReadFile(old); string(b) != "old\n" {
		t.Errorf("old.csv replaced without --force: %q", b)
	}
	if res := runCLI(t, "", "report", "--db", db, "--format", "csv", "-o", old, "--force"); res.code != 0 {
		t.Errorf("--force: exit %d %s", res.code, res.stderr)
	}
	if b, _ := os.ReadFile(old); !strings.HasPrefix(string(b), "id,") && string(b) == "old\n" {
		t.Errorf("--force did not replace old.csv: %q", b)
	}
}

// TestReadOnlyStoreAsNobody: in a folder its user may not write, report, trend, export and
// serve failed with "attempt to write a readonly database"; they read it now, as nobody, and
// make no -wal or -shm.
func TestReadOnlyStoreAsNobody(t *testing.T) {
	needRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	dir, err := os.MkdirTemp("", "clawcensus-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755); os.RemoveAll(dir) })
	bin := filepath.Join(dir, "clawcensus")
	if b, err := os.ReadFile(cliBinary); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "census.db")
	storeWithRun(t, db)
	os.Chmod(db, 0o444)
	os.Chmod(dir, 0o555)
	asNobody := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(testEnv(), "CLAWCENSUS_USER=", "HOME="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		return cmd
	}
	for _, args := range [][]string{{"report", "--db", db}, {"report", "--db", db, "--format", "md"}, {"trend", "--db", db}, {"export", "--db", db}} {
		var out, errb bytes.Buffer
		cmd := asNobody(args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Errorf("%v as nobody: %v\n%s", args, err, errb.String())
		}
	}
	cmd := asNobody("serve", "--db", db, "--listen", "127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	var said bytes.Buffer
	base := ""
	for buf := make([]byte, 512); base == ""; {
		n, err := stderr.Read(buf)
		said.Write(buf[:n])
		if m := regexp.MustCompile(`serving (http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(said.String()); m != nil {
			base = m[1]
		} else if err != nil {
			t.Fatalf("serve as nobody: %s", said.String())
		}
	}
	go io.Copy(io.Discard, stderr)
	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "127.0.0.0/24") {
		t.Errorf("serve as nobody: %d %.300s", res.StatusCode, body)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("reading made files: %v", entries)
	}
}
