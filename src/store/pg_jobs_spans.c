/* pg_jobs_spans.c: the spans of a PostgreSQL ingest, in a fixed number of
 * statements per job whatever its size: one reads the old versions and
 * the waiting /track-request logs of every span, one inserts the new
 * request logs, one the new spans (arrays unnested); replaced spans are
 * updated one by one. Then each span moves its trace's dims and
 * aggregates (agg.c) in the job's order, as SQLite's ingest_span does
 * span by span. The traces' locks are held and their rows read. */
#include <stdio.h>
#include <string.h>

#include "store/pg_jobs_int.h"

/* The 34 values after (trow, ws_id, trace_id, span_id) of a span row. */
#define SPAN_TAIL                                                                                  \
    "parent_id, name, kind, start_ns, end_ns, status_code, status_message, trace_state, "          \
    "attributes, events, links, resource, scope, origin, type, model, provider, input, output, "   \
    "prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, "      \
    "reasoning_tokens, cost, unpriced, error, session_id, user_id, metadata, latency_ms, "         \
    "request_log_id, created_ns"
#define NTAIL 34

/* Old versions (k = 0) of the spans ($1, $2) and the logs waiting for the
 * span ids $4 (k = 1, newest first), in one result. */
static const char SQL_FETCH[] =
    "SELECT 0, s.trow, s.span_id, s.id, s.start_ns, s.end_ns, s.parent_id, s.error, s.type, "
    "s.prompt_tokens, s.completion_tokens, s.total_tokens, s.cost, s.unpriced, s.request_log_id, "
    "s.model, s.name, s.provider, s.created_ns, NULL::text, NULL::text FROM unnest($1::bigint[], "
    "$2::text[]) AS u(trow, span_id) JOIN spans s ON s.trow = u.trow AND s.span_id = u.span_id "
    "UNION ALL SELECT 1, NULL, r.span_id, r.id, NULL, NULL, NULL, NULL, NULL, r.prompt_tokens, "
    "r.completion_tokens, NULL, r.cost, NULL, NULL, r.model, NULL, r.provider, NULL, r.input, "
    "r.output FROM request_logs r WHERE r.ws_id = $3 AND r.trace_id = '' AND r.span_id = "
    "ANY($4::text[]) ORDER BY 1, 4 DESC";
static const char SQL_RL_INSERTS[] =
    "INSERT INTO request_logs (ws_id, trace_id, span_id, body, created_ns, trow) SELECT "
    "$1::bigint, u.t, u.s, u.b, $2::bigint, u.r FROM unnest($3::text[], $4::text[], $5::text[], "
    "$6::bigint[]) AS u(t, s, b, r) RETURNING id, trow, span_id";
static const char SQL_RL_UPDATE[] =
    "UPDATE request_logs SET body = $1, created_ns = $2 WHERE id = $3";
static const char SQL_RL_ATTACH[] =
    "UPDATE request_logs SET trace_id = $2, trow = $3 WHERE id = $1";
static const char SQL_SPAN_INSERTS[] =
    "INSERT INTO spans (" SPAN_TAIL ", trow, ws_id, trace_id, span_id) SELECT * FROM unnest("
    "$1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], "
    "$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[], "
    "$15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::bigint[], "
    "$21::bigint[], $22::bigint[], $23::bigint[], $24::bigint[], $25::bigint[], "
    "$26::float8[], $27::bigint[], $28::text[], $29::text[], $30::text[], $31::text[], "
    "$32::bigint[], $33::bigint[], $34::bigint[], $35::bigint[], $36::bigint[], $37::text[], "
    "$38::text[]) RETURNING id, trow, span_id";
static const char SQL_SPAN_UPDATE[] =
    "UPDATE spans SET (" SPAN_TAIL ") = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
    "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, "
    "$32, $33, $34) WHERE id = $35";

/* What a span's stored version contributed. */
typedef struct old_span {
    ts_agg_old agg;
    int64_t id, request_log_id, created_ns;
    const char *parent, *error, *type, *model, *name, *provider;
} old_span;

