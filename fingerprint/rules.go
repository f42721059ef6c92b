package fingerprint

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/clawcensus/clawcensus/observation"
)

//go:embed rules/*.yaml rules/*.json advisories/*.json
var embedded embed.FS

// ProbeSpec is one request the fingerprinter may send.
type ProbeSpec struct {
	ID     string `yaml:"id"`
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	Body   string `yaml:"body"`
	// Gated probes are sent only when the first probe showed a marker of some product.
	Gated bool `yaml:"gated"`
	// OptIn names the operator switch that enables an active (non-GET) probe.
	OptIn string `yaml:"opt_in"`
}

// Matcher is a test on one probe's response. All given conditions must hold.
type Matcher struct {
	ID    string `yaml:"id"`
	Group string `yaml:"group"` // markers only: markers of one group count as one signal
	Probe string `yaml:"probe"` // empty: no response needed (version-only rules)
	// Status lists acceptable status codes; empty accepts any response.
	Status   []int  `yaml:"status"`
	Contains string `yaml:"contains"`
	Regex    string `yaml:"regex"`
	// MinVersion and MaxVersion restrict the rule to a release range (inclusive) of the
	// version found by other means; a rule with a range never fires when no version is known.
	MinVersion string `yaml:"min_version"`
	MaxVersion string `yaml:"max_version"`
	// Result is the auth posture an auth rule concludes: none, required.
	Result string `yaml:"result"`

	re       *regexp.Regexp
	min, max *Version
}

// Extractor pulls a version out of one probe's response, by regex (named groups version,
// channel, commit) or by a top-level JSON key.
type Extractor struct {
	ID     string `yaml:"id"`
	Probe  string `yaml:"probe"`
	Status []int  `yaml:"status"`
	Regex  string `yaml:"regex"`
	JSON   string `yaml:"json"`

	re *regexp.Regexp
}

// AssetRule finds the content-hashed bundle names in the Control UI page.
type AssetRule struct {
	Probe string `yaml:"probe"`
	Regex string `yaml:"regex"`

	re *regexp.Regexp
}

// HeaderCheck is what a real gateway of a release range sends; a contradiction points to a
// look-alike or a proxy rewriting responses.
type HeaderCheck struct {
	ID         string `yaml:"id"`
	Header     string `yaml:"header"`
	Absent     bool   `yaml:"absent"`
	Equals     string `yaml:"equals"`
	MinVersion string `yaml:"min_version"`

	min *Version
}

// Product is one product's rules.
type Product struct {
	ID          string        `yaml:"id"`
	Name        string        `yaml:"name"`
	NPM         string        `yaml:"npm"`
	MinGroups   int           `yaml:"min_groups"`
	Markers     []Matcher     `yaml:"markers"`
	Versions    []Extractor   `yaml:"versions"`
	Assets      AssetRule     `yaml:"assets"`
	Auth        []Matcher     `yaml:"auth"`
	Flags       []Matcher     `yaml:"flags"`
	Consistency []HeaderCheck `yaml:"consistency"`
}

type ruleFile struct {
	Probes   []ProbeSpec `yaml:"probes"`
	Products []Product   `yaml:"products"`
}

// Rules is the compiled knowledge base: probes, products, releases and advisories.
type Rules struct {
	Probes     []ProbeSpec
	Products   []Product
	Releases   []Release
	Advisories []Advisory
	// Knowledge names the knowledge base the releases and advisories came from.
	Knowledge Identity
	// RulesHash identifies the rule files (sha256): facts read with them replay only with them.
	RulesHash string

	byAsset   map[string][]int // asset name -> indexes into Releases
	knowledge *KnowledgeFile
}

// LoadRules compiles the embedded rules, release table and advisories. An error names the
// file and, for YAML, the line.
func LoadRules() (*Rules, error) {
	return loadRules(embedded)
}

