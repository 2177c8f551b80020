/* test_otlp_json.c: unit tests for src/codec/otlp_json.c: the OTLP JSON
 * rules (hex ids in any case, integer enums and enum names, 64-bit
 * integers as strings or numbers, snake_case keys, unknown fields
 * ignored), errors naming the bad field, limits, responses, and the
 * central promise: the same spans as protobuf and as JSON give identical
 * domain spans, field by field. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../common/otlp_build.h"
#include "codec/otlp_json.h"
#include "codec/otlp_pb.h"
#include "ingest/ingest.h"

static ts_arena *arena;
static ts_config cfg;

static void setup(void)
{
    arena = ts_arena_new(4096);
    ts_config_defaults(&cfg);
}

static void teardown(void)
{
    ts_arena_free(arena);
}

#define T0 UINT64_C(1700000000000000000)

typedef struct out {
    int rc;
    ts_err err;
    ts_span *spans;
    size_t n;
    ts_otlp_rejects rej;
} out;

static out decode_json(const char *body)
{
    out o;
    ts_otlp_req q;
    memset(&o, 0, sizeof(o));
    o.rc = ts_otlp_json_decode(body, strlen(body), &cfg, arena, &q, &o.err);
    if (o.rc == TS_OK)
        ck_assert_int_eq(ts_otlp_to_spans(&q, arena, &o.spans, &o.n, &o.rej), TS_OK);
    return o;
}

static void same_str(const char *what, const char *a, const char *b)
{
    ck_assert_msg((a == NULL) == (b == NULL) && (!a || strcmp(a, b) == 0), "%s: '%s' vs '%s'", what,
                  a ? a : "NULL", b ? b : "NULL");
}

/* Every field the store writes. */
static void same_span(const ts_span *a, const ts_span *b)
{
    same_str("trace_id", a->trace_id, b->trace_id);
    same_str("span_id", a->span_id, b->span_id);
    same_str("parent_id", a->parent_id, b->parent_id);
    same_str("name", a->name, b->name);
    same_str("status_message", a->status_message, b->status_message);
    same_str("trace_state", a->trace_state, b->trace_state);
    same_str("attributes", a->attributes, b->attributes);
    same_str("events", a->events, b->events);
    same_str("links", a->links, b->links);
    same_str("resource", a->resource, b->resource);
    same_str("scope", a->scope, b->scope);
    same_str("type", a->type, b->type);
    same_str("model", a->model, b->model);
    same_str("provider", a->provider, b->provider);
    same_str("input", a->input, b->input);
    same_str("output", a->output, b->output);
    same_str("error", a->error, b->error);
    same_str("session_id", a->session_id, b->session_id);
    same_str("user_id", a->user_id, b->user_id);
    same_str("metadata", a->metadata, b->metadata);
    ck_assert_int_eq(a->kind, b->kind);
    ck_assert_int_eq(a->status_code, b->status_code);
    ck_assert(a->start_ns == b->start_ns && a->end_ns == b->end_ns);
    ck_assert_int_eq(a->origin, b->origin);
    ck_assert(a->prompt_tokens == b->prompt_tokens &&
              a->completion_tokens == b->completion_tokens && a->total_tokens == b->total_tokens &&
              a->cache_read_tokens == b->cache_read_tokens &&
              a->cache_write_tokens == b->cache_write_tokens &&
              a->reasoning_tokens == b->reasoning_tokens);
    ck_assert(a->has_cost == b->has_cost && a->cost == b->cost && a->unpriced == b->unpriced);
}

static const tb_attr attrs[] = {
    {"s", 's', "t\u00e9xt \"q\"", NULL, 0, 0},
    {"i", 'i', NULL, NULL, 42, 0},
    {"big", 'i', NULL, NULL, INT64_C(-9223372036854775807), 0},
    {"d", 'd', NULL, NULL, 0, 0.1},
    {"b", 'b', NULL, NULL, 0, 0},
    {"arr", 'a', "x", "y", 0, 0},
    {"kv", 'k', "k", "v", 0, 0},
    {"y", 'y', "bytes!", NULL, 0, 0},
    {"gen_ai.provider.name", 's', "openai", NULL, 0, 0},
    {"gen_ai.response.model", 's', "gpt-4o-mini-2024-07-18", NULL, 0, 0},
    {"gen_ai.usage.input_tokens", 'i', NULL, NULL, 1000, 0},
    {"gen_ai.usage.output_tokens", 'i', NULL, NULL, 500, 0},
    {"gen_ai.usage.cost", 'd', NULL, NULL, 0, 0.0125},
    {"gen_ai.prompt.0.role", 's', "user", NULL, 0, 0},
    {"gen_ai.prompt.0.content", 's', "hello", NULL, 0, 0},
    {"promptlayer.metadata.env", 's', "prod", NULL, 0, 0},
    {"session.id", 's', "sess", NULL, 0, 0},
};
static const tb_attr ev_attrs[] = {{"exception.type", 's', "E", NULL, 0, 0}};
static const tb_attr res_attrs[] = {{"service.name", 's', "svc", NULL, 0, 0},
                                    {"user.id", 's', "u1", NULL, 0, 0}};

