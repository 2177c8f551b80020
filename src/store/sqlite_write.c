/* sqlite_write.c: the single writer. One thread owns the read-write
 * connection; it runs queued jobs in one open transaction, committed when
 * no fdatasync is under way (group commit), each job inside its own
 * savepoint so a failing job rolls back alone. Done callbacks run only
 * after COMMIT returned and (synchronous=full) a syncer thread's fdatasync
 * of the WAL covered it, so an acknowledged write is durable. Per-trace aggregates are
 * maintained here incrementally, in the same transaction as the spans. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sync_file_range */
#endif
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/spanctx.h"
#include "store/spanwin.h"
#include "store/sqlite_int.h"
#include "tracestore/ids.h"
#include "tracestore/log.h"
#include "tracestore/timeutil.h"

/* In-memory image of one trace's aggregate row while a job touches it. */
typedef struct tagg {
    const char *trace_id;
    int64_t rowid; /* traces.id: reserved before the row is written (see inrow) */
    int inrow;     /* the row is in the table */
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
    int skip;            /* duplicate trace (skip_existing_traces): spans ignored */
    ts_trace_meta *meta; /* explicit trace fields to apply after the spans */
    struct dimd *dims;   /* trace_dims count changes of this job, written once */
    int existed;         /* the trace row was there before this job */
    int64_t loaded_started; /* its started_ns then (0: none) */
    struct tagg *next;   /* hash chain */
    /* Deferred aggregates (see struct ttable): */
    int64_t ws_id;
    ts_write *w;          /* a job of the trace's workspace (alive to COMMIT) */
    struct tagg *image;   /* a job's copy: the transaction's image it updates */
    int dirty;            /* image: to be written at the end of the transaction */
    int spans_tx;         /* image: spans of the trace written in this transaction */
} tagg;

/* A pending trace_dims change: the job adds up +1/-1 per span in memory
 * and writes each distinct (trace, dim, value) once. Measured with
 * callgrind: one upsert per span and dim was a quarter of ingest cost. */
typedef struct dimd {
    const struct tagg *owner;
    const char *val;
    int dim;
    int64_t delta;
    struct dimd *next_in_trace;
    struct dimd *next; /* hash chain */
} dimd;

/* Trace images by (workspace, trace id), with their pending dim changes.
 * Each job has one. Consecutive span-only ingest jobs of a transaction
 * also share one (the writer's deferred aggregates): a job works on copies
 * of its images, merged back when the job succeeds; the images are written
 * once, before the next other job and before COMMIT. Eight single-span
 * requests of one trace in a transaction then cost one trace row update
 * and one upsert per distinct dim value instead of eight of each. */
typedef struct ttable {
    ts_arena *a;
    tagg **buckets;
    size_t nbuckets;
    tagg **list; /* traces in first-seen order */
    size_t nlist, caplist;
    dimd **dbuckets;
    size_t ndbuckets;
    tagg *last; /* the image tagg_get returned last (a job's spans come by trace) */
} ttable;

/* A trace row whose span_ctx rows the job added to (dropped from the
 * cache if the job rolls back). */
typedef struct ctx_row {
    int64_t trow;
    struct ctx_row *next;
} ctx_row;

typedef struct job_ctx {
    ts_sqlite_conn *c;
    ts_arena *a;  /* freed when the job ends */
    ts_arena *sa; /* strings an image may keep: lives to COMMIT when deferred */
    ts_write *w;
    int64_t now;
    ttable t;
    ttable *tx; /* the transaction's images (deferred), or NULL */
    ctx_row *ctx_added;
} job_ctx;

/* The old values of a span being replaced. */
typedef struct old_span {
    int64_t id, start, end, prompt, completion, total, request_log_id, created_ns;
    int is_root, is_llm, has_error, has_cost, unpriced;
    double cost;
    const char *parent, *error, *type, *model, *name, *provider;
} old_span;

/* trace_dims numbers (sqlite_query.c's ts_sqlite_dim_of uses the same). */
enum { DIM_MODEL = 1, DIM_FAILURE, DIM_NAME, DIM_TYPE, DIM_SPAN_ID_UNUSED, DIM_PARENT,
       DIM_PROVIDER, DIM_STATUS, DIM__COUNT };

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
    return ts_span_type_is_llm(type);
}

/* Token counts are client input up to INT64_MAX: sums saturate and
 * differences stop at 0, so aggregates never overflow. */
static int64_t tok_add(int64_t a, int64_t b)
{
    int64_t r;
    b = b > 0 ? b : 0;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

static int64_t tok_sub(int64_t a, int64_t b)
{
    b = b > 0 ? b : 0;
    return a > b ? a - b : 0;
}

/* A span's contribution to the trace's total token count. */
static int64_t span_total(int64_t p, int64_t c, int64_t t)
{
    if (p != TS_TOKENS_ABSENT || c != TS_TOKENS_ABSENT)
        return tok_add(p > 0 ? p : 0, c);
    return t > 0 ? t : 0;
}

/* Bind the 35 SPAN_TAIL values starting at parameter `at`: resource and
 * scope are in the trace's span_ctx row ctx. */
static void bind_span_tail(sqlite3_stmt *q, int at, const ts_span *sp, int64_t rl_id, int64_t ctx)
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
    bind_text(q, at + 11, "");
    bind_text(q, at + 12, NULL);
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
    sqlite3_bind_int64(q, at + 34, ctx);
}

/* Statement id with ?1 bound to the job's workspace and ?2 to text
 * (a trace id, span id or name); NULL when it cannot be prepared. */
static sqlite3_stmt *ws_stmt(job_ctx *j, int id, const char *text)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, id);
    if (q) {
        sqlite3_bind_int64(q, 1, j->w->ws_id);
        sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
    }
    return q;
}

/* The same for statements keyed by a trace's row id (?2); ?1 stays the
 * workspace where the statement writes it. */
static sqlite3_stmt *tr_stmt(job_ctx *j, int id, int64_t trow)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, id);
    if (q) {
        sqlite3_bind_int64(q, 1, j->w->ws_id);
        sqlite3_bind_int64(q, 2, trow);
    }
    return q;
}

static int query_closed(job_ctx *j, const char *trace_id, int *closed)
{
    sqlite3_stmt *q = ws_stmt(j, Q_CLOSED, trace_id);
    if (!q)
        return TS_EIO;
    int src = sqlite3_step(q);
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return ts_sqlite_rc(src);
    *closed = src == SQLITE_ROW;
    return TS_OK;
}

/* Loads the aggregate row of trace_id, or starts an empty image with a
 * reserved row id: the trace's spans, logs and dims are keyed by it before
 * the row itself is written (at the end of the job or transaction). */
