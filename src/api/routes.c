/* routes.c: the routing table. A new endpoint is one handler plus one line
 * here. Patterns match with or without a trailing slash; "{}" is a path
 * parameter; repeated slashes in a request path are collapsed. */
#include "api/api.h"

#define PL TS_FAMILY_PROMPTLAYER
#define TL TS_FAMILY_TRULAYER
#define RS TS_FAMILY_RESPAN

const ts_route ts_routes[] = {
    {"GET", "/healthz", TS_FAMILY_NONE, TS_R_NOAUTH, ts_api_healthz},
    {"GET", "/health", TL, TS_R_NOAUTH, ts_api_health},
    /* PromptLayer */
    {"POST", "/spans-bulk", PL, 0, ts_pl_spans_bulk},
    {"GET", "/api/public/v2/traces/{}", PL, 0, ts_pl_get_trace},
    {"POST", "/api/public/v2/traces/{}/close", PL, 0, ts_pl_close_trace},
    {"POST", "/v1/traces", PL, 0, ts_otlp_traces}, /* OTLP/HTTP (otlp.c) */
    /* TruLayer */
    {"GET", "/v1/traces/{}", TL, 0, ts_tl_get_trace},
    {"POST", "/v1/otlp/traces", TL, 0, ts_otlp_traces},
    /* Respan */
    {"DELETE", "/api/traces/{}", RS, 0, ts_rs_delete_trace},
    {"POST", "/api/v1/traces", RS, 0, ts_otlp_traces},
    {"POST", "/api/v2/traces", RS, 0, ts_otlp_traces},
    {NULL, NULL, TS_FAMILY_NONE, 0, NULL},
};
