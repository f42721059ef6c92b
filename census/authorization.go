package census

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxAuthorization bounds a run's authorization record: it is stored with the run and shown in
// every report.
const MaxAuthorization = 4096

// maxAuthorizationFile bounds an authorization file, comments included.
const maxAuthorizationFile = 64 << 10

// ReadAuthorization returns the authorization record spec names: spec itself, or with "@FILE"
// the file's lines (a deployment keeps the record beside its lists). Blank lines and lines
// starting with # are left out; the others are joined with "; ". A line with a control or
// format character is refused with its file and line, as is a record over MaxAuthorization
// bytes; a file with no record at all is refused too.
func ReadAuthorization(spec string) (string, error) {
	path, ok := strings.CutPrefix(spec, "@")
	if !ok {
		if err := CheckText("authorization", spec, MaxAuthorization); err != nil {
			return "", err
		}
		return spec, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("authorization: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAuthorizationFile+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("authorization %s: %w", path, err)
	case len(b) > maxAuthorizationFile:
		return "", fmt.Errorf("authorization %s: larger than %d bytes", path, maxAuthorizationFile)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxAuthorizationFile+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := CheckText(fmt.Sprintf("%s:%d: authorization", path, n), line, MaxAuthorization); err != nil {
			return "", err
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("authorization %s: %w", path, err)
	}
	text := strings.Join(lines, "; ")
	switch {
	case text == "":
		return "", fmt.Errorf("authorization %s: no record in it (only blank and # lines)", path)
	case len(text) > MaxAuthorization:
		return "", fmt.Errorf("authorization %s: %d bytes, at most %d", path, len(text), MaxAuthorization)
	}
	return text, nil
}
