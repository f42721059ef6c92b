-- One rate budget per census: a worker says whether it sweeps the run now and the most it may
-- send (worker --rate; 0: the plan's rate), so every worker of the run derives the same shares
-- of the plan's rate; and how long it may go without a heartbeat before its units are handed
-- to other workers (--heartbeat-timeout; 0: store.HeartbeatTimeout).
ALTER TABLE workers ADD COLUMN sweeping BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE workers ADD COLUMN rate_cap BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workers ADD COLUMN timeout_ms BIGINT NOT NULL DEFAULT 0;

-- What a unit in hand has sent and found so far, as its worker last said: a running run's
-- report adds the units not yet done to the totals of those done. One row per unit: a unit
-- handed to another worker is that worker's row from its first heartbeat on.
CREATE TABLE unit_progress (
    run_id      BIGINT      NOT NULL REFERENCES runs (id),
    unit        BIGINT      NOT NULL,
    worker      TEXT        NOT NULL,
    probes_sent BIGINT      NOT NULL DEFAULT 0,
    open_ports  BIGINT      NOT NULL DEFAULT 0,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, unit)
);
