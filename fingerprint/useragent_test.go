package fingerprint

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// TestUserAgentIsSentAsMade: New refuses a contact or tool version net/http would refuse to
// send (issue 19 item 1: with a trailing CR every probe failed, every gateway was stored as
// not-http), and a probe carries an accepted one unchanged to a server on loopback.
func TestUserAgentIsSentAsMade(t *testing.T) {
	rules := mustRules(t)
	for _, bad := range []Config{
		{Contact: "https://example.org/scan\r"},
		{Contact: "ops@example.org\r\nX-Injected: 1"},
		{Contact: "a\x00b"},
		{Contact: "\u202eevil"},
		{ToolVersion: "1.0\n"},
		{ToolVersion: "1.0 "},
	} {
		bad.Rules = rules
		if fp, err := New(bad); err == nil {
			fp.Close()
			t.Errorf("New accepted contact %q, tool version %q", bad.Contact, bad.ToolVersion)
		}
	}
	got := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.UserAgent():
		default:
		}
		w.Write([]byte("<title>x</title>"))
	}))
	defer srv.Close()
	contact := "https://example.org/scan (Zoë, ops@example.org)"
	fp, err := New(Config{Rules: rules, ToolVersion: "1.2.3", Contact: contact})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	o := fp.Fingerprint(context.Background(), netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://")))
	if o.Outcome != "not-openclaw" {
		t.Fatalf("outcome %s, want not-openclaw", o.Outcome)
	}
	if ua, want := <-got, "clawcensus/1.2.3 (+"+contact+")"; ua != want || fp.UserAgent() != want {
		t.Errorf("the server read User-Agent %q (fingerprinter: %q), want %q", ua, fp.UserAgent(), want)
	}
}

func mustRules(t testing.TB) *Rules {
	t.Helper()
	rules, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// FuzzContact: a contact CheckContact accepts makes a fingerprinter, its User-Agent is a valid
// HTTP header value, and net/http writes it and reads it back unchanged; one it refuses, New
// refuses too.
func FuzzContact(f *testing.F) {
	for _, s := range []string{"", "https://example.org/scan", "mailto:ops@example.org", "a\rb", "a\n", "x\u202ey",
		" lead", "trail ", "Zoë (ops)", "\xff", "\x7f", "\u0085", "\u00a0x", "a\u2028b", "tab\t", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	rules := mustRules(f)
	f.Fuzz(func(t *testing.T, contact string) {
		checkErr := CheckContact(contact)
		fp, err := New(Config{Rules: rules, ToolVersion: "fuzz", Contact: contact})
		if (err == nil) != (checkErr == nil) {
			t.Fatalf("contact %q: CheckContact says %v, New says %v", contact, checkErr, err)
		}
		if err != nil {
			return
		}
		defer fp.Close()
		ua := fp.UserAgent()
		if !httpguts.ValidHeaderFieldValue(ua) {
			t.Fatalf("contact %q: User-Agent %q is not a valid header value", contact, ua)
		}
		req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", ua)
		var buf bytes.Buffer
		if err := req.Write(&buf); err != nil {
			t.Fatalf("contact %q: net/http refuses to write the request: %v", contact, err)
		}
		back, err := http.ReadRequest(bufio.NewReader(&buf))
		if err != nil {
			t.Fatalf("contact %q: the request does not read back: %v", contact, err)
		}
		if back.UserAgent() != ua || len(back.Header) != 1 {
			t.Fatalf("contact %q: sent %q, read back %q (headers %v)", contact, ua, back.UserAgent(), back.Header)
		}
	})
}
