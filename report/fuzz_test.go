package report

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzCIDRRecipients: a --recipients file of any content loads or fails with an error; what
// loads names valid, masked prefixes and recipients fit for a file name.
func FuzzCIDRRecipients(f *testing.F) {
	for _, s := range []string{"# networks\n127.0.0.0/16,cert-lab\n127.0.1.0/24,noc-two\n", "::1,lo6\n", "::ffff:127.0.0.0/104,mapped\n",
		"127.0.0.1, spaced \n", "127.0.0.0/33,x\n", "::1%lo,zoned\n", "127.0.0.0/8,../etc\n"} {
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
		for _, r := range rs {
			if !r.Prefix.IsValid() || r.Prefix != r.Prefix.Masked() || r.Prefix.Addr().Zone() != "" || r.Prefix.Addr().Is4In6() && r.Prefix.Bits() >= 96 {
				t.Errorf("%q: prefix %v", s, r.Prefix)
			}
			if !recipientName.MatchString(r.Recipient) {
				t.Errorf("%q: recipient %q", s, r.Recipient)
			}
		}
	})
}
