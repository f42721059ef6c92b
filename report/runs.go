package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/internal/cmdline"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
)

// Source is the store a report reads: its backend's name, and Command, which writes a
// clawcensus command to paste that reaches the same store (nil: the words as they are).
type Source struct {
	Backend string
	Command func(words ...string) string
}

func (s Source) command(words ...string) string {
	if s.Command == nil {
		return cmdline.Join(append([]string{"clawcensus"}, words...)...)
	}
	return s.Command(words...)
}

// WriteRuns lists runs with their counts as text, json or csv; src names the store for the
// text's "no runs yet" and the commands it suggests.
//
// Each run carries its method card (MethodCard of method's answer): in text, a few lines and
// the definitions once; in json, a methodology object; in csv, its knowledge base and retries.
//
// rules tell the advisories on the gateway's own surface from the others (plugins, local paths,
// the apps): text lists the former and counts the latter; nil lists them all.
func WriteRuns(w io.Writer, format string, sums []store.Summary, src Source, method func(store.Summary) Methodology, rules *fingerprint.Rules) error {
	card := func(s store.Summary) Methodology { return MethodCard(s, method(s)) }
	switch format {
	case "json":
		return writeRunsJSON(w, sums, card)
	case "csv":
		return writeRunsCSV(w, sums, card)
	case "text":
		return writeRunsText(w, sums, src, card, rules)
	}
	return fmt.Errorf("--format %q: want text, json or csv", format)
}

// RunRecord is one run in the JSON report: scripts depend on these keys.
type RunRecord struct {
	ID        int64  `json:"id"`
	StartedAt string `json:"started_at"`
	EndedAt   string `json:"ended_at,omitempty"`
	Status    string `json:"status"`
	Detected  int64  `json:"detected"`
	// Honeypots counts the probable honeypots, apart from (never inside) detected.
	Honeypots  int64            `json:"probable_honeypots"`
	ByVersion  map[string]int64 `json:"by_version"`
	ByAuth     map[string]int64 `json:"by_auth"`
	ByProduct  map[string]int64 `json:"by_product"`
	ByOfficial map[string]int64 `json:"by_official"`
	ByFlag     map[string]int64 `json:"by_flag"`
	ByMIIT     map[string]int64 `json:"by_miit_violation"`
	ByAdvisory map[string]int64 `json:"by_advisory"`
	ByCountry  map[string]int64 `json:"by_country"`
	ByASN      map[string]int64 `json:"by_asn"`
	// ByFamily counts gateways by address family (ipv4, ipv6; together: detected);
	// AliasedPrefixes, the aliased prefixes that answered, each once; AliasedGateways, those
	// with a gateway.
	ByFamily        map[string]int64 `json:"by_family"`
	AliasedPrefixes int64            `json:"aliased_prefixes"`
	AliasedGateways int64            `json:"aliased_gateways"`
	// ByVersionStatus counts gateways by what the knowledge base knew of their version;
	// Knowledge names that knowledge base.
	ByVersionStatus map[string]int64 `json:"by_version_status"`
	Knowledge       string           `json:"knowledge,omitempty"`
	Warning         string           `json:"warning,omitempty"`
	Enrichment      string           `json:"enrichment,omitempty"`
	Authorization   string           `json:"authorization,omitempty"`
	Targets         string           `json:"targets"`
	TargetCount     int64            `json:"target_count"`
	Ports           string           `json:"ports"`
	Rate            int              `json:"rate"`
	Seed            int64            `json:"seed"`
	Shard           string           `json:"shard"`
	Method          string           `json:"method"`
	ToolVersion     string           `json:"tool_version"`
	ProbesSent      int64            `json:"probes_sent"`
	OpenPorts       int64            `json:"open_ports"`
	// Series is the run's series (a name given with --series, or a derived key), SeriesLabel
	// as a person reads it: trend compares a run only with runs of its series.
	Series      string `json:"series"`
	SeriesLabel string `json:"series_label"`
	// Stored counts the open ports of finished units stored as observations; AnswersLost,
	// answers the sweep could not keep. Nothing was lost when stored == open_ports and no
	// answer was lost.
	Stored      int64 `json:"stored"`
	AnswersLost int64 `json:"answers_lost"`
	// Middleboxes counts open ports whose host answered the control probes as well.
	Middleboxes int64  `json:"middleboxes"`
	DedupKey    string `json:"dedup_key"`
	// A census is cut into work units done by any number of workers (live now: Workers).
	UnitsTotal int64 `json:"units_total"`
	UnitsDone  int64 `json:"units_done"`
	Workers    int64 `json:"workers"`
	// Methodology is the run's method card (MethodCard).
	Methodology *Methodology `json:"methodology,omitempty"`
}

