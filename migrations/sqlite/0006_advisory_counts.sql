-- Reports count gateways per advisory. Finished units keep their counts (unit_counts): add the
-- advisory dimension to the units finished before this migration, from their observations.
INSERT INTO unit_counts (run_id, unit, dim, key, n)
SELECT o.run_id, o.unit, 'adv', j.value, COUNT(*)
FROM observations o
JOIN units u ON u.run_id = o.run_id AND u.unit = o.unit,
     json_each(o.advisories) j
WHERE o.product <> ''
GROUP BY o.run_id, o.unit, j.value;
