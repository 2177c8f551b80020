/* test_otlp_pb.c: unit tests for src/codec/otlp_pb.c and the shared
 * conversion of src/codec/otlp.c: a full request decodes into the stored
 * form (hex ids, attribute/event/resource/scope JSON), spans with bad ids
 * or times are rejected alone, malformed bodies and limits are errors
 * naming the problem, unknown fields are skipped, responses encode. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../common/otlp_build.h"
#include "codec/json_guard.h"
#include "codec/otlp_pb.h"

static ts_arena *arena;
static ts_config cfg;
static ts_otlp_limits lim;

static void setup(void)
{
    arena = ts_arena_new(4096);
    ts_config_defaults(&cfg);
    ts_otlp_limits_from(&cfg, &lim);
}

static void teardown(void)
{
    ts_arena_free(arena);
}

#define TRACE "5B8EFFF798038103D269B633813FC60C"
#define SPAN "EEE19B7EC3C1B174"
#define PARENT "eee19b7ec3c1b173"
#define T0 UINT64_C(1700000000000000000)

typedef struct out {
    int rc;
    ts_err err;
    ts_span *spans;
    size_t n;
    ts_otlp_rejects rej;
} out;

static out decode_pb(const void *body, size_t len)
{
    out o;
    ts_otlp_req q;
    memset(&o, 0, sizeof(o));
    o.rc = ts_otlp_pb_decode(body, len, &lim, arena, &q, &o.err);
    if (o.rc == TS_OK)
        ck_assert_int_eq(ts_otlp_to_spans(&q, arena, &o.spans, &o.n, &o.rej), TS_OK);
    return o;
}

static out decode_req(const tb_req *q)
{
    size_t len;
    unsigned char *b = tb_pb(q, &len);
    out o = decode_pb(b, len);
    free(b);
    return o;
}

static const tb_attr attrs[] = {
    {"s", 's', "text", NULL, 0, 0},
    {"i", 'i', NULL, NULL, 42, 0},
    {"big", 'i', NULL, NULL, INT64_C(9007199254740993), 0},
    {"neg", 'i', NULL, NULL, -5, 0},
    {"d", 'd', NULL, NULL, 0, 1.5},
    {"b", 'b', NULL, NULL, 1, 0},
    {"arr", 'a', "x", "y", 0, 0},
    {"kv", 'k', "k", "v", 0, 0},
    {"y", 'y', "hi", NULL, 0, 0},
    {"gen_ai.request.model", 's', "gpt-4o", NULL, 0, 0},
    {"gen_ai.usage.input_tokens", 'i', NULL, NULL, 100, 0},
};
static const tb_attr ev_attrs[] = {{"exception.message", 's', "boom", NULL, 0, 0}};
static const tb_attr res_attrs[] = {{"service.name", 's', "svc", NULL, 0, 0}};

START_TEST(full_request)
{
    tb_span sp = {TRACE,
                  SPAN,
                  PARENT,
                  "chat",
                  3,
                  2,
                  "failed",
                  T0,
                  T0 + 1000000,
                  attrs,
                  sizeof(attrs) / sizeof(attrs[0]),
                  "exception",
                  ev_attrs,
                  1,
                  T0 + 5};
    tb_req q = {res_attrs, 1, "lib", "1.2", &sp, 1};
    out o = decode_req(&q);
    ck_assert_msg(o.rc == TS_OK, "%s", o.err.msg);
    ck_assert_uint_eq(o.n, 1);
    ck_assert_uint_eq(o.rej.count, 0);
    ts_span *s = &o.spans[0];
    ck_assert_str_eq(s->trace_id, "5b8efff798038103d269b633813fc60c");
    ck_assert_str_eq(s->span_id, "eee19b7ec3c1b174");
    ck_assert_str_eq(s->parent_id, "eee19b7ec3c1b173");
    ck_assert_str_eq(s->name, "chat");
    ck_assert_int_eq(s->kind, TS_KIND_CLIENT);
    ck_assert_int_eq(s->status_code, TS_STATUS_ERROR);
    ck_assert_str_eq(s->status_message, "failed");
    ck_assert(s->start_ns == (int64_t)T0 && s->end_ns == (int64_t)(T0 + 1000000));
    ck_assert_int_eq(s->origin, TS_ORIGIN_OTLP);
    ck_assert_str_eq(s->attributes,
                     "{\"s\":\"text\",\"i\":42,\"big\":\"9007199254740993\",\"neg\":-5,\"d\":1.5,"
                     "\"b\":true,\"arr\":[\"x\",\"y\"],\"kv\":{\"k\":\"v\"},\"y\":\"aGk=\","
                     "\"gen_ai.request.model\":\"gpt-4o\",\"gen_ai.usage.input_tokens\":100}");
    ck_assert_str_eq(s->events, "[{\"name\":\"exception\",\"timestamp\":\"1700000000000000005\","
                                "\"attributes\":{\"exception.message\":\"boom\"}}]");
    ck_assert_str_eq(s->links, "[]");
    ck_assert_str_eq(s->resource,
                     "{\"attributes\":{\"service.name\":\"svc\"},\"schema_url\":\"\"}");
    ck_assert_str_eq(
        s->scope, "{\"name\":\"lib\",\"version\":\"1.2\",\"attributes\":{},\"schema_url\":\"\"}");
    /* the attribute mapping ran */
    ck_assert_str_eq(s->model, "gpt-4o");
    ck_assert_int_eq(s->prompt_tokens, 100);
    ck_assert_str_eq(s->error, "boom");
}
END_TEST