func writeRunsJSON(w io.Writer, sums []store.Summary, card func(store.Summary) Methodology) error {
	runs := make([]RunRecord, 0, len(sums))
	for _, s := range sums {
		r := RunRecord{
			ID: s.ID, StartedAt: s.StartedAt.Format(time.RFC3339), Status: s.Status, Detected: s.Detected, Honeypots: s.Honeypots,
			ByVersion: s.ByVersion, ByAuth: s.ByAuth, ByProduct: s.ByProduct, ByOfficial: s.ByOfficial,
			ByFlag: s.ByFlag, ByMIIT: s.ByMIIT, ByAdvisory: s.ByAdvisory, ByCountry: cleanKeys(s.ByCountry), ByASN: cleanKeys(s.ByASN), Enrichment: TextCell(s.Enrichment),
			ByVersionStatus: s.ByVersionStatus, Knowledge: KnowledgeOf(s), Warning: s.Warning,
			ByFamily: s.ByFamily, AliasedPrefixes: s.AliasedPrefixes, AliasedGateways: s.AliasedGateways,
			Authorization: s.Note,
			Targets:       s.Targets, Series: s.SeriesID(), SeriesLabel: s.SeriesLabel(),
			TargetCount: s.TargetCount, Ports: s.Ports, Rate: s.Rate, Seed: s.Seed, Shard: s.Shard, Method: s.Method,
			ToolVersion: s.ToolVersion, ProbesSent: s.ProbesSent, OpenPorts: s.OpenPorts, Stored: s.Stored, AnswersLost: s.AnswersLost, Middleboxes: s.Middleboxes, DedupKey: "ip:port",
			UnitsTotal: s.UnitsTotal, UnitsDone: s.UnitsDone, Workers: s.LiveWorkers,
		}
		if s.EndedAt != nil {
			r.EndedAt = s.EndedAt.Format(time.RFC3339)
		}
		m := card(s)
		r.Methodology = &m
		runs = append(runs, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"runs": runs})
}

