/* pg_jobs_trace.c: a PostgreSQL job's trace rows once its spans are in:
 * the aggregates (moved by agg.c, re-derived from the stored spans when
 * agg.c cannot move them exactly), the explicit trace fields and their
 * project, and the trace_dims count changes: one statement for the
 * aggregates and the dims together when the job gives no explicit fields. */
#include <string.h>

#include "store/pg_jobs_int.h"
#include "tracestore/ids.h"

#define AGG_COLS                                                                                   \
    "span_count, llm_span_count, prompt_tokens, completion_tokens, total_tokens, cost_sum, "       \
    "cost_span_count, unpriced_span_count, started_ns, ended_ns, error_count, root_span_id, "      \
    "root_start_ns, root_name, root_input, root_output, root_model, root_error, err_span_id, "     \
    "err_start_ns, err_text"

static const char SQL_TRACE_UPDATE[] =
    "UPDATE traces SET updated_ns = $1, (" AGG_COLS ") = ($2, $3, $4, $5, $6, $7, $8, $9, $10, "
    "$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) WHERE id = $23";
/* The same and the trace's dim count changes, in one round trip (a trace
 * without explicit fields: its eff_start, $25, is known here). */
static const char SQL_TRACE_STORE[] =
    "WITH up AS (UPDATE traces SET updated_ns = $1, (" AGG_COLS ") = ($2, $3, $4, $5, $6, $7, $8, "
    "$9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) WHERE id = $23) "
    "INSERT INTO trace_dims (ws_id, trow, dim, val, n, start) SELECT $24::bigint, $23::bigint, "
    "u.d, u.v, u.n, $25::bigint FROM unnest($26::bigint[], $27::text[], $28::bigint[]) AS u(d, v, "
    "n) ON CONFLICT (trow, dim, val) DO UPDATE SET n = trace_dims.n + excluded.n";
/* A new trace's row (its id drawn by pg_jobs.c's SQL_TRACE)... */
static const char SQL_TRACE_NEW[] =
    "INSERT INTO traces (id, ws_id, trace_id, project_id, created_ns, updated_ns) VALUES ($1, $2, "
    "$3, (SELECT id FROM projects WHERE ws_id = $2 AND is_default = 1), $4, $4)";
/* ... or, when its spans are all it has, that row with its aggregates
 * and its dims, as SQL_TRACE_STORE ($29: the trace id). */
static const char SQL_TRACE_STORE_NEW[] =
    "WITH up AS (INSERT INTO traces (id, ws_id, trace_id, project_id, created_ns, "
    "updated_ns, " AGG_COLS
    ") VALUES ($23, $24, $29, (SELECT id FROM projects WHERE ws_id = $24 AND is_default "
    "= 1), $1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
    "$19, $20, $21, $22)) INSERT INTO trace_dims (ws_id, trow, dim, val, n, start) SELECT "
    "$24::bigint, $23::bigint, u.d, u.v, u.n, $25::bigint FROM unnest($26::bigint[], $27::text[], "
    "$28::bigint[]) AS u(d, v, n) ON CONFLICT (trow, dim, val) DO UPDATE SET n = trace_dims.n + "
    "excluded.n";
/* Explicit trace fields: a given value replaces, an absent one keeps. */
static const char SQL_TRACE_META[] =
    "UPDATE traces SET project_id = coalesce($2, project_id), t_name = coalesce($3, t_name), "
    "t_input = coalesce($4, t_input), t_output = coalesce($5, t_output), "
    "t_model = coalesce($6, t_model), t_error = coalesce($7, t_error), "
    "t_cost = coalesce($8, t_cost), t_latency_ms = coalesce($9, t_latency_ms), "
    "t_started_ns = coalesce($10, t_started_ns), t_ended_ns = coalesce($11, t_ended_ns), "
    "session_id = coalesce($12, session_id), user_id = coalesce($13, user_id), "
    "external_id = coalesce($14, external_id), tags = coalesce($15, tags), "
    "tag_map = coalesce($16, tag_map), metadata = coalesce($17, metadata), "
    "events = coalesce($18, events), updated_ns = $19 WHERE id = $1";
