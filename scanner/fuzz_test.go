package scanner

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"127.0.2.1", "127.0.2.0/24", "127.0.0.1-127.0.0.9", "::1", "::ffff:127.0.0.4", "127.0.0.0/8", "::127.0.0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseTarget(s)
		if err != nil {
			return
		}
		if r.First.Is4() != r.Last.Is4() || r.Last.Less(r.First) || r.Size() == 0 || r.Size() > MaxRangeSize {
			t.Errorf("%q parsed to a bad range %s (%d)", s, r, r.Size())
		}
		kept, _ := NewBlocklist(false).Subtract(r)
		for _, k := range kept {
			for _, a := range []netip.Addr{k.First, k.Last} {
				if src, blocked := NewBlocklist(false).Lookup(a); blocked {
					t.Errorf("%q: %s survived subtraction of %s", s, a, src)
				}
			}
		}
	})
}

func FuzzReadCandidates(f *testing.F) {
	for _, s := range []string{"127.0.2.1:18789\n", "saddr,sport\n127.0.0.4,80\n", "open tcp 80 127.0.0.4 1\n", "[::1]:443\n", "banner tcp 80 127.0.0.4 1 x\n",
		`{"ip":"127.0.0.4","ports":[{"port":80,"proto":"tcp","status":"open"}]}` + "\n", "Host: 127.0.0.4 ()\tPorts: 80/open/tcp//http///\n",
		`<nmaprun><host><address addr="127.0.0.4" addrtype="ipv4"/><ports><port protocol="tcp" portid="80"><state state="open"/></port></ports></host></nmaprun>`,
		",127.0.0.4,80,tcp,false\n"} {
		f.Add(s)
	}
	// What the real tools wrote (deploy/testbed/record-candidates.sh), the large ones cut short.
	files, _ := filepath.Glob("testdata/candidates/*")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil && !strings.HasSuffix(name, ".want") {
			f.Add(string(data[:min(len(data), 4096)]))
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		ReadCandidates("fuzz", strings.NewReader(s), NewBlocklist(false), Scope{}, 18789, func(ap netip.AddrPort) error {
			if !ap.IsValid() || ap.Port() == 0 {
				t.Errorf("invalid candidate %v from %q", ap, s)
			}
			if _, blocked := NewBlocklist(false).Lookup(ap.Addr()); blocked {
				t.Errorf("blocked candidate %v passed", ap)
			}
			return nil
		}, func(CandidateSkip) {})
	})
}

// FuzzListFiles: exclude files and opt-out registers of any content either load or fail with
// an error, and lookups on a loaded list never panic.
func FuzzListFiles(f *testing.F) {
	for _, s := range []string{"127.0.2.0/24\n# c\n::ffff:127.0.3.0/120\n", "network,requested_by,requested_at,verification,reason\n127.0.4.0/24,a,b,c,d\n", "::1%lo\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dir := t.TempDir()
		path := dir + "/list"
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, add := range []func(*Blocklist, string) error{(*Blocklist).AddFile, (*Blocklist).AddOptOutFile} {
			bl := NewBlocklist(true)
			if add(bl, path) != nil {
				continue
			}
			for _, a := range []string{"127.0.0.1", "::1", "127.0.2.9", "::ffff:127.0.2.9"} {
				bl.Lookup(netip.MustParseAddr(a))
			}
		}
	})
}

// FuzzParsePorts: a --ports list of any content parses to a sorted set of distinct ports
// 1-65535 holding every single port it names, or fails.
func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"18789", "8080-8082,funnel,443", "1-65535", "wild,sidecar", "0", "9-1", "1,,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ports, err := ParsePorts(s)
		if err != nil {
			return
		}
		for i, p := range ports {
			if p == 0 || i > 0 && ports[i-1] >= p {
				t.Fatalf("%q: %v is not a sorted set of ports", s, ports)
			}
		}
		for _, f := range strings.Split(s, ",") {
			if p, err := parsePort(f); err == nil && !slices.Contains(ports, p) {
				t.Errorf("%q: port %d missing from %v", s, p, ports)
			}
		}
	})
}
