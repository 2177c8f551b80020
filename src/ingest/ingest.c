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
        s->total_tokens = (s->prompt_tokens > 0 ? s->prompt_tokens : 0) +
                          (s->completion_tokens > 0 ? s->completion_tokens : 0);
    /* Cost is computed once, here, and stored with the span. */
    ts_cost_apply(s, ts_prices_active());
}
