/* pg_qbuild.c: a ts_trace_query as PostgreSQL WHERE text, for lists,
 * counts, metrics (pg_query.c) and the writer's bulk delete
 * (ts_pg_query_where). The port of sqlite_query.c's builder with SQLite's
 * answers kept exactly: text compares and sorts bytewise (COLLATE "C"),
 * case folding of ASCII letters only (lower() under "C"), NULLs as SQLite
 * orders and compares them, and json_extract's typing of metadata values
 * (a number never equals a text value, a text is above every number).
 * Every value travels as a parameter: one text[] holds them all, each
 * condition names its elements ("($2::text[])[3]"), so a query of any size
 * takes two parameters (the workspace and the values). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"
#include "store/query_common.h"

void ts_pg_qb_init(ts_pg_qb *b, ts_arena *a, int first_param)
{
    memset(b, 0, sizeof(*b));
    b->a = a;
    b->ws_no = first_param;
    b->arr_no = first_param + 1;
}

void ts_pg_qb_free(ts_pg_qb *b)
{
    free(b->sql);
    free(b->vals);
    b->sql = NULL;
    b->vals = NULL;
}

void ts_pg_qb_put(ts_pg_qb *b, const char *fmt, ...)
{
    va_list ap;
    if (b->oom)
        return;
    for (;;) {
        size_t room = b->cap - b->len;
        int n = 0;
        if (b->sql) {
            va_start(ap, fmt);
            n = vsnprintf(b->sql + b->len, room, fmt, ap);
            va_end(ap);
            if (n < 0) {
                b->oom = 1;
                return;
            }
            if ((size_t)n < room) {
                b->len += (size_t)n;
                return;
            }
        }
        size_t ncap = b->cap * 2 + (size_t)n + 1024;
        char *ns = realloc(b->sql, ncap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->sql = ns;
        b->cap = ncap;
    }
}

/* Adds v to the values array; returns its 1-based element number. */
static size_t val_add(ts_pg_qb *b, const char *v)
{
    if (b->nvals == b->vcap) {
        size_t ncap = b->vcap ? b->vcap * 2 : 16;
        const char **nv = realloc(b->vals, ncap * sizeof(*nv));
        if (!nv) {
            b->oom = 1;
            return 1;
        }
        b->vals = nv;
        b->vcap = ncap;
    }
    b->vals[b->nvals++] = v ? v : "";
    b->arr_used = 1;
    return b->nvals;
}

/* A text value as an expression. */
static void ref_text(ts_pg_qb *b, const char *v)
{
    size_t i = val_add(b, v);
    ts_pg_qb_put(b, "($%d::text[])[%zu]", b->arr_no, i);
}

/* A value compared with a number, typed as SQLite binds it (an integer
 * when the whole text is one, else the double it starts with). */
static void ref_num(ts_pg_qb *b, const char *v)
{
    int64_t i = 0;
    double d = 0;
    int is_int = ts_query_num(v, &i, &d);
    const char *t =
        is_int ? ts_arena_printf(b->a, "%lld", (long long)i) : ts_arena_printf(b->a, "%.17g", d);
    if (!t) {
        b->oom = 1;
        return;
    }
    size_t k = val_add(b, t);
    ts_pg_qb_put(b, "($%d::text[])[%zu]::%s", b->arr_no, k, is_int ? "int8" : "float8");
}

/* Every value of c as one slice of the array: "($2::text[])[i:j]". */
static void ref_slice(ts_pg_qb *b, const ts_qcond *c)
{
    size_t first = b->nvals + 1;
    for (size_t i = 0; i < c->nvals; i++)
        val_add(b, c->vals[i]);
    b->arr_used = 1;
    ts_pg_qb_put(b, "($%d::text[])[%zu:%zu]", b->arr_no, first, b->nvals);
}

/* What a column expression is: text, or a number (real: REAL values). */
typedef struct xkind {
    int numeric, real;
} xkind;

/* x as the text SQLite's text functions see: an integer's digits, a
 * REAL's 15 significant digits with ".0" when integral (exponent forms
 * aside: PostgreSQL writes those positionally). */
static const char *as_text(ts_pg_qb *b, const char *x, xkind k)
{
    if (!k.numeric)
        return x;
    if (!k.real)
        return ts_arena_printf(b->a, "(%s)::text", x);
    return ts_arena_printf(b->a,
                           "(CASE WHEN (%s) = trunc(%s) AND abs(%s) < 1e15 THEN "
                           "trunc(%s)::numeric::text || '.0' ELSE (%s)::numeric::text END)",
                           x, x, x, x, x);
}