START_TEST(bad_ids_rejected_alone)
{
    tb_span sp[] = {
        {TRACE, SPAN, NULL, "ok", 1, 0, NULL, T0, T0, NULL, 0, NULL, NULL, 0, 0},
        {"5b8efff798038103", SPAN, NULL, "short trace", 1, 0, NULL, T0, T0, NULL, 0, NULL, NULL, 0,
         0},
        {TRACE, "eee19b7e", NULL, "short span", 1, 0, NULL, T0, T0, NULL, 0, NULL, NULL, 0, 0},
        {NULL, SPAN, NULL, "no trace", 1, 0, NULL, T0, T0, NULL, 0, NULL, NULL, 0, 0},
        {"00000000000000000000000000000000", SPAN, NULL, "zero", 1, 0, NULL, T0, T0, NULL, 0, NULL,
         NULL, 0, 0},
        {TRACE, "0000000000000000", NULL, "zero span", 1, 0, NULL, T0, T0, NULL, 0, NULL, NULL, 0,
         0},
        {TRACE, SPAN, "eee1", "short parent", 1, 0, NULL, T0, T0, NULL, 0, NULL, NULL, 0, 0},
        {TRACE, SPAN, NULL, "backwards", 1, 0, NULL, T0 + 1, T0, NULL, 0, NULL, NULL, 0, 0},
        {TRACE, SPAN, NULL, "too late", 1, 0, NULL, UINT64_MAX - 1, UINT64_MAX, NULL, 0, NULL, NULL,
         0, 0},
    };
    tb_req q = {NULL, 0, NULL, NULL, sp, sizeof(sp) / sizeof(sp[0])};
    out o = decode_req(&q);
    ck_assert_int_eq(o.rc, TS_OK);
    ck_assert_uint_eq(o.n, 1);
    ck_assert_str_eq(o.spans[0].name, "ok");
    ck_assert_uint_eq(o.rej.count, 8);
    ck_assert_str_eq(o.rej.first, "invalid traceId length: 8 bytes, want 16 (32 hex digits)");
}
END_TEST

START_TEST(defaults_and_unknown_values)
{
    /* kind 9 and status 7 are not OTLP values: stored as unspecified/unset;
     * an empty parent is a root */
    tb_span sp = {TRACE, SPAN, "", NULL, 9, 7, NULL, T0, T0, NULL, 0, NULL, NULL, 0, 0};
    tb_req q = {NULL, 0, NULL, NULL, &sp, 1};
    out o = decode_req(&q);
    ck_assert_int_eq(o.rc, TS_OK);
    ck_assert_uint_eq(o.n, 1);
    ck_assert_int_eq(o.spans[0].kind, TS_KIND_UNSPECIFIED);
    ck_assert_int_eq(o.spans[0].status_code, TS_STATUS_UNSET);
    ck_assert_ptr_null(o.spans[0].parent_id);
    ck_assert_str_eq(o.spans[0].name, "");
    ck_assert_str_eq(o.spans[0].attributes, "{}");
    ck_assert_str_eq(o.spans[0].resource, "{\"attributes\":{},\"schema_url\":\"\"}");
}
END_TEST

