package scanner

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readAll runs ReadCandidates over input with the lab blocklist and no scope.
func readAll(t *testing.T, name, input string) (got []string, skips, notOpen []CandidateSkip) {
	t.Helper()
	err := ReadCandidates(name, strings.NewReader(input), NewBlocklist(true), Scope{}, 18789,
		func(ap netip.AddrPort) error { got = append(got, ap.String()); return nil },
		func(s CandidateSkip) {
			if s.NotOpen {
				notOpen = append(notOpen, s)
			} else {
				skips = append(skips, s)
			}
		})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return got, skips, notOpen
}

// TestCandidateFormatsOfRealTools reads what zmap, masscan, naabu and nmap wrote on the
// namespace testbed (deploy/testbed/record-candidates.sh) and finds exactly the open hosts
// the testbed seeded: nothing missed, no closed port taken, no line called bad.
func TestCandidateFormatsOfRealTools(t *testing.T) {
	wants, _ := filepath.Glob("testdata/candidates/*.want")
	if len(wants) < 10 {
		t.Fatalf("%d recorded sweeps in testdata/candidates", len(wants))
	}
	for _, wantFile := range wants {
		name := strings.TrimSuffix(wantFile, ".want")
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			wantData, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Fields(string(wantData))
			got, skips, _ := readAll(t, name, string(data))
			slices.SortFunc(got, func(a, b string) int { return netip.MustParseAddrPort(a).Compare(netip.MustParseAddrPort(b)) })
			slices.SortFunc(want, func(a, b string) int { return netip.MustParseAddrPort(a).Compare(netip.MustParseAddrPort(b)) })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
			if len(skips) > 0 {
				t.Errorf("%d records called bad, the first: %+v", len(skips), skips[0])
			}
		})
	}
}

// TestCandidateRecordsThatAreNotOpen: closed ports, RSTs, UDP, banners and repeats are read
// past as NotOpen (no warning), while broken records are skips with their line numbers.
func TestCandidateRecordsThatAreNotOpen(t *testing.T) {
	for _, c := range []struct {
		name, input string
		want        []string
		notOpen     int
		bad         []int // lines of the skips
	}{
		{"masscan -oL", "#masscan\nopen tcp 18789 127.0.2.1 1\nbanner tcp 18789 127.0.2.1 1 http HTTP/1.1 200 OK\nclosed tcp 80 127.0.2.2 1\nopen udp 53 127.0.2.3 1\n# end\n",
			[]string{"127.0.2.1:18789"}, 3, nil},
		{"masscan -oJ with a banner", "[\n{   \"ip\": \"127.0.2.1\",   \"timestamp\": \"1\", \"ports\": [ {\"port\": 18789, \"proto\": \"tcp\", \"status\": \"open\", \"reason\": \"syn-ack\", \"ttl\": 64} ] }\n,\n" +
			"{   \"ip\": \"127.0.2.1\",   \"timestamp\": \"1\", \"ports\": [ {\"port\": 18789, \"proto\": \"tcp\", \"service\": {\"name\": \"http\", \"banner\": \"x\"} } ] }\n]\n",
			[]string{"127.0.2.1:18789"}, 1, nil},
		{"masscan -oD with a banner", `{"ip":"127.0.2.1","timestamp":"1","port":18789,"proto":"tcp","rec_type":"status","data":{"status":"open"}}` + "\n" +
			`{"ip":"127.0.2.1","timestamp":"1","port":18789,"proto":"tcp","rec_type":"banner","data":{"service_name":"http","banner":"x"}}` + "\n" +
			`{"ip":"127.0.2.2","timestamp":"1","port":53,"proto":"udp","rec_type":"status","data":{"status":"open"}}` + "\n",
			[]string{"127.0.2.1:18789"}, 2, nil},
		{"zmap CSV, every answer", "saddr,sport,classification,success,repeat\n127.0.2.1,18789,synack,1,0\n127.0.2.2,18789,rst,0,0\n127.0.2.1,18789,synack,1,1\n127.0.2.3,18789,synack,1,0\n",
			[]string{"127.0.2.1:18789", "127.0.2.3:18789"}, 1, nil},
		{"zmap JSON, IPv6 and booleans", `{"saddr":"::1","sport":443,"success":true,"repeat":false}` + "\n" + `{"saddr":"127.0.2.2","sport":443,"success":false}` + "\n" + `{"saddr":"127.0.2.9"}` + "\n",
			[]string{"[::1]:443", "127.0.2.9:18789"}, 1, nil},
		{"naabu CSV with a header", "host,ip,port,protocol,tls\n,127.0.2.1,18789,tcp,false\nlocalhost,127.0.2.2,8080,tcp,false\n,127.0.2.3,53,udp,false\n",
			[]string{"127.0.2.1:18789", "127.0.2.2:8080"}, 1, nil},
		{"nmap -oG", "# Nmap 7.93 scan\nHost: 127.0.2.1 ()\tStatus: Up\nHost: 127.0.2.1 ()\tPorts: 18789/open/tcp//unknown///, 22/closed/tcp//ssh///, 8080/open/tcp//http-proxy///\tIgnored State: closed (997)\nHost: 127.0.2.2 ()\tPorts: 18789/filtered/tcp/////\n",
			[]string{"127.0.2.1:18789", "127.0.2.1:8080"}, 1, nil},
		{"bad records keep their line numbers", "127.0.2.1:18789\n{\"ip\": \"no\"}\n127.0.2.2:0\nsaddr,sport\nHost: x ()\tPorts: 1/open/tcp///\n{broken\n127.0.2.5\n",
			[]string{"127.0.2.1:18789", "127.0.2.5:18789"}, 0, []int{2, 3, 4, 5, 6}},
		{"a line too long between good ones", "127.0.2.1:18789\n" + strings.Repeat("{", 200_000) + "\n127.0.2.2:18789", []string{"127.0.2.1:18789", "127.0.2.2:18789"}, 0, []int{2}},
		{"no newline at the end", "127.0.2.1:18789", []string{"127.0.2.1:18789"}, 0, nil},
		{"a byte-order mark and CRLF", "\ufeffsaddr,sport\r\n127.0.2.1,18789\r\n", []string{"127.0.2.1:18789"}, 0, nil},
		{"nmap XML, IPv6 with a MAC address first", `<nmaprun><host><address addr="00:11:22:33:44:55" addrtype="mac"/><address addr="::1" addrtype="ipv6"/>` +
			`<ports><port protocol="tcp" portid="18789"><state state="open"/></port><port protocol="udp" portid="53"><state state="open"/></port></ports></host>` +
			`<host><address addr="::1" addrtype="ipv6"/><ports><port protocol="tcp" portid="80"><state state="filtered"/></port></ports></host></nmaprun>`,
			[]string{"[::1]:18789"}, 1, nil},
		{"XML after a byte-order mark", "\ufeff\r\n<nmaprun><host><address addr=\"127.0.2.1\" addrtype=\"ipv4\"/><ports><port protocol=\"tcp\" portid=\"80\"><state state=\"open\"/></port></ports></host></nmaprun>\n",
			[]string{"127.0.2.1:80"}, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, skips, notOpen := readAll(t, c.name, c.input)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
			if len(notOpen) != c.notOpen {
				t.Errorf("%d records read past as not open, want %d: %+v", len(notOpen), c.notOpen, notOpen)
			}
			var lines []int
			for _, s := range skips {
				lines = append(lines, s.Line)
			}
			if !slices.Equal(lines, c.bad) {
				t.Errorf("skipped lines %v, want %v: %+v", lines, c.bad, skips)
			}
		})
	}
}