/* A trace's dim count changes in one statement (one row per distinct
 * value: ON CONFLICT cannot touch a row twice). */
static const char SQL_DIMS_INC[] =
    "INSERT INTO trace_dims (ws_id, trow, dim, val, n, start) SELECT $1::bigint, $2::bigint, "
    "u.d, u.v, u.n, "
    "(SELECT eff_start FROM traces WHERE id = $2) FROM unnest($3::bigint[], $4::text[], "
    "$5::bigint[]) AS u(d, v, n) ON CONFLICT (trow, dim, val) DO UPDATE SET n = trace_dims.n + "
    "excluded.n";
static const char SQL_DIMS_DROP[] = "DELETE FROM trace_dims WHERE trow = $1 AND n <= 0";
static const char SQL_DIMS_SYNC[] =
    "UPDATE trace_dims SET start = (SELECT eff_start FROM traces WHERE id = $1) WHERE trow = $1";
/* Ties in span id order as SQLite's (bytes), whatever the collation. */
static const char SQL_RECOMP[] =
    "SELECT (SELECT min(start_ns) FROM spans WHERE trow = $1), (SELECT max(end_ns) FROM spans "
    "WHERE trow = $1), r.span_id, r.start_ns, r.name, r.input, r.output, r.model, r.error, "
    "e.span_id, e.start_ns, e.error FROM (SELECT 1) d LEFT JOIN LATERAL (SELECT span_id, "
    "start_ns, name, input, output, model, error FROM spans WHERE trow = $1 AND (parent_id IS "
    "NULL OR parent_id = '') ORDER BY start_ns, span_id COLLATE \"C\" LIMIT 1) r ON true LEFT "
    "JOIN LATERAL (SELECT span_id, start_ns, error FROM spans WHERE trow = $1 AND error IS NOT "
    "NULL ORDER BY start_ns, span_id COLLATE \"C\" LIMIT 1) e ON true";
static const char SQL_RESUM[] = "SELECT prompt_tokens, completion_tokens, total_tokens, cost FROM "
                                "spans WHERE trow = $1 ORDER BY span_id COLLATE \"C\"";
static const char SQL_PROJ_BY_UUID[] =
    "SELECT id FROM projects WHERE ws_id = $1 AND uuid = lower($2)";
static const char SQL_PROJ_BY_NAME[] = "SELECT id FROM projects WHERE ws_id = $1 AND name = $2";
/* Another daemon may create the same name at once: theirs is used. */
static const char SQL_PROJ_INSERT[] =
    "INSERT INTO projects (ws_id, uuid, name, is_default, created_ns) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (ws_id, name) DO NOTHING RETURNING id";

/* Re-sums t's token and cost sums from its spans (agg.h). */
static int resum(pgj *j, pgt *t)
{
    PGresult *r;
    int rc;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, t->rowid);
    if (!(r = ts_pgj_run(j, PS_RESUM, SQL_RESUM, &rc)))
        return rc;
    ts_agg_resum_begin(&t->agg);
    for (int i = 0; i < PQntuples(r); i++)
        ts_agg_resum_add(&t->agg, ts_pg_i64(r, i, 0, TS_TOKENS_ABSENT),
                         ts_pg_i64(r, i, 1, TS_TOKENS_ABSENT), ts_pg_i64(r, i, 2, TS_TOKENS_ABSENT),
                         !ts_pg_isnull(r, i, 3), ts_pg_f64(r, i, 3, 0.0));
    PQclear(r);
    return TS_OK;
}

