// Package reporttest holds the sample runs and observations the tests of report and web
// share: what a three-day census of a loopback lab stores. Only tests import it.
package reporttest

import (
	"net/netip"
	"time"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
)

// Runs are three days of complete runs over a loopback lab, the last with enrichment.
func Runs() []store.Summary {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 2, 0, 0, 0, time.UTC) }
	var runs []store.Summary
	for i, d := range []int{26, 27, 28} {
		end := day(d).Add(40 * time.Minute)
		s := store.Summary{Run: store.Run{ID: int64(i + 1), StartedAt: day(d), EndedAt: &end, Status: store.StatusComplete,
			Targets: "127.0.0.0/24", TargetCount: 256, Ports: "18789", Rate: 2000, Seed: 42, Shard: "0/1", Method: "connect",
			ToolVersion: "test", ProbesSent: 256, OpenPorts: int64(20 + i)},
			Detected:   int64(20 + i),
			ByVersion:  map[string]int64{"2026.9.6": int64(8 + i), "2026.3.8": 6, "2026.1.24-3": 4, "unknown": 2},
			ByAuth:     map[string]int64{"required": int64(11 + i), "none": 5, "unknown": 4},
			ByProduct:  map[string]int64{"openclaw": int64(16 + i), "clawdbot": 4},
			ByOfficial: map[string]int64{"true": int64(18 + i), "unknown": 2},
			ByFlag:     map[string]int64{"plaintext-http": int64(20 + i), "host-terminal-enabled": 1},
			ByMIIT:     map[string]int64{"internet-exposure": int64(20 + i), "known-advisories": 10},
			ByAdvisory: map[string]int64{"CVE-2026-25253": 4, "CVE-2026-45001": 10},
			ByCountry:  map[string]int64{}, ByASN: map[string]int64{},
		}
		if d == 28 {
			s.Honeypots = 1 // a look-alike, counted apart
			s.Enrichment = "lab.mmdb (2026-11-01)"
			s.ByCountry = map[string]int64{"ZZ": 15, "": int64(5 + i)}
			s.ByASN = map[string]int64{"AS64500": 15, "": int64(5 + i)}
		}
		runs = append(runs, s)
	}
	return runs
}

// Observations are run 3's: five gateways over three networks and the unknown one, one of
// them IPv6, and a host that is not a gateway.
func Observations() []observation.Observation {
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	gw := func(ip string, asn uint32, org, country, auth string, adv ...string) observation.Observation {
		return observation.Observation{IP: netip.MustParseAddr(ip), Port: 18789, Scheme: "http", Outcome: observation.OpenClaw,
			Product: "openclaw", Version: "2026.3.8", Auth: auth, Advisories: adv, ASN: asn, ASOrg: org, Country: country, ObservedAt: at}
	}
	return []observation.Observation{
		gw("127.0.0.10", 64500, "=Lab One", "ZZ", "none", "CVE-2026-45001"),
		gw("127.0.0.11", 64500, "=Lab One", "ZZ", "required"),
		gw("127.0.1.5", 64501, "Lab Two", "YY", "required", "CVE-2026-45001"),
		gw("127.0.2.5", 0, "", "", "unknown"),
		gw("::1", 64500, "=Lab One", "ZZ", "required"),
		{IP: netip.MustParseAddr("127.0.0.12"), Port: 80, Outcome: observation.NotOpenClaw, ASN: 64500, ObservedAt: at},
	}
}
