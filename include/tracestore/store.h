/* store.h: the storage interface. Everything above this line is SQL-free;
 * a backend (src/store/sqlite.c today, PostgreSQL later) implements the ops
 * table in src/store/store_int.h.
 *
 * Writes are jobs (ts_write) executed by the backend's single writer, many
 * jobs per transaction (group commit). A job's done callback runs on the
 * writer thread after the transaction holding it has committed (or failed);
 * it must be short and must not call back into the store. Reads run on the
 * caller's thread on their own connections and never wait for the writer.
 * Every operation is scoped to a workspace id obtained from an API key. */
#ifndef TS_STORE_H
#define TS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"
#include "tracestore/metrics.h"
#include "tracestore/model.h"

typedef struct ts_store ts_store;

typedef enum ts_write_kind {
    TS_W_INGEST = 1,   /* upsert spans (+ optional trace meta), update aggregates */
    TS_W_CLOSE,        /* close one trace */
    TS_W_DELETE,       /* delete one trace (optionally only if it started in a window) */
    TS_W_KEY_CREATE,   /* create workspace if needed, then a key */
    TS_W_KEY_REVOKE,   /* revoke keys by prefix */
    TS_W_PING,         /* empty transaction: proves the store is writable */
    TS_W_FEEDBACK,     /* record a feedback label on an existing trace */
    TS_W_BULK_DELETE,  /* delete every trace matching a query (bounded) */
    TS_W_TRACK_REQUEST, /* attach an LLM request log to a span (now or when it arrives) */
    TS_W_SWEEP,        /* retention: delete at most max_delete expired traces */
    TS_W_WS_RETENTION, /* set (or clear) one workspace's retention */
} ts_write_kind;

/* ---- trace queries (lists, bulk delete, metrics) ---- */

/* Filterable trace dimensions. "Any span" fields match a trace when at
 * least one of its spans matches; they are answered from a side table kept
 * at ingest, never by scanning spans. */
typedef enum ts_qfield {
    TS_QF_TRACE_ID = 1, /* text */
    TS_QF_NAME,         /* text: effective trace name */
    TS_QF_CUSTOMER,     /* text: user_id / customer_identifier */
    TS_QF_SESSION,      /* text */
    TS_QF_PROJECT,      /* integer project row id (resolved by the caller's query) */
    TS_QF_MODEL_ROOT,   /* text: the trace's effective model */
    TS_QF_STARTED,      /* int ns */
    TS_QF_ENDED,        /* int ns */
    TS_QF_LATENCY_MS,   /* int */
    TS_QF_COST,         /* real */
    TS_QF_TOTAL_TOKENS, /* int */
    TS_QF_PROMPT_TOKENS,
    TS_QF_COMPLETION_TOKENS,
    TS_QF_SPAN_COUNT,
    TS_QF_LLM_COUNT,
    TS_QF_ERROR_COUNT,
    TS_QF_HAS_ERROR,    /* bool: trace error or any errored span */
    TS_QF_METADATA,     /* text/number at metadata.<key> */
    TS_QF_TAG,          /* tag_map.<key> == value */
    /* any-span dimensions (side table trace_dims) */
    TS_QF_SPAN_MODEL,
    TS_QF_SPAN_FAILURE, /* timeout | rate_limit | invalid_response | context_length */
    TS_QF_SPAN_NAME,
    TS_QF_SPAN_TYPE,    /* span type / Respan log_type */
    TS_QF_SPAN_PARENT,
    TS_QF_SPAN_PROVIDER,
    TS_QF_SPAN_STATUS,  /* "success" | "error" */
    /* any-span fields answered through the trace's own spans (index range
     * on (ws_id, trace_id), never a scan of other traces' spans) */
    TS_QF_SPAN_ID,
    TS_QF_SPAN_COST,
    TS_QF_SPAN_LATENCY, /* ms */
    TS_QF_SPAN_PROMPT_TOKENS,
    TS_QF_SPAN_COMPLETION_TOKENS,
    /* trace content (root span or explicit) */
    TS_QF_INPUT,
    TS_QF_OUTPUT,
} ts_qfield;

typedef enum ts_qop {
    TS_QOP_EQ = 1, /* any of vals */
    TS_QOP_NE,     /* none of vals */
    TS_QOP_LT,
    TS_QOP_LTE,
    TS_QOP_GT,
    TS_QOP_GTE,
    TS_QOP_IEXACT,
    TS_QOP_CONTAINS,
    TS_QOP_ICONTAINS,
    TS_QOP_STARTSWITH,
    TS_QOP_ENDSWITH,
    TS_QOP_ISNULL, /* vals[0] "true"/"false" */
} ts_qop;

