package fingerprint

import (
	"bytes"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint/registrytest"
)

// FuzzReadTarball: whatever a registry sends as a tarball, reading it ends (an error or the
// files) without a panic, and no file read is larger than its bound.
func FuzzReadTarball(f *testing.F) {
	good := registrytest.Tarball(map[string][]byte{tarIndex: []byte(`<script src="./assets/index-AbCdEf12.js">`),
		tarBuildInfo: []byte(`{"commit":"x"}`)})
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := readTarball(bytes.NewReader(data))
		for name, b := range files {
			if err != nil || len(b) > maxTarFile {
				t.Fatalf("%s: %d bytes with error %v", name, len(b), err)
			}
		}
	})
}

// FuzzParseIntegrity: a parsed integrity always has a digest of its algorithm's size.
func FuzzParseIntegrity(f *testing.F) {
	f.Add(registrytest.Integrity([]byte("x")))
	f.Add("sha256-LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564= sha1-abc")
	f.Add("sha512-not!base64")
	f.Fuzz(func(t *testing.T, s string) {
		in, err := parseIntegrity(s)
		if err == nil && (in.new == nil || len(in.digest) != in.new().Size()) {
			t.Fatalf("%q: %+v", s, in)
		}
	})
}