/* The text operators (contains, icontains, startswith, endswith) on the
 * text x. */
static void text_op(ts_pg_qb *b, const char *x, ts_qop op, const char *v)
{
    switch (op) {
    case TS_QOP_CONTAINS:
        ts_pg_qb_put(b, "strpos(%s, ", x);
        ref_text(b, v);
        ts_pg_qb_put(b, ") > 0");
        break;
    case TS_QOP_ICONTAINS: /* SQLite's LIKE folds ASCII letters only */
        ts_pg_qb_put(b, "strpos(lower(%s COLLATE \"C\"), lower(", x);
        ref_text(b, v);
        ts_pg_qb_put(b, " COLLATE \"C\")) > 0");
        break;
    case TS_QOP_STARTSWITH: {
        size_t i = val_add(b, v);
        ts_pg_qb_put(b, "left(%s, length(($%d::text[])[%zu])) = ($%d::text[])[%zu]", x, b->arr_no,
                     i, b->arr_no, i);
        break;
    }
    case TS_QOP_ENDSWITH: {
        /* SQLite's substr(x, -0) is all of x: an empty suffix matches
         * only an empty text */
        size_t i = val_add(b, v);
        int n = b->arr_no;
        ts_pg_qb_put(b,
                     "(length(%s) >= length(($%d::text[])[%zu]) AND right(%s, "
                     "length(($%d::text[])[%zu])) = ($%d::text[])[%zu] AND "
                     "(length(($%d::text[])[%zu]) > 0 OR %s = ''))",
                     x, n, i, x, n, i, n, i, n, i, x);
        break;
    }
    default:
        ts_pg_qb_put(b, "FALSE");
    }
}

static const char *const cmp_ops[] = {"<", "<=", ">", ">="};

/* "X <op> values" for one column expression, as sqlite_query.c's cond_on
 * answers it. */
static void cond_on(ts_pg_qb *b, const char *x, xkind k, const ts_qcond *c)
{
    const char *v0 = c->nvals ? c->vals[0] : "";
    switch (c->op) {
    case TS_QOP_EQ:
    case TS_QOP_NE:
        if (c->nvals == 0) { /* SQLite: "... IN ()) AND 0" */
            ts_pg_qb_put(b, "FALSE");
            break;
        }
        if (c->op == TS_QOP_NE)
            ts_pg_qb_put(b, "(%s IS NULL OR %s %s ", x, x, k.numeric ? "NOT IN (" : "<> ALL(");
        else
            ts_pg_qb_put(b, "(%s %s", x, k.numeric ? "IN (" : "= ANY(");
        if (k.numeric) {
            for (size_t i = 0; i < c->nvals; i++) {
                ts_pg_qb_put(b, "%s", i ? ", " : "");
                ref_num(b, c->vals[i]);
            }
        } else {
            ref_slice(b, c);
        }
        ts_pg_qb_put(b, "))");
        break;
    case TS_QOP_LT:
    case TS_QOP_LTE:
    case TS_QOP_GT:
    case TS_QOP_GTE:
        ts_pg_qb_put(b, "%s %s ", x, cmp_ops[c->op - TS_QOP_LT]);
        if (k.numeric) {
            ref_num(b, v0);
        } else {
            ref_text(b, v0);
            ts_pg_qb_put(b, " COLLATE \"C\"");
        }
        break;
    case TS_QOP_IEXACT:
        if (k.numeric) { /* a number equals a numeric value only */
            if (ts_query_is_num(v0)) {
                ts_pg_qb_put(b, "%s = ", x);
                ref_num(b, v0);
            } else {
                ts_pg_qb_put(b, "FALSE");
            }
            break;
        }
        ts_pg_qb_put(b, "lower(%s COLLATE \"C\") = lower(", x);
        ref_text(b, v0);
        ts_pg_qb_put(b, " COLLATE \"C\")");
        break;
    case TS_QOP_CONTAINS:
    case TS_QOP_ICONTAINS:
    case TS_QOP_STARTSWITH:
    case TS_QOP_ENDSWITH:
        text_op(b, as_text(b, x, k), c->op, v0);
        break;
    case TS_QOP_ISNULL:
        ts_pg_qb_put(b, "%s IS %sNULL", x, strcmp(v0, "true") == 0 ? "" : "NOT ");
        break;
    default:
        ts_pg_qb_put(b, "FALSE");
    }
}

