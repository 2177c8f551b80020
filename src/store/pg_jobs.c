/* pg_jobs.c: what each writer job does on PostgreSQL, inside the writer's
 * savepoint: the job context, the trace locks (ts_pg_lock_traces), ingest
 * (trace rows, spans, request logs, trace_dims, aggregates through agg.c)
 * and the dispatch; pg_jobs_ops.c has the other jobs. The reference for
 * every result is the SQLite backend (sqlite_jobs.c, sqlite_tagg.c), less
 * its single-writer caches: every row is read after the trace's lock. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_jobs_int.h"
#include "tracestore/ids.h"
#include "tracestore/log.h"

#define AGG_COLS_T                                                                                 \
    "t.span_count, t.llm_span_count, t.prompt_tokens, t.completion_tokens, t.total_tokens, "       \
    "t.cost_sum, t.cost_span_count, t.unpriced_span_count, t.started_ns, t.ended_ns, "             \
    "t.error_count, t.root_span_id, t.root_start_ns, t.root_name, t.root_input, t.root_output, "   \
    "t.root_model, t.root_error, t.err_span_id, t.err_start_ns, t.err_text, t.t_started_ns, "      \
    "t.created_ns"
/* Sorted and deduplicated in the server, locked in that order: the
 * output expression runs after the sort (volatile, PostgreSQL >= 9.6). */
static const char SQL_LOCK[] =
    "SELECT pg_advisory_xact_lock(k.a, k.b) FROM (SELECT DISTINCT ($1::bigint % 2147483647)::int4 "
    "AS a, hashtext(u.t) AS b FROM unnest($2::text[]) AS u(t)) k ORDER BY k.a, k.b";

/* The trace row and its closure; a trace without either gets a row id
 * from the sequence, its row is inserted once its aggregates are known
 * (pg_jobs_trace.c), so a new trace's row is written once. Under the
 * trace's lock the row seen is the latest and no one else inserts it. */
static const char SQL_TRACE[] =
    "SELECT CASE WHEN t.id IS NULL AND NOT c.closed THEN nextval(pg_get_serial_sequence("
    "'traces', 'id')) END, t.id, c.closed, " AGG_COLS_T " FROM (SELECT EXISTS (SELECT 1 FROM "
    "trace_closures WHERE ws_id = $1 AND trace_id = $2) AS closed) c LEFT JOIN traces t ON "
    "t.ws_id = $1 AND t.trace_id = $2";

/* The span's stored version (if any) and the newest /track-request log
 * waiting for its id (when $4 = 1). */

static const char SQL_CLOSE_INSERT[] =
    "INSERT INTO trace_closures (ws_id, trace_id, uuid, status, created_ns, updated_ns) "
    "VALUES ($1, $2, $3, 'closed', $4, $4)";
static const char SQL_DELETE[] =
    "WITH s AS (DELETE FROM spans WHERE trow = ANY($1::bigint[])), "
    "r AS (DELETE FROM request_logs WHERE trow = ANY($1::bigint[])), "
    "d AS (DELETE FROM trace_dims WHERE trow = ANY($1::bigint[])), "
    "c AS (DELETE FROM trace_closures WHERE ws_id = $2 AND trace_id = ANY($3::text[])), "
    "f AS (DELETE FROM feedback WHERE ws_id = $2 AND trace_id = ANY($3::text[])) "
    "DELETE FROM traces WHERE id = ANY($1::bigint[]) AND ws_id = $2";
PGresult *ts_pgj_run(pgj *j, int id, const char *sql, int *rc)
{
    PGresult *r = ts_pg_run(j->c, id, sql, &j->p);
    *rc = ts_pg_check(j->c, r, &j->w->err);
    if (*rc != TS_OK) {
        PQclear(r);
        return NULL;
    }
    return r;
}

int ts_pgj_do(pgj *j, int id, const char *sql)
{
    int rc;
    PQclear(ts_pgj_run(j, id, sql, &rc));
    return rc;
}

int64_t ts_pgj_changes(PGresult *r)
{
    const char *n = r ? PQcmdTuples(r) : NULL;
    return n && *n ? strtoll(n, NULL, 10) : 0;
}