// TestCandidatesFromBrokenXML: an nmap file cut off mid-scan (nmap interrupted) gives the hosts
// before the cut and one skip saying where; XML that is not a sweep's says so.
func TestCandidatesFromBrokenXML(t *testing.T) {
	data, err := os.ReadFile("testdata/candidates/nmap.xml")
	if err != nil {
		t.Fatal(err)
	}
	full, skips, _ := readAll(t, "nmap.xml", string(data))
	if len(full) == 0 || len(skips) != 0 {
		t.Fatalf("the whole file: %v, skips %+v", full, skips)
	}
	// Cut just after the last open host's record.
	last := strings.LastIndex(string(data), `state="open"`)
	cut := last + strings.Index(string(data[last:]), "</host>") + len("</host>") + 3
	got, skips, _ := readAll(t, "nmap.xml (cut)", string(data[:cut]))
	if !slices.Equal(got, full) {
		t.Errorf("cut after the last open host: %v, want %v", got, full)
	}
	if len(skips) != 1 || !strings.Contains(skips[0].Reason, "the XML breaks here") || skips[0].Line == 0 {
		t.Errorf("the cut: %+v", skips)
	}
	got, skips, _ = readAll(t, "page.html", "<!doctype html>\n<html><body><p>127.0.2.1:18789</p></body></html>\n")
	if len(got) != 0 || len(skips) != 1 || !strings.Contains(skips[0].Reason, "not nmap or masscan output") {
		t.Errorf("an HTML page: %v, %+v", got, skips)
	}
	// Hosts after the blocklist: the address of a host element goes through the same checks.
	var passed []string
	var reasons []string
	err = ReadCandidates("nmap.xml", strings.NewReader(string(data)), NewBlocklist(false), Scope{}, 18789,
		func(ap netip.AddrPort) error { passed = append(passed, ap.String()); return nil },
		func(s CandidateSkip) {
			if !s.NotOpen {
				reasons = append(reasons, s.Reason)
			}
		})
	if err != nil || len(passed) != 0 || len(reasons) != len(full) || !strings.Contains(reasons[0], "reserved ranges") {
		t.Errorf("under the default blocklist: passed %v, skips %v, err %v", passed, reasons, err)
	}
}

// TestCandidatesCallerError: fn's error stops the reading and comes back as fn returned it,
// from the line formats and from XML alike.
func TestCandidatesCallerError(t *testing.T) {
	stop := errors.New("stop")
	for _, input := range []string{"127.0.2.1:18789\n127.0.2.2:18789\n",
		`<nmaprun><host><address addr="127.0.2.1"/><ports><port protocol="tcp" portid="1"><state state="open"/></port></ports></host></nmaprun>`} {
		calls := 0
		err := ReadCandidates("x", strings.NewReader(input), NewBlocklist(true), Scope{}, 18789,
			func(netip.AddrPort) error { calls++; return stop }, func(CandidateSkip) {})
		if err != stop || calls != 1 {
			t.Errorf("%.20q: err %v after %d calls, want fn's own error after 1", input, err, calls)
		}
	}
}
