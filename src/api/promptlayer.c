/* promptlayer.c: PromptLayer's trace routes: POST /spans-bulk, Get Trace,
 * Close Trace and the JS SDK's POST /track-request (promptlayer-api.md
 * sections 2, 4, 5, 6). */
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "codec/spans_bulk.h"
#include "codec/track_request.h"
#include "ingest/ingest.h"

static const char *const kind_text[] = {"SpanKind.INTERNAL", "SpanKind.INTERNAL",
                                        "SpanKind.SERVER",   "SpanKind.CLIENT",
                                        "SpanKind.PRODUCER", "SpanKind.CONSUMER"};
static const char *const status_text[] = {"StatusCode.UNSET", "StatusCode.OK",
                                          "StatusCode.ERROR"};

/* FastAPI's HTTPValidationError: {"detail":[{"loc":[...],"msg","type"}]} */
static void validation_error(ts_req *r, const ts_err *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *detail = cJSON_AddArrayToObject(o, "detail");
    cJSON *e = cJSON_CreateObject();
    cJSON *loc = cJSON_AddArrayToObject(e, "loc");
    for (int i = 0; i < err->nloc; i++) {
        if (err->loc[i].is_index)
            cJSON_AddItemToArray(loc, cJSON_CreateNumber((double)err->loc[i].index));
        else
            cJSON_AddItemToArray(loc, cJSON_CreateString(err->loc[i].key));
    }
    cJSON_AddStringToObject(e, "msg", err->msg);
    cJSON_AddStringToObject(e, "type", err->type[0] ? err->type : "value_error");
    cJSON_AddItemToArray(detail, e);
    ts_api_json(r, 422, o);
}

static int spans_bulk_done(ts_req *r);

int ts_pl_spans_bulk(ts_req *r)
{
    ts_err err;
    ts_span *spans = NULL;
    size_t n = 0;
    int close_after = 0, rc;

    ts_err_clear(&err);
    if (ts_api_require_json(r) != 0)
        return TS_H_DONE;
    rc = ts_spans_bulk_decode(r->body ? r->body : "", r->body_len, r->app->cfg, r->arena, &spans,
                              &n, &close_after, &err);
    if (rc == TS_EINVAL) {
        validation_error(r, &err);
        return TS_H_DONE;
    }
    if (rc == TS_OK)
        rc = ts_ingest_prepare(spans, &n, r->arena);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, err.msg[0] ? err.msg : ts_strerror(rc));
        return TS_H_DONE;
    }
    ts_api_ingest_job(r, spans, n, spans_bulk_done);
    r->write.close_after = close_after;
    return TS_H_ASYNC;
}

/* Whether an earlier rejected span of w has the trace id of span i. */
static int rejected_trace_seen(const ts_write *w, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (w->spans[k].rejected && strcmp(w->spans[k].trace_id, w->spans[i].trace_id) == 0)
            return 1;
    return 0;
}

/* Written straight into the response buffer: a cJSON tree of three nodes
 * per span cost more than the rest of the answer. */
static int spans_bulk_done(ts_req *r)
{
    const ts_write *w = &r->write;
    ts_jsonw o;
    ts_idmask m;
    if (w->rc != TS_OK) {
        ts_api_write_failed(r);
        return TS_H_DONE;
    }
    ts_api_idmask(r, &m);
    ts_jsonw_init(&o);
    ts_jsonw_obj_begin(&o);
    ts_jsonw_key(&o, "success");
    ts_jsonw_bool(&o, 1);
    ts_jsonw_key(&o, "spans");
    ts_jsonw_arr_begin(&o);
    for (size_t i = 0; i < w->nspans; i++) {
        const ts_span *s = &w->spans[i];
        if (s->rejected)
            continue;
        ts_jsonw_obj_begin(&o);
        ts_api_put_i64(&o, "id", ts_idmask_hide(&m, TS_ID_SPAN, s->rowid));
        ts_api_put_str(&o, "name", s->name);
        ts_api_put_str(&o, "span_id", s->span_id);
        ts_jsonw_obj_end(&o);
    }
    ts_jsonw_arr_end(&o);
    ts_jsonw_key(&o, "request_logs");
    ts_jsonw_arr_begin(&o);
    for (size_t i = 0; i < w->nspans; i++) {
        const ts_span *s = &w->spans[i];
        if (s->rejected || s->request_log_id <= 0 || !s->log_request)
            continue;
        ts_jsonw_obj_begin(&o);
        ts_api_put_i64(&o, "id", ts_idmask_hide(&m, TS_ID_REQUEST_LOG, s->request_log_id));
        ts_api_put_str(&o, "span_id", s->span_id);
        ts_jsonw_obj_end(&o);
    }
    ts_jsonw_arr_end(&o);
    if (w->nrejected) {
        ts_jsonw_key(&o, "rejected_span_ids");
        ts_jsonw_arr_begin(&o);
        for (size_t i = 0; i < w->nspans; i++)
            if (w->spans[i].rejected)
                ts_jsonw_str(&o, w->spans[i].span_id);
        ts_jsonw_arr_end(&o);
        ts_jsonw_key(&o, "rejected_trace_ids"); /* each once, in order */
        ts_jsonw_arr_begin(&o);
        for (size_t i = 0; i < w->nspans; i++)
            if (w->spans[i].rejected && !rejected_trace_seen(w, i))
                ts_jsonw_str(&o, w->spans[i].trace_id);
        ts_jsonw_arr_end(&o);
        ts_api_put_str(&o, "rejection_reason", "trace_closed");
    }
    ts_jsonw_obj_end(&o);
    ts_api_jsonw(r, 201, &o);
    return TS_H_DONE;
}

