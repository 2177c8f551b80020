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
#include "tracestore/model.h"

typedef struct ts_store ts_store;

typedef enum ts_write_kind {
    TS_W_INGEST = 1,   /* upsert spans (+ optional trace meta), update aggregates */
    TS_W_CLOSE,        /* close one trace */
    TS_W_DELETE,       /* delete one trace (optionally only if it started in a window) */
    TS_W_KEY_CREATE,   /* create workspace if needed, then a key */
    TS_W_KEY_REVOKE,   /* revoke keys by prefix */
    TS_W_PING,         /* empty transaction: proves the store is writable */
} ts_write_kind;

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
    /* TS_W_KEY_CREATE, TS_W_KEY_REVOKE */
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
int ts_store_workspace_count(ts_store *s, int64_t *n);

/* Statistics for logs and benchmarks. */
typedef struct ts_store_stats {
    uint64_t transactions;
    uint64_t jobs;
    uint64_t queue_depth;
} ts_store_stats;
void ts_store_stats_get(ts_store *s, ts_store_stats *out);

/* Writes a consistent copy of the database to dest (which must not exist)
 * while the daemon keeps serving, then checks the copy's integrity. */
int ts_store_backup(ts_store *s, const char *dest, ts_err *err);

#endif
