/* sqlite_jobs.c: what each writer job does, inside its savepoint: ingest
 * (spans, their request logs and span_ctx rows, trace meta), close, delete,
 * bulk delete, feedback, /track-request attachment, key create and revoke. */
#include <string.h>

#include "store/spanctx.h"
#include "store/spanwin.h"
#include "store/sqlite_write_int.h"
#include "tracestore/ids.h"
#include "tracestore/log.h"

/* Bind the 35 SPAN_TAIL values starting at parameter `at`: resource and
 * scope are in the trace's span_ctx row ctx. */
static void bind_span_tail(sqlite3_stmt *q, int at, const ts_span *sp, int64_t rl_id, int64_t ctx)
{
    ts_sqlite_bind_text(q, at + 0, ts_sqlite_is_root(sp->parent_id) ? NULL : sp->parent_id);
    ts_sqlite_bind_text(q, at + 1, sp->name);
    sqlite3_bind_int(q, at + 2, sp->kind);
    sqlite3_bind_int64(q, at + 3, sp->start_ns);
    sqlite3_bind_int64(q, at + 4, sp->end_ns);
    sqlite3_bind_int(q, at + 5, sp->status_code);
    ts_sqlite_bind_text(q, at + 6, sp->status_message);
    ts_sqlite_bind_text(q, at + 7, sp->trace_state);
    ts_sqlite_bind_text(q, at + 8, sp->attributes ? sp->attributes : "{}");
    ts_sqlite_bind_text(q, at + 9, sp->events ? sp->events : "[]");
    ts_sqlite_bind_text(q, at + 10, sp->links ? sp->links : "[]");
    ts_sqlite_bind_text(q, at + 11, "");
    ts_sqlite_bind_text(q, at + 12, NULL);
    sqlite3_bind_int(q, at + 13, sp->origin);
    ts_sqlite_bind_text(q, at + 14, sp->type);
    ts_sqlite_bind_text(q, at + 15, sp->model);
    ts_sqlite_bind_text(q, at + 16, sp->provider);
    ts_sqlite_bind_text(q, at + 17, sp->input);
    ts_sqlite_bind_text(q, at + 18, sp->output);
    ts_sqlite_bind_i64_opt(q, at + 19, sp->prompt_tokens);
    ts_sqlite_bind_i64_opt(q, at + 20, sp->completion_tokens);
    ts_sqlite_bind_i64_opt(q, at + 21, sp->total_tokens);
    ts_sqlite_bind_i64_opt(q, at + 22, sp->cache_read_tokens);
    ts_sqlite_bind_i64_opt(q, at + 23, sp->cache_write_tokens);
    ts_sqlite_bind_i64_opt(q, at + 24, sp->reasoning_tokens);
    if (sp->has_cost)
        sqlite3_bind_double(q, at + 25, sp->cost);
    else
        sqlite3_bind_null(q, at + 25);
    sqlite3_bind_int(q, at + 26, ts_sqlite_price_state(sp));
    ts_sqlite_bind_text(q, at + 27, sp->error);
    ts_sqlite_bind_text(q, at + 28, sp->session_id);
    ts_sqlite_bind_text(q, at + 29, sp->user_id);
    ts_sqlite_bind_text(q, at + 30, sp->metadata);
    if (sp->latency_ms >= 0)
        sqlite3_bind_int64(q, at + 31, sp->latency_ms);
    else
        sqlite3_bind_null(q, at + 31);
    if (rl_id > 0)
        sqlite3_bind_int64(q, at + 32, rl_id);
    else
        sqlite3_bind_null(q, at + 32);
    sqlite3_bind_int64(q, at + 33, sp->created_ns);
    sqlite3_bind_int64(q, at + 34, ctx);
}