/* metadata.<key> / tag_map.<key>: json_extract's value in SQLite is NULL
 * (no key, JSON null), a number (numbers; true and false as 1 and 0) or a
 * text (strings; objects and arrays as their JSON text). m.ty is the JSON
 * type, m.v the value as text. */
#define J_TEXT "m.ty IN ('string', 'object', 'array')"
#define J_NUM "m.ty IN ('number', 'boolean')"
#define J_NUMVAL                                                                                   \
    "(CASE m.ty WHEN 'number' THEN m.v::numeric WHEN 'boolean' THEN (m.v = 'true')::int END)"
#define J_TEXTVAL "(CASE WHEN m.ty = 'boolean' THEN (m.v = 'true')::int::text ELSE m.v END)"

static void json_cond(ts_pg_qb *b, const ts_qcond *c)
{
    const char *v0 = c->nvals ? c->vals[0] : "";
    ts_pg_qb_put(b, "(SELECT ");
    switch (c->op) {
    case TS_QOP_EQ:
    case TS_QOP_NE:
        if (c->nvals == 0)
            ts_pg_qb_put(b, "FALSE");
        else if (c->op == TS_QOP_EQ)
            ts_pg_qb_put(b, "(" J_TEXT " AND m.v = ANY(");
        else
            ts_pg_qb_put(b, "(m.ty IS NULL OR NOT (" J_TEXT ") OR m.v <> ALL(");
        if (c->nvals) {
            ref_slice(b, c);
            ts_pg_qb_put(b, "))");
        }
        break;
    case TS_QOP_LT:
    case TS_QOP_LTE:
    case TS_QOP_GT:
    case TS_QOP_GTE: {
        int gt = c->op == TS_QOP_GT || c->op == TS_QOP_GTE;
        if (ts_query_is_num(v0)) {
            ts_pg_qb_put(b, "CASE WHEN " J_NUM " THEN " J_NUMVAL " %s ",
                         cmp_ops[c->op - TS_QOP_LT]);
            ref_num(b, v0);
            ts_pg_qb_put(b, " WHEN " J_TEXT " THEN %s ELSE FALSE END", gt ? "TRUE" : "FALSE");
        } else {
            ts_pg_qb_put(b, "CASE WHEN " J_NUM " THEN %s WHEN " J_TEXT " THEN m.v %s ",
                         gt ? "FALSE" : "TRUE", cmp_ops[c->op - TS_QOP_LT]);
            ref_text(b, v0);
            ts_pg_qb_put(b, " COLLATE \"C\" ELSE FALSE END");
        }
        break;
    }
    case TS_QOP_IEXACT:
        ts_pg_qb_put(b, "(" J_TEXT " AND lower(m.v COLLATE \"C\") = lower(");
        ref_text(b, v0);
        ts_pg_qb_put(b, " COLLATE \"C\"))");
        break;
    case TS_QOP_CONTAINS:
    case TS_QOP_ICONTAINS:
    case TS_QOP_STARTSWITH:
    case TS_QOP_ENDSWITH:
        text_op(b, J_TEXTVAL, c->op, v0);
        break;
    case TS_QOP_ISNULL:
        ts_pg_qb_put(b, strcmp(v0, "true") == 0 ? "(m.ty IS NULL OR m.ty = 'null')"
                                                : "(m.ty IS NOT NULL AND m.ty <> 'null')");
        break;
    default:
        ts_pg_qb_put(b, "FALSE");
    }
    ts_pg_qb_put(b,
                 " FROM (SELECT json_typeof(j0.j) AS ty, j0.j #>> '{}' AS v FROM (SELECT "
                 "(%s::json) -> ",
                 c->field == TS_QF_TAG ? "t.tag_map" : "t.metadata");
    ref_text(b, c->key ? c->key : "");
    ts_pg_qb_put(b, " AS j) j0) m)");
}

/* An any-span dimension: the trace has a trace_dims row matching. */
static void dim_cond(ts_pg_qb *b, const ts_qcond *c, int dim)
{
    const xkind text = {0, 0};
    if (c->op == TS_QOP_ISNULL) {
        int want_null = c->nvals && strcmp(c->vals[0], "true") == 0;
        ts_pg_qb_put(b, "%sEXISTS (SELECT 1 FROM trace_dims d WHERE d.trow = t.id AND d.dim = %d)",
                     want_null ? "NOT " : "", dim);
        return;
    }
    ts_pg_qb_put(b,
                 "%sEXISTS (SELECT 1 FROM trace_dims d WHERE d.trow = t.id AND d.ws_id = $%d AND "
                 "d.dim = %d AND ",
                 c->op == TS_QOP_NE ? "NOT " : "", b->ws_no, dim);
    if (c->op == TS_QOP_EQ || c->op == TS_QOP_NE) {
        /* SQLite's "d.val IN (...)": an empty list matches no row */
        ts_pg_qb_put(b, "d.val = ANY(");
        ref_slice(b, c);
        ts_pg_qb_put(b, ")");
    } else {
        cond_on(b, "d.val", text, c);
    }
    ts_pg_qb_put(b, ")");
}

