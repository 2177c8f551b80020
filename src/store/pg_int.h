/* pg_int.h: private to the PostgreSQL backend (pg.c: connections, start-up
 * migrations, keys and workspaces, stats; pg_writer.c: the writer thread and
 * group commit; pg_jobs.c: each job's writes; pg_query.c: trace reads, lists
 * and metrics; pg_util.c: parameters, results and error mapping).
 * libpq-fe.h is included nowhere outside src/store/pg*.c.
 *
 * Several daemons may write one database at once, so nothing here relies on
 * being the only writer: row ids come from identity columns, every write to
 * a trace holds that trace's transaction-scoped advisory lock (taken in a
 * sorted order per transaction, see ts_pg_lock_traces), and the only
 * in-memory state is the key cache (bounded by key_cache_ms). */
#ifndef TS_PG_INT_H
#define TS_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store/store_int.h"
#include "tracestore/metrics.h"

/* Internal result: a deadlock or serialization failure (SQLSTATE 40P01,
 * 40001). The writer rolls the whole transaction back and runs its jobs
 * again; never returned to a caller of the store. */
#define TS_PG_RETRY (-100)

/* One connection and the statements prepared on it (by id, lazily). */
#define TS_PG_STMT_MAX 128
typedef struct ts_pg_conn {
    PGconn *pc;
    unsigned char prepared[TS_PG_STMT_MAX];
    /* the longest one statement waits for the server (0: no bound), past
     * the server's own statement_timeout: only a server that answers
     * nothing reaches it, and the connection is then dropped (pg_util.c) */
    int64_t timeout_ms;
    int timed_out; /* 1: dropped so (the server answered nothing) */
} ts_pg_conn;

/* Query parameters, all sent as text (a NULL value is SQL NULL). */
#define TS_PGP_MAX 64
typedef struct ts_pgp {
    int n;
    const char *v[TS_PGP_MAX];
    char buf[TS_PGP_MAX][72]; /* numbers and short values formatted in place */
    int overflow;             /* more than TS_PGP_MAX: the query fails with TS_EIO */
} ts_pgp;

typedef struct ts_pg {
    ts_store base; /* first */
    ts_config cfg;
    /* read connections (pg.c): opened on demand up to read_max, reused;
     * a caller waits on rcv while read_max are out */
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
    /* reads fail at once until then (CLOCK_MONOTONIC ns): a read connection
     * was dropped for an unanswering server, or a connect failed */
    _Atomic int64_t rstall_ns;
    ts_pg_conn **rfree;
    size_t nrfree, nropen, read_max;
    /* the writer (pg_writer.c) */
    pthread_t writer;
    int writer_started;
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    ts_write *qhead, *qtail;
    uint64_t qdepth, queue_max, batch_max;
    int stopping;
    ts_pg_conn *w; /* the writer's connection, NULL while PostgreSQL is away */
    /* 1 while the last connect or transaction succeeded: /healthz and writes
     * answer 503 at once while it is 0 (pg_writer.c) */
    _Atomic int up;
    /* bumped by this process's key creates and revokes (keys_epoch):
     * another daemon's reach this one's cache within key_cache_ms */
    _Atomic uint64_t keys_epoch;
    /* stats (under qmu). traces_created: ts_pg_job_run adds the trace rows
     * a job that succeeded inserted; the writer takes back what a
     * transaction that is run again or fails had added. */
    uint64_t n_tx, n_jobs, n_retries, traces_created;
    ts_hist commit_hist, jobs_hist;
} ts_pg;

/* pg_util.c ------------------------------------------------------------ */

void ts_pgp_reset(ts_pgp *p);
void ts_pgp_text(ts_pgp *p, const char *s); /* NULL: SQL NULL */
void ts_pgp_i64(ts_pgp *p, int64_t v);
void ts_pgp_i64_opt(ts_pgp *p, int64_t v);                      /* TS_TOKENS_ABSENT: NULL */
void ts_pgp_f64(ts_pgp *p, double v);                           /* %.17g: round-trips */
void ts_pgp_bytea(ts_pgp *p, const unsigned char *b, size_t n); /* \x hex, n <= 32 */
void ts_pgp_null(ts_pgp *p);