static int load_old(job_ctx *j, const tagg *t, const ts_span *sp, old_span *o, int *found)
{
    sqlite3_stmt *q = ts_sqlite_tr_stmt(j, Q_SPAN_OLD, t->rowid);
    if (!q)
        return TS_EIO;
    sqlite3_bind_text(q, 3, sp->span_id, -1, SQLITE_STATIC);
    int src = sqlite3_step(q);
    *found = src == SQLITE_ROW;
    if (*found) {
        memset(o, 0, sizeof(*o));
        o->id = sqlite3_column_int64(q, 0);
        o->agg.start = sqlite3_column_int64(q, 1);
        o->agg.end = sqlite3_column_int64(q, 2);
        o->is_root = sqlite3_column_type(q, 3) == SQLITE_NULL || sqlite3_column_bytes(q, 3) == 0;
        o->agg.has_error = sqlite3_column_type(q, 4) != SQLITE_NULL;
        o->agg.is_llm = ts_span_type_is_llm((const char *)sqlite3_column_text(q, 5));
        o->agg.prompt = sqlite3_column_type(q, 6) == SQLITE_NULL ? TS_TOKENS_ABSENT
                                                                 : sqlite3_column_int64(q, 6);
        o->agg.completion = sqlite3_column_type(q, 7) == SQLITE_NULL ? TS_TOKENS_ABSENT
                                                                     : sqlite3_column_int64(q, 7);
        o->agg.total = sqlite3_column_type(q, 8) == SQLITE_NULL ? TS_TOKENS_ABSENT
                                                                : sqlite3_column_int64(q, 8);
        o->agg.has_cost = sqlite3_column_type(q, 9) != SQLITE_NULL;
        o->agg.cost = sqlite3_column_double(q, 9);
        o->agg.unpriced = sqlite3_column_int(q, 10) == TS_SQL_UNPRICED;
        o->request_log_id = sqlite3_column_int64(q, 11);
        o->parent = ts_sqlite_col_text(j->a, q, 3);
        o->error = ts_sqlite_col_text(j->a, q, 4);
        o->type = ts_sqlite_col_text(j->a, q, 5);
        o->model = ts_sqlite_col_text(j->a, q, 12);
        o->name = ts_sqlite_col_text(j->a, q, 13);
        o->provider = ts_sqlite_col_text(j->a, q, 14);
        o->created_ns = sqlite3_column_int64(q, 15);
    }
    sqlite3_reset(q);
    return (src == SQLITE_ROW || src == SQLITE_DONE) ? TS_OK : ts_sqlite_rc(src);
}

/* Writes or replaces the span's request log; returns its id in *rl_id. */
static int write_request_log(job_ctx *j, const tagg *t, const ts_span *sp, int64_t old_rl,
                             int64_t *rl_id)
{
    sqlite3_stmt *q;
    *rl_id = old_rl;
    if (!sp->log_request)
        return TS_OK;
    if (old_rl > 0) {
        if (!(q = ts_sqlite_stmt(j->c, Q_RL_UPDATE)))
            return TS_EIO;
        sqlite3_bind_text(q, 1, sp->log_request, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, j->now);
        sqlite3_bind_int64(q, 3, old_rl);
        return ts_sqlite_step_done(q);
    }
    if (!(q = ts_sqlite_ws_stmt(j, Q_RL_INSERT, sp->trace_id)))
        return TS_EIO;
    sqlite3_bind_text(q, 3, sp->span_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, sp->log_request, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, j->now);
    sqlite3_bind_int64(q, 6, t->rowid);
    int rc = ts_sqlite_step_done(q);
    if (rc == TS_OK)
        *rl_id = sqlite3_last_insert_rowid(j->c->db);
    return rc;
}

/* A request log sent by /track-request before its span: its LLM fields
 * fill the span, and the log is attached (*rl_id). */
static int apply_pending(job_ctx *j, const tagg *t, ts_span *sp, int64_t *rl_id)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_RL_PENDING);
    ts_track lg = {.prompt_tokens = TS_TOKENS_ABSENT, .completion_tokens = TS_TOKENS_ABSENT};
    *rl_id = 0;
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, sp->span_id, -1, SQLITE_STATIC);
    int src = sqlite3_step(q);
    if (src == SQLITE_ROW) {
        *rl_id = sqlite3_column_int64(q, 0);
        lg.model = ts_sqlite_col_text(j->sa, q, 1);
        lg.provider = ts_sqlite_col_text(j->sa, q, 2);
        lg.input = ts_sqlite_col_text(j->sa, q, 3);
        lg.output = ts_sqlite_col_text(j->sa, q, 4);
        if (sqlite3_column_type(q, 5) != SQLITE_NULL)
            lg.prompt_tokens = sqlite3_column_int64(q, 5);
        if (sqlite3_column_type(q, 6) != SQLITE_NULL)
            lg.completion_tokens = sqlite3_column_int64(q, 6);
        if (sqlite3_column_type(q, 7) != SQLITE_NULL) {
            lg.has_cost = 1;
            lg.cost = sqlite3_column_double(q, 7);
        }
        ts_jobs_merge_log(j->w->derive, sp, &lg);
    }
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return ts_sqlite_rc(src);
    if (!*rl_id)
        return TS_OK;
    if (!(q = ts_sqlite_stmt(j->c, Q_RL_ATTACH)))
        return TS_EIO;
    sqlite3_bind_int64(q, 1, *rl_id);
    sqlite3_bind_text(q, 2, sp->trace_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, t->rowid);
    return ts_sqlite_step_done(q);
}

