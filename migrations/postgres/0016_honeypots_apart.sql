-- Probable honeypots are counted apart (dim 'hp'), never as gateways. Units finished before this
-- migration kept counts that included them: recount, from their observations, every finished unit
-- that holds one. The dimensions are those of the store's counting at this release.
CREATE TEMP TABLE hp_units ON COMMIT DROP AS
SELECT DISTINCT o.run_id, o.unit FROM observations o
JOIN units u ON u.run_id = o.run_id AND u.unit = o.unit
WHERE o.product <> '' AND o.honeypot;

DELETE FROM unit_counts WHERE dim IN ('gw', 'net', 'flag', 'miit', 'adv', 'vs', 'hp') AND EXISTS
    (SELECT 1 FROM hp_units h WHERE h.run_id = unit_counts.run_id AND h.unit = unit_counts.unit);

INSERT INTO unit_counts (run_id, unit, dim, key, n)
SELECT c.run_id, c.unit, c.dim, c.key, c.n FROM (
    SELECT o.run_id, o.unit, 'gw' AS dim, json_build_array(o.product, o.version, o.auth, o.official)::text AS key, COUNT(*) AS n
    FROM observations o JOIN hp_units h USING (run_id, unit) WHERE o.product <> '' AND NOT o.honeypot
    GROUP BY o.run_id, o.unit, o.product, o.version, o.auth, o.official
    UNION ALL SELECT o.run_id, o.unit, 'net', json_build_array(o.country, o.asn)::text, COUNT(*)
    FROM observations o JOIN hp_units h USING (run_id, unit) WHERE o.product <> '' AND NOT o.honeypot
    GROUP BY o.run_id, o.unit, o.country, o.asn
    UNION ALL SELECT o.run_id, o.unit, 'flag', j.value, COUNT(*)
    FROM observations o JOIN hp_units h USING (run_id, unit), unnest(o.flags) AS j(value) WHERE o.product <> '' AND NOT o.honeypot
    GROUP BY o.run_id, o.unit, j.value
    UNION ALL SELECT o.run_id, o.unit, 'miit', j.value, COUNT(*)
    FROM observations o JOIN hp_units h USING (run_id, unit), unnest(o.miit) AS j(value) WHERE o.product <> '' AND NOT o.honeypot
    GROUP BY o.run_id, o.unit, j.value
    UNION ALL SELECT o.run_id, o.unit, 'adv', j.value, COUNT(*)
    FROM observations o JOIN hp_units h USING (run_id, unit), unnest(o.advisories) AS j(value) WHERE o.product <> '' AND NOT o.honeypot
    GROUP BY o.run_id, o.unit, j.value
    UNION ALL SELECT o.run_id, o.unit, 'vs', o.version_status, COUNT(*)
    FROM observations o JOIN hp_units h USING (run_id, unit) WHERE o.product <> '' AND NOT o.honeypot
    GROUP BY o.run_id, o.unit, o.version_status
    UNION ALL SELECT o.run_id, o.unit, 'hp', o.product, COUNT(*)
    FROM observations o JOIN hp_units h USING (run_id, unit) WHERE o.product <> '' AND o.honeypot
    GROUP BY o.run_id, o.unit, o.product
) AS c;

-- Grafana's per-gateway view lists the gateways that count, as every count does.
CREATE OR REPLACE VIEW clawcensus_gateways AS
SELECT run_id, ip, port, scheme, product, version, auth, official, advisories, flags, miit, asn, as_org, country, observed_at
FROM observations WHERE product <> '' AND NOT honeypot;
