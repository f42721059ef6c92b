-- Resuming a run: the plan it walked (targets, excludes, lab mode, ports, seed, shard, as JSON)
-- and how far its first pass got.
ALTER TABLE runs ADD COLUMN plan TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN walked BIGINT NOT NULL DEFAULT 0;