/* One condition. Values are text; numeric fields compare numerically
 * (the caller has validated them). */
typedef struct ts_qcond {
    ts_qfield field;
    ts_qop op;
    const char *key; /* TS_QF_METADATA / TS_QF_TAG: the key */
    const char **vals;
    size_t nvals;
} ts_qcond;

typedef enum ts_qsort {
    TS_QS_STARTED = 0, /* default */
    TS_QS_ENDED,
    TS_QS_LATENCY,
    TS_QS_COST,
    TS_QS_TOTAL_TOKENS,
    TS_QS_PROMPT_TOKENS,
    TS_QS_COMPLETION_TOKENS,
    TS_QS_SPAN_COUNT,
    TS_QS_LLM_COUNT,
    TS_QS_ERROR_COUNT,
    TS_QS_NAME,
    TS_QS_CUSTOMER,
    TS_QS_TRACE_ID,
} ts_qsort;

/* A trace query: conditions ANDed, a sort with the trace's internal row id
 * as tie-breaker, and either a keyset position (after_*; only for integer
 * sort keys) or an offset. */
typedef struct ts_trace_query {
    const ts_qcond *conds;
    size_t nconds;
    const char *project; /* project UUID or name; NULL: every project */
    ts_qsort sort;
    int desc;
    int has_after;       /* keyset: rows strictly after (after_key, after_id) */
    int64_t after_key, after_id;
    int64_t offset;
    int64_t limit;       /* rows to return */
    int want_count;      /* also count every matching row */
} ts_trace_query;

/* Feedback on a trace (TruLayer POST /v1/feedback). */
typedef struct ts_feedback {
    const char *trace_id; /* canonical */
    const char *label;
    int has_score;
    double score;
    const char *comment;  /* or NULL */
    const char *metadata; /* JSON object text or NULL */
    /* filled by the store */
    char id[TS_UUID_STRLEN + 1];
    int64_t created_ns;
} ts_feedback;

/* An LLM request log reported separately from its span (PromptLayer
 * /track-request). Applied to the span (ws, span_id) now if it exists, else
 * kept pending and applied when the span arrives. */
typedef struct ts_track {
    const char *span_id; /* or NULL: stored, attached to nothing */
    const char *body;    /* JSON text of the whole request (stored) */
    const char *model, *provider, *input, *output;
    int64_t prompt_tokens, completion_tokens; /* TS_TOKENS_ABSENT when unknown */
    int has_cost; /* the client's price (never the table's: the store prices the span) */
    double cost;
    /* filled by the store */
    int64_t request_id;
    int attached; /* 1: a span carried it at once */
} ts_track;

/* Aggregates over a window (TruLayer GET /v1/metrics). */
typedef struct ts_metrics {
    int64_t total_traces, error_count;
    int64_t p50_ms, p95_ms, p99_ms;
    double total_cost;
} ts_metrics;

typedef struct ts_project {
    int64_t rowid;
    char *uuid, *name;
    int64_t created_ns;
} ts_project;

typedef struct ts_write ts_write;
typedef void (*ts_write_done_fn)(ts_write *w, void *arg);

