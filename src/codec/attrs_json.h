/* attrs_json.h: JSON attribute objects (the /spans-bulk span's
 * attributes, resource.attributes and events) -> the typed attribute
 * lists of ingest/attr.h, and the attribute mapping applied to them. */
#ifndef TS_CODEC_ATTRS_JSON_H
#define TS_CODEC_ATTRS_JSON_H

#include <cjson/cJSON.h>

#include "ingest/attr.h"
#include "tracestore/arena.h"
#include "tracestore/model.h"

/* Converts a JSON object into an attribute list (strings borrowed from
 * the tree). Non-objects give an empty list. TS_OK or TS_ENOMEM. */
int ts_json_to_attrs(const cJSON *obj, ts_arena *a, ts_attr **out, size_t *n);

/* Applies ts_genai_apply to a /spans-bulk span object's attributes,
 * resource.attributes and events. Fields already set on s (log_request)
 * are kept. Strings are copied into a. TS_OK or TS_ENOMEM. */
int ts_json_genai(const cJSON *span, ts_span *s, ts_arena *a);

#endif