char *ts_pgj_text_array(ts_arena *a, const char *const *v, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += v[i] ? 2 * strlen(v[i]) + 3 : 5;
    char *out = ts_arena_alloc(a, len), *o = out;
    if (!out)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *o++ = ',';
        if (!v[i]) {
            memcpy(o, "NULL", 4);
            o += 4;
            continue;
        }
        *o++ = '"';
        for (const char *s = v[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                *o++ = '\\';
            *o++ = *s;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

char *ts_pgj_i64_array(ts_arena *a, const int64_t *v, size_t n)
{
    char *out = ts_arena_alloc(a, 3 + n * 21), *o = out;
    if (!out)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < n; i++)
        o += snprintf(o, 22, "%s%lld", i ? "," : "", (long long)v[i]);
    *o++ = '}';
    *o = '\0';
    return out;
}

static char *put_be32(char *o, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        *o++ = (char)((v >> (8 * i)) & 0xff);
    return o;
}

static char *put_be64(char *o, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        *o++ = (char)((v >> (8 * i)) & 0xff);
    return o;
}

char *ts_pgj_bin_array(ts_arena *a, unsigned elem, const char *const *v, size_t n, int *len)
{
    size_t size = 20;
    for (size_t i = 0; i < n; i++)
        size += 4 + (!v[i] ? 0 : elem == TS_PGJ_TEXT ? strlen(v[i]) : 8);
    if (size > INT32_MAX)
        return NULL;
    char *out = ts_arena_alloc(a, size), *o = out;
    if (!out)
        return NULL;
    int nulls = 0;
    for (size_t i = 0; i < n && !nulls; i++)
        nulls = !v[i];
    o = put_be32(o, 1); /* one dimension */
    o = put_be32(o, (uint32_t)nulls);
    o = put_be32(o, elem);
    o = put_be32(o, (uint32_t)n);
    o = put_be32(o, 1); /* lower bound */
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) {
            o = put_be32(o, UINT32_MAX); /* -1: NULL */
            continue;
        }
        if (elem == TS_PGJ_TEXT) {
            size_t l = strlen(v[i]);
            o = put_be32(o, (uint32_t)l);
            memcpy(o, v[i], l);
            o += l;
            continue;
        }
        uint64_t bits;
        if (elem == TS_PGJ_FLOAT8) {
            double d = strtod(v[i], NULL);
            memcpy(&bits, &d, sizeof bits);
        } else {
            bits = (uint64_t)strtoll(v[i], NULL, 10);
        }
        o = put_be32(o, 8);
        o = put_be64(o, bits);
    }
    *len = (int)size;
    return out;
}

char *ts_pgj_bin_i64(ts_arena *a, const int64_t *v, size_t n, int *len)
{
    size_t size = 20 + 12 * n;
    if (size > INT32_MAX)
        return NULL;
    char *out = ts_arena_alloc(a, size), *o = out;
    if (!out)
        return NULL;
    o = put_be32(o, 1);
    o = put_be32(o, 0);
    o = put_be32(o, TS_PGJ_INT8);
    o = put_be32(o, (uint32_t)n);
    o = put_be32(o, 1);
    for (size_t i = 0; i < n; i++) {
        o = put_be32(o, 8);
        o = put_be64(o, (uint64_t)v[i]);
    }
    *len = (int)size;
    return out;
}

int ts_pg_lock_traces(ts_pg_conn *c, int64_t ws_id, const char *const *trace_ids, size_t n,
                      ts_err *err)
{
    ts_arena *a = NULL;
    ts_pgp p;
    int rc = TS_OK;
    char *arr;

    if (n == 0)
        return TS_OK;
    if (!(a = ts_arena_new(4096)) || !(arr = ts_pgj_text_array(a, trace_ids, n))) {
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
        goto out;
    }
    ts_pgp_reset(&p);
    ts_pgp_i64(&p, ws_id);
    ts_pgp_text(&p, arr);
    rc = ts_pg_do(c, PS_LOCK, SQL_LOCK, &p, err);
out:
    ts_arena_free(a);
    return rc;
}

