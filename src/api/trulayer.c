/* trulayer.c: TruLayer's trace routes (trulayer-api.md): ingest and batch
 * ingest, the trace list with its filters and keyset cursor, the trace
 * detail with spans and events, feedback, metrics and projects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "codec/trulayer_ingest.h"
#include "codec/trulayer_query.h"
#include "ingest/ingest.h"
#include "tracestore/ids.h"
#include "tracestore/timeutil.h"

/* TruLayer shows 128-bit ids in UUID form. */
static void put_uuid(ts_jsonw *w, const char *key, const char *canon)
{
    char buf[TS_ID_MAX + 1];
    ts_id_to_uuid_form(canon, buf);
    ts_api_put_str(w, key, buf);
}

/* Span ids that are 128-bit hex (TruLayer's own UUIDs) show as UUIDs. */
static void put_span_id(ts_jsonw *w, const char *key, const char *id)
{
    char canon[TS_ID_MAX + 1];
    if (ts_id_canon(id, strlen(id), canon) == 0)
        put_uuid(w, key, canon);
    else
        ts_api_put_str(w, key, id);
}

/* The answer is written straight into the response buffer, no cJSON tree
 * (docs/PERFORMANCE.md): a 100-span trace is ~80 KB. */
static void put_span(ts_jsonw *w, const ts_span *s, const ts_workspace *ws)
{
    ts_jsonw_obj_begin(w);
    put_span_id(w, "id", s->span_id);
    ts_api_put_time(w, "created_at", s->created_ns);
    ts_api_put_str(w, "tenant_id", ws->uuid);
    put_uuid(w, "trace_id", s->trace_id);
    ts_api_put_str_opt(w, "name", s->name);
    ts_api_put_str(w, "type", s->type ? s->type : "other");
    if (s->parent_id)
        put_span_id(w, "parent_span_id", s->parent_id);
    ts_api_put_str_opt(w, "input", s->input);
    ts_api_put_str_opt(w, "output", s->output);
    ts_api_put_str_opt(w, "model", s->model);
    int64_t lat = s->latency_ms >= 0 ? s->latency_ms : ts_time_diff_ms(s->start_ns, s->end_ns);
    ts_api_put_i64(w, "latency_ms", lat);
    if (s->has_cost)
        ts_api_put_double(w, "cost", s->cost);
    ts_api_put_str_opt(w, "error", s->error);
    ts_api_put_tokens_opt(w, "prompt_tokens", s->prompt_tokens);
    ts_api_put_tokens_opt(w, "completion_tokens", s->completion_tokens);
    ts_api_put_raw(w, "metadata", s->metadata, "{}");
    ts_api_put_time(w, "start_time", s->start_ns);
    ts_api_put_time(w, "end_time", s->end_ns);
    ts_api_put_str(w, "otel_trace_id", s->trace_id);
    ts_api_put_str(w, "otel_span_id", s->span_id);
    ts_jsonw_obj_end(w);
}

/* The members of the Trace object shared by detail (with spans) and list. */
static void put_trace_fields(ts_jsonw *w, const ts_trace *t)
{
    put_uuid(w, "id", t->trace_id);
    ts_api_put_str(w, "project_id", t->project_uuid);
    ts_api_put_str(w, "error", t->error);
    ts_api_put_raw(w, "tags", t->tags, "[]");
    ts_api_put_time_opt(w, "started_at", t->has_started, t->started_ns);
    ts_api_put_time_opt(w, "ended_at", t->has_ended, t->ended_ns);
    ts_api_put_str(w, "session_id", t->session_id);
    ts_api_put_str(w, "external_id", t->external_id);
    ts_api_put_str(w, "name", t->name);
    ts_api_put_str(w, "input", t->input);
    ts_api_put_str(w, "output", t->output);
    ts_api_put_str(w, "model", t->model);
    ts_api_put_i64(w, "latency_ms", t->latency_ms);
    if (t->has_cost)
        ts_api_put_double(w, "cost", t->cost);
    else
        ts_api_put_str(w, "cost", NULL);
    ts_api_put_i64(w, "unpriced_span_count", t->unpriced_span_count);
    ts_api_put_i64(w, "total_token_count", t->total_tokens);
    ts_api_put_i64(w, "prompt_tokens_total", t->prompt_tokens);
    ts_api_put_i64(w, "completion_tokens_total", t->completion_tokens);
    if (t->tag_map)
        ts_api_put_raw(w, "tag_map", t->tag_map, "{}");
    ts_api_put_raw(w, "metadata", t->metadata, "{}");
    ts_api_put_i64(w, "span_count", t->span_count);
    ts_api_put_i64(w, "error_count", t->error_count);
}

