/* sqlite_write.c: the single writer. One thread owns the read-write
 * connection; it drains the job queue and commits many jobs in one
 * transaction (group commit), each job inside its own savepoint so a
 * failing job rolls back alone. Done callbacks run only after COMMIT
 * returned, so an acknowledged write is durable. Per-trace aggregates are
 * maintained here incrementally, in the same transaction as the spans. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "tracestore/ids.h"
#include "tracestore/log.h"
#include "tracestore/timeutil.h"

/* In-memory image of one trace's aggregate row while a job touches it. */
typedef struct tagg {
    const char *trace_id;
    int64_t rowid; /* 0: not yet in the table */
    int closed;
    int touched;   /* at least one span written in this job */
    int recompute; /* a replaced span held an extreme: re-derive from spans */
    int64_t span_count, llm_span_count, prompt, completion, total;
    double cost_sum;
    int64_t cost_n, unpriced, error_count;
    int has_ext;
    int64_t started, ended;
    const char *root_span_id, *root_name, *root_input, *root_output, *root_model, *root_error;
    int64_t root_start;
    const char *err_span_id, *err_text;
    int64_t err_start;
    struct tagg *next; /* hash chain */
} tagg;

typedef struct job_ctx {
    ts_sqlite_conn *c;
    ts_arena *a;
    ts_write *w;
    int64_t now;
    tagg **buckets;
    size_t nbuckets;
    tagg **list; /* touched traces in first-seen order */
    size_t nlist, caplist;
} job_ctx;

/* The old values of a span being replaced. */
typedef struct old_span {
    int64_t id, start, end, prompt, completion, total, request_log_id, created_ns;
    int is_root, is_llm, has_error, has_cost, unpriced;
    double cost;
} old_span;

static int step_done(sqlite3_stmt *st)
{
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_DONE || src == SQLITE_ROW)
        return TS_OK;
    int rc = ts_sqlite_rc(src);
    return rc ? rc : TS_EIO;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_i64_opt(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == TS_TOKENS_ABSENT)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

static int is_root(const char *parent)
{
    return parent == NULL || parent[0] == '\0';
}

static int is_llm(const char *type)
{
    return type && strcmp(type, "llm") == 0;
}

/* A span's contribution to the trace's total token count. */
static int64_t span_total(int64_t p, int64_t c, int64_t t)
{
    if (p != TS_TOKENS_ABSENT || c != TS_TOKENS_ABSENT)
        return (p > 0 ? p : 0) + (c > 0 ? c : 0);
    return t > 0 ? t : 0;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Bind the 34 SPAN_TAIL values starting at parameter `at`. */
static void bind_span_tail(sqlite3_stmt *q, int at, const ts_span *sp, int64_t rl_id)
{
    bind_text(q, at + 0, is_root(sp->parent_id) ? NULL : sp->parent_id);
    bind_text(q, at + 1, sp->name);
    sqlite3_bind_int(q, at + 2, sp->kind);
    sqlite3_bind_int64(q, at + 3, sp->start_ns);
    sqlite3_bind_int64(q, at + 4, sp->end_ns);
    sqlite3_bind_int(q, at + 5, sp->status_code);
    bind_text(q, at + 6, sp->status_message);
    bind_text(q, at + 7, sp->trace_state);
    bind_text(q, at + 8, sp->attributes ? sp->attributes : "{}");
    bind_text(q, at + 9, sp->events ? sp->events : "[]");
    bind_text(q, at + 10, sp->links ? sp->links : "[]");
    bind_text(q, at + 11, sp->resource ? sp->resource : "{}");
    bind_text(q, at + 12, sp->scope);
    sqlite3_bind_int(q, at + 13, sp->origin);
    bind_text(q, at + 14, sp->type);
    bind_text(q, at + 15, sp->model);
    bind_text(q, at + 16, sp->provider);
    bind_text(q, at + 17, sp->input);
    bind_text(q, at + 18, sp->output);
    bind_i64_opt(q, at + 19, sp->prompt_tokens);
    bind_i64_opt(q, at + 20, sp->completion_tokens);
    bind_i64_opt(q, at + 21, sp->total_tokens);
    bind_i64_opt(q, at + 22, sp->cache_read_tokens);
    bind_i64_opt(q, at + 23, sp->cache_write_tokens);
    bind_i64_opt(q, at + 24, sp->reasoning_tokens);
    if (sp->has_cost)
        sqlite3_bind_double(q, at + 25, sp->cost);
    else
        sqlite3_bind_null(q, at + 25);
    sqlite3_bind_int(q, at + 26, sp->unpriced ? 1 : 0);
    bind_text(q, at + 27, sp->error);
    bind_text(q, at + 28, sp->session_id);
    bind_text(q, at + 29, sp->user_id);
    bind_text(q, at + 30, sp->metadata);
    if (sp->latency_ms >= 0)
        sqlite3_bind_int64(q, at + 31, sp->latency_ms);
    else
        sqlite3_bind_null(q, at + 31);
    if (rl_id > 0)
        sqlite3_bind_int64(q, at + 32, rl_id);
    else
        sqlite3_bind_null(q, at + 32);
    sqlite3_bind_int64(q, at + 33, sp->created_ns);
}

static int query_closed(job_ctx *j, const char *trace_id, int *closed)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_CLOSED);
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, trace_id, -1, SQLITE_STATIC);
    int src = sqlite3_step(q);
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return ts_sqlite_rc(src);
    *closed = src == SQLITE_ROW;
    return TS_OK;
}

