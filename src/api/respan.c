/* respan.c: Respan's trace routes (respan-api.md): JSON span ingest, the
 * trace list with filters, sorts and DRF page-number pagination, the trace
 * with its span_tree, DELETE /api/traces/{trace_unique_id}/ with an
 * optional start/end window, and bulk delete by filter. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "codec/respan_ingest.h"
#include "ingest/ingest.h"
#include "tracestore/timeutil.h"
#include "tracestore/utf8.h"

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
        ts_api_error(r, 400, "invalid_time", "Invalid %s: '%.*s' is not an ISO 8601 date-time",
                     name, (int)ts_utf8_prefix(v, 64), v);
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

/* ---------------- shared renderers ---------------- */

static const char *opt_text(const char *s)
{
    return s;
}

static double seconds(int64_t ms_or_ns, int is_ns)
{
    return is_ns ? (double)ms_or_ns / 1e9 : (double)ms_or_ns / 1e3;
}

/* The §3.1 trace row; id_text is the id as the response should show it. */
static cJSON *trace_row(const ts_trace *t, const ts_workspace *ws, const char *id_text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id_text);
    cJSON_AddStringToObject(o, "trace_unique_id", id_text);
    ts_api_add_str(o, "root_span_unique_id", t->root_span_id);
    cJSON_AddStringToObject(o, "unique_organization_id", ws->uuid);
    cJSON_AddStringToObject(o, "organization_id", ws->uuid);
    cJSON_AddStringToObject(o, "organization_name", ws->name);
    cJSON_AddNullToObject(o, "organization_key_id");
    cJSON_AddNullToObject(o, "environment");
    ts_api_add_str(o, "customer_identifier", t->user_id);
    ts_api_add_time_opt(o, "start_time", t->has_started, t->started_ns);
    ts_api_add_time_opt(o, "end_time", t->has_ended, t->ended_ns);
    cJSON_AddNumberToObject(o, "duration", seconds(t->latency_ms, 0));
    ts_api_add_i64(o, "span_count", t->span_count);
    ts_api_add_i64(o, "llm_call_count", t->llm_span_count);
    cJSON_AddNumberToObject(o, "total_cost", t->has_cost ? t->cost : 0.0);
    ts_api_add_i64(o, "total_prompt_tokens", t->prompt_tokens);
    ts_api_add_i64(o, "total_completion_tokens", t->completion_tokens);
    ts_api_add_i64(o, "total_tokens", t->total_tokens);
    ts_api_add_i64(o, "error_count", t->error_count);
    ts_api_add_str(o, "name", opt_text(t->name));
    ts_api_add_str(o, "input", t->input);
    ts_api_add_str(o, "output", t->output);
    ts_api_add_raw(o, "metadata", t->metadata, "{}");
    cJSON_AddNullToObject(o, "trace_group_identifier");
    ts_api_add_str(o, "session_identifier", t->session_id);
    ts_api_add_str(o, "model", t->model);
    cJSON_AddNullToObject(o, "storage_object_key");
    return o;
}

