/* genai.h: the one attribute mapping of tracestore. It reads the LLM view
 * of a span (model, provider, tokens, client cost, type, session, user,
 * input, output, error, metadata) out of its attributes, whatever the
 * convention that produced them: OpenTelemetry GenAI (gen_ai.*, current and
 * deprecated names), OpenInference (llm.*, openinference.span.kind),
 * OpenLLMetry/Traceloop (traceloop.*, gen_ai.prompt.N.*), and the vendor
 * metadata prefixes promptlayer.metadata.* and respan.metadata.*. The table
 * in genai.c is documented in docs/API.md ("Attribute mapping"). Used for
 * OTLP spans and for /spans-bulk span attributes alike. */
#ifndef TS_INGEST_GENAI_H
#define TS_INGEST_GENAI_H

#include <stddef.h>

#include "ingest/attr.h"
#include "tracestore/arena.h"
#include "tracestore/model.h"

typedef struct ts_genai_event {
    const char *name;
    const ts_attr *attrs;
    size_t nattrs;
} ts_genai_event;

/* Where the mapping looks. Span attributes win over resource attributes;
 * resource attributes are consulted only for session, user and metadata. */
typedef struct ts_genai_src {
    const ts_attr *attrs;
    size_t nattrs;
    const ts_attr *res_attrs;
    size_t nres;
    const ts_genai_event *events;
    size_t nevents;
} ts_genai_src;

/* Fills every LLM field of s that is still unset (NULL, TS_TOKENS_ABSENT,
 * has_cost == 0), so values a client gave explicitly (log_request on
 * /spans-bulk) win over attributes. A string attribute taken as it is
 * (input, output, model...) is shared with src, not copied: src's strings
 * must live as long as a (every decoder puts them in the request arena,
 * the a it passes here); anything else is written into a.
 * TS_OK or TS_ENOMEM. Thread-safe (the table is read-only). */
int ts_genai_apply(ts_span *s, const ts_genai_src *src, ts_arena *a);

#endif
