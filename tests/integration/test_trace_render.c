/* test_trace_render.c: the TruLayer trace detail (GET /v1/traces/{id}) and
 * list (GET /v1/traces) and the PromptLayer trace (GET
 * /api/public/v2/traces/{id}) answers are byte-for-byte what the cJSON
 * renderers they replaced printed. The reference below is that renderer, frozen: it
 * reads the same rows from the store the daemon wrote (opened in-process
 * after the daemon stops) and prints them with cJSON_PrintUnformatted. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tracestore/apikey.h"
#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/idmask.h"
#include "tracestore/ids.h"
#include "tracestore/log.h"
#include "tracestore/store.h"
#include "tracestore/timeutil.h"

#define T0 INT64_C(1700000000000000000)
#define MS INT64_C(1000000)
#define NTRACES 5

static ts_daemon D;

/* ---- the pre-change renderer (src/api/trulayer.c before jw) ----
 * with the two decisions of issue 23 since: a time of 0 is 1970, null only
 * for a trace without a start (23.8), and integers print every digit,
 * not through a double (23.6). */

static void ref_time_opt(cJSON *o, const char *key, int has, int64_t ns)
{
    char buf[TS_ISO_BUFSZ];
    if (!has)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddStringToObject(o, key, ts_time_format_iso(ns, buf));
}

static void ref_time(cJSON *o, const char *key, int64_t ns)
{
    ref_time_opt(o, key, 1, ns);
}

static void ref_str(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

static void ref_str_opt(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
}

static void ref_raw(cJSON *o, const char *key, const char *json, const char *dflt)
{
    cJSON_AddRawToObject(o, key, json ? json : dflt);
}

static void ref_i64(cJSON *o, const char *key, int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)v);
    cJSON_AddRawToObject(o, key, b);
}

static void ref_tokens_opt(cJSON *o, const char *key, int64_t v)
{
    if (v != TS_TOKENS_ABSENT)
        ref_i64(o, key, v);
}

static void ref_uuid(cJSON *o, const char *key, const char *canon)
{
    char buf[TS_ID_MAX + 1];
    ts_id_to_uuid_form(canon, buf);
    cJSON_AddStringToObject(o, key, buf);
}

/* A span or parent id: UUID form when 128-bit hex, else as stored. */
static void ref_span_id(cJSON *o, const char *key, const char *id)
{
    char canon[TS_ID_MAX + 1];
    if (ts_id_canon(id, strlen(id), canon) == 0)
        ref_uuid(o, key, canon);
    else
        cJSON_AddStringToObject(o, key, id);
}

static cJSON *ref_span(const ts_span *s, const ts_workspace *ws)
{
    cJSON *o = cJSON_CreateObject();
    ref_span_id(o, "id", s->span_id);
    ref_time(o, "created_at", s->created_ns);
    cJSON_AddStringToObject(o, "tenant_id", ws->uuid);
    ref_uuid(o, "trace_id", s->trace_id);
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "type", s->type ? s->type : "other");
    if (s->parent_id)
        ref_span_id(o, "parent_span_id", s->parent_id);
    ref_str_opt(o, "input", s->input);
    ref_str_opt(o, "output", s->output);
    ref_str_opt(o, "model", s->model);
    ref_i64(o, "latency_ms",
            s->latency_ms >= 0 ? s->latency_ms : ts_time_diff_ms(s->start_ns, s->end_ns));
    if (s->has_cost)
        cJSON_AddNumberToObject(o, "cost", s->cost);
    ref_str_opt(o, "error", s->error);
    ref_tokens_opt(o, "prompt_tokens", s->prompt_tokens);
    ref_tokens_opt(o, "completion_tokens", s->completion_tokens);
    ref_raw(o, "metadata", s->metadata, "{}");
    ref_time(o, "start_time", s->start_ns);
    ref_time(o, "end_time", s->end_ns);
    cJSON_AddStringToObject(o, "otel_trace_id", s->trace_id);
    cJSON_AddStringToObject(o, "otel_span_id", s->span_id);
    return o;
}