static size_t pow2_at_least(size_t n)
{
    size_t b = 16;
    while (b < n && b < ((size_t)1 << 22))
        b <<= 1;
    return b;
}

int ts_pgj_tables(pgj *j, size_t n)
{
    j->ntb = pow2_at_least(2 * n);
    j->ndb = pow2_at_least(8 * n);
    j->tb = ts_arena_calloc(j->a, j->ntb, sizeof(*j->tb));
    j->db = ts_arena_calloc(j->a, j->ndb, sizeof(*j->db));
    j->list = NULL;
    j->nlist = j->caplist = 0;
    return j->tb && j->db ? TS_OK : TS_ENOMEM;
}

/* The aggregate columns of r's row 0 from column at (AGG_COLS order). */
static void read_agg(pgj *j, const PGresult *r, int at, ts_agg *g)
{
    memset(g, 0, sizeof(*g));
    g->span_count = ts_pg_i64(r, 0, at + 0, 0);
    g->llm_span_count = ts_pg_i64(r, 0, at + 1, 0);
    g->prompt = ts_pg_i64(r, 0, at + 2, 0);
    g->completion = ts_pg_i64(r, 0, at + 3, 0);
    g->total = ts_pg_i64(r, 0, at + 4, 0);
    g->cost_sum = ts_pg_f64(r, 0, at + 5, 0.0);
    g->cost_n = ts_pg_i64(r, 0, at + 6, 0);
    g->unpriced = ts_pg_i64(r, 0, at + 7, 0);
    g->has_ext = !ts_pg_isnull(r, 0, at + 8);
    g->started = ts_pg_i64(r, 0, at + 8, 0);
    g->ended = ts_pg_i64(r, 0, at + 9, 0);
    g->error_count = ts_pg_i64(r, 0, at + 10, 0);
    g->root_span_id = ts_pg_text(j->a, r, 0, at + 11);
    g->root_start = ts_pg_i64(r, 0, at + 12, 0);
    g->root_name = ts_pg_text(j->a, r, 0, at + 13);
    g->root_input = ts_pg_text(j->a, r, 0, at + 14);
    g->root_output = ts_pg_text(j->a, r, 0, at + 15);
    g->root_model = ts_pg_text(j->a, r, 0, at + 16);
    g->root_error = ts_pg_text(j->a, r, 0, at + 17);
    g->err_span_id = ts_pg_text(j->a, r, 0, at + 18);
    g->err_start = ts_pg_i64(r, 0, at + 19, 0);
    g->err_text = ts_pg_text(j->a, r, 0, at + 20);
}

/* Reads the row of t, or draws its row id when it has none and is not
 * closed (the row is inserted by ts_pgj_store_trace). */
static int trace_load(pgj *j, pgt *t)
{
    PGresult *r = NULL;
    int rc = TS_OK;
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, j->w->ws_id);
    ts_pgp_text(&j->p, t->trace_id);
    if (!(r = ts_pgj_run(j, PS_TRACE, SQL_TRACE, &rc)))
        return rc;
    t->closed = PQntuples(r) > 0 && PQgetvalue(r, 0, 2)[0] == 't';
    t->existed = !ts_pg_isnull(r, 0, 1);
    t->unsaved = !t->existed && !ts_pg_isnull(r, 0, 0);
    t->rowid = ts_pg_i64(r, 0, t->existed ? 1 : 0, 0);
    if (t->existed)
        read_agg(j, r, 3, &t->agg);
    else
        memset(&t->agg, 0, sizeof(t->agg));
    t->has_tstart = t->existed && !ts_pg_isnull(r, 0, 24);
    t->tstart = ts_pg_i64(r, 0, 24, 0);
    t->created = t->existed ? ts_pg_i64(r, 0, 25, j->now) : j->now;
    t->loaded_started = ts_pgj_start(t);
    if (t->unsaved)
        j->created++;
    PQclear(r);
    return TS_OK;
}