static void cond_sql(ts_pg_qb *b, const ts_qcond *c)
{
    xkind k = {0, 0};
    int dim = ts_query_dim_of(c->field);
    const char *x = ts_query_span_sql(c->field, &k.numeric, &k.real);
    if (x) {
        ts_pg_qb_put(b, "%sEXISTS (SELECT 1 FROM spans s WHERE s.trow = t.id AND ",
                     c->op == TS_QOP_NE ? "NOT " : "");
        ts_qcond eq = *c;
        if (c->op == TS_QOP_NE)
            eq.op = TS_QOP_EQ;
        cond_on(b, x, k, &eq);
        ts_pg_qb_put(b, ")");
        return;
    }
    if (dim) {
        dim_cond(b, c, dim);
        return;
    }
    if (c->field == TS_QF_METADATA || c->field == TS_QF_TAG) {
        json_cond(b, c);
        return;
    }
    if ((x = ts_query_field_sql(c->field, &k.numeric, &k.real)))
        cond_on(b, x, k, c);
    else
        ts_pg_qb_put(b, "TRUE");
}

void ts_pg_qb_where(ts_pg_qb *b, const ts_trace_query *q)
{
    ts_pg_qb_put(b, "t.ws_id = $%d", b->ws_no);
    if (q->project) {
        /* an unknown project matches nothing (project_id = NULL) */
        size_t i = val_add(b, q->project);
        ts_pg_qb_put(b,
                     " AND t.project_id = coalesce((SELECT id FROM projects WHERE ws_id = $%d "
                     "AND uuid = lower(($%d::text[])[%zu] COLLATE \"C\")), (SELECT id FROM "
                     "projects WHERE ws_id = $%d AND name = ($%d::text[])[%zu]))",
                     b->ws_no, b->arr_no, i, b->ws_no, b->arr_no, i);
    }
    for (size_t i = 0; i < q->nconds; i++) {
        ts_pg_qb_put(b, " AND ");
        cond_sql(b, &q->conds[i]);
    }
}

/* The values as one array literal: {"a","b\"c"}. */
static char *array_literal(ts_pg_qb *b)
{
    size_t n = 3;
    for (size_t i = 0; i < b->nvals; i++)
        n += 2 * strlen(b->vals[i]) + 3;
    char *s = ts_arena_alloc(b->a, n), *o = s;
    if (!s)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < b->nvals; i++) {
        if (i)
            *o++ = ',';
        *o++ = '"';
        for (const char *v = b->vals[i]; *v; v++) {
            if (*v == '"' || *v == '\\')
                *o++ = '\\';
            *o++ = *v;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return s;
}

int ts_pg_qb_params(ts_pg_qb *b, int64_t ws_id, ts_pgp *p)
{
    if (b->oom)
        return TS_ENOMEM;
    if (p->n + 1 != b->ws_no)
        return TS_EINVAL;
    ts_pgp_i64(p, ws_id);
    if (b->arr_used) {
        char *lit = array_literal(b);
        if (!lit)
            return TS_ENOMEM;
        ts_pgp_text(p, lit);
    }
    return p->overflow ? TS_ETOOBIG : TS_OK;
}

int ts_pg_query_where(int64_t ws_id, const ts_trace_query *q, ts_arena *a, char *sql, size_t cap,
                      ts_pgp *p)
{
    ts_pg_qb b;
    int rc;
    size_t have = strnlen(sql, cap);

    ts_pg_qb_init(&b, a, p->n + 1);
    ts_pg_qb_put(&b, " FROM traces t WHERE ");
    ts_pg_qb_where(&b, q);
    if ((rc = ts_pg_qb_params(&b, ws_id, p)) != TS_OK)
        goto out;
    if (have >= cap || b.len >= cap - have) {
        rc = TS_ETOOBIG;
        goto out;
    }
    memcpy(sql + have, b.sql, b.len + 1);
out:
    ts_pg_qb_free(&b);
    return rc;
}