/* One span of the job while it is written. */
typedef struct pgs {
    ts_span *sp;   /* what is written: the job's span, or a copy a log merged into */
    ts_span *orig; /* the job's span: its results are set, its fields never changed */
    pgt *t;
    old_span o;
    int found;        /* o holds its stored version */
    int wants_log;    /* may take a waiting /track-request log */
    int64_t pending;  /* that log's id, 0: none */
    int rl_insert;    /* its log_request is a new request_logs row */
    int64_t rl_id;    /* its request log, 0: none */
    struct pgs *next; /* (trow, span id) hash chain */
} pgs;

/* The job's spans that may take a waiting log of one span id, in job
 * order: the newest log goes to the first, the next to the second. */
typedef struct waitq {
    const char *span_id;
    pgs **items;
    size_t n, cap, taken;
    struct waitq *next;
} waitq;

typedef struct batch {
    pgj *j;
    pgs *s;
    size_t n;
    pgs **tb; /* by (trow, span id) */
    size_t ntb;
    waitq **qb; /* by span id */
} batch;

static size_t key_hash(const batch *b, int64_t trow, const char *span_id)
{
    return (size_t)(ts_str_hash(span_id) * 31 + (uint64_t)trow) & (b->ntb - 1);
}

static pgs *find(const batch *b, int64_t trow, const char *span_id)
{
    for (pgs *x = b->tb[key_hash(b, trow, span_id)]; x; x = x->next)
        if (x->t->rowid == trow && strcmp(x->sp->span_id, span_id) == 0)
            return x;
    return NULL;
}

static void read_old(ts_arena *a, const PGresult *r, int i, old_span *o)
{
    memset(o, 0, sizeof(*o));
    o->id = ts_pg_i64(r, i, 3, 0);
    o->agg.start = ts_pg_i64(r, i, 4, 0);
    o->agg.end = ts_pg_i64(r, i, 5, 0);
    o->parent = ts_pg_text(a, r, i, 6);
    o->error = ts_pg_text(a, r, i, 7);
    o->type = ts_pg_text(a, r, i, 8);
    o->agg.has_error = o->error != NULL;
    o->agg.is_llm = ts_span_type_is_llm(o->type);
    o->agg.prompt = ts_pg_i64(r, i, 9, TS_TOKENS_ABSENT);
    o->agg.completion = ts_pg_i64(r, i, 10, TS_TOKENS_ABSENT);
    o->agg.total = ts_pg_i64(r, i, 11, TS_TOKENS_ABSENT);
    o->agg.has_cost = !ts_pg_isnull(r, i, 12);
    o->agg.cost = ts_pg_f64(r, i, 12, 0.0);
    o->agg.unpriced = ts_pg_i64(r, i, 13, 0) == TS_PRICE_UNPRICED;
    o->request_log_id = ts_pg_i64(r, i, 14, 0);
    o->model = ts_pg_text(a, r, i, 15);
    o->name = ts_pg_text(a, r, i, 16);
    o->provider = ts_pg_text(a, r, i, 17);
    o->created_ns = ts_pg_i64(r, i, 18, 0);
}

static waitq *waitq_find(const batch *b, const char *span_id)
{
    for (waitq *q = b->qb[(size_t)ts_str_hash(span_id) & (b->ntb - 1)]; q; q = q->next)
        if (strcmp(q->span_id, span_id) == 0)
            return q;
    return NULL;
}

static int waitq_add(batch *b, pgs *x)
{
    waitq *q = waitq_find(b, x->sp->span_id);
    if (!q) {
        size_t h = (size_t)ts_str_hash(x->sp->span_id) & (b->ntb - 1);
        if (!(q = ts_arena_calloc(b->j->a, 1, sizeof(*q))))
            return TS_ENOMEM;
        q->span_id = x->sp->span_id;
        q->next = b->qb[h];
        b->qb[h] = q;
    }
    pgs **ni = ts_arena_grow(b->j->a, q->items, q->n, &q->cap, sizeof(*ni));
    if (!ni)
        return TS_ENOMEM;
    q->items = ni;
    q->items[q->n++] = x;
    return TS_OK;
}

