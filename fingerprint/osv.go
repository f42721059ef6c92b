package fingerprint

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// Bounds on an OSV export (OSV's npm/all.zip holds a few hundred thousand records, nearly all
// about other packages).
const (
	maxOSVFiles  = 2_000_000
	maxOSVRecord = 4 << 20  // one record
	maxOSVTotal  = 16 << 30 // all records, read
)

// osvPackages are the npm packages whose advisories the knowledge base holds, besides every
// @openclaw/ package.
var osvPackages = []string{"openclaw", "clawdbot", "moltbot"}

// osvHead is what the import reads of an OSV record; the record itself is kept as published.
type osvHead struct {
	ID        string   `json:"id"`
	Aliases   []string `json:"aliases"`
	Modified  string   `json:"modified"`
	Withdrawn string   `json:"withdrawn"`
	Summary   string   `json:"summary"`
	Details   string   `json:"details"`
	Affected  []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
	DatabaseSpecific struct {
		Observable string `json:"observable"`
	} `json:"database_specific"`
}

func (h *osvHead) keys() []string { return append([]string{h.ID}, h.Aliases...) }

// ours reports whether the record is about an OpenClaw package, and whether only about
// @openclaw/ packages (plugins).
func (h *osvHead) ours() (ours, pluginsOnly bool) {
	pluginsOnly = true
	for _, af := range h.Affected {
		if !strings.EqualFold(af.Package.Ecosystem, "npm") {
			continue
		}
		switch name := af.Package.Name; {
		case slices.Contains(osvPackages, name):
			ours, pluginsOnly = true, false
		case strings.HasPrefix(name, "@openclaw/"):
			ours = true
		}
	}
	return ours, ours && pluginsOnly
}

// importOSV merges the OpenClaw records of the OSV export at path into the records base:
//   - a record the base knows (by id or alias) replaces it when it was modified later, and keeps
//     the base's observable classification, the database_specific notes the export lacks and
//     the affected packages the export does not list (the base may apply a range to clawdbot,
//     the earlier name, where the public record names only openclaw);
//   - a withdrawn record removes the base's record;
//   - a new record is classified by classifyObservable and marked observable_source "keywords".
//
// Every record that comes out is checked with parseAdvisory; an error names the file.
func importOSV(base []json.RawMessage, path string) ([]json.RawMessage, error) {
	type rec struct {
		head osvHead
		data []byte
		name string
	}
	var found []rec
	err := walkOSV(path, func(name string, data []byte) error {
		if !bytes.Contains(data, []byte("openclaw")) && !bytes.Contains(data, []byte("clawdbot")) && !bytes.Contains(data, []byte("moltbot")) {
			return nil
		}
		var h osvHead
		if err := json.Unmarshal(data, &h); err != nil {
			return fmt.Errorf("OSV record %s: %w", name, err)
		}
		if ours, _ := h.ours(); ours {
			if h.ID == "" {
				return fmt.Errorf("OSV record %s: no id", name)
			}
			found = append(found, rec{h, data, name})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(found, func(a, b rec) int { return strings.Compare(a.head.ID, b.head.ID) })

	out := slices.Clone(base)
	heads := make([]osvHead, len(base))
	byKey := map[string]int{} // id or alias -> index into out
	for i, data := range base {
		if err := json.Unmarshal(data, &heads[i]); err != nil {
			return nil, fmt.Errorf("advisory #%d of the base: %w", i+1, err)
		}
		for _, k := range heads[i].keys() {
			byKey[k] = i
		}
	}
	removed := map[int]bool{}
	taken := map[string]bool{} // keys of the records imported so far
	for _, r := range found {
		if slices.ContainsFunc(r.head.keys(), func(k string) bool { return taken[k] }) {
			continue // the same advisory under another id, already imported
		}
		for _, k := range r.head.keys() {
			taken[k] = true
		}
		i, known := -1, false
		for _, k := range r.head.keys() {
			if i, known = byKey[k]; known {
				break
			}
		}
		switch {
		case r.head.Withdrawn != "":
			if known {
				removed[i] = true
			}
			continue
		case known && !modifiedLater(r.head.Modified, heads[i].Modified):
			continue
		}
		var merged []byte
		if known {
			merged, err = mergeOSV(r.data, out[i], heads[i].DatabaseSpecific.Observable)
		} else {
			_, pluginsOnly := r.head.ours()
			merged, err = mergeOSV(r.data, nil, classifyObservable(r.head.Summary+"\n"+r.head.Details, pluginsOnly))
		}
		if err != nil {
			return nil, fmt.Errorf("OSV record %s: %w", r.name, err)
		}
		if _, err := parseAdvisory(merged, "OSV record "+r.name); err != nil {
			return nil, err
		}
		if known {
			out[i] = merged
		} else {
			out = append(out, merged)
		}
	}
	kept := out[:0]
	for i, data := range out {
		if !removed[i] {
			kept = append(kept, data)
		}
	}
	return kept, nil
}

// modifiedLater reports whether OSV time a is after b (a record without a time is not).
func modifiedLater(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339, a)
	tb, errB := time.Parse(time.RFC3339, b)
	return errA == nil && (errB != nil || ta.After(tb))
}

// mergeOSV returns record with database_specific.observable set; with a base record, also
// the base's database_specific keys and affected packages the record lacks. Without one, the
// observable was guessed: observable_source says "keywords".
func mergeOSV(record, base []byte, observable string) ([]byte, error) {
	var top, baseTop map[string]json.RawMessage
	if err := json.Unmarshal(record, &top); err != nil {
		return nil, err
	}
	ds := map[string]json.RawMessage{}
	if raw, ok := top["database_specific"]; ok {
		if err := json.Unmarshal(raw, &ds); err != nil {
			return nil, fmt.Errorf("database_specific: %w", err)
		}
	}
	delete(ds, "observable_source")
	if base == nil {
		ds["observable_source"] = json.RawMessage(`"keywords"`)
	} else {
		if err := json.Unmarshal(base, &baseTop); err != nil {
			return nil, err
		}
		baseDS := map[string]json.RawMessage{}
		_ = json.Unmarshal(baseTop["database_specific"], &baseDS) // the base was checked when loaded
		for k, v := range baseDS {
			if _, ok := ds[k]; !ok {
				ds[k] = v
			}
		}
		affected, err := mergeAffected(top["affected"], baseTop["affected"])
		if err != nil {
			return nil, err
		}
		top["affected"] = affected
	}
	obs, _ := json.Marshal(observable)
	ds["observable"] = obs
	var err error
	if top["database_specific"], err = json.Marshal(ds); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}

// mergeAffected is the record's affected list plus the base's entries for packages it does
// not name.
func mergeAffected(record, base json.RawMessage) (json.RawMessage, error) {
	type entry struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
	}
	var rec, bas []json.RawMessage
	if err := json.Unmarshal(record, &rec); err != nil {
		return nil, fmt.Errorf("affected: %w", err)
	}
	_ = json.Unmarshal(base, &bas)
	names := map[string]bool{}
	for _, raw := range rec {
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("affected: %w", err)
		}
		names[e.Package.Ecosystem+"/"+e.Package.Name] = true
	}
	for _, raw := range bas {
		var e entry
		if json.Unmarshal(raw, &e) == nil && !names[e.Package.Ecosystem+"/"+e.Package.Name] {
			rec = append(rec, raw)
		}
	}
	return json.Marshal(rec)
}

