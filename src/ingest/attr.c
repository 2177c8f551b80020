/* attr.c: see attr.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/attr.h"

void ts_jw_reset(ts_jw *w)
{
    w->len = 0;
    w->oom = 0;
}

void ts_jw_free(ts_jw *w)
{
    free(w->p);
    w->p = NULL;
    w->len = w->cap = 0;
}

static int grow(ts_jw *w, size_t n)
{
    if (w->oom)
        return 0;
    if (w->len + n + 1 <= w->cap)
        return 1;
    size_t ncap = w->cap ? w->cap : 256;
    while (ncap < w->len + n + 1)
        ncap *= 2;
    char *np = realloc(w->p, ncap);
    if (!np) {
        w->oom = 1;
        return 0;
    }
    w->p = np;
    w->cap = ncap;
    return 1;
}

void ts_jw_raw(ts_jw *w, const char *s, size_t n)
{
    if (!grow(w, n))
        return;
    memcpy(w->p + w->len, s, n);
    w->len += n;
    w->p[w->len] = '\0';
}

/* Bytes each byte value grows by when escaped, as cJSON escapes: 5 for
 * \u00xx below 0x20, 1 for the short forms (\b \t \n \f \r) and for
 * '"' (0x22) and '\\' (0x5c); 0 for everything from 0x60 on. */
static const unsigned char ESC_EXTRA[256] = {
    5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 5, 1, 1, 5, 5, /* 0x00 */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50 */
};

/* The letter after the backslash: a short form, or 'u' for \u00xx. */
static char escape_letter(unsigned char c)
{
    switch (c) {
    case '"':
    case '\\':
        return (char)c;
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    default:
        return 'u';
    }
}

static char *put_escaped(char *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e = escape_letter(c);
    *o++ = '\\';
    *o++ = e;
    if (e != 'u')
        return o;
    *o++ = '0';
    *o++ = '0';
    *o++ = hex[c >> 4];
    *o++ = hex[c & 15];
    return o;
}

/* Two passes, as cJSON's print_string_ptr: measure, then write into room
 * made once (a response is mostly strings; one grow each, not one per run). */
void ts_jw_str(ts_jw *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *run = p;
    size_t n = 0, extra = 0;
    for (; p[n]; n++)
        extra += ESC_EXTRA[p[n]];
    if (!grow(w, n + extra + 2))
        return;
    char *o = w->p + w->len;
    *o++ = '"';
    for (size_t i = 0; extra && i < n; i++) {
        if (!ESC_EXTRA[p[i]])
            continue;
        memcpy(o, run, (size_t)(p + i - run));
        o = put_escaped(o + (p + i - run), p[i]);
        run = p + i + 1;
    }
    memcpy(o, run, (size_t)(p + n - run));
    o += p + n - run;
    *o++ = '"';
    w->len = (size_t)(o - w->p);
    w->p[w->len] = '\0';
}

/* Decimal digits of u, written backwards ending at end; returns the first. */
static char *put_digits(char *end, uint64_t u)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    return end;
}

void ts_jw_i64(ts_jw *w, int64_t v)
{
    char buf[32], *end = buf + sizeof(buf), *p;
    int big = v <= -(INT64_C(1) << 53) || v >= (INT64_C(1) << 53);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (big) /* beyond a double's integers: a string, so no reader rounds it */
        *--end = '"';
    p = put_digits(end, u);
    if (v < 0)
        *--p = '-';
    if (big)
        *--p = '"';
    ts_jw_raw(w, p, (size_t)(buf + sizeof(buf) - p));
}

static const double P10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                             1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* d as "%.15g" prints it when that reads back as d, without printf (whose
 * floating point was 8 % of the HTTP threads under OTLP load): the fewest
 * decimals k whose integer m = d * 10^k gives d back as m / 10^k. Both are
 * exact doubles (m < 10^15, k <= 15), so that division is correctly rounded,
 * as strtod is; a decimal of at most 15 significant digits that reads back
 * as d is what d rounds to at 15 digits. Only for 1e-4 <= |d| < 1e15, where
 * %g prints no exponent. Returns the length, or 0 to fall back to printf. */
