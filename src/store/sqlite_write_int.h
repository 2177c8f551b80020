/* sqlite_write_int.h: private to the SQLite writer (sqlite_writer.c: the
 * writer and syncer threads; sqlite_jobs.c: each job's writes; sqlite_tagg.c:
 * the per-trace aggregate images and trace_dims): the structs a job works
 * on and the helpers the three files share. */
#ifndef TS_SQLITE_WRITE_INT_H
#define TS_SQLITE_WRITE_INT_H

#include "store/agg.h"
#include "store/jobs_common.h"
#include "store/sqlite_int.h"

/* In-memory image of one trace's aggregate row while a job touches it. */
typedef struct tagg {
    const char *trace_id;
    int64_t rowid; /* traces.id: reserved before the row is written (see inrow) */
    int inrow;     /* the row is in the table */
    int closed;
    int touched;            /* at least one span written in this job */
    ts_agg agg;             /* the row's aggregates (agg.h) */
    int skip;               /* duplicate trace (skip_existing_traces): spans ignored */
    ts_trace_meta *meta;    /* explicit trace fields to apply after the spans */
    struct dimd *dims;      /* trace_dims count changes of this job, written once */
    int existed;            /* the trace row was there before this job */
    int64_t loaded_started; /* its start then (ts_sqlite_tagg_start) */
    struct tagg *next;      /* hash chain */
    /* Deferred aggregates (see struct ttable): */
    int64_t ws_id;
    ts_write *w;        /* a job of the trace's workspace (alive to COMMIT) */
    struct tagg *image; /* a job's copy: the transaction's image it updates */
    int dirty;          /* image: to be written at the end of the transaction */
    int spans_tx;       /* image: spans of the trace written in this transaction */
} tagg;

/* A pending trace_dims change: the job adds up +1/-1 per span in memory
 * and writes each distinct (trace, dim, value) once. Measured with
 * callgrind: one upsert per span and dim was a quarter of ingest cost. */
typedef struct dimd {
    const struct tagg *owner;
    const char *val;
    int dim;
    int64_t delta;
    struct dimd *next_in_trace;
    struct dimd *next; /* hash chain */
} dimd;

/* Trace images by (workspace, trace id), with their pending dim changes.
 * Each job has one. Consecutive span-only ingest jobs of a transaction
 * also share one (the writer's deferred aggregates): a job works on copies
 * of its images, merged back when the job succeeds; the images are written
 * once, before the next other job and before COMMIT. Eight single-span
 * requests of one trace in a transaction then cost one trace row update
 * and one upsert per distinct dim value instead of eight of each. */
typedef struct ttable {
    ts_arena *a;
    tagg **buckets;
    size_t nbuckets;
    tagg **list; /* traces in first-seen order */
    size_t nlist, caplist;
    dimd **dbuckets;
    size_t ndbuckets;
    tagg *last; /* the image ts_sqlite_tagg_get returned last (a job's spans come by trace) */
} ttable;

/* A trace row whose span_ctx rows the job added to (dropped from the
 * cache if the job rolls back). */
typedef struct ctx_row {
    int64_t trow;
    struct ctx_row *next;
} ctx_row;

typedef struct job_ctx {
    ts_sqlite_conn *c;
    ts_arena *a;  /* freed when the job ends */
    ts_arena *sa; /* strings an image may keep: lives to COMMIT when deferred */
    ts_write *w;
    int64_t now;
    ttable t;
    ttable *tx; /* the transaction's images (deferred), or NULL */
    ctx_row *ctx_added;
} job_ctx;

/* The old values of a span being replaced. */
typedef struct old_span {
    ts_agg_old agg; /* what it contributed to the trace's aggregates */
    int64_t id, request_log_id, created_ns;
    int is_root;
    const char *parent, *error, *type, *model, *name, *provider;
} old_span;

/* trace_dims numbers (jobs_common.h; query_common.c's ts_query_dim_of
 * uses the same). */
enum {
    DIM_MODEL = TS_DIM_MODEL,
    DIM_FAILURE = TS_DIM_FAILURE,
    DIM_NAME = TS_DIM_NAME,
    DIM_TYPE = TS_DIM_TYPE,
    DIM_PARENT = TS_DIM_PARENT,
    DIM_PROVIDER = TS_DIM_PROVIDER,
    DIM_STATUS = TS_DIM_STATUS,
    DIM__COUNT = TS_DIM__COUNT
};

