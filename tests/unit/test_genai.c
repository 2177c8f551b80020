/* test_genai.c: unit tests for src/ingest/genai.c, the attribute mapping:
 * one case per attribute family of docs/API.md "Attribute mapping"
 * (model, provider, tokens in each convention, client cost, span type,
 * session/user, input/output, error, metadata), priorities, and the
 * rule that values already set (log_request) win. Also the /spans-bulk
 * hook (codec/attrs_json.c) and the JSON renderer of ingest/attr.c. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/rnd.h"
#include "codec/spans_bulk.h"
#include "ingest/attr.h"
#include "ingest/genai.h"
#include "tracestore/config.h"

static ts_arena *arena;

static void setup(void)
{
    arena = ts_arena_new(4096);
}

static void teardown(void)
{
    ts_arena_free(arena);
}

#define S(k, v)                                                                                    \
    {                                                                                              \
        k,                                                                                         \
        {                                                                                          \
            .type = TS_AV_STR, .s = v                                                              \
        }                                                                                          \
    }
#define I(k, v)                                                                                    \
    {                                                                                              \
        k,                                                                                         \
        {                                                                                          \
            .type = TS_AV_INT, .i = v                                                              \
        }                                                                                          \
    }
#define D(k, v)                                                                                    \
    {                                                                                              \
        k,                                                                                         \
        {                                                                                          \
            .type = TS_AV_DOUBLE, .d = v                                                           \
        }                                                                                          \
    }
#define N(a) (sizeof(a) / sizeof((a)[0]))

static ts_span map(const ts_attr *attrs, size_t n, const ts_attr *res, size_t nres)
{
    ts_span s;
    ts_genai_src src = {attrs, n, res, nres, NULL, 0};
    ts_span_init(&s);
    ck_assert_int_eq(ts_genai_apply(&s, &src, arena), TS_OK);
    return s;
}

START_TEST(model_priority)
{
    ts_attr a[] = {S("llm.request.model", "d"), S("llm.model_name", "c"),
                   S("gen_ai.request.model", "b"), S("gen_ai.response.model", "a")};
    /* a[] lists the lowest priority first: dropping the best exposes the next */
    const char *want[] = {"d", "c", "b", "a"};
    for (size_t n = 1; n <= 4; n++)
        ck_assert_str_eq(map(a, n, NULL, 0).model, want[n - 1]);
    ts_attr empty[] = {S("gen_ai.response.model", ""), S("gen_ai.request.model", "gpt-4o")};
    ck_assert_str_eq(map(empty, 2, NULL, 0).model, "gpt-4o"); /* empty strings are skipped */
}
END_TEST

START_TEST(provider_priority)
{
    ts_attr a[] = {S("llm.system", "d"), S("llm.provider", "c"), S("gen_ai.system", "b"),
                   S("gen_ai.provider.name", "a")};
    ck_assert_str_eq(map(a, 4, NULL, 0).provider, "a");
    ck_assert_str_eq(map(a, 3, NULL, 0).provider, "b");
    ck_assert_str_eq(map(a, 2, NULL, 0).provider, "c");
    ck_assert_str_eq(map(a, 1, NULL, 0).provider, "d");
}
END_TEST