/* Loads the aggregate row of trace_id (or an empty image). */
static int tagg_load(job_ctx *j, tagg *t)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_TRACE_LOAD);
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, t->trace_id, -1, SQLITE_STATIC);
    int src = sqlite3_step(q);
    if (src == SQLITE_ROW) {
        t->rowid = sqlite3_column_int64(q, 0);
        t->span_count = sqlite3_column_int64(q, 1);
        t->llm_span_count = sqlite3_column_int64(q, 2);
        t->prompt = sqlite3_column_int64(q, 3);
        t->completion = sqlite3_column_int64(q, 4);
        t->total = sqlite3_column_int64(q, 5);
        t->cost_sum = sqlite3_column_double(q, 6);
        t->cost_n = sqlite3_column_int64(q, 7);
        t->unpriced = sqlite3_column_int64(q, 8);
        t->has_ext = sqlite3_column_type(q, 9) != SQLITE_NULL;
        t->started = sqlite3_column_int64(q, 9);
        t->ended = sqlite3_column_int64(q, 10);
        t->error_count = sqlite3_column_int64(q, 11);
        t->root_span_id = ts_sqlite_col_text(j->a, q, 12);
        t->root_start = sqlite3_column_int64(q, 13);
        t->root_name = ts_sqlite_col_text(j->a, q, 14);
        t->root_input = ts_sqlite_col_text(j->a, q, 15);
        t->root_output = ts_sqlite_col_text(j->a, q, 16);
        t->root_model = ts_sqlite_col_text(j->a, q, 17);
        t->root_error = ts_sqlite_col_text(j->a, q, 18);
        t->err_span_id = ts_sqlite_col_text(j->a, q, 19);
        t->err_start = sqlite3_column_int64(q, 20);
        t->err_text = ts_sqlite_col_text(j->a, q, 21);
    }
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return ts_sqlite_rc(src);
    return query_closed(j, t->trace_id, &t->closed);
}

