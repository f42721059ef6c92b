package cmdline

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestReorder(t *testing.T) {
	valued := map[string]bool{"db": true, "ports": true, "p": true}
	takesValue := func(name string) bool { return valued[name] }
	for _, tc := range []struct {
		in, want string
	}{
		{"127.0.0.10/31 --dry-run", "--dry-run 127.0.0.10/31"},
		{"127.0.0.1 --db x.db 127.0.0.2 -p 80", "--db x.db -p 80 127.0.0.1 127.0.0.2"},
		{"127.0.0.1 --db=x.db --lab", "--db=x.db --lab 127.0.0.1"},
		// A flag's value is not a target, even when it looks like a flag.
		{"--db -weird.db 127.0.0.1", "--db -weird.db 127.0.0.1"},
		// After --, everything is an argument, and -- stays ahead of them all.
		{"127.0.0.1 --lab -- -odd --db", "--lab -- 127.0.0.1 -odd --db"},
		{"- --lab", "--lab -"},
		// A value flag at the end is left for the parser to refuse.
		{"127.0.0.1 --db", "--db 127.0.0.1"},
		{"", ""},
	} {
		got := Reorder(strings.Fields(tc.in), takesValue)
		if diff := cmp.Diff(strings.Fields(tc.want), got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Reorder(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// TestQuoteSurvivesTheShell hands quoted words to sh and reads them back as they were.
func TestQuoteSurvivesTheShell(t *testing.T) {
	words := []string{"plain.db", "/tmp/with space/c.db", "it's", `a"b`, "$HOME", "`id`", "a;b", "", "x\ny", "*", "~/x", "!"}
	out, err := exec.Command("sh", "-c", `for w in `+Join(words...)+`; do printf '%s\0' "$w"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if diff := cmp.Diff(words, got); diff != "" {
		t.Errorf("through sh (-want +got):\n%s", diff)
	}
	if Quote("clawcensus.db") != "clawcensus.db" || Quote("postgres://u@127.0.0.1/db") != "postgres://u@127.0.0.1/db" {
		t.Errorf("plain words are quoted: %s %s", Quote("clawcensus.db"), Quote("postgres://u@127.0.0.1/db"))
	}
}