/* The waiting log of row i, merged into the next span waiting for it. */
static int take_pending(batch *b, const PGresult *r, int i)
{
    waitq *q = waitq_find(b, PQgetvalue(r, i, 2));
    ts_track lg = {.prompt_tokens = TS_TOKENS_ABSENT, .completion_tokens = TS_TOKENS_ABSENT};
    ts_arena *a = b->j->a;
    if (!q || q->taken == q->n)
        return TS_OK;
    pgs *x = q->items[q->taken++];
    x->pending = ts_pg_i64(r, i, 3, 0);
    lg.prompt_tokens = ts_pg_i64(r, i, 9, TS_TOKENS_ABSENT);
    lg.completion_tokens = ts_pg_i64(r, i, 10, TS_TOKENS_ABSENT);
    lg.has_cost = !ts_pg_isnull(r, i, 12);
    lg.cost = ts_pg_f64(r, i, 12, 0.0);
    lg.model = ts_pg_text(a, r, i, 15);
    lg.provider = ts_pg_text(a, r, i, 17);
    lg.input = ts_pg_text(a, r, i, 19);
    lg.output = ts_pg_text(a, r, i, 20);
    /* merged into a copy: a transaction run again (TS_PG_RETRY) starts
     * from the span as the client sent it */
    ts_span *cp = ts_arena_alloc(a, sizeof(*cp));
    if (!cp)
        return TS_ENOMEM;
    *cp = *x->orig;
    x->sp = cp;
    ts_jobs_merge_log(b->j->w->derive, x->sp, &lg);
    return TS_OK;
}

static int oom(pgj *j)
{
    return ts_err_set(&j->w->err, TS_ENOMEM, "out of memory");
}

/* Reads every span's old version (spans of traces that existed) and the
 * logs waiting for the spans that may take one, in one statement. */
static int fetch(batch *b)
{
    pgj *j = b->j;
    size_t nold = 0, nwait = 0;
    int rc;
    int64_t *trows = ts_arena_alloc(j->a, (b->n + 1) * sizeof(*trows));
    const char **oids = ts_arena_alloc(j->a, (b->n + 1) * sizeof(*oids));
    const char **wids = ts_arena_alloc(j->a, (b->n + 1) * sizeof(*wids));
    if (!trows || !oids || !wids)
        return oom(j);
    for (size_t i = 0; i < b->n; i++) {
        pgs *x = &b->s[i];
        if (!x->t)
            continue;
        if (x->t->existed) {
            trows[nold] = x->t->rowid;
            oids[nold++] = x->sp->span_id;
        }
        if (x->wants_log) {
            wids[nwait++] = x->sp->span_id;
            if ((rc = waitq_add(b, x)) != TS_OK)
                return oom(j);
        }
    }
    if (nold == 0 && nwait == 0)
        return TS_OK;
    char *at = ts_pgj_i64_array(j->a, trows, nold), *ao = ts_pgj_text_array(j->a, oids, nold);
    char *aw = ts_pgj_text_array(j->a, wids, nwait);
    if (!at || !ao || !aw)
        return oom(j);
    ts_pgp_reset(&j->p);
    ts_pgp_text(&j->p, at);
    ts_pgp_text(&j->p, ao);
    ts_pgp_i64(&j->p, j->w->ws_id);
    ts_pgp_text(&j->p, aw);
    PGresult *r = ts_pgj_run(j, PS_SPANS_FETCH, SQL_FETCH, &rc);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        if (ts_pg_i64(r, i, 0, 0) == 1) {
            if ((rc = take_pending(b, r, i)) != TS_OK)
                break;
            continue;
        }
        pgs *x = find(b, ts_pg_i64(r, i, 1, 0), PQgetvalue(r, i, 2));
        if (x && !x->found) {
            read_old(j->a, r, i, &x->o);
            x->found = 1;
        }
    }
    PQclear(r);
    return rc == TS_OK ? TS_OK : oom(j);
}

