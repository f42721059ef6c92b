-- How long a worker counts as live after its heartbeat, as the worker chose it (clawcensus
-- --heartbeat-ttl); 0 for the workers before this migration: store.WorkerTTL.
ALTER TABLE workers ADD COLUMN ttl_ms INTEGER NOT NULL DEFAULT 0;
