/* trulayer.c: TruLayer's trace routes (trulayer-api.md): the trace detail
 * GET /v1/traces/{id} with spans and per-trace totals. */
#include <string.h>

#include "api/api.h"
#include "tracestore/ids.h"

/* TruLayer shows 128-bit ids in UUID form. */
static void add_id(cJSON *o, const char *key, const char *canon, ts_arena *a)
{
    char buf[TS_ID_MAX + 1];
    ts_id_to_uuid_form(canon, buf);
    cJSON_AddStringToObject(o, key, buf);
    (void)a;
}

static cJSON *span_json(const ts_span *s, const ts_workspace *ws, ts_arena *a)
{
    cJSON *o = cJSON_CreateObject();
    char canon[TS_ID_MAX + 1];

    /* Span ids that are 128-bit hex (TruLayer's own UUIDs) show as UUIDs. */
    if (ts_id_canon(s->span_id, strlen(s->span_id), canon) == 0)
        add_id(o, "id", canon, a);
    else
        cJSON_AddStringToObject(o, "id", s->span_id);
    ts_api_add_time(o, "created_at", s->created_ns);
    cJSON_AddStringToObject(o, "tenant_id", ws->uuid);
    add_id(o, "trace_id", s->trace_id, a);
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "type", s->type ? s->type : "other");
    if (s->parent_id) {
        if (ts_id_canon(s->parent_id, strlen(s->parent_id), canon) == 0)
            add_id(o, "parent_span_id", canon, a);
        else
            cJSON_AddStringToObject(o, "parent_span_id", s->parent_id);
    }
    ts_api_add_str_opt(o, "input", s->input);
    ts_api_add_str_opt(o, "output", s->output);
    ts_api_add_str_opt(o, "model", s->model);
    int64_t lat = s->latency_ms >= 0 ? s->latency_ms : (s->end_ns - s->start_ns) / 1000000;
    ts_api_add_i64(o, "latency_ms", lat);
    if (s->has_cost)
        cJSON_AddNumberToObject(o, "cost", s->cost);
    ts_api_add_str_opt(o, "error", s->error);
    ts_api_add_tokens_opt(o, "prompt_tokens", s->prompt_tokens);
    ts_api_add_tokens_opt(o, "completion_tokens", s->completion_tokens);
    ts_api_add_raw(o, "metadata", s->metadata, "{}");
    ts_api_add_time(o, "start_time", s->start_ns);
    ts_api_add_time(o, "end_time", s->end_ns);
    cJSON_AddStringToObject(o, "otel_trace_id", s->trace_id);
    cJSON_AddStringToObject(o, "otel_span_id", s->span_id);
    return o;
}

/* The Trace object shared by detail (with spans) and, later, list items. */
static cJSON *trace_json(const ts_trace *t, ts_arena *a)
{
    cJSON *o = cJSON_CreateObject();
    add_id(o, "id", t->trace_id, a);
    ts_api_add_str(o, "project_id", t->project_uuid);
    ts_api_add_str(o, "error", t->error);
    ts_api_add_raw(o, "tags", t->tags, "[]");
    ts_api_add_time(o, "started_at", t->started_ns);
    ts_api_add_time(o, "ended_at", t->ended_ns);
    ts_api_add_str(o, "session_id", t->session_id);
    ts_api_add_str(o, "external_id", t->external_id);
    ts_api_add_str(o, "name", t->name);
    ts_api_add_str(o, "input", t->input);
    ts_api_add_str(o, "output", t->output);
    ts_api_add_str(o, "model", t->model);
    ts_api_add_i64(o, "latency_ms", t->latency_ms);
    if (t->has_cost)
        cJSON_AddNumberToObject(o, "cost", t->cost);
    else
        cJSON_AddNullToObject(o, "cost");
    ts_api_add_i64(o, "unpriced_span_count", t->unpriced_span_count);
    ts_api_add_i64(o, "total_token_count", t->total_tokens);
    ts_api_add_i64(o, "prompt_tokens_total", t->prompt_tokens);
    ts_api_add_i64(o, "completion_tokens_total", t->completion_tokens);
    if (t->tag_map)
        ts_api_add_raw(o, "tag_map", t->tag_map, "{}");
    ts_api_add_raw(o, "metadata", t->metadata, "{}");
    ts_api_add_i64(o, "span_count", t->span_count);
    ts_api_add_i64(o, "error_count", t->error_count);
    return o;
}

int ts_tl_get_trace(ts_req *r)
{
    char id[TS_ID_MAX + 1];
    ts_trace t;
    ts_span *spans = NULL;
    size_t n = 0;
    int rc = ts_api_trace_id(r->params[0], id) == 0
                 ? ts_store_trace_get(r->app->store, r->ws.id, id, r->arena, &t, &spans, &n)
                 : TS_ENOTFOUND;
    if (rc != TS_OK) {
        ts_api_fail(r, rc, rc == TS_ENOTFOUND ? "Trace not found." : ts_strerror(rc));
        return TS_H_DONE;
    }
    cJSON *o = trace_json(&t, r->arena);
    ts_api_add_i64(o, "control_loop_depth", 0);
    ts_api_add_raw(o, "events", t.events, "[]");
    cJSON *arr = cJSON_AddArrayToObject(o, "spans");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, span_json(&spans[i], &r->ws, r->arena));
    ts_api_json(r, 200, o);
    return TS_H_DONE;
}
