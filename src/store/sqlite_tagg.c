/* sqlite_tagg.c: the per-trace aggregate images of the writer. A job loads
 * a trace's row into an image (tagg) kept in a table by trace (ttable), moves
 * it span by span, and writes it back with its trace_dims count changes, once
 * per job or, for span-only jobs, once per transaction. */
#include <string.h>

#include "store/agg.h"
#include "store/sqlite_write_int.h"
#include "tracestore/log.h"

int ts_sqlite_trace_closed(job_ctx *j, const char *trace_id, int *closed)
{
    sqlite3_stmt *q = ts_sqlite_ws_stmt(j, Q_CLOSED, trace_id);
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
    sqlite3_stmt *q = ts_sqlite_ws_stmt(j, Q_TRACE_LOAD, t->trace_id);
    if (!q)
        return TS_EIO;
    int src = sqlite3_step(q);
    if (src == SQLITE_DONE)
        t->rowid = j->c->next_trace_row++;
    if (src == SQLITE_ROW) {
        t->rowid = sqlite3_column_int64(q, 0);
        t->inrow = 1;
        t->agg.span_count = sqlite3_column_int64(q, 1);
        t->agg.llm_span_count = sqlite3_column_int64(q, 2);
        t->agg.prompt = sqlite3_column_int64(q, 3);
        t->agg.completion = sqlite3_column_int64(q, 4);
        t->agg.total = sqlite3_column_int64(q, 5);
        t->agg.cost_sum = sqlite3_column_double(q, 6);
        t->agg.cost_n = sqlite3_column_int64(q, 7);
        t->agg.unpriced = sqlite3_column_int64(q, 8);
        t->agg.has_ext = sqlite3_column_type(q, 9) != SQLITE_NULL;
        t->agg.started = sqlite3_column_int64(q, 9);
        t->existed = 1;
        t->loaded_started = ts_sqlite_tagg_start(t);
        t->agg.ended = sqlite3_column_int64(q, 10);
        t->agg.error_count = sqlite3_column_int64(q, 11);
        t->agg.root_span_id = ts_sqlite_col_text(j->sa, q, 12);
        t->agg.root_start = sqlite3_column_int64(q, 13);
        t->agg.root_name = ts_sqlite_col_text(j->sa, q, 14);
        t->agg.root_input = ts_sqlite_col_text(j->sa, q, 15);
        t->agg.root_output = ts_sqlite_col_text(j->sa, q, 16);
        t->agg.root_model = ts_sqlite_col_text(j->sa, q, 17);
        t->agg.root_error = ts_sqlite_col_text(j->sa, q, 18);
        t->agg.err_span_id = ts_sqlite_col_text(j->sa, q, 19);
        t->agg.err_start = sqlite3_column_int64(q, 20);
        t->agg.err_text = ts_sqlite_col_text(j->sa, q, 21);
    }
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return ts_sqlite_rc(src);
    return ts_sqlite_trace_closed(j, t->trace_id, &t->closed);
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

int ts_sqlite_ttable_init(ttable *tt, ts_arena *a, size_t n)
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
int ts_sqlite_ttable_grow(ttable *tt)
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
int ts_sqlite_tagg_get(job_ctx *j, const char *trace_id, tagg **out)
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

/* Moves t's aggregates by the difference between old (if any) and sp. */
void ts_sqlite_tagg_apply(tagg *t, const ts_span *sp, const old_span *o)
{
    ts_agg_apply(&t->agg, sp, o ? &o->agg : NULL);
    t->touched = 1;
}

static int dim_step(job_ctx *j, int id, int64_t trow, int dim, const char *val)
{
    sqlite3_stmt *q = ts_sqlite_tr_stmt(j, id, trow);
    if (!q)
        return TS_EIO;
    sqlite3_bind_int(q, 3, dim);
    sqlite3_bind_text(q, 4, val, -1, SQLITE_STATIC);
    return ts_sqlite_step_done(q);
}

/* Adds delta to the pending count change of (t, dim, val). */
int ts_sqlite_dim_add(ttable *tt, tagg *t, int dim, const char *val, int64_t delta)
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

typedef struct dim_sink {
    ttable *tt;
    tagg *t;
} dim_sink;

static int dim_sink_add(void *arg, int dim, const char *val, int64_t delta)
{
    dim_sink *k = arg;
    return ts_sqlite_dim_add(k->tt, k->t, dim, val, delta);
}

/* Moves the trace's dim reference counts from the old span's values to
 * the new span's (unchanged values are left alone). */
int ts_sqlite_dims_update(job_ctx *j, tagg *t, const ts_span *sp, const old_span *o)
{
    const char *nv[DIM__COUNT], *ov[DIM__COUNT];
    dim_sink k = {&j->t, t};
    ts_jobs_span_dims(sp->parent_id, sp->error, sp->type, sp->model, sp->name, sp->provider, nv);
    if (o)
        ts_jobs_span_dims(o->parent, o->error, o->type, o->model, o->name, o->provider, ov);
    return ts_jobs_dims_move(o ? ov : NULL, nv, dim_sink_add, &k);
}

int ts_sqlite_dims_meta(job_ctx *j, tagg *t, const ts_trace_meta *m)
{
    dim_sink k = {&j->t, t};
    return ts_jobs_meta_dims(m, dim_sink_add, &k);
}

/* Writes t's pending trace_dims changes: one upsert per distinct value. */
int ts_sqlite_dims_flush(job_ctx *j, tagg *t)
{
    int rc;
    for (dimd *e = t->dims; e; e = e->next_in_trace) {
        if (e->delta == 0)
            continue;
        sqlite3_stmt *q = ts_sqlite_tr_stmt(j, Q_DIM_INC, t->rowid);
        if (!q)
            return TS_EIO;
        sqlite3_bind_int(q, 3, e->dim);
        sqlite3_bind_text(q, 4, e->val, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, e->delta);
        /* Out of trace_dims_val until the next settle (migration 0005). */
        sqlite3_bind_int(q, 6, t->rowid <= j->c->dims_upto);
        if ((rc = ts_sqlite_step_done(q)) != TS_OK)
            return rc;
        if (e->delta < 0 && (rc = dim_step(j, Q_DIM_DROP, t->rowid, e->dim, e->val)) != TS_OK)
            return rc;
    }
    t->dims = NULL;
    return TS_OK;
}

/* Copies the trace's eff_start onto its trace_dims rows (after the trace
 * row is written), so dim-driven lists see the trace's order. */
int ts_sqlite_dims_sync(job_ctx *j, const tagg *t)
{
    sqlite3_stmt *q = ts_sqlite_tr_stmt(j, Q_DIM_SYNC, t->rowid);
    return q ? ts_sqlite_step_done(q) : TS_EIO;
}

/* Re-sums t's token and cost sums from its spans (agg.h: when an
 * incremental difference could not be exact). */
static int tagg_resum(job_ctx *j, tagg *t)
{
    sqlite3_stmt *q = ts_sqlite_tr_stmt(j, Q_RECOMP_SUMS, t->rowid);
    int src;
    if (!q)
        return TS_EIO;
    ts_agg_resum_begin(&t->agg);
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t v[3];
        for (int i = 0; i < 3; i++)
            v[i] = sqlite3_column_type(q, i) == SQLITE_NULL ? TS_TOKENS_ABSENT
                                                            : sqlite3_column_int64(q, i);
        ts_agg_resum_add(&t->agg, v[0], v[1], v[2], sqlite3_column_type(q, 3) != SQLITE_NULL,
                         sqlite3_column_double(q, 3));
    }
    sqlite3_reset(q);
    return src == SQLITE_DONE ? TS_OK : ts_sqlite_rc(src) ? ts_sqlite_rc(src) : TS_EIO;
}