/* The idx of sp's (resource, scope) among its trace's span_ctx rows
 * (migration 0006), adding a row for a pair the trace does not have yet. */
static int span_ctx(job_ctx *j, const tagg *t, const ts_span *sp, int64_t *idx)
{
    const char *res = sp->resource ? sp->resource : "{}";
    sqlite3_stmt *q;
    int src, id;

    if ((*idx = ts_spanctx_get(j->c->spanctx, t->rowid, res, sp->scope)))
        return TS_OK;
    for (int pass = 0; pass < 2 && !*idx; pass++) {
        id = pass ? Q_CTX_INSERT : Q_CTX_FIND;
        if (!(q = ts_sqlite_stmt(j->c, id)))
            return TS_EIO;
        sqlite3_bind_int64(q, 1, t->rowid);
        sqlite3_bind_text(q, 2, res, -1, SQLITE_STATIC);
        ts_sqlite_bind_text(q, 3, sp->scope);
        src = sqlite3_step(q);
        if (src == SQLITE_ROW)
            *idx = sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
        if (src != SQLITE_ROW && src != SQLITE_DONE)
            return ts_sqlite_rc(src) ? ts_sqlite_rc(src) : TS_EIO;
    }
    if (!*idx)
        return TS_EIO; /* RETURNING gave no row */
    if (id == Q_CTX_INSERT) {
        ctx_row *r = ts_arena_alloc(j->a, sizeof(*r));
        if (!r)
            return TS_ENOMEM;
        *r = (ctx_row){t->rowid, j->ctx_added};
        j->ctx_added = r;
    }
    ts_spanctx_put(j->c->spanctx, t->rowid, res, sp->scope, *idx);
    return TS_OK;
}

static int ingest_span(job_ctx *j, ts_span *sp)
{
    tagg *t;
    old_span o;
    int found = 0, rc;
    int64_t rl_id = 0, ctx;
    sqlite3_stmt *q;

    if ((rc = ts_sqlite_tagg_get(j, sp->trace_id, &t)) != TS_OK)
        return rc;
    if (t->skip)
        return TS_OK;
    if (t->closed) {
        sp->rejected = 1;
        j->w->nrejected++;
        return TS_OK;
    }
    sp->created_ns = j->now;
    /* A trace without an aggregate row has no spans (both are written in
     * one transaction by this writer, and deletes remove both), and spans
     * are unique within a job: its spans are all inserts. */
    if (t->existed && (rc = load_old(j, t, sp, &o, &found)) != TS_OK)
        return rc;
    if (!sp->log_request && sp->request_log_id > 0) {
        rl_id = sp->request_log_id; /* /track-request: the log is already written */
    } else if (!sp->log_request) {
        if (j->c->pending_logs && (rc = apply_pending(j, t, sp, &rl_id)) != TS_OK)
            return rc;
        if (!rl_id && found)
            rl_id = o.request_log_id;
    } else if ((rc = write_request_log(j, t, sp, found ? o.request_log_id : 0, &rl_id)) != TS_OK) {
        return rc;
    }
    if ((rc = span_ctx(j, t, sp, &ctx)) != TS_OK)
        return rc;
    if (found) {
        /* created_at is the first ingest: a retry of the same span changes nothing. */
        sp->created_ns = o.created_ns;
        if (!(q = ts_sqlite_stmt(j->c, Q_SPAN_UPDATE)))
            return TS_EIO;
        bind_span_tail(q, 1, sp, rl_id, ctx);
        sqlite3_bind_int64(q, 36, o.id);
        sp->rowid = o.id;
    } else {
        if (!(q = ts_sqlite_ws_stmt(j, Q_SPAN_INSERT, sp->trace_id)))
            return TS_EIO;
        sqlite3_bind_text(q, 3, sp->span_id, -1, SQLITE_STATIC);
        bind_span_tail(q, 4, sp, rl_id, ctx);
        sqlite3_bind_int64(q, 39, t->rowid);
    }
    if ((rc = ts_sqlite_step_done(q)) != TS_OK)
        return rc;
    if (!found)
        sp->rowid = sqlite3_last_insert_rowid(j->c->db);
    sp->request_log_id = rl_id;
    /* A pair the window cannot take only means a later /track-request
     * waits for the span: not a reason to fail the write. */
    (void)ts_spanwin_put(j->c->spanwin, j->w->ws_id, sp->span_id, t->rowid, 0);
    if ((rc = ts_sqlite_dims_update(j, t, sp, found ? &o : NULL)) != TS_OK)
        return rc;
    ts_sqlite_tagg_apply(t, sp, found ? &o : NULL);
    return TS_OK;
}