struct ts_write {
    ts_write_kind kind;
    int64_t ws_id;
    /* TS_W_INGEST. spans[i].rowid / request_log_id / rejected / created_ns
     * are filled in. Spans must already be deduplicated (first wins). */
    ts_span *spans;
    size_t nspans;
    ts_trace_meta *traces; /* optional explicit trace fields */
    size_t ntraces;
    int close_after;       /* close every trace of the job after its spans */
    int skip_existing_traces; /* TruLayer: a trace in `traces` that already
                                 exists is marked duplicate and its spans skipped */
    /* TS_W_CLOSE, TS_W_DELETE */
    const char *trace_id;  /* canonical */
    int has_from, has_to;  /* DELETE window bounds on the trace's start */
    int64_t from_ns, to_ns;
    /* TS_W_FEEDBACK */
    ts_feedback *feedback;
    /* TS_W_BULK_DELETE: at most max_delete traces, else TS_ETOOBIG with
     * the match count in `affected` and nothing deleted */
    const ts_trace_query *query;
    int64_t max_delete;
    /* TS_W_TRACK_REQUEST */
    ts_track *track;
    /* TS_W_SWEEP: every workspace's traces that ended more than its
     * retention (its own, else retention_days; 0 = forever) times
     * retention_day_s seconds ago, oldest first, at most max_delete of
     * them holding at most max_spans spans (but at least one trace),
     * deleted as TS_W_DELETE deletes one (affected: how many; swept_logs:
     * waiting /track-request logs older than the retention; sweep_more: a
     * bound stopped the job, so more may be due).
     * TS_W_WS_RETENTION: ws_name's retention becomes retention_days
     * (-1: back to the config's); TS_ENOTFOUND for an unknown name. */
    int64_t retention_days, retention_day_s, max_spans;
    int64_t swept_logs;
    int sweep_more;
    /* TS_W_INGEST, TS_W_TRACK_REQUEST, TS_W_SWEEP (PostgreSQL's late
     * attach of pending logs): derives a span again after a
     * request log changed it (ts_ingest_derive: type, total tokens, cost),
     * so an attached span is what an ingest of it would be. NULL: the
     * merged span is stored as is. Called on the writer thread. */
    void (*derive)(ts_span *sp);
    /* TS_W_KEY_CREATE, TS_W_KEY_REVOKE, TS_W_WS_RETENTION */
    const char *ws_name;
    const char *key_prefix;
    const unsigned char *key_hash; /* 32 bytes */
    /* results */
    int rc;
    ts_err err;
    ts_closure closure;  /* TS_W_CLOSE */
    int64_t affected;    /* DELETE: traces removed; REVOKE: keys revoked */
    size_t nrejected;    /* INGEST: spans dropped for closed traces */
    ts_workspace ws;     /* KEY_CREATE: the workspace */
    /* completion */
    ts_write_done_fn done;
    void *done_arg;
    /* owned by the store while queued */
    ts_write *next;
    int64_t enqueued_ns;
    /* stamped by the store for the request-stage report (ts_http_report):
     * the writer took the job, its transaction committed, done was called */
    int64_t taken_ns, committed_ns, done_ns;
};

/* One stored key that matches a prefix; the caller compares hashes. */
typedef struct ts_key_row {
    int64_t key_id;
    int revoked;
    unsigned char hash[32];
    ts_workspace ws;
} ts_key_row;

/* Opens (creating if needed) the store named by cfg->db_path, applies the
 * migrations in order and starts the writer. */
int ts_store_open(const ts_config *cfg, ts_store **out, ts_err *err);
/* Drains the writer queue, checkpoints, closes. NULL-safe. */
void ts_store_close(ts_store *s);
/* The 32-byte server secret the shown ids are keyed from
 * (tracestore/idmask.h), read at open; borrowed, valid until close. */
const unsigned char *ts_store_id_secret(const ts_store *s);

/* Queues w. TS_OK: w->done will be called exactly once. TS_EBUSY: queue
 * full; TS_ESHUTDOWN: store closing (done is not called in either case). */
int ts_store_submit(ts_store *s, ts_write *w);
/* Queues w and waits for it; returns w->rc. For the CLI and tests. */
int ts_store_write_sync(ts_store *s, ts_write *w);

/* Reads */
int ts_store_key_candidates(ts_store *s, const char *prefix, ts_key_row *rows,
                            size_t cap, size_t *n);
/* TS_ENOTFOUND when the workspace has no such trace. *spans ordered by
 * start time, then span id. All memory from a. */
int ts_store_trace_get(ts_store *s, int64_t ws_id, const char *trace_id,
                       ts_arena *a, ts_trace *out, ts_span **spans, size_t *nspans);
int ts_store_key_list(ts_store *s, ts_arena *a, ts_key_info **out, size_t *n);
/* Lists the workspace's traces matching q (aggregates only, no spans).
 * *out gets up to q->limit rows (arena a); *more is set when at least one
 * more row follows; *count (when q->want_count) counts every match.
 * Each row's rowid and sort_key are set for keyset cursors. An unknown
 * q->project matches nothing. */
int ts_store_trace_list(ts_store *s, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                        ts_trace **out, size_t *n, int *more, int64_t *count);
/* Totals over traces that started in [from_ns, to_ns) (project: UUID or
 * name, NULL for all). Percentiles are nearest-rank over latency_ms. */
