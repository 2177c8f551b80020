-- 0007: a server secret for the integer ids the API shows (issue 23 point
-- 12). Span and request-log row ids are counters over every workspace; the
-- API shows each through a permutation keyed per workspace from this secret
-- (core/idmask.c), so one workspace's ids say nothing about another's
-- writes. Kept in the database so a backup or a copy shows the same ids.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO server_secrets (name, value) VALUES ('id_mask', randomblob(32));
