/* sqlite_int.h: private to the SQLite backend (sqlite.c: connections,
 * migrations, reads; sqlite_writer.c, sqlite_jobs.c, sqlite_tagg.c: the writer
 * thread and every write, see sqlite_write_int.h).
 * sqlite3.h is included nowhere outside src/store/sqlite*.c. */
#ifndef TS_SQLITE_INT_H
#define TS_SQLITE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store/jobs_common.h"
#include "store/query_common.h"
#include "store/sqlite_pcache.h"
#include "store/sqlite_vfs.h"
#include "store/store_int.h"
#include "tracestore/metrics.h"

/* Every statement either connection kind prepares, by id. */
enum {
    Q_KEY_CANDIDATES,
    Q_TRACE_GET,
    Q_SPANS_GET,
    Q_KEY_LIST,
    Q_WS_COUNT,
    /* writer */
    Q_SPAN_OLD,
    Q_SPAN_INSERT,
    Q_SPAN_UPDATE,
    Q_CTX_FIND,
    Q_CTX_INSERT,
    Q_RL_INSERT,
    Q_RL_UPDATE,
    Q_CLOSED,
    Q_TRACE_LOAD,
    Q_TRACE_INSERT,
    Q_TRACE_UPDATE,
    Q_RECOMP_EXT,
    Q_RECOMP_ROOT,
    Q_RECOMP_ERR,
    Q_RECOMP_SUMS,
    Q_CLOSE_INSERT,
    Q_TRACE_START,
    Q_DEL_SPANS,
    Q_DEL_CTX,
    Q_DEL_RL,
    Q_DEL_TRACE,
    Q_DEL_CLOSURE,
    Q_WS_FIND,
    Q_WS_INSERT,
    Q_PROJ_INSERT,
    Q_PROJ_DEFAULT,
    Q_KEY_INSERT,
    Q_KEY_REVOKE,
    /* lists, projects, feedback, track-request, trace meta */
    Q_PROJ_LIST,
    Q_PROJ_BY_UUID,
    Q_PROJ_BY_NAME,
    Q_TRACE_META,
    Q_DIM_INC,
    Q_DIMS_SETTLE,
    Q_DIMS_MARK,
    Q_DIMS_MARK_GET,
    Q_DIM_DROP,
    Q_DIM_SYNC,
    Q_DEL_DIMS,
    Q_DEL_FEEDBACK,
    Q_FEEDBACK_INSERT,
    Q_TRACE_EXISTS,
    Q_SPAN_BY_ID,
    Q_SPAN_FULL,
    Q_RL_PENDING,
    Q_RL_ATTACH,
    Q_RL_TRACK_INSERT,
    Q_RL_ANY_PENDING,
    Q_SPANWIN_LOAD,
    /* retention (sqlite_sweep.c) and the workspace commands */
    Q_SWEEP_WS,
    Q_SWEEP_ENDED,
    Q_SWEEP_NOEND,
    Q_SWEEP_LOGS,
    Q_WS_RETENTION,
    Q_WS_LIST,
    Q_TRACE_NEXT,
    Q_TX_BEGIN,
    Q_TX_COMMIT,
    Q_TX_ROLLBACK,
    Q_TX_SAVEPOINT,
    Q_TX_RELEASE,
    Q_TX_ROLLBACK_TO,
    Q__COUNT
};

typedef struct ts_sqlite_conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[Q__COUNT];
    int pending_logs;           /* writer: a request log may wait for its span */
    struct ts_spanwin *spanwin; /* writer: recently written span ids (spanwin.h) */
    struct ts_spanctx *spanctx; /* writer: span contexts' idx by trace (spanctx.h) */
    int64_t next_trace_row;     /* writer: row id the next new trace gets (per transaction) */
    uint64_t traces_new;        /* writer: trace rows inserted in the open transaction */
    int64_t dims_upto;          /* writer: dims_watermark as committed (migration 0005) */
    int64_t dims_settled_ns;    /* writer: when trace_dims rows were last settled */
    struct ts_sqlite_conn *next_free;
} ts_sqlite_conn;

/* Syncer threads. The writer commits when no fdatasync runs, except at
 * writer_batch_max jobs: the second syncer serves such a commit at once. */
#define TS_SYNCERS 2

