/* sqlite_int.h: private to the SQLite backend (sqlite.c: connections,
 * migrations, reads; sqlite_write.c: the writer thread and every write).
 * sqlite3.h is included nowhere outside src/store/sqlite*.c. */
#ifndef TS_SQLITE_INT_H
#define TS_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store/store_int.h"

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
    Q_RL_INSERT,
    Q_RL_UPDATE,
    Q_CLOSED,
    Q_TRACE_LOAD,
    Q_TRACE_INSERT,
    Q_TRACE_UPDATE,
    Q_RECOMP_EXT,
    Q_RECOMP_ROOT,
    Q_RECOMP_ERR,
    Q_CLOSE_INSERT,
    Q_TRACE_START,
    Q_DEL_SPANS,
    Q_DEL_RL,
    Q_DEL_TRACE,
    Q_DEL_CLOSURE,
    Q_WS_FIND,
    Q_WS_INSERT,
    Q_PROJ_INSERT,
    Q_PROJ_DEFAULT,
    Q_KEY_INSERT,
    Q_KEY_REVOKE,
    Q__COUNT
};

typedef struct ts_sqlite_conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[Q__COUNT];
    struct ts_sqlite_conn *next_free;
} ts_sqlite_conn;

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
    int stopping;
    uint64_t n_tx, n_jobs;
} ts_sqlite;

/* Returns the cached prepared statement id of c, preparing it on first
 * use; NULL (and logs) on failure. The statement is reset before return. */
sqlite3_stmt *ts_sqlite_stmt(ts_sqlite_conn *c, int id);
/* Maps a SQLite result code to a ts status. */
int ts_sqlite_rc(int src);
/* Column text copied into arena a (NULL stays NULL). */
char *ts_sqlite_col_text(ts_arena *a, sqlite3_stmt *st, int col);

/* sqlite_write.c */
int ts_sqlite_writer_start(ts_sqlite *s, ts_err *err);
void ts_sqlite_writer_stop(ts_sqlite *s);
int ts_sqlite_submit(ts_store *st, ts_write *w);

#endif
