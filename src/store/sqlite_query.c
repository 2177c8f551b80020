/* sqlite_query.c: trace lists, bulk-delete selection and metrics for the
 * SQLite backend. A ts_trace_query becomes one SELECT over the aggregate
 * table `traces` built only from fixed fragments (here and in
 * query_common.c; every value is a bound parameter, never spliced), so
 * each filter and sort is an index range over the effective-value columns
 * of migration 0002, and "any span" filters probe the trace_dims side
 * table instead of scanning spans. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "tracestore/log.h"

enum { B_TEXT, B_INT, B_REAL };

typedef struct bindv {
    int type;
    const char *text;
    int64_t i;
    double d;
} bindv;

/* SQLite's own limit is 32766 parameters; the codecs cap the number of
 * filter values well below this. */
#define MAX_BINDS 4000

/* Where the driven page's two arms differ (driver_arms). */
#define DRIVER_MARK "/*arm*/"

struct ts_sqlbuf {
    char *sql;
    size_t len, cap;
    int oom;
    ts_arena *a;
    bindv *binds; /* MAX_BINDS, heap */
    int nbinds;
    int counting; /* no ORDER BY: every match is visited (count, bulk delete) */
    int driver;   /* index of the condition that drives the scan via trace_dims, or -1 */
};

static void put(ts_sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(ts_sqlbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->sql + b->len, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n;
        char *ns = realloc(b->sql, ncap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->sql = ns;
        b->cap = ncap;
    }
}

/* Adds a parameter; returns its number for "?N". */
static int bind_add(ts_sqlbuf *b, int type, const char *text, int64_t i, double d)
{
    if (b->nbinds >= MAX_BINDS) {
        b->oom = 1;
        return 1;
    }
    bindv *v = &b->binds[b->nbinds++];
    v->type = type;
    v->text = text;
    v->i = i;
    v->d = d;
    return b->nbinds + 1; /* ?1 is the workspace */
}

static int bind_value(ts_sqlbuf *b, const char *v, int numeric)
{
    if (!numeric)
        return bind_add(b, B_TEXT, v, 0, 0);
    int64_t i = 0;
    double d = 0;
    if (ts_query_num(v, &i, &d))
        return bind_add(b, B_INT, NULL, i, 0);
    return bind_add(b, B_REAL, NULL, 0, d);
}

/* LIKE pattern with %, _ and \ escaped, wrapped as %v%. */
static const char *like_contains(ts_arena *a, const char *v)
{
    size_t n = strlen(v);
    char *p = ts_arena_alloc(a, n * 2 + 3), *o = p;
    if (!p)
        return "%";
    *o++ = '%';
    for (; *v; v++) {
        if (*v == '%' || *v == '_' || *v == '\\')
            *o++ = '\\';
        *o++ = *v;
    }
    *o++ = '%';
    *o = '\0';
    return p;
}

/* "X <op> values" for one column expression. */
static void cond_on(ts_sqlbuf *b, const char *x, const ts_qcond *c, int numeric)
{
    const char *v0 = c->nvals ? c->vals[0] : "";
    int k;
    switch (c->op) {
    case TS_QOP_EQ:
    case TS_QOP_NE:
        put(b, c->op == TS_QOP_NE ? "(%s IS NULL OR %s NOT IN (" : "(%s IN (", x, x);
        for (size_t i = 0; i < c->nvals; i++)
            put(b, "%s?%d", i ? ", " : "", bind_value(b, c->vals[i], numeric));
        put(b, "))");
        if (c->nvals == 0)
            put(b, " AND 0");
        break;
    case TS_QOP_LT:
    case TS_QOP_LTE:
    case TS_QOP_GT:
    case TS_QOP_GTE: {
        static const char *const ops[] = {"<", "<=", ">", ">="};
        put(b, "%s %s ?%d", x, ops[c->op - TS_QOP_LT], bind_value(b, v0, numeric));
        break;
    }
    case TS_QOP_IEXACT:
        /* A number equals a numeric value: compared as text, whether the
         * column's affinity converted it depended on the "+" a page adds
         * (the count matched rows the page then left out). */
        if (numeric && ts_query_is_num(v0))
            put(b, "%s = ?%d", x, bind_value(b, v0, 1));
        else if (numeric)
            put(b, "0");
        else
            put(b, "%s = ?%d COLLATE NOCASE", x, bind_value(b, v0, 0));
        break;
    case TS_QOP_CONTAINS:
        put(b, "instr(%s, ?%d) > 0", x, bind_value(b, v0, 0));
        break;
    case TS_QOP_ICONTAINS:
        put(b, "%s LIKE ?%d ESCAPE '\\'", x, bind_add(b, B_TEXT, like_contains(b->a, v0), 0, 0));
        break;
    case TS_QOP_STARTSWITH:
        k = bind_value(b, v0, 0);
        put(b, "substr(%s, 1, length(?%d)) = ?%d", x, k, k);
        break;
    case TS_QOP_ENDSWITH:
        k = bind_value(b, v0, 0);
        put(b, "(length(%s) >= length(?%d) AND substr(%s, -length(?%d)) = ?%d)", x, k, x, k, k);
        break;
    case TS_QOP_ISNULL:
        put(b, "%s IS %sNULL", x, strcmp(v0, "true") == 0 ? "" : "NOT ");
        break;
    }
}

static void cond_sql(ts_sqlbuf *b, const ts_qcond *c)
{
    int dim = ts_query_dim_of(c->field), numeric, real;
    const char *sx = ts_query_span_sql(c->field, &numeric, &real);
    if (sx) {
        /* Spans have no index on their id alone (migration 0004): exact
         * span ids too are probed in each candidate trace's own spans. */
        put(b, "%sEXISTS (SELECT 1 FROM spans s WHERE s.trow = t.id AND ",
            c->op == TS_QOP_NE ? "NOT " : "");
        if (c->op == TS_QOP_NE) {
            ts_qcond eq = *c;
            eq.op = TS_QOP_EQ;
            cond_on(b, sx, &eq, numeric);
        } else {
            cond_on(b, sx, c, numeric);
        }
        put(b, ")");
        return;
    }
    if (dim) {
        /* Any span: the trace has a trace_dims row matching the condition. */
        if (c->op == TS_QOP_EQ && b->counting) {
            /* Every match is visited: drive from the (ws_id, dim, val) index
             * for settled rows, and from the primary key's range above the
             * watermark for the rest (migration 0005). */
            int k0 = 0;
            put(b,
                "t.id IN (SELECT d.trow FROM trace_dims d WHERE d.ws_id = ?1 AND "
                "d.settled = 1 AND d.dim = %d AND d.val IN (",
                dim);
            for (size_t i = 0; i < c->nvals; i++) {
                int k = bind_value(b, c->vals[i], 0);
                k0 = i ? k0 : k;
                put(b, "%s?%d", i ? ", " : "", k);
            }
            put(b,
                ") UNION ALL SELECT d.trow FROM trace_dims d WHERE d.trow > (SELECT trow FROM "
                "dims_watermark) AND d.settled = 0 AND d.ws_id = ?1 AND d.dim = %d AND "
                "d.val IN (",
                dim);
            for (size_t i = 0; i < c->nvals; i++)
                put(b, "%s?%d", i ? ", " : "", k0 + (int)i);
            put(b, "))");
        } else if (c->op == TS_QOP_EQ) {
            /* A primary-key probe per candidate trace: the list walks the
             * sort index in order and stops after `limit` matches, so a
             * common value costs a few hundred probes (see bench/README.md
             * for the rare-value case). */
            put(b,
                "EXISTS (SELECT 1 FROM trace_dims d WHERE d.trow = t.id AND "
                "d.dim = %d AND d.val IN (",
                dim);
            for (size_t i = 0; i < c->nvals; i++)
                put(b, "%s?%d", i ? ", " : "", bind_value(b, c->vals[i], 0));
            put(b, "))");
        } else if (c->op == TS_QOP_ISNULL) {
            int want_null = c->nvals && strcmp(c->vals[0], "true") == 0;
            put(b,
                "%sEXISTS (SELECT 1 FROM trace_dims d WHERE d.trow = t.id AND "
                "d.dim = %d)",
                want_null ? "NOT " : "", dim);
        } else if (c->op == TS_QOP_NE) {
            /* No span carries any of the values. */
            put(b,
                "NOT EXISTS (SELECT 1 FROM trace_dims d WHERE d.trow = t.id AND "
                "d.dim = %d AND d.val IN (",
                dim);
            for (size_t i = 0; i < c->nvals; i++)
                put(b, "%s?%d", i ? ", " : "", bind_value(b, c->vals[i], 0));
            put(b, "))");
        } else {
            put(b,
                "EXISTS (SELECT 1 FROM trace_dims d WHERE d.trow = t.id AND "
                "d.dim = %d AND ",
                dim);
            cond_on(b, "d.val", c, 0);
            put(b, ")");
        }
        return;
    }
    if (c->field == TS_QF_METADATA || c->field == TS_QF_TAG) {
        /* The key is a bound parameter inside a quoted JSON path; the API
         * layer refuses keys holding '"' or '\\'. */
        const char *path = ts_arena_printf(b->a, "$.\"%s\"", c->key ? c->key : "");
        char x[96];
        snprintf(x, sizeof(x), "json_extract(%s, ?%d)",
                 c->field == TS_QF_TAG ? "t.tag_map" : "t.metadata",
                 bind_add(b, B_TEXT, path, 0, 0));
        cond_on(b, x, c,
                c->op >= TS_QOP_LT && c->op <= TS_QOP_GTE && c->nvals &&
                    ts_query_is_num(c->vals[0]));
        return;
    }
    const char *x = ts_query_field_sql(c->field, &numeric, &real);
    if (x) {
        /* Numeric conditions other than the start window are evaluated on
         * the rows the sort index yields (unary + keeps the planner from
         * range-scanning them and sorting every match): a page stops after
         * `limit` matches. */
        if (numeric && c->field != TS_QF_STARTED && c->field != TS_QF_HAS_ERROR && !b->counting)
            x = ts_arena_printf(b->a, "+%s", x);
        cond_on(b, x, c, numeric);
    } else
        put(b, "1");
}

static void where_sql(ts_sqlbuf *b, const ts_trace_query *q)
{
    /* Only a page's rows need the project columns. */
    if (b->counting) {
        put(b, " FROM traces t WHERE t.ws_id = ?1");
    } else if (b->driver >= 0) {
        const ts_qcond *c = &q->conds[b->driver];
        put(b,
            " FROM trace_dims dd CROSS JOIN traces t ON t.id = dd.trow LEFT JOIN projects p "
            "ON p.id = t.project_id WHERE " DRIVER_MARK "dd.ws_id = ?1 AND dd.dim = %d AND "
            "dd.val = ?%d AND t.ws_id = ?1",
            ts_query_dim_of(c->field), bind_value(b, c->vals[0], 0));
    } else {
        put(b, " FROM traces t LEFT JOIN projects p ON p.id = t.project_id WHERE t.ws_id = ?1");
    }
    if (q->project) {
        int k = bind_add(b, B_TEXT, q->project, 0, 0);
        put(b,
            " AND t.project_id = coalesce((SELECT id FROM projects WHERE ws_id = ?1 AND "
            "uuid = lower(?%d)), (SELECT id FROM projects WHERE ws_id = ?1 AND name = ?%d))",
            k, k);
    }
    for (size_t i = 0; i < q->nconds; i++) {
        if ((int)i == b->driver)
            continue;
        put(b, " AND ");
        cond_sql(b, &q->conds[i]);
    }
}

/* A page in start order with a one-value any-span condition is driven by
 * trace_dims_val (ws_id, dim, val, start, trow): only matching traces are
 * visited, already in keyset order, however rare the value. */
static int pick_driver(const ts_trace_query *q, int counting)
{
    if (counting || q->sort != TS_QS_STARTED)
        return -1;
    for (size_t i = 0; i < q->nconds; i++) {
        const ts_qcond *c = &q->conds[i];
        if (ts_query_dim_of(c->field) && c->op == TS_QOP_EQ && c->nvals == 1)
            return (int)i;
    }
    return -1;
}

/* The keyset condition: rows after the previous page's last one. */
static void after_sql(ts_sqlbuf *b, const ts_trace_query *q)
{
    const char *x = b->driver >= 0 ? "dd.start" : ts_query_sort_sql(q->sort, NULL);
    const char *id = b->driver >= 0 ? "dd.trow" : "t.id";
    const char *cmp = q->desc ? "<" : ">";
    if (q->has_after) {
        int kk = bind_add(b, B_INT, NULL, q->after_key, 0);
        int ki = bind_add(b, B_INT, NULL, q->after_id, 0);
        put(b, " AND (%s %s ?%d OR (%s = ?%d AND %s %s ?%d))", x, cmp, kk, x, kk, id, cmp, ki);
    }
}

static void order_sql(ts_sqlbuf *b, const ts_trace_query *q)
{
    /* A driven page orders the compound's result columns (driver_arms). */
    const char *x = b->driver >= 0 ? "ts_k" : ts_query_sort_sql(q->sort, NULL);
    const char *id = b->driver >= 0 ? "ts_r" : "t.id";
    const char *dir = q->desc ? "DESC" : "ASC";
    put(b, " ORDER BY %s %s, %s %s", x, dir, id, dir);
}

/* The driven page as two arms over the same text (the same parameter
 * numbers): settled rows through trace_dims_val, in order, and the rows
 * above the watermark through the primary key, sorted (the traces of the
 * last dims_settle_ms). SQLite merges the two ordered arms and stops at
 * the LIMIT; an ORDER BY over a union in a subquery would sort every
 * match instead. The SQL text holds no values (all are bound), so the
 * mark occurs once. */
static void driver_arms(ts_sqlbuf *b, size_t from)
{
    static const char *const arm[2] = {
        "dd.settled = 1 AND ",
        "dd.trow > (SELECT trow FROM dims_watermark) AND dd.settled = 0 AND "};
    size_t n = b->len - from;
    char *text = malloc(n + 1);
    if (!text) {
        b->oom = 1;
        return;
    }
    memcpy(text, b->sql + from, n);
    text[n] = '\0';
    b->len = from;
    const char *m = strstr(text, DRIVER_MARK);
    if (!m) {
        b->oom = 1;
    } else {
        int pre = (int)(m - text);
        const char *post = m + strlen(DRIVER_MARK);
        for (int i = 0; i < 2; i++)
            put(b, "%s%.*s%s%s", i ? " UNION ALL " : "", pre, text, arm[i], post);
    }
    free(text);
}

int ts_sqlite_query_prepare(sqlite3 *db, int64_t ws_id, const ts_trace_query *q, const char *select,
                            int with_order, int64_t limit, int64_t offset, ts_arena *a,
                            sqlite3_stmt **out)
{
    ts_sqlbuf *b = calloc(1, sizeof(*b));
    int rc = TS_OK;
    *out = NULL;
    if (!b)
        return TS_ENOMEM;
    b->a = a;
    b->cap = 1024;
    b->binds = malloc(MAX_BINDS * sizeof(*b->binds));
    if (!b->binds || !(b->sql = malloc(b->cap))) {
        free(b->binds);
        free(b);
        return TS_ENOMEM;
    }
    b->sql[0] = '\0';
    b->counting = !with_order;
    b->driver = pick_driver(q, b->counting);
    size_t from = b->len;
    put(b, "SELECT %s", select);
    if (b->driver >= 0)
        put(b, ", dd.start AS ts_k, dd.trow AS ts_r");
    where_sql(b, q);
    if (with_order)
        after_sql(b, q);
    if (b->driver >= 0)
        driver_arms(b, from);
    if (with_order)
        order_sql(b, q);
    if (limit >= 0)
        put(b, " LIMIT %lld OFFSET %lld", (long long)limit, (long long)offset);
    if (b->oom) {
        rc = TS_ENOMEM;
        goto out;
    }
    if (sqlite3_prepare_v2(db, b->sql, (int)b->len, out, NULL) != SQLITE_OK) {
        TS_LOG(TS_LOG_ERROR, "msg=\"query prepare failed\" err=\"%s\"", sqlite3_errmsg(db));
        rc = TS_EIO;
        goto out;
    }
    sqlite3_bind_int64(*out, 1, ws_id);
    for (int i = 0; i < b->nbinds; i++) {
        const bindv *v = &b->binds[i];
        if (v->type == B_TEXT)
            sqlite3_bind_text(*out, i + 2, v->text, -1, SQLITE_STATIC);
        else if (v->type == B_INT)
            sqlite3_bind_int64(*out, i + 2, v->i);
        else
            sqlite3_bind_double(*out, i + 2, v->d);
    }
out:
    free(b->sql);
    free(b->binds);
    free(b);
    return rc;
}

static int count_matches(sqlite3 *db, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                         int64_t *count)
{
    sqlite3_stmt *st = NULL;
    int rc = ts_sqlite_query_prepare(db, ws_id, q, "count(*)", 0, -1, 0, a, &st);
    if (rc != TS_OK)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *count = sqlite3_column_int64(st, 0);
    else
        rc = TS_EIO;
    sqlite3_finalize(st);
    return rc;
}

int ts_sqlite_trace_list(ts_store *stp, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                         ts_trace **out, size_t *n, int *more, int64_t *count)
{
    ts_sqlite *s = (ts_sqlite *)stp;
    ts_sqlite_conn *c = ts_sqlite_reader_get(s);
    sqlite3_stmt *st = NULL;
    int rc, src;
    int64_t limit = q->limit > 0 ? q->limit : 50;
    char select[2048];

    *out = NULL;
    *n = 0;
    *more = 0;
    if (count)
        *count = 0;
    snprintf(select, sizeof(select), "%s, %s", TS_SQL_TRACE_COLS, ts_query_sort_sql(q->sort, NULL));
    /* One read transaction: the page and the count see the same snapshot. */
    sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    if (q->want_count && count && (rc = count_matches(c->db, ws_id, q, a, count)) != TS_OK)
        goto out;
    rc = ts_sqlite_query_prepare(c->db, ws_id, q, select, 1, limit + 1, q->offset, a, &st);
    if (rc != TS_OK)
        goto out;
    if (!(*out = ts_arena_calloc(a, (size_t)limit, sizeof(**out)))) {
        rc = TS_ENOMEM;
        goto out;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int64_t)*n == limit) {
            *more = 1;
            break;
        }
        ts_trace *t = &(*out)[(*n)++];
        ts_sqlite_read_trace_row(st, a, t);
        t->sort_key = sqlite3_column_int64(st, TS_SQL_TRACE_NCOLS);
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = TS_EIO;
out:
    sqlite3_finalize(st);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    ts_sqlite_reader_put(s, c);
    return rc;
}