static int insert_closure(job_ctx *j, const char *trace_id, ts_closure *out)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_CLOSE_INSERT);
    char uuid[TS_UUID_STRLEN + 1];
    if (!q)
        return TS_EIO;
    ts_uuid_new(uuid);
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, trace_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, j->now);
    int rc = ts_sqlite_step_done(q);
    if (rc == TS_OK && out) {
        memset(out, 0, sizeof(*out));
        memcpy(out->id, uuid, sizeof(out->id));
        out->workspace_id = j->w->ws_id;
        snprintf(out->trace_id, sizeof(out->trace_id), "%s", trace_id);
        out->created_ns = out->updated_ns = j->now;
    }
    return rc;
}

/* Project row id for a name or UUID, created (by name) on first use. */
static int resolve_project(job_ctx *j, const char *p, int64_t *id)
{
    sqlite3_stmt *q;
    int src;
    *id = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0 && !ts_uuid_valid(p))
            continue;
        if (!(q = ts_sqlite_ws_stmt(j, pass == 0 ? Q_PROJ_BY_UUID : Q_PROJ_BY_NAME, p)))
            return TS_EIO;
        src = sqlite3_step(q);
        if (src == SQLITE_ROW)
            *id = sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
        if (*id)
            return TS_OK;
    }
    char uuid[TS_UUID_STRLEN + 1];
    ts_uuid_new(uuid);
    if (!(q = ts_sqlite_ws_stmt(j, Q_PROJ_INSERT, uuid)))
        return TS_EIO;
    sqlite3_bind_text(q, 3, p, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, 0);
    sqlite3_bind_int64(q, 5, j->now);
    int rc = ts_sqlite_step_done(q);
    if (rc == TS_OK)
        *id = sqlite3_last_insert_rowid(j->c->db);
    return rc;
}

static void bind_i64_or_null(sqlite3_stmt *q, int i, int has, int64_t v)
{
    if (has)
        sqlite3_bind_int64(q, i, v);
    else
        sqlite3_bind_null(q, i);
}

/* Writes the explicit trace fields of m onto t's row (creating the row
 * for a trace that has no span). */
static int apply_meta(job_ctx *j, tagg *t, ts_trace_meta *m)
{
    sqlite3_stmt *q;
    int64_t project = 0;
    int rc;
    if (!t->inrow && (rc = ts_sqlite_tagg_store(j, t)) != TS_OK)
        return rc;
    if (m->project && (rc = resolve_project(j, m->project, &project)) != TS_OK)
        return rc;
    if (!(q = ts_sqlite_stmt(j->c, Q_TRACE_META)))
        return TS_EIO;
    sqlite3_bind_int64(q, 1, t->rowid);
    bind_i64_or_null(q, 2, project != 0, project);
    ts_sqlite_bind_text(q, 3, m->name);
    ts_sqlite_bind_text(q, 4, m->input);
    ts_sqlite_bind_text(q, 5, m->output);
    ts_sqlite_bind_text(q, 6, m->model);
    ts_sqlite_bind_text(q, 7, m->error);
    if (m->has_cost)
        sqlite3_bind_double(q, 8, m->cost);
    bind_i64_or_null(q, 9, m->latency_ms >= 0, m->latency_ms);
    bind_i64_or_null(q, 10, m->has_started, m->started_ns);
    bind_i64_or_null(q, 11, m->has_ended, m->ended_ns);
    ts_sqlite_bind_text(q, 12, m->session_id);
    ts_sqlite_bind_text(q, 13, m->user_id);
    ts_sqlite_bind_text(q, 14, m->external_id);
    ts_sqlite_bind_text(q, 15, m->tags);
    ts_sqlite_bind_text(q, 16, m->tag_map);
    ts_sqlite_bind_text(q, 17, m->metadata);
    ts_sqlite_bind_text(q, 18, m->events);
    sqlite3_bind_int64(q, 19, j->now);
    if ((rc = ts_sqlite_step_done(q)) != TS_OK)
        return rc;
    /* An explicit model or error counts for the any-span filters too (one
     * reference that no span replacement removes). */
    return ts_sqlite_dims_meta(j, t, m);
}

