/* span.c: small helpers on the domain span. */
#include <ctype.h>
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

int64_t ts_span_tokens_total(int64_t p, int64_t c, int64_t t)
{
    int64_t r;
    if (t >= 0)
        return t;
    p = p > 0 ? p : 0;
    c = c > 0 ? c : 0;
    return __builtin_add_overflow(p, c, &r) ? INT64_MAX : r;
}

/* Case-insensitive substring search (error texts are short). */
static int has_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == needle[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

const char *ts_failure_type(const char *e)
{
    if (!e || !*e)
        return NULL;
    if (has_ci(e, "timeout") || has_ci(e, "timed out") || has_ci(e, "deadline exceeded"))
        return "timeout";
    if (has_ci(e, "rate limit") || has_ci(e, "rate_limit") || has_ci(e, "ratelimit") ||
        has_ci(e, "429") || has_ci(e, "too many requests"))
        return "rate_limit";
    if (has_ci(e, "context length") || has_ci(e, "context_length") ||
        has_ci(e, "maximum context") || has_ci(e, "context window") || has_ci(e, "too many tokens"))
        return "context_length";
    if (has_ci(e, "invalid response") || has_ci(e, "invalid_response") || has_ci(e, "malformed") ||
        has_ci(e, "parse") || has_ci(e, "invalid json"))
        return "invalid_response";
    return NULL;
}

int ts_span_type_is_llm(const char *t)
{
    static const char *const llm[] = {"llm",        "chat", "completion", "response",
                                      "generation", "text", "embedding"};
    if (!t)
        return 0;
    for (size_t i = 0; i < sizeof(llm) / sizeof(llm[0]); i++)
        if (strcmp(t, llm[i]) == 0)
            return 1;
    return 0;
}
