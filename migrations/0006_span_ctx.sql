-- 0006: a span's resource and scope are stored once per trace. They are the
-- same for most spans of a trace and were a quarter of an OTLP span's row
-- (about 330 of 1,350 bytes: two rows to a 4 KiB page where three fit).
-- Each distinct (resource, scope) pair of a trace is one span_ctx row, and
-- spans.ctx names it; such spans keep '' and NULL in their own resource and
-- scope columns. Rows written before 0006 have ctx NULL and keep theirs.
-- Deleting a trace deletes its span_ctx rows with its spans.
CREATE TABLE span_ctx (
    trow      INTEGER NOT NULL,
    idx       INTEGER NOT NULL,
    resource  TEXT NOT NULL,
    scope     TEXT,
    PRIMARY KEY (trow, idx)
) WITHOUT ROWID;
ALTER TABLE spans ADD COLUMN ctx INTEGER;
