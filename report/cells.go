package report

import (
	"encoding/csv"
	"io"
	"strings"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// Every text cell of every output is neutralised: what a stranger's server sent must not
// drive a terminal (control bytes) or a spreadsheet (a cell read as a formula).

// TextCell strips control and format characters from s and makes each run of white space
// one space (textsafe.Clean, unbounded).
func TextCell(s string) string { return textsafe.Clean(s, 0) }

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
