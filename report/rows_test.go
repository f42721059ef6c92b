package report

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/observation"
)

// TestRecordContract: outcome and product agree, auth is null off gateways, and
// version_candidates is there whenever a gateway's version is not exact.
func TestRecordContract(t *testing.T) {
	at := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	gw := observation.Observation{IP: netip.MustParseAddr("127.0.0.1"), Port: 18789, Scheme: "http", Outcome: observation.OpenClaw,
		Product: "openclaw", Version: "2026.9.6", Auth: "required", ObservedAt: at}
	inexact := gw
	inexact.Version = ""
	narrowed := inexact
	narrowed.VersionCandidates = []string{"2026.9.5", "2026.9.6"}
	clawdbot := gw
	clawdbot.Product, clawdbot.Version, clawdbot.Auth = "clawdbot", "2026.1.24-3", "unknown"
	nginx := observation.Observation{IP: gw.IP, Port: 8080, Scheme: "http", Outcome: observation.NotOpenClaw, HTTPStatus: 200, Server: "nginx", ObservedAt: at}
	for name, c := range map[string]struct {
		o    observation.Observation
		want map[string]any // keys that must have these JSON values; nil: must be absent
	}{
		"exact":         {gw, map[string]any{"outcome": "openclaw", "auth": "required", "version_candidates": nil}},
		"inexact":       {inexact, map[string]any{"version": "", "version_candidates": []any{}}},
		"narrowed":      {narrowed, map[string]any{"version_candidates": []any{"2026.9.5", "2026.9.6"}}},
		"clawdbot":      {clawdbot, map[string]any{"outcome": "clawdbot", "product": "clawdbot", "auth": "unknown"}},
		"not a gateway": {nginx, map[string]any{"outcome": "not-openclaw", "product": "", "version_candidates": nil}},
	} {
		b, err := json.Marshal(toRecord(c.o))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		json.Unmarshal(b, &got)
		for k, want := range c.want {
			v, present := got[k]
			if want == nil && present {
				t.Errorf("%s: %s present (%v), want it absent", name, k, v)
			} else if want != nil && !reflect.DeepEqual(v, want) {
				t.Errorf("%s: %s = %#v, want %#v", name, k, v, want)
			}
		}
		if c.o.Product == "" {
			for _, k := range []string{"auth", "official"} {
				if v, present := got[k]; !present || v != nil {
					t.Errorf("%s: %s = %#v (present %v), want null", name, k, v, present)
				}
			}
		}
	}
}

// TestReadmeKeysMatchTheRecord: the README's output-key table is observation.Columns' (key and
// doc line, in order), the record type emits exactly those keys, and scan --format csv writes
// exactly the columns the table names for CSV.
func TestReadmeKeysMatchTheRecord(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := "| key | value |\n|---|---|\n"
	for _, c := range observation.Columns {
		if c.JSON != "" {
			want += fmt.Sprintf("| `%s` | %s |\n", c.JSON, c.Doc)
		}
	}
	if !strings.Contains(string(b), want) {
		t.Errorf("README's Output keys table is not observation.Columns'; it should read:\n%s", want)
	}
	var emitted []string
	rt := reflect.TypeOf(Record{})
	for i := range rt.NumField() {
		if tag := rt.Field(i).Tag.Get("json"); tag != "" {
			emitted = append(emitted, strings.Split(tag, ",")[0])
		}
	}
	columns := observation.JSONKeys()
	slices.Sort(emitted)
	slices.Sort(columns)
	if !slices.Equal(emitted, columns) {
		t.Errorf("the record emits %v\nobservation.Columns names %v", emitted, columns)
	}
	header := slices.Sorted(slices.Values(csvHeader))
	if want := slices.Sorted(slices.Values(observation.CSVColumns())); !slices.Equal(header, want) {
		t.Errorf("scan --format csv writes %v\nobservation.Columns names %v", header, want)
	}
}

// TestTableStreamsAndExplainsUnknownAuth: the table prints each row as it comes (a scan's
// first gateway shows at once, not when the scan ends), in fixed columns that fit 100, long
// cells cut with an ellipsis, and at the end says why some gateways' auth is unknown and which
// opt-in probe tells.
func TestTableStreamsAndExplainsUnknownAuth(t *testing.T) {
	var b strings.Builder
	w, err := NewRowWriter(&b, "table", false)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	mapped := netip.MustParseAddr("::ffff:127.0.0.1")
	for i, a := range []string{"127.0.0.10:18789", "[2001:2:0:aaaa:bbbb:cccc:dddd:eeee]:18789", "127.0.0.9:18790"} {
		ap := netip.MustParseAddrPort(a)
		auth := "required"
		if ap.Port() == 18790 {
			auth = "unknown"
		}
		w.Write(observation.Observation{IP: ap.Addr(), Port: ap.Port(), Outcome: observation.OpenClaw, Product: "openclaw", Version: "2026.9.6",
			Auth: auth, Flags: []string{"plaintext-http", "no-auth-on-loopback-proxy"}, ObservedAt: at})
		if lines := strings.Count(b.String(), "\n"); lines != i+2 {
			t.Fatalf("after %d rows the table shows %d lines:\n%s", i+1, lines, b.String())
		}
	}
	w.Write(observation.Observation{IP: mapped, Port: 443, Outcome: observation.OpenClaw, Product: "openclaw",
		VersionCandidates: []string{"2026.2.2", "2026.2.2-3"}, Auth: "none", ObservedAt: at})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{
		"IP                                      PORT  PRODUCT  VERSION      AUTH     OFFICIAL ADV FLAGS",
		"127.0.0.10                              18789 openclaw 2026.9.6     required unknown  0   plaintext…",
		"2001:2:0:aaaa:bbbb:cccc:dddd:eeee       18789 openclaw 2026.9.6     required unknown  0   plaintext…",
		"127.0.0.9                               18790 openclaw 2026.9.6     unknown  unknown  0   plaintext…",
		"::ffff:127.0.0.1                        443   openclaw 2026.2.2…20… none     unknown  0   ",
	}
	if diff := cmp.Diff(want, lines[:5]); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	for _, l := range lines[:5] {
		if n := utf8.RuneCountInString(l); n > TableWidth {
			t.Errorf("%d columns, more than %d: %q", n, TableWidth, l)
		}
	}
	if !strings.Contains(b.String(), "auth unknown for 1 gateways") || !strings.Contains(b.String(), "--active-probe invoke") {
		t.Errorf("no note on unknown auth:\n%s", b.String())
	}
}
