package observation

// Column is one field of an Observation as every consumer names it: the store's SQL column,
// the JSON Lines key of scan and worker, the column of scan --format csv, and the line the
// README's "Output keys" table gives it. A test in each consumer compares what it writes with
// this table; the store builds its SQL column lists from it.
type Column struct {
	// Name is the SQL column of the observations table (both backends).
	Name string
	// Type is the value's kind as the store keeps it: text, int, bool, bool-or-null, list,
	// time or inet.
	Type string
	// JSON is the key in scan's JSON Lines ("" when the record leaves it out); CSV the column
	// of scan --format csv ("" likewise).
	JSON, CSV string
	// Field points into o at the column's value, for the store's generic reads and writes.
	Field func(o *Observation) any
}

// Columns lists an observation's columns in the store's order. Dropped on the way to the
// store: nothing (Commit is kept since schema 8).
var Columns = []Column{
	{"ip", "inet", "ip", "ip", func(o *Observation) any { return &o.IP }},
	{"port", "int", "port", "port", func(o *Observation) any { return &o.Port }},
	{"scheme", "text", "scheme", "scheme", func(o *Observation) any { return &o.Scheme }},
	{"outcome", "text", "outcome", "outcome", func(o *Observation) any { return &o.Outcome }},
	{"product", "text", "product", "product", func(o *Observation) any { return &o.Product }},
	{"version", "text", "version", "version", func(o *Observation) any { return &o.Version }},
	{"version_candidates", "list", "version_candidates", "version_candidates", func(o *Observation) any { return &o.VersionCandidates }},
	{"channel", "text", "channel", "", func(o *Observation) any { return &o.Channel }},
	{"build_commit", "text", "commit", "", func(o *Observation) any { return &o.Commit }},
	{"auth", "text", "auth", "auth", func(o *Observation) any { return &o.Auth }},
	{"official", "bool-or-null", "official", "official", func(o *Observation) any { return &o.Official }},
	{"honeypot", "bool", "honeypot", "", func(o *Observation) any { return &o.Honeypot }},
	{"advisories", "list", "advisories", "advisories", func(o *Observation) any { return &o.Advisories }},
	{"flags", "list", "flags", "flags", func(o *Observation) any { return &o.Flags }},
	{"evidence", "list", "evidence", "", func(o *Observation) any { return &o.Evidence }},
	{"miit", "list", "miit_violations", "miit_violations", func(o *Observation) any { return &o.MIIT }},
	{"title", "text", "title", "title", func(o *Observation) any { return &o.Title }},
	{"server", "text", "server", "server", func(o *Observation) any { return &o.Server }},
	{"http_status", "int", "http_status", "http_status", func(o *Observation) any { return &o.HTTPStatus }},
	{"tls", "text", "tls", "", func(o *Observation) any { return &o.TLS }},
	{"asn", "int", "asn", "", func(o *Observation) any { return &o.ASN }},
	{"as_org", "text", "as_org", "", func(o *Observation) any { return &o.ASOrg }},
	{"country", "text", "country", "", func(o *Observation) any { return &o.Country }},
	{"observed_at", "time", "observed_at", "timestamp", func(o *Observation) any { return &o.ObservedAt }},
	{"unit", "int", "", "", func(o *Observation) any { return &o.Unit }},
}

// ColumnNames lists the SQL columns in the store's order.
func ColumnNames() []string {
	out := make([]string, len(Columns))
	for i, c := range Columns {
		out[i] = c.Name
	}
	return out
}

// JSONKeys lists the JSON Lines keys, in the store's order.
func JSONKeys() []string { return keys(func(c Column) string { return c.JSON }) }

// CSVColumns lists the columns of scan --format csv, in the store's order.
func CSVColumns() []string { return keys(func(c Column) string { return c.CSV }) }

func keys(f func(Column) string) []string {
	var out []string
	for _, c := range Columns {
		if k := f(c); k != "" {
			out = append(out, k)
		}
	}
	return out
}