/* Re-derives what t's aggregates could not move exactly (agg.h). */
static int recompute(pgj *j, pgt *t)
{
    PGresult *r;
    int rc;
    ts_agg *g = &t->agg;
    if (g->resum && (rc = resum(j, t)) != TS_OK)
        return rc;
    if (!g->recompute)
        return TS_OK;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, t->rowid);
    if (!(r = ts_pgj_run(j, PS_RECOMP, SQL_RECOMP, &rc)))
        return rc;
    if (!ts_pg_isnull(r, 0, 0)) {
        g->started = ts_pg_i64(r, 0, 0, 0);
        g->ended = ts_pg_i64(r, 0, 1, 0);
    }
    g->root_span_id = ts_pg_text(j->a, r, 0, 2);
    g->root_start = ts_pg_i64(r, 0, 3, 0);
    g->root_name = ts_pg_text(j->a, r, 0, 4);
    g->root_input = ts_pg_text(j->a, r, 0, 5);
    g->root_output = ts_pg_text(j->a, r, 0, 6);
    g->root_model = ts_pg_text(j->a, r, 0, 7);
    g->root_error = ts_pg_text(j->a, r, 0, 8);
    g->err_span_id = ts_pg_text(j->a, r, 0, 9);
    g->err_start = ts_pg_i64(r, 0, 10, 0);
    g->err_text = ts_pg_text(j->a, r, 0, 11);
    g->recompute = 0;
    PQclear(r);
    return TS_OK;
}

/* t's pending trace_dims changes as three array parameters (dims, values,
 * deltas; *n of them), *neg when a count went down. */
static int dims_arrays(pgj *j, const pgt *t, char **ad, char **av, char **an, size_t *n, int *neg)
{
    size_t i = 0;
    *n = 0;
    *neg = 0;
    for (pg_dim *e = t->dims; e; e = e->next_in_trace)
        *n += e->delta != 0;
    int64_t *dims = ts_arena_alloc(j->a, (*n + 1) * sizeof(*dims));
    int64_t *deltas = ts_arena_alloc(j->a, (*n + 1) * sizeof(*deltas));
    const char **vals = ts_arena_alloc(j->a, (*n + 1) * sizeof(*vals));
    if (!dims || !deltas || !vals)
        return ts_err_set(&j->w->err, TS_ENOMEM, "out of memory");
    for (pg_dim *e = t->dims; e; e = e->next_in_trace) {
        if (e->delta == 0)
            continue;
        dims[i] = e->dim;
        vals[i] = e->val;
        deltas[i++] = e->delta;
        *neg |= e->delta < 0;
    }
    *ad = ts_pgj_i64_array(j->a, dims, *n);
    *av = ts_pgj_text_array(j->a, vals, *n);
    *an = ts_pgj_i64_array(j->a, deltas, *n);
    if (!*ad || !*av || !*an)
        return ts_err_set(&j->w->err, TS_ENOMEM, "out of memory");
    return TS_OK;
}

/* Deletes the dims rows whose count went to 0. */
static int dims_drop(pgj *j, pgt *t)
{
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, t->rowid);
    return ts_pgj_do(j, PS_DIMS_DROP, SQL_DIMS_DROP);
}

/* Writes t's pending trace_dims changes in one statement. */
static int dims_flush(pgj *j, pgt *t)
{
    char *ad, *av, *an;
    size_t n;
    int neg, rc;
    if ((rc = dims_arrays(j, t, &ad, &av, &an, &n, &neg)) != TS_OK || n == 0)
        return rc;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, j->w->ws_id);
    ts_pgp_i64(&j->p, t->rowid);
    ts_pgp_text(&j->p, ad);
    ts_pgp_text(&j->p, av);
    ts_pgp_text(&j->p, an);
    if ((rc = ts_pgj_do(j, PS_DIMS_INC, SQL_DIMS_INC)) != TS_OK)
        return rc;
    t->dims = NULL;
    return neg ? dims_drop(j, t) : TS_OK;
}

