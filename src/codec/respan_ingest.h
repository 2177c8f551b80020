/* respan_ingest.h: Respan JSON bodies: span ingest (POST
 * /api/v1/traces/ingest, respan-api.md 3.7 and 4) and the `filters` object
 * of the trace list and bulk delete (section 1). */
#ifndef TS_RESPAN_INGEST_H
#define TS_RESPAN_INGEST_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"
#include "tracestore/model.h"
#include "tracestore/store.h"

/* A JSON array of spans or {"data": [...]} -> *spans (arena a). Times are
 * ISO 8601: start_time, timestamp (the span's end), latency in float
 * seconds; a missing one is derived from the other two. TS_EINVAL names
 * the span index and field; TS_ETOOBIG over max_spans_per_request. */
int ts_respan_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                     ts_span **spans, size_t *n, ts_err *err);

/* At most 64 filters of at most 100 values each, and this many values in all. */
#define TS_RESPAN_MAX_FILTER_VALUES 1000

/* {"<field>": {"operator": op, "value": [v...]}, ...} -> conditions.
 * Unknown field names are dropped (as Respan does); metadata__<key> is a
 * metadata condition; times become ns, duration/latency seconds become ms. */
int ts_respan_filters_decode(const cJSON *filters, ts_arena *a, ts_qcond **out, size_t *n,
                             ts_err *err);

/* Parses an optional JSON body {"filters": {...}}; *present is set when
 * filters is a non-empty object. An empty body is no filters. */
int ts_respan_body_filters(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                           int *present, ts_qcond **out, size_t *n, ts_err *err);

/* sort_by of the trace list: [-|+]<field> -> q->sort and q->desc (default
 * and "-": descending). Returns 0, or -1 for an unknown field. */
int ts_respan_sort_decode(const char *s, ts_trace_query *q);

#endif