/* Writes a job's image t (not deferred): its row, explicit trace fields,
 * trace_dims changes and, when the start moved, the dims' order. */
static int store_trace(job_ctx *j, tagg *t)
{
    int rc;
    if (t->touched && (rc = ts_sqlite_tagg_store(j, t)) != TS_OK)
        return rc;
    if (t->meta && (rc = apply_meta(j, t, t->meta)) != TS_OK)
        return rc;
    if ((t->touched || t->meta) && (rc = ts_sqlite_dims_flush(j, t)) != TS_OK)
        return rc;
    /* New dims rows were written with the trace's start and row id;
     * older rows need them again only when the start moved. */
    int moved = t->existed &&
                (ts_sqlite_tagg_start(t) != t->loaded_started || (t->meta && t->meta->has_started));
    if (moved && (rc = ts_sqlite_dims_sync(j, t)) != TS_OK)
        return rc;
    return TS_OK;
}

static int apply_ingest(job_ctx *j)
{
    ts_write *w = j->w;
    int rc;
    if ((rc = ts_sqlite_ttable_init(&j->t, j->a, w->nspans + w->ntraces)) != TS_OK)
        return rc;
    /* Trace meta first: a duplicate trace's spans are skipped. */
    for (size_t i = 0; i < w->ntraces; i++) {
        ts_trace_meta *m = &w->traces[i];
        tagg *t;
        if ((rc = ts_sqlite_tagg_get(j, m->trace_id, &t)) != TS_OK)
            return rc;
        m->duplicate = t->inrow;
        m->created_ns = j->now;
        if (m->duplicate && w->skip_existing_traces)
            t->skip = 1;
        else if (!t->closed)
            t->meta = m;
    }
    for (size_t i = 0; i < w->nspans; i++)
        if ((rc = ingest_span(j, &w->spans[i])) != TS_OK)
            return rc;
    if (j->tx) /* deferred: the images stay consistent between jobs */
        for (size_t i = 0; i < j->t.nlist; i++) {
            tagg *t = j->t.list[i];
            if (t->touched && (t->agg.recompute || t->agg.resum) &&
                (rc = ts_sqlite_tagg_recompute(j, t)) != TS_OK)
                return rc;
        }
    for (size_t i = 0; !j->tx && i < j->t.nlist; i++) {
        tagg *t = j->t.list[i];
        if ((rc = store_trace(j, t)) != TS_OK)
            return rc;
        if (t->touched && w->close_after && !t->closed) {
            if ((rc = insert_closure(j, t->trace_id, NULL)) != TS_OK)
                return rc;
            t->closed = 1;
        }
    }
    return TS_OK;
}

static int bind_ws_trace(job_ctx *j, int id, sqlite3_stmt **out)
{
    return (*out = ts_sqlite_ws_stmt(j, id, j->w->trace_id)) ? TS_OK : TS_EIO;
}

static int apply_close(job_ctx *j)
{
    sqlite3_stmt *q;
    int closed = 0, rc, src;
    if ((rc = bind_ws_trace(j, Q_TRACE_START, &q)) != TS_OK)
        return rc;
    src = sqlite3_step(q);
    sqlite3_reset(q);
    if (src == SQLITE_DONE)
        return ts_err_set(&j->w->err, TS_ENOTFOUND, "Trace not found");
    if (src != SQLITE_ROW)
        return ts_sqlite_rc(src);
    if ((rc = ts_sqlite_trace_closed(j, j->w->trace_id, &closed)) != TS_OK)
        return rc;
    if (closed)
        return ts_err_set(&j->w->err, TS_ECONFLICT, "Trace already closed");
    return insert_closure(j, j->w->trace_id, &j->w->closure);
}

/* Deletes one trace (row trow) with everything hanging off it: rows keyed
 * by the trace's row id, then those keyed by its id (closure, feedback). */