func loadRules(fsys fs.FS) (*Rules, error) {
	r := &Rules{byAsset: map[string][]int{}}
	files, err := fs.Glob(fsys, "rules/*.yaml")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no rule files")
	}
	h := sha256.New()
	for _, name := range files {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
		var rf ruleFile
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&rf); err != nil {
			return nil, fmt.Errorf("rules %s: %w", name, err)
		}
		r.Probes = append(r.Probes, rf.Probes...)
		r.Products = append(r.Products, rf.Products...)
	}
	r.RulesHash = hex.EncodeToString(h.Sum(nil))
	if err := r.compile(); err != nil {
		return nil, err
	}
	kf, err := embeddedKnowledge(fsys)
	if err != nil {
		return nil, err
	}
	if err := r.useKnowledge(kf, "embedded"); err != nil {
		return nil, err
	}
	return r, nil
}

var flagID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (r *Rules) compile() error {
	probes := map[string]bool{}
	for _, p := range r.Probes {
		switch {
		case p.ID == "" || p.Path == "" || !strings.HasPrefix(p.Path, "/"):
			return fmt.Errorf("probe %q: needs an id and a path starting with /", p.ID)
		case probes[p.ID]:
			return fmt.Errorf("probe %q: defined twice", p.ID)
		case p.Method != "GET" && p.OptIn == "":
			return fmt.Errorf("probe %q: a %s probe must be opt_in: passive probes are GET only", p.ID, p.Method)
		}
		probes[p.ID] = true
	}
	if len(r.Probes) == 0 || r.Probes[0].Gated {
		return errors.New("the first probe must be an ungated one (it decides the gate)")
	}
	for i := range r.Products {
		p := &r.Products[i]
		where := "product " + p.ID
		if p.ID == "" || p.MinGroups < 1 || len(p.Markers) == 0 {
			return fmt.Errorf("%s: needs an id, min_groups >= 1 and markers", where)
		}
		groups := map[string]bool{}
		for j := range p.Markers {
			m := &p.Markers[j]
			if m.Group == "" {
				return fmt.Errorf("%s marker %s: needs a group", where, m.ID)
			}
			groups[m.Group] = true
			if err := m.compile(where, probes, true); err != nil {
				return err
			}
		}
		if len(groups) < p.MinGroups {
			return fmt.Errorf("%s: min_groups %d but only %d marker groups", where, p.MinGroups, len(groups))
		}
		for j := range p.Auth {
			if err := p.Auth[j].compile(where+" auth", probes, false); err != nil {
				return err
			}
			if res := p.Auth[j].Result; res != observation.AuthNone && res != observation.AuthRequired {
				return fmt.Errorf("%s auth %s: result %q: want none or required", where, p.Auth[j].ID, res)
			}
		}
		for j := range p.Flags {
			if err := p.Flags[j].compile(where+" flag", probes, true); err != nil {
				return err
			}
			if !flagID.MatchString(p.Flags[j].ID) {
				return fmt.Errorf("%s flag %q: flags are lowercase words joined by hyphens (they are output keys' values)", where, p.Flags[j].ID)
			}
		}
		for j := range p.Versions {
			e := &p.Versions[j]
			if !probes[e.Probe] {
				return fmt.Errorf("%s version %s: unknown probe %q", where, e.ID, e.Probe)
			}
			if (e.Regex == "") == (e.JSON == "") {
				return fmt.Errorf("%s version %s: give exactly one of regex and json", where, e.ID)
			}
			if e.Regex != "" {
				re, err := regexp.Compile(e.Regex)
				if err != nil {
					return fmt.Errorf("%s version %s: %w", where, e.ID, err)
				}
				if re.SubexpIndex("version") < 0 {
					return fmt.Errorf("%s version %s: the regex needs a (?P<version>…) group", where, e.ID)
				}
				e.re = re
			}
		}
		if p.Assets.Regex != "" {
			re, err := regexp.Compile(p.Assets.Regex)
			if err != nil || re.NumSubexp() < 1 || !probes[p.Assets.Probe] {
				return fmt.Errorf("%s assets: needs a known probe and a regex with one group", where)
			}
			p.Assets.re = re
		}
		for j := range p.Consistency {
			c := &p.Consistency[j]
			if c.Header == "" {
				return fmt.Errorf("%s consistency %s: needs a header", where, c.ID)
			}
			if c.MinVersion != "" {
				v, err := ParseVersion(c.MinVersion)
				if err != nil {
					return fmt.Errorf("%s consistency %s: %w", where, c.ID, err)
				}
				c.min = &v
			}
		}
	}
	return nil
}