static int tagg_load(job_ctx *j, tagg *t)
{
    sqlite3_stmt *q = ws_stmt(j, Q_TRACE_LOAD, t->trace_id);
    if (!q)
        return TS_EIO;
    int src = sqlite3_step(q);
    if (src == SQLITE_DONE)
        t->rowid = j->c->next_trace_row++;
    if (src == SQLITE_ROW) {
        t->rowid = sqlite3_column_int64(q, 0);
        t->inrow = 1;
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
        t->existed = 1;
        t->loaded_started = t->has_ext ? t->started : 0;
        t->ended = sqlite3_column_int64(q, 10);
        t->error_count = sqlite3_column_int64(q, 11);
        t->root_span_id = ts_sqlite_col_text(j->sa, q, 12);
        t->root_start = sqlite3_column_int64(q, 13);
        t->root_name = ts_sqlite_col_text(j->sa, q, 14);
        t->root_input = ts_sqlite_col_text(j->sa, q, 15);
        t->root_output = ts_sqlite_col_text(j->sa, q, 16);
        t->root_model = ts_sqlite_col_text(j->sa, q, 17);
        t->root_error = ts_sqlite_col_text(j->sa, q, 18);
        t->err_span_id = ts_sqlite_col_text(j->sa, q, 19);
        t->err_start = sqlite3_column_int64(q, 20);
        t->err_text = ts_sqlite_col_text(j->sa, q, 21);
    }
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return ts_sqlite_rc(src);
    return query_closed(j, t->trace_id, &t->closed);
}

static uint64_t dim_hash(const tagg *t, int dim, const char *val)
{
    return (((uint64_t)(uintptr_t)t >> 4) * 31 + (uint64_t)dim) ^ ts_str_hash(val);
}

static uint64_t trace_hash(int64_t ws_id, const char *trace_id)
{
    return ts_str_hash(trace_id) * 31 + (uint64_t)ws_id;
}

static tagg *ttable_find(const ttable *tt, int64_t ws_id, const char *trace_id)
{
    for (tagg *t = tt->buckets[trace_hash(ws_id, trace_id) % tt->nbuckets]; t; t = t->next)
        if (t->ws_id == ws_id && strcmp(t->trace_id, trace_id) == 0)
            return t;
    return NULL;
}

static int ttable_add(ttable *tt, tagg *t)
{
    if (tt->nlist == tt->caplist) {
        size_t ncap = tt->caplist ? tt->caplist * 2 : 16;
        tagg **nl = ts_arena_alloc(tt->a, ncap * sizeof(*nl));
        if (!nl)
            return TS_ENOMEM;
        if (tt->nlist)
            memcpy(nl, tt->list, tt->nlist * sizeof(*nl));
        tt->list = nl;
        tt->caplist = ncap;
    }
    tt->list[tt->nlist++] = t;
    size_t h = trace_hash(t->ws_id, t->trace_id) % tt->nbuckets;
    t->next = tt->buckets[h];
    tt->buckets[h] = t;
    return TS_OK;
}

static int ttable_init(ttable *tt, ts_arena *a, size_t n)
{
    size_t nb = 64;
    while (nb < n * 2 && nb < (1u << 20))
        nb <<= 1;
    memset(tt, 0, sizeof(*tt));
    tt->a = a;
    tt->nbuckets = nb;
    tt->ndbuckets = nb * 4;
    tt->buckets = ts_arena_calloc(a, nb, sizeof(*tt->buckets));
    tt->dbuckets = ts_arena_calloc(a, tt->ndbuckets, sizeof(*tt->dbuckets));
    return tt->buckets && tt->dbuckets ? TS_OK : TS_ENOMEM;
}

/* Doubles tt's hash tables, for a transaction whose jobs keep arriving
 * after it was sized. Every dim change hangs off its trace's image. */
static int ttable_grow(ttable *tt)
{
    size_t nb = tt->nbuckets * 2, nd = tt->ndbuckets * 2;
    tagg **b = ts_arena_calloc(tt->a, nb, sizeof(*b));
    dimd **d = ts_arena_calloc(tt->a, nd, sizeof(*d));
    if (!b || !d)
        return TS_ENOMEM;
    for (size_t i = 0; i < tt->nlist; i++) {
        tagg *t = tt->list[i];
        size_t h = trace_hash(t->ws_id, t->trace_id) % nb;
        t->next = b[h];
        b[h] = t;
        for (dimd *e = t->dims; e; e = e->next_in_trace) {
            size_t k = dim_hash(t, e->dim, e->val) % nd;
            e->next = d[k];
            d[k] = e;
        }
    }
    tt->buckets = b;
    tt->nbuckets = nb;
    tt->dbuckets = d;
    tt->ndbuckets = nd;
    return TS_OK;
}

/* A new image of trace_id in tt, loaded from the database. */
static int tagg_new(job_ctx *j, ttable *tt, const char *trace_id, tagg **out)
{
    tagg *t = ts_arena_calloc(tt->a, 1, sizeof(*t));
    if (!t || !(t->trace_id = ts_arena_strdup(j->sa, trace_id)))
        return TS_ENOMEM;
    t->ws_id = j->w->ws_id;
    t->w = j->w;
    int rc = tagg_load(j, t);
    if (rc == TS_OK)
        rc = ttable_add(tt, t);
    *out = t;
    return rc;
}

/* The job's image of trace_id: a copy of the transaction's when deferred. */
static int tagg_get(job_ctx *j, const char *trace_id, tagg **out)
{
    tagg *img, *t;
    int rc;
    if ((t = j->t.last) && strcmp(t->trace_id, trace_id) == 0) {
        *out = t;
        return TS_OK;
    }
    if ((*out = ttable_find(&j->t, j->w->ws_id, trace_id))) {
        j->t.last = *out;
        return TS_OK;
    }
    if (!j->tx) {
        rc = tagg_new(j, &j->t, trace_id, out);
        j->t.last = rc == TS_OK ? *out : NULL;
        return rc;
    }
    img = ttable_find(j->tx, j->w->ws_id, trace_id);
    if (!img && (rc = tagg_new(j, j->tx, trace_id, &img)) != TS_OK)
        return rc;
    if (!(t = ts_arena_alloc(j->a, sizeof(*t))))
        return TS_ENOMEM;
    *t = *img;
    t->image = img;
    t->dims = NULL;
    t->touched = 0;
    /* Spans written earlier in the transaction may be replaced: look them up. */
    t->existed |= img->spans_tx;
    *out = t;
    if ((rc = ttable_add(&j->t, t)) == TS_OK)
        j->t.last = t;
    return rc;
}

static int load_old(job_ctx *j, const tagg *t, const ts_span *sp, old_span *o, int *found)
{
    sqlite3_stmt *q = tr_stmt(j, Q_SPAN_OLD, t->rowid);
    if (!q)
        return TS_EIO;
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
        return step_done(q);
    }
    if (!(q = ws_stmt(j, Q_RL_INSERT, sp->trace_id)))
        return TS_EIO;
    sqlite3_bind_text(q, 3, sp->span_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, sp->log_request, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, j->now);
    sqlite3_bind_int64(q, 6, t->rowid);
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
        t->prompt = tok_sub(t->prompt, o->prompt);
        t->completion = tok_sub(t->completion, o->completion);
        t->total = tok_sub(t->total, span_total(o->prompt, o->completion, o->total));
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
    t->prompt = tok_add(t->prompt, sp->prompt_tokens);
    t->completion = tok_add(t->completion, sp->completion_tokens);
    t->total =
        tok_add(t->total, span_total(sp->prompt_tokens, sp->completion_tokens, sp->total_tokens));
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

