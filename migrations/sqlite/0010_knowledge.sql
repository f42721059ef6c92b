-- What the knowledge base knew of a gateway's version (known, newer-than-knowledge-base,
-- unpublished), the facts its verdict was read from (so clawcensus reanalyze can redo it
-- without a packet), and which knowledge base each run's verdicts come from. Observations and
-- runs made before this migration have none: reanalyze leaves them as they are.
ALTER TABLE observations ADD COLUMN version_status TEXT NOT NULL DEFAULT '';
ALTER TABLE observations ADD COLUMN facts TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN knowledge TEXT NOT NULL DEFAULT '';
