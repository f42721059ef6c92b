package contacts

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// Result is who to tell about one address or AS, and why.
type Result struct {
	Query    string
	Contact  string // the abuse mailbox (or the CERT table's contact); "" when none is known
	Name     string // the CERT table's name for the contact
	TLP      string // the CERT table's TLP and format, if it gave them
	Format   string
	Source   string // cert-csv, rpsl, delegated, or "" when nothing matched
	Registry string
	Country  string
	Chain    []Step // the objects followed, in order
}

// Step is one object on the way to a contact and the attribute that led on.
type Step struct {
	File   string // the source file's base name
	Object string // "inetnum 198.18.0.0 - 198.18.0.255", "role ABU1-TEST", "cert-csv line 3"
	Attr   string // abuse-c, org, mnt-irt, abuse-mailbox, contact; "" for a note
	Value  string
}

// Lookup answers for an IP address or an AS (AS64500 or 64500). The CERT's table wins; then
// the most specific RPSL network (or aut-num) whose abuse-c, org or mnt-irt leads to a
// mailbox; then the delegation statistics give registry and country without a contact.
func (db *DB) Lookup(q string) (Result, error) {
	q = strings.TrimSpace(q)
	res := Result{Query: q}
	var nets []net
	var deleg *Keys
	a, aerr := netip.ParseAddr(q)
	if aerr == nil {
		a = a.Unmap()
		best := -1
		for i, e := range db.Cert {
			if e.Prefix.IsValid() && e.Prefix.Contains(a) && (best < 0 || e.Prefix.Bits() > db.Cert[best].Prefix.Bits()) {
				best = i
			}
		}
		if best >= 0 {
			return db.certResult(res, best), nil
		}
		if a.Is4() {
			nets = collect(db.Net4, v4(a), cmp.Compare[uint32], "inetnum", func(s Span[uint32]) string {
				return addr4(s.Lo).String() + " - " + addr4(s.Hi).String()
			})
			deleg = first(db.Deleg4, v4(a), cmp.Compare[uint32])
		} else {
			nets = collect(db.Net6, a, netip.Addr.Compare, "inet6num", func(s Span[netip.Addr]) string {
				return s.Lo.String() + " - " + s.Hi.String()
			})
			deleg = first(db.Deleg6, a, netip.Addr.Compare)
		}
	} else {
		as, err := parseASN(q)
		if err != nil {
			return res, fmt.Errorf("%q: neither an IP address nor an AS number", q)
		}
		for i, e := range db.Cert {
			if !e.Prefix.IsValid() && e.ASN == as {
				return db.certResult(res, i), nil
			}
		}
		nets = collect(db.ASN, as, cmp.Compare[uint32], "aut-num", func(s Span[uint32]) string { return fmt.Sprintf("AS%d", s.Lo) })
		deleg = first(db.DelegAS, as, cmp.Compare[uint32])
	}
	for _, n := range nets {
		if res.Country == "" && n.k.CC != [2]byte{} {
			res.Country = string(n.k.CC[:])
		}
		chain, contact := db.resolve(n)
		if contact == "" {
			res.Chain = append(res.Chain, Step{File: db.file(n.k.Src), Object: n.object, Value: "no abuse contact here: a less specific object may have one"})
			continue
		}
		res.Contact, res.Source, res.Chain = contact, "rpsl", append(res.Chain, chain...)
		res.Country = cmp.Or(string(trimCC(n.k.CC)), res.Country)
		res.Registry = db.Sources[n.k.Src].Registry
		break
	}
	if deleg != nil {
		res.Registry = cmp.Or(res.Registry, db.str(uint32(deleg.Reg)))
		res.Country = cmp.Or(res.Country, string(trimCC(deleg.CC)))
		res.Source = cmp.Or(res.Source, "delegated")
		if res.Contact == "" {
			res.Chain = append(res.Chain, Step{File: db.file(deleg.Src), Object: "delegated block", Value: "registry " + res.Registry + ", country " + res.Country + ", no contact"})
		}
	}
	return res, nil
}

