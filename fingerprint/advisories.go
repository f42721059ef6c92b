package fingerprint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Advisory is the part of an OSV record the matcher needs. Updating advisories means dropping
// new OSV JSON files into advisories/.
type Advisory struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Summary  string   `json:"summary"`
	Severity string   `json:"-"`
	// Observable says where the affected code runs, and so whether a census that sees only a
	// gateway's port can meet it: one of the Observable* constants.
	Observable string `json:"-"`
	Affected   []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced   string `json:"introduced,omitempty"`
				Fixed        string `json:"fixed,omitempty"`
				LastAffected string `json:"last_affected,omitempty"`
			} `json:"events"`
		} `json:"ranges"`
		Versions []string `json:"versions"`
	} `json:"affected"`
	DatabaseSpecific struct {
		Severity   string `json:"severity"`
		Observable string `json:"observable"`
	} `json:"database_specific"`
}

// Where an advisory's affected code runs (database_specific.observable in its OSV file). Only
// ObservableGateway is on the surface a remote census reaches; the others ride along with the
// version (the package is the same) but are not reachable on the gateway's port.
const (
	ObservableGateway    = "gateway"     // the Gateway's HTTP/WebSocket surface on its port
	ObservablePlugin     = "plugin"      // a plugin, extension or channel integration
	ObservableLocal      = "local"       // local-only paths: CLI, filesystem, loopback-only ports, the host
	ObservableDesktopApp = "desktop-app" // the macOS, iOS or Android app
)

var observables = []string{ObservableGateway, ObservablePlugin, ObservableLocal, ObservableDesktopApp}

// parseAdvisory reads one OSV record and checks the fields the matcher uses.
func parseAdvisory(data []byte, name string) (Advisory, error) {
	var a Advisory
	// OSV records carry many fields we do not use, so unknown fields are allowed here; the
	// ones we use are checked below.
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&a); err != nil {
		return a, fmt.Errorf("advisory %s: %w", name, err)
	}
	if a.ID == "" || len(a.Affected) == 0 {
		return a, fmt.Errorf("advisory %s: needs an id and affected packages", name)
	}
	for _, af := range a.Affected {
		for _, rg := range af.Ranges {
			if rg.Type != "ECOSYSTEM" && rg.Type != "SEMVER" {
				return a, fmt.Errorf("advisory %s: range type %q not supported", name, rg.Type)
			}
			for _, ev := range rg.Events {
				for _, v := range []string{ev.Introduced, ev.Fixed, ev.LastAffected} {
					if v != "" && v != "0" {
						if _, err := ParseVersion(v); err != nil {
							return a, fmt.Errorf("advisory %s: %w", name, err)
						}
					}
				}
			}
		}
	}
	if !slices.Contains(observables, a.DatabaseSpecific.Observable) {
		return a, fmt.Errorf("advisory %s: database_specific.observable %q is not one of %s", name, a.DatabaseSpecific.Observable, strings.Join(observables, ", "))
	}
	a.Severity, a.Observable = a.DatabaseSpecific.Severity, a.DatabaseSpecific.Observable
	a.preferCVE()
	return a, nil
}

// setAdvisories parses the knowledge base's OSV records.
func (r *Rules) setAdvisories(records []json.RawMessage, where string) error {
	r.Advisories = nil
	seen := map[string]bool{}
	for i, rec := range records {
		a, err := parseAdvisory(rec, fmt.Sprintf("%s #%d", where, i+1))
		if err != nil {
			return err
		}
		if seen[a.ID] {
			return fmt.Errorf("advisory %s: twice in %s", a.ID, where)
		}
		seen[a.ID] = true
		r.Advisories = append(r.Advisories, a)
	}
	slices.SortFunc(r.Advisories, func(a, b Advisory) int { return cmpString(a.ID, b.ID) })
	return nil
}

// preferCVE makes a CVE id the advisory's id wherever it has one (the first, in order), so
// every output names the same kind of fact the same way; the other ids stay as aliases.
func (a *Advisory) preferCVE() {
	if strings.HasPrefix(a.ID, "CVE-") {
		return
	}
	var cves []string
	for _, al := range a.Aliases {
		if strings.HasPrefix(al, "CVE-") {
			cves = append(cves, al)
		}
	}
	if len(cves) == 0 {
		return
	}
	slices.Sort(cves)
	aliases := []string{a.ID}
	for _, al := range a.Aliases {
		if al != cves[0] {
			aliases = append(aliases, al)
		}
	}
	a.ID, a.Aliases = cves[0], aliases
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// AdvisoriesFor returns the IDs of advisories whose affected ranges contain version of the
// npm package pkg. The match is version-implied, not a confirmed vulnerability.
func (r *Rules) AdvisoriesFor(pkg, version string) []string {
	v, err := ParseVersion(version)
	if err != nil {
		return nil
	}
	var ids []string
	for _, a := range r.Advisories {
		if a.affects(pkg, v) {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

// GatewayObservable reports whether advisory id affects the gateway's own surface (what a
// remote census can meet); an id the knowledge base does not hold is not.
func (r *Rules) GatewayObservable(id string) bool {
	for i := range r.Advisories {
		if r.Advisories[i].ID == id {
			return r.Advisories[i].Observable == ObservableGateway
		}
	}
	return false
}

func (a *Advisory) affects(pkg string, v Version) bool {
	for _, af := range a.Affected {
		if af.Package.Ecosystem != "npm" || af.Package.Name != pkg {
			continue
		}
		if slices.Contains(af.Versions, v.String()) {
			return true
		}
		for _, rg := range af.Ranges {
			if inRange(v, rg.Events) {
				return true
			}
		}
	}
	return false
}

// inRange applies OSV's event semantics: walking events in order, "introduced" opens an
// affected interval, "fixed" closes it before that version, "last_affected" after it.
func inRange(v Version, events []struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
}) bool {
	affected := false
	for _, ev := range events {
		switch {
		case ev.Introduced != "":
			if ev.Introduced == "0" || v.Compare(MustParseVersion(ev.Introduced)) >= 0 {
				affected = true
			}
		case ev.Fixed != "":
			if v.Compare(MustParseVersion(ev.Fixed)) >= 0 {
				affected = false
			}
		case ev.LastAffected != "":
			if v.Compare(MustParseVersion(ev.LastAffected)) > 0 {
				affected = false
			}
		}
	}
	return affected
}
