package census

// ReanalyzeHelp is the help text of clawcensus reanalyze: kept here, beside what it describes,
// so the CLI stays wiring.
const ReanalyzeHelp = "After clawcensus fingerprints update, a run's verdicts (version, official, advisories, flags,\n" +
	"MIIT items) can be redone from the facts kept with each gateway; its counts follow, and the run\n" +
	"records the knowledge base its verdicts now come from. Twice changes nothing."

// PlanHelp is the help text of clawcensus plan.
const PlanHelp = "A plan is stored once, with every file it reads pinned by hash, and its work units wait in the\n" +
	"store for workers anywhere (clawcensus worker). A recurring census (--every D --series NAME) plans the\n" +
	"series' next run only when it is due: D after the previous run started, and once that run has ended\n" +
	"(complete, failed or interrupted) or, with --max-overlap M, has worked for M whatever its state.\n" +
	"Otherwise it says why (the run, its state and progress) and exits 0, so a timer may call it as often as\n" +
	"it likes; planners that race plan one run. It refuses (exit 2) a schedule shorter than the projected\n" +
	"run (first-pass probes / --rate) unless --force. --follow keeps it running, reading its files anew\n" +
	"for each run."
