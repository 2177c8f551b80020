/* http_metrics.c: per-route request counters and duration histograms, and
 * the write outcomes the HTTP layer sees (ts_http_metrics_count, called
 * once per response, into the calling thread's shard). Routes that share a pattern (GET and DELETE
 * of /api/traces/{}) share its histogram, so every series is unique; requests no route matched
 * count under route="none". */
#include "http/http_metrics.h"

#include <stdlib.h>
#include <string.h>

enum { NMETHODS = 8, NCLASSES = 5 };
static const char *const method_names[NMETHODS] = {"GET",    "HEAD",  "POST",    "PUT",
                                                   "DELETE", "PATCH", "OPTIONS", "other"};

/* Counters a write's outcome moves. */
enum {
    C_SPANS_ACCEPTED,
    C_SPANS_CLOSED,   /* dropped: their trace is closed */
    C_SPANS_INVALID,  /* dropped one by one as invalid (OTLP partial success) */
    C_REQ_INVALID,    /* ingest requests refused whole: 400 / 422 */
    C_REQ_OVER_LIMIT, /* ingest requests refused whole: 413 */
    C_TRACES_CLOSED,
    C_TRACES_DELETED,
    C__COUNT
};

/* Each HTTP thread counts into its own shard (picked once per thread), so
 * the threads never write the same cache line; a scrape adds the shards
 * up. Threads beyond NSHARDS share shards, which is still correct. */
enum { NSHARDS = 8 };

typedef struct shard {
    _Atomic uint64_t c[C__COUNT];
    char pad[64];          /* keeps c off the line of the next allocation */
    _Atomic uint64_t *req; /* [npat][NMETHODS][NCLASSES] */
    ts_hist *dur;          /* [npat] */
} shard;

struct ts_http_metrics {
    const ts_route *routes;
    size_t nroutes, npat; /* npat: distinct patterns + "none" (the last) */
    const char **pat;
    unsigned *pat_of; /* route index -> pattern index */
    shard *sh[NSHARDS];
    atomic_uint next_shard;
};

static _Thread_local const ts_http_metrics *tl_metrics;
static _Thread_local unsigned tl_shard;

static shard *my_shard(ts_http_metrics *m)
{
    if (tl_metrics != m) {
        tl_metrics = m;
        tl_shard = atomic_fetch_add(&m->next_shard, 1) % NSHARDS;
    }
    return m->sh[tl_shard];
}

void ts_http_metrics_free(ts_http_metrics *m)
{
    if (!m)
        return;
    for (int i = 0; i < NSHARDS; i++) {
        if (m->sh[i]) {
            free(m->sh[i]->req);
            free(m->sh[i]->dur);
            free(m->sh[i]);
        }
    }
    free(m->pat);
    free(m->pat_of);
    free(m);
}

static shard *shard_new(size_t npat)
{
    shard *sh = calloc(1, sizeof(*sh));
    if (!sh)
        return NULL;
    sh->req = calloc(npat * NMETHODS * NCLASSES, sizeof(*sh->req));
    sh->dur = calloc(npat, sizeof(*sh->dur));
    if (!sh->req || !sh->dur) {
        free(sh->req);
        free(sh->dur);
        free(sh);
        return NULL;
    }
    for (size_t k = 0; k < npat; k++)
        ts_hist_init(&sh->dur[k], &ts_hist_request);
    for (int i = 0; i < C__COUNT; i++)
        atomic_init(&sh->c[i], 0);
    return sh;
}

ts_http_metrics *ts_http_metrics_new(const ts_route *routes)
{
    ts_http_metrics *m = calloc(1, sizeof(*m));
    size_t n = 0;
    if (!m)
        return NULL;
    while (routes[n].method)
        n++;
    m->routes = routes;
    m->nroutes = n;
    m->pat = calloc(n + 1, sizeof(*m->pat));
    m->pat_of = calloc(n + 1, sizeof(*m->pat_of));
    if (!m->pat || !m->pat_of)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < m->npat && strcmp(m->pat[k], routes[i].pattern) != 0)
            k++;
        if (k == m->npat)
            m->pat[m->npat++] = routes[i].pattern;
        m->pat_of[i] = (unsigned)k;
    }
    m->pat[m->npat++] = "none";
    atomic_init(&m->next_shard, 0);
    for (int i = 0; i < NSHARDS; i++)
        if (!(m->sh[i] = shard_new(m->npat)))
            goto fail;
    return m;
