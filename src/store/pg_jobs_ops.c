/* pg_jobs_ops.c: the PostgreSQL jobs other than ingest: close, delete,
 * bulk delete, feedback, /track-request, key create and revoke, the
 * retention sweep and a workspace's retention (SQLite's sqlite_jobs.c and
 * sqlite_sweep.c). Jobs that find their traces while running lock each
 * (ts_pg_lock_traces) and read it again before writing it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_jobs_int.h"
#include "tracestore/ids.h"

static const char SQL_TRACE_START[] =
    "SELECT coalesce(t_started_ns, started_ns), id FROM traces WHERE ws_id = $1 AND trace_id = $2";
static const char SQL_CLOSED[] = "SELECT 1 FROM trace_closures WHERE ws_id = $1 AND trace_id = $2";
static const char SQL_TRACE_EXISTS[] = "SELECT 1 FROM traces WHERE ws_id = $1 AND trace_id = $2";
static const char SQL_FEEDBACK_INSERT[] =
    "INSERT INTO feedback (ws_id, trace_id, uuid, label, score, comment, metadata, created_ns) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/* Through spans_span_id: any stored span of the workspace, the newest
 * when several traces hold the id (SQLite's window keeps the last). */
static const char SQL_SPAN_FIND[] =
    "SELECT trow, trace_id FROM spans WHERE ws_id = $1 AND span_id = $2 ORDER BY id DESC LIMIT 1";
static const char SQL_SPAN_FULL[] =
    "SELECT " TS_PG_SPAN_COLS " FROM spans s WHERE s.trow = $1 AND s.span_id = $2";
static const char SQL_RL_TRACK_INSERT[] =
    "INSERT INTO request_logs (ws_id, trace_id, span_id, body, created_ns, model, provider, "
    "input, output, prompt_tokens, completion_tokens, cost, trow) VALUES ($1, $2, $3, $4, $5, $6, "
    "$7, $8, $9, $10, $11, $12, $13) RETURNING id";
static const char SQL_WS_FIND[] = "SELECT id, uuid, name FROM workspaces WHERE name = $1";
/* Two daemons may create one workspace at once: the loser reads it. */
static const char SQL_WS_INSERT[] =
    "INSERT INTO workspaces (uuid, name, created_ns) VALUES ($1, $2, $3) ON CONFLICT (name) DO "
    "NOTHING RETURNING id";
static const char SQL_KEY_INSERT[] =
    "INSERT INTO api_keys (ws_id, prefix, hash, created_ns) VALUES ($1, $2, $3, $4) RETURNING id";
static const char SQL_KEY_REVOKE[] =
    "UPDATE api_keys SET revoked_ns = $2 WHERE prefix = $1 AND revoked_ns = 0";
static const char SQL_SWEEP_WS[] =
    "SELECT id, coalesce(retention_days, $1::bigint) FROM workspaces "
    "WHERE coalesce(retention_days, $1::bigint) > 0 ORDER BY id";
/* traces_ws_end, oldest first; a NULL end never compares below */
static const char SQL_SWEEP_ENDED[] =
    "SELECT trace_id, id, span_count FROM traces WHERE ws_id = $1 AND eff_end < $2 "
    "ORDER BY eff_end, id LIMIT $3";
/* traces_ws_noend: no end, aged by the last write */
static const char SQL_SWEEP_NOEND[] =
    "SELECT trace_id, id, span_count FROM traces WHERE ws_id = $1 AND t_ended_ns IS NULL "
    "AND ended_ns IS NULL AND updated_ns < $2 ORDER BY updated_ns, id LIMIT $3";
/* The victims still expired once locked (another daemon may have written
 * them since they were chosen). */
static const char SQL_SWEEP_RECHECK[] =
    "SELECT trace_id, id FROM traces WHERE id = ANY($1::bigint[]) AND (eff_end < $2 OR "
    "(t_ended_ns IS NULL AND ended_ns IS NULL AND updated_ns < $2)) ORDER BY id";
static const char SQL_SWEEP_LOGS[] =
    "DELETE FROM request_logs WHERE id IN (SELECT id FROM request_logs WHERE ws_id = $1 AND "
    "trace_id = '' AND created_ns < $2 LIMIT $3)";
/* The late attach: pending logs whose span is stored now (the partial index
 * request_logs_pending joined with spans_span_id), oldest first. */
