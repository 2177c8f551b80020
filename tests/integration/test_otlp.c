/* test_otlp.c: the OTLP/HTTP receiver over the real binary (issue 3):
 * protobuf and JSON on every vendor path, identical stored spans from both
 * encodings, gzip, 413 before and after decompression, 415, 400 with a
 * google.rpc.Status body, partial success, 409 for closed traces,
 * close_after, empty requests, and the OpenTelemetry JavaScript SDK
 * (tests/node) exporting to the daemon with both of its OTLP/HTTP
 * exporters, its spans then read back with tokens and cost. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/otlp_build.h"
#include "harness.h"

#define T0 UINT64_C(1700000000000000000)

static ts_daemon D;

static void up(void)
{
    ts_d_init(&D, 1, NULL);
    ts_d_start(&D);
}

static void down(void)
{
    ts_d_free(&D);
}

START_TEST(test_clean_shutdown)
{
    ts_d_stop(&D);
}
END_TEST

/* ---- helpers ---- */

static const tb_attr llm_attrs[] = {
    {"gen_ai.operation.name", 's', "chat", NULL, 0, 0},
    {"gen_ai.provider.name", 's', "openai", NULL, 0, 0},
    {"gen_ai.request.model", 's', "gpt-4o-mini", NULL, 0, 0},
    {"gen_ai.usage.input_tokens", 'i', NULL, NULL, 1000, 0},
    {"gen_ai.usage.output_tokens", 'i', NULL, NULL, 500, 0},
    {"gen_ai.input.messages", 's', "[{\"role\":\"user\",\"content\":\"hi\"}]", NULL, 0, 0},
    {"session.id", 's', "sess-1", NULL, 0, 0},
    {"count", 'i', NULL, NULL, 12345678901234LL, 0},
    {"ratio", 'd', NULL, NULL, 0, 0.25},
    {"tags", 'a', "a", "b", 0, 0},
};
#define NLLM (sizeof(llm_attrs) / sizeof(llm_attrs[0]))
static const tb_attr res_attrs[] = {{"service.name", 's', "it", NULL, 0, 0}};

/* A root span and an LLM child in trace tid. */
static void two_spans(tb_span sp[2], const char *tid, const char *root_id, const char *child_id)
{
    sp[0] = (tb_span){tid,          root_id, NULL, "agent", 1,    1, NULL, T0,
                      T0 + 3000000, NULL,    0,    NULL,    NULL, 0, 0};
    sp[1] = (tb_span){tid,          child_id,  root_id, "chat", 3,    0, NULL, T0 + 1000000,
                      T0 + 2000000, llm_attrs, NLLM,    NULL,   NULL, 0, 0};
}

static ts_resp *post(const char *path, const char *key, const char *ctype, const char *cenc,
                     const void *body, size_t len)
{
    char kh[200], ch[200], eh[200];
    const char *h[4] = {NULL, NULL, NULL, NULL};
    int n = 0;
    snprintf(kh, sizeof(kh), "X-API-KEY: %s", key);
    h[n++] = kh;
    snprintf(ch, sizeof(ch), "Content-Type:%s%s", ctype ? " " : "", ctype ? ctype : "");
    h[n++] = ch;
    if (cenc) {
        snprintf(eh, sizeof(eh), "Content-Encoding: %s", cenc);
        h[n++] = eh;
    }
    return ts_http("POST", path, h, body, len);
}

static ts_resp *post_pb(const char *path, const char *key, const tb_req *q)
{
    size_t len;
    unsigned char *b = tb_pb(q, &len);
    ts_resp *r = post(path, key, "application/x-protobuf", NULL, b, len);
    free(b);
    return r;
}

static ts_resp *post_json(const char *path, const char *key, const tb_req *q)
{
    char *b = tb_json(q);
    ts_resp *r = post(path, key, "application/json", NULL, b, strlen(b));
    free(b);
    return r;
}