static int store_agg(pgj *j, pgt *t)
{
    const ts_agg *g = &t->agg;
    ts_pgp *p = &j->p;
    int rc;
    if ((g->recompute || g->resum) && (rc = recompute(j, t)) != TS_OK)
        return rc;
    ts_pgp_reset(p);
    ts_pgp_i64(p, j->now);
    ts_pgp_i64(p, g->span_count);
    ts_pgp_i64(p, g->llm_span_count);
    ts_pgp_i64(p, g->prompt);
    ts_pgp_i64(p, g->completion);
    ts_pgp_i64(p, g->total);
    ts_pgp_f64(p, g->cost_n > 0 ? g->cost_sum : 0.0);
    ts_pgp_i64(p, g->cost_n);
    ts_pgp_i64(p, g->unpriced);
    if (g->has_ext) {
        ts_pgp_i64(p, g->started);
        ts_pgp_i64(p, g->ended);
    } else {
        ts_pgp_null(p);
        ts_pgp_null(p);
    }
    ts_pgp_i64(p, g->error_count);
    ts_pgp_text(p, g->root_span_id);
    if (g->root_span_id)
        ts_pgp_i64(p, g->root_start);
    else
        ts_pgp_null(p);
    ts_pgp_text(p, g->root_name);
    ts_pgp_text(p, g->root_input);
    ts_pgp_text(p, g->root_output);
    ts_pgp_text(p, g->root_model);
    ts_pgp_text(p, g->root_error);
    ts_pgp_text(p, g->err_span_id);
    if (g->err_span_id)
        ts_pgp_i64(p, g->err_start);
    else
        ts_pgp_null(p);
    ts_pgp_text(p, g->err_text);
    ts_pgp_i64(p, t->rowid);
    if (t->meta) /* its fields may move eff_start: the dims follow it */
        return ts_pgj_do(j, PS_TRACE_UPDATE, SQL_TRACE_UPDATE);
    char *ad, *av, *an;
    size_t n;
    int neg;
    if ((rc = dims_arrays(j, t, &ad, &av, &an, &n, &neg)) != TS_OK)
        return rc;
    ts_pgp_i64(p, j->w->ws_id);
    ts_pgp_i64(p, t->has_tstart ? t->tstart : g->has_ext ? g->started : t->created);
    ts_pgp_text(p, ad);
    ts_pgp_text(p, av);
    ts_pgp_text(p, an);
    if (t->unsaved) {
        ts_pgp_text(p, t->trace_id);
        rc = ts_pgj_do(j, PS_TRACE_STORE_NEW, SQL_TRACE_STORE_NEW);
        t->unsaved = rc != TS_OK;
    } else {
        rc = ts_pgj_do(j, PS_TRACE_STORE, SQL_TRACE_STORE);
    }
    if (rc != TS_OK)
        return rc;
    t->dims = NULL;
    return neg ? dims_drop(j, t) : TS_OK;
}

int ts_pgj_project_insert(pgj *j, int64_t ws, const char *name, int is_default, int64_t *id)
{
    char uuid[TS_UUID_STRLEN + 1];
    PGresult *r;
    int rc;
    ts_uuid_new(uuid);
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, ws);
    ts_pgp_text(&j->p, uuid);
    ts_pgp_text(&j->p, name);
    ts_pgp_i64(&j->p, is_default);
    ts_pgp_i64(&j->p, j->now);
    if (!(r = ts_pgj_run(j, PS_PROJ_INSERT, SQL_PROJ_INSERT, &rc)))
        return rc;
    *id = ts_pg_i64(r, 0, 0, 0);
    PQclear(r);
    return TS_OK;
}

/* Project row id for a name or UUID, created (by name) on first use;
 * another daemon's project of the same name, created at once, is read. */