static const char SQL_SWEEP_PENDING[] =
    "SELECT r.id, r.ws_id, r.span_id, r.model, r.provider, r.input, r.output, r.prompt_tokens, "
    "r.completion_tokens, r.cost FROM request_logs r WHERE r.trace_id = '' AND r.span_id <> '' "
    "AND EXISTS (SELECT 1 FROM spans s WHERE s.ws_id = r.ws_id AND s.span_id = r.span_id) "
    "ORDER BY r.id LIMIT $1";
/* Still pending under the trace's lock: else another job attached it. */
static const char SQL_RL_LATE_ATTACH[] =
    "UPDATE request_logs SET trace_id = $2, trow = $3 WHERE id = $1 AND trace_id = ''";
static const char SQL_WS_RETENTION[] = "UPDATE workspaces SET retention_days = $2 WHERE name = $1";

static int lock_one(pgj *j, int64_t ws, const char *trace_id)
{
    return ts_pg_lock_traces(j->c, ws, &trace_id, 1, &j->w->err);
}

/* The trace's start and row id (*trow 0: no such trace). */
static int trace_start(pgj *j, const char *trace_id, int64_t *started, int64_t *trow)
{
    PGresult *r;
    int rc;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, j->w->ws_id);
    ts_pgp_text(&j->p, trace_id);
    if (!(r = ts_pgj_run(j, PS_TRACE_START, SQL_TRACE_START, &rc)))
        return rc;
    *started = ts_pg_i64(r, 0, 0, 0);
    *trow = ts_pg_i64(r, 0, 1, 0);
    PQclear(r);
    return TS_OK;
}

/* 1 when statement id (ws, text) returns a row. */
static int exists(pgj *j, int id, const char *sql, const char *text, int *found)
{
    PGresult *r;
    int rc;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, j->w->ws_id);
    ts_pgp_text(&j->p, text);
    if (!(r = ts_pgj_run(j, id, sql, &rc)))
        return rc;
    *found = PQntuples(r) > 0;
    PQclear(r);
    return TS_OK;
}

int ts_pgj_close(pgj *j)
{
    ts_write *w = j->w;
    int64_t started = 0, trow = 0;
    int closed = 0, rc;
    if ((rc = lock_one(j, w->ws_id, w->trace_id)) != TS_OK ||
        (rc = trace_start(j, w->trace_id, &started, &trow)) != TS_OK)
        return rc;
    if (!trow)
        return ts_err_set(&w->err, TS_ENOTFOUND, "Trace not found");
    if ((rc = exists(j, PS_CLOSED, SQL_CLOSED, w->trace_id, &closed)) != TS_OK)
        return rc;
    if (closed)
        return ts_err_set(&w->err, TS_ECONFLICT, "Trace already closed");
    return ts_pgj_insert_closure(j, w->trace_id, &w->closure);
}