/* The 34 SPAN_TAIL values. */
static void put_span_tail(ts_pgp *p, const ts_span *sp, int64_t rl_id)
{
    int root = sp->parent_id == NULL || sp->parent_id[0] == '\0';
    ts_pgp_text(p, root ? NULL : sp->parent_id);
    ts_pgp_text(p, sp->name);
    ts_pgp_i64(p, sp->kind);
    ts_pgp_i64(p, sp->start_ns);
    ts_pgp_i64(p, sp->end_ns);
    ts_pgp_i64(p, sp->status_code);
    ts_pgp_text(p, sp->status_message);
    ts_pgp_text(p, sp->trace_state);
    ts_pgp_text(p, sp->attributes ? sp->attributes : "{}");
    ts_pgp_text(p, sp->events ? sp->events : "[]");
    ts_pgp_text(p, sp->links ? sp->links : "[]");
    ts_pgp_text(p, sp->resource ? sp->resource : "{}");
    ts_pgp_text(p, sp->scope);
    ts_pgp_i64(p, sp->origin);
    ts_pgp_text(p, sp->type);
    ts_pgp_text(p, sp->model);
    ts_pgp_text(p, sp->provider);
    ts_pgp_text(p, sp->input);
    ts_pgp_text(p, sp->output);
    ts_pgp_i64_opt(p, sp->prompt_tokens);
    ts_pgp_i64_opt(p, sp->completion_tokens);
    ts_pgp_i64_opt(p, sp->total_tokens);
    ts_pgp_i64_opt(p, sp->cache_read_tokens);
    ts_pgp_i64_opt(p, sp->cache_write_tokens);
    ts_pgp_i64_opt(p, sp->reasoning_tokens);
    if (sp->has_cost)
        ts_pgp_f64(p, sp->cost);
    else
        ts_pgp_null(p);
    ts_pgp_i64(p, ts_jobs_price_state(sp));
    ts_pgp_text(p, sp->error);
    ts_pgp_text(p, sp->session_id);
    ts_pgp_text(p, sp->user_id);
    ts_pgp_text(p, sp->metadata);
    if (sp->latency_ms >= 0)
        ts_pgp_i64(p, sp->latency_ms);
    else
        ts_pgp_null(p);
    if (rl_id > 0)
        ts_pgp_i64(p, rl_id);
    else
        ts_pgp_null(p);
    ts_pgp_i64(p, sp->created_ns);
}

/* Decides each span's request log: one given by /track-request, a waiting
 * log it took (attached now), its log_request (replacing its old log's
 * body, or a new row, inserted with the others below), else its old one. */
static int request_logs(batch *b)
{
    pgj *j = b->j;
    int rc;
    for (size_t i = 0; i < b->n; i++) {
        pgs *x = &b->s[i];
        ts_span *sp = x->sp;
        if (!x->t)
            continue;
        if (!sp->log_request && sp->request_log_id > 0) {
            x->rl_id = sp->request_log_id; /* /track-request: the log is already written */
        } else if (!sp->log_request && x->pending) {
            x->rl_id = x->pending;
            ts_pgp_reset(&j->p);
            ts_pgp_i64(&j->p, x->pending);
            ts_pgp_text(&j->p, sp->trace_id);
            ts_pgp_i64(&j->p, x->t->rowid);
            if ((rc = ts_pgj_do(j, PS_RL_ATTACH, SQL_RL_ATTACH)) != TS_OK)
                return rc;
        } else if (!sp->log_request) {
            x->rl_id = x->found ? x->o.request_log_id : 0;
        } else if (x->found && x->o.request_log_id > 0) {
            x->rl_id = x->o.request_log_id;
            ts_pgp_reset(&j->p);
            ts_pgp_text(&j->p, sp->log_request);
            ts_pgp_i64(&j->p, j->now);
            ts_pgp_i64(&j->p, x->rl_id);
            if ((rc = ts_pgj_do(j, PS_RL_UPDATE, SQL_RL_UPDATE)) != TS_OK)
                return rc;
        } else {
            x->rl_insert = 1;
        }
    }
    return TS_OK;
}

