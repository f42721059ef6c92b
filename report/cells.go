package report

import (
	"encoding/csv"
	"io"
	"strings"
)

// Every text cell of every output is neutralised: what a stranger's server sent must not
// drive a terminal (control bytes) or a spreadsheet (a cell read as a formula).

// TextCell strips control characters (C0, DEL, C1) from s.
func TextCell(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// CSVCell is TextCell, and keeps a spreadsheet from reading the cell as a formula.
func CSVCell(s string) string {
	s = TextCell(s)
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// CSV writes CSV records with every cell through CSVCell.
type CSV struct{ *csv.Writer }

func NewCSV(w io.Writer) CSV { return CSV{csv.NewWriter(w)} }

func (s CSV) Write(rec []string) error {
	out := make([]string, len(rec))
	for i, c := range rec {
		out[i] = CSVCell(c)
	}
	return s.Writer.Write(out)
}
