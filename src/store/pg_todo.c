/* pg_todo.c: TEMPORARY, deleted before the PostgreSQL backend is switched
 * on. Placeholders for the contract functions of pg_int.h while pg.c,
 * pg_writer.c, pg_jobs.c and pg_query.c are written in parallel: each
 * block goes when its file lands. Nothing reaches them (store.c does not
 * select the backend until every block is gone). */
#include "store/pg_int.h"


/* ---- block READ: pg_query.c ---- */

int ts_pg_trace_get(ts_store *st, int64_t ws_id, const char *trace_id, ts_arena *a,
                    ts_trace *out, ts_span **spans, size_t *nspans)
{
    (void)st, (void)ws_id, (void)trace_id, (void)a, (void)out, (void)spans, (void)nspans;
    return TS_EIO;
}

int ts_pg_trace_list(ts_store *st, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                     ts_trace **out, size_t *n, int *more, int64_t *count)
{
    (void)st, (void)ws_id, (void)q, (void)a, (void)out, (void)n, (void)more, (void)count;
    return TS_EIO;
}

int ts_pg_metrics(ts_store *st, int64_t ws_id, const char *project, int64_t from_ns,
                  int64_t to_ns, ts_metrics *out)
{
    (void)st, (void)ws_id, (void)project, (void)from_ns, (void)to_ns, (void)out;
    return TS_EIO;
}

int ts_pg_projects(ts_store *st, int64_t ws_id, int64_t after, int64_t limit, ts_arena *a,
                   ts_project **out, size_t *n, int *more)
{
    (void)st, (void)ws_id, (void)after, (void)limit, (void)a, (void)out, (void)n, (void)more;
    return TS_EIO;
}

int ts_pg_query_where(int64_t ws_id, const ts_trace_query *q, ts_arena *a, char *sql, size_t cap,
                      ts_pgp *p)
{
    (void)ws_id, (void)q, (void)a, (void)sql, (void)cap, (void)p;
    return TS_EIO;
}

/* ---- end of block READ ---- */