// The words classifyObservable looks for, as whole words, case-insensitively.
var (
	pluginWords     = regexp.MustCompile(`(?i)\b(plugins?|extensions?|channels?)\b`)
	desktopAppWords = regexp.MustCompile(`(?i)\b(macos|ios|android)\b`)
	gatewayWords    = regexp.MustCompile(`(?i)\b(gateway|control ui|websockets?|http endpoints?|endpoints?)\b`)
)

// classifyObservable guesses where a new advisory's affected code runs from its summary and
// details, for records the base does not classify yet. The rule, in order: a record that
// affects only @openclaw/ packages, or names a plugin, extension or channel, is "plugin"; one
// that names macOS, iOS or Android is "desktop-app"; one that names the gateway, the Control
// UI, WebSockets or an (HTTP) endpoint is "gateway"; anything else "local". A guess: the
// record says so (observable_source "keywords") until someone classifies it by hand.
func classifyObservable(text string, pluginsOnly bool) string {
	switch {
	case pluginsOnly || pluginWords.MatchString(text):
		return ObservablePlugin
	case desktopAppWords.MatchString(text):
		return ObservableDesktopApp
	case gatewayWords.MatchString(text):
		return ObservableGateway
	}
	return ObservableLocal
}

// walkOSV calls fn with every .json record of the export at path (a directory, searched
// through; a .zip; or one file), bounded in count and size.
func walkOSV(path string, fn func(name string, data []byte) error) error {
	var files, total int64
	read := func(name string, r io.Reader) error {
		if files++; files > maxOSVFiles {
			return fmt.Errorf("OSV export %s: more than %d files", path, maxOSVFiles)
		}
		data, err := io.ReadAll(io.LimitReader(r, maxOSVRecord+1))
		if err != nil {
			return fmt.Errorf("OSV record %s: %w", name, err)
		}
		if len(data) > maxOSVRecord {
			return fmt.Errorf("OSV record %s: more than %d MiB", name, maxOSVRecord>>20)
		}
		if total += int64(len(data)); total > maxOSVTotal {
			return fmt.Errorf("OSV export %s: more than %d GiB", path, maxOSVTotal>>30)
		}
		return fn(name, data)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("OSV export: %w", err)
	}
	switch {
	case st.IsDir():
		return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || !strings.HasSuffix(p, ".json") {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return fmt.Errorf("OSV record: %w", err)
			}
			defer f.Close()
			return read(p, f)
		})
	case strings.HasSuffix(strings.ToLower(path), ".zip"):
		zr, err := zip.OpenReader(path)
		if err != nil {
			return fmt.Errorf("OSV export %s: %w", path, err)
		}
		defer zr.Close()
		if len(zr.File) > maxOSVFiles {
			return fmt.Errorf("OSV export %s: more than %d files", path, maxOSVFiles)
		}
		for _, zf := range zr.File {
			if !strings.HasSuffix(zf.Name, ".json") || zf.FileInfo().IsDir() {
				continue
			}
			name := path + ":" + textsafe.Clean(zf.Name, 200)
			rc, err := zf.Open()
			if err != nil {
				return fmt.Errorf("OSV record %s: %w", name, err)
			}
			err = read(name, rc)
			rc.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("OSV export: %w", err)
	}
	defer f.Close()
	if err := read(path, f); err != nil {
		return err
	}
	return nil
}
