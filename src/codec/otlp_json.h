/* otlp_json.h: OTLP/HTTP JSON encoding (application/json): hex ids in any
 * case, integer enums (enum names accepted too), 64-bit integers as
 * strings or numbers, lowerCamelCase and snake_case keys, unknown fields
 * ignored. */
#ifndef TS_CODEC_OTLP_JSON_H
#define TS_CODEC_OTLP_JSON_H

#include <stddef.h>

#include "codec/otlp.h"

/* Decodes an ExportTraceServiceRequest. The body passes the JSON guard
 * first (UTF-8, NUL escapes, max_json_depth, max_string_bytes). TS_EINVAL
 * with err naming the field for a body that is not a valid request;
 * TS_ETOOBIG over max_spans. Strings in *out live in a. */
int ts_otlp_json_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                        ts_otlp_req *out, ts_err *err);

/* {} or {"partialSuccess":{"rejectedSpans":N,"errorMessage":"..."}}; malloc'd. */
char *ts_otlp_json_response(long long rejected, const char *msg);

/* google.rpc.Status as JSON: {"code":N,"message":"..."}; malloc'd. */
char *ts_otlp_json_status(int code, const char *msg);

#endif
