/* pg_todo.c: TEMPORARY, deleted before the PostgreSQL backend is switched
 * on. Placeholders for the contract functions of pg_int.h while pg.c,
 * pg_writer.c, pg_jobs.c and pg_query.c are written in parallel: each
 * block goes when its file lands. Nothing reaches them (store.c does not
 * select the backend until every block is gone). */
#include "store/pg_int.h"

/* ---- block CORE: pg.c and pg_writer.c ---- */

ts_pg_conn *ts_pg_connect(const ts_pg *s, ts_err *err)
{
    (void)s;
    ts_err_set(err, TS_EIO, "postgres: not built yet");
    return NULL;
}

void ts_pg_conn_free(ts_pg_conn *c)
{
    (void)c;
}

ts_pg_conn *ts_pg_reader_get(ts_pg *s, ts_err *err)
{
    (void)s;
    ts_err_set(err, TS_EIO, "postgres: not built yet");
    return NULL;
}

void ts_pg_reader_put(ts_pg *s, ts_pg_conn *c)
{
    (void)s;
    (void)c;
}

int ts_pg_writer_start(ts_pg *s, ts_err *err)
{
    (void)s;
    return ts_err_set(err, TS_EIO, "postgres: not built yet");
}

void ts_pg_writer_stop(ts_pg *s)
{
    (void)s;
}

int ts_pg_submit(ts_store *st, ts_write *w)
{
    (void)st;
    (void)w;
    return TS_ESHUTDOWN;
}

/* ---- end of block CORE ---- */

/* ---- block JOBS: pg_jobs.c ---- */

int ts_pg_job_run(ts_pg *s, ts_pg_conn *c, ts_write *w, int64_t now)
{
    (void)s;
    (void)c;
    (void)now;
    return ts_err_set(&w->err, TS_EIO, "postgres: not built yet");
}

int ts_pg_lock_traces(ts_pg_conn *c, int64_t ws_id, const char *const *trace_ids, size_t n,
                      ts_err *err)
{
    (void)c;
    (void)ws_id;
    (void)trace_ids;
    (void)n;
    return ts_err_set(err, TS_EIO, "postgres: not built yet");
}

/* ---- end of block JOBS ---- */