START_TEST(tokens_genai_current_and_deprecated)
{
    ts_attr a[] = {I("gen_ai.usage.input_tokens", 100), I("gen_ai.usage.output_tokens", 50),
                   I("gen_ai.usage.cache_read.input_tokens", 30),
                   I("gen_ai.usage.cache_creation.input_tokens", 20),
                   I("gen_ai.usage.reasoning.output_tokens", 10)};
    ts_span s = map(a, N(a), NULL, 0);
    ck_assert_int_eq(s.prompt_tokens, 100);
    ck_assert_int_eq(s.completion_tokens, 50);
    ck_assert_int_eq(s.cache_read_tokens, 30);
    ck_assert_int_eq(s.cache_write_tokens, 20);
    ck_assert_int_eq(s.reasoning_tokens, 10);
    ck_assert_int_eq(s.total_tokens, TS_TOKENS_ABSENT);

    /* the older names; strings and integral doubles count too */
    ts_attr old[] = {S("gen_ai.usage.prompt_tokens", "7"),
                     D("gen_ai.usage.completion_tokens", 3.0)};
    s = map(old, 2, NULL, 0);
    ck_assert_int_eq(s.prompt_tokens, 7);
    ck_assert_int_eq(s.completion_tokens, 3);
    /* the current name wins over the deprecated one */
    ts_attr both[] = {I("gen_ai.usage.prompt_tokens", 1), I("gen_ai.usage.input_tokens", 2)};
    ck_assert_int_eq(map(both, 2, NULL, 0).prompt_tokens, 2);
    /* negative, fractional and non-numeric values are ignored */
    ts_attr bad[] = {I("gen_ai.usage.input_tokens", -1), D("gen_ai.usage.output_tokens", 1.5),
                     S("gen_ai.usage.cache_read.input_tokens", "x")};
    s = map(bad, 3, NULL, 0);
    ck_assert_int_eq(s.prompt_tokens, TS_TOKENS_ABSENT);
    ck_assert_int_eq(s.completion_tokens, TS_TOKENS_ABSENT);
    ck_assert_int_eq(s.cache_read_tokens, TS_TOKENS_ABSENT);
}
END_TEST

START_TEST(tokens_openinference_and_traceloop)
{
    ts_attr a[] = {I("llm.token_count.prompt", 11),
                   I("llm.token_count.completion", 22),
                   I("llm.token_count.total", 33),
                   I("llm.token_count.prompt_details.cache_read", 4),
                   I("llm.token_count.prompt_details.cache_write", 5),
                   I("llm.token_count.completion_details.reasoning", 6)};
    ts_span s = map(a, N(a), NULL, 0);
    ck_assert_int_eq(s.prompt_tokens, 11);
    ck_assert_int_eq(s.completion_tokens, 22);
    ck_assert_int_eq(s.total_tokens, 33);
    ck_assert_int_eq(s.cache_read_tokens, 4);
    ck_assert_int_eq(s.cache_write_tokens, 5);
    ck_assert_int_eq(s.reasoning_tokens, 6);
    ts_attr tl[] = {I("llm.usage.total_tokens", 99)};
    ck_assert_int_eq(map(tl, 1, NULL, 0).total_tokens, 99);
}
END_TEST

START_TEST(client_cost)
{
    ts_attr a[] = {D("gen_ai.usage.cost", 0.25)};
    ts_span s = map(a, 1, NULL, 0);
    ck_assert_int_eq(s.has_cost, 1);
    ck_assert(fabs(s.cost - 0.25) < 1e-12);
    ts_attr b[] = {D("llm.cost.total", 0.5), D("llm.cost.prompt", 9)};
    s = map(b, 2, NULL, 0);
    ck_assert(fabs(s.cost - 0.5) < 1e-12);
    ts_attr c[] = {D("llm.cost.prompt", 0.125), S("llm.cost.completion", "0.375")};
    s = map(c, 2, NULL, 0);
    ck_assert_int_eq(s.has_cost, 1);
    ck_assert(fabs(s.cost - 0.5) < 1e-12);
    ts_attr neg[] = {D("gen_ai.usage.cost", -1)};
    ck_assert_int_eq(map(neg, 1, NULL, 0).has_cost, 0);
}
END_TEST

