/* ingest.h: the ingest service between the codecs and the store: it
 * removes duplicate spans (first occurrence wins within a request) and
 * derives the LLM view of each span before the store sees it. No HTTP,
 * no JSON library. */
#ifndef TS_INGEST_H
#define TS_INGEST_H

#include <stddef.h>

#include "tracestore/arena.h"
#include "tracestore/model.h"

/* Compacts spans in place so each (trace_id, span_id) appears once, the
 * first occurrence kept; *n is updated. TS_OK or TS_ENOMEM. */
int ts_ingest_dedupe(ts_span *spans, size_t *n, ts_arena *a);

/* Keeps the first of several trace metas with the same trace id (n <= a
 * few hundred: quadratic). Spans are left alone. */
int ts_ingest_dedupe_traces(ts_trace_meta *traces, size_t *nt);

/* Builds one trace meta per distinct trace of spans (first-seen order)
 * carrying the trace-level fields a vendor sends on every span: metadata,
 * user (customer) and session, taken from the root span, else the first
 * span that has them. *out from arena a. */
int ts_ingest_trace_metas(const ts_span *spans, size_t n, ts_arena *a, ts_trace_meta **out,
                          size_t *nout);

/* What every ingest surface does between its codec and the store:
 * dedupe (first wins), then derive every span. TS_OK or TS_ENOMEM. */
int ts_ingest_prepare(ts_span *spans, size_t *n, ts_arena *a);

/* Fills derived fields that the codec left unset (error from status, type
 * default, total tokens) and prices the span with the active price table
 * (cost/price.h): the client's cost when it sent one, else tokens times
 * the table's prices, else unpriced. Called once per span before the
 * store. Thread-safe. */
void ts_ingest_derive(ts_span *s);

#endif