// For answers for one host at a, in AS asn (0: not known): the CERT's table by address, then
// by AS; then RIR data by address, then the AS's aut-num; registry and country come from the
// address's answer when it has them. It is Lookup for a host a census found, never an error.
func (db *DB) For(a netip.Addr, asn uint32) Result {
	byAddr, _ := db.Lookup(a.Unmap().String())
	if byAddr.Source == "cert-csv" || asn == 0 {
		return byAddr
	}
	byAS, _ := db.Lookup(fmt.Sprintf("AS%d", asn))
	if byAS.Source != "cert-csv" && (byAddr.Contact != "" || byAS.Contact == "") {
		return byAddr
	}
	byAS.Query = byAddr.Query
	byAS.Registry, byAS.Country = cmp.Or(byAddr.Registry, byAS.Registry), cmp.Or(byAddr.Country, byAS.Country)
	return byAS
}

func trimCC(cc [2]byte) []byte {
	if cc == [2]byte{} {
		return nil
	}
	return cc[:]
}

type net struct {
	object string
	k      Keys
}

func collect[A any](s []Span[A], a A, c func(a, b A) int, class string, name func(Span[A]) string) []net {
	var out []net
	for _, i := range holding(s, a, c) {
		out = append(out, net{class + " " + name(s[i]), s[i].K})
	}
	return out
}

func first[A any](s []Span[A], a A, c func(a, b A) int) *Keys {
	if h := holding(s, a, c); len(h) > 0 {
		return &s[h[0]].K
	}
	return nil
}

// resolve follows abuse-c → role, then org → organisation abuse-c → role, then mnt-irt → irt.
func (db *DB) resolve(n net) ([]Step, string) {
	file := db.file(n.k.Src)
	if mb, ok := db.Roles[n.k.AbuseC]; ok && n.k.AbuseC != 0 {
		h := db.str(n.k.AbuseC)
		return []Step{{file, n.object, "abuse-c", h}, {"", "role " + h, "abuse-mailbox", db.str(mb)}}, db.str(mb)
	}
	if c, ok := db.Orgs[n.k.Org]; ok && n.k.Org != 0 {
		if mb, ok := db.Roles[c]; ok {
			o, h := db.str(n.k.Org), db.str(c)
			return []Step{{file, n.object, "org", o}, {"", "organisation " + o, "abuse-c", h}, {"", "role " + h, "abuse-mailbox", db.str(mb)}}, db.str(mb)
		}
	}
	if mb, ok := db.IRTs[n.k.IRT]; ok && n.k.IRT != 0 {
		h := db.str(n.k.IRT)
		return []Step{{file, n.object, "mnt-irt", h}, {"", "irt " + h, "abuse-mailbox", db.str(mb)}}, db.str(mb)
	}
	return nil, ""
}

func (db *DB) file(src uint16) string {
	if int(src) < len(db.Sources) {
		return db.Sources[src].Name
	}
	return ""
}

func (db *DB) certResult(res Result, i int) Result {
	e := db.Cert[i]
	key := e.Prefix.String()
	if !e.Prefix.IsValid() {
		key = fmt.Sprintf("AS%d", e.ASN)
	}
	res.Contact, res.Name, res.TLP, res.Format, res.Source = e.Contact, e.Name, e.TLP, e.Format, "cert-csv"
	res.Chain = []Step{{db.file(e.Src), fmt.Sprintf("line %d: %s", e.Line, key), "contact", e.Contact}}
	return res
}

// WriteText prints r for a person, every value cleaned of control characters.
func (r Result) WriteText(w io.Writer) error {
	c := func(s string) string { return textsafe.Clean(s, 200) }
	var b strings.Builder
	fmt.Fprintf(&b, "%s\ncontact:  %s\n", c(r.Query), cmp.Or(c(r.Contact), "(none known)"))
	for _, kv := range [][2]string{{"name", r.Name}, {"tlp", r.TLP}, {"format", r.Format}, {"source", r.Source}, {"registry", r.Registry}, {"country", r.Country}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%-9s %s\n", kv[0]+":", c(kv[1]))
		}
	}
	for _, s := range r.Chain {
		fmt.Fprintf(&b, "  %s", c(s.Object))
		if s.Attr != "" {
			fmt.Fprintf(&b, "  %s: %s", c(s.Attr), c(s.Value))
		} else {
			fmt.Fprintf(&b, "  (%s)", c(s.Value))
		}
		if s.File != "" {
			fmt.Fprintf(&b, "  [%s]", c(s.File))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