int ts_store_metrics(ts_store *s, int64_t ws_id, const char *project, int64_t from_ns,
                     int64_t to_ns, ts_metrics *out);
/* The workspace's projects, oldest first, starting after row id `after`
 * (0: from the start), at most limit (<= 0: all). */
int ts_store_projects(ts_store *s, int64_t ws_id, int64_t after, int64_t limit, ts_arena *a,
                      ts_project **out, size_t *n, int *more);
int ts_store_workspace_count(ts_store *s, int64_t *n);

/* One workspace as `tracestore workspace list` shows it. */
typedef struct ts_workspace_info {
    char name[128];
    int64_t keys;           /* active (unrevoked) keys */
    int64_t traces;
    int64_t retention_days; /* its own; -1: none (the config's applies) */
} ts_workspace_info;
/* Every workspace, by name. *out from arena a. */
int ts_store_workspace_list(ts_store *s, ts_arena *a, ts_workspace_info **out, size_t *n);

/* Which optional parts of ts_store_stats a backend fills (`have`); the
 * /metrics handler leaves out the families a backend does not report
 * rather than showing zeros that look measured. */
enum {
    TS_STATS_COMMIT_HIST = 1 << 0,    /* commit_hist: duration of each COMMIT */
    TS_STATS_SYNC_HIST = 1 << 1,      /* sync_hist: duration of each WAL fdatasync */
    TS_STATS_JOBS_HIST = 1 << 2,      /* jobs_hist: jobs in each committed transaction */
    TS_STATS_TRACES_CREATED = 1 << 3, /* traces_created */
    TS_STATS_FILES = 1 << 4,          /* db_bytes, wal_bytes */
    TS_STATS_CKPT_HIST = 1 << 5,      /* checkpoint_hist, writer_checkpoint_hist */
    TS_STATS_SYNCS = 1 << 6,          /* syncs, sync_ns */
};

/* Statistics for logs, benchmarks and GET /metrics. Counters only grow
 * while the store is open. Cheap to take (a few mutexes, two stat calls):
 * a scrape or a SIGUSR1 report, never per request. */
typedef struct ts_store_stats {
    uint64_t transactions;
    uint64_t jobs;
    uint64_t queue_depth;
    uint64_t checkpoints, checkpoint_ns;               /* in the background */
    uint64_t writer_checkpoints, writer_checkpoint_ns; /* by the writer itself */
    unsigned have;                                     /* TS_STATS_* */
    uint64_t syncs, sync_ns;                           /* WAL fdatasyncs after commits */
    uint64_t traces_created;
    uint64_t key_cache_hits, key_cache_misses; /* ts_store_key_candidates */
    int64_t db_bytes, wal_bytes;               /* file sizes now */
    ts_hist_snap commit_hist, sync_hist, jobs_hist;
    ts_hist_snap checkpoint_hist, writer_checkpoint_hist;
} ts_store_stats;
void ts_store_stats_get(ts_store *s, ts_store_stats *out);

/* The retention sweeper (store/retention.c): a thread that every
 * cfg->retention_sweep_s submits TS_W_SWEEP jobs of cfg->retention_batch
 * traces and cfg->retention_batch_spans spans, one at a time, through the
 * normal write queue, while a job stops at one of those bounds. Only the
 * daemon runs one; derive becomes the jobs' w.derive. start returns NULL
 * when the thread cannot start; stop (NULL-safe) waits for the job in
 * flight and must run before ts_store_close. */
typedef struct ts_retention ts_retention;
ts_retention *ts_retention_start(ts_store *s, const ts_config *cfg, void (*derive)(ts_span *sp));
void ts_retention_stop(ts_retention *r);

/* `tracestore vacuum`: rewrites the database named by cfg->db_path without
 * its free pages (deleted traces' space, which the store reuses but never
 * returns), so the file shrinks. Needs the database to itself: TS_EBUSY
 * while another process (a running daemon) has it open. Opens no store. */
typedef struct ts_vacuum_info {
    int64_t bytes_before, bytes_after; /* the database file, WAL aside */
    int64_t free_pages_before;
} ts_vacuum_info;
int ts_store_vacuum(const ts_config *cfg, ts_vacuum_info *out, ts_err *err);

/* Writes a consistent copy of the database to dest (which must not exist)
 * while the daemon keeps serving, then checks the copy's integrity. */
int ts_store_backup(ts_store *s, const char *dest, ts_err *err);

#endif
