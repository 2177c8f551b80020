/* spans_bulk.h: decoder for PromptLayer's POST /spans-bulk body
 * (promptlayer-api.md section 2) into domain spans. */
#ifndef TS_SPANS_BULK_H
#define TS_SPANS_BULK_H

#include <stddef.h>

#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"
#include "tracestore/model.h"

/* Decodes body into *spans (arena a). TS_EINVAL: err has msg, type and the
 * FastAPI loc of the first bad field. TS_ETOOBIG: over a count limit. */
int ts_spans_bulk_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                         ts_span **spans, size_t *n, int *close_after, ts_err *err);

#endif
