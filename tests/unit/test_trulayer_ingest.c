/* test_trulayer_ingest.c: unit tests for src/codec/trulayer_ingest.c:
 * TraceRequest/SpanRequest/EventRequest decoding, tag forms, span cost
 * precedence, time defaults, validation, and the feedback body. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "codec/trulayer_ingest.h"

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

static int decode(const char *body, int batch, ts_trace_meta **t, size_t *nt, ts_span **s,
                  size_t *ns, ts_err *err)
{
    ts_err_clear(err);
    return ts_trulayer_decode(body, strlen(body), batch, &cfg, A, t, nt, s, ns, err);
}

START_TEST(test_trace_fields)
{
    ts_trace_meta *t;
    ts_span *s;
    size_t nt, ns;
    ts_err err;
    const char *body =
        "{\"id\":\"0192F3A0-7C1E-7A3B-9C2D-1E2F3A4B5C6D\",\"project_id\":\"rag\","
        "\"session_id\":\"c\",\"name\":\"n\",\"input\":{\"q\":1},\"latency_ms\":812,\"cost\":0.5,"
        "\"error\":\"\",\"tags\":{\"tier\":\"pro\"},\"metadata\":{\"a\":1},"
        "\"started_at\":\"2026-04-20T12:00:00Z\",\"spans\":[{\"name\":\"g\",\"type\":\"llm\","
        "\"latency_ms\":100,\"metadata\":{\"cost_usd\":0.25}},{\"name\":\"h\",\"type\":\"tool\","
        "\"cost\":0.1,\"metadata\":{\"cost_usd\":9},\"error\":\"boom\"}],"
        "\"events\":[{\"message\":\"m\"}]}";
    ck_assert_int_eq(decode(body, 0, &t, &nt, &s, &ns, &err), TS_OK);
    ck_assert_uint_eq(nt, 1);
    ck_assert_str_eq(t[0].trace_id, "0192f3a07c1e7a3b9c2d1e2f3a4b5c6d");
    ck_assert_str_eq(t[0].project, "rag");
    ck_assert_str_eq(t[0].input, "{\"q\":1}");
    ck_assert_ptr_null(t[0].error);
    ck_assert_ptr_null(t[0].tags);
    ck_assert_str_eq(t[0].tag_map, "{\"tier\":\"pro\"}");
    ck_assert_int_eq(t[0].latency_ms, 812);
    ck_assert(t[0].has_cost && t[0].cost == 0.5);
    ck_assert_ptr_nonnull(strstr(t[0].events, "\"level\":\"info\""));
    ck_assert_uint_eq(ns, 2);
    ck_assert_str_eq(s[0].trace_id, t[0].trace_id);
    ck_assert(s[0].has_cost && s[0].cost == 0.25); /* metadata.cost_usd */
    ck_assert(s[1].has_cost && s[1].cost == 0.1);  /* explicit cost wins */
    ck_assert_str_eq(s[1].error, "boom");
    ck_assert_int_eq(s[1].status_code, TS_STATUS_ERROR);
    /* span times default to the trace start, end = start + latency */
    ck_assert_int_eq(s[0].start_ns, t[0].started_ns);
    ck_assert_int_eq(s[0].end_ns - s[0].start_ns, 100 * INT64_C(1000000));
}
END_TEST

/* Issue 23.8: 1970-01-01T00:00:00Z is a time given, not an absent one. */
START_TEST(test_epoch_times_kept)
{
    ts_trace_meta *t;
    ts_span *s;
    size_t nt, ns;
    ts_err err;
    const char *body = "{\"started_at\":\"1970-01-01T00:00:00Z\",\"ended_at\":"
                       "\"1970-01-01T00:00:02Z\",\"spans\":[{\"name\":\"a\",\"type\":\"llm\","
                       "\"latency_ms\":5},{\"name\":\"b\",\"type\":\"tool\",\"start_time\":"
                       "\"1970-01-01T00:00:00Z\",\"end_time\":\"1970-01-01T00:00:00Z\"}]}";
    ck_assert_int_eq(decode(body, 0, &t, &nt, &s, &ns, &err), TS_OK);
    ck_assert(t[0].has_started && t[0].started_ns == 0);
    ck_assert(t[0].has_ended && t[0].ended_ns == 2 * INT64_C(1000000000));
    ck_assert_int_eq(s[0].start_ns, 0); /* the trace's start, not now */
    ck_assert_int_eq(s[0].end_ns, 5 * INT64_C(1000000));
    ck_assert_int_eq(s[1].start_ns, 0);
    ck_assert_int_eq(s[1].end_ns, 0);
    ck_assert_int_eq(decode("{}", 0, &t, &nt, &s, &ns, &err), TS_OK);
    ck_assert(!t[0].has_started && !t[0].has_ended);
}
END_TEST

