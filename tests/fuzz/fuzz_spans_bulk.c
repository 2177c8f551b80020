/* fuzz_spans_bulk.c: libFuzzer target for PromptLayer's /spans-bulk body
 * decoder (codec/spans_bulk.c) and the dedupe and derive steps ingest runs
 * on what it accepts. Any input must give TS_OK, TS_EINVAL or TS_ETOOBIG,
 * never a crash, leak or sanitizer report. */
#include <stdlib.h>

#include "codec/spans_bulk.h"
#include "fuzz_common.h"
#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_config cfg;
    ts_err err;
    ts_span *spans = NULL;
    size_t n = 0;
    int close_after = 0;
    ts_arena *a = ts_arena_new(16 * 1024);
    if (!a)
        return 0;
    fuzz_config(&cfg);
    int rc =
        ts_spans_bulk_decode((const char *)data, size, &cfg, a, &spans, &n, &close_after, &err);
    if (rc != TS_OK && rc != TS_EINVAL && rc != TS_ETOOBIG)
        abort();
    if (rc == TS_OK && ts_ingest_dedupe(spans, &n, a) == TS_OK)
        for (size_t i = 0; i < n; i++)
            ts_ingest_derive(&spans[i]);
    ts_arena_free(a);
    return 0;
}
