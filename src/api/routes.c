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
    {"GET", "/metrics", TS_FAMILY_NONE, TS_R_NOAUTH, ts_api_metrics}, /* metrics_token */
    /* the web UI (ui.c) and the two questions only it asks */
    {"GET", "/", TS_FAMILY_NONE, TS_R_NOAUTH, ts_ui_redirect},
    {"GET", "/ui", TS_FAMILY_NONE, TS_R_NOAUTH, ts_ui_index},
    {"GET", "/ui/{}", TS_FAMILY_NONE, TS_R_NOAUTH, ts_ui_asset},
    {"GET", "/v1/workspace", TL, 0, ts_ui_workspace},
    {"GET", "/v1/traces/{}/state", TL, 0, ts_ui_trace_state},
    /* PromptLayer */
    {"POST", "/spans-bulk", PL, TS_R_INGEST, ts_pl_spans_bulk},
    {"GET", "/api/public/v2/traces/{}", PL, 0, ts_pl_get_trace},
    {"POST", "/api/public/v2/traces/{}/close", PL, 0, ts_pl_close_trace},
    {"POST", "/track-request", PL, TS_R_BODY_KEY, ts_pl_track_request},
    {"POST", "/v1/traces", PL, TS_R_INGEST, ts_otlp_traces}, /* OTLP/HTTP (otlp.c) */
    /* TruLayer */
    {"POST", "/v1/ingest", TL, TS_R_INGEST, ts_tl_ingest},
    {"POST", "/v1/ingest/batch", TL, TS_R_INGEST, ts_tl_ingest_batch},
    {"GET", "/v1/traces", TL, 0, ts_tl_list_traces},
    {"GET", "/v1/traces/{}", TL, 0, ts_tl_get_trace},
    {"POST", "/v1/feedback", TL, 0, ts_tl_feedback},
    {"GET", "/v1/metrics", TL, 0, ts_tl_metrics},
    {"GET", "/v1/projects", TL, 0, ts_tl_projects},
    {"POST", "/v1/otlp/traces", TL, TS_R_INGEST, ts_otlp_traces},
    /* Respan (list and bulk routes before the {id} patterns) */
    {"POST", "/api/v1/traces/ingest", RS, TS_R_INGEST, ts_rs_ingest},
    {"POST", "/api/traces/ingest", RS, TS_R_INGEST, ts_rs_ingest},
    {"POST", "/api/traces/list", RS, 0, ts_rs_list_traces},
    {"GET", "/api/traces/list", RS, 0, ts_rs_list_traces},
    {"POST", "/api/traces/bulk-delete", RS, 0, ts_rs_bulk_delete},
    {"POST", "/api/traces/bulk", RS, 0, ts_rs_bulk_delete},
    {"GET", "/api/traces/{}", RS, 0, ts_rs_get_trace},
    {"POST", "/api/traces/{}", RS, 0, ts_rs_get_trace}, /* S1 allows POST too */
    {"DELETE", "/api/traces/{}", RS, 0, ts_rs_delete_trace},
    {"POST", "/api/v1/traces", RS, TS_R_INGEST, ts_otlp_traces},
    {"POST", "/api/v2/traces", RS, TS_R_INGEST, ts_otlp_traces},
    {NULL, NULL, TS_FAMILY_NONE, 0, NULL},
};
