/* sqlite_sweep.c: the retention jobs. A sweep job (TS_W_SWEEP) deletes at
 * most max_delete expired traces, oldest first, each through the delete
 * path of TS_W_DELETE (ts_sqlite_delete_trace); TS_W_WS_RETENTION sets one
 * workspace's own retention. Both run on the writer, in their savepoint. */
#include <string.h>

#include "store/sqlite_write_int.h"

typedef struct victims {
    char **ids;
    int64_t *rows;
    ts_sweep_bound b; /* traces (and logs) taken and their spans (jobs_common.h) */
} victims;

/* Appends up to cap - n traces selected by statement id (ws, cutoff,
 * limit) to v. The statement is done before anything is deleted. */
static int collect(job_ctx *j, int id, int64_t ws, int64_t cutoff, victims *v)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, id);
    int src = SQLITE_DONE;
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, ws);
    sqlite3_bind_int64(q, 2, cutoff);
    sqlite3_bind_int64(q, 3, v->b.cap - v->b.n);
    while (!ts_sweep_full(&v->b) && (src = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t k = v->b.n;
        if (!ts_sweep_take(&v->b, sqlite3_column_int64(q, 2)))
            break;
        if (!(v->ids[k] = ts_sqlite_col_text(j->a, q, 0))) {
            sqlite3_reset(q);
            return TS_ENOMEM;
        }
        v->rows[k] = sqlite3_column_int64(q, 1);
    }
    sqlite3_reset(q);
    return src == SQLITE_ROW || src == SQLITE_DONE ? TS_OK : ts_sqlite_rc(src);
}

/* Sweeps one workspace: its expired traces (ended before cutoff, or
 * without an end and last written before it), then its /track-request
 * logs that waited for a span since before it. */
static int sweep_ws(job_ctx *j, int64_t ws, int64_t cutoff, victims *v)
{
    ts_write *w = j->w;
    int64_t from = v->b.n;
    int rc;
    if ((rc = collect(j, Q_SWEEP_ENDED, ws, cutoff, v)) != TS_OK ||
        (rc = collect(j, Q_SWEEP_NOEND, ws, cutoff, v)) != TS_OK)
        return rc;
    w->ws_id = ws; /* the delete path binds the job's workspace */
    for (int64_t i = from; i < v->b.n; i++)
        if ((rc = ts_sqlite_delete_trace(j, v->ids[i], v->rows[i])) != TS_OK)
            return rc;
    w->affected += v->b.n - from;
    if (ts_sweep_full(&v->b))
        return TS_OK;
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_SWEEP_LOGS);
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, ws);
    sqlite3_bind_int64(q, 2, cutoff);
    sqlite3_bind_int64(q, 3, v->b.cap - v->b.n);
    if ((rc = ts_sqlite_step_done(q)) != TS_OK)
        return rc;
    int64_t logs = sqlite3_changes(j->c->db);
    w->swept_logs += logs;
    v->b.n += logs; /* they count towards the job's bound too */
    return TS_OK;
}

int ts_sqlite_apply_sweep(job_ctx *j)
{
    ts_write *w = j->w;
    int64_t day_ns = w->retention_day_s * 1000000000;
    victims v;
    ts_sweep_bound_init(&v.b, w);
    v.ids = ts_arena_alloc(j->a, (size_t)v.b.cap * sizeof(char *));
    v.rows = ts_arena_alloc(j->a, (size_t)v.b.cap * sizeof(int64_t));
    int64_t *wsl = NULL, *days = NULL, nws = 0, capws = 0;
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_SWEEP_WS);
    int rc = TS_OK, src;

    w->affected = w->swept_logs = 0;
    w->sweep_more = 0;
    if (!v.ids || !v.rows)
        return TS_ENOMEM;
    if (!q || day_ns <= 0)
        return TS_EIO;
    /* The workspaces with a retention, read whole before any delete. */
    sqlite3_bind_int64(q, 1, w->retention_days);
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        if (nws == capws) {
            int64_t ncap = capws ? capws * 2 : 16;
            int64_t *nw = ts_arena_alloc(j->a, (size_t)ncap * sizeof(*nw) * 2);
            if (!nw) {
                sqlite3_reset(q);
                return TS_ENOMEM;
            }
            if (nws) {
                memcpy(nw, wsl, (size_t)nws * sizeof(*nw));
                memcpy(nw + ncap, days, (size_t)nws * sizeof(*nw));
            }
            wsl = nw;
            days = nw + ncap;
            capws = ncap;
        }
        wsl[nws] = sqlite3_column_int64(q, 0);
        days[nws++] = sqlite3_column_int64(q, 1);
    }
    sqlite3_reset(q);
    if (src != SQLITE_DONE)
        return ts_sqlite_rc(src) ? ts_sqlite_rc(src) : TS_EIO;
    for (int64_t i = 0; i < nws && rc == TS_OK && !ts_sweep_full(&v.b); i++)
        rc = sweep_ws(j, wsl[i], ts_sweep_cutoff(j->now, days[i], day_ns), &v);
    w->ws_id = 0;
    ts_sweep_done(w, &v.b, rc);
    return rc;
}

int ts_sqlite_apply_ws_retention(job_ctx *j)
{
    ts_write *w = j->w;
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_WS_RETENTION);
    int rc;
    if (!q)
        return TS_EIO;
    if ((rc = ts_ws_retention_check(w)) != TS_OK)
        return rc;
    sqlite3_bind_text(q, 1, w->ws_name, -1, SQLITE_STATIC);
    if (w->retention_days < 0)
        sqlite3_bind_null(q, 2);
    else
        sqlite3_bind_int64(q, 2, w->retention_days);
    if ((rc = ts_sqlite_step_done(q)) != TS_OK)
        return rc;
    w->affected = sqlite3_changes(j->c->db);
    if (!w->affected)
        return ts_err_set(&w->err, TS_ENOTFOUND, "no workspace named '%s'", w->ws_name);
    return TS_OK;
}
