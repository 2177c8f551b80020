/* otlp.h: the OTLP trace request as plain C structs, shared by the two
 * wire decoders (otlp_pb.c for application/x-protobuf, otlp_json.c for
 * application/json), and the one conversion from it to domain spans. Both
 * encodings go through ts_otlp_to_spans, so the same spans sent either way
 * are stored identically. Everything is allocated from the request arena. */
#ifndef TS_CODEC_OTLP_H
#define TS_CODEC_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/attr.h"
#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"
#include "tracestore/model.h"

/* An id as raw bytes. len < 0: the wire text was not valid hex. */
typedef struct ts_otlp_id {
    uint8_t b[16];
    int len;
} ts_otlp_id;

typedef struct ts_otlp_resource {
    ts_attr *attrs;
    size_t nattrs;
    const char *schema_url;
} ts_otlp_resource;

typedef struct ts_otlp_scope {
    const char *name, *version;
    ts_attr *attrs;
    size_t nattrs;
    const char *schema_url; /* of the ScopeSpans */
} ts_otlp_scope;

typedef struct ts_otlp_event {
    uint64_t time_ns;
    const char *name;
    ts_attr *attrs;
    size_t nattrs;
} ts_otlp_event;

typedef struct ts_otlp_link {
    ts_otlp_id trace_id, span_id;
    const char *trace_state;
    ts_attr *attrs;
    size_t nattrs;
} ts_otlp_link;

typedef struct ts_otlp_span {
    const ts_otlp_resource *resource;
    const ts_otlp_scope *scope;
    ts_otlp_id trace_id, span_id, parent_id;
    const char *trace_state, *name;
    int64_t kind;
    uint64_t start_ns, end_ns;
    ts_attr *attrs;
    size_t nattrs;
    ts_otlp_event *events;
    size_t nevents;
    ts_otlp_link *links;
    size_t nlinks;
    int64_t status_code;
    const char *status_message;
} ts_otlp_span;

typedef struct ts_otlp_req {
    ts_otlp_span *spans;
    size_t nspans;
} ts_otlp_req;

/* What the conversion could not store (OTLP partial success). */
typedef struct ts_otlp_rejects {
    size_t count;
    char first[200]; /* reason for the first rejected span */
} ts_otlp_rejects;

/* Converts q into domain spans (origin OTLP): ids to lowercase hex,
 * attributes/events/links/resource/scope rendered as JSON text, the GenAI
 * attribute mapping applied. A span with a bad id or bad times is left out
 * and counted in rej. TS_OK or TS_ENOMEM. */
int ts_otlp_to_spans(const ts_otlp_req *q, ts_arena *a, ts_span **spans, size_t *n,
                     ts_otlp_rejects *rej);

/* Limits both decoders apply while decoding. */
typedef struct ts_otlp_limits {
    size_t max_spans;  /* over: TS_ETOOBIG */
    size_t max_attrs;  /* per span (and per event, link, resource, scope): TS_EINVAL */
    size_t max_string; /* any string or bytes value: TS_EINVAL */
    int max_depth;     /* nesting of AnyValue arrays/kvlists: TS_EINVAL */
} ts_otlp_limits;

void ts_otlp_limits_from(const ts_config *cfg, ts_otlp_limits *l);

/* Hex text -> id (any case); len -1 when not hex or too long. */
void ts_otlp_id_from_hex(const char *hex, ts_otlp_id *id);

/* Base64 (standard alphabet, padded) text of n bytes, in a. */
char *ts_base64(const uint8_t *p, size_t n, ts_arena *a);

#endif
