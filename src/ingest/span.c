/* span.c: small helpers on the domain span. */
#include <string.h>

#include "tracestore/model.h"

void ts_span_init(ts_span *s)
{
    memset(s, 0, sizeof(*s));
    s->prompt_tokens = TS_TOKENS_ABSENT;
    s->completion_tokens = TS_TOKENS_ABSENT;
    s->total_tokens = TS_TOKENS_ABSENT;
    s->cache_read_tokens = TS_TOKENS_ABSENT;
    s->cache_write_tokens = TS_TOKENS_ABSENT;
    s->reasoning_tokens = TS_TOKENS_ABSENT;
    s->latency_ms = -1;
}
