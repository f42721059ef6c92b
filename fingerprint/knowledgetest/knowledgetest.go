// Package knowledgetest makes knowledge bases for tests: the embedded one as it was before a
// release. Only tests import it.
package knowledgetest

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint"
)

// Before writes, in a test's temporary folder, the embedded knowledge base as it was
// before release v of pkg (less that release and every later one) and returns its path: a
// knowledge base made before v was published.
func Before(t testing.TB, pkg, v string) string {
	t.Helper()
	kf, err := fingerprint.EmbeddedKnowledge()
	if err != nil {
		t.Fatal(err)
	}
	old := *kf
	old.Releases = slices.DeleteFunc(slices.Clone(kf.Releases), func(r fingerprint.Release) bool {
		return r.Package == pkg && fingerprint.CompareVersions(r.Version, v) >= 0
	})
	path := filepath.Join(t.TempDir(), "before-"+v+".json")
	if err := fingerprint.WriteKnowledgeFile(path, &old); err != nil {
		t.Fatal(err)
	}
	return path
}