/* The span-level values a span contributes to trace_dims, by dim. */
static void span_dims(const char *parent, const char *error, const char *type,
                      const char *model, const char *name, const char *provider,
                      const char *out[DIM__COUNT])
{
    memset(out, 0, sizeof(out[0]) * DIM__COUNT);
    out[DIM_MODEL] = model;
    out[DIM_FAILURE] = ts_failure_type(error);
    out[DIM_NAME] = name;
    out[DIM_TYPE] = type;
    out[DIM_PARENT] = is_root(parent) ? NULL : parent;
    out[DIM_PROVIDER] = provider;
    out[DIM_STATUS] = error ? "error" : "success";
}

static int dim_step(job_ctx *j, int id, int64_t trow, int dim, const char *val)
{
    sqlite3_stmt *q = tr_stmt(j, id, trow);
    if (!q)
        return TS_EIO;
    sqlite3_bind_int(q, 3, dim);
    sqlite3_bind_text(q, 4, val, -1, SQLITE_STATIC);
    return step_done(q);
}

/* Adds delta to the pending count change of (t, dim, val). */
static int dim_add(ttable *tt, tagg *t, int dim, const char *val, int64_t delta)
{
    size_t b = (size_t)(dim_hash(t, dim, val) % tt->ndbuckets);
    for (dimd *e = tt->dbuckets[b]; e; e = e->next)
        if (e->owner == t && e->dim == dim && strcmp(e->val, val) == 0) {
            e->delta += delta;
            return TS_OK;
        }
    dimd *e = ts_arena_calloc(tt->a, 1, sizeof(*e));
    if (!e)
        return TS_ENOMEM;
    e->owner = t;
    e->val = val;
    e->dim = dim;
    e->delta = delta;
    e->next = tt->dbuckets[b];
    tt->dbuckets[b] = e;
    e->next_in_trace = t->dims;
    t->dims = e;
    return TS_OK;
}

/* Moves the trace's dim reference counts from the old span's values to
 * the new span's (unchanged values are left alone). */
static int dims_update(job_ctx *j, tagg *t, const ts_span *sp, const old_span *o)
{
    const char *nv[DIM__COUNT], *ov[DIM__COUNT];
    int rc;
    span_dims(sp->parent_id, sp->error, sp->type, sp->model, sp->name, sp->provider, nv);
    if (o)
        span_dims(o->parent, o->error, o->type, o->model, o->name, o->provider, ov);
    else
        memset(ov, 0, sizeof(ov));
    for (int d = 1; d < DIM__COUNT; d++) {
        if (ov[d] && nv[d] && strcmp(ov[d], nv[d]) == 0)
            continue;
        if (ov[d] && (rc = dim_add(&j->t, t, d, ov[d], -1)) != TS_OK)
            return rc;
        if (nv[d] && (rc = dim_add(&j->t, t, d, nv[d], 1)) != TS_OK)
            return rc;
    }
    return TS_OK;
}

/* Writes t's pending trace_dims changes: one upsert per distinct value. */
static int dims_flush(job_ctx *j, tagg *t)
{
    int rc;
    for (dimd *e = t->dims; e; e = e->next_in_trace) {
        if (e->delta == 0)
            continue;
        sqlite3_stmt *q = tr_stmt(j, Q_DIM_INC, t->rowid);
        if (!q)
            return TS_EIO;
        sqlite3_bind_int(q, 3, e->dim);
        sqlite3_bind_text(q, 4, e->val, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, e->delta);
        /* Out of trace_dims_val until the next settle (migration 0005). */
        sqlite3_bind_int(q, 6, t->rowid <= j->c->dims_upto);
        if ((rc = step_done(q)) != TS_OK)
            return rc;
        if (e->delta < 0 && (rc = dim_step(j, Q_DIM_DROP, t->rowid, e->dim, e->val)) != TS_OK)
            return rc;
    }
    t->dims = NULL;
    return TS_OK;
}

/* Copies the trace's eff_start onto its trace_dims rows (after the trace
 * row is written), so dim-driven lists see the trace's order. */
static int dims_sync(job_ctx *j, const tagg *t)
{
    sqlite3_stmt *q = tr_stmt(j, Q_DIM_SYNC, t->rowid);
    return q ? step_done(q) : TS_EIO;
}

/* A request log sent by /track-request before its span: its LLM fields
 * fill the span, and the log is attached (*rl_id). */
static int apply_pending(job_ctx *j, const tagg *t, ts_span *sp, int64_t *rl_id)
{
    sqlite3_stmt *q = ts_sqlite_stmt(j->c, Q_RL_PENDING);
    *rl_id = 0;
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, j->w->ws_id);
    sqlite3_bind_text(q, 2, sp->span_id, -1, SQLITE_STATIC);
    int src = sqlite3_step(q);
    if (src == SQLITE_ROW) {
        *rl_id = sqlite3_column_int64(q, 0);
        char *v;
        if ((v = ts_sqlite_col_text(j->sa, q, 1)))
            sp->model = v;
        if ((v = ts_sqlite_col_text(j->sa, q, 2)))
            sp->provider = v;
        if ((v = ts_sqlite_col_text(j->sa, q, 3)))
            sp->input = v;
        if ((v = ts_sqlite_col_text(j->sa, q, 4)))
            sp->output = v;
        if (sqlite3_column_type(q, 5) != SQLITE_NULL)
            sp->prompt_tokens = sqlite3_column_int64(q, 5);
        if (sqlite3_column_type(q, 6) != SQLITE_NULL)
            sp->completion_tokens = sqlite3_column_int64(q, 6);
        if (sqlite3_column_type(q, 7) != SQLITE_NULL) {
            sp->has_cost = 1;
            sp->cost = sqlite3_column_double(q, 7);
        }
        sp->type = "llm";
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
    return step_done(q);
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
        bind_text(q, 3, sp->scope);
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

    if ((rc = tagg_get(j, sp->trace_id, &t)) != TS_OK)
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
        if (!(q = ws_stmt(j, Q_SPAN_INSERT, sp->trace_id)))
            return TS_EIO;
        sqlite3_bind_text(q, 3, sp->span_id, -1, SQLITE_STATIC);
        bind_span_tail(q, 4, sp, rl_id, ctx);
        sqlite3_bind_int64(q, 39, t->rowid);
    }
    if ((rc = step_done(q)) != TS_OK)
        return rc;
    if (!found)
        sp->rowid = sqlite3_last_insert_rowid(j->c->db);
    sp->request_log_id = rl_id;
    /* A pair the window cannot take only means a later /track-request
     * waits for the span: not a reason to fail the write. */
    (void)ts_spanwin_put(j->c->spanwin, j->w->ws_id, sp->span_id, t->rowid, 0);
    if ((rc = dims_update(j, t, sp, found ? &o : NULL)) != TS_OK)
        return rc;
    tagg_apply(t, sp, found ? &o : NULL);
    return TS_OK;
}

