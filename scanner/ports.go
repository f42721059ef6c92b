package scanner

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// DefaultPorts is the OpenClaw gateway's default port.
const DefaultPorts = "18789"

// PortPresets are named port sets for --ports. The ports come from where gateways are seen:
// the default, reverse proxies, Tailscale Funnel and hosted spaces
// (../shared/docs/openclaw-on-the-wire.md).
var PortPresets = map[string][]uint16{
	"gateway": {18789},
	"proxies": {80, 443, 8080, 8443},
	"funnel":  {443, 8443, 10000},
	"hosted":  {7860},
	"wild":    {80, 443, 7860, 8080, 8443, 10000, 18789},
	"sidecar": {18789, 18791, 18792, 18793},
}

// ParsePorts parses a comma-separated list of ports, ranges ("8000-8010") and preset names
// into a sorted set. Overlaps cost nothing: the set is a bitmap, so a list repeating
// "1-65535" a million times takes no more memory than one.
func ParsePorts(s string) ([]uint16, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultPorts
	}
	var set [65536 / 64]uint64
	add := func(p uint16) { set[p/64] |= 1 << (p % 64) }
	addRange := func(a, b uint16) { // whole words at a time
		for p := uint32(a); p <= uint32(b); {
			if p%64 == 0 && p+63 <= uint32(b) {
				set[p/64] = ^uint64(0)
				p += 64
				continue
			}
			add(uint16(p))
			p++
		}
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if preset, ok := PortPresets[f]; ok {
			for _, p := range preset {
				add(p)
			}
			continue
		}
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := parsePort(lo)
		if err != nil {
			return nil, fmt.Errorf("ports %q: %w", f, err)
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return nil, fmt.Errorf("ports %q: %w", f, err)
			}
			if b < a {
				return nil, fmt.Errorf("ports %q: range ends before it starts", f)
			}
		}
		addRange(a, b)
	}
	var ports []uint16
	for i, w := range set {
		for ; w != 0; w &= w - 1 {
			ports = append(ports, uint16(i*64+bits.TrailingZeros64(w)))
		}
	}
	return ports, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port (1-65535) or a preset (%s)", s, presetNames())
	}
	return uint16(n), nil
}

func presetNames() string {
	var names []string
	for n := range PortPresets {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
