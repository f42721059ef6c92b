package scanner

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// optOutColumns is the register's header: what was opted out, who asked, when, how
// ownership was checked, and why.
var optOutColumns = []string{"network", "requested_by", "requested_at", "verification", "reason"}

// AddOptOutFile adds an opt-out register (CSV with the header
// network,requested_by,requested_at,verification,reason) to b. Every entry must say who asked,
// when (YYYY-MM-DD) and how ownership was verified; a refusal names the request.
func (b *Blocklist) AddOptOutFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opt-out register: %w", err)
	}
	defer f.Close()
	return b.AddOptOutList(path, f)
}

// AddOptOutList is AddOptOutFile of what in holds, read as the register path.
func (b *Blocklist) AddOptOutList(path string, in io.Reader) error {
	defer b.index()
	r := csv.NewReader(in)
	r.Comment = '#'
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("opt-out register %s: %w", path, err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	if !slices.Equal(header, optOutColumns) {
		return fmt.Errorf("opt-out register %s: header must be %s", path, strings.Join(optOutColumns, ","))
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil { // a csv.ParseError names its line
			return fmt.Errorf("opt-out register %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		network, by, at, how := rec[0], rec[1], rec[2], rec[3]
		if by == "" || how == "" {
			return fmt.Errorf("opt-out register %s:%d: requested_by and verification are required", path, line)
		}
		if _, err := time.Parse("2006-01-02", at); err != nil {
			return fmt.Errorf("opt-out register %s:%d: requested_at %q: want YYYY-MM-DD", path, line, at)
		}
		source := fmt.Sprintf("opt-out register %s (requested by %s on %s)", path, by, at)
		if err := b.addNetwork(network, source); err != nil {
			return fmt.Errorf("opt-out register %s:%d: %w", path, line, err)
		}
	}
}
