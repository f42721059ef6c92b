package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/clawcensus/clawcensus/store"
)

// CensusSeries is the series of a store's census: of the complete runs (sums come oldest
// first), the series of the widest (the most addresses times ports), the newest of equals; ""
// when no run is complete. A re-check of part of the census, or a run of other targets, is
// a series of its own (store.Run.SeriesID) and never the census's unless it is the widest.
func CensusSeries(sums []store.Summary) string {
	var widest *store.Summary
	for i := range sums {
		if s := &sums[i]; s.Status == store.StatusComplete && (widest == nil || breadth(*s) >= breadth(*widest)) {
			widest = s
		}
	}
	if widest == nil {
		return ""
	}
	return widest.SeriesID()
}

// breadth is how many host:ports a run covers: its addresses times its ports (the stored list,
// "18789,3000", or ranges "3000-3010").
func breadth(s store.Summary) int64 {
	var ports int64
	for _, p := range strings.Split(s.Ports, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(p), "-")
		a, errA := strconv.ParseInt(lo, 10, 32)
		b, errB := strconv.ParseInt(hi, 10, 32)
		switch {
		case isRange && errA == nil && errB == nil && b >= a:
			ports += b - a + 1
		case p != "":
			ports++
		}
	}
	return s.TargetCount * ports
}

// ChooseExport picks the run an export writes (sums oldest first, not empty). With id (--run
// N) it is that run, whatever its status or series; warning then says, in one line, what a
// run that is not complete holds. Without, it is the newest run, but only when that run is
// complete and of the census's series (CensusSeries): a stalled, running or interrupted run,
// or a re-check of other targets, would be sent as if it were the census, so the error says
// which run would have been taken, why it was not, and the --run to pass.
func ChooseExport(sums []store.Summary, id int64) (run store.Summary, warning string, err error) {
	if id != 0 {
		chosen, err := Choose(sums, id, true)
		if err != nil {
			return store.Summary{}, "", err
		}
		if run = chosen[0]; run.Status != store.StatusComplete {
			warning = fmt.Sprintf("run %d is %s, not complete: it holds the gateways found so far, and a notice sent from it may miss some", run.ID, run.Status)
		}
		return run, warning, nil
	}
	if len(sums) == 0 {
		return store.Summary{}, "", errors.New("the store has no runs to export")
	}
	newest, census := sums[len(sums)-1], CensusSeries(sums)
	var why string
	switch {
	case newest.Status != store.StatusComplete:
		why = fmt.Sprintf("it is %s, not complete: it holds only the gateways found so far", newest.Status)
	case newest.SeriesID() != census:
		why = fmt.Sprintf("it is of the series %s, not the census's (%s, the series of the widest complete run)",
			seriesText(newest), seriesOf(sums, census))
	default:
		return newest, "", nil
	}
	msg := fmt.Sprintf("export would take the newest run, %d, but %s; pass --run %d to export it as it stands", newest.ID, why, newest.ID)
	for j := len(sums) - 1; j >= 0; j-- {
		if s := sums[j]; s.Status == store.StatusComplete && s.SeriesID() == census {
			msg += fmt.Sprintf(", or --run %d for the census's newest complete run (%s)", s.ID, s.StartedAt.UTC().Format("2006-01-02 15:04 UTC"))
			break
		}
	}
	return store.Summary{}, "", errors.New(msg)
}

// seriesOf is the series id as a person reads it (seriesText of one of its runs).
func seriesOf(sums []store.Summary, id string) string {
	for _, s := range sums {
		if s.SeriesID() == id {
			return seriesText(s)
		}
	}
	return id
}
