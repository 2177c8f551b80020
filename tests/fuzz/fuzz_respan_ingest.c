/* fuzz_respan_ingest.c: libFuzzer target for Respan's span ingest body
 * (codec/respan_ingest.c) and the dedupe and derive steps of ingest. */
#include <stdlib.h>

#include "codec/respan_ingest.h"
#include "fuzz_common.h"
#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_config cfg;
    ts_err err;
    ts_span *spans = NULL;
    size_t n = 0;
    ts_arena *a = ts_arena_new(16 * 1024);
    if (!a)
        return 0;
    fuzz_config(&cfg);
    int rc = ts_respan_decode((const char *)data, size, &cfg, a, &spans, &n, &err);
    if (rc != TS_OK && rc != TS_EINVAL && rc != TS_ETOOBIG)
        abort();
    if (rc == TS_OK && ts_ingest_dedupe(spans, &n, a) == TS_OK)
        for (size_t i = 0; i < n; i++)
            ts_ingest_derive(&spans[i]);
    ts_arena_free(a);
    return 0;
}