/* Tests only: when set, each syncer calls it before its fdatasync, so a
 * test can hold a sync under way. NULL in the daemon. */
extern void (*ts_sqlite_before_sync)(void);

typedef struct ts_sqlite {
    struct ts_store base;
    char path[4096];
    /* reader pool */
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
    ts_sqlite_conn *rfree;
    ts_sqlite_conn **readers;
    int nreaders;
    /* writer */
    ts_sqlite_conn *w;
    pthread_t wthread;
    int wthread_started;
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    ts_write *qhead, *qtail;
    uint64_t qlen;
    uint64_t qmax;
    uint64_t batch_max;
    int64_t settle_ns; /* dims_settle_ms */
    int stopping;
    uint64_t n_tx, n_jobs;
    /* syncer (synchronous=full): the writer commits with synchronous=NORMAL
     * and hands each committed chain here; this thread fdatasyncs the WAL
     * and only then runs the done callbacks, while the writer already
     * builds the next transaction. */
    int pipelined;
    pthread_t sthread[TS_SYNCERS];
    int nsthreads;
    pthread_mutex_t wmu; /* walfd */
    pthread_mutex_t smu;
    pthread_cond_t scv;
    ts_write *shead, *stail;
    int sbusy; /* fdatasyncs running */
    int sstopping;
    int walfd;
    int kickfd;               /* the writer's descriptor of the WAL for wal_kick */
    uint64_t n_sync, sync_ns; /* fdatasyncs done and their total time */
    dev_t wal_dev;
    ino_t wal_ino;
    int keysfd;              /* <db>-keys: the key epoch (see keys_epoch in sqlite.c) */
    const uint64_t *keysmap; /* its mapping, or NULL */
    /* checkpoints (sqlite_ckpt.c) */
    sqlite3 *ckdb; /* the checkpointer's connection (NULL: none) */
    pthread_t cthread;
    int cthread_started;
    int ck_enabled; /* this process checkpoints (the daemon) */
    int64_t ck_pages, ck_wal_max;
    pthread_mutex_t crun; /* held by whoever runs a checkpoint */
    pthread_mutex_t cmu;  /* the fields below */
    pthread_cond_t ccv;
    int cstopping;
    uint64_t ck_seq;        /* checkpoints finished */
    uint64_t ck_tx_seq;     /* ck_seq when the writer's transaction began */
    uint64_t ck_ok_seq;     /* a commit begun after checkpoint ck_ok_seq ended */
    int64_t wal_frames;     /* frames in the WAL after the last commit */
    int64_t wal_backfilled; /* frames the last checkpoint left copied */
    int ck_want;            /* a pass is due (set by the WAL hook) */
    int ck_running;         /* the checkpointer is in a pass (or its sync) */
    uint64_t n_ckpt, n_ckpt_inline, ckpt_ns, ckpt_inline_ns;
    /* GET /metrics (ts_store_stats): observed with relaxed atomics by the
     * thread that times the event, read by sqlite_stats. h_ckpt and
     * h_ckpt_inline are fed by sqlite_ckpt.c; h_commit (each COMMIT), h_sync
     * (each fdatasync of a syncer) and h_jobs (jobs per committed
     * transaction) and n_traces_created are fed by sqlite_writer.c at each
     * COMMIT and by its syncers. */
    ts_hist h_commit, h_sync, h_jobs, h_ckpt, h_ckpt_inline;
    _Atomic uint64_t n_traces_created;
} ts_sqlite;

/* Checkpoints off the writer's thread (sqlite_ckpt.c). start installs the
 * writer's WAL hook (autocheckpoint off) and, for the daemon, starts the
 * checkpointer thread on its own connection (without one, the writer
 * checkpoints every sqlite_checkpoint_pages itself); stop joins it. tx_begin is
 * called by the writer right before each BEGIN. */
void ts_sqlite_ckpt_start(ts_sqlite *s, const ts_config *cfg);
void ts_sqlite_ckpt_stop(ts_sqlite *s);
void ts_sqlite_ckpt_tx_begin(ts_sqlite *s);

/* Returns the cached prepared statement id of c, preparing it on first
 * use; NULL (and logs) on failure. The statement is reset before return. */
