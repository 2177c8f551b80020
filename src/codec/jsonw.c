/* jsonw.c: see jsonw.h. The number rules copy cJSON 1.7.15's print_number
 * (ts_jw_str already escapes as its print_string_ptr does);
 * tests/unit/test_jsonw.c checks both against the library. */
#include "codec/jsonw.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Integers of fewer than 16 digits print the same through "%1.15g". */
#define EXACT_INT INT64_C(1000000000000000)
#define EXACT_DBL 1e15

void ts_jsonw_init(ts_jsonw *w)
{
    memset(w, 0, sizeof(*w));
}

void ts_jsonw_free(ts_jsonw *w)
{
    ts_jw_free(&w->out);
}

char *ts_jsonw_finish(ts_jsonw *w, size_t *len)
{
    char *text = w->out.oom ? NULL : w->out.p;
    if (!text && !w->out.oom)
        text = calloc(1, 1); /* nothing written: an empty text */
    *len = text ? w->out.len : 0;
    if (text == w->out.p)
        w->out.p = NULL; /* the caller's now */
    ts_jsonw_free(w);
    return text;
}

char *ts_jsonw_take(ts_jsonw *w, ts_arena *a)
{
    char *text = ts_jw_take(&w->out, a);
    ts_jw_reset(&w->out);
    w->comma = 0;
    return text;
}

/* Before every key and value: a comma unless it is the first at its level. */
static void sep(ts_jsonw *w)
{
    if (w->comma)
        ts_jw_raw(&w->out, ",", 1);
    w->comma = 1;
}

static void open_with(ts_jsonw *w, const char *c)
{
    sep(w);
    ts_jw_raw(&w->out, c, 1);
    w->comma = 0;
}

static void close_with(ts_jsonw *w, const char *c)
{
    ts_jw_raw(&w->out, c, 1);
    w->comma = 1;
}

void ts_jsonw_obj_begin(ts_jsonw *w)
{
    open_with(w, "{");
}

void ts_jsonw_obj_end(ts_jsonw *w)
{
    close_with(w, "}");
}

void ts_jsonw_arr_begin(ts_jsonw *w)
{
    open_with(w, "[");
}

void ts_jsonw_arr_end(ts_jsonw *w)
{
    close_with(w, "]");
}

void ts_jsonw_key(ts_jsonw *w, const char *key)
{
    sep(w);
    ts_jw_str(&w->out, key);
    ts_jw_raw(&w->out, ":", 1);
    w->comma = 0;
}

void ts_jsonw_raw(ts_jsonw *w, const char *json, size_t len)
{
    sep(w);
    ts_jw_raw(&w->out, json, len);
}

void ts_jsonw_str(ts_jsonw *w, const char *s)
{
    if (!s) {
        ts_jsonw_null(w);
        return;
    }
    sep(w);
    ts_jw_str(&w->out, s);
}

void ts_jsonw_null(ts_jsonw *w)
{
    ts_jsonw_raw(w, "null", 4);
}

void ts_jsonw_bool(ts_jsonw *w, int v)
{
    if (v)
        ts_jsonw_raw(w, "true", 4);
    else
        ts_jsonw_raw(w, "false", 5);
}

/* |v| < EXACT_INT in decimal, without printf. */
static void put_int(ts_jsonw *w, int64_t v)
{
    char b[24];
    size_t i = sizeof(b);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        b[--i] = '-';
    ts_jsonw_raw(w, b + i, sizeof(b) - i);
}

/* cJSON's compare_double: equal within a relative DBL_EPSILON. */
static int close_enough(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= m * DBL_EPSILON;
}

void ts_jsonw_double(ts_jsonw *w, double v)
{
    char b[32];
    int n;
    if (isnan(v) || isinf(v)) {
        ts_jsonw_null(w);
        return;
    }
    if (fabs(v) < EXACT_DBL && v == (double)(int64_t)v && !(v == 0 && signbit(v))) {
        put_int(w, (int64_t)v);
        return;
    }
    n = snprintf(b, sizeof(b), "%1.15g", v);
    if (!close_enough(strtod(b, NULL), v))
        n = snprintf(b, sizeof(b), "%1.17g", v);
    if (n <= 0 || (size_t)n >= sizeof(b)) {
        w->out.oom = 1; /* cannot happen for a finite double; fail rather than emit nothing */
        return;
    }
    ts_jsonw_raw(w, b, (size_t)n);
}

void ts_jsonw_i64(ts_jsonw *w, int64_t v)
{
    if (v > -EXACT_INT && v < EXACT_INT) {
        put_int(w, v);
    } else {
        char b[24];
        int n = snprintf(b, sizeof(b), "%lld", (long long)v);
        ts_jsonw_raw(w, b, (size_t)n);
    }
}