static int resolve_project(pgj *j, const char *name, int64_t *id)
{
    PGresult *r;
    int rc;
    *id = 0;
    for (int pass = 0; pass < 4 && !*id; pass++) {
        if (pass == 0 && !ts_uuid_valid(name))
            continue;
        if (pass == 2) {
            if ((rc = ts_pgj_project_insert(j, j->w->ws_id, name, 0, id)) != TS_OK)
                return rc;
            continue;
        }
        ts_pgp_reset(&j->p);
        ts_pgp_i64(&j->p, j->w->ws_id);
        ts_pgp_text(&j->p, name);
        r = pass == 0 ? ts_pgj_run(j, PS_PROJ_BY_UUID, SQL_PROJ_BY_UUID, &rc)
                      : ts_pgj_run(j, PS_PROJ_BY_NAME, SQL_PROJ_BY_NAME, &rc);
        if (!r)
            return rc;
        *id = ts_pg_i64(r, 0, 0, 0);
        PQclear(r);
    }
    return *id ? TS_OK : ts_err_set(&j->w->err, TS_EIO, "postgres: project not created");
}

static void put_i64_or_null(ts_pgp *p, int has, int64_t v)
{
    if (has)
        ts_pgp_i64(p, v);
    else
        ts_pgp_null(p);
}

/* Writes the explicit trace fields of m onto t's row. */
static int apply_meta(pgj *j, pgt *t, const ts_trace_meta *m)
{
    ts_pgp *p = &j->p;
    int64_t project = 0;
    int rc;
    if (m->project && (rc = resolve_project(j, m->project, &project)) != TS_OK)
        return rc;
    ts_pgp_reset(p);
    ts_pgp_i64(p, t->rowid);
    put_i64_or_null(p, project != 0, project);
    ts_pgp_text(p, m->name);
    ts_pgp_text(p, m->input);
    ts_pgp_text(p, m->output);
    ts_pgp_text(p, m->model);
    ts_pgp_text(p, m->error);
    if (m->has_cost)
        ts_pgp_f64(p, m->cost);
    else
        ts_pgp_null(p);
    put_i64_or_null(p, m->latency_ms >= 0, m->latency_ms);
    put_i64_or_null(p, m->has_started, m->started_ns);
    put_i64_or_null(p, m->has_ended, m->ended_ns);
    ts_pgp_text(p, m->session_id);
    ts_pgp_text(p, m->user_id);
    ts_pgp_text(p, m->external_id);
    ts_pgp_text(p, m->tags);
    ts_pgp_text(p, m->tag_map);
    ts_pgp_text(p, m->metadata);
    ts_pgp_text(p, m->events);
    ts_pgp_i64(p, j->now);
    if ((rc = ts_pgj_do(j, PS_TRACE_META, SQL_TRACE_META)) != TS_OK)
        return rc;
    void *k[2] = {j, t};
    return ts_jobs_meta_dims(m, ts_pgj_dim_add, k);
}

/* Inserts the row of a new trace that is more than its spans. */
static int insert_row(pgj *j, pgt *t)
{
    int rc;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, t->rowid);
    ts_pgp_i64(&j->p, j->w->ws_id);
    ts_pgp_text(&j->p, t->trace_id);
    ts_pgp_i64(&j->p, j->now);
    if ((rc = ts_pgj_do(j, PS_TRACE_NEW, SQL_TRACE_NEW)) == TS_OK)
        t->unsaved = 0;
    return rc;
}

int ts_pgj_store_trace(pgj *j, pgt *t)
{
    int rc;
    if (!t->rowid)
        return TS_OK;
    /* a new trace with spans only: its row is inserted by store_agg */
    if (t->unsaved && (!t->touched || t->meta) && (rc = insert_row(j, t)) != TS_OK)
        return rc;
    if (t->touched && (rc = store_agg(j, t)) != TS_OK)
        return rc;
    if (t->meta && (rc = apply_meta(j, t, t->meta)) != TS_OK)
        return rc;
    if ((t->touched || t->meta) && (rc = dims_flush(j, t)) != TS_OK)
        return rc;
    /* New dims rows were written with the trace's start; older rows need
     * it again only when the start moved. */
    int moved =
        t->existed && (ts_pgj_start(t) != t->loaded_started || (t->meta && t->meta->has_started));
    if (!moved)
        return TS_OK;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, t->rowid);
    return ts_pgj_do(j, PS_DIMS_SYNC, SQL_DIMS_SYNC);
}