static unsigned char *gzip_of(const void *in, size_t n, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    unsigned char *out = malloc(cap);
    z.next_in = (unsigned char *)in;
    z.avail_in = (unsigned)n;
    z.next_out = out;
    z.avail_out = (unsigned)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* Binary-safe search of a response body. */
static const void *find_bytes(const ts_resp *r, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= r->len; i++)
        if (memcmp(r->body + i, needle, n) == 0)
            return r->body + i;
    return NULL;
}

static void expect_ctype(const ts_resp *r, const char *want)
{
    char ct[128];
    ck_assert_msg(ts_resp_header(r, "Content-Type", ct, sizeof(ct)) && strcmp(ct, want) == 0,
                  "%s: Content-Type %s, want %s", r->what, ct, want);
}

static ts_resp *get_trace(const char *key, const char *tid)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/traces/%s", tid);
    return ts_req("GET", path, key, NULL);
}

/* Checks the LLM trace written by two_spans as TruLayer shows it. */
static void check_llm_trace(const char *key, const char *tid)
{
    ts_resp *r = get_trace(key, tid);
    TS_STATUS(r, 200);
    cJSON *j = ts_json(r);
    TS_J_INT(j, "span_count", 2);
    TS_J_STR(j, "name", "agent");
    TS_J_INT(j, "prompt_tokens_total", 1000);
    TS_J_INT(j, "completion_tokens_total", 500);
    TS_J_INT(j, "unpriced_span_count", 0);
    TS_J_NUM(j, "cost", (1000 * 0.15 + 500 * 0.60) / 1e6);
    TS_J_STR(j, "spans.1.name", "chat");
    TS_J_STR(j, "spans.1.type", "llm");
    TS_J_STR(j, "spans.1.model", "gpt-4o-mini");
    TS_J_INT(j, "spans.1.prompt_tokens", 1000);
    TS_J_INT(j, "spans.1.completion_tokens", 500);
    TS_J_NUM(j, "spans.1.cost", (1000 * 0.15 + 500 * 0.60) / 1e6);
    TS_J_STR(j, "spans.1.input", "[{\"role\":\"user\",\"content\":\"hi\"}]");
    ts_resp_free(r);
}

/* ---- receiver ---- */

START_TEST(test_protobuf_on_every_path)
{
    const char *paths[] = {"/v1/traces", "/v1/otlp/traces", "/api/v1/traces", "/api/v2/traces"};
    for (int i = 0; i < 4; i++) {
        char tid[33], a[17], b[17];
        tb_span sp[2];
        ts_new_trace_id(tid);
        ts_new_span_id(a);
        ts_new_span_id(b);
        two_spans(sp, tid, a, b);
        tb_req q = {res_attrs, 1, "it", "1", sp, 2};
        ts_resp *r = post_pb(paths[i], D.key_alpha, &q);
        TS_STATUS(r, 200);
        expect_ctype(r, "application/x-protobuf");
        ck_assert_uint_eq(r->len, 0); /* partial_success unset */
        ts_resp_free(r);
        check_llm_trace(D.key_alpha, tid);
    }
}
END_TEST

START_TEST(test_json_and_charset)
{
    char tid[33], a[17], b[17];
    tb_span sp[2];
    ts_new_trace_id(tid);
    ts_new_span_id(a);
    ts_new_span_id(b);
    two_spans(sp, tid, a, b);
    tb_req q = {res_attrs, 1, "it", "1", sp, 2};
    char *body = tb_json(&q);
    ts_resp *r = post("/api/v2/traces", D.key_alpha, "application/json; charset=utf-8", NULL, body,
                      strlen(body));
    TS_STATUS(r, 200);
    expect_ctype(r, "application/json");
    ck_assert_str_eq(r->body, "{}");
    ts_resp_free(r);
    free(body);
    check_llm_trace(D.key_alpha, tid);
    /* the stored attributes look like /spans-bulk ones */
    char path[128];
    snprintf(path, sizeof(path), "/api/public/v2/traces/%s", tid);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    cJSON *j = ts_json(r);
    const cJSON *at = ts_jpath(j, "spans.1.attributes");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(at, "gen_ai.request.model");
    ck_assert_msg(cJSON_IsString(m) && strcmp(m->valuestring, "gpt-4o-mini") == 0, "%s", r->body);
    const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(at, "count");
    ck_assert_msg(cJSON_IsNumber(cnt) && cnt->valuedouble == 12345678901234.0, "%s", r->body);
    TS_J_STR(j, "spans.1.attributes.tags.1", "b");
    ts_resp_free(r);
}
END_TEST