int ts_pgj_delete(pgj *j)
{
    ts_write *w = j->w;
    int64_t started = 0, trow = 0;
    int rc;
    w->affected = 0;
    if ((rc = lock_one(j, w->ws_id, w->trace_id)) != TS_OK ||
        (rc = trace_start(j, w->trace_id, &started, &trow)) != TS_OK)
        return rc;
    if (!trow || (w->has_from && started < w->from_ns) || (w->has_to && started > w->to_ns))
        return TS_OK;
    return ts_pgj_delete_traces(j, w->ws_id, &w->trace_id, &trow, 1, &w->affected);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs the bulk delete's query: up to max + 1 rows (trace id, row id)
 * and the count of every match. */
static int bulk_select(pgj *j, int64_t max, PGresult **out, int64_t *count)
{
    size_t cap = 64 * 1024;
    char *sql = ts_arena_alloc(j->a, cap);
    int rc;
    *out = NULL;
    *count = 0;
    if (!sql)
        return ts_err_set(&j->w->err, TS_ENOMEM, "out of memory");
    snprintf(sql, cap, "SELECT t.trace_id, t.id, count(*) OVER ()");
    ts_pgp_reset(&j->p);
    rc = ts_pg_query_where(j->w->ws_id, j->w->query, j->a, sql, cap, &j->p);
    if (rc != TS_OK)
        return ts_err_set(&j->w->err, rc, "%s", rc == TS_ETOOBIG ? "query too long" : "bad query");
    size_t len = strlen(sql);
    if ((size_t)snprintf(sql + len, cap - len, " LIMIT %lld", (long long)(max + 1)) >= cap - len)
        return ts_err_set(&j->w->err, TS_ETOOBIG, "query too long");
    if (!(*out = ts_pgj_run(j, -1, sql, &rc)))
        return rc;
    *count = ts_pg_i64(*out, 0, 2, 0);
    return TS_OK;
}

/* Deletes every trace matching w->query, or nothing when more than
 * w->max_delete match (TS_ETOOBIG, match count in affected). The matches
 * are locked, then selected again: what still matches is deleted. */
int ts_pgj_bulk_delete(pgj *j)
{
    ts_write *w = j->w;
    int64_t max = w->max_delete > 0 ? w->max_delete : 1000, count;
    PGresult *r = NULL;
    int rc;

    w->affected = 0;
    if ((rc = bulk_select(j, max, &r, &count)) != TS_OK)
        return rc;
    if (count > max) {
        PQclear(r);
        w->affected = count;
        return ts_err_set(&w->err, TS_ETOOBIG,
                          "Filter matched more than %lld traces. Narrow your filters or delete "
                          "in smaller batches.",
                          (long long)max);
    }
    size_t n = (size_t)PQntuples(r);
    const char **ids = ts_arena_alloc(j->a, (n + 1) * sizeof(*ids));
    int64_t *rows = ts_arena_alloc(j->a, (n + 1) * sizeof(*rows));
    if (!ids || !rows) {
        PQclear(r);
        return ts_err_set(&w->err, TS_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = ts_pg_text(j->a, r, (int)i, 0);
    PQclear(r);
    if (n == 0)
        return TS_OK;
    if ((rc = ts_pg_lock_traces(j->c, w->ws_id, ids, n, &w->err)) != TS_OK ||
        (rc = bulk_select(j, max, &r, &count)) != TS_OK)
        return rc;
    /* Only traces locked above: one that matches only now waits for the next. */
    qsort(ids, n, sizeof(*ids), cmp_str);
    const char **keep = ts_arena_alloc(j->a, (n + 1) * sizeof(*keep));
    size_t k = 0;
    for (int i = 0; keep && i < PQntuples(r); i++) {
        const char *id = PQgetvalue(r, i, 0);
        if (k < n && bsearch(&id, ids, n, sizeof(*ids), cmp_str)) {
            keep[k] = ts_pg_text(j->a, r, i, 0);
            rows[k++] = ts_pg_i64(r, i, 1, 0);
        }
    }
    PQclear(r);
    if (!keep)
        return ts_err_set(&w->err, TS_ENOMEM, "out of memory");
    return ts_pgj_delete_traces(j, w->ws_id, keep, rows, k, &w->affected);
}

int ts_pgj_feedback(pgj *j)
{
    ts_feedback *f = j->w->feedback;
    int found = 0, rc;
    if ((rc = lock_one(j, j->w->ws_id, f->trace_id)) != TS_OK ||
        (rc = exists(j, PS_TRACE_EXISTS, SQL_TRACE_EXISTS, f->trace_id, &found)) != TS_OK)
        return rc;
    if (!found)
        return ts_err_set(&j->w->err, TS_ENOTFOUND, "Trace not found.");
    ts_uuid_new(f->id);
    f->created_ns = j->now;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, j->w->ws_id);
    ts_pgp_text(&j->p, f->trace_id);
    ts_pgp_text(&j->p, f->id);
    ts_pgp_text(&j->p, f->label);
    if (f->has_score)
        ts_pgp_f64(&j->p, f->score);
    else
        ts_pgp_null(&j->p);
    ts_pgp_text(&j->p, f->comment);
    ts_pgp_text(&j->p, f->metadata);
    ts_pgp_i64(&j->p, j->now);
    return ts_pgj_do(j, PS_FEEDBACK_INSERT, SQL_FEEDBACK_INSERT);
}

/* Finds the span tr names (any stored span of the workspace), locks its
 * trace and reads the span again under the lock: *found 0 when there is
 * none (then the log waits for it). A span deleted or moved between the
 * look-up and the lock is looked up again. */
static int track_find(pgj *j, const ts_track *tr, char **trace_id, int64_t *trow, ts_span *sp,
                      int *found)
{
    PGresult *r;
    int rc;
    *found = 0;
    *trace_id = NULL;
    *trow = 0;
    for (int attempt = 0; tr->span_id && attempt < 3 && !*found; attempt++) {
        ts_pgp_reset(&j->p);
        ts_pgp_i64(&j->p, j->w->ws_id);
        ts_pgp_text(&j->p, tr->span_id);
        if (!(r = ts_pgj_run(j, PS_SPAN_FIND, SQL_SPAN_FIND, &rc)))
            return rc;
        *trow = ts_pg_i64(r, 0, 0, 0);
        *trace_id = ts_pg_text(j->a, r, 0, 1);
        PQclear(r);
        if (!*trow || !*trace_id)
            break;
        if ((rc = lock_one(j, j->w->ws_id, *trace_id)) != TS_OK)
            return rc;
        ts_pgp_reset(&j->p);
        ts_pgp_i64(&j->p, *trow);
        ts_pgp_text(&j->p, tr->span_id);
        if (!(r = ts_pgj_run(j, PS_SPAN_FULL, SQL_SPAN_FULL, &rc)))
            return rc;
        if ((*found = PQntuples(r) > 0))
            ts_pg_span_row(r, 0, 0, j->a, sp);
        PQclear(r);
    }
    if (!*found) {
        *trace_id = NULL;
        *trow = 0;
    }
    return TS_OK;
}

/* Writes the track's request log (trace_id '' and trow NULL while its span
 * is unknown). */
static int insert_track_log(pgj *j, ts_track *tr, const char *trace_id, int64_t trow)
{
    ts_pgp *p = &j->p;
    PGresult *r;
    int rc;
    ts_pgp_reset(p);
    ts_pgp_i64(p, j->w->ws_id);
    ts_pgp_text(p, trace_id);
    ts_pgp_text(p, tr->span_id ? tr->span_id : "");
    ts_pgp_text(p, tr->body ? tr->body : "{}");
    ts_pgp_i64(p, j->now);
    ts_pgp_text(p, tr->model);
    ts_pgp_text(p, tr->provider);
    ts_pgp_text(p, tr->input);
    ts_pgp_text(p, tr->output);
    ts_pgp_i64_opt(p, tr->prompt_tokens);
    ts_pgp_i64_opt(p, tr->completion_tokens);
    if (tr->has_cost)
        ts_pgp_f64(p, tr->cost);
    else
        ts_pgp_null(p);
    if (trow)
        ts_pgp_i64(p, trow);
    else
        ts_pgp_null(p);
    if (!(r = ts_pgj_run(j, PS_RL_TRACK_INSERT, SQL_RL_TRACK_INSERT, &rc)))
        return rc;
    tr->request_id = ts_pg_i64(r, 0, 0, 0);
    PQclear(r);
    return TS_OK;
}

/* Marks the pending log tr->request_id attached to trace_id (row trow);
 * *marked 0 when it is no longer pending (another job attached it). */
static int mark_attached(pgj *j, const ts_track *tr, const char *trace_id, int64_t trow,
                         int *marked)
{
    PGresult *r;
    int rc;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, tr->request_id);
    ts_pgp_text(&j->p, trace_id);
    ts_pgp_i64(&j->p, trow);
    if (!(r = ts_pgj_run(j, PS_RL_LATE_ATTACH, SQL_RL_LATE_ATTACH, &rc)))
        return rc;
    *marked = ts_pgj_changes(r) > 0;
    PQclear(r);
    return TS_OK;
}

/* /track-request: when the span exists, the log is attached to it and the
 * span is rewritten through the normal ingest path (aggregates move by the
 * difference); otherwise the log waits (trace_id '') for the span.
 * pending: tr is the stored pending log tr->request_id (the sweep's late
 * attach), marked attached instead of written, and left alone when its
 * span is still missing. */
static int track_attach(pgj *j, ts_track *tr, int pending)
{
    char *trace_id;
    int64_t trow;
    ts_span sp;
    int found, marked = 1, rc;

    if ((rc = track_find(j, tr, &trace_id, &trow, &sp, &found)) != TS_OK)
        return rc;
    if (pending && found)
        rc = mark_attached(j, tr, trace_id, trow, &marked);
    else if (!pending)
        rc = insert_track_log(j, tr, found ? trace_id : "", trow);
    if (rc != TS_OK || !found || !marked)
        return rc;
    sp.trace_id = trace_id;
    ts_jobs_merge_log(j->w->derive, &sp, tr);
    sp.log_request = NULL;
    sp.request_log_id = tr->request_id;
    /* The rewrite is an ingest of the final span: the same old -> new
     * moves of the aggregates and of every trace_dims entry. */
    if ((rc = ts_pgj_tables(j, 1)) != TS_OK)
        return ts_err_set(&j->w->err, rc, "out of memory");
    if ((rc = ts_pgj_ingest(j, &sp, 1)) != TS_OK)
        return rc;
    tr->attached = !sp.rejected;
    for (size_t i = 0; i < j->nlist; i++)
        if ((rc = ts_pgj_store_trace(j, j->list[i])) != TS_OK)
            return rc;
    return TS_OK;
}

int ts_pgj_track(pgj *j)
{
    return track_attach(j, j->w->track, 0);
}

static int find_or_create_ws(pgj *j, ts_workspace *ws)
{
    PGresult *r;
    int rc;
    for (int pass = 0; pass < 3; pass++) {
        ts_pgp_reset(&j->p);
        if (pass != 1) {
            ts_pgp_text(&j->p, j->w->ws_name);
            if (!(r = ts_pgj_run(j, PS_WS_FIND, SQL_WS_FIND, &rc)))
                return rc;
            if (PQntuples(r) > 0) {
                ws->id = ts_pg_i64(r, 0, 0, 0);
                snprintf(ws->uuid, sizeof(ws->uuid), "%s", PQgetvalue(r, 0, 1));
                snprintf(ws->name, sizeof(ws->name), "%s", PQgetvalue(r, 0, 2));
                PQclear(r);
                return TS_OK;
            }
            PQclear(r);
            continue;
        }
        ts_uuid_new(ws->uuid);
        snprintf(ws->name, sizeof(ws->name), "%s", j->w->ws_name);
        ts_pgp_text(&j->p, ws->uuid);
        ts_pgp_text(&j->p, ws->name);
        ts_pgp_i64(&j->p, j->now);
        if (!(r = ts_pgj_run(j, PS_WS_INSERT, SQL_WS_INSERT, &rc)))
            return rc;
        ws->id = ts_pg_i64(r, 0, 0, 0);
        PQclear(r);
        /* Every workspace has a default project: spans that name none land there. */
        if (ws->id) {
            int64_t project;
            return ts_pgj_project_insert(j, ws->id, "default", 1, &project);
        }
    }
    return ts_err_set(&j->w->err, TS_EIO, "postgres: workspace not created");
}

int ts_pgj_key_create(pgj *j)
{
    ts_write *w = j->w;
    PGresult *r;
    int rc = find_or_create_ws(j, &w->ws);
    if (rc != TS_OK)
        return rc;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, w->ws.id);
    ts_pgp_text(&j->p, w->key_prefix);
    ts_pgp_bytea(&j->p, w->key_hash, 32);
    ts_pgp_i64(&j->p, j->now);
    if (!(r = ts_pgj_run(j, PS_KEY_INSERT, SQL_KEY_INSERT, &rc)))
        return rc;
    w->ws.key_id = ts_pg_i64(r, 0, 0, 0);
    PQclear(r);
    return TS_OK;
}