static int delete_trace(job_ctx *j, const char *trace_id, int64_t trow)
{
    static const int by_row[] = {Q_DEL_SPANS, Q_DEL_CTX, Q_DEL_RL, Q_DEL_DIMS, Q_DEL_TRACE};
    static const int by_id[] = {Q_DEL_CLOSURE, Q_DEL_FEEDBACK};
    int rc;
    for (size_t i = 0; i < sizeof(by_row) / sizeof(by_row[0]); i++) {
        sqlite3_stmt *q = ts_sqlite_tr_stmt(j, by_row[i], trow);
        if (!q)
            return TS_EIO;
        if ((rc = ts_sqlite_step_done(q)) != TS_OK)
            return rc;
    }
    ts_spanctx_drop(j->c->spanctx, trow); /* the row may be reused (next_trace_row) */
    for (size_t i = 0; i < sizeof(by_id) / sizeof(by_id[0]); i++) {
        sqlite3_stmt *q = ts_sqlite_ws_stmt(j, by_id[i], trace_id);
        if (!q)
            return TS_EIO;
        if ((rc = ts_sqlite_step_done(q)) != TS_OK)
            return rc;
    }
    return TS_OK;
}

/* The same for the retention sweep (sqlite_sweep.c). */
int ts_sqlite_delete_trace(job_ctx *j, const char *trace_id, int64_t trow)
{
    return delete_trace(j, trace_id, trow);
}

static int apply_delete(job_ctx *j)
{
    ts_write *w = j->w;
    sqlite3_stmt *q;
    int rc, src;

    w->affected = 0;
    if ((rc = bind_ws_trace(j, Q_TRACE_START, &q)) != TS_OK)
        return rc;
    src = sqlite3_step(q);
    int64_t started = src == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    int64_t trow = src == SQLITE_ROW ? sqlite3_column_int64(q, 1) : 0;
    sqlite3_reset(q);
    if (src == SQLITE_DONE)
        return TS_OK;
    if (src != SQLITE_ROW)
        return ts_sqlite_rc(src);
    if ((w->has_from && started < w->from_ns) || (w->has_to && started > w->to_ns))
        return TS_OK;
    if ((rc = delete_trace(j, w->trace_id, trow)) != TS_OK)
        return rc;
    w->affected = 1;
    return TS_OK;
}

/* Deletes every trace matching w->query, or nothing when more than
 * w->max_delete match (TS_ETOOBIG, match count in affected). */
static int apply_bulk_delete(job_ctx *j)
{
    ts_write *w = j->w;
    sqlite3_stmt *st = NULL;
    int64_t max = w->max_delete > 0 ? w->max_delete : 1000, n = 0;
    char **ids = ts_arena_alloc(j->a, (size_t)(max + 1) * sizeof(*ids));
    int64_t *rows = ts_arena_alloc(j->a, (size_t)(max + 1) * sizeof(*rows));
    int rc, src;

    w->affected = 0;
    if (!ids || !rows)
        return TS_ENOMEM;
    rc = ts_sqlite_query_prepare(j->c->db, w->ws_id, w->query, "t.trace_id, t.id", 0, -1, 0, j->a,
                                 &st);
    if (rc != TS_OK)
        return rc;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n <= max) {
            ids[n] = ts_sqlite_col_text(j->a, st, 0);
            rows[n] = sqlite3_column_int64(st, 1);
        }
        n++;
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return ts_sqlite_rc(src) ? ts_sqlite_rc(src) : TS_EIO;
    if (n > max) {
        w->affected = n;
        return ts_err_set(&w->err, TS_ETOOBIG,
                          "Filter matched more than %lld traces. Narrow your filters or delete "
                          "in smaller batches.",
                          (long long)max);
    }
    for (int64_t i = 0; i < n; i++)
        if ((rc = delete_trace(j, ids[i], rows[i])) != TS_OK)
            return rc;
    w->affected = n;
    return TS_OK;
}

static int apply_feedback(job_ctx *j)
{
    ts_feedback *f = j->w->feedback;
    sqlite3_stmt *q = ts_sqlite_ws_stmt(j, Q_TRACE_EXISTS, f->trace_id);
    if (!q)
        return TS_EIO;
    int src = sqlite3_step(q);
    sqlite3_reset(q);
    if (src == SQLITE_DONE)
        return ts_err_set(&j->w->err, TS_ENOTFOUND, "Trace not found.");
    if (src != SQLITE_ROW)
        return ts_sqlite_rc(src);
    if (!(q = ts_sqlite_stmt(j->c, Q_FEEDBACK_INSERT)))
        return TS_EIO;
    ts_uuid_new(f->id);
    f->created_ns = j->now;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, f->trace_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, f->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, f->label, -1, SQLITE_STATIC);
    if (f->has_score)
        sqlite3_bind_double(q, 5, f->score);
    ts_sqlite_bind_text(q, 6, f->comment);
    ts_sqlite_bind_text(q, 7, f->metadata);
    sqlite3_bind_int64(q, 8, j->now);
    return ts_sqlite_step_done(q);
}