START_TEST(span_type_sources)
{
    struct {
        const char *key, *value, *want;
    } cases[] = {
        {"gen_ai.operation.name", "chat", "llm"},
        {"gen_ai.operation.name", "embeddings", "llm"},
        {"gen_ai.operation.name", "execute_tool", "tool"},
        {"gen_ai.operation.name", "invoke_agent", "agent"},
        {"gen_ai.operation.name", "invoke_workflow", "chain"},
        {"gen_ai.operation.name", "retrieval", "retrieval"},
        {"openinference.span.kind", "LLM", "llm"},
        {"openinference.span.kind", "RETRIEVER", "retrieval"},
        {"openinference.span.kind", "TOOL", "tool"},
        {"openinference.span.kind", "AGENT", "agent"},
        {"openinference.span.kind", "CHAIN", "chain"},
        {"openinference.span.kind", "GUARDRAIL", "other"},
        {"traceloop.span.kind", "workflow", "chain"},
        {"traceloop.span.kind", "task", "chain"},
        {"traceloop.span.kind", "tool", "tool"},
        {"traceloop.span.kind", "agent", "agent"},
        {"llm.request.type", "chat", "llm"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        ts_attr a[] = {S(cases[i].key, cases[i].value)};
        ts_span s = map(a, 1, NULL, 0);
        ck_assert_msg(s.type && strcmp(s.type, cases[i].want) == 0, "%s=%s: got %s", cases[i].key,
                      cases[i].value, s.type ? s.type : "NULL");
    }
    /* gen_ai.operation.name wins; an unknown value falls through */
    ts_attr a[] = {S("openinference.span.kind", "TOOL"), S("gen_ai.operation.name", "chat")};
    ck_assert_str_eq(map(a, 2, NULL, 0).type, "llm");
    ts_attr b[] = {S("gen_ai.operation.name", "dance"), S("traceloop.span.kind", "tool")};
    ck_assert_str_eq(map(b, 2, NULL, 0).type, "tool");
    ts_attr c[] = {S("gen_ai.operation.name", "dance")};
    ck_assert_ptr_null(map(c, 1, NULL, 0).type); /* the default comes from ts_ingest_derive */
}
END_TEST

START_TEST(session_and_user)
{
    ts_attr a[] = {S("session.id", "s2"), S("gen_ai.conversation.id", "s1"), S("enduser.id", "u2"),
                   S("user.id", "u1")};
    ts_span s = map(a, 4, NULL, 0);
    ck_assert_str_eq(s.session_id, "s1");
    ck_assert_str_eq(s.user_id, "u1");
    ts_attr b[] = {S("session.id", "s2"), S("enduser.id", "u2")};
    s = map(b, 2, NULL, 0);
    ck_assert_str_eq(s.session_id, "s2");
    ck_assert_str_eq(s.user_id, "u2");
    /* resource attributes apply when the span has none; the span wins */
    ts_attr res[] = {S("session.id", "rs"), S("user.id", "ru"), S("gen_ai.request.model", "no")};
    s = map(NULL, 0, res, 3);
    ck_assert_str_eq(s.session_id, "rs");
    ck_assert_str_eq(s.user_id, "ru");
    ck_assert_ptr_null(s.model); /* model is never taken from the resource */
    s = map(b, 2, res, 3);
    ck_assert_str_eq(s.session_id, "s2");
    ck_assert_str_eq(s.user_id, "u2"); /* any span attribute beats the resource */
}
END_TEST

START_TEST(input_output)
{
    ts_attr a[] = {S("input.value", "iv"), S("gen_ai.input.messages", "[1]"),
                   S("output.value", "ov"), S("gen_ai.output.messages", "[2]")};
    ts_span s = map(a, 4, NULL, 0);
    ck_assert_str_eq(s.input, "[1]");
    ck_assert_str_eq(s.output, "[2]");
    s = map(a, 1, NULL, 0);
    ck_assert_str_eq(s.input, "iv");
    ts_attr tl[] = {S("traceloop.entity.input", "ti"), S("traceloop.entity.output", "to")};
    s = map(tl, 2, NULL, 0);
    ck_assert_str_eq(s.input, "ti");
    ck_assert_str_eq(s.output, "to");
    /* OpenLLMetry indexed messages, ordered by index, above input.value */
    ts_attr ix[] = {S("gen_ai.prompt.1.role", "user"),
                    S("gen_ai.prompt.1.content", "hi"),
                    S("gen_ai.prompt.0.role", "system"),
                    S("gen_ai.prompt.0.content", "be \"nice\""),
                    S("gen_ai.completion.0.role", "assistant"),
                    S("gen_ai.completion.0.content", "hello"),
                    S("input.value", "ignored")};
    s = map(ix, N(ix), NULL, 0);
    ck_assert_str_eq(s.input, "[{\"role\":\"system\",\"content\":\"be \\\"nice\\\"\"},"
                              "{\"role\":\"user\",\"content\":\"hi\"}]");
    ck_assert_str_eq(s.output, "[{\"role\":\"assistant\",\"content\":\"hello\"}]");
    /* non-string values are kept as JSON text */
    ts_attr js[] = {I("input.value", 5)};
    ck_assert_str_eq(map(js, 1, NULL, 0).input, "5");
}
END_TEST

START_TEST(error_from_exception_event)
{
    ts_attr ea[] = {S("exception.type", "ValueError"), S("exception.message", "boom")};
    ts_genai_event ev[] = {{"log", NULL, 0}, {"exception", ea, 2}};
    ts_genai_src src = {NULL, 0, NULL, 0, ev, 2};
    ts_span s;
    ts_span_init(&s);
    ck_assert_int_eq(ts_genai_apply(&s, &src, arena), TS_OK);
    ck_assert_str_eq(s.error, "boom");
    ts_genai_event only_type[] = {{"exception", ea, 1}};
    src.events = only_type;
    src.nevents = 1;
    ts_span_init(&s);
    ts_genai_apply(&s, &src, arena);
    ck_assert_str_eq(s.error, "ValueError");
    /* an error already known (status ERROR) is kept */
    ts_span_init(&s);
    s.error = "status message";
    ts_genai_apply(&s, &src, arena);
    ck_assert_str_eq(s.error, "status message");
}
END_TEST

START_TEST(metadata_prefixes)
{
    ts_attr kv[] = {S("team", "ml")};
    ts_attr a[] = {S("promptlayer.metadata.env", "prod"),
                   I("respan.metadata.n", 3),
                   S("other", "x"),
                   {"respan.metadata", {.type = TS_AV_KVLIST, .kvs = kv, .nkvs = 1}}};
    ts_attr res[] = {S("promptlayer.metadata.env", "resource-loses"),
                     S("promptlayer.metadata.region", "eu")};
    ts_span s = map(a, N(a), res, 2);
    ck_assert_str_eq(s.metadata, "{\"env\":\"prod\",\"n\":3,\"team\":\"ml\",\"region\":\"eu\"}");
    ck_assert_ptr_null(map(kv, 1, NULL, 0).metadata);
}
END_TEST

START_TEST(explicit_values_win)
{
    ts_attr a[] = {S("gen_ai.request.model", "attr-model"), I("gen_ai.usage.input_tokens", 9),
                   D("gen_ai.usage.cost", 9), S("gen_ai.input.messages", "attr")};
    ts_genai_src src = {a, 4, NULL, 0, NULL, 0};
    ts_span s;
    ts_span_init(&s);
    s.model = "lr-model";
    s.prompt_tokens = 1;
    s.has_cost = 1;
    s.cost = 0.5;
    s.input = "lr";
    ts_genai_apply(&s, &src, arena);
    ck_assert_str_eq(s.model, "lr-model");
    ck_assert_int_eq(s.prompt_tokens, 1);
    ck_assert(s.cost == 0.5);
    ck_assert_str_eq(s.input, "lr");
}
END_TEST

/* /spans-bulk: attributes are mapped, log_request wins. */
START_TEST(spans_bulk_hook)
{
    ts_config cfg;
    ts_err err;
    ts_span *spans;
    size_t n;
    int ca;
    ts_config_defaults(&cfg);
    const char *body =
        "{\"spans\":[{\"name\":\"x\",\"context\":{\"trace_id\":\"t\",\"span_id\":\"s\"},"
        "\"kind\":\"SpanKind.CLIENT\",\"start_time\":1,\"end_time\":2,"
        "\"status\":{\"status_code\":\"StatusCode.OK\"},"
        "\"attributes\":{\"gen_ai.request.model\":\"gpt-4o\",\"gen_ai.usage.input_tokens\":10,"
        "\"gen_ai.usage.output_tokens\":\"20\",\"session.id\":\"sess\"},"
        "\"resource\":{\"attributes\":{\"user.id\":\"u\"}},"
        "\"events\":[{\"name\":\"exception\",\"attributes\":{\"exception.message\":\"bad\"}}],"
        "\"log_request\":{\"model\":\"claude-3-5-haiku\",\"input_tokens\":1}}]}";
    ck_assert_int_eq(ts_spans_bulk_decode(body, strlen(body), &cfg, arena, &spans, &n, &ca, &err),
                     TS_OK);
    ck_assert_str_eq(spans[0].model, "claude-3-5-haiku");
    ck_assert_int_eq(spans[0].prompt_tokens, 1);
    ck_assert_int_eq(spans[0].completion_tokens, 20);
    ck_assert_str_eq(spans[0].session_id, "sess");
    ck_assert_str_eq(spans[0].user_id, "u");
    ck_assert_str_eq(spans[0].error, "bad");
    ck_assert_str_eq(spans[0].type, "llm");
}
END_TEST

START_TEST(attr_json_rendering)
{
    ts_attr_value items[] = {{.type = TS_AV_STR, .s = "a"}, {.type = TS_AV_BOOL, .b = 1}};
    ts_attr inner[] = {I("n", 1)};
    ts_attr a[] = {S("s", "q\"\\\n\x01"),
                   I("small", 9007199254740991LL),
                   I("big", 9007199254740992LL),
                   I("neg", -9007199254740993LL),
                   D("d", 0.1),
                   D("nan", NAN),
                   {"arr", {.type = TS_AV_ARRAY, .items = items, .nitems = 2}},
                   {"kv", {.type = TS_AV_KVLIST, .kvs = inner, .nkvs = 1}},
                   {"bytes", {.type = TS_AV_BYTES, .s = "aGk="}},
                   {"empty", {.type = TS_AV_EMPTY}}};
    ck_assert_str_eq(ts_attrs_to_json(a, N(a), arena),
                     "{\"s\":\"q\\\"\\\\\\n\\u0001\",\"small\":9007199254740991,"
                     "\"big\":\"9007199254740992\",\"neg\":\"-9007199254740993\",\"d\":0.1,"
                     "\"nan\":\"NaN\",\"arr\":[\"a\",true],\"kv\":{\"n\":1},\"bytes\":\"aGk=\","
                     "\"empty\":null}");
    ck_assert_str_eq(ts_attrs_to_json(NULL, 0, arena), "{}");
}
END_TEST

/* The printf rule ts_jw_double had before its fast path: the shorter of
 * %.15g and %.17g that reads back exactly. */
static void expect_double(double d)
{
    char want[40];
    ts_jw w = {0};
    snprintf(want, sizeof(want), "%.15g", d);
    if (strtod(want, NULL) != d)
        snprintf(want, sizeof(want), "%.17g", d);
    ts_jw_double(&w, d);
    ck_assert_msg(w.p && strcmp(w.p, want) == 0, "%.17g: got %s, want %s", d, w.p, want);
    ts_jw_free(&w);
}

START_TEST(doubles_print_as_printf)
{
    static const double edges[] = {0.0,
                                   -0.0,
                                   1e-4,
                                   -1e-4,
                                   9.9999999999999e-5,
                                   1e15,
                                   -1e15,
                                   1e15 - 1,
                                   1e15 - 0.5,
                                   999999999999999.9,
                                   0.1,
                                   0.2,
                                   0.1 + 0.2,
                                   1.0 / 3,
                                   2.0 / 3,
                                   0.7,
                                   1.005,
                                   123.456,
                                   -42.5,
                                   9007199254740993.0,
                                   5e-324,
                                   1e300,
                                   1.7976931348623157e308,
                                   1e-5,
                                   0.00010000000000000002};
    for (size_t i = 0; i < N(edges); i++) {
        expect_double(edges[i]);
        expect_double(nextafter(edges[i], 1e308));
        expect_double(nextafter(edges[i], -1e308));
    }
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = rnd();
        double d;
        memcpy(&d, &bits, sizeof(d));
        if (!isnan(d) && !isinf(d))
            expect_double(d);
        /* decimals of up to 17 digits with up to 20 places: the fast path's cases */
        double m = (double)(rnd() % (i % 2 ? 100000000000000000ull : 100000ull));
        d = m / pow(10, (double)(rnd() % 21));
        expect_double(rnd() % 2 ? d : -d);
    }
}
END_TEST