/* A number, or null when absent. */
static void put_i64_or_null(ts_jsonw *w, const char *key, int has, int64_t v)
{
    if (has)
        ts_api_put_i64(w, key, v);
    else
        ts_api_put_str(w, key, NULL);
}

static void put_status_and_context(ts_jsonw *w, const ts_span *s)
{
    int code = s->status_code >= 0 && s->status_code <= 2 ? s->status_code : 0;
    ts_jsonw_key(w, "status");
    ts_jsonw_obj_begin(w);
    ts_api_put_str(w, "status_code", status_text[code]);
    ts_api_put_str(w, "description", s->status_message);
    ts_jsonw_obj_end(w);
    ts_jsonw_key(w, "context");
    ts_jsonw_obj_begin(w);
    ts_api_put_str(w, "trace_id", s->trace_id);
    ts_api_put_str(w, "span_id", s->span_id);
    ts_api_put_str(w, "trace_state", s->trace_state ? s->trace_state : "");
    ts_jsonw_obj_end(w);
}

/* Written straight into the response buffer, as the TruLayer detail. */
static void put_span(ts_jsonw *w, const ts_idmask *m, const ts_span *s)
{
    int kind = s->kind >= 0 && s->kind <= 5 ? s->kind : 0;
    ts_jsonw_obj_begin(w);
    ts_api_put_i64(w, "id", ts_idmask_hide(m, TS_ID_SPAN, s->rowid));
    ts_api_put_str_opt(w, "name", s->name);
    ts_api_put_str(w, "trace_id", s->trace_id);
    ts_api_put_str(w, "span_id", s->span_id);
    ts_api_put_str(w, "parent_id", s->parent_id);
    ts_api_put_time(w, "start_time", s->start_ns);
    ts_api_put_time(w, "end_time", s->end_ns);
    ts_api_put_time(w, "start", s->start_ns);
    ts_api_put_time(w, "end", s->end_ns);
    ts_api_put_str(w, "kind", kind_text[kind]);
    put_status_and_context(w, s);
    ts_api_put_raw(w, "attributes", s->attributes, "{}");
    ts_api_put_raw(w, "resource", s->resource, "{}");
    ts_api_put_raw(w, "events", s->events, "[]");
    ts_api_put_raw(w, "links", s->links, "[]");
    put_i64_or_null(w, "request_log_id", s->request_log_id > 0,
                    ts_idmask_hide(m, TS_ID_REQUEST_LOG, s->request_log_id));
    ts_api_put_str(w, "provider", s->provider);
    ts_api_put_str(w, "model", s->model);
    put_i64_or_null(w, "input_tokens", s->prompt_tokens != TS_TOKENS_ABSENT, s->prompt_tokens);
    put_i64_or_null(w, "output_tokens", s->completion_tokens != TS_TOKENS_ABSENT,
                    s->completion_tokens);
    if (s->has_cost)
        ts_api_put_double(w, "cost", s->cost);
    else
        ts_api_put_str(w, "cost", NULL);
    ts_jsonw_obj_end(w);
}