/* Re-derives from t's spans what its image could not move exactly: the
 * non-additive fields (rare: only when a replaced span held the earliest
 * start, latest end, root or error) and the sums (tagg_resum). */
int ts_sqlite_tagg_recompute(job_ctx *j, tagg *t)
{
    sqlite3_stmt *q;
    int src, rc;
    if (t->agg.resum && (rc = tagg_resum(j, t)) != TS_OK)
        return rc;
    if (!t->agg.recompute)
        return TS_OK;
    if (!(q = ts_sqlite_tr_stmt(j, Q_RECOMP_EXT, t->rowid)))
        return TS_EIO;
    if ((src = sqlite3_step(q)) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        t->agg.started = sqlite3_column_int64(q, 0);
        t->agg.ended = sqlite3_column_int64(q, 1);
    }
    sqlite3_reset(q);
    if (!(q = ts_sqlite_tr_stmt(j, Q_RECOMP_ROOT, t->rowid)))
        return TS_EIO;
    t->agg.root_span_id = t->agg.root_name = t->agg.root_input = t->agg.root_output = NULL;
    t->agg.root_model = t->agg.root_error = NULL;
    if (sqlite3_step(q) == SQLITE_ROW) {
        t->agg.root_span_id = ts_sqlite_col_text(j->sa, q, 0);
        t->agg.root_start = sqlite3_column_int64(q, 1);
        t->agg.root_name = ts_sqlite_col_text(j->sa, q, 2);
        t->agg.root_input = ts_sqlite_col_text(j->sa, q, 3);
        t->agg.root_output = ts_sqlite_col_text(j->sa, q, 4);
        t->agg.root_model = ts_sqlite_col_text(j->sa, q, 5);
        t->agg.root_error = ts_sqlite_col_text(j->sa, q, 6);
    }
    sqlite3_reset(q);
    if (!(q = ts_sqlite_tr_stmt(j, Q_RECOMP_ERR, t->rowid)))
        return TS_EIO;
    t->agg.err_span_id = t->agg.err_text = NULL;
    if (sqlite3_step(q) == SQLITE_ROW) {
        t->agg.err_span_id = ts_sqlite_col_text(j->sa, q, 0);
        t->agg.err_start = sqlite3_column_int64(q, 1);
        t->agg.err_text = ts_sqlite_col_text(j->sa, q, 2);
    }
    sqlite3_reset(q);
    t->agg.recompute = 0;
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
    sqlite3_bind_int64(q, at + 0, t->agg.span_count);
    sqlite3_bind_int64(q, at + 1, t->agg.llm_span_count);
    sqlite3_bind_int64(q, at + 2, t->agg.prompt);
    sqlite3_bind_int64(q, at + 3, t->agg.completion);
    sqlite3_bind_int64(q, at + 4, t->agg.total);
    sqlite3_bind_double(q, at + 5, t->agg.cost_n > 0 ? t->agg.cost_sum : 0.0);
    sqlite3_bind_int64(q, at + 6, t->agg.cost_n);
    sqlite3_bind_int64(q, at + 7, t->agg.unpriced);
    if (t->agg.has_ext) {
        sqlite3_bind_int64(q, at + 8, t->agg.started);
        sqlite3_bind_int64(q, at + 9, t->agg.ended);
    }
    sqlite3_bind_int64(q, at + 10, t->agg.error_count);
    ts_sqlite_bind_text(q, at + 11, t->agg.root_span_id);
    if (t->agg.root_span_id)
        sqlite3_bind_int64(q, at + 12, t->agg.root_start);
    ts_sqlite_bind_text(q, at + 13, t->agg.root_name);
    ts_sqlite_bind_text(q, at + 14, t->agg.root_input);
    ts_sqlite_bind_text(q, at + 15, t->agg.root_output);
    ts_sqlite_bind_text(q, at + 16, t->agg.root_model);
    ts_sqlite_bind_text(q, at + 17, t->agg.root_error);
    ts_sqlite_bind_text(q, at + 18, t->agg.err_span_id);
    if (t->agg.err_span_id)
        sqlite3_bind_int64(q, at + 19, t->agg.err_start);
    ts_sqlite_bind_text(q, at + 20, t->agg.err_text);
}