/* Copies attributes[key] (set by the Respan codec) into o under key. */
static void attr_copy(cJSON *o, const cJSON *attrs, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, key);
    if (v)
        cJSON_AddItemToObject(o, key, cJSON_Duplicate(v, 1));
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *span_node(const ts_span *s, const ts_trace *t, const ts_workspace *ws,
                        const char *id_text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *attrs = s->attributes ? cJSON_Parse(s->attributes) : NULL;
    int64_t lat = s->latency_ms >= 0 ? s->latency_ms : ts_time_diff_ms(s->start_ns, s->end_ns);
    cJSON_AddStringToObject(o, "id", s->span_id);
    cJSON_AddStringToObject(o, "unique_id", s->span_id);
    cJSON_AddStringToObject(o, "span_unique_id", s->span_id);
    cJSON_AddStringToObject(o, "span_name", s->name);
    ts_api_add_str(o, "span_parent_id", s->parent_id);
    cJSON_AddStringToObject(o, "trace_unique_id", id_text);
    ts_api_add_str(o, "customer_identifier", s->user_id ? s->user_id : t->user_id);
    attr_copy(o, attrs, "thread_identifier");
    ts_api_add_str(o, "session_identifier", s->session_id);
    cJSON_AddNullToObject(o, "organization_key_id");
    cJSON_AddStringToObject(o, "organization_id", ws->uuid);
    attr_copy(o, attrs, "environment");
    cJSON_AddStringToObject(o, "log_type", s->type ? s->type : "custom");
    ts_api_add_time(o, "timestamp", s->end_ns);
    ts_api_add_time(o, "start_time", s->start_ns);
    ts_api_add_time(o, "end_time", s->end_ns);
    ts_api_add_i64(o, "prompt_tokens", s->prompt_tokens > 0 ? s->prompt_tokens : 0);
    ts_api_add_i64(o, "completion_tokens", s->completion_tokens > 0 ? s->completion_tokens : 0);
    /* what the trace's total_tokens summed for this span */
    ts_api_add_i64(o, "total_request_tokens",
                   ts_span_tokens_total(s->prompt_tokens, s->completion_tokens, s->total_tokens));
    cJSON_AddNumberToObject(o, "cost", s->has_cost ? s->cost : 0.0);
    ts_api_add_str(o, "model", s->model);
    cJSON_AddNumberToObject(o, "latency", seconds(lat, 0));
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(attrs, "status_code");
    ts_api_add_i64(o, "status_code",
                   cJSON_IsNumber(sc) ? (int64_t)sc->valuedouble : (s->error ? 500 : 200));
    cJSON_AddStringToObject(o, "status", s->error ? "error" : "success");
    ts_api_add_str_opt(o, "error_message", s->error);
    ts_api_add_str(o, "input", s->input);
    ts_api_add_str(o, "output", s->output);
    ts_api_add_raw(o, "metadata", s->metadata, "{}");
    cJSON_AddStringToObject(o, "span_links", s->links ? s->links : "[]");
    cJSON_AddNullToObject(o, "storage_object_key");
    attr_copy(o, attrs, "span_workflow_name");
    cJSON_AddArrayToObject(o, "children");
    cJSON_Delete(attrs);
    return o;
}

/* ---------------- ingest ---------------- */

static int ingest_done(ts_req *r)
{
    const ts_write *w = &r->write;
    if (w->rc != TS_OK) {
        ts_api_write_failed(r);
        return TS_H_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *ids = cJSON_CreateArray(), *errs = cJSON_CreateArray();
    int64_t created = 0, stored = 0;
    for (size_t i = 0; i < w->ntraces; i++) {
        created += !w->traces[i].duplicate;
        cJSON_AddItemToArray(ids, cJSON_CreateString(w->traces[i].trace_id));
    }
    for (size_t i = 0; i < w->nspans; i++) {
        if (!w->spans[i].rejected) {
            stored++;
            continue;
        }
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "span_unique_id", w->spans[i].span_id);
        cJSON_AddStringToObject(e, "trace_unique_id", w->spans[i].trace_id);
        cJSON_AddStringToObject(e, "error", "trace_closed");
        cJSON_AddItemToArray(errs, e);
    }
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddBoolToObject(o, "success", 1);
    ts_api_add_i64(o, "ingested_spans", stored);
    ts_api_add_i64(o, "ingested_count", stored);
    ts_api_add_i64(o, "created_traces", created);
    cJSON_AddItemToObject(o, "trace_ids", ids);
    cJSON_AddItemToObject(o, "errors", errs);
    ts_api_json(r, 200, o);
    return TS_H_DONE;
}

int ts_rs_ingest(ts_req *r)
{
    ts_err err;
    ts_span *spans = NULL;
    ts_trace_meta *metas = NULL;
    size_t n = 0, nm = 0;
    ts_err_clear(&err);
    if (ts_api_require_json(r) != 0)
        return TS_H_DONE;
    int rc = ts_respan_decode(r->body ? r->body : "", r->body_len, r->app->cfg, r->arena, &spans,
                              &n, &err);
    if (rc == TS_OK)
        rc = ts_ingest_prepare(spans, &n, r->arena);
    if (rc == TS_OK)
        rc = ts_ingest_trace_metas(spans, n, r->arena, &metas, &nm);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, err.msg[0] ? err.msg : ts_strerror(rc));
        return TS_H_DONE;
    }
    ts_api_ingest_job(r, spans, n, ingest_done);
    r->write.traces = metas;
    r->write.ntraces = nm;
    return TS_H_ASYNC;
}

