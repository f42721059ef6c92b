package fingerprint

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/internal/atomicfile"
)

// The knowledge base is the data a verdict depends on and the rules do not: the release table
// (versions, Control UI build ids, asset names, commits, build dates) and the advisories. The
// embedded one is the default; `clawcensus fingerprints update` writes a newer one to a data
// directory, and a run records which one its verdicts came from (Identity).

// KnowledgeFormat is the format of a knowledge base file this version reads and writes.
const KnowledgeFormat = 1

// maxKnowledge bounds a knowledge base file.
const maxKnowledge = 64 << 20

// KnowledgeFile is a knowledge base as data.
type KnowledgeFile struct {
	Format int `json:"format"`
	// Generated is when it was made (RFC 3339); Source where from: "embedded", or the registry.
	Generated string    `json:"generated"`
	Source    string    `json:"source"`
	Releases  []Release `json:"releases"`
	// Advisories are OSV records, as published (with database_specific.observable added).
	Advisories []json.RawMessage `json:"advisories"`
}

// Identity names a knowledge base: what a run's verdicts came from, and what a report says.
type Identity struct {
	SHA256     string `json:"sha256"`
	Path       string `json:"path,omitempty"` // the file; empty for the embedded one
	Source     string `json:"source"`
	Generated  string `json:"generated"`
	Releases   int    `json:"releases"`
	Advisories int    `json:"advisories"`
	// Newest is the newest release known ("openclaw 2026.9.6"), NewestDate its build or
	// publication day.
	Newest     string `json:"newest"`
	NewestDate string `json:"newest_date"`
}

// String is how reports name the knowledge base.
func (id Identity) String() string {
	where := "embedded"
	if id.Path != "" {
		where = id.Path
	}
	return fmt.Sprintf("%d releases (newest %s of %s), %d advisories, sha256 %.12s (%s)", id.Releases, id.Newest,
		id.NewestDate, id.Advisories, id.SHA256, where)
}

// embeddedKnowledge assembles the knowledge base compiled into this binary.
func embeddedKnowledge(fsys fs.FS) (*KnowledgeFile, error) {
	data, err := fs.ReadFile(fsys, "rules/releases.json")
	if err != nil {
		return nil, fmt.Errorf("release table: %w", err)
	}
	var rf releaseFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rf); err != nil {
		return nil, fmt.Errorf("release table rules/releases.json: %w", err)
	}
	kf := &KnowledgeFile{Format: KnowledgeFormat, Generated: rf.Generated, Source: "embedded", Releases: rf.Releases}
	files, err := fs.Glob(fsys, "advisories/*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		rec, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		if _, err := parseAdvisory(rec, name); err != nil { // an error names the file
			return nil, err
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, rec); err != nil {
			return nil, fmt.Errorf("advisory %s: %w", name, err)
		}
		kf.Advisories = append(kf.Advisories, compact.Bytes())
	}
	return kf, nil
}

// EmbeddedKnowledge is the knowledge base compiled into this binary, as data.
func EmbeddedKnowledge() (*KnowledgeFile, error) { return embeddedKnowledge(embedded) }

// Marshal encodes kf as its file holds it; its sha256 is the knowledge base's identity.
func (kf *KnowledgeFile) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(kf, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// useKnowledge makes kf the rules' knowledge base.
func (r *Rules) useKnowledge(kf *KnowledgeFile, path string) error {
	where := "knowledge base " + path
	if kf.Format != KnowledgeFormat {
		return fmt.Errorf("%s: format %d, this clawcensus reads %d", where, kf.Format, KnowledgeFormat)
	}
	if err := r.setReleases(kf.Releases, where); err != nil {
		return err
	}
	if err := r.setAdvisories(kf.Advisories, where); err != nil {
		return err
	}
	data, err := kf.Marshal()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	r.Knowledge = Identity{SHA256: hex.EncodeToString(sum[:]), Source: kf.Source, Generated: kf.Generated,
		Releases: len(kf.Releases), Advisories: len(kf.Advisories)}
	if path != "embedded" {
		r.Knowledge.Path = path
	}
	r.Knowledge.Newest, r.Knowledge.NewestDate = r.newest()
	r.knowledge = kf
	return nil
}

// KnowledgeFile is the knowledge base the rules use, as data (what an update starts from).
func (r *Rules) KnowledgeFile() *KnowledgeFile { return r.knowledge }

// newest is the newest stable release of any package the table knows, and its day.
func (r *Rules) newest() (string, string) {
	var best *Release
	for i := range r.Releases {
		rel := &r.Releases[i]
		v, err := ParseVersion(rel.Version)
		if err != nil || v.Beta != 0 || rel.Broken != "" {
			continue
		}
		if best == nil || CompareVersions(rel.Version, best.Version) > 0 {
			best = rel
		}
	}
	if best == nil {
		return "", ""
	}
	return best.Package + " " + best.Version, releaseDay(*best)
}

// releaseDay is a release's build day, or its publication day.
func releaseDay(rel Release) string {
	for _, s := range []string{rel.BuiltAt, rel.Registry} {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.UTC().Format("2006-01-02")
		}
		if len(s) >= 10 {
			return s[:10]
		}
	}
	return "unknown"
}

