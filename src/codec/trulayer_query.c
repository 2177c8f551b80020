/* trulayer_query.c: TruLayer list query parameters -> trace query
 * conditions, and the keyset cursor (moved unchanged from api/trulayer.c;
 * errors now travel in a ts_err the handler renders). */
#include "codec/trulayer_query.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracestore/timeutil.h"
#include "tracestore/utf8.h"

static int invalid(ts_err *err, const char *type)
{
    ts_err_type(err, type);
    return TS_EINVAL;
}

char *ts_trulayer_cursor_encode(ts_arena *a, int64_t key, int64_t id)
{
    char plain[64], *out;
    int n = snprintf(plain, sizeof(plain), "v1:%lld:%lld", (long long)key, (long long)id);
    if (n <= 0 || !(out = ts_arena_alloc(a, (size_t)n * 2 + 1)))
        return NULL;
    for (int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", (unsigned char)plain[i]);
    return out;
}

int ts_trulayer_cursor_decode(const char *c, int64_t *key, int64_t *id)
{
    char plain[64], tail;
    size_t n = strlen(c);
    long long k, i;
    if (n == 0 || n % 2 || n / 2 >= sizeof(plain))
        return -1;
    for (size_t p = 0; p < n / 2; p++) {
        unsigned v;
        if (sscanf(c + 2 * p, "%2x", &v) != 1 || !isxdigit((unsigned char)c[2 * p]) ||
            !isxdigit((unsigned char)c[2 * p + 1]))
            return -1;
        plain[p] = (char)v;
    }
    plain[n / 2] = '\0';
    if (sscanf(plain, "v1:%lld:%lld%c", &k, &i, &tail) != 2)
        return -1;
    *key = k;
    *id = i;
    return 0;
}

int ts_trulayer_query_uint(ts_query_get_fn get, void *ctx, const char *name, int *has, int64_t *v,
                           ts_err *err)
{
    const char *s = get(ctx, name);
    char *end = NULL;
    *has = 0;
    if (!s || !*s)
        return TS_OK;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || !end || *end || x < 0 || !isdigit((unsigned char)s[0])) {
        ts_err_set(err, TS_EINVAL, "%s must be a non-negative integer, got '%.*s'", name,
                   (int)ts_utf8_prefix(s, 40), s);
        return invalid(err, "error.invalid_parameter");
    }
    *has = 1;
    *v = x;
    return TS_OK;
}

int ts_trulayer_query_time(ts_query_get_fn get, void *ctx, const char *name, int *has, int64_t *v,
                           ts_err *err)
{
    const char *s = get(ctx, name);
    *has = 0;
    if (!s || !*s)
        return TS_OK;
    if (ts_time_parse_iso(s, v) != TS_OK) {
        ts_err_set(err, TS_EINVAL, "%s must be an RFC 3339 date-time, got '%.*s'", name,
                   (int)ts_utf8_prefix(s, 40), s);
        return invalid(err, "error.invalid_parameter");
    }
    *has = 1;
    return TS_OK;
}

static void cond_add(ts_arena *a, ts_tl_conds *l, ts_qfield f, ts_qop op, const char *key,
                     const char *val)
{
    const char **v = ts_arena_alloc(a, sizeof(*v));
    if (!v || l->n >= sizeof(l->c) / sizeof(l->c[0]))
        return;
    v[0] = val;
    l->c[l->n++] = (ts_qcond){f, op, key, v, 1};
}

static void cond_num(ts_arena *a, ts_tl_conds *l, ts_qfield f, ts_qop op, int64_t v)
{
    cond_add(a, l, f, op, NULL, ts_arena_printf(a, "%lld", (long long)v));
}