static void expect_i64(int64_t v)
{
    char want[32];
    ts_jw w = {0};
    if (v > -(INT64_C(1) << 53) && v < (INT64_C(1) << 53))
        snprintf(want, sizeof(want), "%lld", (long long)v);
    else
        snprintf(want, sizeof(want), "\"%lld\"", (long long)v);
    ts_jw_i64(&w, v);
    ck_assert_msg(w.p && strcmp(w.p, want) == 0, "%lld: got %s, want %s", (long long)v, w.p, want);
    ts_jw_free(&w);
}

START_TEST(integers_print_as_printf)
{
    static const int64_t edges[] = {0,
                                    1,
                                    -1,
                                    9,
                                    10,
                                    -10,
                                    (INT64_C(1) << 53) - 1,
                                    INT64_C(1) << 53,
                                    -(INT64_C(1) << 53) + 1,
                                    -(INT64_C(1) << 53),
                                    INT64_MAX,
                                    INT64_MIN,
                                    INT64_MIN + 1};
    for (size_t i = 0; i < N(edges); i++)
        expect_i64(edges[i]);
    for (int i = 0; i < 100000; i++)
        expect_i64((int64_t)(rnd() >> (rnd() % 64)) * (rnd() % 2 ? 1 : -1));
}
END_TEST