START_TEST(protobuf_and_json_give_identical_spans)
{
    tb_span sp[] = {
        {"5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", NULL, "root", 1, 1, NULL, T0,
         T0 + 2000, attrs, sizeof(attrs) / sizeof(attrs[0]), "exception", ev_attrs, 1, T0 + 7},
        {"5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b175", "eee19b7ec3c1b174", "child", 3, 2,
         "oops", T0 + 1, T0 + 1000, attrs, 4, NULL, NULL, 0, 0},
        {"5b8efff798038103", "eee19b7ec3c1b176", NULL, "rejected", 1, 0, NULL, T0, T0, NULL, 0,
         NULL, NULL, 0, 0},
    };
    tb_req q = {res_attrs, 2, "scope", "9", sp, 3};
    size_t len;
    unsigned char *pb = tb_pb(&q, &len);
    char *js = tb_json(&q);
    ts_otlp_req qp;
    ts_err err;
    out a, b;
    memset(&a, 0, sizeof(a));
    ts_otlp_limits lim;
    ts_otlp_limits_from(&cfg, &lim);
    ck_assert_int_eq(ts_otlp_pb_decode(pb, len, &lim, arena, &qp, &err), TS_OK);
    ck_assert_int_eq(ts_otlp_to_spans(&qp, arena, &a.spans, &a.n, &a.rej), TS_OK);
    b = decode_json(js);
    ck_assert_msg(b.rc == TS_OK, "%s", b.err.msg);
    ck_assert_uint_eq(a.n, 2);
    ck_assert_uint_eq(b.n, 2);
    ck_assert_uint_eq(a.rej.count, 1);
    ck_assert_uint_eq(b.rej.count, 1);
    ck_assert_str_eq(a.rej.first, b.rej.first);
    for (size_t i = 0; i < 2; i++) {
        ts_ingest_derive(&a.spans[i]); /* what the handler does before the store */
        ts_ingest_derive(&b.spans[i]);
        same_span(&a.spans[i], &b.spans[i]);
    }
    /* and the mapping saw the attributes */
    ck_assert_str_eq(b.spans[0].model, "gpt-4o-mini-2024-07-18");
    ck_assert_str_eq(b.spans[0].input, "[{\"role\":\"user\",\"content\":\"hello\"}]");
    ck_assert_str_eq(b.spans[0].metadata, "{\"env\":\"prod\"}");
    ck_assert_str_eq(b.spans[0].user_id, "u1");
    ck_assert_str_eq(b.spans[0].error, "E");
    ck_assert_str_eq(b.spans[1].error, "oops"); /* status ERROR message */
    ck_assert_int_eq(b.spans[0].has_cost, 1);   /* the client's gen_ai.usage.cost */
    ck_assert(b.spans[0].cost == 0.0125);
    ck_assert_int_eq(b.spans[1].has_cost, 0); /* not an LLM span: no cost, not unpriced */
    ck_assert_int_eq(b.spans[1].unpriced, 0);
    free(pb);
    free(js);
}
END_TEST

START_TEST(json_rules)
{
    /* upper-case hex, snake_case keys, numbers for 64-bit values and for
     * times, enum names, unknown fields anywhere */
    out o = decode_json(
        "{\"resource_spans\":[{\"resource\":{\"attributes\":[],\"droppedAttributesCount\":0},"
        "\"scope_spans\":[{\"scope\":{\"name\":\"s\"},\"spans\":[{"
        "\"trace_id\":\"5B8EFFF798038103D269B633813FC60C\",\"span_id\":\"EEE19B7EC3C1B174\","
        "\"parent_span_id\":\"\",\"name\":\"n\",\"kind\":\"SPAN_KIND_SERVER\","
        "\"start_time_unix_nano\":1700000000000000000,\"endTimeUnixNano\":\"1700000000000000001\","
        "\"attributes\":[{\"key\":\"a\",\"value\":{\"int_value\":7}},"
        "{\"key\":\"b\",\"value\":{\"intValue\":\"9223372036854775807\"}},"
        "{\"key\":\"c\",\"value\":{}},{\"key\":\"d\",\"value\":{\"doubleValue\":\"NaN\"}},"
        "{\"key\":\"e\",\"value\":{\"string_value\":\"x\",\"futureField\":1}}],"
        "\"status\":{\"code\":\"STATUS_CODE_ERROR\",\"message\":\"m\"},"
        "\"flags\":257,\"somethingNew\":{\"x\":[1,2]}}]}]}],\"extra\":true}");
    ck_assert_msg(o.rc == TS_OK, "%s", o.err.msg);
    ck_assert_uint_eq(o.n, 1);
    ts_span *s = &o.spans[0];
    ck_assert_str_eq(s->trace_id, "5b8efff798038103d269b633813fc60c");
    ck_assert_str_eq(s->span_id, "eee19b7ec3c1b174");
    ck_assert_ptr_null(s->parent_id);
    ck_assert_int_eq(s->kind, TS_KIND_SERVER);
    ck_assert(s->start_ns == INT64_C(1700000000000000000));
    ck_assert(s->end_ns == INT64_C(1700000000000000001));
    ck_assert_int_eq(s->status_code, TS_STATUS_ERROR);
    ck_assert_str_eq(
        s->attributes,
        "{\"a\":7,\"b\":\"9223372036854775807\",\"c\":null,\"d\":\"NaN\",\"e\":\"x\"}");
}
END_TEST