sqlite3_stmt *ts_sqlite_stmt(ts_sqlite_conn *c, int id);
/* The SQL text of statement id (for the tests of query plans). */
const char *ts_sqlite_sql(int id);
/* Maps a SQLite result code to a ts status. */
int ts_sqlite_rc(int src);
/* Column text copied into arena a (NULL stays NULL). */
char *ts_sqlite_col_text(ts_arena *a, sqlite3_stmt *st, int col);

/* spans.unpriced holds the span's price state (jobs_common.h). */
enum {
    TS_SQL_CLIENT_COST = TS_PRICE_CLIENT,
    TS_SQL_UNPRICED = TS_PRICE_UNPRICED,
    TS_SQL_TABLE_PRICED = TS_PRICE_TABLE
};

static inline int ts_sqlite_price_state(const ts_span *sp)
{
    return ts_jobs_price_state(sp);
}

/* The span row: "id, span_id, " then the tail (TS_SQL_SPAN_HEAD and _REST
 * in query_common.h). The writer writes TS_SQL_SPAN_TAIL (35 values, the
 * last the span_ctx idx); readers select TS_SQL_SPAN_TAIL_READ (34
 * columns) FROM TS_SQL_SPAN_FROM, which takes the resource and scope from
 * the span's span_ctx row when it has one (migration 0006). */
#define TS_SQL_SPAN_TAIL TS_SQL_SPAN_HEAD "resource, scope, " TS_SQL_SPAN_REST ", ctx"
#define TS_SQL_SPAN_TAIL_READ                                                                      \
    TS_SQL_SPAN_HEAD "coalesce(c.resource, s.resource), "                                          \
                     "CASE WHEN s.ctx IS NULL THEN s.scope ELSE c.scope END, " TS_SQL_SPAN_REST
#define TS_SQL_SPAN_FROM "spans s LEFT JOIN span_ctx c ON c.trow = s.trow AND c.idx = s.ctx"

/* Reader pool (sqlite.c). */
ts_sqlite_conn *ts_sqlite_reader_get(ts_sqlite *s);
void ts_sqlite_reader_put(ts_sqlite *s, ts_sqlite_conn *c);
void ts_sqlite_read_trace_row(sqlite3_stmt *q, ts_arena *a, ts_trace *t);
void ts_sqlite_read_span_row(sqlite3_stmt *q, ts_arena *a, ts_span *sp);

/* sqlite_query.c: trace queries built from fixed SQL fragments. */
typedef struct ts_sqlbuf ts_sqlbuf;
/* Builds "FROM traces t LEFT JOIN projects p ... WHERE <conds>" for q and
 * workspace ws into a statement text; *out is prepared (caller finalizes)
 * with every parameter bound. select: the column list; tail: ORDER BY /
 * LIMIT text appended after the WHERE clause (may be NULL); keyset and
 * sort fragments are added when with_order is set. */
int ts_sqlite_query_prepare(sqlite3 *db, int64_t ws_id, const ts_trace_query *q, const char *select,
                            int with_order, int64_t limit, int64_t offset, ts_arena *a,
                            sqlite3_stmt **out);
int ts_sqlite_trace_list(ts_store *st, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                         ts_trace **out, size_t *n, int *more, int64_t *count);
int ts_sqlite_metrics(ts_store *st, int64_t ws_id, const char *project, int64_t from_ns,
                      int64_t to_ns, ts_metrics *out);

/* Writes a new key epoch (after a committed revoke). */
void ts_sqlite_keys_bump(ts_sqlite *s);

/* sqlite_vacuum.c */
int ts_sqlite_vacuum(const ts_config *cfg, ts_vacuum_info *out, ts_err *err);

/* sqlite_writer.c */
int ts_sqlite_writer_start(ts_sqlite *s, const ts_config *cfg, ts_err *err);
void ts_sqlite_writer_stop(ts_sqlite *s);
int ts_sqlite_submit(ts_store *st, ts_write *w);

/* sqlite_admin.c: the ops table's key_list, workspace_count and
 * workspace_list (store.h). */
int ts_sqlite_key_list(ts_store *st, ts_arena *a, ts_key_info **out, size_t *n);
int ts_sqlite_workspace_count(ts_store *st, int64_t *n);
int ts_sqlite_workspace_list(ts_store *st, ts_arena *a, ts_workspace_info **out, size_t *n);

#endif
