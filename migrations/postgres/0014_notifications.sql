-- What export --mark-sent told whom: one row per run, recipient and ip:port, with what was said
-- (the finding's fingerprint: severity, auth, version, advisories; "fixed" for a fix reported)
-- and when. Marking the same run, recipient and ip:port again keeps one row, the latest
-- (export --resend-after reads it: findings told within the window and unchanged are left out).
CREATE TABLE notifications (
    run_id      BIGINT      NOT NULL REFERENCES runs (id),
    recipient   TEXT        NOT NULL,
    ip          INET        NOT NULL,
    port        INTEGER     NOT NULL,
    fingerprint TEXT        NOT NULL,
    sent_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, recipient, ip, port)
);
CREATE INDEX notifications_sent_at ON notifications (sent_at);
