/* attrs_json.h: JSON attribute objects (the /spans-bulk span's
 * attributes, resource.attributes and events, read from a tape of
 * codec/jtape.h) -> the typed attribute lists of ingest/attr.h, and the
 * attribute mapping applied to them. */
#ifndef TS_CODEC_ATTRS_JSON_H
#define TS_CODEC_ATTRS_JSON_H

#include "codec/jtape.h"
#include "ingest/attr.h"
#include "tracestore/arena.h"
#include "tracestore/model.h"

/* Converts object obj into an attribute list (keys and strings decoded
 * into a). Non-objects give an empty list. TS_OK or TS_ENOMEM. */
int ts_json_to_attrs(const ts_jtape *tp, ts_jt_ix obj, ts_arena *a, ts_attr **out, size_t *n);

/* Applies ts_genai_apply to a /spans-bulk span object's attributes,
 * resource.attributes and events. Fields already set on s (log_request)
 * are kept. Strings are copied into a. TS_OK or TS_ENOMEM. */
int ts_json_genai(const ts_jtape *tp, ts_jt_ix span, ts_span *s, ts_arena *a);

#endif
