-- The build's commit, as the gateway's build id or service worker shows it (the fingerprinter
-- knew it before; the store dropped it). Empty where the gateway does not show one.
ALTER TABLE observations ADD COLUMN build_commit text NOT NULL DEFAULT '';
