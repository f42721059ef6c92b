-- Scan runs and the observations they make. Observations are append-only; counts are derived.
CREATE TABLE runs (
    id           BIGSERIAL PRIMARY KEY,
    started_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ,
    targets      TEXT        NOT NULL,
    target_count BIGINT      NOT NULL DEFAULT 0,
    ports        TEXT        NOT NULL,
    rate         INTEGER     NOT NULL,
    seed         BIGINT      NOT NULL,
    shard        TEXT        NOT NULL DEFAULT '0/1',
    tool_version TEXT        NOT NULL,
    method       TEXT        NOT NULL,
    status       TEXT        NOT NULL CHECK (status IN ('running', 'complete', 'interrupted', 'failed')),
    probes_sent  BIGINT      NOT NULL DEFAULT 0,
    open_ports   BIGINT      NOT NULL DEFAULT 0,
    note         TEXT        NOT NULL DEFAULT ''
);

CREATE TABLE observations (
    id                 BIGSERIAL PRIMARY KEY,
    run_id             BIGINT      NOT NULL REFERENCES runs (id),
    ip                 INET        NOT NULL,
    port               INTEGER     NOT NULL,
    scheme             TEXT        NOT NULL DEFAULT '',
    outcome            TEXT        NOT NULL,
    product            TEXT        NOT NULL DEFAULT '',
    version            TEXT        NOT NULL DEFAULT '',
    version_candidates TEXT[]      NOT NULL DEFAULT '{}',
    channel            TEXT        NOT NULL DEFAULT '',
    auth               TEXT        NOT NULL DEFAULT '',
    official           BOOLEAN,
    honeypot           BOOLEAN     NOT NULL DEFAULT FALSE,
    advisories         TEXT[]      NOT NULL DEFAULT '{}',
    flags              TEXT[]      NOT NULL DEFAULT '{}',
    evidence           TEXT[]      NOT NULL DEFAULT '{}',
    miit               TEXT[]      NOT NULL DEFAULT '{}',
    title              TEXT        NOT NULL DEFAULT '',
    server             TEXT        NOT NULL DEFAULT '',
    http_status        INTEGER     NOT NULL DEFAULT 0,
    observed_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (run_id, ip, port)
);

CREATE INDEX observations_run_product ON observations (run_id, product);