/* min/max pair: both validated, max >= min. */
static int q_range(ts_query_get_fn get, void *ctx, ts_arena *a, ts_tl_conds *l, const char *lo,
                   const char *hi, ts_qfield f, ts_err *err)
{
    int hmin, hmax;
    int64_t vmin = 0, vmax = 0;
    if (ts_trulayer_query_uint(get, ctx, lo, &hmin, &vmin, err) ||
        ts_trulayer_query_uint(get, ctx, hi, &hmax, &vmax, err))
        return TS_EINVAL;
    if (hmin && hmax && vmax < vmin) {
        ts_err_set(err, TS_EINVAL, "%s must be greater than or equal to %s", hi, lo);
        return invalid(err, "error.invalid_range");
    }
    if (hmin)
        cond_num(a, l, f, TS_QOP_GTE, vmin);
    if (hmax)
        cond_num(a, l, f, TS_QOP_LTE, vmax);
    return TS_OK;
}

/* error=, failure_type=: the enumerated filters. */
static int enum_filters(ts_query_get_fn get, void *ctx, ts_arena *a, ts_tl_conds *l, ts_err *err)
{
    const char *v;
    if ((v = get(ctx, "error")) && *v) {
        if (strcmp(v, "true") && strcmp(v, "false") && strcmp(v, "1") && strcmp(v, "0")) {
            ts_err_set(err, TS_EINVAL, "error must be true or false");
            return invalid(err, "error.invalid_parameter");
        }
        cond_add(a, l, TS_QF_HAS_ERROR, TS_QOP_EQ, NULL,
                 (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) ? "1" : "0");
    }
    if ((v = get(ctx, "failure_type")) && *v) {
        if (strcmp(v, "timeout") && strcmp(v, "rate_limit") && strcmp(v, "invalid_response") &&
            strcmp(v, "context_length")) {
            ts_err_set(err, TS_EINVAL,
                       "failure_type must be timeout, rate_limit, invalid_response or "
                       "context_length");
            return invalid(err, "error.invalid_parameter");
        }
        cond_add(a, l, TS_QF_SPAN_FAILURE, TS_QOP_EQ, NULL, v);
    }
    return TS_OK;
}

int ts_trulayer_list_filters(ts_query_get_fn get, void *ctx, ts_arena *a, ts_tl_conds *l,
                             ts_trace_query *q, ts_err *err)
{
    const char *v;
    int has_from, has_to;
    int64_t from = 0, to = 0;

    if ((v = get(ctx, "project_id")) && *v)
        q->project = v;
    if ((v = get(ctx, "model")) && *v)
        cond_add(a, l, TS_QF_SPAN_MODEL, TS_QOP_EQ, NULL, v);
    if ((v = get(ctx, "session_id")) && *v)
        cond_add(a, l, TS_QF_SESSION, TS_QOP_EQ, NULL, v);
    if (enum_filters(get, ctx, a, l, err) != TS_OK)
        return TS_EINVAL;
    if (ts_trulayer_query_time(get, ctx, "from", &has_from, &from, err) ||
        ts_trulayer_query_time(get, ctx, "to", &has_to, &to, err))
        return TS_EINVAL;
    if (has_from && has_to && to < from) {
        ts_err_set(err, TS_EINVAL, "to must not be before from");
        return invalid(err, "error.invalid_range");
    }
    if (has_from)
        cond_num(a, l, TS_QF_STARTED, TS_QOP_GTE, from);
    if (has_to)
        cond_num(a, l, TS_QF_STARTED, TS_QOP_LT, to);
    if (q_range(get, ctx, a, l, "latency_min", "latency_max", TS_QF_LATENCY_MS, err) ||
        q_range(get, ctx, a, l, "token_count_min", "token_count_max", TS_QF_TOTAL_TOKENS, err))
        return TS_EINVAL;
    const char *tk = get(ctx, "tag_key"), *tv = get(ctx, "tag_value");
    if ((tk && *tk) != (tv && *tv)) {
        ts_err_set(err, TS_EINVAL, "tag_key and tag_value must be given together");
        return invalid(err, "error.tags_filter_incomplete");
    }
    if (tk && *tk) {
        if (strpbrk(tk, "\"\\")) {
            ts_err_set(err, TS_EINVAL, "tag_key must not contain quotes or backslashes");
            return invalid(err, "error.invalid_parameter");
        }
        cond_add(a, l, TS_QF_TAG, TS_QOP_EQ, tk, tv);
    }
    return TS_OK;
}
