/* metrics.c: fixed-bucket histograms observed with relaxed atomics, and the
 * Prometheus text format (0.0.4) writer behind GET /metrics. Counting costs
 * a bucket search over at most TS_HIST_MAX bounds and two atomic adds. */
#include "tracestore/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US 1000LL
#define MS 1000000LL
#define SEC 1000000000LL

static const int64_t le_request[] = {100 * US, 250 * US,  500 * US, 1 * MS,   2500 * US, 5 * MS,
                                     10 * MS,  25 * MS,   50 * MS,  100 * MS, 250 * MS,  500 * MS,
                                     1 * SEC,  2500 * MS, 5 * SEC,  10 * SEC};
static const int64_t le_disk[] = {50 * US,  100 * US, 250 * US,  500 * US, 1 * MS,   2500 * US,
                                  5 * MS,   10 * MS,  25 * MS,   50 * MS,  100 * MS, 250 * MS,
                                  500 * MS, 1 * SEC,  2500 * MS, 5 * SEC,  10 * SEC, 30 * SEC};
static const int64_t le_jobs[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

#define NB(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))
const ts_hist_bounds ts_hist_request = {le_request, NB(le_request), 1e9};
const ts_hist_bounds ts_hist_disk = {le_disk, NB(le_disk), 1e9};
const ts_hist_bounds ts_hist_jobs = {le_jobs, NB(le_jobs), 1.0};

void ts_hist_init(ts_hist *h, const ts_hist_bounds *bounds)
{
    h->bounds = bounds;
    for (unsigned i = 0; i <= TS_HIST_MAX; i++)
        atomic_init(&h->b[i], 0);
    atomic_init(&h->sum, 0);
}

void ts_hist_observe(ts_hist *h, int64_t v)
{
    const ts_hist_bounds *bd = h->bounds;
    unsigned i = 0;
    if (!TS_METRICS_ON)
        return;
    if (v < 0)
        v = 0;
    while (i < bd->n && v > bd->le[i])
        i++;
    atomic_fetch_add_explicit(&h->b[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, (uint64_t)v, memory_order_relaxed);
}

void ts_hist_snap_get(const ts_hist *h, ts_hist_snap *out)
{
    memset(out, 0, sizeof(*out));
    out->bounds = h->bounds;
    if (!h->bounds)
        return;
    for (unsigned i = 0; i <= h->bounds->n; i++)
        out->b[i] = atomic_load_explicit(&h->b[i], memory_order_relaxed);
    out->sum = atomic_load_explicit(&h->sum, memory_order_relaxed);
}

/* ---- text writer ---- */

void ts_prom_init(ts_prom *p)
{
    memset(p, 0, sizeof(*p));
}

void ts_prom_free(ts_prom *p)
{
    if (!p)
        return;
    free(p->buf);
    memset(p, 0, sizeof(*p));
}

char *ts_prom_take(ts_prom *p, size_t *len)
{
    char *b = p->oom ? NULL : p->buf;
    *len = b ? p->len : 0;
    if (!b)
        free(p->buf);
    memset(p, 0, sizeof(*p));
    return b;
}

static void append(ts_prom *p, const char *s, size_t n)
{
    if (p->oom)
        return;
    if (p->len + n + 1 > p->cap) {
        size_t ncap = p->cap ? p->cap : 16384;
        while (ncap < p->len + n + 1)
            ncap *= 2;
        char *nb = realloc(p->buf, ncap);
        if (!nb) {
            p->oom = 1;
            return;
        }
        p->buf = nb;
        p->cap = ncap;
    }
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static void appendf(ts_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void appendf(ts_prom *p, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        p->oom = 1; /* a line this long is a bug; fail the scrape, not the format */
        return;
    }
    append(p, line, (size_t)n);
}

void ts_prom_family(ts_prom *p, const char *name, const char *type, const char *help)
{
    appendf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *lbl_open(const char *labels)
{
    return labels && *labels ? "{" : "";
}

static const char *lbl_close(const char *labels)
{
    return labels && *labels ? "}" : "";
}

void ts_prom_u64(ts_prom *p, const char *name, const char *labels, uint64_t v)
{
    appendf(p, "%s%s%s%s %llu\n", name, lbl_open(labels), labels ? labels : "", lbl_close(labels),
            (unsigned long long)v);
}

void ts_prom_double(ts_prom *p, const char *name, const char *labels, double v)
{
    appendf(p, "%s%s%s%s %.17g\n", name, lbl_open(labels), labels ? labels : "", lbl_close(labels),
            v);
}

void ts_prom_hist(ts_prom *p, const char *name, const char *labels, const ts_hist_snap *s)
{
    const ts_hist_bounds *bd = s->bounds;
    const char *sep = labels && *labels ? "," : "";
    const char *l = labels ? labels : "";
    uint64_t cum = 0;
    if (!bd)
        return;
    for (unsigned i = 0; i < bd->n; i++) {
        cum += s->b[i];
        appendf(p, "%s_bucket{%s%sle=\"%.9g\"} %llu\n", name, l, sep, (double)bd->le[i] / bd->scale,
                (unsigned long long)cum);
    }
    cum += s->b[bd->n];
    appendf(p, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, l, sep, (unsigned long long)cum);
    appendf(p, "%s_sum%s%s%s %.17g\n", name, lbl_open(labels), l, lbl_close(labels),
            (double)s->sum / bd->scale);
    appendf(p, "%s_count%s%s%s %llu\n", name, lbl_open(labels), l, lbl_close(labels),
            (unsigned long long)cum);
}

int ts_prom_label(char *out, size_t cap, const char *name, const char *value)
{
    size_t len = strlen(out), o = len;
    size_t nlen = strlen(name);
    if (len + (len ? 1 : 0) + nlen + 3 > cap)
        return -1;
    if (len)
        out[o++] = ',';
    memcpy(out + o, name, nlen);
    o += nlen;
    out[o++] = '=';
    out[o++] = '"';
    for (const char *v = value; *v; v++) {
        const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        size_t k = esc ? 2 : 1;
        if (o + k + 2 > cap) {
            out[len] = '\0';
            return -1;
        }
        if (esc)
            memcpy(out + o, esc, 2);
        else
            out[o] = *v;
        o += k;
    }
    out[o++] = '"';
    out[o] = '\0';
    return 0;
}
