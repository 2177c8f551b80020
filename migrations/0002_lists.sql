-- 0002: trace lists, filters and sorts answered from the aggregate row.
-- The effective value of each listable trace field (explicit t_* over the
-- value derived from spans) is a VIRTUAL generated column, so filters,
-- sorts and keyset cursors are plain index range scans. trace_dims holds,
-- per trace, the distinct values its spans carry for "any span matches"
-- filters (model, failure class, span name, ...), maintained at ingest
-- with a reference count, so lists never scan spans.

ALTER TABLE traces ADD COLUMN eff_start INTEGER
    GENERATED ALWAYS AS (coalesce(t_started_ns, started_ns, created_ns)) VIRTUAL;
ALTER TABLE traces ADD COLUMN eff_end INTEGER
    GENERATED ALWAYS AS (coalesce(t_ended_ns, ended_ns)) VIRTUAL;
ALTER TABLE traces ADD COLUMN eff_latency INTEGER
    GENERATED ALWAYS AS (coalesce(t_latency_ms,
        CASE WHEN coalesce(t_started_ns, started_ns, 0) <> 0
                  AND coalesce(t_ended_ns, ended_ns) >= coalesce(t_started_ns, started_ns)
             THEN (coalesce(t_ended_ns, ended_ns) - coalesce(t_started_ns, started_ns)) / 1000000
             ELSE 0 END)) VIRTUAL;
ALTER TABLE traces ADD COLUMN eff_cost REAL
    GENERATED ALWAYS AS (coalesce(t_cost, CASE WHEN cost_span_count > 0 THEN cost_sum END)) VIRTUAL;
ALTER TABLE traces ADD COLUMN has_error INTEGER
    GENERATED ALWAYS AS (t_error IS NOT NULL OR error_count > 0) VIRTUAL;

CREATE INDEX traces_ws_start ON traces (ws_id, eff_start, id);
CREATE INDEX traces_ws_end ON traces (ws_id, eff_end, id);
CREATE INDEX traces_ws_latency ON traces (ws_id, eff_latency, id);
CREATE INDEX traces_ws_cost ON traces (ws_id, eff_cost, id);
CREATE INDEX traces_ws_tokens ON traces (ws_id, total_tokens, id);
CREATE INDEX traces_ws_error ON traces (ws_id, has_error, eff_start, id);
CREATE INDEX traces_ws_session ON traces (ws_id, session_id, eff_start, id);
CREATE INDEX traces_ws_customer ON traces (ws_id, user_id, eff_start, id);
CREATE INDEX traces_ws_project ON traces (ws_id, project_id, eff_start, id);

-- Distinct span-level values per trace; n counts the spans holding val.
-- start and trow copy the trace's eff_start and row id (kept in step by the
-- writer in the same transaction), so a list filtered on one value walks
-- trace_dims_val in keyset order and touches only matching traces.
CREATE TABLE trace_dims (
    ws_id     INTEGER NOT NULL,
    trace_id  TEXT NOT NULL,
    dim       INTEGER NOT NULL,
    val       TEXT NOT NULL,
    n         INTEGER NOT NULL,
    start     INTEGER,
    trow      INTEGER,
    PRIMARY KEY (ws_id, trace_id, dim, val)
) WITHOUT ROWID;
CREATE INDEX trace_dims_val ON trace_dims (ws_id, dim, val, start, trow);

CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    ws_id       INTEGER NOT NULL,
    trace_id    TEXT NOT NULL,
    uuid        TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    score       REAL,
    comment     TEXT,
    metadata    TEXT,
    created_ns  INTEGER NOT NULL
);
CREATE INDEX feedback_trace ON feedback (ws_id, trace_id);

-- /track-request: the LLM fields extracted from the body, so a log that
-- arrives before its span (trace_id = '') can be applied when it lands.
ALTER TABLE request_logs ADD COLUMN model TEXT;
ALTER TABLE request_logs ADD COLUMN provider TEXT;
ALTER TABLE request_logs ADD COLUMN input TEXT;
ALTER TABLE request_logs ADD COLUMN output TEXT;
ALTER TABLE request_logs ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE request_logs ADD COLUMN completion_tokens INTEGER;
ALTER TABLE request_logs ADD COLUMN cost REAL;
CREATE INDEX spans_span_id ON spans (ws_id, span_id);
