/* pg_jobs_int.h: private to the PostgreSQL backend's jobs (pg_jobs.c: the
 * job context, trace locks, ingest and the trace rows; pg_jobs_ops.c:
 * close, deletes, feedback, /track-request, keys and retention). Statement
 * ids 20-89 of ts_pg_run belong to these two files. */
#ifndef TS_PG_JOBS_INT_H
#define TS_PG_JOBS_INT_H

#include "store/agg.h"
#include "store/jobs_common.h"
#include "store/pg_int.h"
#include "store/query_common.h"

/* Prepared statement ids (pg.md: pgjobs owns 20-89; one id, one text). */
enum {
    PS_LOCK = 20,
    PS_TRACE,
    PS_SPANS_FETCH,
    PS_SPANS_INSERT,
    PS_SPAN_UPDATE,
    PS_RL_INSERTS,
    PS_RL_UPDATE,
    PS_RL_ATTACH,
    PS_TRACE_UPDATE,
    PS_TRACE_META,
    PS_DIMS_INC,
    PS_DIMS_DROP,
    PS_DIMS_SYNC,
    PS_RECOMP,
    PS_RESUM,
    PS_CLOSE_INSERT,
    PS_TRACE_START,
    PS_CLOSED,
    PS_DELETE,
    PS_PROJ_BY_UUID,
    PS_PROJ_BY_NAME,
    PS_PROJ_INSERT,
    PS_WS_FIND,
    PS_WS_INSERT,
    PS_KEY_INSERT,
    PS_KEY_REVOKE,
    PS_TRACE_EXISTS,
    PS_FEEDBACK_INSERT,
    PS_SPAN_FIND,
    PS_SPAN_FULL,
    PS_RL_TRACK_INSERT,
    PS_SWEEP_WS,
    PS_SWEEP_ENDED,
    PS_SWEEP_NOEND,
    PS_SWEEP_RECHECK,
    PS_SWEEP_LOGS,
    PS_WS_RETENTION,
    PS_TRACE_STORE,
    PS_TRACE_NEW,
    PS_TRACE_STORE_NEW,
    PS_SWEEP_PENDING,
    PS_RL_LATE_ATTACH,
    PS__END /* <= 90 */
};

/* A pending trace_dims count change of one trace (written once per job). */
typedef struct pg_dim {
    struct pgt *owner;
    int dim;
    const char *val;
    int64_t delta;
    struct pg_dim *next_in_trace, *next; /* next: hash chain */
} pg_dim;

/* A trace a job writes: its row as read after its lock was taken. */
typedef struct pgt {
    const char *trace_id;
    int64_t rowid; /* traces.id; 0: no row (a closed trace without one) */
    int existed;   /* the row was there before this job */
    int unsaved;   /* rowid drawn from the sequence, its row not inserted yet */
    int closed, touched, skip;
    ts_agg agg;
    int64_t loaded_started; /* agg's start when read (INT64_MIN: none) */
    int has_tstart;         /* its explicit start (t_started_ns) as read */
    int64_t tstart, created;
    ts_trace_meta *meta; /* explicit fields to write after the spans */
    pg_dim *dims;
    struct pgt *next; /* hash chain */
} pgt;

typedef struct pgj {
    ts_pg *s;
    ts_pg_conn *c;
    ts_write *w;
    int64_t now;
    ts_arena *a; /* freed when the job ends */
    ts_pgp p;
    pgt **tb; /* traces by id */
    size_t ntb;
    pgt **list; /* in first-seen order */
    size_t nlist, caplist;
    pg_dim **db;
    size_t ndb;
    int64_t created; /* trace rows this job inserted */
} pgj;

/* agg's start from the spans, INT64_MIN when it has none (0 is a time). */
static inline int64_t ts_pgj_start(const pgt *t)
{
    return t->agg.has_ext ? t->agg.started : INT64_MIN;
}

/* pg_jobs.c */
/* Runs j->p on statement id (sql: its text); NULL and *rc set (w->err
 * too) when it failed. The caller PQclears a result. */
PGresult *ts_pgj_run(pgj *j, int id, const char *sql, int *rc);
/* The same for statements whose result is not needed. */
int ts_pgj_do(pgj *j, int id, const char *sql);
/* Rows a command changed (PQcmdTuples). */
int64_t ts_pgj_changes(PGresult *r);
/* {"a","b"} / {1,2}: array literals for one text parameter. */
char *ts_pgj_text_array(ts_arena *a, const char *const *v, size_t n);
char *ts_pgj_i64_array(ts_arena *a, const int64_t *v, size_t n);
/* Element types of ts_pgj_bin_array (their pg_type OIDs). */
enum { TS_PGJ_INT8 = 20, TS_PGJ_TEXT = 25, TS_PGJ_FLOAT8 = 701 };
/* n values (text; NULL: SQL NULL; numbers as ts_pgp formats them) as one
 * binary array parameter of element type elem (array_recv's format),
 * *len bytes: the server reads it without array_in's parsing and the
 * values need no escaping. NULL when out of memory. */
char *ts_pgj_bin_array(ts_arena *a, unsigned elem, const char *const *v, size_t n, int *len);
/* The same for n int8 values. */
char *ts_pgj_bin_i64(ts_arena *a, const int64_t *v, size_t n, int *len);
/* Sizes the job's trace and dim tables for about n traces and spans. */
int ts_pgj_tables(pgj *j, size_t n);
/* The job's trace trace_id, read (created when missing and not closed)
 * the first time it is named; its lock must be held. */
int ts_pgj_trace(pgj *j, const char *trace_id, pgt **out);
/* ts_jobs_dim_fn over arg = (pgj *, pgt *): adds to the pending count
 * change of (trace, dim, val). */
int ts_pgj_dim_add(void *arg, int dim, const char *val, int64_t delta);
/* Deletes n traces of workspace ws (row ids trows, ids trace_ids) with
 * everything hanging off them, as DELETE does; *deleted: trace rows gone. */
int ts_pgj_delete_traces(pgj *j, int64_t ws, const char *const *trace_ids, const int64_t *trows,
                         size_t n, int64_t *deleted);
int ts_pgj_insert_closure(pgj *j, const char *trace_id, ts_closure *out);

/* pg_jobs_spans.c */
/* Upserts n spans into their traces (closures, old versions, request
 * logs, dims, aggregates), as SQLite's ingest_span does each in turn;
 * spans[i].rowid / request_log_id / rejected / created_ns are set. */
int ts_pgj_ingest(pgj *j, ts_span *spans, size_t n);

/* pg_jobs_trace.c */
/* Writes the job's trace t: aggregates (re-derived when agg says so),
 * explicit fields, trace_dims. */
int ts_pgj_store_trace(pgj *j, pgt *t);
/* A project of workspace ws (*id 0: one of that name exists already). */
int ts_pgj_project_insert(pgj *j, int64_t ws, const char *name, int is_default, int64_t *id);

/* pg_jobs_ops.c */
int ts_pgj_close(pgj *j);
int ts_pgj_delete(pgj *j);
int ts_pgj_bulk_delete(pgj *j);
int ts_pgj_feedback(pgj *j);
int ts_pgj_track(pgj *j);
int ts_pgj_key_create(pgj *j);
int ts_pgj_key_revoke(pgj *j);
int ts_pgj_sweep(pgj *j);
int ts_pgj_ws_retention(pgj *j);

#endif