func (m *Matcher) compile(where string, probes map[string]bool, needProbe bool) error {
	if m.ID == "" {
		return fmt.Errorf("%s: a rule without an id", where)
	}
	if (needProbe || m.Probe != "") && !probes[m.Probe] {
		return fmt.Errorf("%s %s: unknown probe %q", where, m.ID, m.Probe)
	}
	if m.Regex != "" {
		re, err := regexp.Compile(m.Regex)
		if err != nil {
			return fmt.Errorf("%s %s: %w", where, m.ID, err)
		}
		m.re = re
	}
	for _, b := range []struct {
		s   string
		dst **Version
	}{{m.MinVersion, &m.min}, {m.MaxVersion, &m.max}} {
		if b.s == "" {
			continue
		}
		v, err := ParseVersion(b.s)
		if err != nil {
			return fmt.Errorf("%s %s: %w", where, m.ID, err)
		}
		*b.dst = &v
	}
	if m.Probe == "" && m.min == nil && m.max == nil {
		return fmt.Errorf("%s %s: a rule with no probe needs a version range", where, m.ID)
	}
	return nil
}

// Release is one published npm release and its Control UI build.
type Release struct {
	Package  string   `json:"package"`
	Version  string   `json:"version"`
	Commit   string   `json:"commit,omitempty"`
	BuiltAt  string   `json:"built_at,omitempty"`
	BuildID  string   `json:"build_id,omitempty"`
	Assets   []string `json:"assets,omitempty"`
	SWCache  string   `json:"sw_cache_version,omitempty"`
	Broken   string   `json:"broken,omitempty"`
	Registry string   `json:"registry_time,omitempty"`
}

type releaseFile struct {
	Generated string    `json:"generated"`
	Note      string    `json:"note"`
	Releases  []Release `json:"releases"`
}

// setReleases checks a release table and indexes it by asset.
func (r *Rules) setReleases(releases []Release, where string) error {
	r.byAsset = map[string][]int{}
	for i, rel := range releases {
		if _, err := ParseVersion(rel.Version); err != nil {
			return fmt.Errorf("release table %s: %s %w", where, rel.Package, err)
		}
		if rel.Package == "" {
			return fmt.Errorf("release table %s: release %s names no package", where, rel.Version)
		}
		for _, a := range rel.Assets {
			r.byAsset[a] = append(r.byAsset[a], i)
		}
	}
	r.Releases = releases
	return nil
}

// ReleasesWithAssets returns the releases whose Control UI carries every one of assets.
// It reports false when some asset is in no release at all (a build nobody published).
func (r *Rules) ReleasesWithAssets(pkg string, assets []string) ([]Release, bool) {
	var common []int
	for i, a := range assets {
		idx, ok := r.byAsset[a]
		if !ok {
			return nil, false
		}
		if i == 0 {
			common = slices.Clone(idx)
			continue
		}
		common = slices.DeleteFunc(common, func(k int) bool { return !slices.Contains(idx, k) })
	}
	var out []Release
	for _, k := range common {
		if r.Releases[k].Broken != "" {
			continue // a publish that cannot run is never what a gateway serves
		}
		if pkg == "" || r.Releases[k].Package == pkg {
			out = append(out, r.Releases[k])
		}
	}
	return out, true
}

// AssetNames returns the bundle names the product's asset rule finds in a page.
func (p *Product) AssetNames(body []byte) []string {
	if p.Assets.re == nil {
		return nil
	}
	var names []string
	for _, m := range p.Assets.re.FindAllSubmatch(body, 16) {
		names = append(names, path.Base(string(m[1])))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Product returns the product with id, or nil.
func (r *Rules) Product(id string) *Product {
	for i := range r.Products {
		if r.Products[i].ID == id {
			return &r.Products[i]
		}
	}
	return nil
}

// Latest is the newest stable release of npm package pkg in the release table (no beta, not
// marked broken): what an operator should upgrade to. "" when the table has none.
func (r *Rules) Latest(pkg string) string {
	latest := ""
	for _, rel := range r.Releases {
		v, err := ParseVersion(rel.Version)
		if rel.Package != pkg || err != nil || v.Beta != 0 || rel.Broken != "" {
			continue
		}
		if latest == "" || CompareVersions(rel.Version, latest) > 0 {
			latest = rel.Version
		}
	}
	return latest
}