/* ---------------- list ---------------- */

/* Appends the start_time/end_time window (on the trace's start) to conds. */
static int window_conds(ts_req *r, ts_qcond **conds, size_t *n)
{
    int hf, ht;
    int64_t from = 0, to = 0;
    if (window_bound(r, "start_time", &hf, &from) != 0 ||
        window_bound(r, "end_time", &ht, &to) != 0)
        return -1;
    ts_qcond *nc = ts_arena_alloc(r->arena, (*n + 2) * sizeof(*nc));
    if (!nc)
        return -1;
    if (*n)
        memcpy(nc, *conds, *n * sizeof(*nc));
    for (int k = 0; k < 2; k++) {
        if (!(k ? ht : hf))
            continue;
        const char **v = ts_arena_alloc(r->arena, sizeof(*v));
        v[0] = ts_arena_printf(r->arena, "%lld", (long long)(k ? to : from));
        nc[(*n)++] = (ts_qcond){TS_QF_STARTED, k ? TS_QOP_LTE : TS_QOP_GTE, NULL, v, 1};
    }
    *conds = nc;
    return 0;
}

typedef struct urlbuf {
    char *s;
    size_t len, cap;
    ts_arena *a;
    int64_t page;
} urlbuf;

static void url_put(urlbuf *u, const char *s, int encode)
{
    for (; *s; s++) {
        char tmp[4];
        const char *piece = s;
        size_t n = 1;
        unsigned char ch = (unsigned char)*s;
        if (encode && !(isalnum(ch) || strchr("-._~", ch))) {
            snprintf(tmp, sizeof(tmp), "%%%02X", ch);
            piece = tmp;
            n = 3;
        }
        if (u->len + n + 1 > u->cap) {
            size_t ncap = u->cap * 2 + n + 64;
            char *ns = ts_arena_alloc(u->a, ncap);
            if (!ns)
                return;
            if (u->len)
                memcpy(ns, u->s, u->len);
            u->s = ns;
            u->cap = ncap;
        }
        memcpy(u->s + u->len, piece, n);
        u->len += n;
        u->s[u->len] = '\0';
    }
}

static void url_arg(void *ctx, const char *k, const char *v)
{
    urlbuf *u = ctx;
    if (strcmp(k, "page") == 0)
        return;
    url_put(u, u->len && u->s[u->len - 1] != '?' ? "&" : "", 0);
    url_put(u, k, 1);
    url_put(u, "=", 0);
    url_put(u, v ? v : "", 1);
}

/* Absolute URL of this request with page replaced (page 1: no page arg). */
static char *page_url(ts_req *r, int64_t page)
{
    urlbuf u = {.a = r->arena, .cap = 0, .len = 0, .s = NULL};
    const char *host = ts_req_header(r, "Host");
    const char *proto = ts_req_header(r, "X-Forwarded-Proto");
    url_put(&u, proto && strcmp(proto, "https") == 0 ? "https://" : "http://", 0);
    url_put(&u, host ? host : "localhost", 0);
    url_put(&u, r->path, 0);
    url_put(&u, "?", 0);
    ts_req_query_each(r, url_arg, &u);
    if (page > 1) {
        char num[32];
        snprintf(num, sizeof(num),
                 "%s"
                 "page=%lld",
                 u.s[u.len - 1] == '?' ? "" : "&", (long long)page);
        url_put(&u, num, 0);
    }
    if (u.len && (u.s[u.len - 1] == '?' || u.s[u.len - 1] == '&'))
        u.s[--u.len] = '\0';
    return u.s;
}

static int64_t q_int_or(ts_req *r, const char *name, int64_t dflt, int *bad)
{
    const char *s = ts_req_query(r, name);
    char *end = NULL;
    *bad = 0;
    if (!s || !*s)
        return dflt;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 1) {
        *bad = 1;
        return dflt;
    }
    return v;
}