static cJSON *ref_trace(const ts_trace *t)
{
    cJSON *o = cJSON_CreateObject();
    ref_uuid(o, "id", t->trace_id);
    ref_str(o, "project_id", t->project_uuid);
    ref_str(o, "error", t->error);
    ref_raw(o, "tags", t->tags, "[]");
    ref_time_opt(o, "started_at", t->has_started, t->started_ns);
    ref_time_opt(o, "ended_at", t->has_ended, t->ended_ns);
    ref_str(o, "session_id", t->session_id);
    ref_str(o, "external_id", t->external_id);
    ref_str(o, "name", t->name);
    ref_str(o, "input", t->input);
    ref_str(o, "output", t->output);
    ref_str(o, "model", t->model);
    ref_i64(o, "latency_ms", t->latency_ms);
    if (t->has_cost)
        cJSON_AddNumberToObject(o, "cost", t->cost);
    else
        cJSON_AddNullToObject(o, "cost");
    ref_i64(o, "unpriced_span_count", t->unpriced_span_count);
    ref_i64(o, "total_token_count", t->total_tokens);
    ref_i64(o, "prompt_tokens_total", t->prompt_tokens);
    ref_i64(o, "completion_tokens_total", t->completion_tokens);
    if (t->tag_map)
        ref_raw(o, "tag_map", t->tag_map, "{}");
    ref_raw(o, "metadata", t->metadata, "{}");
    ref_i64(o, "span_count", t->span_count);
    ref_i64(o, "error_count", t->error_count);
    return o;
}

static char *ref_print(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* A stored trace with its spans, as both trace GETs read it. */
typedef struct stored {
    ts_trace t;
    ts_span *spans;
    size_t n;
    const ts_workspace *ws;
} stored;

typedef cJSON *(*ref_answer)(const stored *d);

/* Reads trace canon back from the store and prints answer(it). */
static char *ref_render(ts_store *st, const ts_workspace *ws, const char *canon, ref_answer answer)
{
    ts_arena *a = ts_arena_new(0);
    stored d = {.ws = ws};
    ck_assert_int_eq(ts_store_trace_get(st, ws->id, canon, a, &d.t, &d.spans, &d.n), TS_OK);
    char *s = ref_print(answer(&d));
    ts_arena_free(a);
    return s;
}

static cJSON *ref_detail(const stored *d)
{
    cJSON *o = ref_trace(&d->t);
    ref_i64(o, "control_loop_depth", 0);
    ref_raw(o, "events", d->t.events, "[]");
    cJSON *arr = cJSON_AddArrayToObject(o, "spans");
    for (size_t i = 0; i < d->n; i++)
        cJSON_AddItemToArray(arr, ref_span(&d->spans[i], d->ws));
    return o;
}

/* GET /v1/traces with no parameters: newest first, 50 a page. */
static char *ref_list(ts_store *st, const ts_workspace *ws)
{
    ts_arena *a = ts_arena_new(0);
    ts_trace_query q = {.sort = TS_QS_STARTED, .desc = 1, .limit = 50};
    ts_trace *rows = NULL;
    size_t n = 0;
    int more = 0;
    ck_assert_int_eq(ts_store_trace_list(st, ws->id, &q, a, &rows, &n, &more, NULL), TS_OK);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "traces");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, ref_trace(&rows[i]));
    cJSON_AddBoolToObject(o, "has_more", more);
    cJSON_AddNullToObject(o, "next_cursor"); /* fewer than a page here */
    ck_assert_int_eq(more, 0);
    char *s = ref_print(o);
    ts_arena_free(a);
    return s;
}

/* ---- the pre-change PromptLayer renderer (src/api/promptlayer.c) ---- */

static const char *const REF_KIND[] = {"SpanKind.INTERNAL", "SpanKind.INTERNAL",
                                       "SpanKind.SERVER",   "SpanKind.CLIENT",
                                       "SpanKind.PRODUCER", "SpanKind.CONSUMER"};
static const char *const REF_STATUS[] = {"StatusCode.UNSET", "StatusCode.OK", "StatusCode.ERROR"};