static size_t short_double(double d, char *buf, size_t cap)
{
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e15) || cap < 40)
        return 0;
    for (int k = 0; k <= 15; k++) {
        double t = a * P10[k];
        if (t >= 1e15)
            return 0;
        double m = nearbyint(t);
        if (m / P10[k] != a)
            continue;
        uint64_t u = (uint64_t)m;
        char *end = buf + cap, *p = end;
        for (int i = 0; i < k; i++, u /= 10)
            *--p = (char)('0' + u % 10);
        if (k)
            *--p = '.';
        p = put_digits(p, u);
        if (d < 0)
            *--p = '-';
        size_t n = (size_t)(end - p);
        memmove(buf, p, n);
        return n;
    }
    return 0;
}

void ts_jw_double(ts_jw *w, double d)
{
    char buf[40];
    if (isnan(d)) {
        ts_jw_str(w, "NaN");
        return;
    }
    if (isinf(d)) {
        ts_jw_str(w, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    size_t n = short_double(d, buf, sizeof(buf));
    if (!n) {
        /* The shortest of %.15g / %.17g that reads back exactly. */
        n = (size_t)snprintf(buf, sizeof(buf), "%.15g", d);
        if (strtod(buf, NULL) != d)
            n = (size_t)snprintf(buf, sizeof(buf), "%.17g", d);
    }
    ts_jw_raw(w, buf, n);
}

void ts_jw_value(ts_jw *w, const ts_attr_value *v)
{
    switch (v->type) {
    case TS_AV_EMPTY:
        ts_jw_raw(w, "null", 4);
        break;
    case TS_AV_STR:
    case TS_AV_BYTES:
        ts_jw_str(w, v->s ? v->s : "");
        break;
    case TS_AV_BOOL:
        ts_jw_raw(w, v->b ? "true" : "false", v->b ? 4 : 5);
        break;
    case TS_AV_INT:
        ts_jw_i64(w, v->i);
        break;
    case TS_AV_DOUBLE:
        ts_jw_double(w, v->d);
        break;
    case TS_AV_ARRAY:
        ts_jw_raw(w, "[", 1);
        for (size_t i = 0; i < v->nitems; i++) {
            if (i)
                ts_jw_raw(w, ",", 1);
            ts_jw_value(w, &v->items[i]);
        }
        ts_jw_raw(w, "]", 1);
        break;
    case TS_AV_KVLIST:
        ts_jw_attrs(w, v->kvs, v->nkvs);
        break;
    case TS_AV_JSON:
        ts_jw_raw(w, v->s ? v->s : "null", strlen(v->s ? v->s : "null"));
        break;
    }
}

void ts_jw_attrs(ts_jw *w, const ts_attr *kv, size_t n)
{
    ts_jw_raw(w, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            ts_jw_raw(w, ",", 1);
        ts_jw_str(w, kv[i].key ? kv[i].key : "");
        ts_jw_raw(w, ":", 1);
        ts_jw_value(w, &kv[i].v);
    }
    ts_jw_raw(w, "}", 1);
}

char *ts_jw_take(ts_jw *w, ts_arena *a)
{
    if (w->oom)
        return NULL;
    return ts_arena_strndup(a, w->p ? w->p : "", w->len);
}

char *ts_attrs_to_json(const ts_attr *kv, size_t n, ts_arena *a)
{
    ts_jw w = {0};
    ts_jw_attrs(&w, kv, n);
    char *out = ts_jw_take(&w, a);
    ts_jw_free(&w);
    return out;
}

const ts_attr *ts_attr_find(const ts_attr *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i].key && strcmp(kv[i].key, key) == 0)
            return &kv[i];
    return NULL;
}
