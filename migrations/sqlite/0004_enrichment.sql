-- Offline enrichment: the autonomous system and country of each address, and the data sets used.
ALTER TABLE observations ADD COLUMN asn INTEGER NOT NULL DEFAULT 0;
ALTER TABLE observations ADD COLUMN as_org TEXT NOT NULL DEFAULT '';
ALTER TABLE observations ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN enrichment TEXT NOT NULL DEFAULT '';
