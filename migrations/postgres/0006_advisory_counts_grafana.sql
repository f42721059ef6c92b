-- Reports count gateways per advisory. Finished units keep their counts (unit_counts): add the
-- advisory dimension to the units finished before this migration, from their observations.
INSERT INTO unit_counts (run_id, unit, dim, key, n)
SELECT o.run_id, o.unit, 'adv', j.value, COUNT(*)
FROM observations o
JOIN units u ON u.run_id = o.run_id AND u.unit = o.unit,
     unnest(o.advisories) AS j(value)
WHERE o.product <> ''
GROUP BY o.run_id, o.unit, j.value;

-- Views for Grafana (deploy/grafana/): read-only, over complete runs, whose counts are exact
-- and kept per unit. A Grafana data source should use a role granted SELECT on these only.
CREATE VIEW clawcensus_runs AS
SELECT r.id AS run_id, r.started_at, r.ended_at, r.status, r.targets, r.target_count, r.ports, r.method,
       r.rate, r.seed, r.tool_version, r.probes_sent, r.open_ports, r.units_total,
       (SELECT COUNT(*) FROM units u WHERE u.run_id = r.id) AS units_done
FROM runs r;

CREATE VIEW clawcensus_run_counts AS
SELECT c.run_id, c.dim, c.key, SUM(c.n)::bigint AS n
FROM unit_counts c JOIN runs r ON r.id = c.run_id AND r.status = 'complete'
GROUP BY c.run_id, c.dim, c.key;

-- One row per UTC day: that day's last complete run, as `clawcensus trend` reports it.
CREATE VIEW clawcensus_daily AS
WITH last_run AS (
    SELECT DISTINCT ON (date_trunc('day', started_at AT TIME ZONE 'UTC')) id, started_at
    FROM runs WHERE status = 'complete'
    ORDER BY date_trunc('day', started_at AT TIME ZONE 'UTC'), started_at DESC, id DESC
)
SELECT date_trunc('day', l.started_at AT TIME ZONE 'UTC') AS day, l.id AS run_id,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'gw'), 0)::bigint AS reachable,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'gw' AND c.key::jsonb ->> 2 = 'required'), 0)::bigint AS auth_required,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'gw' AND c.key::jsonb ->> 2 = 'none'), 0)::bigint AS no_auth,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'gw' AND c.key::jsonb ->> 2 = 'unknown'), 0)::bigint AS auth_unknown,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'miit' AND c.key = 'known-advisories'), 0)::bigint AS vulnerable_version,
       COALESCE(SUM(c.n) FILTER (WHERE c.dim = 'gw' AND c.key::jsonb ->> 3 = 'false'), 0)::bigint AS unofficial
FROM last_run l LEFT JOIN clawcensus_run_counts c ON c.run_id = l.id
GROUP BY l.started_at, l.id;

CREATE VIEW clawcensus_versions AS
SELECT run_id, COALESCE(NULLIF(key::jsonb ->> 1, ''), 'unknown') AS version, SUM(n)::bigint AS gateways
FROM clawcensus_run_counts WHERE dim = 'gw'
GROUP BY run_id, 2;

CREATE VIEW clawcensus_networks AS
SELECT run_id, key::jsonb ->> 0 AS country, (key::jsonb ->> 1)::bigint AS asn, SUM(n)::bigint AS gateways
FROM clawcensus_run_counts WHERE dim = 'net'
GROUP BY run_id, 2, 3;

CREATE VIEW clawcensus_advisories AS
SELECT run_id, key AS advisory, n AS gateways FROM clawcensus_run_counts WHERE dim = 'adv';

CREATE VIEW clawcensus_gateways AS
SELECT run_id, ip, port, scheme, product, version, auth, official, advisories, flags, miit, asn, as_org, country, observed_at
FROM observations WHERE product <> '';