START_TEST(test_batch_and_limits)
{
    ts_trace_meta *t;
    ts_span *s;
    size_t nt, ns;
    ts_err err;
    ck_assert_int_eq(decode("{\"traces\":[{},{\"tags\":[\"a\"]}]}", 1, &t, &nt, &s, &ns, &err),
                     TS_OK);
    ck_assert_uint_eq(nt, 2);
    ck_assert_uint_eq(strlen(t[0].trace_id), 32); /* fresh id */
    ck_assert_str_eq(t[1].tags, "[\"a\"]");
    ck_assert_int_eq(decode("{\"traces\":[]}", 1, &t, &nt, &s, &ns, &err), TS_EINVAL);
    ck_assert_int_eq(decode("{}", 1, &t, &nt, &s, &ns, &err), TS_EINVAL);
    ck_assert_int_eq(decode("{\"spans\":[{\"name\":\"x\"}]}", 0, &t, &nt, &s, &ns, &err),
                     TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "type"));
    ck_assert_int_eq(decode("{\"spans\":[{\"type\":\"x\"}]}", 0, &t, &nt, &s, &ns, &err),
                     TS_EINVAL);
    ck_assert_int_eq(decode("{\"tags\":[1]}", 0, &t, &nt, &s, &ns, &err), TS_EINVAL);
    ck_assert_int_eq(decode("{\"latency_ms\":-5}", 0, &t, &nt, &s, &ns, &err), TS_EINVAL);
    ck_assert_int_eq(decode("{\"started_at\":\"x\"}", 0, &t, &nt, &s, &ns, &err), TS_EINVAL);
    ck_assert_int_eq(decode("{\"started_at\":\"2024-01-02T00:00:00Z\",\"ended_at\":"
                            "\"2024-01-01T00:00:00Z\"}",
                            0, &t, &nt, &s, &ns, &err),
                     TS_EINVAL);
    ck_assert_int_eq(decode("[]", 0, &t, &nt, &s, &ns, &err), TS_EINVAL);
    cfg.max_spans_per_request = 1;
    ck_assert_int_eq(decode("{\"spans\":[{\"name\":\"a\",\"type\":\"b\"},{\"name\":\"a\","
                            "\"type\":\"b\"}]}",
                            0, &t, &nt, &s, &ns, &err),
                     TS_ETOOBIG);
}
END_TEST

START_TEST(test_feedback)
{
    ts_feedback f;
    ts_err err;
    const char *ok = "{\"trace_id\":\"T1\",\"label\":\"good\",\"score\":1,\"metadata\":{}}";
    ck_assert_int_eq(ts_trulayer_feedback_decode(ok, strlen(ok), &cfg, A, &f, &err), TS_OK);
    ck_assert_str_eq(f.trace_id, "T1");
    ck_assert(f.has_score && f.score == 1);
    const char *bad[] = {"{\"label\":\"good\"}", "{\"trace_id\":\"t\"}",
                         "{\"trace_id\":\"t\",\"label\":\"\"}",
                         "{\"trace_id\":\"t\",\"label\":\"x\",\"score\":\"y\"}", "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(ts_trulayer_feedback_decode(bad[i], strlen(bad[i]), &cfg, A, &f, &err),
                         TS_EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trulayer_ingest");
    TCase *tc = tcase_create("decode");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_trace_fields);
    tcase_add_test(tc, test_epoch_times_kept);
    tcase_add_test(tc, test_batch_and_limits);
    tcase_add_test(tc, test_feedback);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