int ts_pgj_key_revoke(pgj *j)
{
    PGresult *r;
    int rc;
    ts_pgp_reset(&j->p);
    ts_pgp_text(&j->p, j->w->key_prefix);
    ts_pgp_i64(&j->p, j->now);
    if (!(r = ts_pgj_run(j, PS_KEY_REVOKE, SQL_KEY_REVOKE, &rc)))
        return rc;
    j->w->affected = ts_pgj_changes(r);
    PQclear(r);
    return TS_OK;
}

typedef struct victims {
    const char **ids;
    int64_t *rows;
    ts_sweep_bound b; /* traces (and logs) taken and their spans (jobs_common.h) */
} victims;

/* Appends up to cap - n traces of statement id (ws, cutoff, limit) to v. */
static int collect(pgj *j, int id, const char *sql, int64_t ws, int64_t cutoff, victims *v)
{
    PGresult *r;
    int rc;
    if (ts_sweep_full(&v->b))
        return TS_OK;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, ws);
    ts_pgp_i64(&j->p, cutoff);
    ts_pgp_i64(&j->p, v->b.cap - v->b.n);
    if (!(r = ts_pgj_run(j, id, sql, &rc)))
        return rc;
    for (int i = 0; i < PQntuples(r) && !ts_sweep_full(&v->b); i++) {
        int64_t k = v->b.n;
        if (!ts_sweep_take(&v->b, ts_pg_i64(r, i, 2, 0)))
            break;
        v->ids[k] = ts_pg_text(j->a, r, i, 0);
        v->rows[k] = ts_pg_i64(r, i, 1, 0);
    }
    PQclear(r);
    return TS_OK;
}