int ts_rs_list_traces(ts_req *r)
{
    ts_err err;
    ts_trace_query q;
    ts_qcond *conds = NULL;
    size_t nc = 0;
    int present = 0, badp = 0, bads = 0, more = 0;
    ts_trace *rows = NULL;
    size_t n = 0;
    int64_t count = 0;

    ts_err_clear(&err);
    memset(&q, 0, sizeof(q));
    if (r->body_len && ts_api_require_json(r) != 0)
        return TS_H_DONE;
    int64_t page = q_int_or(r, "page", 1, &badp);
    int64_t max = r->app->cfg->max_page_size < 1000 ? r->app->cfg->max_page_size : 1000;
    int64_t size = q_int_or(r, "page_size", 50, &bads);
    if (size > max)
        size = max; /* DRF clamps page_size to its maximum */
    if (badp || page > INT64_MAX / (size > 0 ? size : 1) - 1) {
        ts_api_error(r, 404, "invalid_page", "Invalid page.");
        return TS_H_DONE;
    }
    if (ts_respan_sort_decode(ts_req_query(r, "sort_by"), &q) != 0) {
        ts_api_error(r, 400, "invalid_sort", "Invalid parameters or filters: unknown sort_by");
        return TS_H_DONE;
    }
    int rc = ts_respan_body_filters(r->body, r->body_len, r->app->cfg, r->arena, &present, &conds,
                                    &nc, &err);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, err.msg[0] ? err.msg : "Invalid parameters or filters");
        return TS_H_DONE;
    }
    if (window_conds(r, &conds, &nc) != 0)
        return TS_H_DONE;
    q.conds = conds;
    q.nconds = nc;
    q.limit = size;
    q.offset = (page - 1) * size;
    q.want_count = 1;
    rc = ts_store_trace_list(r->app->store, r->ws.id, &q, r->arena, &rows, &n, &more, &count);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, ts_strerror(rc));
        return TS_H_DONE;
    }
    if (page > 1 && n == 0) {
        ts_api_error(r, 404, "invalid_page", "Invalid page.");
        return TS_H_DONE;
    }
    cJSON *o = cJSON_CreateObject();
    ts_api_add_i64(o, "count", count);
    ts_api_add_str(o, "next", more ? page_url(r, page + 1) : NULL);
    ts_api_add_str(o, "previous", page > 1 ? page_url(r, page - 1) : NULL);
    cJSON *arr = cJSON_AddArrayToObject(o, "results");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, trace_row(&rows[i], &r->ws, rows[i].trace_id));
    ts_api_json(r, 200, o);
    return TS_H_DONE;
}

/* ---------------- detail with span_tree ---------------- */

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Parent index of every span (-1: root, also for a missing parent, a
 * cycle, or nesting deeper than max_depth, so the answer stays printable).
 * Span ids are unique within a trace; a hash table keeps this linear. */
static int *parents(const ts_span *sp, size_t n, int max_depth, ts_arena *a)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    int *par = ts_arena_alloc(a, (n ? n : 1) * sizeof(int));
    int *slot = ts_arena_alloc(a, cap * sizeof(int));
    if (!par || !slot)
        return NULL;
    for (size_t i = 0; i < cap; i++)
        slot[i] = -1;
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)(str_hash(sp[i].span_id) & (cap - 1));
        while (slot[h] >= 0)
            h = (h + 1) & (cap - 1);
        slot[h] = (int)i;
    }
    for (size_t i = 0; i < n; i++) {
        par[i] = -1;
        if (!sp[i].parent_id)
            continue;
        size_t h = (size_t)(str_hash(sp[i].parent_id) & (cap - 1));
        for (; slot[h] >= 0; h = (h + 1) & (cap - 1))
            if (strcmp(sp[slot[h]].span_id, sp[i].parent_id) == 0) {
                par[i] = slot[h] == (int)i ? -1 : slot[h];
                break;
            }
    }
    /* Walk up at most max_depth steps: a cycle or a deeper chain is cut. */
    for (size_t i = 0; i < n; i++) {
        int steps = 0, p = par[i];
        while (p >= 0 && p != (int)i && steps <= max_depth) {
            p = par[p];
            steps++;
        }
        if (p == (int)i || steps > max_depth)
            par[i] = -1;
    }
    return par;
}

