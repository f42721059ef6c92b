package main

import (
	"encoding/csv"
	"io"
	"strings"
)

// Every text cell of every output is neutralised: what a stranger's server sent must not
// drive a terminal (control bytes) or a spreadsheet (a cell read as a formula).

// textCell strips control characters (C0, DEL, C1) from s.
func textCell(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// csvSafe is textCell, and keeps a spreadsheet from reading the cell as a formula.
func csvSafe(s string) string {
	s = textCell(s)
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// safeCSV writes CSV records with every cell through csvSafe.
type safeCSV struct{ *csv.Writer }

func newSafeCSV(w io.Writer) safeCSV { return safeCSV{csv.NewWriter(w)} }

func (s safeCSV) Write(rec []string) error {
	out := make([]string, len(rec))
	for i, c := range rec {
		out[i] = csvSafe(c)
	}
	return s.Writer.Write(out)
}