/* Removes keys that differ by design between two writes (row ids, times of ingest). */
static void strip_ids(cJSON *spans)
{
    cJSON *s;
    cJSON_ArrayForEach(s, spans)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(s, "id");
        cJSON_DeleteItemFromObjectCaseSensitive(s, "request_log_id");
        cJSON_DeleteItemFromObjectCaseSensitive(s, "created_at");
        cJSON_DeleteItemFromObjectCaseSensitive(s, "tenant_id");
    }
}

START_TEST(test_same_rows_from_protobuf_and_json)
{
    char tid[33], a[17], b[17], path[128];
    tb_span sp[2];
    ts_new_trace_id(tid);
    ts_new_span_id(a);
    ts_new_span_id(b);
    two_spans(sp, tid, a, b);
    tb_req q = {res_attrs, 1, "it", "1", sp, 2};
    ts_resp *r = post_pb("/v1/traces", D.key_alpha, &q);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    r = post_json("/v1/traces", D.key_beta, &q); /* same ids, other workspace */
    TS_STATUS(r, 200);
    ts_resp_free(r);
    const char *views[] = {"/api/public/v2/traces/", "/v1/traces/"};
    for (int v = 0; v < 2; v++) {
        snprintf(path, sizeof(path), "%s%s", views[v], tid);
        ts_resp *ra = ts_req("GET", path, D.key_alpha, NULL);
        ts_resp *rb = ts_req("GET", path, D.key_beta, NULL);
        TS_STATUS(ra, 200);
        TS_STATUS(rb, 200);
        cJSON *sa = cJSON_GetObjectItem(ts_json(ra), "spans");
        cJSON *sb = cJSON_GetObjectItem(ts_json(rb), "spans");
        strip_ids(sa);
        strip_ids(sb);
        char *ta = cJSON_PrintUnformatted(sa), *tb = cJSON_PrintUnformatted(sb);
        ck_assert_msg(strcmp(ta, tb) == 0, "protobuf: %s\njson:     %s", ta, tb);
        free(ta);
        free(tb);
        ts_resp_free(ra);
        ts_resp_free(rb);
    }
}
END_TEST

/* The service.name of span `name`'s resource in a PromptLayer trace view. */
static const char *span_service(cJSON *spans, const char *name)
{
    cJSON *sp;
    cJSON_ArrayForEach(sp, spans)
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(sp, "name")), name) != 0)
            continue;
        cJSON *attrs = cJSON_GetObjectItem(cJSON_GetObjectItem(sp, "resource"), "attributes");
        return cJSON_GetStringValue(cJSON_GetObjectItem(attrs, "service.name"));
    }
    return NULL;
}

/* Spans of one trace from two services, in two requests and encodings,
 * each keep their own resource (stored once per trace and pair since
 * migration 0006); the same trace id in another workspace keeps its own. */