static int tagg_get(job_ctx *j, const char *trace_id, tagg **out)
{
    uint64_t h = hash_str(trace_id) % j->nbuckets;
    for (tagg *t = j->buckets[h]; t; t = t->next)
        if (strcmp(t->trace_id, trace_id) == 0) {
            *out = t;
            return TS_OK;
        }
    tagg *t = ts_arena_calloc(j->a, 1, sizeof(*t));
    if (!t)
        return TS_ENOMEM;
    t->trace_id = trace_id;
    int rc = tagg_load(j, t);
    if (rc != TS_OK)
        return rc;
    if (j->nlist == j->caplist) {
        size_t ncap = j->caplist ? j->caplist * 2 : 16;
        tagg **nl = ts_arena_alloc(j->a, ncap * sizeof(*nl));
        if (!nl)
            return TS_ENOMEM;
        if (j->nlist)
            memcpy(nl, j->list, j->nlist * sizeof(*nl));
        j->list = nl;
        j->caplist = ncap;
    }
    j->list[j->nlist++] = t;
    t->next = j->buckets[h];
    j->buckets[h] = t;
    *out = t;
    return TS_OK;
}

static int load_old(job_ctx *j, const ts_span *sp, old_span *o, int *found)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_SPAN_OLD);
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, sp->trace_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, sp->span_id, -1, SQLITE_STATIC);
    int src = sqlite3_step(q);
    *found = src == SQLITE_ROW;
    if (*found) {
        memset(o, 0, sizeof(*o));
        o->id = sqlite3_column_int64(q, 0);
        o->start = sqlite3_column_int64(q, 1);
        o->end = sqlite3_column_int64(q, 2);
        o->is_root = sqlite3_column_type(q, 3) == SQLITE_NULL || sqlite3_column_bytes(q, 3) == 0;
        o->has_error = sqlite3_column_type(q, 4) != SQLITE_NULL;
        o->is_llm = is_llm((const char *)sqlite3_column_text(q, 5));
        o->prompt = sqlite3_column_type(q, 6) == SQLITE_NULL ? TS_TOKENS_ABSENT
                                                              : sqlite3_column_int64(q, 6);
        o->completion = sqlite3_column_type(q, 7) == SQLITE_NULL ? TS_TOKENS_ABSENT
                                                                  : sqlite3_column_int64(q, 7);
        o->total = sqlite3_column_type(q, 8) == SQLITE_NULL ? TS_TOKENS_ABSENT
                                                             : sqlite3_column_int64(q, 8);
        o->has_cost = sqlite3_column_type(q, 9) != SQLITE_NULL;
        o->cost = sqlite3_column_double(q, 9);
        o->unpriced = sqlite3_column_int(q, 10);
        o->request_log_id = sqlite3_column_int64(q, 11);
        o->created_ns = sqlite3_column_int64(q, 12);
    }
    sqlite3_reset(q);
    return (src == SQLITE_ROW || src == SQLITE_DONE) ? TS_OK : ts_sqlite_rc(src);
}

/* Writes or replaces the span's request log; returns its id in *rl_id. */
static int write_request_log(job_ctx *j, const ts_span *sp, int64_t old_rl, int64_t *rl_id)
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
        return step_done(q);
    }
    if (!(q = ts_sqlite_stmt(j->c, Q_RL_INSERT)))
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, sp->trace_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, sp->span_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, sp->log_request, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, j->now);
    int rc = step_done(q);
    if (rc == TS_OK)
        *rl_id = sqlite3_last_insert_rowid(j->c->db);
    return rc;
}

