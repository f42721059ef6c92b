package privilege

import (
	"slices"
	"testing"
)

// TestDefaultUsers: nobody first, then the sudo caller unless sudo was run by root.
func TestDefaultUsers(t *testing.T) {
	for _, c := range []struct {
		sudoUser, sudoUID string
		want              []string
	}{
		{"", "", []string{"nobody"}},
		{"alice", "1000", []string{"nobody", "alice"}},
		{"root", "0", []string{"nobody"}},
		{"root", "", []string{"nobody"}},
		{"toor", "0", []string{"nobody"}},
	} {
		t.Setenv("SUDO_USER", c.sudoUser)
		t.Setenv("SUDO_UID", c.sudoUID)
		if got := defaultUsers(); !slices.Equal(got, c.want) {
			t.Errorf("SUDO_USER=%q SUDO_UID=%q: %q, want %q", c.sudoUser, c.sudoUID, got, c.want)
		}
	}
}
