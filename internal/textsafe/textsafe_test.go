package textsafe

import (
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	for _, c := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "nginx/1.25", 0, "nginx/1.25"},
		{"C0 and escape sequence", "2026.9.6\x1b[31m\x00\x07", 0, "2026.9.6[31m"},
		{"DEL", "a\x7fb", 0, "ab"},
		{"C1", "ok\u0085\u009bx", 0, "ok x"},
		{"white space collapsed and trimmed", " \ta\tb\r\n  c \n", 0, "a b c"},
		{"format characters", "evil\u202egnp.exe\u200b", 0, "evilgnp.exe"},
		{"invalid UTF-8", "a\xff\xfeb\xc3", 0, "ab"},
		{"replacement character", "a\ufffdb", 0, "ab"},
		{"non-ASCII kept", "Zürich 東京", 0, "Zürich 東京"},
		{"truncated on a rune boundary", "ééééé", 3, "ééé"},
		{"truncated in CJK", "東京都庁舎", 2, "東京"},
		{"no trailing space at the bound", "ab cd", 3, "ab"},
		{"space counts", "ab cd", 4, "ab c"},
		{"bound larger than text", "abc", 10, "abc"},
		{"only controls", "\x01\x02\x1b", 5, ""},
		{"empty", "", 5, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Clean(c.in, c.max)
			if got != c.want {
				t.Errorf("Clean(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Clean(%q, %d) = %q: not valid UTF-8", c.in, c.max, got)
			}
			if c.max > 0 && utf8.RuneCountInString(got) > c.max {
				t.Errorf("Clean(%q, %d) = %q: more than %d runes", c.in, c.max, got, c.max)
			}
		})
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "a b", "\x1b[31m", "\xff\u202e", "ééé"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		got := Clean(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("Clean(%q, %d) = %q: not valid UTF-8", s, max, got)
		}
		if max > 0 && utf8.RuneCountInString(got) > max {
			t.Fatalf("Clean(%q, %d) = %q: more than %d runes", s, max, got, max)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
				t.Fatalf("Clean(%q, %d) = %q: keeps %U", s, max, got, r)
			}
		}
	})
}