/* Re-derives the non-additive fields of t from its spans (rare: only when
 * a replaced span held the earliest start, latest end, root or error). */
static int tagg_recompute(job_ctx *j, tagg *t)
{
    sqlite3_stmt *q;
    int src;
    if (!(q = tr_stmt(j, Q_RECOMP_EXT, t->rowid)))
        return TS_EIO;
    if ((src = sqlite3_step(q)) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        t->started = sqlite3_column_int64(q, 0);
        t->ended = sqlite3_column_int64(q, 1);
    }
    sqlite3_reset(q);
    if (!(q = tr_stmt(j, Q_RECOMP_ROOT, t->rowid)))
        return TS_EIO;
    t->root_span_id = t->root_name = t->root_input = t->root_output = NULL;
    t->root_model = t->root_error = NULL;
    if (sqlite3_step(q) == SQLITE_ROW) {
        t->root_span_id = ts_sqlite_col_text(j->sa, q, 0);
        t->root_start = sqlite3_column_int64(q, 1);
        t->root_name = ts_sqlite_col_text(j->sa, q, 2);
        t->root_input = ts_sqlite_col_text(j->sa, q, 3);
        t->root_output = ts_sqlite_col_text(j->sa, q, 4);
        t->root_model = ts_sqlite_col_text(j->sa, q, 5);
        t->root_error = ts_sqlite_col_text(j->sa, q, 6);
    }
    sqlite3_reset(q);
    if (!(q = tr_stmt(j, Q_RECOMP_ERR, t->rowid)))
        return TS_EIO;
    t->err_span_id = t->err_text = NULL;
    if (sqlite3_step(q) == SQLITE_ROW) {
        t->err_span_id = ts_sqlite_col_text(j->sa, q, 0);
        t->err_start = sqlite3_column_int64(q, 1);
        t->err_text = ts_sqlite_col_text(j->sa, q, 2);
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
    if (t->inrow) {
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
    if (!(q = ws_stmt(j, Q_TRACE_INSERT, t->trace_id)))
        return TS_EIO;
    if (project)
        sqlite3_bind_int64(q, 3, project);
    sqlite3_bind_int64(q, 4, j->now);
    sqlite3_bind_int64(q, 5, j->now);
    bind_agg(q, 6, t);
    sqlite3_bind_int64(q, 27, t->rowid);
    if ((rc = step_done(q)) != TS_OK)
        return rc;
    t->inrow = 1;
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

/* Project row id for a name or UUID, created (by name) on first use. */
static int resolve_project(job_ctx *j, const char *p, int64_t *id)
{
    sqlite3_stmt *q;
    int src;
    *id = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0 && !ts_uuid_valid(p))
            continue;
        if (!(q = ws_stmt(j, pass == 0 ? Q_PROJ_BY_UUID : Q_PROJ_BY_NAME, p)))
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
    if (!(q = ws_stmt(j, Q_PROJ_INSERT, uuid)))
        return TS_EIO;
    sqlite3_bind_text(q, 3, p, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, 0);
    sqlite3_bind_int64(q, 5, j->now);
    int rc = step_done(q);
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
    if (!t->inrow && (rc = tagg_store(j, t)) != TS_OK)
        return rc;
    if (m->project && (rc = resolve_project(j, m->project, &project)) != TS_OK)
        return rc;
    if (!(q = ts_sqlite_stmt(j->c, Q_TRACE_META)))
        return TS_EIO;
    sqlite3_bind_int64(q, 1, t->rowid);
    bind_i64_or_null(q, 2, project != 0, project);
    bind_text(q, 3, m->name);
    bind_text(q, 4, m->input);
    bind_text(q, 5, m->output);
    bind_text(q, 6, m->model);
    bind_text(q, 7, m->error);
    if (m->has_cost)
        sqlite3_bind_double(q, 8, m->cost);
    bind_i64_or_null(q, 9, m->latency_ms >= 0, m->latency_ms);
    bind_i64_or_null(q, 10, m->started_ns != 0, m->started_ns);
    bind_i64_or_null(q, 11, m->ended_ns != 0, m->ended_ns);
    bind_text(q, 12, m->session_id);
    bind_text(q, 13, m->user_id);
    bind_text(q, 14, m->external_id);
    bind_text(q, 15, m->tags);
    bind_text(q, 16, m->tag_map);
    bind_text(q, 17, m->metadata);
    bind_text(q, 18, m->events);
    sqlite3_bind_int64(q, 19, j->now);
    if ((rc = step_done(q)) != TS_OK)
        return rc;
    /* An explicit model or error counts for the any-span filters too (one
     * reference that no span replacement removes). */
    const char *fail = ts_failure_type(m->error);
    if (m->model && (rc = dim_add(&j->t, t, DIM_MODEL, m->model, 1)) != TS_OK)
        return rc;
    if (fail && (rc = dim_add(&j->t, t, DIM_FAILURE, fail, 1)) != TS_OK)
        return rc;
    return TS_OK;
}

static int apply_ingest(job_ctx *j)
{
    ts_write *w = j->w;
    int rc;
    if ((rc = ttable_init(&j->t, j->a, w->nspans + w->ntraces)) != TS_OK)
        return rc;
    /* Trace meta first: a duplicate trace's spans are skipped. */
    for (size_t i = 0; i < w->ntraces; i++) {
        ts_trace_meta *m = &w->traces[i];
        tagg *t;
        if ((rc = tagg_get(j, m->trace_id, &t)) != TS_OK)
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
            if (t->touched && t->recompute && (rc = tagg_recompute(j, t)) != TS_OK)
                return rc;
        }
    for (size_t i = 0; !j->tx && i < j->t.nlist; i++) {
        tagg *t = j->t.list[i];
        if (t->touched && (rc = tagg_store(j, t)) != TS_OK)
            return rc;
        if (t->meta && (rc = apply_meta(j, t, t->meta)) != TS_OK)
            return rc;
        if ((t->touched || t->meta) && (rc = dims_flush(j, t)) != TS_OK)
            return rc;
        /* New dims rows were written with the trace's start and row id;
         * older rows need them again only when the start moved. */
        int moved = t->existed && ((t->has_ext ? t->started : 0) != t->loaded_started ||
                                   (t->meta && t->meta->started_ns));
        if (moved && (rc = dims_sync(j, t)) != TS_OK)
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
    return (*out = ws_stmt(j, id, j->w->trace_id)) ? TS_OK : TS_EIO;
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

/* Deletes one trace (row trow) with everything hanging off it: rows keyed
 * by the trace's row id, then those keyed by its id (closure, feedback). */
static int delete_trace(job_ctx *j, const char *trace_id, int64_t trow)
{
    static const int by_row[] = {Q_DEL_SPANS, Q_DEL_CTX, Q_DEL_RL, Q_DEL_DIMS, Q_DEL_TRACE};
    static const int by_id[] = {Q_DEL_CLOSURE, Q_DEL_FEEDBACK};
    int rc;
    for (size_t i = 0; i < sizeof(by_row) / sizeof(by_row[0]); i++) {
        sqlite3_stmt *q = tr_stmt(j, by_row[i], trow);
        if (!q)
            return TS_EIO;
        if ((rc = step_done(q)) != TS_OK)
            return rc;
    }
    ts_spanctx_drop(j->c->spanctx, trow); /* the row may be reused (next_trace_row) */
    for (size_t i = 0; i < sizeof(by_id) / sizeof(by_id[0]); i++) {
        sqlite3_stmt *q = ws_stmt(j, by_id[i], trace_id);
        if (!q)
            return TS_EIO;
        if ((rc = step_done(q)) != TS_OK)
            return rc;
    }
    return TS_OK;
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
    sqlite3_stmt *q = ws_stmt(j, Q_TRACE_EXISTS, f->trace_id);
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
    bind_text(q, 6, f->comment);
    bind_text(q, 7, f->metadata);
    sqlite3_bind_int64(q, 8, j->now);
    return step_done(q);
}

/* Writes the track's request log (trace_id '' and trow NULL while its span
 * is unknown). */
static int insert_track_log(job_ctx *j, const ts_track *tr, const char *trace_id, int64_t trow)
{
    sqlite3_stmt *q = ws_stmt(j, Q_RL_TRACK_INSERT, trace_id);
    if (!q)
        return TS_EIO;
    sqlite3_bind_text(q, 3, tr->span_id ? tr->span_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, tr->body ? tr->body : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, j->now);
    bind_text(q, 6, tr->model);
    bind_text(q, 7, tr->provider);
    bind_text(q, 8, tr->input);
    bind_text(q, 9, tr->output);
    bind_i64_opt(q, 10, tr->prompt_tokens);
    bind_i64_opt(q, 11, tr->completion_tokens);
    if (tr->has_cost)
        sqlite3_bind_double(q, 12, tr->cost);
    bind_i64_or_null(q, 13, trow != 0, trow);
    if (!*trace_id)
        j->c->pending_logs = 1; /* until restart: a false positive costs a lookup */
    return step_done(q);
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
        if (!(q = tr_stmt(j, Q_SPAN_BY_ID, trow)))
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
    if (!(q = tr_stmt(j, Q_SPAN_FULL, trow)))
        return TS_EIO;
    sqlite3_bind_text(q, 3, tr->span_id, -1, SQLITE_STATIC);
    src = sqlite3_step(q);
    if (src == SQLITE_ROW)
        ts_sqlite_read_span_row(q, j->a, &sp);
    sqlite3_reset(q);
    if (src != SQLITE_ROW)
        return src == SQLITE_DONE ? TS_OK : ts_sqlite_rc(src);
    sp.trace_id = trace_id;
    if (tr->model)
        sp.model = (char *)tr->model;
    if (tr->provider)
        sp.provider = (char *)tr->provider;
    if (tr->input)
        sp.input = (char *)tr->input;
    if (tr->output)
        sp.output = (char *)tr->output;
    if (tr->prompt_tokens != TS_TOKENS_ABSENT)
        sp.prompt_tokens = tr->prompt_tokens;
    if (tr->completion_tokens != TS_TOKENS_ABSENT)
        sp.completion_tokens = tr->completion_tokens;
    if (tr->has_cost) {
        sp.has_cost = 1;
        sp.cost = tr->cost;
    }
    sp.type = "llm";
    sp.log_request = NULL;
    sp.request_log_id = tr->request_id;
    if ((rc = ttable_init(&j->t, j->a, 1)) != TS_OK || (rc = ingest_span(j, &sp)) != TS_OK)
        return rc;
    tr->attached = !sp.rejected;
    for (size_t i = 0; i < j->t.nlist; i++)
        if (j->t.list[i]->touched && ((rc = tagg_store(j, j->t.list[i])) != TS_OK ||
                                      (rc = dims_sync(j, j->t.list[i])) != TS_OK))
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
    case TS_W_FEEDBACK:
        return apply_feedback(j);
    case TS_W_BULK_DELETE:
        return apply_bulk_delete(j);
    case TS_W_TRACK_REQUEST:
        return apply_track(j);
    }
    return TS_EINVAL;
}

/* Transaction control through cached statements: sqlite3_exec re-parses
 * its text every time (7.7% of a single-span request under callgrind). */
static int tx(ts_sqlite_conn *c, int id)
{
    sqlite3_stmt *q = ts_sqlite_stmt(c, id);
    return q ? step_done(q) : TS_EIO;
}

/* The row id new traces start from in this transaction (the writer is
 * the only one inserting traces; ids a failed job reserved are skipped). */
static int next_trace_row(ts_sqlite_conn *c)
{
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_TRACE_NEXT);
    if (!q)
        return TS_EIO;
    int src = sqlite3_step(q);
    if (src == SQLITE_ROW)
        c->next_trace_row = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return src == SQLITE_ROW ? TS_OK : ts_sqlite_rc(src);
}

/* Span-only ingest jobs share the transaction's trace images (ttable). */
static int deferrable(const ts_write *w)
{
    return w->kind == TS_W_INGEST && w->ntraces == 0 && !w->close_after;
}

/* A successful job's images become the transaction's. */
static int tx_merge(job_ctx *j)
{
    for (size_t i = 0; i < j->t.nlist; i++) {
        tagg *t = j->t.list[i], *img = t->image, keep;
        if (!t->touched)
            continue;
        keep = *img;
        *img = *t;
        img->next = keep.next;
        img->dims = keep.dims;
        img->image = NULL;
        img->existed = keep.existed;
        img->loaded_started = keep.loaded_started;
        img->dirty = img->spans_tx = 1;
        for (dimd *e = t->dims; e; e = e->next_in_trace) {
            const char *v = e->delta ? ts_arena_strdup(j->tx->a, e->val) : NULL;
            if (e->delta && (!v || dim_add(j->tx, img, e->dim, v, e->delta) != TS_OK))
                return TS_ENOMEM;
        }
    }
    return TS_OK;
}

/* Writes the transaction's changed images: row, dims, dims order. */
static int tx_flush(ts_sqlite *s, ttable *tt, int64_t now)
{
    int rc;
    for (size_t i = 0; i < tt->nlist; i++) {
        tagg *t = tt->list[i];
        if (!t->dirty)
            continue;
        job_ctx fj = {.c = s->w, .a = tt->a, .sa = tt->a, .w = t->w, .now = now};
        int moved = t->existed && (t->has_ext ? t->started : 0) != t->loaded_started;
        if ((rc = tagg_store(&fj, t)) != TS_OK || (rc = dims_flush(&fj, t)) != TS_OK ||
            (moved && (rc = dims_sync(&fj, t)) != TS_OK))
            return rc;
        t->dirty = 0;
    }
    return ttable_init(tt, tt->a, tt->nbuckets / 2);
}

/* Runs one job in its savepoint; returns non-OK only when the whole
 * transaction must fail (a merged image could not be recorded). */
static int run_job(ts_sqlite *s, ts_write *w, int64_t now, ttable *shared)
{
    job_ctx j = {.c = s->w, .w = w, .now = now, .a = ts_arena_new(64 * 1024), .tx = shared};
    int fatal = TS_OK;
    if (!j.a) {
        w->rc = ts_err_set(&w->err, TS_ENOMEM, "out of memory");
        return TS_OK;
    }
    j.sa = shared ? shared->a : j.a;
    w->nrejected = 0;
    if ((w->rc = tx(s->w, Q_TX_SAVEPOINT)) == TS_OK) {
        w->rc = apply_job(&j);
        if (w->rc == TS_OK && shared)
            fatal = tx_merge(&j);
        if (w->rc != TS_OK) {
            tx(s->w, Q_TX_ROLLBACK_TO);
            for (ctx_row *r = j.ctx_added; r; r = r->next)
                ts_spanctx_drop(s->w->spanctx, r->trow);
        }
        tx(s->w, Q_TX_RELEASE);
    }
    if (w->rc != TS_OK && w->err.code == 0)
        ts_err_set(&w->err, w->rc, "%s", ts_strerror(w->rc));
    ts_arena_free(j.a);
    return fatal;
}

/* One open group-commit transaction: the jobs it ran, in order, and the
 * trace images its span-only jobs share (ttable). */
typedef struct txb {
    ts_write *head, *tail;
    uint64_t n;
    ts_arena *ta;
    ttable tt;
    int rc; /* non-OK: the transaction fails, every job with it */
} txb;

static int tx_open(ts_sqlite *s, txb *b)
{
    memset(b, 0, sizeof(*b));
    ts_sqlite_ckpt_tx_begin(s);
    b->rc = tx(s->w, Q_TX_BEGIN);
    if (b->rc == TS_OK &&
        (!(b->ta = ts_arena_new(64 * 1024)) || ttable_init(&b->tt, b->ta, 32) != TS_OK))
        b->rc = TS_ENOMEM;
    if (b->rc == TS_OK)
        b->rc = next_trace_row(s->w);
    return b->rc;
}

/* Runs a chain of jobs inside the open transaction and appends them to it.
 * After a failure the jobs still join it, to fail with it. */
static void tx_run(ts_sqlite *s, txb *b, ts_write *jobs, ts_write *tail, uint64_t n)
{
    int64_t now = ts_now_ns();
    for (ts_write *w = jobs; w; w = w->next)
        w->taken_ns = now;
    for (ts_write *w = jobs; w && b->rc == TS_OK; w = w->next) {
        int defer = deferrable(w);
        if (!defer && b->tt.nlist && (b->rc = tx_flush(s, &b->tt, now)) != TS_OK)
            break;
        if (defer && b->tt.nlist >= b->tt.nbuckets && (b->rc = ttable_grow(&b->tt)) != TS_OK)
            break;
        b->rc = run_job(s, w, now, defer ? &b->tt : NULL);
    }
    if (b->tail)
        b->tail->next = jobs;
    else
        b->head = jobs;
    b->tail = tail;
    b->n += n;
}

/* Puts the trace_dims rows of traces up to row hi into trace_dims_val and
 * moves the watermark there (migration 0005): each (dim, value) group's
 * last leaf is then written once per settle instead of once per commit. */
static int dims_settle(ts_sqlite_conn *c, int64_t hi)
{
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_DIMS_SETTLE);
    int rc;
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, c->dims_upto);
    sqlite3_bind_int64(q, 2, hi);
    if ((rc = step_done(q)) != TS_OK || !(q = ts_sqlite_stmt(c, Q_DIMS_MARK)))
        return rc != TS_OK ? rc : TS_EIO;
    sqlite3_bind_int64(q, 1, hi);
    return step_done(q);
}