int ts_tl_get_trace(ts_req *r)
{
    char id[TS_ID_MAX + 1];
    ts_trace t;
    ts_span *spans = NULL;
    size_t n = 0;
    ts_jsonw w;
    int rc = ts_api_trace_id(r->params[0], id) == 0
                 ? ts_store_trace_get(r->app->store, r->ws.id, id, r->arena, &t, &spans, &n)
                 : TS_ENOTFOUND;
    if (rc != TS_OK) {
        ts_api_fail(r, rc, rc == TS_ENOTFOUND ? "Trace not found." : ts_strerror(rc));
        return TS_H_DONE;
    }
    ts_jsonw_init(&w);
    ts_jsonw_obj_begin(&w);
    put_trace_fields(&w, &t);
    ts_api_put_i64(&w, "control_loop_depth", 0);
    ts_api_put_raw(&w, "events", t.events, "[]");
    ts_jsonw_key(&w, "spans");
    ts_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        put_span(&w, &spans[i], &r->ws);
    ts_jsonw_arr_end(&w);
    ts_jsonw_obj_end(&w);
    ts_api_jsonw(r, 200, &w);
    return TS_H_DONE;
}

/* ---------------- ingest ---------------- */

static int ingest_single_done(ts_req *r);
static int ingest_batch_done(ts_req *r);

/* Shared by POST /v1/ingest (batch = 0) and POST /v1/ingest/batch. */
static int ingest(ts_req *r, int batch)
{
    ts_err err;
    ts_trace_meta *traces = NULL;
    ts_span *spans = NULL;
    size_t nt = 0, ns = 0;
    int rc;

    ts_err_clear(&err);
    if (ts_api_require_json(r) != 0)
        return TS_H_DONE;
    rc = ts_trulayer_decode(r->body ? r->body : "", r->body_len, batch, r->app->cfg, r->arena,
                            &traces, &nt, &spans, &ns, &err);
    if (rc == TS_OK)
        rc = ts_ingest_dedupe_traces(traces, &nt);
    if (rc == TS_OK)
        rc = ts_ingest_prepare(spans, &ns, r->arena);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, err.msg[0] ? err.msg : ts_strerror(rc));
        return TS_H_DONE;
    }
    ts_api_ingest_job(r, spans, ns, batch ? ingest_batch_done : ingest_single_done);
    r->write.traces = traces;
    r->write.ntraces = nt;
    r->write.skip_existing_traces = 1;
    return TS_H_ASYNC;
}

static int ingest_done(ts_req *r, int batch)
{
    const ts_write *w = &r->write;
    char id[TS_ID_MAX + 1];
    if (w->rc != TS_OK) {
        ts_api_write_failed(r);
        return TS_H_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    if (!batch) {
        const ts_trace_meta *m = &w->traces[0];
        ts_id_to_uuid_form(m->trace_id, id);
        if (m->duplicate) {
            cJSON_AddStringToObject(o, "status", "duplicate");
            cJSON_AddStringToObject(o, "id", id);
            ts_api_json(r, 200, o);
            return TS_H_DONE;
        }
        cJSON_AddStringToObject(o, "id", id);
        ts_api_add_time(o, "created_at", m->created_ns);
        ts_api_json(r, 201, o);
        return TS_H_DONE;
    }
    int64_t ingested = 0;
    cJSON *ids = cJSON_CreateArray();
    for (size_t i = 0; i < w->ntraces; i++) {
        ingested += !w->traces[i].duplicate;
        ts_id_to_uuid_form(w->traces[i].trace_id, id);
        cJSON_AddItemToArray(ids, cJSON_CreateString(id));
    }
    ts_api_add_i64(o, "ingested", ingested);
    cJSON_AddItemToObject(o, "ids", ids);
    ts_api_json(r, 201, o);
    return TS_H_DONE;
}

static int ingest_single_done(ts_req *r)
{
    return ingest_done(r, 0);
}

static int ingest_batch_done(ts_req *r)
{
    return ingest_done(r, 1);
}

int ts_tl_ingest(ts_req *r)
{
    return ingest(r, 0);
}

int ts_tl_ingest_batch(ts_req *r)
{
    return ingest(r, 1);
}

/* ---------------- list ---------------- */

static const char *query_get(void *ctx, const char *name)
{
    return ts_req_query(ctx, name);
}

/* Renders a query parse error (codec/trulayer_query.c) as a 400; returns -1. */
static int bad_query(ts_req *r, const ts_err *err)
{
    ts_api_error(r, 400, err->type, "%s", err->msg);
    return -1;
}

/* Non-negative integer query parameter; -1 (400 set) when malformed. */
static int q_uint(ts_req *r, const char *name, int *has, int64_t *v)
{
    ts_err err;
    ts_err_clear(&err);
    if (ts_trulayer_query_uint(query_get, r, name, has, v, &err) != TS_OK)
        return bad_query(r, &err);
    return 0;
}

static int q_time(ts_req *r, const char *name, int *has, int64_t *v)
{
    ts_err err;
    ts_err_clear(&err);
    if (ts_trulayer_query_time(query_get, r, name, has, v, &err) != TS_OK)
        return bad_query(r, &err);
    return 0;
}

static void list_answer(ts_req *r, const ts_trace *rows, size_t n, int more)
{
    ts_jsonw w;
    ts_idmask m;
    ts_api_idmask(r, &m);
    ts_jsonw_init(&w);
    ts_jsonw_obj_begin(&w);
    ts_jsonw_key(&w, "traces");
    ts_jsonw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        ts_jsonw_obj_begin(&w);
        put_trace_fields(&w, &rows[i]);
        ts_jsonw_obj_end(&w);
    }
    ts_jsonw_arr_end(&w);
    ts_jsonw_key(&w, "has_more");
    ts_jsonw_bool(&w, more);
    const ts_trace *last = more && n > 0 ? &rows[n - 1] : NULL;
    ts_api_put_str(&w, "next_cursor",
                   last
                       ? ts_trulayer_cursor_encode(r->arena, last->sort_key,
                                                   ts_idmask_hide(&m, TS_ID_TRACE_POS, last->rowid))
                       : NULL);
    ts_jsonw_obj_end(&w);
    ts_api_jsonw(r, 200, &w);
}

