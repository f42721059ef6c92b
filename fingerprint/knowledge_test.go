package fingerprint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKnowledgeIdentity: the embedded knowledge base names itself, and the same data written
// to a file has the same sha256 (the identity is the file's content, not where it lies).
func TestKnowledgeIdentity(t *testing.T) {
	r, err := LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	id := r.Knowledge
	if len(id.SHA256) != 64 || id.Releases != len(r.Releases) || id.Advisories != len(r.Advisories) || id.Newest == "" ||
		id.Path != "" || id.Source != "embedded" {
		t.Fatalf("embedded identity %+v", id)
	}
	kf, err := EmbeddedKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pinned.json")
	if err := WriteKnowledgeFile(path, kf); err != nil {
		t.Fatal(err)
	}
	pinned, err := LoadKnowledge(KnowledgeConfig{File: path})
	if err != nil {
		t.Fatal(err)
	}
	if pinned.Knowledge.SHA256 != id.SHA256 || pinned.Knowledge.Path != path {
		t.Errorf("the same data pinned from a file: %+v, embedded %+v", pinned.Knowledge, id)
	}
}

// TestNewestKnowledgeWins: a data directory's knowledge base is used when it knows a newer
// release than the embedded one, the embedded one otherwise; a data directory's file that
// does not read is an error, never silently passed over.
func TestNewestKnowledgeWins(t *testing.T) {
	kf, err := EmbeddedKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	embedded, _ := LoadRules()
	dir := t.TempDir()
	// Older: the same table less its newest release.
	older := *kf
	older.Releases = nil
	for _, rel := range kf.Releases {
		if rel.Package+" "+rel.Version != embedded.Knowledge.Newest {
			older.Releases = append(older.Releases, rel)
		}
	}
	older.Source = "test: older"
	if err := WriteKnowledgeFile(filepath.Join(dir, KnowledgeName), &older); err != nil {
		t.Fatal(err)
	}
	r, err := LoadKnowledge(KnowledgeConfig{DataDir: dir})
	if err != nil || r.Knowledge.Source != "embedded" {
		t.Fatalf("an older data directory: %+v, %v", r.Knowledge, err)
	}
	newer := *kf
	newer.Releases = append(append([]Release(nil), kf.Releases...), Release{Package: "openclaw", Version: "2099.1.2",
		BuiltAt: "2099-01-02T00:00:00Z", Assets: []string{"index-Zz9Zz9Zz.js"}})
	newer.Source = "test: newer"
	if err := WriteKnowledgeFile(filepath.Join(dir, KnowledgeName), &newer); err != nil {
		t.Fatal(err)
	}
	r, err = LoadKnowledge(KnowledgeConfig{DataDir: dir})
	if err != nil || r.Knowledge.Source != "test: newer" || r.Knowledge.Newest != "openclaw 2099.1.2" || r.Knowledge.NewestDate != "2099-01-02" {
		t.Fatalf("a newer data directory: %+v, %v", r.Knowledge, err)
	}
	if err := os.WriteFile(filepath.Join(dir, KnowledgeName), []byte(`{"format":1,"releases":[`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKnowledge(KnowledgeConfig{DataDir: dir}); err == nil || !strings.Contains(err.Error(), KnowledgeName) {
		t.Errorf("a truncated data directory file: %v", err)
	}
	if _, err := LoadKnowledge(KnowledgeConfig{File: filepath.Join(dir, "absent.json")}); err == nil {
		t.Error("a pinned file that is absent was accepted")
	}
}
