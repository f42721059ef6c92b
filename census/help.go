package census

// ReanalyzeHelp is the help text of clawcensus reanalyze: kept here, beside what it describes,
// so the CLI stays wiring.
const ReanalyzeHelp = "After clawcensus fingerprints update, a run's verdicts (version, official, advisories, flags,\n" +
	"MIIT items) can be redone from the facts kept with each gateway; its counts follow, and the run\n" +
	"records the knowledge base its verdicts now come from. Twice changes nothing."