static int wal_fd(ts_sqlite *s);

/* Starts the writeback of the frames just committed, so the device is
 * already taking them while the commit is handed to a syncer, whose
 * fdatasync then mostly waits for them and flushes: the sync stage under
 * one-span requests fell by about 100 us (docs/PERFORMANCE.md, "Eleventh
 * session"). Durability still comes from that fdatasync alone. */
static void wal_kick(ts_sqlite *s)
{
    /* The writer's own descriptor, opened once: SQLite keeps the WAL while
     * a connection is open, and on a replaced file this would only start
     * nothing (the syncers' wal_fd checks, since durability depends on it). */
    if (s->kickfd < 0)
        s->kickfd = wal_fd(s);
    if (s->kickfd >= 0)
        (void)sync_file_range(s->kickfd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* Writes the shared images and commits (or rolls back) the transaction. */
static void tx_close(ts_sqlite *s, txb *b)
{
    int rc = b->rc;
    int64_t now = ts_now_ns(), hi = s->w->next_trace_row - 1;
    int settle = hi > s->w->dims_upto && now - s->w->dims_settled_ns >= s->settle_ns;
    if (rc == TS_OK && b->tt.nlist)
        rc = tx_flush(s, &b->tt, now);
    if (rc == TS_OK && settle)
        rc = dims_settle(s->w, hi);
    if (rc == TS_OK && (rc = tx(s->w, Q_TX_COMMIT)) == TS_OK) {
        if (s->pipelined)
            wal_kick(s);
        if (settle) {
            s->w->dims_upto = hi;
            s->w->dims_settled_ns = now;
        }
        for (ts_write *w = b->head; w; w = w->next)
            if ((w->kind == TS_W_KEY_REVOKE || w->kind == TS_W_KEY_CREATE) && w->rc == TS_OK) {
                ts_sqlite_keys_bump(s); /* before the answer: see keycache.c */
                break;
            }
    } else {
        TS_LOG(TS_LOG_ERROR, "msg=\"transaction failed\" err=\"%s\"", sqlite3_errmsg(s->w->db));
        tx(s->w, Q_TX_ROLLBACK);
        ts_spanctx_clear(s->w->spanctx); /* its entries may name rows rolled back */
        for (ts_write *w = b->head; w; w = w->next) {
            w->rc = rc == TS_ENOMEM ? TS_ENOMEM : TS_EIO;
            ts_err_set(&w->err, w->rc, "%s", ts_strerror(w->rc));
        }
    }
    ts_arena_free(b->ta);
    b->ta = NULL;
}

/* After a burst, give memory back: SQLite's page caches (the OS still
 * caches the file, so a later read copies instead of reading disk) and
 * glibc's free lists. Idle RSS was about 100 MiB after ingest without it. */
static void release_idle_memory(ts_sqlite *s)
{
    sqlite3_db_release_memory(s->w->db);
    pthread_mutex_lock(&s->rmu);
    for (ts_sqlite_conn *c = s->rfree; c; c = c->next_free)
        sqlite3_db_release_memory(c->db);
    pthread_mutex_unlock(&s->rmu);
    malloc_trim(0);
}

static void run_callbacks(ts_write *head)
{
    for (ts_write *w = head, *next; w; w = next) {
        next = w->next; /* done() may free w */
        w->next = NULL;
        w->done_ns = ts_now_ns();
        w->done(w, w->done_arg);
    }
}

static void sync_enqueue(ts_sqlite *s, ts_write *head, ts_write *tail)
{
    pthread_mutex_lock(&s->smu);
    if (s->stail)
        s->stail->next = head;
    else
        s->shead = head;
    s->stail = tail;
    pthread_cond_signal(&s->scv);
    pthread_mutex_unlock(&s->smu);
}

/* Takes up to max queued jobs (a chain of *n ending at *tail), or NULL. */
static ts_write *take_jobs(ts_sqlite *s, uint64_t max, ts_write **tail, uint64_t *n_out)
{
    pthread_mutex_lock(&s->qmu);
    ts_write *head = s->qhead, *t = head;
    uint64_t n = 0;
    if (head && max > 0) {
        n = 1;
        while (t->next && n < max) {
            t = t->next;
            n++;
        }
        s->qhead = t->next;
        if (!s->qhead)
            s->qtail = NULL;
        t->next = NULL;
        s->qlen -= n;
    } else {
        head = t = NULL;
    }
    pthread_mutex_unlock(&s->qmu);
    *tail = t;
    *n_out = n;
    return head;
}

/* Whether an fdatasync is queued or running (caller holds qmu; smu is
 * taken inside it, never the other way round). */
static int sync_busy(ts_sqlite *s)
{
    if (!s->pipelined)
        return 0;
    pthread_mutex_lock(&s->smu);
    int busy = s->shead != NULL || s->sbusy > 0;
    pthread_mutex_unlock(&s->smu);
    return busy;
}

/* With a transaction open: waits while a sync is under way and no job is
 * queued. Returns 1 when jobs are queued and the sync still runs (take
 * them into this transaction), 0 when it is time to commit. */
static int wait_more(ts_sqlite *s)
{
    int more;
    pthread_mutex_lock(&s->qmu);
    while (!s->qhead && !s->stopping && sync_busy(s))
        pthread_cond_wait(&s->qcv, &s->qmu);
    more = s->qhead && !s->stopping && sync_busy(s);
    pthread_mutex_unlock(&s->qmu);
    return more;
}

static void *writer_main(void *arg)
{
    ts_sqlite *s = arg;
    int dirty = 0;
    prctl(PR_SET_NAME, "ts-writer", 0, 0, 0);
    for (;;) {
        pthread_mutex_lock(&s->qmu);
        while (!s->qhead && !s->stopping) {
            if (!dirty) {
                pthread_cond_wait(&s->qcv, &s->qmu);
                continue;
            }
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            if (pthread_cond_timedwait(&s->qcv, &s->qmu, &until) != 0 && !s->qhead) {
                pthread_mutex_unlock(&s->qmu);
                release_idle_memory(s);
                dirty = 0;
                pthread_mutex_lock(&s->qmu);
            }
        }
        dirty = 1;
        if (!s->qhead) {
            pthread_mutex_unlock(&s->qmu);
            break;
        }
        pthread_mutex_unlock(&s->qmu);

        /* Group commit: the transaction stays open, taking jobs as they
         * arrive, while an fdatasync is under way, and commits when none
         * is, so each commit gets a sync to itself at once. A commit made
         * earlier would only wait for that sync to end before its own
         * could start, and each commit rewrites the pages it shares with
         * the previous one (index leaves, the trace rows), so fewer,
         * larger commits write fewer pages per job. */
        txb b;
        tx_open(s, &b);
        for (;;) {
            uint64_t n;
            ts_write *tail, *head = take_jobs(s, s->batch_max - b.n, &tail, &n);
            if (head)
                tx_run(s, &b, head, tail, n);
            if (b.rc != TS_OK || b.n >= s->batch_max || !wait_more(s))
                break;
        }
        tx_close(s, &b);
        int64_t t = ts_now_ns();
        for (ts_write *w = b.head; w; w = w->next)
            w->committed_ns = t;

        pthread_mutex_lock(&s->qmu);
        s->n_tx++;
        s->n_jobs += b.n;
        pthread_mutex_unlock(&s->qmu);
        if (s->pipelined)
            sync_enqueue(s, b.head, b.tail);
        else
            run_callbacks(b.head);
    }
    return NULL;
}

/* A descriptor of the WAL for one sync (the caller closes it). fdatasync
 * acts on the inode, so our own descriptor serves; it is reopened should
 * the file ever be replaced (SQLite deletes the WAL only when the last
 * connection closes), and each sync works on a dup so a reopen never
 * closes a descriptor another syncer is using. */
static int wal_fd(ts_sqlite *s)
{
    char wal[sizeof(s->path) + 8];
    struct stat st;
    int fd = -1;
    snprintf(wal, sizeof(wal), "%s-wal", s->path);
    pthread_mutex_lock(&s->wmu);
    if (stat(wal, &st) == 0 &&
        (s->walfd < 0 || st.st_ino != s->wal_ino || st.st_dev != s->wal_dev)) {
        if (s->walfd >= 0)
            close(s->walfd);
        s->walfd = open(wal, O_RDONLY | O_CLOEXEC);
        s->wal_ino = st.st_ino;
        s->wal_dev = st.st_dev;
    }
    if (s->walfd >= 0)
        fd = fcntl(s->walfd, F_DUPFD_CLOEXEC, 0);
    pthread_mutex_unlock(&s->wmu);
    return fd;
}

void (*ts_sqlite_before_sync)(void);

/* Durability of the pipelined commit: frames written before this call
 * began are on disk when it returns. */
static int wal_sync(ts_sqlite *s)
{
    int fd = wal_fd(s);
    if (fd < 0)
        return TS_EIO;
    int rc = fdatasync(fd) == 0 ? TS_OK : TS_EIO;
    close(fd);
    return rc;
}

static void *syncer_main(void *arg)
{
    ts_sqlite *s = arg;
    prctl(PR_SET_NAME, "ts-syncer", 0, 0, 0);
    pthread_mutex_lock(&s->smu);
    for (;;) {
        while (!s->shead && !s->sstopping)
            pthread_cond_wait(&s->scv, &s->smu);
        ts_write *head = s->shead;
        s->shead = s->stail = NULL;
        if (!head)
            break;
        s->sbusy++;
        pthread_mutex_unlock(&s->smu);
        /* Every transaction handed over so far is in this sync. */
        int committed = 0;
        for (ts_write *w = head; w; w = w->next)
            committed |= w->rc == TS_OK;
        if (committed && ts_sqlite_before_sync)
            ts_sqlite_before_sync();
        int64_t t0 = ts_now_ns();
        if (committed && wal_sync(s) != TS_OK) {
            TS_LOG(TS_LOG_ERROR, "msg=\"cannot sync the write-ahead log\" path=%s-wal", s->path);
            for (ts_write *w = head; w; w = w->next)
                if (w->rc == TS_OK)
                    w->rc = ts_err_set(&w->err, TS_EIO, "cannot sync the write-ahead log");
        }
        int64_t took = ts_now_ns() - t0;
        pthread_mutex_lock(&s->smu);
        s->sbusy--;
        pthread_mutex_unlock(&s->smu);
        /* The writer may be holding its transaction open for this sync. */
        pthread_mutex_lock(&s->qmu);
        pthread_cond_signal(&s->qcv);
        pthread_mutex_unlock(&s->qmu);
        run_callbacks(head);
        pthread_mutex_lock(&s->smu);
        if (committed) {
            s->n_sync++;
            s->sync_ns += (uint64_t)took;
        }
    }
    pthread_mutex_unlock(&s->smu);
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

/* synchronous=full becomes NORMAL commits plus the syncer's fdatasync,
 * when the WAL can be opened; otherwise SQLite syncs inside COMMIT. */
static void syncer_stop(ts_sqlite *s)
{
    pthread_mutex_lock(&s->smu);
    s->sstopping = 1;
    pthread_cond_broadcast(&s->scv);
    pthread_mutex_unlock(&s->smu);
    for (int i = 0; i < s->nsthreads; i++)
        pthread_join(s->sthread[i], NULL);
    s->nsthreads = 0;
    if (s->walfd >= 0)
        close(s->walfd);
    s->walfd = -1;
    if (s->kickfd >= 0) /* the writer has stopped */
        close(s->kickfd);
    s->kickfd = -1;
    pthread_mutex_destroy(&s->wmu);
    pthread_mutex_destroy(&s->smu);
    pthread_cond_destroy(&s->scv);
}

static void syncer_start(ts_sqlite *s)
{
    s->walfd = -1;
    s->kickfd = -1;
    pthread_mutex_init(&s->wmu, NULL);
    pthread_mutex_init(&s->smu, NULL);
    pthread_cond_init(&s->scv, NULL);
    if (!s->pipelined)
        return;
    if (wal_sync(s) == TS_OK &&
        sqlite3_exec(s->w->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) == SQLITE_OK)
        while (s->nsthreads < TS_SYNCERS &&
               pthread_create(&s->sthread[s->nsthreads], NULL, syncer_main, s) == 0)
            s->nsthreads++;
    if (s->nsthreads == 0) {
        TS_LOG(TS_LOG_WARN, "msg=\"commits sync inline\" path=%s", s->path);
        sqlite3_exec(s->w->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
        s->pipelined = 0;
    }
}

/* The committed watermark of settled trace_dims rows (migration 0005).
 * Without it new rows could not be put on the right side of it. */
static int dims_upto_init(ts_sqlite_conn *c, ts_err *err)
{
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_DIMS_MARK_GET);
    int src = q ? sqlite3_step(q) : SQLITE_ERROR;
    if (src == SQLITE_ROW)
        c->dims_upto = sqlite3_column_int64(q, 0);
    if (q)
        sqlite3_reset(q);
    if (src != SQLITE_ROW)
        return ts_err_set(err, TS_EIO, "cannot read dims_watermark: %s", sqlite3_errmsg(c->db));
    return TS_OK;
}

/* Whether any request log waits for its span (/track-request before the
 * span): without one, ingest skips the lookup per span (10% of the
 * writer's time on bulk ingest). Waiting logs have their own partial
 * index (request_logs_pending), so this is one probe. */
static void pending_logs_init(ts_sqlite_conn *c)
{
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_RL_ANY_PENDING);
    c->pending_logs = 1;
    if (q && sqlite3_step(q) == SQLITE_ROW)
        c->pending_logs = sqlite3_column_int(q, 0);
    if (q)
        sqlite3_reset(q);
}

/* Fills the span id window with the newest spans (one generation's worth:
 * a restart keeps /track-request attaching to spans written just before). */
static int spanwin_init(ts_sqlite_conn *c, const ts_config *cfg, ts_err *err)
{
    sqlite3_stmt *q;
    int src;
    if (!(c->spanwin = ts_spanwin_new((size_t)cfg->span_id_window)))
        return ts_err_set(err, TS_ENOMEM, "out of memory");
    if (!(q = ts_sqlite_stmt(c, Q_SPANWIN_LOAD)))
        return ts_err_set(err, TS_EIO, "cannot prepare the span id window's query");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)ts_spanwin_room(c->spanwin));
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 1);
        if (id && ts_spanwin_put(c->spanwin, sqlite3_column_int64(q, 0), id,
                                 sqlite3_column_int64(q, 2), 1) != TS_OK)
            break;
    }
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return ts_err_set(err, TS_EIO, "sqlite: %s", sqlite3_errstr(src));
    return TS_OK;
}

