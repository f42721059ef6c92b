-- A run belongs to a series (clawcensus trend, report, the web view and these views compare a
-- run only with runs of its series): the plan's scope identity (census.Plan.SeriesKey: targets,
-- target files by content, candidates, ports, lab, exclusions, opt-outs, scope; "scope:…") or a
-- name given with plan/scan --series. Runs made before this migration have no plan identity to
-- derive it from here, so they get the fallback store.FallbackSeries writes too: their targets
-- text and ports ("targets:127.0.0.0/24 ports:18789"). Runs of the same targets and ports still
-- group; two runs that differed only in their exclusions are grouped although they should not be.
ALTER TABLE runs ADD COLUMN series TEXT NOT NULL DEFAULT '';
UPDATE runs SET series = 'targets:' || targets || ' ports:' || ports WHERE series = '';
CREATE INDEX runs_series ON runs (series, started_at);

-- The Grafana views (0006) per series. CREATE OR REPLACE keeps the grants a Grafana role has
-- on them; new columns go last, as Postgres requires. series_label is what a person reads: the
-- name given, or the run's targets and ports for a derived series (store.Run.SeriesLabel).
CREATE OR REPLACE VIEW clawcensus_runs AS
SELECT r.id AS run_id, r.started_at, r.ended_at, r.status, r.targets, r.target_count, r.ports, r.method,
       r.rate, r.seed, r.tool_version, r.probes_sent, r.open_ports, r.units_total,
       (SELECT COUNT(*) FROM units u WHERE u.run_id = r.id) AS units_done,
       r.series,
       CASE WHEN r.series LIKE 'scope:%' OR r.series LIKE 'targets:%' THEN 'targets ' || r.targets || ', ports ' || r.ports
            ELSE r.series END AS series_label
FROM runs r;

-- One row per series and UTC day: that series' last complete run of the day, as `clawcensus
-- trend` reports it. A re-check of a subset is its own series and never replaces the census.
CREATE OR REPLACE VIEW clawcensus_daily AS
WITH last_run AS (
    SELECT DISTINCT ON (series, date_trunc('day', started_at AT TIME ZONE 'UTC')) id, started_at, series, targets, ports
    FROM runs WHERE status = 'complete'
    ORDER BY series, date_trunc('day', started_at AT TIME ZONE 'UTC'), started_at DESC, id DESC
)
SELECT date_trunc('day', l.started_at AT TIME ZONE 'UTC') AS day, l.id AS run_id,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'gw'), 0)::bigint AS reachable,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'gw' AND c.key::jsonb ->> 2 = 'required'), 0)::bigint AS auth_required,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'gw' AND c.key::jsonb ->> 2 = 'none'), 0)::bigint AS no_auth,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'gw' AND c.key::jsonb ->> 2 = 'unknown'), 0)::bigint AS auth_unknown,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'miit' AND c.key = 'known-advisories'), 0)::bigint AS vulnerable_version,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'gw' AND c.key::jsonb ->> 3 = 'false'), 0)::bigint AS unofficial,
       l.series,
       CASE WHEN l.series LIKE 'scope:%' OR l.series LIKE 'targets:%' THEN 'targets ' || l.targets || ', ports ' || l.ports
            ELSE l.series END AS series_label
FROM last_run l LEFT JOIN clawcensus_run_counts c ON c.run_id = l.id
GROUP BY l.started_at, l.id, l.series, l.targets, l.ports;
