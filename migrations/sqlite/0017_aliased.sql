-- IPv6 censuses from hitlists. An observation may stand for an aliased prefix (scan --aliased,
-- or a /64 the run found aliased): every address of it answers, one host or middlebox, probed
-- and counted once. Empty for every other observation. The partial index makes "how many
-- aliased prefixes answered" a read of the aliased observations only.
ALTER TABLE observations ADD COLUMN aliased TEXT NOT NULL DEFAULT '';
CREATE INDEX observations_aliased ON observations (run_id, aliased) WHERE aliased <> '';

-- A /64 a run finds aliased itself (no list) may hold open addresses in several units: the
-- first unit to claim it observes it, the others drop their addresses of it.
CREATE TABLE aliased_claims (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    prefix TEXT NOT NULL,
    port   INTEGER NOT NULL,
    unit   INTEGER NOT NULL,
    PRIMARY KEY (run_id, prefix, port)
);

-- Reports count gateways per address family. Finished units keep their counts (unit_counts):
-- add the family dimension to the units finished before this migration (gateways that count:
-- not the probable honeypots, counted apart since 0016).
INSERT INTO unit_counts (run_id, unit, dim, key, n)
SELECT o.run_id, o.unit, 'fam', CASE WHEN instr(o.ip, ':') > 0 THEN 'ipv6' ELSE 'ipv4' END, COUNT(*)
FROM observations o
JOIN units u ON u.run_id = o.run_id AND u.unit = o.unit
WHERE o.product <> '' AND NOT o.honeypot
GROUP BY o.run_id, o.unit, CASE WHEN instr(o.ip, ':') > 0 THEN 'ipv6' ELSE 'ipv4' END;
