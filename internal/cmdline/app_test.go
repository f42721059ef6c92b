package cmdline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/urfave/cli/v2"
)

// app is a small clawcensus: the flags that say where things are, as cmd shares them.
func app(got *[]string, hint func(*cli.Context) string) *cli.App {
	db := &cli.StringFlag{Name: "db", EnvVars: []string{"CLAWCENSUS_DB"}, Value: "clawcensus.db"}
	data := &cli.StringFlag{Name: "data", EnvVars: []string{"CLAWCENSUS_DATA"}}
	action := func(c *cli.Context) error {
		*got = append(c.Args().Slice(), "|", c.String("db"), hint(c))
		return nil
	}
	return &cli.App{Name: "clawcensus", Commands: []*cli.Command{
		{Name: "scan", Flags: []cli.Flag{db, data, &cli.BoolFlag{Name: "dry-run"}, &cli.StringFlag{Name: "ports"}}, Action: action},
		{Name: "reanalyze", Flags: []cli.Flag{db, data, &cli.Int64Flag{Name: "run"}}},
		{Name: "fingerprints", Subcommands: []*cli.Command{
			{Name: "update", Flags: []cli.Flag{data, &cli.StringFlag{Name: "registry"}}, Action: action}}},
	}}
}

// TestFlagsAnywhere: flags after targets are read as flags, by commands and subcommands.
func TestFlagsAnywhere(t *testing.T) {
	var got []string
	hint := func(c *cli.Context) string { return "" }
	a := app(&got, hint)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"scan", "127.0.0.10/31", "--db", "x.db", "127.0.0.1"}, []string{"127.0.0.10/31", "127.0.0.1", "|", "x.db", ""}},
		{[]string{"scan", "127.0.0.10/31", "--dry-run", "--ports", "1-3"}, []string{"127.0.0.10/31", "|", "clawcensus.db", ""}},
		{[]string{"fingerprints", "update", "extra", "--data", "d"}, []string{"extra", "|", "", ""}},
	} {
		got = nil
		if err := a.RunContext(context.Background(), FlagsAnywhere(a.Commands, append([]string{"clawcensus"}, tc.args...))); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.args, diff)
		}
	}
}

// TestHint: a printed command carries --db and --data as this process was given them, where
// the command takes them, absolute and quoted; not the defaults, not what the environment
// already gives, not a password.
func TestHint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "it's here")
	os.Mkdir(dir, 0o700)
	t.Chdir(dir)
	os.WriteFile("c.db", nil, 0o600)
	t.Setenv("CLAWCENSUS_DB", "")
	os.Unsetenv("CLAWCENSUS_DB")
	t.Setenv("CLAWCENSUS_DATA", "/from/env")
	redact := func(s string) string { return strings.ReplaceAll(s, "secret", "xxxxx") }
	quoted := Quote(filepath.Join(dir, "c.db"))
	for _, tc := range []struct {
		args  []string
		words []string
		want  string
	}{
		{[]string{"scan", "127.0.0.1"}, []string{"scan", "--resume", "1"}, "clawcensus scan --resume 1"},
		{[]string{"scan", "127.0.0.1", "--db", "c.db"}, []string{"scan", "--resume", "1"}, "clawcensus scan --resume 1 --db " + quoted},
		{[]string{"scan", "--db", "postgres://u:secret@127.0.0.1/c", "127.0.0.1"}, []string{"reanalyze", "--run", "2"},
			"clawcensus reanalyze --run 2 --db postgres://u:xxxxx@127.0.0.1/c"},
		// --data from the environment is inherited by a pasted command; given on the line, it is carried.
		{[]string{"scan", "--db", "c.db", "127.0.0.1"}, []string{"fingerprints", "update"}, "clawcensus fingerprints update"},
		{[]string{"scan", "--db", "c.db", "--data", "/d", "127.0.0.1"}, []string{"fingerprints", "update"}, "clawcensus fingerprints update --data /d"},
		{[]string{"scan", "--db", "c.db", "127.0.0.1"}, []string{"scan", "TARGET..."}, "clawcensus scan TARGET... --db " + quoted},
	} {
		var got []string
		var line string
		a := app(&got, func(c *cli.Context) string { line = Hint(c, redact, tc.words...); return line })
		if err := a.RunContext(context.Background(), FlagsAnywhere(a.Commands, append([]string{"clawcensus"}, tc.args...))); err != nil {
			t.Fatal(err)
		}
		if line != tc.want {
			t.Errorf("%v: hint %q, want %q", tc.args, line, tc.want)
		}
	}
	// What the environment names is left to it.
	t.Setenv("CLAWCENSUS_DB", "c.db")
	var got []string
	var line string
	a := app(&got, func(c *cli.Context) string { line = Hint(c, redact, "scan", "--resume", "1"); return line })
	if err := a.RunContext(context.Background(), []string{"clawcensus", "scan", "127.0.0.1"}); err != nil || line != "clawcensus scan --resume 1" {
		t.Errorf("with CLAWCENSUS_DB: %q, %v", line, err)
	}
}
