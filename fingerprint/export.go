package fingerprint

import (
	"encoding/json"
	"regexp"
)

// ReleaseFromTarball describes a release from the files of its npm tarball: the Control UI
// page, its service worker (may be nil) and dist/build-info.json (may be nil). The generator
// of the release table uses it, so the table and the live matcher read pages the same way.
func (r *Rules) ReleaseFromTarball(pkg, version string, indexHTML, swJS, buildInfo []byte) Release {
	rel := Release{Package: pkg, Version: version}
	for i := range r.Products {
		if p := &r.Products[i]; p.NPM == pkg {
			rel.Assets = p.AssetNames(indexHTML)
		}
	}
	if m := swCacheRE.FindSubmatch(swJS); m != nil {
		rel.SWCache = string(m[1])
	}
	var info struct {
		Commit  string `json:"commit"`
		BuiltAt string `json:"builtAt"`
		BuildID string `json:"buildId"`
	}
	if json.Unmarshal(buildInfo, &info) == nil {
		rel.Commit, rel.BuiltAt, rel.BuildID = info.Commit, info.BuiltAt, info.BuildID
	}
	return rel
}

var swCacheRE = regexp.MustCompile(`EMBEDDED_CACHE_VERSION\s*=\s*"([^"]{1,200})"`)