/* Moves t's aggregates by the difference between old (if any) and sp. */
static void tagg_apply(tagg *t, const ts_span *sp, const old_span *o)
{
    if (o) {
        t->span_count--;
        t->llm_span_count -= o->is_llm;
        t->prompt -= o->prompt > 0 ? o->prompt : 0;
        t->completion -= o->completion > 0 ? o->completion : 0;
        t->total -= span_total(o->prompt, o->completion, o->total);
        if (o->has_cost) {
            t->cost_sum -= o->cost;
            t->cost_n--;
        }
        t->unpriced -= o->unpriced;
        t->error_count -= o->has_error;
        /* A replaced span that held an extreme may no longer hold it. */
        if ((o->start == t->started && sp->start_ns > o->start) ||
            (o->end == t->ended && sp->end_ns < o->end))
            t->recompute = 1;
        if (t->root_span_id && strcmp(t->root_span_id, sp->span_id) == 0 &&
            (!is_root(sp->parent_id) || sp->start_ns > t->root_start))
            t->recompute = 1;
        if (t->err_span_id && strcmp(t->err_span_id, sp->span_id) == 0 &&
            (!sp->error || sp->start_ns > t->err_start))
            t->recompute = 1;
    }
    t->span_count++;
    t->llm_span_count += is_llm(sp->type);
    t->prompt += sp->prompt_tokens > 0 ? sp->prompt_tokens : 0;
    t->completion += sp->completion_tokens > 0 ? sp->completion_tokens : 0;
    t->total += span_total(sp->prompt_tokens, sp->completion_tokens, sp->total_tokens);
    if (sp->has_cost) {
        t->cost_sum += sp->cost;
        t->cost_n++;
    }
    t->unpriced += sp->unpriced ? 1 : 0;
    t->error_count += sp->error != NULL;
    if (!t->has_ext || sp->start_ns < t->started)
        t->started = sp->start_ns;
    if (!t->has_ext || sp->end_ns > t->ended)
        t->ended = sp->end_ns;
    t->has_ext = 1;
    if (is_root(sp->parent_id) &&
        (!t->root_span_id || sp->start_ns < t->root_start ||
         (sp->start_ns == t->root_start && strcmp(sp->span_id, t->root_span_id) <= 0))) {
        t->root_span_id = sp->span_id;
        t->root_start = sp->start_ns;
        t->root_name = sp->name;
        t->root_input = sp->input;
        t->root_output = sp->output;
        t->root_model = sp->model;
        t->root_error = sp->error;
    }
    if (sp->error &&
        (!t->err_span_id || sp->start_ns < t->err_start ||
         (sp->start_ns == t->err_start && strcmp(sp->span_id, t->err_span_id) <= 0))) {
        t->err_span_id = sp->span_id;
        t->err_start = sp->start_ns;
        t->err_text = sp->error;
    }
    t->touched = 1;
}

static int ingest_span(job_ctx *j, ts_span *sp)
{
    tagg *t;
    old_span o;
    int found = 0, rc;
    int64_t rl_id = 0;
    sqlite3_stmt *q;

    if ((rc = tagg_get(j, sp->trace_id, &t)) != TS_OK)
        return rc;
    if (t->closed) {
        sp->rejected = 1;
        j->w->nrejected++;
        return TS_OK;
    }
    sp->created_ns = j->now;
    if ((rc = load_old(j, sp, &o, &found)) != TS_OK)
        return rc;
    if ((rc = write_request_log(j, sp, found ? o.request_log_id : 0, &rl_id)) != TS_OK)
        return rc;
    if (found) {
        /* created_at is the first ingest: a retry of the same span changes nothing. */
        sp->created_ns = o.created_ns;
        if (!(q = ts_sqlite_stmt(j->c, Q_SPAN_UPDATE)))
            return TS_EIO;
        bind_span_tail(q, 1, sp, rl_id);
        sqlite3_bind_int64(q, 35, o.id);
        sp->rowid = o.id;
    } else {
        if (!(q = ts_sqlite_stmt(j->c, Q_SPAN_INSERT)))
            return TS_EIO;
        sqlite3_bind_int64(q, 1, j->w->ws_id);
        sqlite3_bind_text(q, 2, sp->trace_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, sp->span_id, -1, SQLITE_STATIC);
        bind_span_tail(q, 4, sp, rl_id);
    }
    if ((rc = step_done(q)) != TS_OK)
        return rc;
    if (!found)
        sp->rowid = sqlite3_last_insert_rowid(j->c->db);
    sp->request_log_id = rl_id;
    tagg_apply(t, sp, found ? &o : NULL);
    return TS_OK;
}

/* Re-derives the non-additive fields of t from its spans (rare: only when
 * a replaced span held the earliest start, latest end, root or error). */