/* Locks v's traces from `from` on and deletes those still expired. */
static int sweep_delete(pgj *j, int64_t ws, int64_t cutoff, victims *v, int64_t from)
{
    PGresult *r;
    size_t n = (size_t)(v->b.n - from);
    int64_t deleted = 0;
    int rc;
    char *rows;
    if (n == 0)
        return TS_OK;
    if ((rc = ts_pg_lock_traces(j->c, ws, v->ids + from, n, &j->w->err)) != TS_OK)
        return rc;
    if (!(rows = ts_pgj_i64_array(j->a, v->rows + from, n)))
        return ts_err_set(&j->w->err, TS_ENOMEM, "out of memory");
    ts_pgp_reset(&j->p);
    ts_pgp_text(&j->p, rows);
    ts_pgp_i64(&j->p, cutoff);
    if (!(r = ts_pgj_run(j, PS_SWEEP_RECHECK, SQL_SWEEP_RECHECK, &rc)))
        return rc;
    size_t k = (size_t)PQntuples(r);
    const char **ids = ts_arena_alloc(j->a, (k + 1) * sizeof(*ids));
    int64_t *trows = ts_arena_alloc(j->a, (k + 1) * sizeof(*trows));
    for (size_t i = 0; ids && trows && i < k; i++) {
        ids[i] = ts_pg_text(j->a, r, (int)i, 0);
        trows[i] = ts_pg_i64(r, (int)i, 1, 0);
    }
    PQclear(r);
    if (!ids || !trows)
        return ts_err_set(&j->w->err, TS_ENOMEM, "out of memory");
    if ((rc = ts_pgj_delete_traces(j, ws, ids, trows, k, &deleted)) != TS_OK)
        return rc;
    j->w->affected += deleted;
    return TS_OK;
}

