/* pg_query.c: the PostgreSQL backend's reads: one trace with its spans,
 * trace lists (pages, keyset cursors, counts), metrics and projects, on
 * pooled read connections (pg.c). Answers are SQLite's to the byte: rows
 * become structs through query_common.c's readers, the WHERE comes from
 * pg_qbuild.c, sorts order text bytewise and NULLs first as SQLite does.
 * A lost connection answers TS_EBUSY (503); pg.c drops it on return. */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"
#include "store/query_common.h"
#include "tracestore/log.h"

enum {
    S_TRACE_ROW = 90,
    S_TRACE_SPANS,
    S_PROJECTS,
    S_BEGIN_RO,
    S_COMMIT,
    S_ROLLBACK,
};

#define TRACE_FROM                                                                                 \
    " FROM traces t LEFT JOIN projects p ON p.id = t.project_id WHERE t.ws_id = $1 AND "           \
    "t.trace_id = $2"

#define NULLS_8 "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
#define NULLS_30 NULLS_8 NULLS_8 NULLS_8 "NULL, NULL, NULL, NULL, NULL, NULL"
#define NULLS_41 NULLS_8 NULLS_8 NULLS_8 NULLS_8 NULLS_8 "NULL"

static const char *const sql_text[] = {
    [S_TRACE_ROW - S_TRACE_ROW] = "SELECT 0, " TS_SQL_TRACE_COLS TRACE_FROM,
    /* One statement, so one snapshot: the trace row and its spans agree
     * (READ COMMITTED gives each statement its own). Row 0 is the trace,
     * the others its spans by start time, then span id (bytewise). */
    [S_TRACE_SPANS - S_TRACE_ROW] =
        "SELECT * FROM (SELECT 0 AS k, " TS_SQL_TRACE_COLS ", NULL::bigint AS s_id, "
        "NULL::text AS s_span_id, NULL, NULL, NULL, NULL::bigint AS s_start, " NULLS_30 TRACE_FROM
        " UNION ALL SELECT 1, " NULLS_41 ", " TS_PG_SPAN_COLS " FROM spans s WHERE s.trow = "
        "(SELECT id FROM traces WHERE ws_id = $1 AND trace_id = $2)) u "
        "ORDER BY u.k, u.s_start, u.s_span_id COLLATE \"C\"",
    [S_PROJECTS - S_TRACE_ROW] = "SELECT id, uuid, name, created_ns FROM projects WHERE ws_id = $1 "
                                 "AND id > $2 ORDER BY id LIMIT $3",
    [S_BEGIN_RO - S_TRACE_ROW] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    [S_COMMIT - S_TRACE_ROW] = "COMMIT",
    [S_ROLLBACK - S_TRACE_ROW] = "ROLLBACK",
};

/* ts_qrow accessors over a PGresult (query_common.h); booleans read as
 * 1 / 0 like SQLite's integers. */
static int row_isnull(const ts_qrow *r, int col)
{
    return ts_pg_isnull(r->src, r->row, r->base + col);
}