static void ref_i64_or_null(cJSON *o, const char *key, int has, int64_t v)
{
    if (has)
        ref_i64(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

/* The workspace's id mask: the API shows row ids through it (idmask.h). */
static ts_idmask ref_mask;

static cJSON *ref_pl_span(const ts_span *s)
{
    cJSON *o = cJSON_CreateObject();
    int kind = s->kind >= 0 && s->kind <= 5 ? s->kind : 0;
    int code = s->status_code >= 0 && s->status_code <= 2 ? s->status_code : 0;
    ref_i64(o, "id", ts_idmask_hide(&ref_mask, TS_ID_SPAN, s->rowid));
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "trace_id", s->trace_id);
    cJSON_AddStringToObject(o, "span_id", s->span_id);
    ref_str(o, "parent_id", s->parent_id);
    ref_time(o, "start_time", s->start_ns);
    ref_time(o, "end_time", s->end_ns);
    ref_time(o, "start", s->start_ns);
    ref_time(o, "end", s->end_ns);
    cJSON_AddStringToObject(o, "kind", REF_KIND[kind]);
    cJSON *st = cJSON_AddObjectToObject(o, "status");
    cJSON_AddStringToObject(st, "status_code", REF_STATUS[code]);
    ref_str(st, "description", s->status_message);
    cJSON *ctx = cJSON_AddObjectToObject(o, "context");
    cJSON_AddStringToObject(ctx, "trace_id", s->trace_id);
    cJSON_AddStringToObject(ctx, "span_id", s->span_id);
    cJSON_AddStringToObject(ctx, "trace_state", s->trace_state ? s->trace_state : "");
    ref_raw(o, "attributes", s->attributes, "{}");
    ref_raw(o, "resource", s->resource, "{}");
    ref_raw(o, "events", s->events, "[]");
    ref_raw(o, "links", s->links, "[]");
    ref_i64_or_null(o, "request_log_id", s->request_log_id > 0,
                    ts_idmask_hide(&ref_mask, TS_ID_REQUEST_LOG, s->request_log_id));
    ref_str(o, "provider", s->provider);
    ref_str(o, "model", s->model);
    ref_i64_or_null(o, "input_tokens", s->prompt_tokens != TS_TOKENS_ABSENT, s->prompt_tokens);
    ref_i64_or_null(o, "output_tokens", s->completion_tokens != TS_TOKENS_ABSENT,
                    s->completion_tokens);
    if (s->has_cost)
        cJSON_AddNumberToObject(o, "cost", s->cost);
    else
        cJSON_AddNullToObject(o, "cost");
    return o;
}

static cJSON *ref_pl_detail(const stored *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", 1);
    cJSON_AddStringToObject(o, "trace_id", d->t.trace_id);
    cJSON *arr = cJSON_AddArrayToObject(o, "spans");
    for (size_t i = 0; i < d->n; i++)
        cJSON_AddItemToArray(arr, ref_pl_span(&d->spans[i]));
    return o;
}

/* ---- the data ---- */

/* Control characters, quotes, backslashes, DEL and 2/3/4-byte UTF-8. */
#define NASTY                                                                                      \
    "h\xc3\xa9llo \xe2\x86\x92 \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x9a\x80 "                         \
    "\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/ \x7f"                                                  \
    " end"

static const char *const TL_BODIES[] = {
    /* everything present; span ids 128-bit hex (UUID form, plain hex) and not */
    "{\"id\":\"@ID\",\"name\":\"" NASTY "\",\"input\":\"in \\u0010 " NASTY "\","
    "\"output\":{\"structured\":[1,2.5,\"x\"]},\"model\":\"gpt-4o\",\"session_id\":\"sess-"
    "\xc3\xbc\","
    "\"external_id\":\"ext\\t1\",\"tags\":[\"alpha\",\"\xce\xb2\\u0002\"],"
    "\"metadata\":{\"a\":{\"b\":[1,2.5,{\"c\":null}],\"d\":true},\"s\":\"x\\ny\",\"n\":-0.0001},"
    "\"events\":[{\"message\":\"retry "
    "\\u0004\",\"data\":{\"n\":1}},{\"message\":\"m\",\"level\":\"warn\"}],\"cost\":0.1,\"latency_"
    "ms\":1234,"
    "\"started_at\":\"2023-11-14T22:13:20.123Z\",\"ended_at\":\"2023-11-14T22:13:21.357Z\","
    "\"spans\":["
    "{\"id\":\"6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b\",\"name\":\"root \\u0003\",\"type\":\"agent\","
    "\"input\":\"" NASTY "\",\"output\":\"out\",\"start_time\":\"2023-11-14T22:13:20.123Z\","
    "\"end_time\":\"2023-11-14T22:13:21.357Z\",\"metadata\":{\"k\":{\"deep\":[{\"x\":\"y\"}]}}},"
    "{\"id\":\"span-not-hex\",\"parent_span_id\":\"6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b\","
    "\"name\":\"llm\",\"type\":\"llm\",\"model\":\"gpt-4o\",\"prompt_tokens\":3000000000,"
    "\"completion_tokens\":1000000000000000,\"cost\":1e-7,\"latency_ms\":17,"
    "\"start_time\":\"2023-11-14T22:13:20.200Z\"},"
    "{\"id\":\"0123456789abcdef0123456789ABCDEF\",\"parent_span_id\":\"span-not-hex\","
    "\"name\":\"tool\",\"type\":\"tool\",\"cost\":123456.789,\"error\":\"boom \\\"quoted\\\"\","
    "\"latency_ms\":5,\"start_time\":\"2023-11-14T22:13:20.300Z\"},"
    "{\"id\":\"s4\",\"parent_span_id\":\"0123456789abcdef0123456789abcdef\",\"name\":\"meta-"
    "priced\","
    "\"type\":\"llm\",\"prompt_tokens\":0,\"metadata\":{\"cost_usd\":0.30000000000000004},"
    "\"start_time\":\"2023-11-14T22:13:20.400Z\",\"end_time\":\"2023-11-14T22:13:20.4005Z\"}]}",
    /* the minimum: optional fields absent, no cost, empty type */
    "{\"id\":\"@ID\",\"name\":\"min\",\"spans\":[{\"name\":\"only\",\"type\":\"\"}]}",
    /* tags as an object (tag_map), a zero cost, an error */
    "{\"id\":\"@ID\",\"name\":\"tagged\",\"tags\":{\"env\":\"prod\",\"team\":\"a\\u0005\"},"
    "\"cost\":0,\"error\":\"failed\",\"started_at\":\"2023-11-14T22:13:25Z\","
    "\"spans\":[{\"id\":\"x\",\"name\":\"n\",\"type\":\"tool\",\"cost\":2.5e-12,"
    "\"prompt_tokens\":999999999999999,\"completion_tokens\":2147483648}]}",
};

/* A /spans-bulk trace priced by the price table (non-hex 16-digit span ids). */
static void ingest_bulk(char trace_hex[33])
{
    ts_span_spec sp[2];
    char s0[17], s1[17];
    memset(sp, 0, sizeof sp);
    ts_new_trace_id(trace_hex);
    ts_new_span_id(s0);
    ts_new_span_id(s1);
    sp[0] = (ts_span_spec){.trace_id = trace_hex,
                           .span_id = s0,
                           .name = "agent \x01 run",
                           .start_ns = T0,
                           .end_ns = T0 + 900 * MS};
    sp[1] = (ts_span_spec){.trace_id = trace_hex,
                           .span_id = s1,
                           .parent_id = s0,
                           .name = "openai.chat",
                           .start_ns = T0 + MS,
                           .end_ns = T0 + 700 * MS,
                           .kind = "SpanKind.CLIENT",
                           .status_code = "StatusCode.ERROR",
                           .description = "upstream \"429\"\x02",
                           .model = "gpt-4o",
                           .input_text = "q\n\"1\"",
                           .output_text = "\xe2\x9c\x93",
                           .input_tokens = 1234,
                           .output_tokens = 567,
                           .price = 0.0123456789};
    char *body = ts_spans_body(sp, 2, 1);
    ts_resp *r = ts_req("POST", "/spans-bulk", D.key_alpha, body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    free(body);
}

/* POSTs tmpl to /v1/ingest with its "@ID" replaced by a fresh UUID. */
static void ingest_tl(const char *tmpl, char uuid[37])
{
    char hex[33], body[8192];
    const char *at = strstr(tmpl, "@ID");
    ts_new_trace_id(hex);
    ts_hex_to_uuid(hex, uuid);
    ck_assert(at != NULL);
    int n = snprintf(body, sizeof body, "%.*s%s%s", (int)(at - tmpl), tmpl, uuid, at + 3);
    ck_assert(n > 0 && (size_t)n < sizeof body);
    ts_resp *r = ts_req("POST", "/v1/ingest", D.key_alpha, body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
}

static char *get_body(const char *path)
{
    ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    char *s = strdup(r->body);
    ts_resp_free(r);
    return s;
}

static void expect_same(const char *what, const char *got, const char *want)
{
    size_t i = 0;
    while (got[i] && got[i] == want[i])
        i++;
    if (got[i] == want[i])
        return;
    size_t from = i > 60 ? i - 60 : 0;
    ts_fail_at(__FILE__, __LINE__, "%s differs at byte %zu:\n got: %.120s\nwant: %.120s", what, i,
               got + from, want + from);
}

static ts_store *open_store(ts_workspace *ws)
{
    ts_config cfg;
    ts_err err;
    ts_store *st = NULL;
    ts_log_set_level(TS_LOG_ERROR);
    ck_assert_int_eq(ts_apikey_init(), TS_OK);
    ts_config_defaults(&cfg);
    snprintf(cfg.db_path, sizeof cfg.db_path, "%s", D.db);
    ts_err_clear(&err);
    ck_assert_msg(ts_store_open(&cfg, &st, &err) == TS_OK, "open: %s", err.msg);
    ck_assert_int_eq(ts_apikey_authenticate(st, D.key_alpha, strlen(D.key_alpha), ws), TS_OK);
    return st;
}

/* TruLayer detail and list, and PromptLayer's trace GET, for every trace. */
START_TEST(test_detail_and_list_match_cjson)
{
    char ids[NTRACES][37], hex[33], path[128];
    char *got[NTRACES + 1], *pl[NTRACES];
    ts_workspace ws;

    for (size_t i = 0; i < 3; i++)
        ingest_tl(TL_BODIES[i], ids[i]);
    ingest_bulk(hex);
    ts_hex_to_uuid(hex, ids[3]);
    snprintf(ids[4], sizeof ids[4], "%s", hex); /* the same trace, asked by plain hex */
    for (size_t i = 0; i < NTRACES; i++) {
        snprintf(path, sizeof path, "/v1/traces/%s", ids[i]);
        got[i] = get_body(path);
    }
    got[NTRACES] = get_body("/v1/traces");
    for (size_t i = 0; i < NTRACES; i++) {
        snprintf(path, sizeof path, "/api/public/v2/traces/%s", ids[i]);
        pl[i] = get_body(path);
    }
    ts_d_stop(&D);

    ts_store *st = open_store(&ws);
    ts_idmask_init(&ref_mask, ts_store_id_secret(st), ws.id);
    for (size_t i = 0; i < NTRACES; i++) {
        char canon[TS_ID_MAX + 1];
        ck_assert_int_eq(ts_id_canon(ids[i], strlen(ids[i]), canon), TS_OK);
        char *want = ref_render(st, &ws, canon, ref_detail);
        expect_same(ids[i], got[i], want);
        free(want);
        free(got[i]);
        want = ref_render(st, &ws, canon, ref_pl_detail);
        expect_same(ids[i], pl[i], want);
        free(want);
        free(pl[i]);
    }
    char *want = ref_list(st, &ws);
    expect_same("list", got[NTRACES], want);
    free(want);
    free(got[NTRACES]);
    ts_store_close(st);
}
END_TEST

static void up(void)
{
    ts_d_init(&D, 1, NULL);
    ts_d_start(&D);
}

static void down(void)
{
    ts_d_free(&D);
}

int main(void)
{
    Suite *s = suite_create("integration-trace-render");
    TCase *tc = tcase_create("render");
    tcase_add_unchecked_fixture(tc, up, down);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_detail_and_list_match_cjson);
    suite_add_tcase(s, tc);
    return ts_it_run(s);
}