/* Sweeps one workspace: its expired traces (ended before cutoff, or
 * without an end and last written before it), then its /track-request
 * logs that waited for a span since before it. */
static int sweep_ws(pgj *j, int64_t ws, int64_t cutoff, victims *v)
{
    PGresult *r;
    int64_t from = v->b.n;
    int rc;
    if ((rc = collect(j, PS_SWEEP_ENDED, SQL_SWEEP_ENDED, ws, cutoff, v)) != TS_OK ||
        (rc = collect(j, PS_SWEEP_NOEND, SQL_SWEEP_NOEND, ws, cutoff, v)) != TS_OK ||
        (rc = sweep_delete(j, ws, cutoff, v, from)) != TS_OK)
        return rc;
    if (ts_sweep_full(&v->b))
        return TS_OK;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, ws);
    ts_pgp_i64(&j->p, cutoff);
    ts_pgp_i64(&j->p, v->b.cap - v->b.n);
    if (!(r = ts_pgj_run(j, PS_SWEEP_LOGS, SQL_SWEEP_LOGS, &rc)))
        return rc;
    int64_t logs = ts_pgj_changes(r);
    PQclear(r);
    j->w->swept_logs += logs;
    v->b.n += logs; /* they count towards the job's bound too */
    return TS_OK;
}

/* The late attach: a /track-request log and the span it names, committed
 * at once through two daemons, can miss each other (each job looked before
 * the other committed) and leave the log pending beside its stored span.
 * Up to SWEEP_ATTACH_MAX such logs are attached as a /track-request that
 * found its span; the next sweep takes the rest. */