/* Runs sql with p (NULL: none). id >= 0: prepared once per connection as
 * "s<id>" and executed by name (the same id must always carry the same
 * text); id < 0: unnamed, parsed each time (built queries). Returns the
 * result (PQclear it) or NULL when out of memory / parameters overflowed.
 * Never waits on the server past c->timeout_ms: the connection is then
 * dropped and the result says so (ts_pg_check: TS_EBUSY). */
PGresult *ts_pg_run(ts_pg_conn *c, int id, const char *sql, const ts_pgp *p);
/* The same with n raw values of the given lengths and formats (1: binary,
 * 0: text; NULL lens/fmts: all text), e.g. binary arrays, which the server
 * takes without array_in's parsing. */
PGresult *ts_pg_run_raw(ts_pg_conn *c, int id, const char *sql, int n, const char *const *vals,
                        const int *lens, const int *fmts);
/* TS_OK for PGRES_COMMAND_OK / TUPLES_OK, else the mapped error with the
 * server's message in err: connection loss and 08xxx/57Pxx/53xxx ->
 * TS_EBUSY (503, retry later), 40P01/40001 -> TS_PG_RETRY, 23505 ->
 * TS_ECONFLICT, 22xxx -> TS_EINVAL, anything else TS_EIO. r may be NULL. */
int ts_pg_check(ts_pg_conn *c, const PGresult *r, ts_err *err);
/* A simple-protocol command (several statements allowed, no
 * parameters), bounded by c->timeout_ms like ts_pg_run; the result as
 * PQexec gives it (PQclear it), NULL when it cannot be sent. */
PGresult *ts_pg_simple(ts_pg_conn *c, const char *sql);
/* ts_pg_run + ts_pg_check, result dropped. */
int ts_pg_do(ts_pg_conn *c, int id, const char *sql, const ts_pgp *p, ts_err *err);
/* Column readers: NULL / absent -> the default. Text is copied into a. */
int64_t ts_pg_i64(const PGresult *r, int row, int col, int64_t dflt);
double ts_pg_f64(const PGresult *r, int row, int col, double dflt);
char *ts_pg_text(ts_arena *a, const PGresult *r, int row, int col); /* NULL for NULL */
int ts_pg_isnull(const PGresult *r, int row, int col);
/* 1 when the connection is gone (PQstatus bad): drop it and reconnect. */
int ts_pg_conn_bad(const ts_pg_conn *c);

/* pg.c ----------------------------------------------------------------- */

/* A new connection to cfg.postgres_url (NULL and err set on failure, with
 * TS_EBUSY: unreachable). Sets the session's settings (synchronous_commit
 * on, UTC, a statement timeout below request_timeout_s). */
ts_pg_conn *ts_pg_connect(const ts_pg *s, ts_err *err);
void ts_pg_conn_free(ts_pg_conn *c);
/* 1 while the server still holds c: reads what is pending without a round
 * trip, so a connection a restarted server closed is seen before use. */
int ts_pg_conn_alive(ts_pg_conn *c);
/* A read connection from the pool (NULL: PostgreSQL unreachable, err set
 * TS_EBUSY); put it back with broken = 1 when a query on it failed for
 * the connection's sake (it is closed instead of pooled). */
ts_pg_conn *ts_pg_reader_get(ts_pg *s, ts_err *err);
void ts_pg_reader_put(ts_pg *s, ts_pg_conn *c);

/* pg_writer.c ---------------------------------------------------------- */

int ts_pg_writer_start(ts_pg *s, ts_err *err);
void ts_pg_writer_stop(ts_pg *s); /* drains the queue first */
int ts_pg_submit(ts_store *st, ts_write *w);

/* pg_jobs.c ------------------------------------------------------------ */

/* Runs one job in the writer's open transaction on c (the writer wraps it
 * in a savepoint and rolls back to it when the job fails). Fills w's
 * results and returns w's outcome (TS_OK or the job's error, which fails
 * that job only), TS_PG_RETRY (the whole transaction must be run again) or
 * TS_EBUSY when the connection failed (the transaction is lost). now is
 * the transaction's time. Every trace it writes is locked first with
 * ts_pg_lock_traces. */
int ts_pg_job_run(ts_pg *s, ts_pg_conn *c, ts_write *w, int64_t now);
/* Takes the transaction-scoped advisory locks of n (ws_id, trace_id)
 * pairs in one sorted order (pg_advisory_xact_lock(ws_id,
 * hashtext(trace_id))), so two daemons' transactions never wait on each
 * other in a cycle for the traces they name up front. */
