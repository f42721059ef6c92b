// Package enrich adds network context to an address from local databases the operator
// supplies: the autonomous system (number and organisation) and the country. It reads
// MaxMind-format files (GeoLite2 Country/ASN, DB-IP Lite, the ip-location-db mmdb packages)
// and makes no network lookups, ever.
//
// It does not scan, fingerprint or store; it maps a netip.Addr to an Info.
package enrich

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// Config names the database files. Either may be empty.
type Config struct {
	// CountryDB is an mmdb file with country.iso_code (GeoLite2-Country, DB-IP) or
	// country_code (ip-location-db) records.
	CountryDB string
	// ASNDB is an mmdb file with autonomous_system_number/organization records.
	ASNDB string
}

// Info is what the databases say about one address; zero values mean unknown.
type Info struct {
	ASN     uint32
	ASOrg   string
	Country string // ISO 3166 alpha-2
}

// Enricher looks addresses up. The zero value and a nil *Enricher know nothing.
type Enricher struct {
	country, asn *maxminddb.Reader
	sources      []string
}

// Open opens the databases cfg names.
func Open(cfg Config) (*Enricher, error) {
	e := &Enricher{}
	var err error
	if e.country, err = e.open(cfg.CountryDB); err != nil {
		return nil, err
	}
	if e.asn, err = e.open(cfg.ASNDB); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Enricher) open(path string) (*maxminddb.Reader, error) {
	if path == "" {
		return nil, nil
	}
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("enrichment database %s: %w", path, err)
	}
	md := r.Metadata
	e.sources = append(e.sources, fmt.Sprintf("%s built %s (%s)", textsafe.Clean(md.DatabaseType, 128), md.BuildTime().UTC().Format("2006-01-02"), path))
	return r, nil
}

// Sources names each data set and its build date, for every report that uses them.
func (e *Enricher) Sources() string {
	if e == nil {
		return ""
	}
	return strings.Join(e.sources, "; ")
}

type countryRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	CountryCode string `maxminddb:"country_code"`
}

type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// Lookup returns what the databases know about a. A malformed record is treated as unknown.
func (e *Enricher) Lookup(a netip.Addr) Info {
	var info Info
	if e == nil {
		return info
	}
	a = a.Unmap()
	if e.country != nil {
		var rec countryRecord
		if e.country.Lookup(a).Decode(&rec) == nil {
			info.Country = strings.ToUpper(firstNonEmpty(rec.Country.ISOCode, rec.CountryCode))
			if !isoCountry.MatchString(info.Country) {
				info.Country = "" // two bytes are not two letters ("\x1b[")
			}
		}
	}
	if e.asn != nil {
		var rec asnRecord
		if e.asn.Lookup(a).Decode(&rec) == nil {
			// The organisation is a stranger's text as much as a banner is: no control or
			// format characters (bidi overrides) reach a store, a report or a terminal.
			info.ASN, info.ASOrg = rec.Number, textsafe.Clean(rec.Org, 256)
		}
	}
	return info
}

var isoCountry = regexp.MustCompile(`^[A-Z]{2}$`)

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Close releases the databases.
func (e *Enricher) Close() error {
	if e == nil {
		return nil
	}
	var errs []error
	for _, r := range []*maxminddb.Reader{e.country, e.asn} {
		if r != nil {
			errs = append(errs, r.Close())
		}
	}
	return errors.Join(errs...)
}