int ts_pl_get_trace(ts_req *r)
{
    char id[TS_ID_MAX + 1];
    ts_trace t;
    ts_span *spans = NULL;
    size_t n = 0;
    ts_jsonw w;
    ts_idmask m;

    if (ts_api_trace_id(r->params[0], id) != 0) {
        ts_api_error(r, 422, "invalid_trace_id",
                     "trace_id must be 1 to 128 printable ASCII characters");
        return TS_H_DONE;
    }
    int rc = ts_store_trace_get(r->app->store, r->ws.id, id, r->arena, &t, &spans, &n);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, rc == TS_ENOTFOUND ? "Trace not found" : ts_strerror(rc));
        return TS_H_DONE;
    }
    ts_jsonw_init(&w);
    ts_jsonw_obj_begin(&w);
    ts_jsonw_key(&w, "success");
    ts_jsonw_bool(&w, 1);
    ts_api_put_str(&w, "trace_id", t.trace_id);
    ts_jsonw_key(&w, "spans");
    ts_jsonw_arr_begin(&w);
    ts_api_idmask(r, &m);
    for (size_t i = 0; i < n; i++)
        put_span(&w, &m, &spans[i]);
    ts_jsonw_arr_end(&w);
    ts_jsonw_obj_end(&w);
    ts_api_jsonw(r, 200, &w);
    return TS_H_DONE;
}

static int close_done(ts_req *r)
{
    const ts_write *w = &r->write;
    if (w->rc != TS_OK) {
        ts_api_write_failed(r);
        return TS_H_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", 1);
    cJSON *c = cJSON_AddObjectToObject(o, "closure");
    cJSON_AddStringToObject(c, "id", w->closure.id);
    ts_idmask m;
    ts_api_idmask(r, &m);
    ts_api_add_i64(c, "workspace_id", ts_idmask_hide(&m, TS_ID_WORKSPACE, w->closure.workspace_id));
    cJSON_AddStringToObject(c, "trace_id", w->closure.trace_id);
    cJSON_AddStringToObject(c, "status", "closed");
    ts_api_add_time(c, "created_at", w->closure.created_ns);
    ts_api_add_time(c, "updated_at", w->closure.updated_ns);
    ts_api_json(r, 201, o);
    return TS_H_DONE;
}

int ts_pl_close_trace(ts_req *r)
{
    char id[TS_ID_MAX + 1];
    if (ts_api_trace_id(r->params[0], id) != 0) {
        ts_api_error(r, 422, "invalid_trace_id",
                     "trace_id must be 1 to 128 printable ASCII characters");
        return TS_H_DONE;
    }
    memset(&r->write, 0, sizeof(r->write));
    r->write.kind = TS_W_CLOSE;
    r->write.ws_id = r->ws.id;
    r->write.trace_id = ts_arena_strdup(r->arena, id);
    r->cont = close_done;
    return TS_H_ASYNC;
}

/* ---------------- /track-request ---------------- */

static int track_done(ts_req *r)
{
    const ts_write *w = &r->write;
    if (w->rc != TS_OK) {
        ts_api_write_failed(r);
        return TS_H_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", 1);
    ts_idmask m;
    ts_api_idmask(r, &m);
    ts_api_add_i64(o, "request_id", ts_idmask_hide(&m, TS_ID_REQUEST_LOG, w->track->request_id));
    cJSON_AddNullToObject(o, "prompt_blueprint");
    ts_api_json(r, 200, o);
    return TS_H_DONE;
}

/* The key travels in the body (api_key); the X-API-KEY / Bearer headers
 * are accepted as a fallback. */
int ts_pl_track_request(ts_req *r)
{
    ts_err err;
    ts_track *t = ts_arena_calloc(r->arena, 1, sizeof(*t));
    char *key = NULL;
    ts_err_clear(&err);
    if (ts_api_require_json(r) != 0)
        return TS_H_DONE;
    if (!t) {
        ts_api_fail(r, TS_ENOMEM, "out of memory");
        return TS_H_DONE;
    }
    int rc = ts_track_request_decode(r->body ? r->body : "", r->body_len, r->app->cfg, r->arena, t,
                                     &key, &err);
    const char *k = key;
    size_t klen = k ? strlen(k) : 0;
    /* Same rules as every other route (one header, no conflict, no NUL),
     * and the same rate limit once the key is known. */
    if (!klen && ts_req_header_key(r, &k, &klen) != TS_OK)
        return TS_H_DONE;
    if (ts_req_authenticate(r, k, klen) != TS_OK)
        return TS_H_DONE;
    if (rc != TS_OK) {
        ts_api_error(r, rc == TS_ETOOBIG ? 413 : 400, "invalid_request", "%s",
                     err.msg[0] ? err.msg : ts_strerror(rc));
        return TS_H_DONE;
    }
    memset(&r->write, 0, sizeof(r->write));
    r->write.kind = TS_W_TRACK_REQUEST;
    r->write.ws_id = r->ws.id;
    r->write.track = t;
    /* The JS SDK sends no price: the span the log lands on is priced from
     * the table like any span (the store derives it again). */
    r->write.derive = ts_ingest_derive;
    r->cont = track_done;
    return TS_H_ASYNC;
}