/* Inserts the new request logs in one statement. */
static int insert_logs(batch *b)
{
    pgj *j = b->j;
    size_t n = 0;
    int rc;
    for (size_t i = 0; i < b->n; i++)
        n += b->s[i].rl_insert;
    if (n == 0)
        return TS_OK;
    const char **tid = ts_arena_alloc(j->a, n * sizeof(*tid));
    const char **sid = ts_arena_alloc(j->a, n * sizeof(*sid));
    const char **body = ts_arena_alloc(j->a, n * sizeof(*body));
    int64_t *trow = ts_arena_alloc(j->a, n * sizeof(*trow));
    if (!tid || !sid || !body || !trow)
        return oom(j);
    for (size_t i = 0, k = 0; i < b->n; i++)
        if (b->s[i].rl_insert) {
            tid[k] = b->s[i].sp->trace_id;
            sid[k] = b->s[i].sp->span_id;
            body[k] = b->s[i].sp->log_request;
            trow[k++] = b->s[i].t->rowid;
        }
    /* ws_id and now as text, the four arrays binary */
    char ws[24], now[24];
    snprintf(ws, sizeof ws, "%lld", (long long)j->w->ws_id);
    snprintf(now, sizeof now, "%lld", (long long)j->now);
    const char *vals[6] = {ws, now};
    int lens[6] = {0}, fmts[6] = {0, 0, 1, 1, 1, 1};
    if (!(vals[2] = ts_pgj_bin_array(j->a, TS_PGJ_TEXT, tid, n, &lens[2])) ||
        !(vals[3] = ts_pgj_bin_array(j->a, TS_PGJ_TEXT, sid, n, &lens[3])) ||
        !(vals[4] = ts_pgj_bin_array(j->a, TS_PGJ_TEXT, body, n, &lens[4])) ||
        !(vals[5] = ts_pgj_bin_i64(j->a, trow, n, &lens[5])))
        return oom(j);
    PGresult *r = ts_pg_run_raw(j->c, PS_RL_INSERTS, SQL_RL_INSERTS, 6, vals, lens, fmts);
    if ((rc = ts_pg_check(j->c, r, &j->w->err)) != TS_OK) {
        PQclear(r);
        return rc;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        pgs *x = find(b, ts_pg_i64(r, i, 1, 0), PQgetvalue(r, i, 2));
        if (x)
            x->rl_id = ts_pg_i64(r, i, 0, 0);
    }
    PQclear(r);
    return TS_OK;
}

/* The value of a parameter put_span_tail wrote, kept past p's reuse. */
static const char *keep(ts_arena *a, const ts_pgp *p, int k)
{
    const char *v = p->v[k];
    const char *lo = (const char *)p->buf, *hi = lo + sizeof(p->buf);
    return v && v >= lo && v < hi ? ts_arena_strdup(a, v) : v;
}

/* The element types of SQL_SPAN_INSERTS's parameters $1..$38 (i: int8,
 * f: float8, t: text). */
static const char SPAN_TYPES[] = "ttiiiitttttttitttttiiiiiifittttiiiiitt";

/* Writes the spans: replaced ones one by one, new ones in one insert
 * (binary arrays, one per column). */
static int write_spans(batch *b)
{
    pgj *j = b->j;
    size_t n = 0;
    int rc;
    ts_pgp tmp;
    for (size_t i = 0; i < b->n; i++) {
        pgs *x = &b->s[i];
        if (!x->t)
            continue;
        if (x->found) {
            x->sp->created_ns = x->o.created_ns; /* the first ingest's: a retry changes nothing */
            ts_pgp_reset(&j->p);
            put_span_tail(&j->p, x->sp, x->rl_id);
            ts_pgp_i64(&j->p, x->o.id);
            x->sp->rowid = x->o.id;
            if ((rc = ts_pgj_do(j, PS_SPAN_UPDATE, SQL_SPAN_UPDATE)) != TS_OK)
                return rc;
        } else {
            n++;
        }
    }
    if (n == 0)
        return TS_OK;
    const char **col[NTAIL + 4];
    for (int c = 0; c < NTAIL + 4; c++)
        if (!(col[c] = ts_arena_alloc(j->a, n * sizeof(**col))))
            return oom(j);
    char ws[24];
    snprintf(ws, sizeof ws, "%lld", (long long)j->w->ws_id);
    for (size_t i = 0, k = 0; i < b->n; i++) {
        pgs *x = &b->s[i];
        if (!x->t || x->found)
            continue;
        ts_pgp_reset(&tmp);
        put_span_tail(&tmp, x->sp, x->rl_id);
        for (int c = 0; c < NTAIL; c++)
            col[c][k] = keep(j->a, &tmp, c);
        col[NTAIL][k] = ts_arena_printf(j->a, "%lld", (long long)x->t->rowid);
        col[NTAIL + 1][k] = ws;
        col[NTAIL + 2][k] = x->sp->trace_id;
        col[NTAIL + 3][k] = x->sp->span_id;
        k++;
    }
    const char *vals[NTAIL + 4];
    int lens[NTAIL + 4], fmts[NTAIL + 4];
    for (int c = 0; c < NTAIL + 4; c++) {
        unsigned t = SPAN_TYPES[c] == 'i'   ? TS_PGJ_INT8
                     : SPAN_TYPES[c] == 'f' ? TS_PGJ_FLOAT8
                                            : TS_PGJ_TEXT;
        if (!(vals[c] = ts_pgj_bin_array(j->a, t, col[c], n, &lens[c])))
            return oom(j);
        fmts[c] = 1;
    }
    PGresult *r =
        ts_pg_run_raw(j->c, PS_SPANS_INSERT, SQL_SPAN_INSERTS, NTAIL + 4, vals, lens, fmts);
    if ((rc = ts_pg_check(j->c, r, &j->w->err)) != TS_OK) {
        PQclear(r);
        return rc;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        pgs *x = find(b, ts_pg_i64(r, i, 1, 0), PQgetvalue(r, i, 2));
        if (x)
            x->sp->rowid = ts_pg_i64(r, i, 0, 0);
    }
    PQclear(r);
    return TS_OK;
}