int ts_sqlite_tagg_store(job_ctx *j, tagg *t)
{
    sqlite3_stmt *q;
    int rc;
    if ((t->agg.recompute || t->agg.resum) && (rc = ts_sqlite_tagg_recompute(j, t)) != TS_OK)
        return rc;
    if (t->inrow) {
        if (!(q = ts_sqlite_stmt(j->c, Q_TRACE_UPDATE)))
            return TS_EIO;
        sqlite3_bind_int64(q, 1, j->now);
        bind_agg(q, 2, t);
        sqlite3_bind_int64(q, 23, t->rowid);
        return ts_sqlite_step_done(q);
    }
    int64_t project = 0;
    if ((rc = default_project(j, &project)) != TS_OK)
        return rc;
    if (!(q = ts_sqlite_ws_stmt(j, Q_TRACE_INSERT, t->trace_id)))
        return TS_EIO;
    if (project)
        sqlite3_bind_int64(q, 3, project);
    sqlite3_bind_int64(q, 4, j->now);
    sqlite3_bind_int64(q, 5, j->now);
    bind_agg(q, 6, t);
    sqlite3_bind_int64(q, 27, t->rowid);
    if ((rc = ts_sqlite_step_done(q)) != TS_OK)
        return rc;
    t->inrow = 1;
    j->c->traces_new++; /* tracestore_traces_created_total, at COMMIT */
    return TS_OK;
}