static int tagg_recompute(job_ctx *j, tagg *t)
{
    sqlite3_stmt *q;
    int src;
    if (!(q = ts_sqlite_stmt(j->c, Q_RECOMP_EXT)))
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, t->trace_id, -1, SQLITE_STATIC);
    if ((src = sqlite3_step(q)) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        t->started = sqlite3_column_int64(q, 0);
        t->ended = sqlite3_column_int64(q, 1);
    }
    sqlite3_reset(q);
    if (!(q = ts_sqlite_stmt(j->c, Q_RECOMP_ROOT)))
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, t->trace_id, -1, SQLITE_STATIC);
    t->root_span_id = t->root_name = t->root_input = t->root_output = NULL;
    t->root_model = t->root_error = NULL;
    if (sqlite3_step(q) == SQLITE_ROW) {
        t->root_span_id = ts_sqlite_col_text(j->a, q, 0);
        t->root_start = sqlite3_column_int64(q, 1);
        t->root_name = ts_sqlite_col_text(j->a, q, 2);
        t->root_input = ts_sqlite_col_text(j->a, q, 3);
        t->root_output = ts_sqlite_col_text(j->a, q, 4);
        t->root_model = ts_sqlite_col_text(j->a, q, 5);
        t->root_error = ts_sqlite_col_text(j->a, q, 6);
    }
    sqlite3_reset(q);
    if (!(q = ts_sqlite_stmt(j->c, Q_RECOMP_ERR)))
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, t->trace_id, -1, SQLITE_STATIC);
    t->err_span_id = t->err_text = NULL;
    if (sqlite3_step(q) == SQLITE_ROW) {
        t->err_span_id = ts_sqlite_col_text(j->a, q, 0);
        t->err_start = sqlite3_column_int64(q, 1);
        t->err_text = ts_sqlite_col_text(j->a, q, 2);
    }
    sqlite3_reset(q);
    t->recompute = 0;
    return TS_OK;
}

static int default_project(job_ctx *j, int64_t *id)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_PROJ_DEFAULT);
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    *id = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    return TS_OK;
}

static void bind_agg(sqlite3_stmt *q, int at, const tagg *t)
{
    sqlite3_bind_int64(q, at + 0, t->span_count);
    sqlite3_bind_int64(q, at + 1, t->llm_span_count);
    sqlite3_bind_int64(q, at + 2, t->prompt);
    sqlite3_bind_int64(q, at + 3, t->completion);
    sqlite3_bind_int64(q, at + 4, t->total);
    sqlite3_bind_double(q, at + 5, t->cost_n > 0 ? t->cost_sum : 0.0);
    sqlite3_bind_int64(q, at + 6, t->cost_n);
    sqlite3_bind_int64(q, at + 7, t->unpriced);
    if (t->has_ext) {
        sqlite3_bind_int64(q, at + 8, t->started);
        sqlite3_bind_int64(q, at + 9, t->ended);
    }
    sqlite3_bind_int64(q, at + 10, t->error_count);
    bind_text(q, at + 11, t->root_span_id);
    if (t->root_span_id)
        sqlite3_bind_int64(q, at + 12, t->root_start);
    bind_text(q, at + 13, t->root_name);
    bind_text(q, at + 14, t->root_input);
    bind_text(q, at + 15, t->root_output);
    bind_text(q, at + 16, t->root_model);
    bind_text(q, at + 17, t->root_error);
    bind_text(q, at + 18, t->err_span_id);
    if (t->err_span_id)
        sqlite3_bind_int64(q, at + 19, t->err_start);
    bind_text(q, at + 20, t->err_text);
}