func writeRunsText(w io.Writer, sums []store.Summary, src Source, card func(store.Summary) Methodology, rules *fingerprint.Rules) error {
	if len(sums) == 0 {
		_, err := fmt.Fprintf(w, "no runs in the %s store yet: run %s first\n", src.Backend, src.command("scan", "TARGET..."))
		return err
	}
	for _, s := range sums {
		fmt.Fprintf(w, "run %d  %s  %s  method=%s ports=%s rate=%d/s seed=%d shard=%s\n", s.ID,
			s.StartedAt.Format(time.RFC3339), s.Status, s.Method, s.Ports, s.Rate, s.Seed, s.Shard)
		fmt.Fprintf(w, "  targets: %s (%d addresses), probes sent %d, open ports %d\n", s.Targets, s.TargetCount, s.ProbesSent, s.OpenPorts)
		fmt.Fprintf(w, "  series: %s\n", seriesText(s))
		if s.UnitsTotal > 0 {
			fmt.Fprintf(w, "  work units: %d of %d done, %d live workers\n", s.UnitsDone, s.UnitsTotal, s.LiveWorkers)
			fmt.Fprintf(w, "  kept: %d of %d open ports stored, %d answers the sweep could not keep%s\n", s.Stored, s.OpenPorts,
				s.AnswersLost, keptNote(s))
			if s.Middleboxes > 0 {
				fmt.Fprintf(w, "  middleboxes: %d open ports on hosts that accept on every port (both control ports answered)\n", s.Middleboxes)
			}
		}
		if s.Note != "" {
			fmt.Fprintf(w, "  authorization: %s\n", s.Note)
		}
		if s.Warning != "" {
			fmt.Fprintf(w, "  WARNING: %s\n", TextCell(s.Warning))
		}
		fmt.Fprintf(w, "  detected gateways (per ip:port): %d\n", s.Detected)
		if s.Honeypots > 0 {
			fmt.Fprintf(w, "  probable honeypots (answer like a gateway, contradict a real one; in no count here): %d\n", s.Honeypots)
		}
		writeCounts(w, "by address family", s.ByFamily, nil)
		if s.AliasedPrefixes > 0 {
			fmt.Fprintf(w, "  aliased prefixes answered: %d (each once: every address of one answers), %d with a gateway\n", s.AliasedPrefixes, s.AliasedGateways)
		}
		writeCounts(w, "by product", s.ByProduct, nil)
		writeCounts(w, "by version", s.ByVersion, fingerprint.CompareVersions)
		writeCounts(w, "by auth", s.ByAuth, nil)
		writeCounts(w, "official build", s.ByOfficial, nil)
		writeCounts(w, "posture flags", s.ByFlag, nil)
		writeCounts(w, "MIIT/NVDB don'ts violated", s.ByMIIT, nil)
		gateway, other := map[string]int64{}, 0
		for id, n := range s.ByAdvisory {
			if rules == nil || rules.GatewayObservable(id) {
				gateway[id] = n
			} else {
				other++
			}
		}
		writeCounts(w, "by advisory on the gateway's own surface (version-implied)", gateway, nil)
		if other > 0 {
			fmt.Fprintf(w, "  and %d advisories on plugins, local paths or the apps, implied by the versions (not counted as vulnerable; --format json lists them)\n", other)
		}
		writeCounts(w, "version status (knowledge base)", s.ByVersionStatus, nil)
		m := card(s)
		fmt.Fprintf(w, "  method: unit %s; series %s; window %s; %s at %d probes/s, %d retries; exclusions: %s\n  knowledge base: %s\n",
			"ip:port", TextCell(m.Series), m.Window, TextCell(m.Method), m.Rate, m.Retries, TextCell(cmp.Or(strings.Join(m.Exclusions, "; "), "none")),
			TextCell(m.Knowledge))
		if n := s.ByVersionStatus[observation.VersionNewer]; n > 0 {
			fmt.Fprintf(w, "  %d gateways run a release newer than the knowledge base (official unknown): run %s, then %s\n", n,
				src.command("fingerprints", "update"), src.command("reanalyze", "--run", fmt.Sprint(s.ID)))
		}
		if s.Enrichment != "" {
			writeCounts(w, "by country", s.ByCountry, nil)
			writeCounts(w, "by autonomous system", s.ByASN, nil)
			fmt.Fprintf(w, "  networks from: %s\n", TextCell(s.Enrichment))
		}
	}
	_, err := fmt.Fprintf(w, "definitions:\n  %s\n", strings.Join(Definitions, "\n  "))
	return err
}

var reportCSVHeader = []string{"run", "started_at", "ended_at", "status", "targets", "ports", "method", "probes_sent",
	"open_ports", "detected", "auth_required", "no_auth", "auth_unknown", "vulnerable_version", "unofficial", "units_done", "units_total",
	"stored", "answers_lost", "middleboxes", "newer_than_knowledge_base", "series", "series_label", "retries", "knowledge_base",
	"detected_ipv4", "detected_ipv6", "aliased_prefixes", "probable_honeypots"}