START_TEST(test_resources_per_span)
{
    static const tb_attr res_a[] = {{"service.name", 's', "svc-a", NULL, 0, 0}};
    static const tb_attr res_b[] = {{"service.name", 's', "svc-b", NULL, 0, 0}};
    static const tb_attr res_c[] = {{"service.name", 's', "svc-c", NULL, 0, 0}};
    char tid[33], a[17], b[17], c[17], path[128];
    tb_span sp[2], third;
    ts_new_trace_id(tid);
    ts_new_span_id(a);
    ts_new_span_id(b);
    ts_new_span_id(c);
    two_spans(sp, tid, a, b);
    third = sp[0];
    third.span_hex = c;
    third.parent_hex = a;
    third.name = "tool";
    tb_req qa = {res_a, 1, "lib-a", "1", sp, 2}, qb = {res_b, 1, NULL, NULL, &third, 1};
    tb_req qc = {res_c, 1, "lib-c", "2", sp, 2};
    ts_resp *r = post_pb("/v1/traces", D.key_alpha, &qa);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    r = post_json("/v1/traces", D.key_alpha, &qb);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    r = post_pb("/v1/traces", D.key_beta, &qc);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    snprintf(path, sizeof(path), "/api/public/v2/traces/%s", tid);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    cJSON *spans = cJSON_GetObjectItem(ts_json(r), "spans");
    ck_assert_int_eq(cJSON_GetArraySize(spans), 3);
    ck_assert_str_eq(span_service(spans, "agent"), "svc-a");
    ck_assert_str_eq(span_service(spans, "chat"), "svc-a");
    ck_assert_str_eq(span_service(spans, "tool"), "svc-b");
    ts_resp_free(r);
    r = ts_req("GET", path, D.key_beta, NULL);
    TS_STATUS(r, 200);
    spans = cJSON_GetObjectItem(ts_json(r), "spans");
    ck_assert_int_eq(cJSON_GetArraySize(spans), 2);
    ck_assert_str_eq(span_service(spans, "agent"), "svc-c");
    ck_assert_str_eq(span_service(spans, "chat"), "svc-c");
    ts_resp_free(r);
}
END_TEST

START_TEST(test_gzip_both_encodings)
{
    for (int enc = 0; enc < 2; enc++) {
        char tid[33], a[17], b[17];
        tb_span sp[2];
        size_t len, zlen;
        ts_new_trace_id(tid);
        ts_new_span_id(a);
        ts_new_span_id(b);
        two_spans(sp, tid, a, b);
        tb_req q = {res_attrs, 1, "it", "1", sp, 2};
        void *plain = enc ? (void *)tb_json(&q) : (void *)tb_pb(&q, &len);
        if (enc)
            len = strlen(plain);
        unsigned char *z = gzip_of(plain, len, &zlen);
        ts_resp *r = post("/v1/otlp/traces", D.key_alpha,
                          enc ? "application/json" : "application/x-protobuf", "gzip", z, zlen);
        TS_STATUS(r, 200);
        ts_resp_free(r);
        check_llm_trace(D.key_alpha, tid);
        /* a corrupt gzip body is a 400 with a Status body */
        z[zlen / 2] ^= 0x55;
        z[zlen - 5] ^= 0x55;
        r = post("/v1/otlp/traces", D.key_alpha, "application/json", "gzip", z, zlen);
        TS_STATUS(r, 400);
        TS_J_INT(ts_json(r), "code", 3);
        TS_J_CONTAINS(ts_json(r), "message", "gzip");
        ts_resp_free(r);
        free(z);
        free(plain);
    }
}
END_TEST

START_TEST(test_415)
{
    const char *body = "{\"resourceSpans\":[]}";
    ts_resp *r = post("/v1/traces", D.key_alpha, "text/plain", NULL, body, strlen(body));
    TS_STATUS(r, 415);
    TS_J_CONTAINS(ts_json(r), "message", "text/plain");
    ts_resp_free(r);
    r = post("/v1/traces", D.key_alpha, NULL, NULL, body, strlen(body));
    TS_STATUS(r, 415);
    TS_J_CONTAINS(ts_json(r), "message", "Content-Type");
    ts_resp_free(r);
    r = post("/v1/traces", D.key_alpha, "application/json", "br", body, strlen(body));
    TS_STATUS(r, 415);
    TS_J_CONTAINS(ts_json(r), "message", "Content-Encoding");
    ts_resp_free(r);
}
END_TEST

