package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/clawcensus/clawcensus/contacts"
)

// DefaultTLP marks a recipient's per-host files when nothing says otherwise (Exporter.TLP).
const DefaultTLP = "AMBER"

// tlp is the TLP 2.0 label e's per-host files carry.
func (e *Exporter) tlp() string { return cmp.Or(e.TLP, DefaultTLP) }

// intelmqTLP is e's label as IntelMQ's tlp field takes it (WHITE, GREEN, AMBER, RED: TLP 1.0):
// CLEAR is WHITE; AMBER+STRICT, which TLP 1.0 lacks, is RED, as a marking may be stricter than
// meant but never looser (extra.tlp keeps the exact label).
func (e *Exporter) intelmqTLP() string {
	switch t := e.tlp(); t {
	case "CLEAR":
		return "WHITE"
	case "AMBER+STRICT":
		return "RED"
	default:
		return t
	}
}

// tlpSharing says, per TLP 2.0 label, who the reader may pass a cover letter and its files on
// to (after FIRST's definitions).
var tlpSharing = map[string]string{
	"CLEAR": "no limit on sharing: you may pass it on to anyone and publish it.",
	"GREEN": "for your organisation and the community it belongs to (peers and partners in your sector or region), " +
		"to help protect them. Do not publish it or post it where anyone can read it.",
	"AMBER": "for your organisation, and your clients where the hosts are theirs, and within them only for those " +
		"who need it to fix these hosts. Do not publish it or pass it on further.",
	"AMBER+STRICT": "for your organisation alone, and within it only for those who need it to fix these hosts: " +
		"not for your clients. Do not publish it or pass it on further.",
	"RED": "for you, the people it is addressed to, and no one else: do not pass it on, inside your organisation or outside it.",
}

// tlpRank orders labels by how far they let a file travel, CLEAR (0) to RED (4).
func tlpRank(t string) int { return slices.Index(contacts.TLPs, t) }

// sendTerms are how one contact's files go out: a TLP label and a format; "" is the export's.
type sendTerms struct{ tlp, format string }

// contactTerms reads the CERT table's tlp and format of each contact in db, by the address a
// contact pack groups by (contactAddress). Import checks them; a contacts version imported
// before it did may hold what an export cannot honour, and is refused here, by file and line.
func contactTerms(db *contacts.DB) (map[string]sendTerms, error) {
	terms, from := map[string]sendTerms{}, map[string]string{} // contact → its terms, the row that gave them
	for _, e := range db.Cert {
		at := fmt.Sprintf("contacts table %s line %d", sourceName(db, e.Src), e.Line)
		tlp, err := contacts.ParseTLP(e.TLP)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (fix the table and import it again)", at, err)
		}
		format := strings.ToLower(e.Format)
		if format != "" && !slices.Contains(Formats, format) {
			return nil, fmt.Errorf("%s: format %q: want one of %s (fix the table and import it again)", at, TextCell(e.Format), strings.Join(Formats, ", "))
		}
		key := contactAddress(contacts.Result{Contact: e.Contact})
		t := terms[key]
		if (tlp != "" && t.tlp != "" && tlp != t.tlp) || (format != "" && t.format != "" && format != t.format) {
			return nil, fmt.Errorf("%s: %s gets tlp %q, format %q here and %q, %q from %s: one of each per contact (fix the table and import it again)",
				at, TextCell(e.Contact), tlp, format, t.tlp, t.format, from[key])
		}
		if from[key] == "" && (tlp != "" || format != "") {
			from[key] = at
		}
		terms[key] = sendTerms{cmp.Or(t.tlp, tlp), cmp.Or(t.format, format)}
	}
	return terms, nil
}

func sourceName(db *contacts.DB, src uint16) string {
	if int(src) < len(db.Sources) {
		return TextCell(db.Sources[src].Name)
	}
	return "?"
}

// forRecipient is the exporter of one recipient's files: e with the recipient's terms.
func (e *Exporter) forRecipient(t sendTerms) *Exporter {
	r := *e
	r.TLP = cmp.Or(t.tlp, e.TLP)
	r.Format.Name = cmp.Or(t.format, e.Format.Name, FormatShadowserver)
	return &r
}