int ts_tl_list_traces(ts_req *r)
{
    ts_tl_conds l = {.n = 0};
    ts_err err;
    ts_trace_query q = {.sort = TS_QS_STARTED, .desc = 1, .limit = 50};
    int has_limit;
    int64_t limit = 50;
    ts_trace *rows = NULL;
    size_t n = 0;
    int more = 0;
    const char *cur = ts_req_query(r, "cursor");
    ts_idmask m;

    ts_api_idmask(r, &m);
    if (q_uint(r, "limit", &has_limit, &limit) != 0)
        return TS_H_DONE;
    int64_t max = r->app->cfg->max_page_size < 200 ? r->app->cfg->max_page_size : 200;
    if (has_limit && (limit < 1 || limit > max)) {
        ts_api_error(r, 400, "error.invalid_parameter", "limit must be between 1 and %lld",
                     (long long)max);
        return TS_H_DONE;
    }
    if (!has_limit && limit > max)
        limit = max;
    if (cur && *cur) {
        if (ts_trulayer_cursor_decode(cur, &q.after_key, &q.after_id) != 0 ||
            (q.after_id = ts_idmask_reveal(&m, TS_ID_TRACE_POS, q.after_id)) < 1) {
            ts_api_error(r, 400, "error.invalid_cursor", "cursor is not a valid next_cursor");
            return TS_H_DONE;
        }
        q.has_after = 1;
    }
    ts_err_clear(&err);
    if (ts_trulayer_list_filters(query_get, r, r->arena, &l, &q, &err) != TS_OK) {
        bad_query(r, &err);
        return TS_H_DONE;
    }
    q.conds = l.c;
    q.nconds = l.n;
    q.limit = limit;
    int rc = ts_store_trace_list(r->app->store, r->ws.id, &q, r->arena, &rows, &n, &more, NULL);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, ts_strerror(rc));
        return TS_H_DONE;
    }
    list_answer(r, rows, n, more);
    return TS_H_DONE;
}

/* ---------------- feedback ---------------- */

static int feedback_done(ts_req *r)
{
    const ts_write *w = &r->write;
    const ts_feedback *f = w->feedback;
    char id[TS_ID_MAX + 1];
    if (w->rc != TS_OK) {
        ts_api_write_failed(r);
        return TS_H_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", f->id);
    ts_id_to_uuid_form(f->trace_id, id);
    cJSON_AddStringToObject(o, "trace_id", id);
    cJSON_AddStringToObject(o, "label", f->label);
    if (f->has_score)
        cJSON_AddNumberToObject(o, "score", f->score);
    else
        cJSON_AddNullToObject(o, "score");
    ts_api_add_str(o, "comment", f->comment);
    ts_api_add_raw(o, "metadata", f->metadata, "{}");
    ts_api_add_time(o, "created_at", f->created_ns);
    ts_api_json(r, 201, o);
    return TS_H_DONE;
}

int ts_tl_feedback(ts_req *r)
{
    ts_err err;
    ts_feedback *f = ts_arena_calloc(r->arena, 1, sizeof(*f));
    ts_err_clear(&err);
    if (ts_api_require_json(r) != 0)
        return TS_H_DONE;
    if (!f) {
        ts_api_fail(r, TS_ENOMEM, "out of memory");
        return TS_H_DONE;
    }
    int rc = ts_trulayer_feedback_decode(r->body ? r->body : "", r->body_len, r->app->cfg, r->arena,
                                         f, &err);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, err.msg[0] ? err.msg : ts_strerror(rc));
        return TS_H_DONE;
    }
    memset(&r->write, 0, sizeof(r->write));
    r->write.kind = TS_W_FEEDBACK;
    r->write.ws_id = r->ws.id;
    r->write.feedback = f;
    r->cont = feedback_done;
    return TS_H_ASYNC;
}