START_TEST(test_400_status_bodies)
{
    ts_resp *r =
        post("/api/v1/traces", D.key_alpha, "application/x-protobuf", NULL, "\xff\xff\xff\xff", 4);
    TS_STATUS(r, 400);
    expect_ctype(r, "application/x-protobuf");
    /* google.rpc.Status{code=3 (field 1, varint), message (field 2)} */
    ck_assert_uint_ge(r->len, 4);
    ck_assert(r->body[0] == 0x08 && r->body[1] == 0x03 && r->body[2] == 0x12);
    ck_assert_ptr_nonnull(find_bytes(r, "invalid protobuf body"));
    ts_resp_free(r);
    const char *bad = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":7}]}]}]}";
    r = post("/api/v1/traces", D.key_alpha, "application/json", NULL, bad, strlen(bad));
    TS_STATUS(r, 400);
    TS_J_INT(ts_json(r), "code", 3);
    TS_J_CONTAINS(ts_json(r), "message", "resourceSpans[0].scopeSpans[0].spans[0].name");
    ts_resp_free(r);
    r = post("/api/v1/traces", D.key_alpha, "application/json", NULL, "{nope", 5);
    TS_STATUS(r, 400);
    TS_J_INT(ts_json(r), "code", 3);
    ts_resp_free(r);
}
END_TEST

START_TEST(test_empty_requests)
{
    const char *body = "{\"resourceSpans\":[]}";
    ts_resp *r = post("/v1/traces", D.key_alpha, "application/json", NULL, body, strlen(body));
    TS_STATUS(r, 200);
    ck_assert_str_eq(r->body, "{}");
    ts_resp_free(r);
    r = post("/v1/traces", D.key_alpha, "application/x-protobuf", NULL, "", 0);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    /* and a bad key is still a 401 */
    r = post("/v1/traces", "ts_nope", "application/json", NULL, body, strlen(body));
    TS_STATUS(r, 401);
    ts_resp_free(r);
}
END_TEST

START_TEST(test_partial_success)
{
    char tid[33], a[17], b[17];
    tb_span sp[3];
    ts_new_trace_id(tid);
    ts_new_span_id(a);
    ts_new_span_id(b);
    two_spans(sp, tid, a, b);
    sp[2] = (tb_span){tid, "abcd", NULL, "bad", 1, 0, NULL, T0, T0, NULL, 0, NULL, NULL, 0, 0};
    tb_req q = {res_attrs, 1, "it", "1", sp, 3};
    ts_resp *r = post_json("/v1/traces", D.key_alpha, &q);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "partialSuccess.rejectedSpans", 1);
    TS_J_CONTAINS(ts_json(r), "partialSuccess.errorMessage", "spanId");
    ts_resp_free(r);
    check_llm_trace(D.key_alpha, tid);
    /* protobuf: ExportTraceServiceResponse{partial_success{rejected_spans=1,...}} */
    r = post_pb("/v1/traces", D.key_alpha, &q);
    TS_STATUS(r, 200);
    ck_assert_uint_ge(r->len, 4);
    ck_assert(r->body[0] == 0x0a && r->body[2] == 0x08 && r->body[3] == 0x01);
    ts_resp_free(r);
    /* only bad spans: still 200, nothing stored */
    sp[0].trace_hex = "0000000000000000000000000000000";
    tb_req bad = {NULL, 0, NULL, NULL, &sp[2], 1};
    r = post_json("/v1/traces", D.key_alpha, &bad);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "partialSuccess.rejectedSpans", 1);
    ts_resp_free(r);
}
END_TEST

