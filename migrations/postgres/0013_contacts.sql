-- Abuse contacts (clawcensus contacts import), versioned: each import is a new version, and
-- lookups and exports read the newest unless told another. A version is the files it was read
-- from and the compiled lookup data (package contacts' encoding), stored in pieces so that
-- neither writing nor reading holds it twice. One transaction writes a version: an import
-- cancelled or failed half way leaves none.
CREATE TABLE contact_versions (
    id          BIGSERIAL PRIMARY KEY,
    imported_at TIMESTAMPTZ NOT NULL,
    import_id   TEXT    NOT NULL,
    summary     TEXT    NOT NULL DEFAULT '',
    data_bytes  BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE contact_sources (
    version_id BIGINT  NOT NULL REFERENCES contact_versions (id),
    seq        INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    registry   TEXT    NOT NULL DEFAULT '',
    sha256     TEXT    NOT NULL,
    size       BIGINT  NOT NULL,
    objects    BIGINT  NOT NULL,
    PRIMARY KEY (version_id, seq)
);

CREATE TABLE contact_data (
    version_id BIGINT  NOT NULL REFERENCES contact_versions (id),
    seq        INTEGER NOT NULL,
    data       BYTEA   NOT NULL,
    PRIMARY KEY (version_id, seq)
);