int ts_pgj_trace(pgj *j, const char *trace_id, pgt **out)
{
    size_t h = (size_t)(ts_str_hash(trace_id) & (j->ntb - 1));
    pgt *t;
    int rc;
    for (t = j->tb[h]; t; t = t->next)
        if (strcmp(t->trace_id, trace_id) == 0) {
            *out = t;
            return TS_OK;
        }
    pgt **nl = ts_arena_grow(j->a, j->list, j->nlist, &j->caplist, sizeof(*nl));
    if (!nl || !(t = ts_arena_calloc(j->a, 1, sizeof(*t))) ||
        !(t->trace_id = ts_arena_strdup(j->a, trace_id)))
        return ts_err_set(&j->w->err, TS_ENOMEM, "out of memory");
    j->list = nl;
    if ((rc = trace_load(j, t)) != TS_OK)
        return rc;
    j->list[j->nlist++] = t;
    t->next = j->tb[h];
    j->tb[h] = t;
    *out = t;
    return TS_OK;
}

/* Adds delta to the pending count change of (t, dim, val). */
int ts_pgj_dim_add(void *arg, int dim, const char *val, int64_t delta)
{
    void **k = arg;
    pgj *j = k[0];
    pgt *t = k[1];
    size_t b = (size_t)((((uint64_t)(uintptr_t)t >> 4) * 31 + (uint64_t)dim) ^ ts_str_hash(val)) &
               (j->ndb - 1);
    for (pg_dim *e = j->db[b]; e; e = e->next)
        if (e->owner == t && e->dim == dim && strcmp(e->val, val) == 0) {
            e->delta += delta;
            return TS_OK;
        }
    pg_dim *e = ts_arena_calloc(j->a, 1, sizeof(*e));
    if (!e)
        return TS_ENOMEM;
    *e = (pg_dim){t, dim, val, delta, t->dims, j->db[b]};
    t->dims = e;
    j->db[b] = e;
    return TS_OK;
}

int ts_pgj_insert_closure(pgj *j, const char *trace_id, ts_closure *out)
{
    char uuid[TS_UUID_STRLEN + 1];
    int rc;
    ts_uuid_new(uuid);
    ts_pgp_reset(&j->p);
    ts_pgp_i64(&j->p, j->w->ws_id);
    ts_pgp_text(&j->p, trace_id);
    ts_pgp_text(&j->p, uuid);
    ts_pgp_i64(&j->p, j->now);
    if ((rc = ts_pgj_do(j, PS_CLOSE_INSERT, SQL_CLOSE_INSERT)) != TS_OK || !out)
        return rc;
    memset(out, 0, sizeof(*out));
    memcpy(out->id, uuid, sizeof(out->id));
    out->workspace_id = j->w->ws_id;
    snprintf(out->trace_id, sizeof(out->trace_id), "%s", trace_id);
    out->created_ns = out->updated_ns = j->now;
    return TS_OK;
}

int ts_pgj_delete_traces(pgj *j, int64_t ws, const char *const *trace_ids, const int64_t *trows,
                         size_t n, int64_t *deleted)
{
    PGresult *r;
    int rc;
    *deleted = 0;
    if (n == 0)
        return TS_OK;
    char *rows = ts_pgj_i64_array(j->a, trows, n), *ids = ts_pgj_text_array(j->a, trace_ids, n);
    if (!rows || !ids)
        return ts_err_set(&j->w->err, TS_ENOMEM, "out of memory");
    ts_pgp_reset(&j->p);
    ts_pgp_text(&j->p, rows);
    ts_pgp_i64(&j->p, ws);
    ts_pgp_text(&j->p, ids);
    if (!(r = ts_pgj_run(j, PS_DELETE, SQL_DELETE, &rc)))
        return rc;
    *deleted = ts_pgj_changes(r);
    PQclear(r);
    return TS_OK;
}