int ts_sqlite_writer_start(ts_sqlite *s, const ts_config *cfg, ts_err *err)
{
    int rc;
    pending_logs_init(s->w);
    if ((rc = dims_upto_init(s->w, err)) != TS_OK || (rc = spanwin_init(s->w, cfg, err)) != TS_OK)
        return rc;
    /* 1,024 traces' pairs cached: more than a transaction's traces under
     * every workload of bench/. */
    if (!(s->w->spanctx = ts_spanctx_new(1024)))
        return ts_err_set(err, TS_ENOMEM, "out of memory");
    syncer_start(s);
    ts_sqlite_ckpt_start(s, cfg);
    if (pthread_create(&s->wthread, NULL, writer_main, s) != 0) {
        ts_sqlite_ckpt_stop(s);
        syncer_stop(s);
        return ts_err_set(err, TS_EIO, "cannot start writer thread");
    }
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
    syncer_stop(s); /* after the writer: it answers the last transactions */
    ts_sqlite_ckpt_stop(s);
    int pages = 0, hi = 0;
    sqlite3_db_status(s->w->db, SQLITE_DBSTATUS_CACHE_WRITE, &pages, &hi, 0);
    TS_LOG(TS_LOG_INFO,
           "msg=\"writer stopped\" transactions=%llu jobs=%llu pages_written=%d syncs=%llu "
           "sync_ms=%.1f",
           (unsigned long long)s->n_tx, (unsigned long long)s->n_jobs, pages,
           (unsigned long long)s->n_sync, (double)s->sync_ns / 1e6);
}
