-- 0005: trace_dims rows enter their value index in batches. Every commit
-- used to rewrite the last leaf of trace_dims_val in each (dim, value) group
-- a new trace landed in: about twenty 4 KiB pages per commit, a third of
-- the WAL under one-span requests. New traces' rows now go in with
-- settled = 0 and out of the index; every dims_settle_ms the writer sets
-- settled = 1 on the rows of traces above the watermark, in its open
-- transaction, and raises the watermark. So settled = (trow <= watermark)
-- for every row, and lists read the rest through the primary key's
-- trow > watermark range (src/store/sqlite_query.c).
ALTER TABLE trace_dims ADD COLUMN settled INTEGER NOT NULL DEFAULT 1;
DROP INDEX trace_dims_val;
-- settled is a column of the index too, so that it covers the lists' term
-- settled = 1 (SQLite 3.40 reads the table row for a column the index lacks,
-- even one its WHERE clause fixes).
CREATE INDEX trace_dims_val ON trace_dims (ws_id, dim, val, start, trow, settled)
    WHERE settled = 1;
CREATE TABLE dims_watermark (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    trow  INTEGER NOT NULL
);
INSERT INTO dims_watermark (id, trow) VALUES (1, coalesce((SELECT max(id) FROM traces), 0));