/* A successful job's images become the transaction's. */
int ts_sqlite_tagg_merge(job_ctx *j)
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
            if (e->delta && (!v || ts_sqlite_dim_add(j->tx, img, e->dim, v, e->delta) != TS_OK))
                return TS_ENOMEM;
        }
    }
    return TS_OK;
}

/* Writes the transaction's changed images: row, dims, dims order. */
int ts_sqlite_tagg_flush(ts_sqlite *s, ttable *tt, int64_t now)
{
    int rc;
    for (size_t i = 0; i < tt->nlist; i++) {
        tagg *t = tt->list[i];
        if (!t->dirty)
            continue;
        job_ctx fj = {.c = s->w, .a = tt->a, .sa = tt->a, .w = t->w, .now = now};
        int moved = t->existed && ts_sqlite_tagg_start(t) != t->loaded_started;
        if ((rc = ts_sqlite_tagg_store(&fj, t)) != TS_OK ||
            (rc = ts_sqlite_dims_flush(&fj, t)) != TS_OK ||
            (moved && (rc = ts_sqlite_dims_sync(&fj, t)) != TS_OK))
            return rc;
        t->dirty = 0;
    }
    return ts_sqlite_ttable_init(tt, tt->a, tt->nbuckets / 2);
}

/* Puts the trace_dims rows of traces up to row hi into trace_dims_val and
 * moves the watermark there (migration 0005): each (dim, value) group's
 * last leaf is then written once per settle instead of once per commit. */
int ts_sqlite_dims_settle(ts_sqlite_conn *c, int64_t hi)
{
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_DIMS_SETTLE);
    int rc;
    if (!q)
        return TS_EIO;
    sqlite3_bind_int64(q, 1, c->dims_upto);
    sqlite3_bind_int64(q, 2, hi);
    if ((rc = ts_sqlite_step_done(q)) != TS_OK || !(q = ts_sqlite_stmt(c, Q_DIMS_MARK)))
        return rc != TS_OK ? rc : TS_EIO;
    sqlite3_bind_int64(q, 1, hi);
    return ts_sqlite_step_done(q);
}