static int tagg_store(job_ctx *j, tagg *t)
{
    sqlite3_stmt *q;
    int rc;
    if (t->recompute && (rc = tagg_recompute(j, t)) != TS_OK)
        return rc;
    if (t->rowid) {
        if (!(q = ts_sqlite_stmt(j->c, Q_TRACE_UPDATE)))
            return TS_EIO;
        sqlite3_bind_int64(q, 1, j->now);
        bind_agg(q, 2, t);
        sqlite3_bind_int64(q, 23, t->rowid);
        return step_done(q);
    }
    int64_t project = 0;
    if ((rc = default_project(j, &project)) != TS_OK)
        return rc;
    if (!(q = ts_sqlite_stmt(j->c, Q_TRACE_INSERT)))
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, t->trace_id, -1, SQLITE_STATIC);
    if (project)
        sqlite3_bind_int64(q, 3, project);
    sqlite3_bind_int64(q, 4, j->now);
    sqlite3_bind_int64(q, 5, j->now);
    bind_agg(q, 6, t);
    if ((rc = step_done(q)) != TS_OK)
        return rc;
    t->rowid = sqlite3_last_insert_rowid(j->c->db);
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
    int rc = step_done(q);
    if (rc == TS_OK && out) {
        memset(out, 0, sizeof(*out));
        memcpy(out->id, uuid, sizeof(out->id));
        out->workspace_id = j->w->ws_id;
        snprintf(out->trace_id, sizeof(out->trace_id), "%s", trace_id);
        out->created_ns = out->updated_ns = j->now;
    }
    return rc;
}

static int apply_ingest(job_ctx *j)
{
    ts_write *w = j->w;
    int rc;
    size_t nb = 64;
    while (nb < w->nspans * 2 && nb < (1u << 20))
        nb <<= 1;
    j->nbuckets = nb;
    if (!(j->buckets = ts_arena_calloc(j->a, nb, sizeof(*j->buckets))))
        return TS_ENOMEM;
    for (size_t i = 0; i < w->nspans; i++)
        if ((rc = ingest_span(j, &w->spans[i])) != TS_OK)
            return rc;
    for (size_t i = 0; i < j->nlist; i++) {
        tagg *t = j->list[i];
        if (!t->touched)
            continue;
        if ((rc = tagg_store(j, t)) != TS_OK)
            return rc;
        if (w->close_after && !t->closed) {
            if ((rc = insert_closure(j, t->trace_id, NULL)) != TS_OK)
                return rc;
            t->closed = 1;
        }
    }
    return TS_OK;
}

static int bind_ws_trace(job_ctx *j, int id, sqlite3_stmt **out)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, id);
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, j->w->trace_id, -1, SQLITE_STATIC);
    *out = q;
    return TS_OK;
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
    if ((rc = query_closed(j, j->w->trace_id, &closed)) != TS_OK)
        return rc;
    if (closed)
        return ts_err_set(&j->w->err, TS_ECONFLICT, "Trace already closed");
    return insert_closure(j, j->w->trace_id, &j->w->closure);
}

static int apply_delete(job_ctx *j)
{
    ts_write *w = j->w;
    sqlite3_stmt *q;
    int rc, src;
    static const int dels[] = {Q_DEL_SPANS, Q_DEL_RL, Q_DEL_TRACE, Q_DEL_CLOSURE};

    w->affected = 0;
    if ((rc = bind_ws_trace(j, Q_TRACE_START, &q)) != TS_OK)
        return rc;
    src = sqlite3_step(q);
    int64_t started = src == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    if (src == SQLITE_DONE)
        return TS_OK;
    if (src != SQLITE_ROW)
        return ts_sqlite_rc(src);
    if ((w->has_from && started < w->from_ns) || (w->has_to && started > w->to_ns))
        return TS_OK;
    for (size_t i = 0; i < sizeof(dels) / sizeof(dels[0]); i++) {
        if ((rc = bind_ws_trace(j, dels[i], &q)) != TS_OK || (rc = step_done(q)) != TS_OK)
            return rc;
    }
    w->affected = 1;
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
    if ((rc = step_done(q)) != TS_OK)
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
    return step_done(q);
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
    if ((rc = step_done(q)) != TS_OK)
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
    int rc = step_done(q);
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
    }
    return TS_EINVAL;
}

static int exec_simple(sqlite3 *db, const char *sql)
{
    int src = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? TS_OK : (ts_sqlite_rc(src) ? ts_sqlite_rc(src) : TS_EIO);
}

