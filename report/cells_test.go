package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestCellsAreNeutralised(t *testing.T) {
	for in, want := range map[string]string{
		"nginx": "nginx", "=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+202.1.1": "'+202.1.1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)",
		"2026.9.6\x1b[31m": "2026.9.6[31m", "a\tb\r\nc": "a b c", "\x00=1": "'=1", "ok\u0085": "ok", "Zürich": "Zürich",
	} {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
	var b bytes.Buffer
	w := NewCSV(&b)
	w.Write([]string{"2026-11-28 00:00:00", "127.0.0.1", "=cmd|' /C calc'!A0", "ver\x07sion"})
	w.Flush()
	if out := b.String(); strings.ContainsAny(out, "\x07") || !strings.Contains(out, "'=cmd") {
		t.Errorf("CSV row %q", out)
	}
}