// seriesText is a run's series for a line of text: the label, and the key when it differs.
func seriesText(s store.Summary) string {
	if id := s.SeriesID(); id != s.SeriesLabel() {
		return TextCell(s.SeriesLabel()) + " (" + TextCell(id) + ")"
	}
	return TextCell(s.SeriesLabel())
}

// keptNote says what a shortfall between the sweep and the store means.
func keptNote(s store.Summary) string {
	if s.Stored < s.OpenPorts || s.AnswersLost > 0 {
		return " (the census may have missed open ports)"
	}
	return " (nothing lost)"
}

func writeRunsCSV(w io.Writer, sums []store.Summary, card func(store.Summary) Methodology) error {
	cw := NewCSV(w)
	cw.Write(reportCSVHeader)
	for _, s := range sums {
		m := card(s)
		ended := ""
		if s.EndedAt != nil {
			ended = s.EndedAt.UTC().Format(time.RFC3339)
		}
		cw.Write([]string{fmt.Sprint(s.ID), s.StartedAt.UTC().Format(time.RFC3339), ended, s.Status, s.Targets, s.Ports, s.Method,
			fmt.Sprint(s.ProbesSent), fmt.Sprint(s.OpenPorts), fmt.Sprint(s.Detected), fmt.Sprint(s.ByAuth["required"]),
			fmt.Sprint(s.ByAuth["none"]), fmt.Sprint(s.ByAuth["unknown"]), fmt.Sprint(s.ByMIIT["known-advisories"]),
			fmt.Sprint(s.ByOfficial["false"]), fmt.Sprint(s.UnitsDone), fmt.Sprint(s.UnitsTotal), fmt.Sprint(s.Stored),
			fmt.Sprint(s.AnswersLost), fmt.Sprint(s.Middleboxes), fmt.Sprint(s.ByVersionStatus[observation.VersionNewer]), s.SeriesID(), s.SeriesLabel(), fmt.Sprint(m.Retries), m.Knowledge,
			fmt.Sprint(s.ByFamily["ipv4"]), fmt.Sprint(s.ByFamily["ipv6"]), fmt.Sprint(s.AliasedPrefixes), fmt.Sprint(s.Honeypots)})
	}
	cw.Flush()
	return cw.Error()
}

// cleanKeys is m with each key through TextCell: the countries and networks come from an
// enrichment database, a stranger's file.
func cleanKeys(m map[string]int64) map[string]int64 {
	if m == nil {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, n := range m {
		out[TextCell(k)] += n
	}
	return out
}

func writeCounts(w io.Writer, title string, m map[string]int64, order func(a, b string) int) {
	if len(m) == 0 {
		return
	}
	keys := slices.Collect(maps.Keys(m))
	if order == nil {
		slices.Sort(keys)
	} else {
		slices.SortFunc(keys, order)
	}
	fmt.Fprintf(w, "  %s:\n", title)
	for _, k := range keys {
		fmt.Fprintf(w, "    %-24s %d\n", cmp.Or(TextCell(k), "(none)"), m[k])
	}
}

// KnowledgeOf names the knowledge base a run's verdicts come from ("" for runs made before
// runs recorded it).
func KnowledgeOf(s store.Summary) string {
	if s.Knowledge == "" {
		return ""
	}
	var id fingerprint.Identity
	if err := json.Unmarshal([]byte(s.Knowledge), &id); err != nil {
		return "unreadable (" + err.Error() + ")"
	}
	return id.String()
}

// Choose picks the runs a report covers: run id when it is not zero (an error when the store has
// no such run), else the newest when last is set (none of an empty store), else all.
func Choose(sums []store.Summary, id int64, last bool) ([]store.Summary, error) {
	switch {
	case id != 0:
		i := slices.IndexFunc(sums, func(s store.Summary) bool { return s.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("--run %d: %w", id, store.ErrNoRun)
		}
		return sums[i : i+1], nil
	case last:
		return sums[max(0, len(sums)-1):], nil
	}
	return sums, nil
}
