/* ingest.c: see ingest.h. */
#include <stdint.h>
#include <string.h>

#include "cost/price.h"
#include "ingest/ingest.h"
#include "tracestore/err.h"

static uint64_t hash2(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (; *b; b++)
        h = (h ^ (unsigned char)*b) * 1099511628211ULL;
    return h;
}

int ts_ingest_dedupe(ts_span *spans, size_t *n, ts_arena *a)
{
    size_t cap = 16, out = 0;
    if (*n < 2)
        return TS_OK;
    while (cap < *n * 2)
        cap <<= 1;
    ts_span **slots = ts_arena_calloc(a, cap, sizeof(*slots));
    if (!slots)
        return TS_ENOMEM;
    for (size_t i = 0; i < *n; i++) {
        ts_span *s = &spans[i];
        size_t h = (size_t)(hash2(s->trace_id, s->span_id) & (cap - 1));
        int dup = 0;
        while (slots[h]) {
            if (strcmp(slots[h]->trace_id, s->trace_id) == 0 &&
                strcmp(slots[h]->span_id, s->span_id) == 0) {
                dup = 1;
                break;
            }
            h = (h + 1) & (cap - 1);
        }
        if (dup)
            continue;
        if (out != i)
            spans[out] = *s;
        slots[h] = &spans[out];
        out++;
    }
    *n = out;
    return TS_OK;
}

void ts_ingest_derive(ts_span *s)
{
    if (!s->error && s->status_code == TS_STATUS_ERROR)
        s->error = s->status_message && s->status_message[0] ? s->status_message : "error";
    if (!s->type)
        s->type = (s->model || s->prompt_tokens >= 0 || s->completion_tokens >= 0) ? "llm" : "other";
    if (s->total_tokens == TS_TOKENS_ABSENT &&
        (s->prompt_tokens >= 0 || s->completion_tokens >= 0))
        if (__builtin_add_overflow(s->prompt_tokens > 0 ? s->prompt_tokens : 0,
                                   s->completion_tokens > 0 ? s->completion_tokens : 0,
                                   &s->total_tokens))
            s->total_tokens = INT64_MAX; /* counts are client input, up to INT64_MAX each */
    /* Cost is computed once, here, and stored with the span. */
    ts_cost_apply(s, ts_prices_active());
}

int ts_ingest_prepare(ts_span *spans, size_t *n, ts_arena *a)
{
    int rc = ts_ingest_dedupe(spans, n, a);
    if (rc != TS_OK)
        return rc;
    for (size_t i = 0; i < *n; i++)
        ts_ingest_derive(&spans[i]);
    return TS_OK;
}

int ts_ingest_dedupe_traces(ts_trace_meta *traces, size_t *nt)
{
    size_t out = 0;
    for (size_t i = 0; i < *nt; i++) {
        int dup = 0;
        for (size_t k = 0; k < out && !dup; k++)
            dup = strcmp(traces[k].trace_id, traces[i].trace_id) == 0;
        if (dup)
            continue;
        if (out != i)
            traces[out] = traces[i];
        out++;
    }
    *nt = out;
    return TS_OK;
}

/* Fills the meta fields still unset from span s. */
static void meta_take(ts_trace_meta *m, const ts_span *s)
{
    if (!m->metadata && s->metadata && strcmp(s->metadata, "{}") != 0)
        m->metadata = s->metadata;
    if (!m->user_id)
        m->user_id = s->user_id;
    if (!m->session_id)
        m->session_id = s->session_id;
}

int ts_ingest_trace_metas(const ts_span *spans, size_t n, ts_arena *a, ts_trace_meta **out,
                          size_t *nout)
{
    size_t cap = 16, nm = 0;
    while (cap < n * 2)
        cap <<= 1;
    ts_trace_meta **slots = ts_arena_calloc(a, cap, sizeof(*slots));
    ts_trace_meta *metas = ts_arena_calloc(a, n ? n : 1, sizeof(*metas));
    *out = NULL;
    *nout = 0;
    if (!slots || !metas)
        return TS_ENOMEM;
    /* Pass 1 takes root spans' values, pass 2 fills the gaps from any span. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const ts_span *s = &spans[i];
            size_t h = (size_t)(hash2(s->trace_id, "") & (cap - 1));
            while (slots[h] && strcmp(slots[h]->trace_id, s->trace_id) != 0)
                h = (h + 1) & (cap - 1);
            if (!slots[h]) {
                ts_trace_meta *m = &metas[nm++];
                m->trace_id = s->trace_id;
                m->latency_ms = -1;
                slots[h] = m;
            }
            if (pass == 1 || !s->parent_id || !s->parent_id[0])
                meta_take(slots[h], s);
        }
    }
    *out = metas;
    *nout = nm;
    return TS_OK;
}
