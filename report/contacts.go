package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/clawcensus/clawcensus/store"
)

// WriteContactVersions prints contacts versions for a person, oldest first: each with when it
// was imported, its import id, its size and what it holds, then its files.
func WriteContactVersions(w io.Writer, versions []store.ContactVersion) error {
	var b strings.Builder
	if len(versions) == 0 {
		b.WriteString(store.ErrNoContacts.Error() + "\n")
	}
	for _, v := range versions {
		fmt.Fprintf(&b, "contacts version %d, imported %s (import %s, %.1f MiB): %s\n", v.ID, v.ImportedAt.UTC().Format("2006-01-02T15:04:05Z"),
			TextCell(v.ImportID), float64(v.Bytes)/(1<<20), TextCell(v.Summary))
		for _, s := range v.Sources {
			fmt.Fprintf(&b, "  %-9s %s %12d bytes %9d used  %s\n", TextCell(s.Kind), TextCell(s.SHA256), s.Size, s.Objects, TextCell(s.Name))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