START_TEST(empty_and_unknown_fields)
{
    out o = decode_pb("", 0);
    ck_assert_int_eq(o.rc, TS_OK);
    ck_assert_uint_eq(o.n, 0);
    /* unknown fields of every wire type are skipped */
    pbw w = {0};
    pbw_tag(&w, 99, 0);
    pbw_varint(&w, 12345);
    pbw_bytes(&w, 98, "zz", 2);
    pbw_fixed64(&w, 97, 7);
    pbw_tag(&w, 96, 5);
    pbw_put(&w, "abcd", 4);
    o = decode_pb(w.p, w.len);
    ck_assert_msg(o.rc == TS_OK, "%s", o.err.msg);
    free(w.p);
}
END_TEST

START_TEST(malformed_bodies)
{
    tb_span sp = {TRACE, SPAN, NULL, "x", 1, 0, NULL, T0, T0, attrs, 3, NULL, NULL, 0, 0};
    tb_req q = {NULL, 0, NULL, NULL, &sp, 1};
    size_t len;
    unsigned char *b = tb_pb(&q, &len);
    /* every truncation of a valid body is an error or a smaller request, never a crash */
    for (size_t cut = 1; cut < len; cut++) {
        out o = decode_pb(b, cut);
        ck_assert(o.rc == TS_OK || o.rc == TS_EINVAL);
    }
    out o = decode_pb(b, len - 1);
    ck_assert_int_eq(o.rc, TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(o.err.msg, "invalid protobuf body"));
    free(b);
    o = decode_pb("\xff\xff\xff", 3);
    ck_assert_int_eq(o.rc, TS_EINVAL);
    o = decode_pb("{\"resourceSpans\":[]}", 20); /* JSON sent as protobuf */
    ck_assert_int_eq(o.rc, TS_EINVAL);
    /* a length-delimited field of the schema sent as a varint */
    pbw w = {0};
    pbw_tag(&w, 1, 0);
    pbw_varint(&w, 1);
    o = decode_pb(w.p, w.len);
    ck_assert_int_eq(o.rc, TS_EINVAL);
    free(w.p);
}
END_TEST

START_TEST(strings_checked)
{
    tb_attr bad[] = {{"k", 's', "\xc3\x28", NULL, 0, 0}};
    tb_span sp = {TRACE, SPAN, NULL, "x", 1, 0, NULL, T0, T0, bad, 1, NULL, NULL, 0, 0};
    tb_req q = {NULL, 0, NULL, NULL, &sp, 1};
    out o = decode_req(&q);
    ck_assert_int_eq(o.rc, TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(o.err.msg, "UTF-8"));
    lim.max_string = 3;
    tb_attr longs[] = {{"k", 's', "long", NULL, 0, 0}};
    sp.attrs = longs;
    o = decode_req(&q);
    ck_assert_int_eq(o.rc, TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(o.err.msg, "max_string_bytes"));
}
END_TEST

/* An independent UTF-8 check, by decoded code points (ts_utf8_valid skips
 * ASCII runs many bytes at a time and checks the rest by the JSON guard's
 * byte ranges): the reference it must agree with. */