fail:
    ts_http_metrics_free(m);
    return NULL;
}

static unsigned method_index(const char *method)
{
    for (unsigned i = 0; i + 1 < NMETHODS; i++)
        if (method && strcmp(method, method_names[i]) == 0)
            return i;
    return NMETHODS - 1;
}

static void add(shard *sh, int c, uint64_t n)
{
    if (n)
        atomic_fetch_add_explicit(&sh->c[c], n, memory_order_relaxed);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Traces an ingest with close_after closed: the distinct trace ids of its
 * stored spans (a rejected span's trace was closed already). */
static uint64_t closed_by_ingest(const ts_write *w)
{
    const char **ids = malloc(w->nspans * sizeof(*ids) + 1);
    size_t n = 0;
    uint64_t distinct = 0;
    if (!ids)
        return 0;
    for (size_t i = 0; i < w->nspans; i++)
        if (!w->spans[i].rejected && w->spans[i].trace_id)
            ids[n++] = w->spans[i].trace_id;
    qsort(ids, n, sizeof(*ids), cmp_str);
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || strcmp(ids[i], ids[i - 1]) != 0;
    free(ids);
    return distinct;
}

/* A completed write's effect (w->rc == TS_OK). */
static void count_write(shard *m, const ts_req *r)
{
    const ts_write *w = &r->write;
    switch (w->kind) {
    case TS_W_INGEST:
        add(m, C_SPANS_ACCEPTED, w->nspans - w->nrejected);
        add(m, C_SPANS_CLOSED, w->nrejected);
        if (w->close_after)
            add(m, C_TRACES_CLOSED, closed_by_ingest(w));
        break;
    case TS_W_CLOSE:
        add(m, C_TRACES_CLOSED, 1);
        break;
    case TS_W_DELETE:
    case TS_W_BULK_DELETE:
        add(m, C_TRACES_DELETED, w->affected > 0 ? (uint64_t)w->affected : 0);
        break;
    default:
        break;
    }
}

void ts_http_metrics_count(ts_http_metrics *m, const ts_req *r, int wrote, int64_t dur_ns)
{
    size_t ri = r->route ? (size_t)(r->route - m->routes) : m->nroutes;
    unsigned pk = ri < m->nroutes ? m->pat_of[ri] : (unsigned)(m->npat - 1);
    int cls = r->status / 100;
    cls = cls < 1 ? 1 : cls > 5 ? 5 : cls;
    size_t slot = ((size_t)pk * NMETHODS + method_index(r->method)) * NCLASSES + (size_t)(cls - 1);
    shard *sh = my_shard(m);
    atomic_fetch_add_explicit(&sh->req[slot], 1, memory_order_relaxed);
    ts_hist_observe(&sh->dur[pk], dur_ns);
    add(sh, C_SPANS_INVALID, r->spans_invalid);
    if (wrote && r->write.rc == TS_OK)
        count_write(sh, r);
    if (r->route && (r->route->flags & TS_R_INGEST)) {
        if (r->status == 400 || r->status == 422)
            add(sh, C_REQ_INVALID, 1);
        else if (r->status == 413)
            add(sh, C_REQ_OVER_LIMIT, 1);
    }
}

static uint64_t get(const ts_http_metrics *m, int c)
{
    uint64_t v = 0;
    for (int i = 0; i < NSHARDS; i++)
        v += atomic_load_explicit(&m->sh[i]->c[c], memory_order_relaxed);
    return v;
}

static uint64_t get_req(const ts_http_metrics *m, size_t slot)
{
    uint64_t v = 0;
    for (int i = 0; i < NSHARDS; i++)
        v += atomic_load_explicit(&m->sh[i]->req[slot], memory_order_relaxed);
    return v;
}

/* The histogram of pattern k, over every shard. */
static void dur_snap(const ts_http_metrics *m, size_t k, ts_hist_snap *out)
{
    ts_hist_snap_get(&m->sh[0]->dur[k], out);
    for (int i = 1; i < NSHARDS; i++) {
        ts_hist_snap s;
        ts_hist_snap_get(&m->sh[i]->dur[k], &s);
        for (unsigned b = 0; b <= s.bounds->n; b++)
            out->b[b] += s.b[b];
        out->sum += s.sum;
    }
}

static void render_requests(const ts_http_metrics *m, ts_prom *p)
{
    static const char *const classes[NCLASSES] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    char l[512];
    ts_prom_family(p, "tracestore_http_requests_total", "counter",
                   "HTTP requests answered, by route pattern, method and status class.");
    for (size_t k = 0; k < m->npat; k++)
        for (unsigned mi = 0; mi < NMETHODS; mi++)
            for (unsigned c = 0; c < NCLASSES; c++) {
                uint64_t v = get_req(m, (k * NMETHODS + mi) * NCLASSES + c);
                l[0] = '\0';
                if (!v || ts_prom_label(l, sizeof(l), "route", m->pat[k]) ||
                    ts_prom_label(l, sizeof(l), "method", method_names[mi]) ||
                    ts_prom_label(l, sizeof(l), "status_class", classes[c]))
                    continue;
                ts_prom_u64(p, "tracestore_http_requests_total", l, v);
            }
    ts_prom_family(p, "tracestore_http_request_duration_seconds", "histogram",
                   "Time from a request's headers to its response being queued, by route "
                   "pattern.");
    for (size_t k = 0; k < m->npat; k++) {
        ts_hist_snap s;
        uint64_t n = 0;
        dur_snap(m, k, &s);
        for (unsigned i = 0; i <= s.bounds->n; i++)
            n += s.b[i];
        l[0] = '\0';
        /* a route never requested has no series yet (as for the counters) */
        if (n && ts_prom_label(l, sizeof(l), "route", m->pat[k]) == 0)
            ts_prom_hist(p, "tracestore_http_request_duration_seconds", l, &s);
    }
}

void ts_http_metrics_render(const ts_http_metrics *m, ts_prom *p)
{
    render_requests(m, p);
    ts_prom_family(p, "tracestore_spans_accepted_total", "counter",
                   "Spans committed by ingest requests.");
    ts_prom_u64(p, "tracestore_spans_accepted_total", NULL, get(m, C_SPANS_ACCEPTED));
    ts_prom_family(p, "tracestore_spans_rejected_total", "counter",
                   "Spans of accepted ingest requests that were not stored, by reason.");
    ts_prom_u64(p, "tracestore_spans_rejected_total", "reason=\"closed_trace\"",
                get(m, C_SPANS_CLOSED));
    ts_prom_u64(p, "tracestore_spans_rejected_total", "reason=\"invalid\"",
                get(m, C_SPANS_INVALID));
    ts_prom_family(p, "tracestore_ingest_requests_rejected_total", "counter",
                   "Ingest requests refused whole (none of their spans stored), by reason.");
    ts_prom_u64(p, "tracestore_ingest_requests_rejected_total", "reason=\"invalid\"",
                get(m, C_REQ_INVALID));
    ts_prom_u64(p, "tracestore_ingest_requests_rejected_total", "reason=\"over_limit\"",
                get(m, C_REQ_OVER_LIMIT));
    ts_prom_family(
        p, "tracestore_traces_closed_total", "counter",
        "Traces closed by a close request or an ingest with close_after (closing a closed "
        "trace again counts again).");
    ts_prom_u64(p, "tracestore_traces_closed_total", NULL, get(m, C_TRACES_CLOSED));
    ts_prom_family(p, "tracestore_traces_deleted_total", "counter",
                   "Traces deleted (single and bulk deletes).");
    ts_prom_u64(p, "tracestore_traces_deleted_total", NULL, get(m, C_TRACES_DELETED));
}