int ts_pg_lock_traces(ts_pg_conn *c, int64_t ws_id, const char *const *trace_ids, size_t n,
                      ts_err *err);

/* pg_query.c ----------------------------------------------------------- */

int ts_pg_trace_get(ts_store *st, int64_t ws_id, const char *trace_id, ts_arena *a, ts_trace *out,
                    ts_span **spans, size_t *nspans);
int ts_pg_trace_list(ts_store *st, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                     ts_trace **out, size_t *n, int *more, int64_t *count);
int ts_pg_metrics(ts_store *st, int64_t ws_id, const char *project, int64_t from_ns, int64_t to_ns,
                  ts_metrics *out);
int ts_pg_projects(ts_store *st, int64_t ws_id, int64_t after, int64_t limit, ts_arena *a,
                   ts_project **out, size_t *n, int *more);
/* The selection of a trace query for the writer's bulk delete: exactly
 * the rows ts_sqlite_query_prepare(..., with_order = 0, ...) selects (the
 * same builder as lists and counts, pg_qbuild.c). Appends to the
 * NUL-terminated sql (cap bytes in all; the caller has written its SELECT
 * list there, e.g. "SELECT t.trace_id, t.id") the text
 *   " FROM traces t WHERE t.ws_id = $k AND <conditions>"
 * with no ORDER BY, LIMIT or locking clause (append your own), and to p
 * the parameters it names, numbered from p->n + 1: $k = ws_id, then (when
 * a condition has values) one text[] holding every value. So it adds at
 * most two parameters whatever the query's size; the text is about 200
 * bytes per condition (16 KiB is ample). TS_ETOOBIG when sql or p is
 * full, TS_ENOMEM; sql is unchanged on error. Backend-pure: no
 * connection, callable inside the writer's transaction. */
int ts_pg_query_where(int64_t ws_id, const ts_trace_query *q, ts_arena *a, char *sql, size_t cap,
                      ts_pgp *p);
/* A span row read back by TS_PG_SPAN_COLS' 36 columns starting at column
 * col0 of row `row` (the writer's /track-request merge reads spans so). */
#define TS_PG_SPAN_COLS                                                                            \
    "s.id, s.span_id, s.parent_id, s.name, s.kind, s.start_ns, s.end_ns, s.status_code, "          \
    "s.status_message, s.trace_state, s.attributes, s.events, s.links, s.resource, s.scope, "      \
    "s.origin, s.type, s.model, s.provider, s.input, s.output, s.prompt_tokens, "                  \
    "s.completion_tokens, s.total_tokens, s.cache_read_tokens, s.cache_write_tokens, "             \
    "s.reasoning_tokens, s.cost, s.unpriced, s.error, s.session_id, s.user_id, s.metadata, "       \
    "s.latency_ms, s.request_log_id, s.created_ns"
void ts_pg_span_row(const PGresult *r, int row, int col0, ts_arena *a, ts_span *sp);
/* The trace row (TS_SQL_TRACE_COLS of query_common.h) at col0. */
void ts_pg_trace_row(const PGresult *r, int row, int col0, ts_arena *a, ts_trace *t);

/* pg_qbuild.c: the query builder behind lists, counts, metrics and
 * ts_pg_query_where. Text grows on the heap (oom set on failure); values
 * collect into one text[] parameter. */
typedef struct ts_pg_qb {
    char *sql;
    size_t len, cap;
    int oom;
    ts_arena *a;
    int ws_no, arr_no; /* $n of the workspace id and of the values array */
    const char **vals; /* borrowed texts (the query's, or a's) */
    size_t nvals, vcap;
    int arr_used;
} ts_pg_qb;
/* Parameters are numbered from first_param ($first_param = ws_id). */
void ts_pg_qb_init(ts_pg_qb *b, ts_arena *a, int first_param);
void ts_pg_qb_free(ts_pg_qb *b);
void ts_pg_qb_put(ts_pg_qb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends "t.ws_id = $w AND <project> AND <conditions>" (over traces t). */
void ts_pg_qb_where(ts_pg_qb *b, const ts_trace_query *q);
/* Appends ws_id and the values array to p (p->n must be first_param - 1). */
int ts_pg_qb_params(ts_pg_qb *b, int64_t ws_id, ts_pgp *p);

extern const ts_store_ops ts_pg_ops;

#endif