/* Runs one group-commit transaction over the chain of jobs. */
static void run_batch(ts_sqlite *s, ts_write *jobs)
{
    sqlite3 *db = s->w->db;
    int rc = exec_simple(db, "BEGIN IMMEDIATE");
    int64_t now = ts_now_ns();

    for (ts_write *w = jobs; w; w = w->next) {
        w->rc = rc;
        if (rc != TS_OK)
            continue;
        job_ctx j = {.c = s->w, .w = w, .now = now, .a = ts_arena_new(64 * 1024)};
        if (!j.a) {
            w->rc = TS_ENOMEM;
            continue;
        }
        w->nrejected = 0;
        if ((w->rc = exec_simple(db, "SAVEPOINT job")) == TS_OK) {
            w->rc = apply_job(&j);
            if (w->rc != TS_OK)
                exec_simple(db, "ROLLBACK TO job");
            exec_simple(db, "RELEASE job");
        }
        if (w->rc != TS_OK && w->err.code == 0)
            ts_err_set(&w->err, w->rc, "%s", ts_strerror(w->rc));
        ts_arena_free(j.a);
    }
    if (rc == TS_OK && (rc = exec_simple(db, "COMMIT")) != TS_OK) {
        TS_LOG(TS_LOG_ERROR, "msg=\"commit failed\" err=\"%s\"", sqlite3_errmsg(db));
        exec_simple(db, "ROLLBACK");
        for (ts_write *w = jobs; w; w = w->next)
            w->rc = TS_EIO;
    } else if (rc != TS_OK) {
        TS_LOG(TS_LOG_ERROR, "msg=\"begin failed\" err=\"%s\"", sqlite3_errmsg(db));
    }
}

static void *writer_main(void *arg)
{
    ts_sqlite *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->qmu);
        while (!s->qhead && !s->stopping)
            pthread_cond_wait(&s->qcv, &s->qmu);
        if (!s->qhead) {
            pthread_mutex_unlock(&s->qmu);
            break;
        }
        ts_write *head = s->qhead, *tail = head;
        uint64_t n = 1;
        while (tail->next && n < s->batch_max) {
            tail = tail->next;
            n++;
        }
        s->qhead = tail->next;
        if (!s->qhead)
            s->qtail = NULL;
        tail->next = NULL;
        s->qlen -= n;
        pthread_mutex_unlock(&s->qmu);

        run_batch(s, head);

        pthread_mutex_lock(&s->qmu);
        s->n_tx++;
        s->n_jobs += n;
        pthread_mutex_unlock(&s->qmu);
        for (ts_write *w = head, *next; w; w = next) {
            next = w->next; /* done() may free w */
            w->next = NULL;
            w->done(w, w->done_arg);
        }
    }
    return NULL;
}

int ts_sqlite_submit(ts_store *st, ts_write *w)
{
    ts_sqlite *s = (ts_sqlite *)st;
    int rc = TS_OK;
    w->next = NULL;
    w->rc = TS_OK;
    ts_err_clear(&w->err);
    pthread_mutex_lock(&s->qmu);
    if (s->stopping)
        rc = TS_ESHUTDOWN;
    else if (s->qlen >= s->qmax)
        rc = TS_EBUSY;
    else {
        w->enqueued_ns = ts_now_ns();
        if (s->qtail)
            s->qtail->next = w;
        else
            s->qhead = w;
        s->qtail = w;
        s->qlen++;
        pthread_cond_signal(&s->qcv);
    }
    pthread_mutex_unlock(&s->qmu);
    return rc;
}

int ts_sqlite_writer_start(ts_sqlite *s, ts_err *err)
{
    if (pthread_create(&s->wthread, NULL, writer_main, s) != 0)
        return ts_err_set(err, TS_EIO, "cannot start writer thread");
    s->wthread_started = 1;
    return TS_OK;
}

void ts_sqlite_writer_stop(ts_sqlite *s)
{
    if (!s->wthread_started)
        return;
    pthread_mutex_lock(&s->qmu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    pthread_join(s->wthread, NULL);
    s->wthread_started = 0;
}
