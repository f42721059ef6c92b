package report

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRecipients: a --recipients file of any content loads or fails with an error; what
// loads names valid, masked prefixes, each once, and recipients fit for a file name, none of
// them the reserved "unassigned".
func FuzzRecipients(f *testing.F) {
	for _, s := range []string{"# networks\n127.0.0.0/16,cert-lab\n127.0.1.0/24,noc-two\n", "::1,lo6\n", "::ffff:127.0.0.0/104,mapped\n",
		"127.0.0.1, spaced \n", "127.0.0.0/33,x\n", "::1%lo,zoned\n", "127.0.0.0/8,../etc\n", "prefix,recipient\n127.0.0.0/8,a\n",
		"127.0.0.0/8,unassigned\n", "127.0.0.0/8,a\n127.0.0.1/8,b\n", "127.0.0.1,a\n::ffff:127.0.0.1,b\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		path := filepath.Join(t.TempDir(), "recipients.csv")
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		rs, err := ReadCIDRRecipients(path)
		if err != nil {
			return
		}
		seen := map[netip.Prefix]bool{}
		for _, r := range rs {
			if seen[r.Prefix] || r.Recipient == Unassigned {
				t.Errorf("%q: %v listed twice or to %q", s, r.Prefix, r.Recipient)
			}
			seen[r.Prefix] = true
			if !r.Prefix.IsValid() || r.Prefix != r.Prefix.Masked() || r.Prefix.Addr().Zone() != "" || r.Prefix.Addr().Is4In6() && r.Prefix.Bits() >= 96 {
				t.Errorf("%q: prefix %v", s, r.Prefix)
			}
			if !recipientName.MatchString(r.Recipient) {
				t.Errorf("%q: recipient %q", s, r.Recipient)
			}
		}
	})
}