static int apply_ingest(pgj *j)
{
    ts_write *w = j->w;
    int rc;
    if ((rc = ts_pgj_tables(j, w->nspans + w->ntraces)) != TS_OK)
        return ts_err_set(&w->err, rc, "out of memory");
    /* Every trace the job names is locked already: the writer takes the
     * locks of all its jobs' traces up front, in one sorted order
     * (pg_writer.c, lock_all). */
    /* Trace meta first: a duplicate trace's spans are skipped. */
    for (size_t i = 0; i < w->ntraces; i++) {
        ts_trace_meta *m = &w->traces[i];
        pgt *t;
        if ((rc = ts_pgj_trace(j, m->trace_id, &t)) != TS_OK)
            return rc;
        m->duplicate = t->existed;
        m->created_ns = j->now;
        if (m->duplicate && w->skip_existing_traces)
            t->skip = 1;
        else if (!t->closed)
            t->meta = m;
    }
    if ((rc = ts_pgj_ingest(j, w->spans, w->nspans)) != TS_OK)
        return rc;
    for (size_t i = 0; i < j->nlist; i++) {
        pgt *t = j->list[i];
        if ((rc = ts_pgj_store_trace(j, t)) != TS_OK)
            return rc;
        if (t->touched && w->close_after && !t->closed) {
            if ((rc = ts_pgj_insert_closure(j, t->trace_id, NULL)) != TS_OK)
                return rc;
            t->closed = 1;
        }
    }
    return TS_OK;
}

static int apply_job(pgj *j)
{
    switch (j->w->kind) {
    case TS_W_INGEST:
        return apply_ingest(j);
    case TS_W_CLOSE:
        return ts_pgj_close(j);
    case TS_W_DELETE:
        return ts_pgj_delete(j);
    case TS_W_KEY_CREATE:
        return ts_pgj_key_create(j);
    case TS_W_KEY_REVOKE:
        return ts_pgj_key_revoke(j);
    case TS_W_PING:
        return TS_OK;
    case TS_W_FEEDBACK:
        return ts_pgj_feedback(j);
    case TS_W_BULK_DELETE:
        return ts_pgj_bulk_delete(j);
    case TS_W_TRACK_REQUEST:
        return ts_pgj_track(j);
    case TS_W_SWEEP:
        return ts_pgj_sweep(j);
    case TS_W_WS_RETENTION:
        return ts_pgj_ws_retention(j);
    }
    return ts_err_set(&j->w->err, TS_EINVAL, "unknown write kind %d", (int)j->w->kind);
}

/* Clears what a job fills, so a transaction run again (TS_PG_RETRY)
 * starts each job from its inputs. */
static void reset_results(ts_write *w)
{
    ts_err_clear(&w->err);
    w->rc = TS_OK;
    w->affected = 0;
    w->nrejected = 0;
    w->swept_logs = 0;
    w->sweep_more = 0;
    memset(&w->closure, 0, sizeof(w->closure));
    if (w->kind == TS_W_KEY_CREATE)
        memset(&w->ws, 0, sizeof(w->ws));
    for (size_t i = 0; w->kind == TS_W_INGEST && i < w->nspans; i++) {
        w->spans[i].rowid = 0;
        w->spans[i].request_log_id = 0;
        w->spans[i].rejected = 0;
        w->spans[i].created_ns = 0;
    }
    for (size_t i = 0; w->kind == TS_W_INGEST && i < w->ntraces; i++) {
        w->traces[i].duplicate = 0;
        w->traces[i].created_ns = 0;
    }
    if (w->kind == TS_W_TRACK_REQUEST && w->track) {
        w->track->request_id = 0;
        w->track->attached = 0;
    }
    if (w->kind == TS_W_FEEDBACK && w->feedback) {
        w->feedback->id[0] = '\0';
        w->feedback->created_ns = 0;
    }
}

int ts_pg_job_run(ts_pg *s, ts_pg_conn *c, ts_write *w, int64_t now)
{
    pgj j = {.s = s, .c = c, .w = w, .now = now, .a = ts_arena_new(64 * 1024)};
    int rc;

    reset_results(w);
    if (!j.a)
        return w->rc = ts_err_set(&w->err, TS_ENOMEM, "out of memory");
    rc = apply_job(&j);
    if (rc != TS_OK && w->err.code == 0)
        ts_err_set(&w->err, rc, "%s", ts_strerror(rc));
    if (rc == TS_OK && j.created) { /* tracestore_traces_created_total (pg_int.h) */
        pthread_mutex_lock(&s->qmu);
        s->traces_created += (uint64_t)j.created;
        pthread_mutex_unlock(&s->qmu);
    }
    ts_arena_free(j.a);
    return w->rc = rc;
}
