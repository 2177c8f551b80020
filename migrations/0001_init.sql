-- 0001: workspaces, API keys, projects, spans, per-trace aggregates,
-- closures and request logs. Every table that holds client data is keyed
-- by ws_id first: no query can reach a row without naming its workspace.

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    created_ns  INTEGER NOT NULL
);

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    ws_id       INTEGER NOT NULL REFERENCES workspaces(id),
    uuid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0,
    created_ns  INTEGER NOT NULL,
    UNIQUE (ws_id, name)
);

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    ws_id       INTEGER NOT NULL REFERENCES workspaces(id),
    prefix      TEXT NOT NULL,
    hash        BLOB NOT NULL,
    created_ns  INTEGER NOT NULL,
    revoked_ns  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_prefix ON api_keys (prefix);

-- One row per span. (ws_id, trace_id, span_id) is the idempotent upsert key.
CREATE TABLE spans (
    id                 INTEGER PRIMARY KEY,
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
    created_ns         INTEGER NOT NULL,
    UNIQUE (ws_id, trace_id, span_id)
);

-- Per-trace aggregates, maintained by the writer in the same transaction
-- as the spans. Reads never re-sum spans. root_* and err_* hold the span
-- that currently supplies the trace's name/input/output/model and error;
-- t_* hold values a client stated explicitly for the trace (they win).
CREATE TABLE traces (
    id                  INTEGER PRIMARY KEY,
    ws_id               INTEGER NOT NULL,
    trace_id            TEXT NOT NULL,
    project_id          INTEGER,
    span_count          INTEGER NOT NULL DEFAULT 0,
    llm_span_count      INTEGER NOT NULL DEFAULT 0,
    prompt_tokens       INTEGER NOT NULL DEFAULT 0,
    completion_tokens   INTEGER NOT NULL DEFAULT 0,
    total_tokens        INTEGER NOT NULL DEFAULT 0,
    cost_sum            REAL NOT NULL DEFAULT 0,
    cost_span_count     INTEGER NOT NULL DEFAULT 0,
    unpriced_span_count INTEGER NOT NULL DEFAULT 0,
    started_ns          INTEGER,
    ended_ns            INTEGER,
    error_count         INTEGER NOT NULL DEFAULT 0,
    root_span_id        TEXT,
    root_start_ns       INTEGER,
    root_name           TEXT,
    root_input          TEXT,
    root_output         TEXT,
    root_model          TEXT,
    root_error          TEXT,
    err_span_id         TEXT,
    err_start_ns        INTEGER,
    err_text            TEXT,
    t_name              TEXT,
    t_input             TEXT,
    t_output            TEXT,
    t_model             TEXT,
    t_error             TEXT,
    t_cost              REAL,
    t_latency_ms        INTEGER,
    t_started_ns        INTEGER,
    t_ended_ns          INTEGER,
    session_id          TEXT,
    user_id             TEXT,
    external_id         TEXT,
    tags                TEXT,
    tag_map             TEXT,
    metadata            TEXT,
    events              TEXT,
    created_ns          INTEGER NOT NULL,
    updated_ns          INTEGER NOT NULL,
    UNIQUE (ws_id, trace_id)
);

CREATE TABLE trace_closures (
    ws_id       INTEGER NOT NULL,
    trace_id    TEXT NOT NULL,
    uuid        TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL DEFAULT 'closed',
    created_ns  INTEGER NOT NULL,
    updated_ns  INTEGER NOT NULL,
    PRIMARY KEY (ws_id, trace_id)
) WITHOUT ROWID;

CREATE TABLE request_logs (
    id          INTEGER PRIMARY KEY,
    ws_id       INTEGER NOT NULL,
    trace_id    TEXT NOT NULL,
    span_id     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_ns  INTEGER NOT NULL
);
CREATE INDEX request_logs_span ON request_logs (ws_id, trace_id, span_id);
