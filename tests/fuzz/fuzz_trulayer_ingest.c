/* fuzz_trulayer_ingest.c: libFuzzer target for TruLayer's ingest bodies
 * (codec/trulayer_ingest.c): every input is decoded as a single
 * TraceRequest, as a {"traces":[...]} batch and as a feedback body, and
 * what decodes goes through the dedupe and derive steps of ingest. */
#include <stdlib.h>

#include "codec/trulayer_ingest.h"
#include "fuzz_common.h"
#include "ingest/ingest.h"

static void check(int rc)
{
    if (rc != TS_OK && rc != TS_EINVAL && rc != TS_ETOOBIG)
        abort();
}

static void ingest(const uint8_t *data, size_t size, int batch, const ts_config *cfg)
{
    ts_err err;
    ts_trace_meta *traces = NULL;
    ts_span *spans = NULL;
    size_t nt = 0, ns = 0;
    ts_arena *a = ts_arena_new(16 * 1024);
    if (!a)
        return;
    int rc = ts_trulayer_decode((const char *)data, size, batch, cfg, a, &traces, &nt, &spans, &ns,
                                &err);
    check(rc);
    if (rc == TS_OK && ts_ingest_dedupe_traces(traces, &nt) == TS_OK &&
        ts_ingest_dedupe(spans, &ns, a) == TS_OK)
        for (size_t i = 0; i < ns; i++)
            ts_ingest_derive(&spans[i]);
    ts_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_config cfg;
    ts_err err;
    ts_feedback f;
    fuzz_config(&cfg);
    ingest(data, size, 0, &cfg);
    ingest(data, size, 1, &cfg);
    ts_arena *a = ts_arena_new(4096);
    if (!a)
        return 0;
    check(ts_trulayer_feedback_decode((const char *)data, size, &cfg, a, &f, &err));
    ts_arena_free(a);
    return 0;
}
