-- A census is a stored plan cut into work units that any number of workers lease. A unit is the
-- checkpoint: its row is written in the same transaction as its last observations. Workers
-- record a heartbeat per run, so a run with unfinished units and no live worker reads as stalled.
ALTER TABLE runs ADD COLUMN plan_key TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN units_total BIGINT NOT NULL DEFAULT 0;
CREATE INDEX runs_plan_key ON runs (plan_key);

CREATE TABLE units (
    run_id      BIGINT      NOT NULL REFERENCES runs (id),
    unit        BIGINT      NOT NULL,
    probes_sent BIGINT      NOT NULL DEFAULT 0,
    open_ports  BIGINT      NOT NULL DEFAULT 0,
    worker      TEXT        NOT NULL DEFAULT '',
    done_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, unit)
);

CREATE TABLE workers (
    id           TEXT        NOT NULL,
    run_id       BIGINT      NOT NULL REFERENCES runs (id),
    host         TEXT        NOT NULL DEFAULT '',
    pid          INTEGER     NOT NULL DEFAULT 0,
    started_at   TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    stopped      BOOLEAN     NOT NULL DEFAULT false,
    unit         BIGINT      NOT NULL DEFAULT -1,
    PRIMARY KEY (id, run_id)
);

-- Each observation belongs to the unit whose window holds its ip:port. When a unit is done
-- its counts are kept per unit, so reports of finished runs add up small rows instead of
-- scanning every observation.
ALTER TABLE observations ADD COLUMN unit BIGINT NOT NULL DEFAULT 0;
CREATE INDEX observations_run_unit ON observations (run_id, unit);
CREATE TABLE unit_counts (
    run_id BIGINT NOT NULL REFERENCES runs (id),
    unit   BIGINT NOT NULL,
    dim    TEXT   NOT NULL,
    key    TEXT   NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (run_id, unit, dim, key)
);
-- Counting no longer scans by product: the unique (run_id, ip, port) index serves reads by run.
DROP INDEX observations_run_product;