/* Moves each written span's trace: dims from the old values to the new,
 * aggregates by the difference (agg.c), in the job's order. */
static int apply_spans(batch *b)
{
    int rc;
    for (size_t i = 0; i < b->n; i++) {
        pgs *x = &b->s[i];
        ts_span *sp = x->sp;
        if (!x->t)
            continue;
        sp->request_log_id = x->rl_id;
        const char *nv[TS_DIM__COUNT], *ov[TS_DIM__COUNT];
        void *k[2] = {b->j, x->t};
        ts_jobs_span_dims(sp->parent_id, sp->error, sp->type, sp->model, sp->name, sp->provider,
                          nv);
        if (x->found)
            ts_jobs_span_dims(x->o.parent, x->o.error, x->o.type, x->o.model, x->o.name,
                              x->o.provider, ov);
        if ((rc = ts_jobs_dims_move(x->found ? ov : NULL, nv, ts_pgj_dim_add, k)) != TS_OK)
            return oom(b->j);
        ts_agg_apply(&x->t->agg, sp, x->found ? &x->o.agg : NULL);
        x->t->touched = 1;
        x->orig->rowid = sp->rowid;
        x->orig->request_log_id = sp->request_log_id;
        x->orig->created_ns = sp->created_ns;
    }
    return TS_OK;
}

int ts_pgj_ingest(pgj *j, ts_span *spans, size_t n)
{
    batch b = {.j = j, .n = n};
    int rc;
    b.ntb = 16;
    while (b.ntb < 2 * n)
        b.ntb <<= 1;
    b.s = ts_arena_calloc(j->a, n + 1, sizeof(*b.s));
    b.tb = ts_arena_calloc(j->a, b.ntb, sizeof(*b.tb));
    b.qb = ts_arena_calloc(j->a, b.ntb, sizeof(*b.qb));
    if (!b.s || !b.tb || !b.qb)
        return oom(j);
    for (size_t i = 0; i < n; i++) {
        pgs *x = &b.s[i];
        pgt *t;
        x->sp = x->orig = &spans[i];
        if ((rc = ts_pgj_trace(j, spans[i].trace_id, &t)) != TS_OK)
            return rc;
        if (t->skip)
            continue;
        if (t->closed) {
            spans[i].rejected = 1;
            j->w->nrejected++;
            continue;
        }
        x->t = t; /* written */
        spans[i].created_ns = j->now;
        x->wants_log = !spans[i].log_request && !(spans[i].request_log_id > 0);
        size_t h = key_hash(&b, t->rowid, spans[i].span_id);
        x->next = b.tb[h];
        b.tb[h] = x;
    }
    if ((rc = fetch(&b)) != TS_OK || (rc = request_logs(&b)) != TS_OK ||
        (rc = insert_logs(&b)) != TS_OK || (rc = write_spans(&b)) != TS_OK)
        return rc;
    return apply_spans(&b);
}
