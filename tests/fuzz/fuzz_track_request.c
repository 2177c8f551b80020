/* fuzz_track_request.c: libFuzzer target for PromptLayer's /track-request
 * body (codec/track_request.c) and the pricing of the call it decodes. */
#include <stdlib.h>

#include "codec/track_request.h"
#include "fuzz_common.h"
#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_config cfg;
    ts_err err;
    ts_track t;
    char *key = NULL;
    ts_arena *a = ts_arena_new(16 * 1024);
    if (!a)
        return 0;
    fuzz_config(&cfg);
    int rc = ts_track_request_decode((const char *)data, size, &cfg, a, &t, &key, &err);
    if (rc != TS_OK && rc != TS_EINVAL && rc != TS_ETOOBIG)
        abort();
    if (rc == TS_OK && t.model) { /* what the store does with the span the log lands on */
        ts_span s;
        ts_span_init(&s);
        s.type = "llm";
        s.model = (char *)t.model;
        s.prompt_tokens = t.prompt_tokens;
        s.completion_tokens = t.completion_tokens;
        ts_ingest_derive(&s);
    }
    ts_arena_free(a);
    return 0;
}