/* ---------------- metrics, projects ---------------- */

int ts_tl_metrics(ts_req *r)
{
    int has_from, has_to;
    int64_t from = 0, to = 0, now = ts_now_ns();
    ts_metrics m;
    const char *project = ts_req_query(r, "project_id");

    if (q_time(r, "from", &has_from, &from) || q_time(r, "to", &has_to, &to))
        return TS_H_DONE;
    if (!has_to)
        to = now;
    if (!has_from)
        from = to - INT64_C(86400) * 1000000000;
    if (to < from) {
        ts_api_error(r, 400, "error.invalid_range", "to must not be before from");
        return TS_H_DONE;
    }
    int rc = ts_store_metrics(r->app->store, r->ws.id, project && *project ? project : NULL, from,
                              to, &m);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, ts_strerror(rc));
        return TS_H_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    ts_api_add_i64(o, "total_traces", m.total_traces);
    ts_api_add_i64(o, "error_count", m.error_count);
    if (m.total_traces > 0) {
        cJSON_AddNumberToObject(o, "error_rate", (double)m.error_count / (double)m.total_traces);
        ts_api_add_i64(o, "p50_latency_ms", m.p50_ms);
        ts_api_add_i64(o, "p95_latency_ms", m.p95_ms);
        ts_api_add_i64(o, "p99_latency_ms", m.p99_ms);
    } else {
        cJSON_AddNullToObject(o, "error_rate");
        cJSON_AddNullToObject(o, "p50_latency_ms");
        cJSON_AddNullToObject(o, "p95_latency_ms");
        cJSON_AddNullToObject(o, "p99_latency_ms");
    }
    cJSON_AddNumberToObject(o, "total_cost", m.total_cost);
    ts_api_add_time(o, "from", from);
    ts_api_add_time(o, "to", to);
    ts_api_json(r, 200, o);
    return TS_H_DONE;
}

int ts_tl_projects(ts_req *r)
{
    int has_limit;
    int64_t limit = 0, after = 0, dummy;
    const char *cur = ts_req_query(r, "cursor");
    ts_project *ps = NULL;
    size_t n = 0;
    int more = 0;

    if (q_uint(r, "limit", &has_limit, &limit) != 0)
        return TS_H_DONE;
    if (has_limit && (limit < 1 || limit > 200)) {
        ts_api_error(r, 400, "error.invalid_parameter", "limit must be between 1 and 200");
        return TS_H_DONE;
    }
    ts_idmask m;
    ts_api_idmask(r, &m);
    if (cur && *cur &&
        (ts_trulayer_cursor_decode(cur, &dummy, &after) != 0 ||
         (after = ts_idmask_reveal(&m, TS_ID_PROJECT_POS, after)) < 1)) {
        ts_api_error(r, 400, "error.invalid_cursor", "cursor is not a valid next_cursor");
        return TS_H_DONE;
    }
    int paged = has_limit || (cur && *cur);
    if (paged && !has_limit)
        limit = 50;
    int rc = ts_store_projects(r->app->store, r->ws.id, after, paged ? limit : 0, r->arena, &ps, &n,
                               &more);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, ts_strerror(rc));
        return TS_H_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "projects");
    for (size_t i = 0; i < n; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "id", ps[i].uuid);
        cJSON_AddStringToObject(p, "organization_id", r->ws.uuid);
        cJSON_AddStringToObject(p, "name", ps[i].name);
        cJSON_AddStringToObject(p, "slug", ps[i].name);
        cJSON_AddNullToObject(p, "archived_at");
        cJSON_AddNullToObject(p, "retention_days_override");
        ts_api_add_time(p, "created_at", ps[i].created_ns);
        ts_api_add_time(p, "updated_at", ps[i].created_ns);
        cJSON_AddItemToArray(arr, p);
    }
    if (paged) {
        cJSON_AddBoolToObject(o, "has_more", more);
        if (more && n)
            cJSON_AddStringToObject(
                o, "next_cursor",
                ts_trulayer_cursor_encode(r->arena, 0,
                                          ts_idmask_hide(&m, TS_ID_PROJECT_POS, ps[n - 1].rowid)));
        else
            cJSON_AddNullToObject(o, "next_cursor");
    }
    ts_api_json(r, 200, o);
    return TS_H_DONE;
}
