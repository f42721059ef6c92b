package census

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/clawcensus/clawcensus/store"
)

// Failover by heartbeat. Every live worker looks, every handOverEvery, at the running units of
// its queue: a unit whose worker has not beaten for that worker's heartbeat timeout
// (store.Worker HandOver: --heartbeat-timeout, store.HeartbeatTimeout unless it said
// otherwise), or left its run, is handed to another worker at once, whatever the lease: River's
// JobCancel ends the old job (the worker, if it lives after all, sees its unit cancelled) and a
// new job of the same unit waits for any worker, in one transaction. A unit worked twice
// changes no count (the store's writes are idempotent). The looks are one at a time across
// processes (a store lock), so a unit is handed over once.

// handOverEvery is how often a worker looks for units to hand over, for a heartbeat timeout.
func handOverEvery(timeout time.Duration) time.Duration {
	return min(max(timeout/12, 200*time.Millisecond), 5*time.Second)
}

// handOver hands the running units of queueName held by workers that stopped beating to other
// workers, and returns how many it handed over. self is the worker looking (never judged);
// timeout judges a holder that never beat on its unit's run (it died between lease and beat).
// reached is how long the looker's own heartbeats have reached the store without a failure: a
// holder is judged only once it has had two of its heartbeats' time to beat in that while, so
// that after the store was away for everyone, the first to reach it again takes nothing from
// workers that are alive.
func (c *Census) handOver(ctx context.Context, queueName, self string, timeout, reached time.Duration) (int, error) {
	unlock, err := c.st.Lock(ctx, "hand over units of "+queueName)
	if err != nil {
		return 0, err
	}
	defer unlock()
	jobs, err := c.q.running(ctx, queueName)
	if err != nil {
		return 0, err
	}
	beats := map[int64]map[string]store.Worker{} // by run, by worker
	now := time.Now()
	n := 0
	for _, j := range jobs {
		if j.Holder == self {
			continue
		}
		ws, ok := beats[j.Args.Run]
		if !ok {
			l, err := c.st.Workers(ctx, j.Args.Run)
			if err != nil {
				return n, err
			}
			ws = map[string]store.Worker{}
			for _, w := range l {
				ws[w.ID] = w
			}
			beats[j.Args.Run] = ws
		}
		w, beat := ws[j.Holder]
		if beat && w.HeartbeatAt.Before(j.AttemptedAt) {
			// Its beats are of an earlier lease (a worker id used again): judged since this one.
			w.Stopped, w.HeartbeatAt = false, j.AttemptedAt
		}
		switch {
		case beat && (!w.HandOver(now) || reached < 2*w.Lifetime()/5):
			continue
		case !beat && (now.Sub(j.AttemptedAt) < cmp.Or(timeout, store.HeartbeatTimeout) || reached < 2*store.WorkerTTL/5):
			// Not a beat since it took the unit: judged by this worker's timeout.
			continue
		case j.Args.Handovers >= unitMaxAttempts:
			slog.Error("unit not handed over again: its workers stopped beating too often (resume the run to work it)",
				"run", j.Args.Run, "unit", j.Args.Unit, "handovers", j.Args.Handovers, "worker", j.Holder)
			continue
		}
		if err := c.q.handOver(ctx, j); err != nil {
			return n, err
		}
		n++
		last := j.AttemptedAt
		if beat {
			last = w.HeartbeatAt
		}
		slog.Warn("unit handed to another worker: its worker stopped beating", "run", j.Args.Run, "unit", j.Args.Unit,
			"worker", j.Holder, "last_beat", last.UTC().Format(time.RFC3339), "stopped", w.Stopped)
	}
	return n, nil
}