/* Writes the track's request log (trace_id '' and trow NULL while its span
 * is unknown). */
static int insert_track_log(job_ctx *j, const ts_track *tr, const char *trace_id, int64_t trow)
{
    sqlite3_stmt *q = ts_sqlite_ws_stmt(j, Q_RL_TRACK_INSERT, trace_id);
    if (!q)
        return TS_EIO;
    sqlite3_bind_text(q, 3, tr->span_id ? tr->span_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, tr->body ? tr->body : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, j->now);
    ts_sqlite_bind_text(q, 6, tr->model);
    ts_sqlite_bind_text(q, 7, tr->provider);
    ts_sqlite_bind_text(q, 8, tr->input);
    ts_sqlite_bind_text(q, 9, tr->output);
    ts_sqlite_bind_i64_opt(q, 10, tr->prompt_tokens);
    ts_sqlite_bind_i64_opt(q, 11, tr->completion_tokens);
    if (tr->has_cost)
        sqlite3_bind_double(q, 12, tr->cost);
    bind_i64_or_null(q, 13, trow != 0, trow);
    if (!*trace_id)
        j->c->pending_logs = 1; /* until restart: a false positive costs a lookup */
    return ts_sqlite_step_done(q);
}

/* /track-request: when the span exists, the log is attached to it and the
 * span is rewritten through the normal ingest path (aggregates move by the
 * difference); otherwise the log waits (trace_id '') for the span. */
static int apply_track(job_ctx *j)
{
    ts_track *tr = j->w->track;
    char *trace_id = NULL;
    int64_t trow = 0;
    ts_span sp;
    sqlite3_stmt *q;
    int rc, src;

    /* The span is found through the writer's window of recent span ids
     * (spanwin.h); the candidate is checked against the tables. */
    if (tr->span_id && (trow = ts_spanwin_get(j->c->spanwin, j->w->ws_id, tr->span_id)) != 0) {
        if (!(q = ts_sqlite_tr_stmt(j, Q_SPAN_BY_ID, trow)))
            return TS_EIO;
        sqlite3_bind_text(q, 3, tr->span_id, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW)
            trace_id = ts_sqlite_col_text(j->a, q, 0);
        else
            trow = 0;
        sqlite3_reset(q);
    }
    if ((rc = insert_track_log(j, tr, trace_id ? trace_id : "", trow)) != TS_OK)
        return rc;
    tr->request_id = sqlite3_last_insert_rowid(j->c->db);
    if (!trace_id)
        return TS_OK;
    if (!(q = ts_sqlite_tr_stmt(j, Q_SPAN_FULL, trow)))
        return TS_EIO;
    sqlite3_bind_text(q, 3, tr->span_id, -1, SQLITE_STATIC);
    src = sqlite3_step(q);
    if (src == SQLITE_ROW)
        ts_sqlite_read_span_row(q, j->a, &sp);
    sqlite3_reset(q);
    if (src != SQLITE_ROW)
        return src == SQLITE_DONE ? TS_OK : ts_sqlite_rc(src);
    sp.trace_id = trace_id;
    ts_jobs_merge_log(j->w->derive, &sp, tr);
    sp.log_request = NULL;
    sp.request_log_id = tr->request_id;
    /* The rewrite is an ingest of the final span: the same old -> new
     * moves of the aggregates and of every trace_dims entry. */
    if ((rc = ts_sqlite_ttable_init(&j->t, j->a, 1)) != TS_OK ||
        (rc = ingest_span(j, &sp)) != TS_OK)
        return rc;
    tr->attached = !sp.rejected;
    for (size_t i = 0; i < j->t.nlist; i++)
        if ((rc = store_trace(j, j->t.list[i])) != TS_OK)
            return rc;
    return TS_OK;
}