#define SWEEP_ATTACH_MAX 100
static int sweep_attach(pgj *j)
{
    ts_write *w = j->w;
    int64_t ws0 = w->ws_id;
    PGresult *r;
    int rc = TS_OK;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, SWEEP_ATTACH_MAX);
    if (!(r = ts_pgj_run(j, PS_SWEEP_PENDING, SQL_SWEEP_PENDING, &rc)))
        return rc;
    int n = PQntuples(r);
    ts_track *t = ts_arena_calloc(j->a, (size_t)n + 1, sizeof(*t));
    int64_t *ws = ts_arena_alloc(j->a, ((size_t)n + 1) * sizeof(*ws));
    for (int i = 0; t && ws && i < n; i++) {
        t[i].request_id = ts_pg_i64(r, i, 0, 0);
        ws[i] = ts_pg_i64(r, i, 1, 0);
        t[i].span_id = ts_pg_text(j->a, r, i, 2);
        t[i].model = ts_pg_text(j->a, r, i, 3);
        t[i].provider = ts_pg_text(j->a, r, i, 4);
        t[i].input = ts_pg_text(j->a, r, i, 5);
        t[i].output = ts_pg_text(j->a, r, i, 6);
        t[i].prompt_tokens = ts_pg_i64(r, i, 7, TS_TOKENS_ABSENT);
        t[i].completion_tokens = ts_pg_i64(r, i, 8, TS_TOKENS_ABSENT);
        t[i].has_cost = !ts_pg_isnull(r, i, 9);
        t[i].cost = ts_pg_f64(r, i, 9, 0.0);
    }
    PQclear(r);
    if (!t || !ws)
        return ts_err_set(&w->err, TS_ENOMEM, "out of memory");
    /* The attach writes as a job of the log's workspace. */
    for (int i = 0; i < n && rc == TS_OK; i++) {
        w->ws_id = ws[i];
        rc = track_attach(j, &t[i], 1);
    }
    w->ws_id = ws0;
    return rc;
}

int ts_pgj_sweep(pgj *j)
{
    ts_write *w = j->w;
    int64_t day_ns = w->retention_day_s * 1000000000;
    victims v;
    ts_sweep_bound_init(&v.b, w);
    v.ids = ts_arena_alloc(j->a, (size_t)v.b.cap * sizeof(char *));
    v.rows = ts_arena_alloc(j->a, (size_t)v.b.cap * sizeof(int64_t));
    PGresult *r = NULL;
    int rc = TS_OK;

    if (!v.ids || !v.rows)
        return ts_err_set(&w->err, TS_ENOMEM, "out of memory");
    if (day_ns <= 0)
        return ts_err_set(&w->err, TS_EIO, "retention day length must be positive");
    /* The workspaces with a retention, read whole before any delete. */
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, w->retention_days);
    if (!(r = ts_pgj_run(j, PS_SWEEP_WS, SQL_SWEEP_WS, &rc)))
        return rc;
    int nws = PQntuples(r);
    int64_t *wsl = ts_arena_alloc(j->a, (size_t)(nws + 1) * 2 * sizeof(*wsl));
    for (int i = 0; wsl && i < nws; i++) {
        wsl[2 * i] = ts_pg_i64(r, i, 0, 0);
        wsl[2 * i + 1] = ts_pg_i64(r, i, 1, 0);
    }
    PQclear(r);
    if (!wsl)
        return ts_err_set(&w->err, TS_ENOMEM, "out of memory");
    for (int i = 0; i < nws && rc == TS_OK && !ts_sweep_full(&v.b); i++)
        rc = sweep_ws(j, wsl[2 * i], ts_sweep_cutoff(j->now, wsl[2 * i + 1], day_ns), &v);
    if (rc == TS_OK)
        rc = sweep_attach(j);
    ts_sweep_done(w, &v.b, rc);
    return rc;
}

int ts_pgj_ws_retention(pgj *j)
{
    ts_write *w = j->w;
    PGresult *r;
    int rc;
    if ((rc = ts_ws_retention_check(w)) != TS_OK)
        return rc;
    ts_pgp_reset(&j->p);
    ts_pgp_text(&j->p, w->ws_name);
    if (w->retention_days < 0)
        ts_pgp_null(&j->p);
    else
        ts_pgp_i64(&j->p, w->retention_days);
    if (!(r = ts_pgj_run(j, PS_WS_RETENTION, SQL_WS_RETENTION, &rc)))
        return rc;
    w->affected = ts_pgj_changes(r);
    PQclear(r);
    if (!w->affected)
        return ts_err_set(&w->err, TS_ENOTFOUND, "no workspace named '%s'", w->ws_name);
    return TS_OK;
}