START_TEST(empty_requests)
{
    out o = decode_json("{\"resourceSpans\":[]}");
    ck_assert_int_eq(o.rc, TS_OK);
    ck_assert_uint_eq(o.n, 0);
    o = decode_json("{}");
    ck_assert_int_eq(o.rc, TS_OK);
    o = decode_json("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[]}]}]}");
    ck_assert_int_eq(o.rc, TS_OK);
    ck_assert_uint_eq(o.n, 0);
}
END_TEST

START_TEST(bad_ids_are_span_rejections)
{
    out o = decode_json(
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"zz8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\"},"
        "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b17\"},"
        "{\"spanId\":\"eee19b7ec3c1b174\"},"
        "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\"}"
        "]}]}]}");
    ck_assert_msg(o.rc == TS_OK, "%s", o.err.msg);
    ck_assert_uint_eq(o.n, 1);
    ck_assert_uint_eq(o.rej.count, 3);
    ck_assert_str_eq(o.rej.first, "traceId is not hex");
}
END_TEST

static void expect_400(const char *body, const char *needle)
{
    out o = decode_json(body);
    ck_assert_msg(o.rc == TS_EINVAL, "rc %d for %s", o.rc, body);
    ck_assert_msg(strstr(o.err.msg, needle) != NULL, "'%s' does not name '%s'", o.err.msg, needle);
}

START_TEST(errors_name_the_field)
{
    expect_400("", "JSON");
    expect_400("[]", "must be an object");
    expect_400("{\"resourceSpans\":{}}", "resourceSpans: expected an array");
    expect_400("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":5}]}]}]}",
               "resourceSpans[0].scopeSpans[0].spans[0].name: expected a string");
    expect_400("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":\"CLIENT\"}]}]}]}",
               "kind: unknown enum value");
    expect_400(
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":\"-1\"}]}]}]}",
        "startTimeUnixNano");
    expect_400("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"a\","
               "\"value\":{\"intValue\":\"1.5\"}}]}]}]}]}",
               "intValue");
    expect_400("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"a\","
               "\"value\":\"plain\"}]}]}]}]}",
               "AnyValue");
    expect_400("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"status\":[]}]}]}]}",
               "status: expected an object");
    expect_400("{\"resourceSpans\":[],\"x\":\"\\u0000\"}", "");
}
END_TEST

START_TEST(limits)
{
    cfg.max_spans_per_request = 1;
    out o = decode_json("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{},{}]}]}]}");
    ck_assert_int_eq(o.rc, TS_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(o.err.msg, "max_spans_per_request"));
    cfg.max_spans_per_request = 10;
    cfg.max_attributes_per_span = 1;
    expect_400("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":["
               "{\"key\":\"a\"},{\"key\":\"b\"}]}]}]}]}",
               "max_attributes_per_span");
    cfg.max_string_bytes = 4;
    expect_400("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"toolong\"}]}]}]}",
               "max_string_bytes");
}
END_TEST

START_TEST(responses)
{
    char *r = ts_otlp_json_response(0, NULL);
    ck_assert_str_eq(r, "{}");
    free(r);
    r = ts_otlp_json_response(3, "bad ids");
    ck_assert_str_eq(r, "{\"partialSuccess\":{\"rejectedSpans\":3,\"errorMessage\":\"bad ids\"}}");
    free(r);
    r = ts_otlp_json_status(3, "x");
    ck_assert_str_eq(r, "{\"code\":3,\"message\":\"x\"}");
    free(r);
}
END_TEST

static Suite *otlp_json_suite(void)
{
    Suite *s = suite_create("otlp_json");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, protobuf_and_json_give_identical_spans);
    tcase_add_test(tc, json_rules);
    tcase_add_test(tc, empty_requests);
    tcase_add_test(tc, bad_ids_are_span_rejections);
    tcase_add_test(tc, errors_name_the_field);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, responses);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(otlp_json_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
