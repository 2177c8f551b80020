/* respan.c: Respan's trace routes (respan-api.md): DELETE
 * /api/traces/{trace_unique_id}/ with an optional start/end window. */
#include <string.h>

#include "api/api.h"
#include "tracestore/timeutil.h"

static int delete_done(ts_req *r)
{
    if (r->write.rc != TS_OK) {
        ts_api_write_failed(r);
        return TS_H_DONE;
    }
    char msg[TS_ID_MAX + 64];
    snprintf(msg, sizeof(msg), "Successfully deleted trace %s", r->params[0]);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "success", msg);
    cJSON_AddStringToObject(o, "message", msg);
    ts_api_json(r, 200, o);
    return TS_H_DONE;
}

/* Parses an optional ISO time query parameter; -1 (400 set) if malformed. */
static int window_bound(ts_req *r, const char *name, int *has, int64_t *ns)
{
    const char *v = ts_req_query(r, name);
    *has = 0;
    if (!v || !*v)
        return 0;
    if (ts_time_parse_iso(v, ns) != TS_OK) {
        ts_api_error(r, 400, "invalid_time",
                     "Invalid %s: '%.64s' is not an ISO 8601 date-time", name, v);
        return -1;
    }
    *has = 1;
    return 0;
}

int ts_rs_delete_trace(ts_req *r)
{
    char id[TS_ID_MAX + 1];
    ts_write *w = &r->write;

    memset(w, 0, sizeof(*w));
    if (ts_api_trace_id(r->params[0], id) != 0) {
        ts_api_error(r, 400, "invalid_trace_id",
                     "Invalid trace_unique_id: must be 1 to 128 printable ASCII characters");
        return TS_H_DONE;
    }
    if (window_bound(r, "start_time", &w->has_from, &w->from_ns) != 0 ||
        window_bound(r, "end_time", &w->has_to, &w->to_ns) != 0)
        return TS_H_DONE;
    w->kind = TS_W_DELETE;
    w->ws_id = r->ws.id;
    w->trace_id = ts_arena_strdup(r->arena, id);
    r->cont = delete_done;
    return TS_H_ASYNC;
}
