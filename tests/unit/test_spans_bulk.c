/* test_spans_bulk.c: unit tests for src/codec/spans_bulk.c (PromptLayer
 * /spans-bulk body -> ts_span[]): a full span, defaults, every validation
 * failure with its FastAPI loc path and pydantic type, and the limits. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/spans_bulk.h"
#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"
#include "tracestore/model.h"

static ts_arena *arena;
static ts_config cfg;

static void setup(void)
{
    arena = ts_arena_new(16384);
    ck_assert_ptr_nonnull(arena);
    ts_config_defaults(&cfg);
}

static void teardown(void)
{
    ts_arena_free(arena);
    arena = NULL;
}

/* Result of one decode. */
typedef struct res {
    int rc;
    ts_span *spans;
    size_t n;
    int close_after;
    ts_err err;
    char loc[256]; /* err.loc joined with '.' */
} res;

static void join_loc(const ts_err *e, char *out, size_t cap)
{
    size_t o = 0;

    out[0] = '\0';
    for (int i = 0; i < e->nloc && o < cap; i++) {
        int w = e->loc[i].is_index
                    ? snprintf(out + o, cap - o, "%s%ld", i ? "." : "", e->loc[i].index)
                    : snprintf(out + o, cap - o, "%s%s", i ? "." : "", e->loc[i].key);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

static res decode(const char *body)
{
    res r;

    memset(&r, 0, sizeof(r));
    ts_err_clear(&r.err);
    r.rc = ts_spans_bulk_decode(body, strlen(body), &cfg, arena, &r.spans, &r.n, &r.close_after,
                                &r.err);
    join_loc(&r.err, r.loc, sizeof(r.loc));
    return r;
}

/* The fields of one span as JSON fragments; NULL = a valid default,
 * OMIT = leave the key out. extra is appended verbatim (",\"k\":v"). */
#define OMIT "\x01"
typedef struct sp {
    const char *name, *context, *kind, *start, *end, *status, *extra;
} sp;

static const char *field(const char *key, const char *v, const char *dflt, int *first)
{
    const char *val = v ? v : dflt;
    const char *r;

    if (strcmp(val, OMIT) == 0)
        return "";
    r = ts_arena_printf(arena, "%s\"%s\":%s", *first ? "" : ",", key, val);
    *first = 0;
    return r;
}

static const char *span_text(sp f)
{
    int first = 1;
    const char *a = field("name", f.name, "\"llm_call\"", &first);
    const char *b = field("context", f.context,
                          "{\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\","
                          "\"span_id\":\"b7ad6b7169203331\"}",
                          &first);
    const char *c = field("kind", f.kind, "\"SpanKind.CLIENT\"", &first);
    const char *d = field("start_time", f.start, "1700000000000000000", &first);
    const char *e = field("end_time", f.end, "1700000001000000000", &first);
    const char *g = field("status", f.status, "{\"status_code\":\"StatusCode.OK\"}", &first);

    return ts_arena_printf(arena, "{%s%s%s%s%s%s%s}", a, b, c, d, e, g, f.extra ? f.extra : "");
}

static const char *body1(sp f)
{
    return ts_arena_printf(arena, "{\"spans\":[%s]}", span_text(f));
}

/* Expects a 422-style failure with the given type and loc. */
#define EXPECT_INVALID(body, want_type, want_loc)                                                  \
    do {                                                                                           \
        res r_ = decode(body);                                                                     \
        ck_assert_msg(r_.rc == TS_EINVAL, "rc %d for %s", r_.rc, (body));                          \
        ck_assert_str_eq(r_.err.type, (want_type));                                                \
        ck_assert_str_eq(r_.loc, (want_loc));                                                      \
        ck_assert(r_.err.msg[0] != '\0');                                                          \
        ck_assert_uint_eq(r_.n, 0);                                                                \
    } while (0)

/* SPAN_INVALID(type, loc, .field = "json", ...): one span with those fields. */
#define SPAN_INVALID(want_type, want_loc, ...)                                                     \
    EXPECT_INVALID(body1((sp){__VA_ARGS__}), want_type, "body.spans.0." want_loc)

START_TEST(full_span)
{
    const char *body =
        "{\"workspace_id\":7,\"close_after\":true,\"spans\":[{"
        "\"name\":\"openai.chat\","
        "\"context\":{\"trace_id\":\"0AF76519-16CD-43DD-8448-EB211C80319C\","
        "\"span_id\":\"b7ad6b7169203331\",\"trace_state\":\"k=v\"},"
        "\"kind\":\"SpanKind.SERVER\","
        "\"parent_id\":\"00f067aa0ba902b7\","
        "\"start_time\":1700000000123456789,"
        "\"end_time\":\"1700000000223456789\","
        "\"status\":{\"status_code\":\"StatusCode.ERROR\",\"description\":\"rate limited\"},"
        "\"attributes\":{\"http.method\":\"POST\",\"n\":3,\"big\":12345678901234567890},"
        "\"events\":[{\"name\":\"retry\",\"timestamp\":\"1700000000150000000\"}],"
        "\"links\":[{\"context\":{\"trace_id\":\"x\",\"span_id\":\"y\"}}],"
        "\"resource\":{\"attributes\":{\"service.name\":\"api\"},\"schema_url\":\"\"},"
        "\"log_request\":{\"provider\":\"openai\",\"model\":\"gpt-4o\","
        "\"input\":{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]},"
        "\"output\":\"hello\",\"input_tokens\":11,\"output_tokens\":22,\"price\":0.0125,"
        "\"request_start_time\":\"2023-11-14T22:13:20.123Z\","
        "\"request_end_time\":\"2023-11-14T22:13:20.223+00:00\"}"
        "}]}";
    res r = decode(body);
    ts_span *s;

    ck_assert_msg(r.rc == TS_OK, "%s at %s", r.err.msg, r.loc);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_int_eq(r.close_after, 1);
    s = &r.spans[0];
    ck_assert_str_eq(s->name, "openai.chat");
    ck_assert_str_eq(s->trace_id, "0af7651916cd43dd8448eb211c80319c"); /* canonical */
    ck_assert_str_eq(s->span_id, "b7ad6b7169203331");
    ck_assert_str_eq(s->trace_state, "k=v");
    ck_assert_str_eq(s->parent_id, "00f067aa0ba902b7");
    ck_assert_int_eq(s->kind, TS_KIND_SERVER);
    /* exact to the nanosecond, as a JSON integer and as a string */
    ck_assert(s->start_ns == INT64_C(1700000000123456789));
    ck_assert(s->end_ns == INT64_C(1700000000223456789));
    ck_assert_int_eq(s->status_code, TS_STATUS_ERROR);
    ck_assert_str_eq(s->status_message, "rate limited");
    ck_assert_str_eq(s->error, "rate limited");
    /* long integers in attributes come back exact, as strings */
    ck_assert_str_eq(s->attributes,
                     "{\"http.method\":\"POST\",\"n\":3,\"big\":\"12345678901234567890\"}");
    ck_assert_str_eq(s->events, "[{\"name\":\"retry\",\"timestamp\":\"1700000000150000000\"}]");
    ck_assert_str_eq(s->links, "[{\"context\":{\"trace_id\":\"x\",\"span_id\":\"y\"}}]");
    ck_assert_str_eq(s->resource,
                     "{\"attributes\":{\"service.name\":\"api\"},\"schema_url\":\"\"}");
    ck_assert_int_eq(s->origin, TS_ORIGIN_SPANS_BULK);
    /* log_request */
    ck_assert_str_eq(s->provider, "openai");
    ck_assert_str_eq(s->model, "gpt-4o");
    ck_assert_str_eq(s->input, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    ck_assert_str_eq(s->output, "hello");
    ck_assert_int_eq(s->prompt_tokens, 11);
    ck_assert_int_eq(s->completion_tokens, 22);
    ck_assert_int_eq(s->has_cost, 1);
    ck_assert_double_eq_tol(s->cost, 0.0125, 1e-12);
    ck_assert_str_eq(s->type, "llm");
    ck_assert_ptr_nonnull(s->log_request);
    ck_assert_ptr_nonnull(strstr(s->log_request, "\"provider\":\"openai\""));
    ck_assert_ptr_nonnull(strstr(s->log_request, "\"input_tokens\":11"));
    ck_assert_ptr_nonnull(
        strstr(s->log_request, "\"request_start_time\":\"2023-11-14T22:13:20.123Z\""));
}
END_TEST

START_TEST(defaults)
{
    res r = decode(body1((sp){0}));
    ts_span *s;

    ck_assert_msg(r.rc == TS_OK, "%s at %s", r.err.msg, r.loc);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_int_eq(r.close_after, 0);
    s = &r.spans[0];
    ck_assert_str_eq(s->attributes, "{}");
    ck_assert_str_eq(s->events, "[]");
    ck_assert_str_eq(s->links, "[]");
    ck_assert_str_eq(s->resource, "{}");
    ck_assert_ptr_null(s->parent_id);
    ck_assert_ptr_null(s->trace_state);
    ck_assert_ptr_null(s->status_message);
    ck_assert_ptr_null(s->error);
    ck_assert_ptr_null(s->log_request);
    ck_assert_ptr_null(s->model);
    ck_assert_ptr_null(s->provider);
    ck_assert_ptr_null(s->input);
    ck_assert_ptr_null(s->output);
    ck_assert_int_eq(s->has_cost, 0);
    ck_assert_int_eq(s->prompt_tokens, TS_TOKENS_ABSENT);
    ck_assert_int_eq(s->completion_tokens, TS_TOKENS_ABSENT);
    ck_assert_int_eq(s->total_tokens, TS_TOKENS_ABSENT);
    ck_assert_int_eq(s->latency_ms, -1);
    ck_assert_str_eq(s->type, "other");
    ck_assert_int_eq(s->kind, TS_KIND_CLIENT);
    ck_assert_int_eq(s->status_code, TS_STATUS_OK);
    ck_assert(s->start_ns == INT64_C(1700000000000000000));
    ck_assert(s->end_ns == INT64_C(1700000001000000000));
    ck_assert_str_eq(s->span_id, "b7ad6b7169203331");

    /* explicit nulls are the same as absent */
    r = decode(body1((sp){.extra = ",\"attributes\":null,\"events\":null,\"links\":null,"
                                   "\"resource\":null,\"parent_id\":null,\"log_request\":null"}));
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_str_eq(r.spans[0].attributes, "{}");
    ck_assert_str_eq(r.spans[0].events, "[]");
    ck_assert_str_eq(r.spans[0].links, "[]");
    ck_assert_str_eq(r.spans[0].resource, "{}");
    ck_assert_ptr_null(r.spans[0].parent_id);
    ck_assert_ptr_null(r.spans[0].log_request);
    /* "" parent means root */
    r = decode(body1((sp){.extra = ",\"parent_id\":\"\""}));
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_ptr_null(r.spans[0].parent_id);
}
END_TEST

START_TEST(times_exact)
{
    const char *forms[] = {"1700000000123456789", "\"1700000000123456789\""};
    res r;

    for (size_t i = 0; i < 2; i++) {
        r = decode(body1((sp){.start = forms[i], .end = forms[i]}));
        ck_assert_msg(r.rc == TS_OK, "%s", r.err.msg);
        ck_assert(r.spans[0].start_ns == INT64_C(1700000000123456789));
        ck_assert(r.spans[0].end_ns == INT64_C(1700000000123456789)); /* end == start ok */
    }
    /* the extremes of the range */
    r = decode(body1((sp){.start = "0", .end = "\"9223372036854775807\""}));
    ck_assert_msg(r.rc == TS_OK, "%s", r.err.msg);
    ck_assert(r.spans[0].start_ns == 0);
    ck_assert(r.spans[0].end_ns == INT64_MAX);
    r = decode(body1((sp){.start = "0", .end = "9223372036854775807"}));
    ck_assert_msg(r.rc == TS_OK, "%s", r.err.msg);
    ck_assert(r.spans[0].end_ns == INT64_MAX);
    /* one past int64 */
    SPAN_INVALID("int_parsing", "end_time", .end = "\"9223372036854775808\"");
    SPAN_INVALID("int_parsing", "end_time", .end = "9223372036854775808");
}
END_TEST

START_TEST(bare_and_prefixed_enums)
{
    static const struct {
        const char *txt;
        int want;
    } kinds[] = {{"\"CLIENT\"", TS_KIND_CLIENT},
                 {"\"SpanKind.INTERNAL\"", TS_KIND_INTERNAL},
                 {"\"SERVER\"", TS_KIND_SERVER},
                 {"\"SpanKind.PRODUCER\"", TS_KIND_PRODUCER},
                 {"\"SpanKind.CONSUMER\"", TS_KIND_CONSUMER}};
    res r;

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        r = decode(body1((sp){.kind = kinds[i].txt}));
        ck_assert_msg(r.rc == TS_OK, "%s: %s", kinds[i].txt, r.err.msg);
        ck_assert_int_eq(r.spans[0].kind, kinds[i].want);
    }
    r = decode(body1((sp){.status = "{\"status_code\":\"ERROR\"}"}));
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_int_eq(r.spans[0].status_code, TS_STATUS_ERROR);
    ck_assert_str_eq(r.spans[0].error, "error"); /* no description */
    r = decode(
        body1((sp){.status = "{\"status_code\":\"StatusCode.UNSET\",\"description\":null}"}));
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_int_eq(r.spans[0].status_code, TS_STATUS_UNSET);
    ck_assert_ptr_null(r.spans[0].error);
    /* a description on an OK span is not an error */
    r = decode(body1((sp){.status = "{\"status_code\":\"OK\",\"description\":\"fine\"}"}));
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_ptr_null(r.spans[0].error);
}
END_TEST

START_TEST(required_fields)
{
    SPAN_INVALID("missing", "name", .name = OMIT);
    SPAN_INVALID("string_type", "name", .name = "42");
    SPAN_INVALID("string_type", "name", .name = "null");
    SPAN_INVALID("missing", "context", .context = OMIT);
    SPAN_INVALID("model_attributes_type", "context", .context = "\"abc\"");
    SPAN_INVALID("model_attributes_type", "context", .context = "[]");
    SPAN_INVALID("missing", "context.trace_id", .context = "{\"span_id\":\"a\"}");
    SPAN_INVALID("missing", "context.span_id", .context = "{\"trace_id\":\"a\"}");
    SPAN_INVALID("string_type", "context.trace_id",
                 .context = "{\"trace_id\":5,\"span_id\":\"a\"}");
    SPAN_INVALID("string_type", "context.trace_state",
                 .context = "{\"trace_id\":\"t\",\"span_id\":\"a\",\"trace_state\":1}");
    SPAN_INVALID("missing", "kind", .kind = OMIT);
    SPAN_INVALID("missing", "start_time", .start = OMIT);
    SPAN_INVALID("missing", "end_time", .end = OMIT);
    SPAN_INVALID("missing", "status", .status = OMIT);
    SPAN_INVALID("model_attributes_type", "status", .status = "\"OK\"");
    SPAN_INVALID("missing", "status.status_code", .status = "{}");
    SPAN_INVALID("string_type", "status.status_code", .status = "{\"status_code\":1}");
    SPAN_INVALID("string_type", "status.description",
                 .status = "{\"status_code\":\"OK\",\"description\":5}");
}
END_TEST

START_TEST(bad_ids)
{
    char ctx[512], id200[201];

    memset(id200, 'a', 200);
    id200[200] = '\0';
    snprintf(ctx, sizeof(ctx), "{\"trace_id\":\"%s\",\"span_id\":\"s\"}", id200);
    SPAN_INVALID("value_error", "context.trace_id", .context = ctx);
    snprintf(ctx, sizeof(ctx), "{\"trace_id\":\"t\",\"span_id\":\"%s\"}", id200);
    SPAN_INVALID("value_error", "context.span_id", .context = ctx);
    SPAN_INVALID("value_error", "context.trace_id",
                 .context = "{\"trace_id\":\"a b\",\"span_id\":\"s\"}");
    SPAN_INVALID("value_error", "context.trace_id",
                 .context = "{\"trace_id\":\"a\\tb\",\"span_id\":\"s\"}");
    SPAN_INVALID("value_error", "context.trace_id",
                 .context = "{\"trace_id\":\"caf\xc3\xa9\",\"span_id\":\"s\"}");
    SPAN_INVALID("value_error", "context.span_id",
                 .context = "{\"trace_id\":\"t\",\"span_id\":\"\\u007f\"}");
    SPAN_INVALID("value_error", "context.trace_id",
                 .context = "{\"trace_id\":\"\",\"span_id\":\"s\"}");
    SPAN_INVALID("value_error", "parent_id", .extra = ",\"parent_id\":\"a b\"");
    SPAN_INVALID("string_type", "parent_id", .extra = ",\"parent_id\":7");
    /* 128 characters is the maximum and fine */
    id200[128] = '\0';
    snprintf(ctx, sizeof(ctx), "{\"trace_id\":\"%s\",\"span_id\":\"%s\"}", id200, id200);
    ck_assert_int_eq(decode(body1((sp){.context = ctx})).rc, TS_OK);
}
END_TEST

START_TEST(bad_enums)
{
    SPAN_INVALID("enum", "kind", .kind = "\"SpanKind.FOO\"");
    SPAN_INVALID("enum", "kind", .kind = "\"client\"");
    SPAN_INVALID("enum", "kind", .kind = "\"SpanKind.\"");
    SPAN_INVALID("enum", "kind", .kind = "\"\"");
    SPAN_INVALID("enum", "kind", .kind = "\"StatusCode.OK\"");
    SPAN_INVALID("string_type", "kind", .kind = "3");
    SPAN_INVALID("enum", "status.status_code", .status = "{\"status_code\":\"StatusCode.BAD\"}");
    SPAN_INVALID("enum", "status.status_code", .status = "{\"status_code\":\"SpanKind.OK\"}");
    SPAN_INVALID("enum", "status.status_code", .status = "{\"status_code\":\"ok\"}");
}
END_TEST

START_TEST(bad_times)
{
    SPAN_INVALID("int_parsing", "start_time", .start = "\"abc\"");
    SPAN_INVALID("int_parsing", "start_time", .start = "\"\"");
    SPAN_INVALID("int_parsing", "start_time", .start = "-1");
    SPAN_INVALID("int_parsing", "start_time", .start = "\"-1\"");
    SPAN_INVALID("int_parsing", "start_time", .start = "-1700000000000000000");
    SPAN_INVALID("int_parsing", "start_time", .start = "1.5");
    SPAN_INVALID("int_parsing", "start_time", .start = "\"1.5\"");
    SPAN_INVALID("int_parsing", "start_time", .start = "\"17 \"");
    SPAN_INVALID("int_parsing", "start_time", .start = "1.7e18"); /* not exact */
    SPAN_INVALID("int_parsing", "start_time", .start = "null");
    SPAN_INVALID("int_parsing", "start_time", .start = "true");
    SPAN_INVALID("int_parsing", "start_time", .start = "\"2024-01-01T00:00:00Z\"");
    SPAN_INVALID("int_parsing", "end_time", .end = "\"abc\"");
    SPAN_INVALID("value_error", "end_time", .start = "1700000000000000001",
                 .end = "1700000000000000000");
    SPAN_INVALID("value_error", "end_time", .start = "5", .end = "4");
}
END_TEST

START_TEST(bad_free_form_parts)
{
    SPAN_INVALID("dict_type", "attributes", .extra = ",\"attributes\":[]");
    SPAN_INVALID("dict_type", "attributes", .extra = ",\"attributes\":\"a=b\"");
    SPAN_INVALID("list_type", "events", .extra = ",\"events\":{}");
    SPAN_INVALID("list_type", "events", .extra = ",\"events\":\"x\"");
    SPAN_INVALID("list_type", "links", .extra = ",\"links\":{}");
    SPAN_INVALID("dict_type", "resource", .extra = ",\"resource\":[]");
    SPAN_INVALID("dict_type", "log_request", .extra = ",\"log_request\":[]");
    SPAN_INVALID("dict_type", "log_request", .extra = ",\"log_request\":\"x\"");
}
END_TEST

START_TEST(too_many_attributes)
{
    res r;

    cfg.max_attributes_per_span = 2;
    r = decode(body1((sp){.extra = ",\"attributes\":{\"a\":1,\"b\":{\"c\":1,\"d\":2,\"e\":3}}"}));
    ck_assert_msg(r.rc == TS_OK, "%s", r.err.msg); /* nested keys do not count */
    SPAN_INVALID("too_long", "attributes", .extra = ",\"attributes\":{\"a\":1,\"b\":2,\"c\":3}");
    r = decode(body1((sp){.extra = ",\"attributes\":{\"a\":1,\"b\":2,\"c\":3}"}));
    ck_assert_ptr_nonnull(strstr(r.err.msg, "max_attributes_per_span"));
}
END_TEST

START_TEST(log_request_fields)
{
    res r;
    ts_span *s;

    /* input/output of any JSON type become text; tokens as strings are fine */
    r = decode(body1((sp){.extra = ",\"log_request\":{\"input\":[1,2],\"output\":{\"a\":null},"
                                   "\"input_tokens\":\"5\",\"output_tokens\":0,\"price\":0}"}));
    ck_assert_msg(r.rc == TS_OK, "%s at %s", r.err.msg, r.loc);
    s = &r.spans[0];
    ck_assert_str_eq(s->input, "[1,2]");
    ck_assert_str_eq(s->output, "{\"a\":null}");
    ck_assert_int_eq(s->prompt_tokens, 5);
    ck_assert_int_eq(s->completion_tokens, 0);
    ck_assert_int_eq(s->has_cost, 1);
    ck_assert_double_eq(s->cost, 0.0);
    ck_assert_ptr_null(s->provider);
    ck_assert_ptr_null(s->model);
    ck_assert_str_eq(s->type, "llm");
    ck_assert_str_eq(s->log_request,
                     "{\"input\":[1,2],\"output\":{\"a\":null},\"input_tokens\":\"5\","
                     "\"output_tokens\":0,\"price\":0}");

    /* an empty log_request still marks the span as an LLM call */
    r = decode(body1((sp){.extra = ",\"log_request\":{}"}));
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_str_eq(r.spans[0].type, "llm");
    ck_assert_str_eq(r.spans[0].log_request, "{}");
    ck_assert_int_eq(r.spans[0].has_cost, 0);
    ck_assert_int_eq(r.spans[0].prompt_tokens, TS_TOKENS_ABSENT);

    SPAN_INVALID("greater_than_equal", "log_request.input_tokens",
                 .extra = ",\"log_request\":{\"input_tokens\":-1}");
    SPAN_INVALID("greater_than_equal", "log_request.output_tokens",
                 .extra = ",\"log_request\":{\"output_tokens\":-5}");
    SPAN_INVALID("int_parsing", "log_request.input_tokens",
                 .extra = ",\"log_request\":{\"input_tokens\":1.5}");
    SPAN_INVALID("int_parsing", "log_request.input_tokens",
                 .extra = ",\"log_request\":{\"input_tokens\":\"many\"}");
    SPAN_INVALID("greater_than_equal", "log_request.price",
                 .extra = ",\"log_request\":{\"price\":-0.01}");
    SPAN_INVALID("float_parsing", "log_request.price",
                 .extra = ",\"log_request\":{\"price\":\"free\"}");
    SPAN_INVALID("string_type", "log_request.provider",
                 .extra = ",\"log_request\":{\"provider\":1}");
    SPAN_INVALID("string_type", "log_request.model", .extra = ",\"log_request\":{\"model\":{}}");
    SPAN_INVALID("datetime_parsing", "log_request.request_start_time",
                 .extra = ",\"log_request\":{\"request_start_time\":\"yesterday\"}");
    SPAN_INVALID("datetime_parsing", "log_request.request_start_time",
                 .extra = ",\"log_request\":{\"request_start_time\":1700000000}");
    SPAN_INVALID("datetime_parsing", "log_request.request_end_time",
                 .extra = ",\"log_request\":{\"request_end_time\":\"2024-13-01T00:00:00Z\"}");
}
END_TEST

START_TEST(body_shape)
{
    res r;

    EXPECT_INVALID("[]", "model_attributes_type", "body");
    EXPECT_INVALID("\"spans\"", "model_attributes_type", "body");
    EXPECT_INVALID("{}", "missing", "body.spans");
    EXPECT_INVALID("{\"spans\":{}}", "list_type", "body.spans");
    EXPECT_INVALID("{\"spans\":null}", "list_type", "body.spans");
    EXPECT_INVALID("{\"spans\":\"x\"}", "list_type", "body.spans");
    EXPECT_INVALID("{\"spans\":[],\"close_after\":\"yes\"}", "bool_type", "body.close_after");
    EXPECT_INVALID("{\"spans\":[],\"close_after\":1}", "bool_type", "body.close_after");
    EXPECT_INVALID("{\"spans\":[1]}", "model_attributes_type", "body.spans.0");
    EXPECT_INVALID("{\"spans\":[null]}", "model_attributes_type", "body.spans.0");
    EXPECT_INVALID("{\"spans\":[", "json_invalid", "body");
    EXPECT_INVALID("{\"spans\":[]} x", "json_invalid", "body");
    EXPECT_INVALID("", "json_invalid", "body");
    EXPECT_INVALID("{\"spans\":[],\"x\":\"\\u0000\"}", "json_invalid", "body");

    r = decode("{\"spans\":[]}");
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_uint_eq(r.n, 0);
    r = decode("{\"spans\":[],\"close_after\":null}");
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_int_eq(r.close_after, 0);
    r = decode("{\"spans\":[],\"close_after\":false}");
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_int_eq(r.close_after, 0);
    r = decode(" {\"spans\":[],\"close_after\":true}\n");
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_int_eq(r.close_after, 1);
}
END_TEST

/* The first bad span is reported by its index; the batch yields nothing. */
START_TEST(error_index_and_whole_batch)
{
    const char *good = span_text((sp){0});
    const char *bad = span_text((sp){.kind = "\"NOPE\""});
    const char *body = ts_arena_printf(arena, "{\"spans\":[%s,%s,%s,%s]}", good, good, bad, bad);

    EXPECT_INVALID(body, "enum", "body.spans.2.kind");
}
END_TEST

START_TEST(many_spans_in_order)
{
    char *body, *p;
    size_t cap = 64 + 300 * 400;
    res r;

    body = ts_arena_alloc(arena, cap);
    p = body + snprintf(body, cap, "{\"spans\":[");
    for (int i = 0; i < 300; i++) {
        char ctx[96];
        snprintf(ctx, sizeof(ctx), "{\"trace_id\":\"t%d\",\"span_id\":\"s%d\"}", i % 3, i);
        p += snprintf(p, cap - (size_t)(p - body), "%s%s", i ? "," : "",
                      span_text((sp){.context = ctx}));
    }
    snprintf(p, cap - (size_t)(p - body), "]}");
    r = decode(body);
    ck_assert_msg(r.rc == TS_OK, "%s", r.err.msg);
    ck_assert_uint_eq(r.n, 300);
    for (int i = 0; i < 300; i++) {
        char want[16];
        snprintf(want, sizeof(want), "s%d", i);
        ck_assert_str_eq(r.spans[i].span_id, want);
    }
}
END_TEST

START_TEST(too_many_spans)
{
    const char *s = span_text((sp){0});
    res r;

    cfg.max_spans_per_request = 2;
    r = decode(ts_arena_printf(arena, "{\"spans\":[%s,%s]}", s, s));
    ck_assert_int_eq(r.rc, TS_OK);
    ck_assert_uint_eq(r.n, 2);
    r = decode(ts_arena_printf(arena, "{\"spans\":[%s,%s,%s]}", s, s, s));
    ck_assert_int_eq(r.rc, TS_ETOOBIG);
    ck_assert_uint_eq(r.n, 0);
    ck_assert_ptr_nonnull(strstr(r.err.msg, "max_spans_per_request"));
    /* counted before any span is validated */
    r = decode("{\"spans\":[1,2,3]}");
    ck_assert_int_eq(r.rc, TS_ETOOBIG);
}
END_TEST

START_TEST(string_too_long)
{
    char big[80], field_[128];
    res r;

    cfg.max_string_bytes = 64;
    memset(big, 'x', sizeof(big));
    big[64] = '\0';
    snprintf(field_, sizeof(field_), "\"%s\"", big);
    r = decode(body1((sp){.name = field_})); /* exactly the limit */
    ck_assert_msg(r.rc == TS_OK, "%s", r.err.msg);
    big[65] = '\0';
    big[64] = 'x';
    snprintf(field_, sizeof(field_), "\"%s\"", big);
    EXPECT_INVALID(body1((sp){.name = field_}), "string_too_long", "body");
    r = decode(body1((sp){.name = field_}));
    ck_assert_ptr_nonnull(strstr(r.err.msg, "max_string_bytes"));
    /* deep inside attributes, and as a key */
    snprintf(field_, sizeof(field_), ",\"attributes\":{\"a\":{\"b\":[\"%s\"]}}", big);
    EXPECT_INVALID(body1((sp){.extra = field_}), "string_too_long", "body");
    snprintf(field_, sizeof(field_), ",\"attributes\":{\"%s\":1}", big);
    EXPECT_INVALID(body1((sp){.extra = field_}), "string_too_long", "body");
}
END_TEST

START_TEST(depth_limit)
{
    cfg.max_json_depth = 5;
    /* body, spans, span, attributes = 4 levels; one more is still fine */
    ck_assert_int_eq(decode(body1((sp){.extra = ",\"attributes\":{\"a\":{}}"})).rc, TS_OK);
    EXPECT_INVALID(body1((sp){.extra = ",\"attributes\":{\"a\":{\"b\":[]}}"}), "json_invalid",
                   "body");
}
END_TEST

static Suite *spans_bulk_suite(void)
{
    Suite *s = suite_create("spans_bulk");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, full_span);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, times_exact);
    tcase_add_test(tc, bare_and_prefixed_enums);
    tcase_add_test(tc, required_fields);
    tcase_add_test(tc, bad_ids);
    tcase_add_test(tc, bad_enums);
    tcase_add_test(tc, bad_times);
    tcase_add_test(tc, bad_free_form_parts);
    tcase_add_test(tc, too_many_attributes);
    tcase_add_test(tc, log_request_fields);
    tcase_add_test(tc, body_shape);
    tcase_add_test(tc, error_index_and_whole_batch);
    tcase_add_test(tc, many_spans_in_order);
    tcase_add_test(tc, too_many_spans);
    tcase_add_test(tc, string_too_long);
    tcase_add_test(tc, depth_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(spans_bulk_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
