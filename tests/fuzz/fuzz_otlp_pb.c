/* fuzz_otlp_pb.c: libFuzzer target for the OTLP protobuf decoder
 * (codec/otlp_pb.c), the shared conversion and the attribute mapping
 * and pricing they feed. Any input must give TS_OK, TS_EINVAL or
 * TS_ETOOBIG, never a crash, leak or sanitizer report. Built with
 * TS_OTLP_PB_REF (tests/fuzz/CMakeLists.txt does), it also decodes every
 * input with the protobuf-c decoder the direct one replaced
 * (tests/common/otlp_pb_ref.h) and aborts when the two differ. */
#include <stdio.h>
#include <stdlib.h>

#include "codec/otlp_pb.h"
#include "fuzz_common.h"
#include "ingest/ingest.h"
#ifdef TS_OTLP_PB_REF
#include "../common/otlp_pb_ref.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_config cfg;
    ts_otlp_limits lim;
    ts_otlp_req q;
    ts_otlp_rejects rej;
    ts_err err;
    ts_span *spans;
    size_t n;
    ts_arena *a = ts_arena_new(16 * 1024);
    if (!a)
        return 0;
    fuzz_config(&cfg);
    ts_otlp_limits_from(&cfg, &lim);
#ifdef TS_OTLP_PB_REF
    ref_run r;
    if (!ref_compare(data, size, &lim, &r)) {
        fprintf(stderr, "decoders differ: %s\n", r.diff.why);
        abort();
    }
#endif
    int rc = ts_otlp_pb_decode(data, size, &lim, a, &q, &err);
    if (rc != TS_OK && rc != TS_EINVAL && rc != TS_ETOOBIG)
        abort();
    if (rc == TS_OK && ts_otlp_to_spans(&q, a, &spans, &n, &rej) == TS_OK &&
        ts_ingest_dedupe(spans, &n, a) == TS_OK)
        for (size_t i = 0; i < n; i++)
            ts_ingest_derive(&spans[i]);
    ts_arena_free(a);
    return 0;
}