static int find_or_create_ws(job_ctx *j, ts_workspace *ws)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_WS_FIND);
    int rc;
    if (!q)
        return TS_EIO;
    sqlite3_bind_text(q, 1, j->w->ws_name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        ws->id = sqlite3_column_int64(q, 0);
        snprintf(ws->uuid, sizeof(ws->uuid), "%s", (const char *)sqlite3_column_text(q, 1));
        snprintf(ws->name, sizeof(ws->name), "%s", (const char *)sqlite3_column_text(q, 2));
        sqlite3_reset(q);
        return TS_OK;
    }
    sqlite3_reset(q);
    ts_uuid_new(ws->uuid);
    snprintf(ws->name, sizeof(ws->name), "%s", j->w->ws_name);
    if (!(q = ts_sqlite_stmt(j->c, Q_WS_INSERT)))
        return TS_EIO;
    sqlite3_bind_text(q, 1, ws->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, ws->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, j->now);
    if ((rc = ts_sqlite_step_done(q)) != TS_OK)
        return rc;
    ws->id = sqlite3_last_insert_rowid(j->c->db);
    /* Every workspace has a default project: spans that name none land there. */
    char puuid[TS_UUID_STRLEN + 1];
    ts_uuid_new(puuid);
    if (!(q = ts_sqlite_stmt(j->c, Q_PROJ_INSERT)))
        return TS_EIO;
    sqlite3_bind_int64(q, 1, ws->id);
    sqlite3_bind_text(q, 2, puuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, "default", -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, 1);
    sqlite3_bind_int64(q, 5, j->now);
    return ts_sqlite_step_done(q);
}

static int apply_key_create(job_ctx *j)
{
    ts_write *w = j->w;
    sqlite3_stmt *q;
    int rc = find_or_create_ws(j, &w->ws);
    if (rc != TS_OK)
        return rc;
    if (!(q = ts_sqlite_stmt(j->c, Q_KEY_INSERT)))
        return TS_EIO;
    sqlite3_bind_int64(q, 1, w->ws.id);
    sqlite3_bind_text(q, 2, w->key_prefix, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, w->key_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, j->now);
    if ((rc = ts_sqlite_step_done(q)) != TS_OK)
        return rc;
    w->ws.key_id = sqlite3_last_insert_rowid(j->c->db);
    return TS_OK;
}

static int apply_key_revoke(job_ctx *j)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_KEY_REVOKE);
    if (!q)
        return TS_EIO;
    sqlite3_bind_text(q, 1, j->w->key_prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, j->now);
    int rc = ts_sqlite_step_done(q);
    j->w->affected = sqlite3_changes(j->c->db);
    return rc;
}

static int apply_job(job_ctx *j)
{
    switch (j->w->kind) {
    case TS_W_INGEST:
        return apply_ingest(j);
    case TS_W_CLOSE:
        return apply_close(j);
    case TS_W_DELETE:
        return apply_delete(j);
    case TS_W_KEY_CREATE:
        return apply_key_create(j);
    case TS_W_KEY_REVOKE:
        return apply_key_revoke(j);
    case TS_W_PING:
        return TS_OK;
    case TS_W_FEEDBACK:
        return apply_feedback(j);
    case TS_W_BULK_DELETE:
        return apply_bulk_delete(j);
    case TS_W_TRACK_REQUEST:
        return apply_track(j);
    case TS_W_SWEEP:
        return ts_sqlite_apply_sweep(j);
    case TS_W_WS_RETENTION:
        return ts_sqlite_apply_ws_retention(j);
    }
    return TS_EINVAL;
}

/* Runs one job in its savepoint; returns non-OK only when the whole
 * transaction must fail (a merged image could not be recorded). */
int ts_sqlite_job_run(ts_sqlite *s, ts_write *w, int64_t now, ttable *shared)
{
    job_ctx j = {.c = s->w, .w = w, .now = now, .a = ts_arena_new(64 * 1024), .tx = shared};
    int fatal = TS_OK;
    if (!j.a) {
        w->rc = ts_err_set(&w->err, TS_ENOMEM, "out of memory");
        return TS_OK;
    }
    j.sa = shared ? shared->a : j.a;
    w->nrejected = 0;
    uint64_t traces_new = s->w->traces_new;
    if ((w->rc = ts_sqlite_tx(s->w, Q_TX_SAVEPOINT)) == TS_OK) {
        w->rc = apply_job(&j);
        if (w->rc == TS_OK && shared)
            fatal = ts_sqlite_tagg_merge(&j);
        if (w->rc != TS_OK) {
            ts_sqlite_tx(s->w, Q_TX_ROLLBACK_TO);
            s->w->traces_new = traces_new; /* its inserts are undone */
            for (ctx_row *r = j.ctx_added; r; r = r->next)
                ts_spanctx_drop(s->w->spanctx, r->trow);
        }
        ts_sqlite_tx(s->w, Q_TX_RELEASE);
    }
    if (w->rc != TS_OK && w->err.code == 0)
        ts_err_set(&w->err, w->rc, "%s", ts_strerror(w->rc));
    ts_arena_free(j.a);
    return fatal;
}
