/* fuzz_otlp_json.c: libFuzzer target for the OTLP JSON decoder
 * (codec/otlp_json.c, behind the JSON guard), the shared conversion and
 * the attribute mapping and pricing. */
#include <stdlib.h>

#include "codec/otlp_json.h"
#include "fuzz_common.h"
#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_config cfg;
    ts_otlp_req q;
    ts_otlp_rejects rej;
    ts_err err;
    ts_span *spans;
    size_t n;
    ts_arena *a = ts_arena_new(16 * 1024);
    if (!a)
        return 0;
    fuzz_config(&cfg);
    int rc = ts_otlp_json_decode((const char *)data, size, &cfg, a, &q, &err);
    if (rc != TS_OK && rc != TS_EINVAL && rc != TS_ETOOBIG)
        abort();
    if (rc == TS_OK && ts_otlp_to_spans(&q, a, &spans, &n, &rej) == TS_OK &&
        ts_ingest_dedupe(spans, &n, a) == TS_OK)
        for (size_t i = 0; i < n; i++)
            ts_ingest_derive(&spans[i]);
    ts_arena_free(a);
    return 0;
}