static int utf8_reference(const unsigned char *p, size_t n)
{
    const unsigned char *end = p + n;
    while (p < end) {
        unsigned c = *p, k;
        uint32_t cp;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, cp = c & 0x07;
        else
            return 0;
        if ((size_t)(end - p) <= k)
            return 0;
        for (unsigned i = 1; i <= k; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        p += k + 1;
    }
    return 1;
}

START_TEST(utf8_check_agrees_with_the_reference)
{
    static const char *pieces[] = {"\xc3\xa9", "\xe2\x86\x92", "\xf0\x9f\x9a\x80", "\xc3",
                                   "\xe2\x86", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
                                   "\x80", "\xff", "\"", "\\", "\n", "\x01"};
    unsigned long long x = 0x1234567887654321ull;
    char s[300];
    int valid = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n = 0, len;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        len = (size_t)(x % 200);
        while (n < len) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (x % 10 < 8) {
                s[n++] = (char)('a' + x % 26);
            } else {
                const char *p = pieces[(x >> 8) % (sizeof pieces / sizeof *pieces)];
                size_t k = strlen(p);
                if (n + k > sizeof s)
                    break;
                memcpy(s + n, p, k);
                n += k;
            }
        }
        if (round % 7 == 0 && n > 0) /* a NUL somewhere */
            s[x % n] = '\0';
        int want = utf8_reference((const unsigned char *)s, n);
        ck_assert_int_eq(ts_utf8_valid(s, n), want);
        valid += want;
    }
    ck_assert_int_gt(valid, 500); /* both answers were exercised */
    ck_assert_int_lt(valid, 19000);
}
END_TEST

START_TEST(limits)
{
    tb_span sp[3];
    for (int i = 0; i < 3; i++)
        sp[i] = (tb_span){TRACE, SPAN, NULL, "x", 1, 0, NULL, T0, T0, attrs, 3, NULL, NULL, 0, 0};
    tb_req q = {NULL, 0, NULL, NULL, sp, 3};
    lim.max_spans = 2;
    out o = decode_req(&q);
    ck_assert_int_eq(o.rc, TS_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(o.err.msg, "max_spans_per_request"));
    lim.max_spans = 3;
    lim.max_attrs = 2;
    o = decode_req(&q);
    ck_assert_int_eq(o.rc, TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(o.err.msg, "max_attributes_per_span"));
}
END_TEST

START_TEST(deep_nesting)
{
    /* AnyValue{array_value{values:[AnyValue{...}]}} nested 10000 levels */
    pbw v = {0};
    pbw_str(&v, 1, "leaf");
    for (int i = 0; i < 10000; i++) {
        pbw arr = {0}, any = {0};
        pbw_msg(&arr, 1, &v);
        pbw_msg(&any, 5, &arr);
        v = any;
    }
    pbw kv = {0}, span = {0}, ss = {0}, rs = {0}, req = {0};
    pbw_str(&kv, 1, "deep");
    pbw_msg(&kv, 2, &v);
    unsigned char id[16] = {1};
    pbw_bytes(&span, 1, id, 16);
    pbw_bytes(&span, 2, id, 8);
    pbw_msg(&span, 9, &kv);
    pbw_msg(&ss, 2, &span);
    pbw_msg(&rs, 2, &ss);
    pbw_msg(&req, 1, &rs);
    out o = decode_pb(req.p, req.len);
    ck_assert_int_eq(o.rc, TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(o.err.msg, "max_json_depth"));
    free(req.p);
}
END_TEST

START_TEST(responses)
{
    size_t len = 99;
    char *r = ts_otlp_pb_response(0, NULL, &len);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(len, 0); /* partial_success unset */
    free(r);
    r = ts_otlp_pb_response(2, "x", &len);
    ck_assert_uint_eq(len, 7);
    ck_assert(memcmp(r, "\x0a\x05\x08\x02\x12\x01x", 7) == 0);
    free(r);
    r = ts_otlp_pb_status(3, "bad", &len);
    ck_assert_uint_eq(len, 7);
    ck_assert(memcmp(r,
                     "\x08\x03\x12\x03"
                     "bad",
                     7) == 0);
    free(r);
}
END_TEST

static Suite *otlp_pb_suite(void)
{
    Suite *s = suite_create("otlp_pb");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, full_request);
    tcase_add_test(tc, bad_ids_rejected_alone);
    tcase_add_test(tc, defaults_and_unknown_values);
    tcase_add_test(tc, empty_and_unknown_fields);
    tcase_add_test(tc, malformed_bodies);
    tcase_add_test(tc, strings_checked);
    tcase_add_test(tc, utf8_check_agrees_with_the_reference);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, deep_nesting);
    tcase_add_test(tc, responses);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(otlp_pb_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