START_TEST(test_closed_traces_409_and_mixed)
{
    char tid[33], tid2[33], a[17], b[17], c[17], path[160];
    tb_span sp[2];
    ts_new_trace_id(tid);
    ts_new_span_id(a);
    ts_new_span_id(b);
    two_spans(sp, tid, a, b);
    tb_req q = {NULL, 0, NULL, NULL, sp, 2};
    ts_resp *r = post_json("/v1/traces", D.key_alpha, &q);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    snprintf(path, sizeof(path), "/api/public/v2/traces/%s/close", tid);
    r = ts_req("POST", path, D.key_alpha, NULL);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    /* every span in a closed trace: 409 as PromptLayer documents */
    for (int enc = 0; enc < 2; enc++) {
        r = enc ? post_pb("/v1/traces", D.key_alpha, &q) : post_json("/v1/traces", D.key_alpha, &q);
        TS_STATUS(r, 409);
        cJSON *j = ts_json(r);
        char want[80];
        snprintf(want, sizeof(want), "Trace already closed: %s", tid);
        TS_J_STR(j, "error", want);
        TS_J_LEN(j, "trace_ids", 1);
        TS_J_STR(j, "trace_ids.0", tid);
        ts_resp_free(r);
    }
    /* mixed with an open trace: the rest is stored, 200 partial success */
    ts_new_trace_id(tid2);
    ts_new_span_id(c);
    tb_span mixed[3] = {
        sp[0], sp[1], {tid2, c, NULL, "other", 1, 0, NULL, T0, T0 + 1, NULL, 0, NULL, NULL, 0, 0}};
    tb_req qm = {NULL, 0, NULL, NULL, mixed, 3};
    r = post_json("/v1/traces", D.key_alpha, &qm);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "partialSuccess.rejectedSpans", 2);
    TS_J_CONTAINS(ts_json(r), "partialSuccess.errorMessage", "trace already closed");
    ts_resp_free(r);
    r = get_trace(D.key_alpha, tid2);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "span_count", 1);
    ts_resp_free(r);
    r = get_trace(D.key_alpha, tid);
    TS_J_INT(ts_json(r), "span_count", 2); /* unchanged */
    ts_resp_free(r);
}
END_TEST

START_TEST(test_close_after)
{
    char tid[33], a[17], b[17];
    tb_span sp[2];
    ts_new_trace_id(tid);
    ts_new_span_id(a);
    ts_new_span_id(b);
    two_spans(sp, tid, a, b);
    tb_req q = {NULL, 0, NULL, NULL, sp, 2};
    ts_resp *r = post_pb("/v1/traces?close_after=true", D.key_alpha, &q);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    check_llm_trace(D.key_alpha, tid);
    r = post_json("/v1/traces", D.key_alpha, &q);
    TS_STATUS(r, 409);
    ts_resp_free(r);
    r = post_json("/v1/traces?close_after=maybe", D.key_alpha, &q);
    TS_STATUS(r, 400);
    TS_J_CONTAINS(ts_json(r), "message", "close_after");
    ts_resp_free(r);
}
END_TEST

START_TEST(test_unpriced_model)
{
    char tid[33], a[17];
    tb_attr at[] = {{"gen_ai.request.model", 's', "brand-new-model", NULL, 0, 0},
                    {"gen_ai.usage.input_tokens", 'i', NULL, NULL, 10, 0}};
    ts_new_trace_id(tid);
    ts_new_span_id(a);
    tb_span sp = {tid, a, NULL, "llm", 3, 0, NULL, T0, T0 + 5, at, 2, NULL, NULL, 0, 0};
    tb_req q = {NULL, 0, NULL, NULL, &sp, 1};
    ts_resp *r = post_json("/v1/traces", D.key_alpha, &q);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    r = get_trace(D.key_alpha, tid);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "unpriced_span_count", 1);
    TS_J_NULL(ts_json(r), "cost");
    TS_J_ABSENT(ts_json(r), "spans.0.cost");
    ts_resp_free(r);
}
END_TEST

/* ---- limits (own daemon: small body and span limits) ---- */

static ts_daemon L;

static void up_limits(void)
{
    static const char *const env[] = {"TRACESTORE_MAX_BODY_BYTES=65536",
                                      "TRACESTORE_MAX_SPANS_PER_REQUEST=5", NULL};
    ts_d_init(&L, 1, env);
    ts_d_start(&L);
}

static void down_limits(void)
{
    ts_d_free(&L);
}