// ReadKnowledgeFile reads a knowledge base file (bounded, strict).
func ReadKnowledgeFile(path string) (*KnowledgeFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKnowledge+1))
	if err != nil {
		return nil, fmt.Errorf("knowledge base %s: %w", path, err)
	}
	if len(data) > maxKnowledge {
		return nil, fmt.Errorf("knowledge base %s: larger than %d MiB", path, maxKnowledge>>20)
	}
	var kf KnowledgeFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		return nil, fmt.Errorf("knowledge base %s: %w", path, err)
	}
	return &kf, nil
}

// WriteKnowledgeFile writes kf to path atomically: the file is whole or absent, never half
// written.
func WriteKnowledgeFile(path string, kf *KnowledgeFile) error {
	data, err := kf.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("knowledge base: %w", err)
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// KnowledgeName is the knowledge base's file in a data directory.
const KnowledgeName = "knowledge.json"

// DefaultDataDir is where `fingerprints update` keeps the knowledge base: $CLAWCENSUS_DATA,
// else $XDG_DATA_HOME/clawcensus, else ~/.local/share/clawcensus.
func DefaultDataDir() string {
	if d := os.Getenv("CLAWCENSUS_DATA"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "clawcensus")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "clawcensus")
	}
	return "clawcensus-data"
}

// KnowledgeConfig says which knowledge base to load.
type KnowledgeConfig struct {
	// File pins a knowledge base file (reproducibility); empty means the newest of the embedded
	// one and DataDir's.
	File string
	// DataDir holds the knowledge base `fingerprints update` wrote; empty means DefaultDataDir.
	DataDir string
}

// LoadKnowledge compiles the rules with the knowledge base cfg names: cfg.File, or the newer
// of the embedded one and the data directory's (a data directory's file that does not read
// is an error, not silently passed over).
func LoadKnowledge(cfg KnowledgeConfig) (*Rules, error) {
	r, err := LoadRules()
	if err != nil {
		return nil, err
	}
	path := cfg.File
	if path == "" {
		path = filepath.Join(cmp.Or(cfg.DataDir, DefaultDataDir()), KnowledgeName)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return r, nil
		}
	}
	kf, err := ReadKnowledgeFile(path)
	if err != nil {
		return nil, err
	}
	// The rules are compiled once: the file's knowledge base goes on a copy (the compiled
	// products are read-only and shared; releases and advisories are the copy's own).
	disk := *r
	if err := disk.useKnowledge(kf, path); err != nil {
		return nil, err
	}
	if cfg.File != "" || Newer(disk.Knowledge, r.Knowledge) {
		return &disk, nil
	}
	return r, nil
}

// Newer reports whether knowledge base a knows a newer release than b, or the same newest
// and was generated later.
func Newer(a, b Identity) bool {
	va, vb := lastField(a.Newest), lastField(b.Newest)
	if c := CompareVersions(va, vb); c != 0 {
		return c > 0
	}
	if a.Releases != b.Releases {
		return a.Releases > b.Releases
	}
	if a.Advisories != b.Advisories {
		return a.Advisories > b.Advisories
	}
	return a.Generated > b.Generated
}

func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}
