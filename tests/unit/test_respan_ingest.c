/* test_respan_ingest.c: unit tests for src/codec/respan_ingest.c (span
 * ingest: both body forms, time derivation, tokens, status) and the
 * filters decoder (operators, units, unknown keys), plus
 * src/codec/track_request.c. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "codec/respan_ingest.h"
#include "codec/track_request.h"
#include "tracestore/timeutil.h"

static ts_config cfg;
static ts_arena *A;

static void setup(void)
{
    ts_config_defaults(&cfg);
    A = ts_arena_new(1 << 16);
}

static void teardown(void)
{
    ts_arena_free(A);
}

static int dec(const char *body, ts_span **s, size_t *n)
{
    ts_err err;
    ts_err_clear(&err);
    return ts_respan_decode(body, strlen(body), &cfg, A, s, n, &err);
}

/* Issue 23.8: a start_time at the epoch is given, not missing. */
START_TEST(test_epoch_start_kept)
{
    ts_span *s;
    size_t n;
    ck_assert_int_eq(dec("[{\"trace_unique_id\":\"t\",\"span_unique_id\":\"a\","
                         "\"start_time\":\"1970-01-01T00:00:00Z\",\"latency\":2}]",
                         &s, &n),
                     TS_OK);
    ck_assert_int_eq(s[0].start_ns, 0);
    ck_assert_int_eq(s[0].end_ns, 2 * INT64_C(1000000000));
}
END_TEST

START_TEST(test_spans)
{
    ts_span *s;
    size_t n;
    ck_assert_int_eq(dec("{\"data\":[{\"trace_unique_id\":\"t\",\"span_unique_id\":\"s\","
                         "\"timestamp\":\"2025-01-01T00:00:02Z\",\"latency\":1.5,"
                         "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4},"
                         "\"model\":\"m\",\"status_code\":500,\"input\":[1],"
                         "\"thread_identifier\":\"th\"}]}",
                         &s, &n),
                     TS_OK);
    ck_assert_uint_eq(n, 1);
    int64_t end;
    ts_time_parse_iso("2025-01-01T00:00:02Z", &end);
    ck_assert_int_eq(s[0].end_ns, end);
    ck_assert_int_eq(s[0].start_ns, end - INT64_C(1500000000));
    ck_assert_int_eq(s[0].latency_ms, 1500);
    ck_assert_int_eq(s[0].prompt_tokens, 3);
    ck_assert_int_eq(s[0].completion_tokens, 4);
    ck_assert_str_eq(s[0].type, "chat");
    ck_assert_str_eq(s[0].error, "error");
    ck_assert_str_eq(s[0].input, "[1]");
    ck_assert_str_eq(s[0].session_id, "th");
    ck_assert_int_eq(dec("[{\"trace_unique_id\":\"t\",\"span_unique_id\":\"s\"}]", &s, &n), TS_OK);
    ck_assert_str_eq(s[0].type, "custom");
    ck_assert_int_eq(dec("[{\"span_unique_id\":\"s\"}]", &s, &n), TS_EINVAL);
    ck_assert_int_eq(dec("{\"spans\":[]}", &s, &n), TS_EINVAL);
    ck_assert_int_eq(
        dec("[{\"trace_unique_id\":\"t\",\"span_unique_id\":\"s\",\"cost\":-1}]", &s, &n),
        TS_EINVAL);
}
END_TEST

static int filt(const char *json, ts_qcond **c, size_t *n)
{
    ts_err err;
    ts_err_clear(&err);
    cJSON *root = cJSON_Parse(json);
    int rc = ts_respan_filters_decode(root, A, c, n, &err);
    cJSON_Delete(root);
    return rc;
}

START_TEST(test_filters)
{
    ts_qcond *c;
    size_t n;
    ck_assert_int_eq(
        filt("{\"duration\":{\"operator\":\"GTE\",\"value\":[2.5]},"
             "\"unknown\":{\"value\":[1]},\"metadata__k\":{\"value\":\"v\"},"
             "\"start_time\":{\"operator\":\"lt\",\"value\":[\"2025-01-01T00:00:00Z\"]},"
             "\"model\":{\"operator\":\"in\",\"value\":[\"a\",\"b\"]}}",
             &c, &n),
        TS_OK);
    ck_assert_uint_eq(n, 4); /* unknown dropped */
    ck_assert_int_eq(c[0].field, TS_QF_LATENCY_MS);
    ck_assert_int_eq(c[0].op, TS_QOP_GTE);
    ck_assert_str_eq(c[0].vals[0], "2500");
    ck_assert_int_eq(c[1].field, TS_QF_METADATA);
    ck_assert_str_eq(c[1].key, "k");
    ck_assert_str_eq(c[1].vals[0], "v");
    ck_assert_int_eq(c[2].field, TS_QF_STARTED);
    ck_assert_str_eq(c[2].vals[0], "1735689600000000000");
    ck_assert_int_eq(c[3].field, TS_QF_SPAN_MODEL);
    ck_assert_uint_eq(c[3].nvals, 2);
    ck_assert_int_eq(filt("{\"name\":{\"operator\":\"near\",\"value\":[1]}}", &c, &n), TS_EINVAL);
    ck_assert_int_eq(filt("{\"name\":{\"value\":[]}}", &c, &n), TS_EINVAL);
    ck_assert_int_eq(filt("{\"span_count\":{\"value\":[\"x\"]}}", &c, &n), TS_EINVAL);
    ck_assert_int_eq(filt("[]", &c, &n), TS_EINVAL);
}
END_TEST

START_TEST(test_track_request)
{
    ts_track t;
    char *key;
    ts_err err;
    const char *body = "{\"api_key\":\"k1\",\"span_id\":\"abc\",\"provider_type\":\"anthropic\","
                       "\"kwargs\":{\"model\":\"claude\",\"messages\":[]},"
                       "\"request_response\":{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],"
                       "\"usage\":{\"input_tokens\":5,\"output_tokens\":6}}}";
    ck_assert_int_eq(ts_track_request_decode(body, strlen(body), &cfg, A, &t, &key, &err), TS_OK);
    ck_assert_str_eq(key, "k1");
    ck_assert_str_eq(t.span_id, "abc");
    ck_assert_str_eq(t.model, "claude");
    ck_assert_str_eq(t.provider, "anthropic");
    ck_assert_str_eq(t.output, "hi");
    ck_assert_int_eq(t.prompt_tokens, 5);
    ck_assert_int_eq(t.completion_tokens, 6);
    ck_assert_ptr_null(strstr(t.body, "k1")); /* the key is never stored */
    const char *bad = "{\"span_id\":5}";
    ck_assert_int_eq(ts_track_request_decode(bad, strlen(bad), &cfg, A, &t, &key, &err), TS_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("respan_ingest");
    TCase *tc = tcase_create("decode");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_spans);
    tcase_add_test(tc, test_epoch_start_kept);
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_track_request);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