/* String attributes taken as they are share the attribute's text. */
START_TEST(texts_shared_not_copied)
{
    ts_attr a[] = {S("gen_ai.request.model", "gpt-4o"), S("input.value", "hello")};
    ts_span s = map(a, N(a), NULL, 0);
    ck_assert_ptr_eq(s.model, a[0].v.s);
    ck_assert_ptr_eq(s.input, a[1].v.s);
}
END_TEST

static Suite *genai_suite(void)
{
    Suite *s = suite_create("genai");
    TCase *tc = tcase_create("mapping");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, model_priority);
    tcase_add_test(tc, provider_priority);
    tcase_add_test(tc, tokens_genai_current_and_deprecated);
    tcase_add_test(tc, tokens_openinference_and_traceloop);
    tcase_add_test(tc, client_cost);
    tcase_add_test(tc, span_type_sources);
    tcase_add_test(tc, session_and_user);
    tcase_add_test(tc, input_output);
    tcase_add_test(tc, error_from_exception_event);
    tcase_add_test(tc, metadata_prefixes);
    tcase_add_test(tc, explicit_values_win);
    tcase_add_test(tc, spans_bulk_hook);
    tcase_add_test(tc, attr_json_rendering);
    tcase_add_test(tc, doubles_print_as_printf);
    tcase_add_test(tc, integers_print_as_printf);
    tcase_add_test(tc, texts_shared_not_copied);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(genai_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
