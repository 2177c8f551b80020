/* trulayer_ingest.h: decoder for TruLayer's POST /v1/ingest (one
 * TraceRequest) and POST /v1/ingest/batch ({"traces":[...]}) bodies
 * (trulayer-api.md section 3) into trace meta and domain spans. */
#ifndef TS_TRULAYER_INGEST_H
#define TS_TRULAYER_INGEST_H

#include <stddef.h>

#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"
#include "tracestore/model.h"
#include "tracestore/store.h"

#define TS_TRULAYER_BATCH_MAX 100

/* Decodes body (batch: the {"traces":[...]} form) into *traces and
 * *spans (arena a). Trace ids are canonical; a missing id gets a fresh
 * UUID. TS_EINVAL with err->msg naming the bad field; TS_ETOOBIG over
 * max_spans_per_request. */
int ts_trulayer_decode(const char *body, size_t len, int batch, const ts_config *cfg, ts_arena *a,
                       ts_trace_meta **traces, size_t *ntraces, ts_span **spans, size_t *nspans,
                       ts_err *err);

/* POST /v1/feedback: {trace_id (required), label (required, any non-empty
 * text), score?, comment?, metadata?}. TS_EINVAL names the bad field. */
int ts_trulayer_feedback_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                                ts_feedback *f, ts_err *err);

#endif