int ts_rs_get_trace(ts_req *r)
{
    char id[TS_ID_MAX + 1];
    ts_trace t;
    ts_span *spans = NULL;
    size_t n = 0;
    if (ts_api_trace_id(r->params[0], id) != 0) {
        ts_api_error(r, 400, "invalid_trace_id",
                     "Invalid trace_unique_id: must be 1 to 128 printable ASCII characters");
        return TS_H_DONE;
    }
    int rc = ts_store_trace_get(r->app->store, r->ws.id, id, r->arena, &t, &spans, &n);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, rc == TS_ENOTFOUND ? "Not found." : ts_strerror(rc));
        return TS_H_DONE;
    }
    int *par = parents(spans, n, (int)(r->app->cfg->max_json_depth / 2), r->arena);
    cJSON **nodes = ts_arena_alloc(r->arena, (n ? n : 1) * sizeof(*nodes));
    if (!par || !nodes) {
        ts_api_fail(r, TS_ENOMEM, "out of memory");
        return TS_H_DONE;
    }
    cJSON *o = trace_row(&t, &r->ws, r->params[0]);
    cJSON *tree = cJSON_AddArrayToObject(o, "span_tree");
    for (size_t i = 0; i < n; i++)
        nodes[i] = span_node(&spans[i], &t, &r->ws, r->params[0]);
    for (size_t i = 0; i < n; i++) {
        cJSON *dst =
            par[i] < 0 ? tree : cJSON_GetObjectItemCaseSensitive(nodes[par[i]], "children");
        cJSON_AddItemToArray(dst, nodes[i]);
    }
    ts_api_json(r, 200, o);
    return TS_H_DONE;
}

/* ---------------- bulk delete ---------------- */

static int bulk_done(ts_req *r)
{
    const ts_write *w = &r->write;
    cJSON *o = cJSON_CreateObject();
    if (w->rc == TS_ETOOBIG) {
        cJSON_AddStringToObject(o, "detail", w->err.msg);
        cJSON_AddStringToObject(o, "error", w->err.msg);
        ts_api_add_i64(o, "matched_count", w->affected);
        ts_api_json(r, 400, o);
        return TS_H_DONE;
    }
    if (w->rc != TS_OK) {
        cJSON_Delete(o);
        ts_api_write_failed(r);
        return TS_H_DONE;
    }
    ts_api_add_i64(o, "deleted_count", w->affected);
    if (w->affected)
        cJSON_AddStringToObject(
            o, "message",
            ts_arena_printf(r->arena, "Successfully deleted %lld traces", (long long)w->affected));
    else
        cJSON_AddStringToObject(o, "message", "No traces matched the given filters");
    ts_api_json(r, 200, o);
    return TS_H_DONE;
}

static void bulk_error(ts_req *r, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detail", msg);
    cJSON_AddStringToObject(o, "error", msg);
    ts_api_json(r, 400, o);
}

int ts_rs_bulk_delete(ts_req *r)
{
    ts_err err;
    ts_qcond *conds = NULL;
    size_t nc = 0;
    int present = 0;
    ts_trace_query *q = ts_arena_calloc(r->arena, 1, sizeof(*q));

    ts_err_clear(&err);
    if (ts_api_require_json(r) != 0)
        return TS_H_DONE;
    if (!q) {
        ts_api_fail(r, TS_ENOMEM, "out of memory");
        return TS_H_DONE;
    }
    int rc = ts_respan_body_filters(r->body, r->body_len, r->app->cfg, r->arena, &present, &conds,
                                    &nc, &err);
    if (rc != TS_OK) {
        ts_api_fail(r, rc, err.msg[0] ? err.msg : "Invalid parameters or filters");
        return TS_H_DONE;
    }
    if (!present) {
        bulk_error(r, "Request body must contain a non-empty 'filters' list");
        return TS_H_DONE;
    }
    if (nc == 0) {
        bulk_error(r, "None of the given filters is a known trace field; nothing was deleted");
        return TS_H_DONE;
    }
    if (window_conds(r, &conds, &nc) != 0)
        return TS_H_DONE;
    q->conds = conds;
    q->nconds = nc;
    memset(&r->write, 0, sizeof(r->write));
    r->write.kind = TS_W_BULK_DELETE;
    r->write.ws_id = r->ws.id;
    r->write.query = q;
    r->write.max_delete = r->app->cfg->max_page_size < 1000 ? r->app->cfg->max_page_size : 1000;
    r->cont = bulk_done;
    return TS_H_ASYNC;
}