START_TEST(test_413_before_and_after_decompression)
{
    size_t n = 200000, zlen;
    char *big = malloc(n + 64);
    int k = snprintf(big, n, "{\"resourceSpans\":[],\"pad\":\"");
    memset(big + k, 'a', n - (size_t)k - 2);
    memcpy(big + n - 2, "\"}", 2);
    ts_resp *r = post("/v1/traces", L.key_alpha, "application/json", NULL, big, n);
    TS_STATUS(r, 413);
    ts_resp_free(r);
    /* small on the wire, too big once inflated */
    unsigned char *z = gzip_of(big, n, &zlen);
    ck_assert_uint_lt(zlen, 65536);
    r = post("/v1/traces", L.key_alpha, "application/json", "gzip", z, zlen);
    TS_STATUS(r, 413);
    TS_J_CONTAINS(ts_json(r), "message", "max_body_bytes");
    ts_resp_free(r);
    free(z);
    free(big);
    /* too many spans */
    tb_span sp[6];
    char ids[6][17], tid[33];
    ts_new_trace_id(tid);
    for (int i = 0; i < 6; i++) {
        ts_new_span_id(ids[i]);
        sp[i] = (tb_span){tid, ids[i], NULL, "s", 1, 0, NULL, T0, T0, NULL, 0, NULL, NULL, 0, 0};
    }
    tb_req q = {NULL, 0, NULL, NULL, sp, 6};
    r = post_pb("/v1/traces", L.key_alpha, &q);
    TS_STATUS(r, 413);
    ck_assert_ptr_nonnull(find_bytes(r, "max_spans_per_request"));
    ts_resp_free(r);
    r = post_json("/v1/traces", L.key_alpha, &q);
    TS_STATUS(r, 413);
    TS_J_CONTAINS(ts_json(r), "message", "max_spans_per_request");
    ts_resp_free(r);
}
END_TEST

START_TEST(test_limits_shutdown)
{
    ts_d_stop(&L);
}
END_TEST

/* ---- price_file ---- */

START_TEST(test_price_file_override)
{
    static char path[] = "/tmp/ts-it-prices-XXXXXX";
    static char envv[128];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *json = "{\"models\":[{\"model\":\"house-model\",\"input\":1,\"output\":3,"
                       "\"source\":\"test\",\"date\":\"2026-01-01\"}]}";
    ck_assert_int_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    snprintf(envv, sizeof(envv), "TRACESTORE_PRICE_FILE=%s", path);
    const char *env[] = {envv, NULL};
    ts_daemon d;
    ts_d_init(&d, 1, env);
    ts_d_start(&d);
    char tid[33], a[17], b[17];
    tb_attr at[] = {{"gen_ai.request.model", 's', "acme/House-Model-2026-01-01", NULL, 0, 0},
                    {"gen_ai.usage.input_tokens", 'i', NULL, NULL, 1000000, 0},
                    {"gen_ai.usage.output_tokens", 'i', NULL, NULL, 1000000, 0}};
    tb_attr gpt[] = {{"gen_ai.request.model", 's', "gpt-4o", NULL, 0, 0},
                     {"gen_ai.usage.input_tokens", 'i', NULL, NULL, 10, 0}};
    ts_new_trace_id(tid);
    ts_new_span_id(a);
    ts_new_span_id(b);
    tb_span sp[2] = {{tid, a, NULL, "house", 3, 0, NULL, T0, T0 + 1, at, 3, NULL, NULL, 0, 0},
                     {tid, b, NULL, "gpt", 3, 0, NULL, T0, T0 + 1, gpt, 2, NULL, NULL, 0, 0}};
    tb_req q = {NULL, 0, NULL, NULL, sp, 2};
    ts_resp *r = post_json("/v1/traces", d.key_alpha, &q);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    r = get_trace(d.key_alpha, tid);
    TS_STATUS(r, 200);
    TS_J_NUM(ts_json(r), "cost", 4.0);              /* 1M x $1 + 1M x $3 */
    TS_J_INT(ts_json(r), "unpriced_span_count", 1); /* the file replaced the table */
    ts_resp_free(r);
    ts_d_stop(&d);
    ts_d_free(&d);
    /* a bad file: the daemon refuses to start, and --check-config says why */
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "{\"models\":[{\"model\":\"x\"}]}", 26), 26);
    close(fd);
    char *out = NULL, *err = NULL;
    const char *args[] = {"serve", "--check-config", NULL};
    ck_assert_int_eq(ts_cli(args, env, &out, &err), 1);
    ck_assert_msg(strstr(err, "price_file") && strstr(err, "models[0] (x)"), "stderr: %s", err);
    free(out);
    free(err);
    unlink(path);
}
END_TEST

/* ---- the OpenTelemetry JavaScript SDK ---- */


