/* health.c: liveness and readiness. GET /healthz proves the store can
 * commit (an empty write transaction through the writer); GET /health is
 * TruLayer's unauthenticated status route. */
#include <string.h>

#include "api/api.h"
#include "tracestore/timeutil.h"

static int healthz_done(ts_req *r)
{
    cJSON *o = cJSON_CreateObject();
    int ok = r->write.rc == TS_OK;
    cJSON_AddStringToObject(o, "status", ok ? "ok" : "unavailable");
    if (!ok)
        r->retry_after = 1;
    ts_api_json(r, ok ? 200 : 503, o);
    return TS_H_DONE;
}

int ts_api_healthz(ts_req *r)
{
    memset(&r->write, 0, sizeof(r->write));
    r->write.kind = TS_W_PING;
    r->cont = healthz_done;
    return TS_H_ASYNC;
}

int ts_api_health(ts_req *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    ts_api_add_time(o, "time", ts_now_ns());
    ts_api_json(r, 200, o);
    return TS_H_DONE;
}