/* Nearest-rank percentile p (0..100) of eff_latency among the n matches. */
static int percentile(sqlite3 *db, int64_t ws_id, const ts_trace_query *q, ts_arena *a, int64_t n,
                      int p, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    ts_trace_query qq = *q;
    int64_t rank = ts_query_rank(p, n);
    qq.sort = TS_QS_LATENCY;
    qq.desc = 0;
    qq.has_after = 0;
    int rc = ts_sqlite_query_prepare(db, ws_id, &qq, "t.eff_latency", 1, 1, rank - 1, a, &st);
    if (rc != TS_OK)
        return rc;
    *out = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return TS_OK;
}

int ts_sqlite_metrics(ts_store *stp, int64_t ws_id, const char *project, int64_t from_ns,
                      int64_t to_ns, ts_metrics *m)
{
    ts_sqlite *s = (ts_sqlite *)stp;
    ts_sqlite_conn *c = ts_sqlite_reader_get(s);
    ts_arena *a = ts_arena_new(4096);
    sqlite3_stmt *st = NULL;
    char from[24], to[24];
    const char *vf[1] = {from}, *vt[1] = {to};
    ts_qcond conds[2] = {{TS_QF_STARTED, TS_QOP_GTE, NULL, vf, 1},
                         {TS_QF_STARTED, TS_QOP_LT, NULL, vt, 1}};
    ts_trace_query q = {.conds = conds, .nconds = 2, .project = project};
    int rc;

    memset(m, 0, sizeof(*m));
    if (!a) {
        ts_sqlite_reader_put(s, c);
        return TS_ENOMEM;
    }
    snprintf(from, sizeof(from), "%lld", (long long)from_ns);
    snprintf(to, sizeof(to), "%lld", (long long)to_ns);
    sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    rc = ts_sqlite_query_prepare(c->db, ws_id, &q,
                                 "count(*), coalesce(sum(t.has_error), 0), "
                                 "coalesce(sum(t.eff_cost), 0)",
                                 0, -1, 0, a, &st);
    if (rc != TS_OK)
        goto out;
    if (sqlite3_step(st) == SQLITE_ROW) {
        m->total_traces = sqlite3_column_int64(st, 0);
        m->error_count = sqlite3_column_int64(st, 1);
        m->total_cost = sqlite3_column_double(st, 2);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (m->total_traces > 0 &&
        ((rc = percentile(c->db, ws_id, &q, a, m->total_traces, 50, &m->p50_ms)) != TS_OK ||
         (rc = percentile(c->db, ws_id, &q, a, m->total_traces, 95, &m->p95_ms)) != TS_OK ||
         (rc = percentile(c->db, ws_id, &q, a, m->total_traces, 99, &m->p99_ms)) != TS_OK))
        goto out;
out:
    sqlite3_finalize(st);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    ts_sqlite_reader_put(s, c);
    ts_arena_free(a);
    return rc;
}
