-- 0003: spans, request logs and trace_dims are keyed by their trace's row
-- id (traces.id) instead of (ws_id, trace_id). Trace ids are random, so a
-- new trace's keys used to land on a random page of every such index; row
-- ids grow, so they now append at each index's right edge. At 10 million
-- spans those random index pages were most of the writer's disk reads
-- (docs/PERFORMANCE.md). The writer reserves a new trace's row id before
-- its first span is written (sqlite_write.c). Reads and writes still reach
-- a trace only through (ws_id, trace_id) on traces: the workspace wall.

CREATE TABLE spans_new (
    id                 INTEGER PRIMARY KEY,
    trow               INTEGER NOT NULL,
    ws_id              INTEGER NOT NULL,
    trace_id           TEXT NOT NULL,
    span_id            TEXT NOT NULL,
    parent_id          TEXT,
    name               TEXT NOT NULL,
    kind               INTEGER NOT NULL,
    start_ns           INTEGER NOT NULL,
    end_ns             INTEGER NOT NULL,
    status_code        INTEGER NOT NULL,
    status_message     TEXT,
    trace_state        TEXT,
    attributes         TEXT NOT NULL,
    events             TEXT NOT NULL,
    links              TEXT NOT NULL,
    resource           TEXT NOT NULL,
    scope              TEXT,
    origin             INTEGER NOT NULL,
    type               TEXT,
    model              TEXT,
    provider           TEXT,
    input              TEXT,
    output             TEXT,
    prompt_tokens      INTEGER,
    completion_tokens  INTEGER,
    total_tokens       INTEGER,
    cache_read_tokens  INTEGER,
    cache_write_tokens INTEGER,
    reasoning_tokens   INTEGER,
    cost               REAL,
    unpriced           INTEGER NOT NULL DEFAULT 0,
    error              TEXT,
    session_id         TEXT,
    user_id            TEXT,
    metadata           TEXT,
    latency_ms         INTEGER,
    request_log_id     INTEGER,
    created_ns         INTEGER NOT NULL
);
-- Every span has its trace's aggregate row (the writer writes both in one
-- transaction and deletes remove both).
INSERT INTO spans_new (id, trow, ws_id, trace_id, span_id, parent_id, name, kind, start_ns,
    end_ns, status_code, status_message, trace_state, attributes, events, links, resource,
    scope, origin, type, model, provider, input, output, prompt_tokens, completion_tokens,
    total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, unpriced,
    error, session_id, user_id, metadata, latency_ms, request_log_id, created_ns)
SELECT s.id, t.id, s.ws_id, s.trace_id, s.span_id, s.parent_id, s.name, s.kind, s.start_ns,
    s.end_ns, s.status_code, s.status_message, s.trace_state, s.attributes, s.events, s.links,
    s.resource, s.scope, s.origin, s.type, s.model, s.provider, s.input, s.output,
    s.prompt_tokens, s.completion_tokens, s.total_tokens, s.cache_read_tokens,
    s.cache_write_tokens, s.reasoning_tokens, s.cost, s.unpriced, s.error, s.session_id,
    s.user_id, s.metadata, s.latency_ms, s.request_log_id, s.created_ns
FROM spans s JOIN traces t ON t.ws_id = s.ws_id AND t.trace_id = s.trace_id;
DROP TABLE spans;
ALTER TABLE spans_new RENAME TO spans;
CREATE UNIQUE INDEX spans_trace ON spans (trow, span_id);
CREATE INDEX spans_span_id ON spans (ws_id, span_id);

-- trow: the trace row of an attached log, NULL while a /track-request log
-- waits for its span (trace_id = ''); the partial index finds those.
ALTER TABLE request_logs ADD COLUMN trow INTEGER;
UPDATE request_logs SET trow = (SELECT t.id FROM traces t WHERE t.ws_id = request_logs.ws_id
    AND t.trace_id = request_logs.trace_id) WHERE trace_id <> '';
DROP INDEX request_logs_span;
CREATE INDEX request_logs_trow ON request_logs (trow);
CREATE INDEX request_logs_pending ON request_logs (ws_id, span_id) WHERE trace_id = '';

CREATE TABLE trace_dims_new (
    trow      INTEGER NOT NULL,
    dim       INTEGER NOT NULL,
    val       TEXT NOT NULL,
    n         INTEGER NOT NULL,
    ws_id     INTEGER NOT NULL,
    start     INTEGER,
    PRIMARY KEY (trow, dim, val)
) WITHOUT ROWID;
INSERT INTO trace_dims_new (trow, dim, val, n, ws_id, start)
SELECT t.id, d.dim, d.val, d.n, d.ws_id, t.eff_start
FROM trace_dims d JOIN traces t ON t.ws_id = d.ws_id AND t.trace_id = d.trace_id;
DROP TABLE trace_dims;
ALTER TABLE trace_dims_new RENAME TO trace_dims;
CREATE INDEX trace_dims_val ON trace_dims (ws_id, dim, val, start, trow);
