package report

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
	"block to publish with the numbers. Reports carry counts only (TLP:CLEAR).\n" +
	"--changes A..B (text or json) classes each ip:port exposed in run A or run B of one series: new,\n" +
	"regressed, still-exposed, fixed, or unchecked where run B did not look (see clawcensus export --help);\n" +
	"it lists ip:ports: TLP:AMBER."

// CheckHelp is the help text of clawcensus check: kept here, beside the verdict it describes,
// so the CLI stays wiring.
const CheckHelp = "Checks TARGETs (IP, CIDR, a-b range; at most 65,536 addresses) on the ports where gateways are\n" +
	"seen, with plain TCP connects (no root needed), fingerprints what answers and prints each\n" +
	"finding with why it matters, the fix, the MIIT/NVDB item it serves and the official docs.\n" +
	"Nothing is stored. The scope is the targets themselves (or --scope / CLAWCENSUS_SCOPE).\n" +
	"A probable honeypot (it answers like a gateway but contradicts a real one) is listed with\n" +
	"the reason it is not counted, and does not make the check exposed.\n" +
	"Exit status: 0 nothing exposed, 3 a gateway believed real answers (every high or critical\n" +
	"finding is about one), 1 the check failed, 2 usage error."
