package report

// ExportHelp is the help text of clawcensus export: kept here, beside what it describes,
// so the CLI stays wiring.
const ExportHelp = "Columns follow Shadowserver's scan_http_vulnerable report (consumers key on the header), then\n" +
	"clawcensus's own. asn, geo and as_name come from the databases given to scan (--asn-db,\n" +
	"--country-db); region, city, hostname and the like stay empty: no lookups are made.\n" +
	"Per-IP data is TLP:AMBER: share it only with the network's owner or its CERT.\n\n" +
	"With --by asn|country|cidrs and -o DIR (new or empty), export writes a notification pack:\n" +
	"YYYY-MM-DD-scan_openclaw-<recipient>.csv per recipient (as64500, de, or a name from\n" +
	"--recipients) for IPv4 and YYYY-MM-DD-scan6_openclaw-<recipient>.csv for IPv6, as\n" +
	"Shadowserver keeps the families apart; index.csv (files and counts, TLP:AMBER), summary.md (the run's report,\n" +
	"counts only, TLP:CLEAR) and manifest.json (run, tool version, data sets, file hashes).\n" +
	"--recipients FILE for --by cidrs: one 'prefix,recipient' line per network; the most\n" +
	"specific prefix wins; gateways in none go to 'unassigned'."

// TrendHelp is the help text of clawcensus trend: kept here, beside what it describes,
// so the CLI stays wiring.
const TrendHelp = "One row per series and UTC day, from that series' last complete run of the day (interrupted\n" +
	"and failed runs are left out: a partial sweep would read as a drop). A run's series is its\n" +
	"scope (targets, ports, exclusions, opt-outs) or the name given with plan/scan --series: a\n" +
	"re-check of a subset is a series of its own and never replaces a day of the census."

// ReportHelp is the help text of clawcensus report: kept here, beside what it describes,
// so the CLI stays wiring.
const ReportHelp = "text, json and csv list runs (all of them, or --run N / --last); md and html write one run's\n" +
	"report (the newest unless --run N) with SVG charts, the trend up to that run and the methodology\n" +
	"block to publish with the numbers. Reports carry counts only (TLP:CLEAR)."