static int64_t row_i64(const ts_qrow *r, int col)
{
    const PGresult *res = r->src;
    if (ts_pg_isnull(res, r->row, r->base + col))
        return 0;
    const char *v = PQgetvalue(res, r->row, r->base + col);
    if (v[0] == 't' || v[0] == 'f')
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static double row_f64(const ts_qrow *r, int col)
{
    return ts_pg_f64(r->src, r->row, r->base + col, 0);
}

static char *row_text(const ts_qrow *r, ts_arena *a, int col)
{
    return ts_pg_text(a, r->src, r->row, r->base + col);
}

void ts_pg_trace_row(const PGresult *r, int row, int col0, ts_arena *a, ts_trace *t)
{
    ts_qrow q = {r, row, col0, row_isnull, row_i64, row_f64, row_text};
    ts_query_trace_row(&q, a, t);
}

void ts_pg_span_row(const PGresult *r, int row, int col0, ts_arena *a, ts_span *sp)
{
    ts_qrow q = {r, row, col0, row_isnull, row_i64, row_f64, row_text};
    ts_query_span_row(&q, a, sp);
}

static PGresult *run_fixed(ts_pg_conn *c, int id, const ts_pgp *p)
{
    return ts_pg_run(c, id, sql_text[id - S_TRACE_ROW], p);
}

/* The status of a read's failed result: TS_EBUSY when PostgreSQL is away
 * (503, retry), TS_EIO otherwise (logged). */
static int read_fail(ts_pg_conn *c, PGresult *r, const char *what)
{
    ts_err err;
    ts_err_clear(&err);
    int rc = ts_pg_check(c, r, &err);
    if (rc == TS_OK)
        return TS_OK;
    if (rc == TS_EBUSY || rc == TS_PG_RETRY) {
        TS_LOG(TS_LOG_WARN, "msg=\"read failed\" what=%s err=\"%s\"", what, err.msg);
        return TS_EBUSY;
    }
    TS_LOG(TS_LOG_ERROR, "msg=\"read failed\" what=%s err=\"%s\"", what, err.msg);
    return TS_EIO;
}

/* Runs a fixed statement and checks it; the result (when OK) in *out. */
static int run_checked(ts_pg_conn *c, int id, const ts_pgp *p, const char *what, PGresult **out)
{
    PGresult *r = run_fixed(c, id, p);
    int rc = read_fail(c, r, what);
    if (rc != TS_OK || !out)
        PQclear(r);
    else
        *out = r;
    return rc;
}

static int reader(ts_pg *s, ts_pg_conn **c)
{
    ts_err err;
    ts_err_clear(&err);
    if (!(*c = ts_pg_reader_get(s, &err)))
        return err.code == TS_ENOMEM ? TS_ENOMEM : TS_EBUSY;
    return TS_OK;
}

/* Returns c to the pool; *lost: the read failed because c is gone. */
static void put_conn(ts_pg *s, ts_pg_conn *c, int rc, int *lost)
{
    *lost = rc == TS_EBUSY && ts_pg_conn_bad(c);
    ts_pg_reader_put(s, c);
}

/* Whether a read that lost its connection runs again. A pooled
 * connection the server closed while it idled (PostgreSQL restarted) can
 * pass the pool's check when the server's last words (a notice) arrived
 * before its end; the read then fails on it and goes again, on the next
 * pooled connection or a new one, at most once per pooled connection. */
static int again(ts_store *st, int lost, size_t tries)
{
    if (!lost || tries >= ((ts_pg *)st)->read_max)
        return 0;
    TS_LOG(TS_LOG_INFO, "msg=\"read connection lost, reading again\" tries=%zu", tries + 1);
    return 1;
}

static int trace_get_once(ts_pg *s, int *lost, int64_t ws_id, const char *trace_id, ts_arena *a,
                          ts_trace *out, ts_span **spans, size_t *nspans)
{
    ts_pg_conn *c = NULL;
    PGresult *r = NULL;
    ts_pgp p;
    int rc;
    *lost = 0;

    if (spans) {
        *spans = NULL;
        *nspans = 0;
    }
    if ((rc = reader(s, &c)) != TS_OK)
        return rc;
    ts_pgp_reset(&p);
    ts_pgp_i64(&p, ws_id);
    ts_pgp_text(&p, trace_id);
    if ((rc = run_checked(c, spans ? S_TRACE_SPANS : S_TRACE_ROW, &p, "trace_get", &r)) != TS_OK)
        goto out;
    int n = PQntuples(r);
    if (n == 0 || ts_pg_i64(r, 0, 0, 1) != 0) {
        rc = TS_ENOTFOUND;
        goto out;
    }
    ts_pg_trace_row(r, 0, 1, a, out);
    if (!spans || n == 1)
        goto out;
    ts_span *arr = ts_arena_alloc(a, (size_t)(n - 1) * sizeof(*arr));
    if (!arr) {
        rc = TS_ENOMEM;
        goto out;
    }
    for (int i = 1; i < n; i++) {
        ts_pg_span_row(r, i, 1 + TS_SQL_TRACE_NCOLS, a, &arr[i - 1]);
        arr[i - 1].trace_id = out->trace_id;
    }
    *spans = arr;
    *nspans = (size_t)(n - 1);
out:
    PQclear(r);
    put_conn(s, c, rc, lost);
    return rc;
}

static int projects_once(ts_pg *s, int *lost, int64_t ws_id, int64_t after, int64_t limit,
                         ts_arena *a, ts_project **out, size_t *n, int *more)
{
    ts_pg_conn *c = NULL;
    PGresult *r = NULL;
    int64_t cap = limit > 0 ? limit : 100000;
    ts_pgp p;
    int rc;
    *lost = 0;

    *out = NULL;
    *n = 0;
    *more = 0;
    if ((rc = reader(s, &c)) != TS_OK)
        return rc;
    ts_pgp_reset(&p);
    ts_pgp_i64(&p, ws_id);
    ts_pgp_i64(&p, after);
    ts_pgp_i64(&p, cap + 1);
    if ((rc = run_checked(c, S_PROJECTS, &p, "projects", &r)) != TS_OK)
        goto out;
    int rows = PQntuples(r);
    if ((int64_t)rows > cap) {
        *more = 1;
        rows = (int)cap;
    }
    if (rows > 0 && !(*out = ts_arena_calloc(a, (size_t)rows, sizeof(**out)))) {
        rc = TS_ENOMEM;
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        ts_project *pr = &(*out)[i];
        pr->rowid = ts_pg_i64(r, i, 0, 0);
        pr->uuid = ts_pg_text(a, r, i, 1);
        pr->name = ts_pg_text(a, r, i, 2);
        pr->created_ns = ts_pg_i64(r, i, 3, 0);
    }
    *n = (size_t)rows;
out:
    PQclear(r);
    put_conn(s, c, rc, lost);
    return rc;
}

/* ---- built queries ---- */

/* Runs the built statement b (its parameters: ws_id, values). */
static int run_built(ts_pg_conn *c, ts_pg_qb *b, int64_t ws_id, const char *what, PGresult **out)
{
    ts_pgp p;
    int rc;
    *out = NULL;
    ts_pgp_reset(&p);
    if ((rc = ts_pg_qb_params(b, ws_id, &p)) != TS_OK)
        return rc;
    PGresult *r = ts_pg_run(c, -1, b->sql, &p);
    if ((rc = read_fail(c, r, what)) != TS_OK) {
        PQclear(r);
        return rc;
    }
    *out = r;
    return TS_OK;
}

/* A read transaction, so that a count and its page (or metrics' totals
 * and percentiles) see one snapshot. */
static int tx_begin(ts_pg_conn *c)
{
    return run_checked(c, S_BEGIN_RO, NULL, "begin", NULL);
}

static int tx_end(ts_pg_conn *c, int rc)
{
    int erc = run_checked(c, rc == TS_OK ? S_COMMIT : S_ROLLBACK, NULL, "end", NULL);
    return rc != TS_OK ? rc : erc;
}

/* sqlite3_column_int64 of a REAL: truncated toward zero, clamped. */
static int64_t real_to_i64(double d)
{
    if (d <= (double)INT64_MIN)
        return INT64_MIN;
    if (d >= (double)INT64_MAX)
        return INT64_MAX;
    return (int64_t)d;
}

/* sqlite3_column_int64 of a TEXT: its leading integer (0 for none). */
static int64_t text_to_i64(const char *v)
{
    while (isspace((unsigned char)*v))
        v++;
    int neg = *v == '-';
    if (*v == '-' || *v == '+')
        v++;
    uint64_t x = 0;
    for (; isdigit((unsigned char)*v); v++) {
        if (x > ((uint64_t)INT64_MAX + 1 - (uint64_t)(*v - '0')) / 10)
            return neg ? INT64_MIN : INT64_MAX;
        x = x * 10 + (uint64_t)(*v - '0');
    }
    if (neg)
        return x >= (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x;
    return x > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)x;
}

static int sort_is_text(ts_qsort s)
{
    return s == TS_QS_NAME || s == TS_QS_CUSTOMER || s == TS_QS_TRACE_ID;
}

/* A row's sort key as SQLite's lists give it (sqlite3_column_int64 of the
 * sort column). */
static int64_t sort_key_of(ts_qsort s, const PGresult *r, int row, int col)
{
    if (ts_pg_isnull(r, row, col))
        return 0;
    const char *v = PQgetvalue(r, row, col);
    if (s == TS_QS_COST)
        return real_to_i64(strtod(v, NULL));
    if (sort_is_text(s))
        return text_to_i64(v);
    return strtoll(v, NULL, 10);
}

/* The keyset condition: rows after the previous page's last one, with
 * SQLite's comparison of the integer key: a text column takes it as its
 * decimal text, a text expression (the name) is above every integer. */
static void after_sql(ts_pg_qb *b, const ts_trace_query *q)
{
    const char *x = ts_query_sort_sql(q->sort, NULL);
    const char *cmp = q->desc ? "<" : ">";
    long long k = (long long)q->after_key, id = (long long)q->after_id;
    if (!q->has_after)
        return;
    if (q->sort == TS_QS_NAME)
        ts_pg_qb_put(b, q->desc ? " AND FALSE" : " AND %s IS NOT NULL", x);
    else if (sort_is_text(q->sort))
        ts_pg_qb_put(b, " AND (%s COLLATE \"C\" %s '%lld' OR (%s = '%lld' AND t.id %s %lld))", x,
                     cmp, k, x, k, cmp, id);
    else
        ts_pg_qb_put(b, " AND (%s %s %lld OR (%s = %lld AND t.id %s %lld))", x, cmp, k, x, k, cmp,
                     id);
}

/* SQLite's order: text bytewise, NULL below every value. */
static void order_sql(ts_pg_qb *b, const ts_trace_query *q)
{
    int nullable = 0;
    const char *x = ts_query_sort_sql(q->sort, &nullable);
    const char *dir = q->desc ? "DESC" : "ASC";
    ts_pg_qb_put(b, " ORDER BY %s%s %s%s, t.id %s", x,
                 sort_is_text(q->sort) ? " COLLATE \"C\"" : "", dir,
                 nullable ? (q->desc ? " NULLS LAST" : " NULLS FIRST") : "", dir);
}

/* The page's row ids (column id) in the list's order. A sort by end or
 * cost, whose NULLs SQLite puts first (ascending) or last (descending)
 * where PostgreSQL's indexes have them the other way, takes the two index
 * ranges apart, each ordered and cut at the page's reach, and merges
 * them: 5.5 ms a page instead of a 51 ms sort of 200k traces. */
static void page_ids(ts_pg_qb *b, const ts_trace_query *q, int64_t limit, int64_t offset)
{
    const char *x = ts_query_sort_sql(q->sort, NULL);
    const char *dir = q->desc ? "DESC" : "ASC";
    if (q->sort != TS_QS_ENDED && q->sort != TS_QS_COST) {
        ts_pg_qb_put(b, "SELECT t.id FROM traces t WHERE ");
        ts_pg_qb_where(b, q);
        after_sql(b, q);
        order_sql(b, q);
        ts_pg_qb_put(b, " LIMIT %lld OFFSET %lld", (long long)limit, (long long)offset);
        return;
    }
    for (int part = 0; part < 2; part++) {
        int nulls = q->desc ? part == 1 : part == 0;
        ts_pg_qb_put(b, "%s(SELECT t.id, %s AS k FROM traces t WHERE ",
                     part ? " UNION ALL " : "SELECT u.id FROM (", x);
        ts_pg_qb_where(b, q);
        ts_pg_qb_put(b, " AND %s IS %sNULL", x, nulls ? "" : "NOT ");
        after_sql(b, q);
        if (nulls)
            ts_pg_qb_put(b, " ORDER BY t.id %s", dir);
        else
            ts_pg_qb_put(b, " ORDER BY %s %s, t.id %s", x, dir, dir);
        ts_pg_qb_put(b, " LIMIT %lld)", (long long)(limit + offset));
    }
    ts_pg_qb_put(b, ") u ORDER BY u.k %s NULLS %s, u.id %s LIMIT %lld OFFSET %lld", dir,
                 q->desc ? "LAST" : "FIRST", dir, (long long)limit, (long long)offset);
}

static int count_matches(ts_pg_conn *c, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                         int64_t *count)
{
    ts_pg_qb b;
    PGresult *r = NULL;
    ts_pg_qb_init(&b, a, 1);
    ts_pg_qb_put(&b, "SELECT count(*) FROM traces t WHERE ");
    ts_pg_qb_where(&b, q);
    int rc = run_built(c, &b, ws_id, "count", &r);
    if (rc == TS_OK)
        *count = ts_pg_i64(r, 0, 0, 0);
    PQclear(r);
    ts_pg_qb_free(&b);
    return rc;
}

static int trace_list_once(ts_pg *s, int *lost, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                           ts_trace **out, size_t *n, int *more, int64_t *count)
{
    ts_pg_conn *c = NULL;
    PGresult *r = NULL;
    ts_pg_qb b;
    int64_t limit = q->limit > 0 ? q->limit : 50;
    int rc, in_tx = 0;
    *lost = 0;

    *out = NULL;
    *n = 0;
    *more = 0;
    if (count)
        *count = 0;
    ts_pg_qb_init(&b, a, 1);
    if ((rc = reader(s, &c)) != TS_OK)
        return rc;
    if (q->want_count && count) {
        if ((rc = tx_begin(c)) != TS_OK)
            goto out;
        in_tx = 1;
        if ((rc = count_matches(c, ws_id, q, a, count)) != TS_OK)
            goto out;
    }
    /* The page's row ids first, then their columns: the sort then moves
     * (key, id) pairs only, and the closure and project of the page's rows
     * alone are looked up (over 200k traces a sort by name took 264 ms
     * with every column, 41 ms so). */
    ts_pg_qb_put(&b, "SELECT " TS_SQL_TRACE_COLS ", %s FROM (", ts_query_sort_sql(q->sort, NULL));
    page_ids(&b, q, limit + 1, q->offset > 0 ? q->offset : 0);
    ts_pg_qb_put(&b,
                 ") k JOIN traces t ON t.id = k.id LEFT JOIN projects p ON p.id = t.project_id");
    order_sql(&b, q);
    if ((rc = run_built(c, &b, ws_id, "trace_list", &r)) != TS_OK)
        goto out;
    int rows = PQntuples(r);
    if ((int64_t)rows > limit) {
        *more = 1;
        rows = (int)limit;
    }
    if (!(*out = ts_arena_calloc(a, (size_t)limit, sizeof(**out)))) {
        rc = TS_ENOMEM;
        goto out;
    }
    for (int i = 0; i < rows; i++) {
        ts_trace *t = &(*out)[i];
        ts_pg_trace_row(r, i, 0, a, t);
        t->sort_key = sort_key_of(q->sort, r, i, TS_SQL_TRACE_NCOLS);
    }
    *n = (size_t)rows;
out:
    if (in_tx)
        rc = tx_end(c, rc);
    PQclear(r);
    ts_pg_qb_free(&b);
    put_conn(s, c, rc, lost);
    return rc;
}

/* Nearest-rank p50, p95 and p99 of eff_latency among the n matches of q,
 * as SQLite's ORDER BY eff_latency, id LIMIT 1 OFFSET rank - 1 picks
 * them: three such subqueries in one statement, each an index walk of
 * traces_ws_latency (149 ms over 200k traces, where one row_number()
 * pass sorting them all took 234 ms). */
static int percentiles(ts_pg_conn *c, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                       int64_t n, ts_metrics *m)
{
    static const int pct[3] = {50, 95, 99};
    int64_t *dst[3] = {&m->p50_ms, &m->p95_ms, &m->p99_ms};
    ts_pg_qb b;
    PGresult *r = NULL;

    ts_pg_qb_init(&b, a, 1);
    for (int i = 0; i < 3; i++) {
        ts_pg_qb_put(&b, "%s(SELECT t.eff_latency FROM traces t WHERE ", i ? ", " : "SELECT ");
        ts_pg_qb_where(&b, q);
        ts_pg_qb_put(&b, " ORDER BY t.eff_latency, t.id LIMIT 1 OFFSET %lld)",
                     (long long)(ts_query_rank(pct[i], n) - 1));
    }
    int rc = run_built(c, &b, ws_id, "percentiles", &r);
    for (int i = 0; rc == TS_OK && i < 3; i++)
        *dst[i] = ts_pg_i64(r, 0, i, 0);
    PQclear(r);
    ts_pg_qb_free(&b);
    return rc;
}

static int metrics_once(ts_pg *s, int *lost, int64_t ws_id, const char *project, int64_t from_ns,
                        int64_t to_ns, ts_metrics *m)
{
    ts_pg_conn *c = NULL;
    ts_arena *a = NULL;
    PGresult *r = NULL;
    ts_pg_qb b;
    char from[24], to[24];
    const char *vf[1] = {from}, *vt[1] = {to};
    ts_qcond conds[2] = {{TS_QF_STARTED, TS_QOP_GTE, NULL, vf, 1},
                         {TS_QF_STARTED, TS_QOP_LT, NULL, vt, 1}};
    ts_trace_query q = {.conds = conds, .nconds = 2, .project = project};
    int rc, in_tx = 0;
    *lost = 0;

    memset(m, 0, sizeof(*m));
    if (!(a = ts_arena_new(4096)))
        return TS_ENOMEM;
    ts_pg_qb_init(&b, a, 1);
    if ((rc = reader(s, &c)) != TS_OK)
        goto out;
    snprintf(from, sizeof(from), "%lld", (long long)from_ns);
    snprintf(to, sizeof(to), "%lld", (long long)to_ns);
    if ((rc = tx_begin(c)) != TS_OK)
        goto out;
    in_tx = 1;
    /* The cost summed in SQLite's order of addition, that of its scan of
     * traces_ws_start, so that the double is the same to the last bit: an
     * aggregate takes a subquery's rows in their order, which the same
     * index gives here without a sort (70 ms over 200k traces, where
     * sum(... ORDER BY ...) sorted them in 170). */
    ts_pg_qb_put(&b, "SELECT count(*), coalesce(sum(s.e), 0), coalesce(sum(s.c), 0) FROM (SELECT "
                     "t.has_error AS e, t.eff_cost AS c FROM traces t WHERE ");
    ts_pg_qb_where(&b, &q);
    ts_pg_qb_put(&b, " ORDER BY t.eff_start, t.id) s");
    if ((rc = run_built(c, &b, ws_id, "metrics", &r)) != TS_OK)
        goto out;
    m->total_traces = ts_pg_i64(r, 0, 0, 0);
    m->error_count = ts_pg_i64(r, 0, 1, 0);
    m->total_cost = ts_pg_f64(r, 0, 2, 0);
    if (m->total_traces > 0)
        rc = percentiles(c, ws_id, &q, a, m->total_traces, m);
out:
    if (in_tx)
        rc = tx_end(c, rc);
    PQclear(r);
    ts_pg_qb_free(&b);
    if (c)
        put_conn(s, c, rc, lost);
    ts_arena_free(a);
    return rc;
}

/* ---- the ops, each read again when it lost its connection ---- */

int ts_pg_trace_get(ts_store *st, int64_t ws_id, const char *trace_id, ts_arena *a, ts_trace *out,
                    ts_span **spans, size_t *nspans)
{
    int rc, lost = 0;
    for (size_t tries = 0;; tries++) {
        rc = trace_get_once((ts_pg *)st, &lost, ws_id, trace_id, a, out, spans, nspans);
        if (!again(st, lost, tries))
            return rc;
    }
}

int ts_pg_projects(ts_store *st, int64_t ws_id, int64_t after, int64_t limit, ts_arena *a,
                   ts_project **out, size_t *n, int *more)
{
    int rc, lost = 0;
    for (size_t tries = 0;; tries++) {
        rc = projects_once((ts_pg *)st, &lost, ws_id, after, limit, a, out, n, more);
        if (!again(st, lost, tries))
            return rc;
    }
}

int ts_pg_trace_list(ts_store *st, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                     ts_trace **out, size_t *n, int *more, int64_t *count)
{
    int rc, lost = 0;
    for (size_t tries = 0;; tries++) {
        rc = trace_list_once((ts_pg *)st, &lost, ws_id, q, a, out, n, more, count);
        if (!again(st, lost, tries))
            return rc;
    }
}

int ts_pg_metrics(ts_store *st, int64_t ws_id, const char *project, int64_t from_ns, int64_t to_ns,
                  ts_metrics *m)
{
    int rc, lost = 0;
    for (size_t tries = 0;; tries++) {
        rc = metrics_once((ts_pg *)st, &lost, ws_id, project, from_ns, to_ns, m);
        if (!again(st, lost, tries))
            return rc;
    }
}