static inline int ts_sqlite_step_done(sqlite3_stmt *st)
{
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_DONE || src == SQLITE_ROW)
        return TS_OK;
    int rc = ts_sqlite_rc(src);
    return rc ? rc : TS_EIO;
}

static inline void ts_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static inline void ts_sqlite_bind_i64_opt(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == TS_TOKENS_ABSENT)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* t's start from its spans, INT64_MIN when it has none (0 is a time). */
static inline int64_t ts_sqlite_tagg_start(const tagg *t)
{
    return t->agg.has_ext ? t->agg.started : INT64_MIN;
}

static inline int ts_sqlite_is_root(const char *parent)
{
    return parent == NULL || parent[0] == '\0';
}

/* Statement id with ?1 bound to the job's workspace and ?2 to text
 * (a trace id, span id or name); NULL when it cannot be prepared. */
static inline sqlite3_stmt *ts_sqlite_ws_stmt(job_ctx *j, int id, const char *text)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, id);
    if (q) {
        sqlite3_bind_int64(q, 1, j->w->ws_id);
        sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
    }
    return q;
}

/* The same for statements keyed by a trace's row id (?2); ?1 stays the
 * workspace where the statement writes it. */
static inline sqlite3_stmt *ts_sqlite_tr_stmt(job_ctx *j, int id, int64_t trow)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, id);
    if (q) {
        sqlite3_bind_int64(q, 1, j->w->ws_id);
        sqlite3_bind_int64(q, 2, trow);
    }
    return q;
}

/* Transaction control through cached statements: sqlite3_exec re-parses
 * its text every time (7.7% of a single-span request under callgrind). */
static inline int ts_sqlite_tx(ts_sqlite_conn *c, int id)
{
    sqlite3_stmt *q = ts_sqlite_stmt(c, id);
    return q ? ts_sqlite_step_done(q) : TS_EIO;
}

/* sqlite_tagg.c: trace images (ttable, tagg) and their trace_dims changes. */
int ts_sqlite_trace_closed(job_ctx *j, const char *trace_id, int *closed);
int ts_sqlite_ttable_init(ttable *tt, ts_arena *a, size_t n);
int ts_sqlite_ttable_grow(ttable *tt);
int ts_sqlite_tagg_get(job_ctx *j, const char *trace_id, tagg **out);
void ts_sqlite_tagg_apply(tagg *t, const ts_span *sp, const old_span *o);
int ts_sqlite_tagg_recompute(job_ctx *j, tagg *t);
int ts_sqlite_tagg_store(job_ctx *j, tagg *t);
int ts_sqlite_tagg_merge(job_ctx *j);
int ts_sqlite_tagg_flush(ts_sqlite *s, ttable *tt, int64_t now);
int ts_sqlite_dim_add(ttable *tt, tagg *t, int dim, const char *val, int64_t delta);
int ts_sqlite_dims_update(job_ctx *j, tagg *t, const ts_span *sp, const old_span *o);
/* The dims of m's explicit model and error (ts_jobs_meta_dims). */
int ts_sqlite_dims_meta(job_ctx *j, tagg *t, const ts_trace_meta *m);
int ts_sqlite_dims_flush(job_ctx *j, tagg *t);
int ts_sqlite_dims_sync(job_ctx *j, const tagg *t);
int ts_sqlite_dims_settle(ts_sqlite_conn *c, int64_t hi);

/* sqlite_jobs.c */
int ts_sqlite_job_run(ts_sqlite *s, ts_write *w, int64_t now, ttable *shared);
/* Deletes trace trow of the job's workspace with everything hanging off it
 * (spans, span_ctx rows and their cache entries, request logs, trace_dims,
 * closure, feedback), as DELETE does. */
int ts_sqlite_delete_trace(job_ctx *j, const char *trace_id, int64_t trow);

/* sqlite_sweep.c: TS_W_SWEEP and TS_W_WS_RETENTION. */
int ts_sqlite_apply_sweep(job_ctx *j);
int ts_sqlite_apply_ws_retention(job_ctx *j);

#endif
