package fingerprint

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Version is an OpenClaw release number, YYYY.M.D with an optional "-N" republish suffix and
// an optional "-beta.N" prerelease. Releases are not date-ordered (2026.7.33 exists), so
// comparison is numeric, field by field.
type Version struct {
	Year, Month, Day int
	Republish        int // -N; 0 when absent
	Beta             int // -beta.N; 0 when not a prerelease
}

// ParseVersion parses s, e.g. "2026.1.24-3" or "2026.5.16-beta.4".
func ParseVersion(s string) (Version, error) {
	var v Version
	core, rest, _ := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("version %q: want YYYY.M.D", s)
	}
	nums := make([]int, 3)
	for i, p := range parts {
		// Digits only: Atoi alone would take "+202" or "-0".
		if p == "" || len(p) > 4 || strings.Trim(p, "0123456789") != "" {
			return v, fmt.Errorf("version %q: field %q is not a number", s, p)
		}
		nums[i], _ = strconv.Atoi(p)
	}
	v.Year, v.Month, v.Day = nums[0], nums[1], nums[2]
	for rest != "" {
		var field string
		field, rest, _ = strings.Cut(rest, "-")
		switch {
		case strings.HasPrefix(field, "beta."):
			n, err := strconv.Atoi(field[5:])
			if err != nil || n <= 0 || !digits(field[5:]) {
				return v, fmt.Errorf("version %q: bad beta number", s)
			}
			v.Beta = n
		default:
			n, err := strconv.Atoi(field)
			if err != nil || n <= 0 || v.Beta != 0 || !digits(field) {
				return v, fmt.Errorf("version %q: bad suffix %q", s, field)
			}
			v.Republish = n
		}
	}
	return v, nil
}

func digits(s string) bool { return s != "" && len(s) <= 6 && strings.Trim(s, "0123456789") == "" }

// Plausible reports whether v could be a release: OpenClaw numbers releases by date, from
// 2025 on (releases such as 2026.7.33 exist, so a day field may pass 31).
func (v Version) Plausible() bool {
	return v.Year >= 2025 && v.Year <= 2100 && v.Month >= 1 && v.Month <= 12 && v.Day >= 1 && v.Day <= 99
}

// Dated reports whether v's number is a real calendar date (no February 31) no later than
// latest. A release the table does not know is believed only so: a claim dated after the
// observation, or on a day that never was, is a forgery or a mistake, not a release. (Known
// releases may break the rule, 2026.7.33 exists; the table vouches for those.)
//
// A day past 31 is the project's numbering of a backport to that month's line (2026.7.33 is a
// fix to 2026.7, published later): it is dated when its month is not after latest's.
func (v Version) Dated(latest time.Time) bool {
	if v.Day > 31 {
		month := time.Date(v.Year, time.Month(v.Month), 1, 0, 0, 0, 0, time.UTC)
		return v.Month >= 1 && v.Month <= 12 && !month.After(latest)
	}
	d := time.Date(v.Year, time.Month(v.Month), v.Day, 0, 0, 0, 0, time.UTC)
	return d.Year() == v.Year && int(d.Month()) == v.Month && d.Day() == v.Day && !d.After(latest)
}

// claimSlack is how far after the observation a claimed release date may lie: time zones, and
// a release published on the day of the scan.
const claimSlack = 24 * time.Hour

// MustParseVersion is ParseVersion for constants in rules; it panics on a bad version.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Year, v.Month, v.Day)
	if v.Republish > 0 {
		s += fmt.Sprintf("-%d", v.Republish)
	}
	if v.Beta > 0 {
		s += fmt.Sprintf("-beta.%d", v.Beta)
	}
	return s
}

// Compare returns -1, 0 or +1. A prerelease sorts before its release; a republish after it.
func (v Version) Compare(w Version) int {
	for _, d := range [][2]int{{v.Year, w.Year}, {v.Month, w.Month}, {v.Day, w.Day}} {
		if d[0] != d[1] {
			return sign(d[0] - d[1])
		}
	}
	if (v.Beta == 0) != (w.Beta == 0) {
		if v.Beta != 0 {
			return -1
		}
		return 1
	}
	if v.Republish != w.Republish {
		return sign(v.Republish - w.Republish)
	}
	return sign(v.Beta - w.Beta)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// CompareVersions compares two version strings; an unparsable one sorts first.
func CompareVersions(a, b string) int {
	va, errA := ParseVersion(a)
	vb, errB := ParseVersion(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return va.Compare(vb)
}