START_TEST(test_opentelemetry_js_sdk)
{
    char dir[1200], cmd[4096], out[8192], base[128];
    ts_node_setup("node", "export.mjs", "@opentelemetry/exporter-trace-otlp-proto", dir,
                  sizeof(dir));
    snprintf(base, sizeof(base), "http://%s", D.listen);
    const char *modes[][2] = {
        {"proto", "/v1/traces"}, {"json", "/v1/otlp/traces"}, {"proto", "/api/v1/traces"}};
    for (int m = 0; m < 3; m++) {
        snprintf(cmd, sizeof(cmd), "cd '%s' && node export.mjs '%s' '%s' %s %s 2>&1", dir, base,
                 D.key_alpha, modes[m][0], modes[m][1]);
        int rc = ts_run_cmd(cmd, out, sizeof(out));
        ck_assert_msg(rc == 0, "node export.mjs %s failed (exit %d):\n%s", modes[m][0], rc, out);
        cJSON *res = cJSON_Parse(out);
        ck_assert_msg(res != NULL, "exporter printed: %s", out);
        const char *tid = TS_J_GETSTR(res, "trace_id");
        ts_resp *r = get_trace(D.key_alpha, tid);
        TS_STATUS(r, 200);
        cJSON *j = ts_json(r);
        TS_J_INT(j, "span_count", 2);
        TS_J_STR(j, "name", "agent run");
        TS_J_INT(j, "prompt_tokens_total", 1000);
        TS_J_INT(j, "completion_tokens_total", 500);
        TS_J_NUM(j, "cost", (1000 * 0.15 + 500 * 0.60) / 1e6);
        /* both spans may start in the same clock tick: find them by name */
        const cJSON *spans = cJSON_GetObjectItem(j, "spans"), *sp, *root = NULL, *llm = NULL;
        cJSON_ArrayForEach(sp, spans)
        {
            const cJSON *nm = cJSON_GetObjectItem(sp, "name");
            if (cJSON_IsString(nm) && strcmp(nm->valuestring, "agent run") == 0)
                root = sp;
            else
                llm = sp;
        }
        ck_assert_msg(root && llm, "%s", r->body);
        TS_J_STR(root, "type", "agent");
        TS_J_STR(root, "metadata.env", "test");
        TS_J_STR(llm, "name", "chat gpt-4o-mini");
        TS_J_STR(llm, "type", "llm");
        TS_J_STR(llm, "model", "gpt-4o-mini-2024-07-18");
        TS_J_INT(llm, "prompt_tokens", 1000);
        TS_J_INT(llm, "completion_tokens", 500);
        TS_J_NUM(llm, "cost", (1000 * 0.15 + 500 * 0.60) / 1e6);
        ts_resp_free(r);
        cJSON_Delete(res);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-otlp");
    TCase *tc = tcase_create("receiver");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, up, down);
    tcase_add_test(tc, test_protobuf_on_every_path);
    tcase_add_test(tc, test_json_and_charset);
    tcase_add_test(tc, test_same_rows_from_protobuf_and_json);
    tcase_add_test(tc, test_resources_per_span);
    tcase_add_test(tc, test_gzip_both_encodings);
    tcase_add_test(tc, test_415);
    tcase_add_test(tc, test_400_status_bodies);
    tcase_add_test(tc, test_empty_requests);
    tcase_add_test(tc, test_partial_success);
    tcase_add_test(tc, test_closed_traces_409_and_mixed);
    tcase_add_test(tc, test_close_after);
    tcase_add_test(tc, test_unpriced_model);
    tcase_add_test(tc, test_opentelemetry_js_sdk);
    tcase_add_test(tc, test_clean_shutdown);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("price_file");
    tcase_set_timeout(tp, 120);
    tcase_add_test(tp, test_price_file_override);
    suite_add_tcase(s, tp);
    TCase *tl = tcase_create("limits");
    tcase_add_unchecked_fixture(tl, up_limits, down_limits);
    tcase_add_test(tl, test_413_before_and_after_decompression);
    tcase_add_test(tl, test_limits_shutdown);
    suite_add_tcase(s, tl);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
