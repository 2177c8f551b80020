/* test_trulayer_query.c: unit tests for src/codec/trulayer_query.c (the
 * GET /v1/traces filters, integer and time parameters, keyset cursor). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "codec/trulayer_query.h"

/* Query parameters as a NULL-terminated {name, value, ...} list. */
static const char *get(void *ctx, const char *name)
{
    const char *const *kv = ctx;
    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return NULL;
}

static int filters(const char *const *kv, ts_tl_conds *l, ts_trace_query *q, ts_err *err)
{
    static ts_arena *a;
    if (!a)
        a = ts_arena_new(4096);
    memset(l, 0, sizeof(*l));
    memset(q, 0, sizeof(*q));
    ts_err_clear(err);
    return ts_trulayer_list_filters(get, (void *)kv, a, l, q, err);
}

START_TEST(all_filters)
{
    /* clang-format off */
    const char *kv[] = {"project_id", "rag", "model", "gpt-4o", "error", "1",
                        "failure_type", "timeout", "from", "1970-01-01T00:00:01Z",
                        "to", "1970-01-01T00:00:02Z", "latency_min", "5", "latency_max", "5",
                        "tag_key", "tier", "tag_value", "pro", NULL};
    /* clang-format on */
    ts_tl_conds l;
    ts_trace_query q;
    ts_err err;
    ck_assert_int_eq(filters(kv, &l, &q, &err), TS_OK);
    ck_assert_str_eq(q.project, "rag");
    ck_assert_uint_eq(l.n, 8);
    ck_assert_int_eq(l.c[1].field, TS_QF_HAS_ERROR);
    ck_assert_str_eq(l.c[1].vals[0], "1");
    ck_assert_int_eq(l.c[3].op, TS_QOP_GTE);
    ck_assert_str_eq(l.c[3].vals[0], "1000000000");
    ck_assert_int_eq(l.c[4].op, TS_QOP_LT);
    ck_assert_int_eq(l.c[7].field, TS_QF_TAG);
    ck_assert_str_eq(l.c[7].key, "tier");
}
END_TEST

START_TEST(errors_carry_the_trulayer_code)
{
    ts_tl_conds l;
    ts_trace_query q;
    ts_err err;
    const char *bad_int[] = {"latency_min", "-1", NULL};
    const char *range[] = {"token_count_min", "9", "token_count_max", "8", NULL};
    const char *half_tag[] = {"tag_key", "k", NULL};
    const char *quote[] = {"tag_key", "a\"b", "tag_value", "v", NULL};
    const char *time[] = {"from", "yesterday", NULL};
    ck_assert_int_eq(filters(bad_int, &l, &q, &err), TS_EINVAL);
    ck_assert_str_eq(err.type, "error.invalid_parameter");
    ck_assert_str_eq(err.msg, "latency_min must be a non-negative integer, got '-1'");
    ck_assert_int_eq(filters(range, &l, &q, &err), TS_EINVAL);
    ck_assert_str_eq(err.type, "error.invalid_range");
    ck_assert_int_eq(filters(half_tag, &l, &q, &err), TS_EINVAL);
    ck_assert_str_eq(err.type, "error.tags_filter_incomplete");
    ck_assert_int_eq(filters(quote, &l, &q, &err), TS_EINVAL);
    ck_assert_str_eq(err.type, "error.invalid_parameter");
    ck_assert_int_eq(filters(time, &l, &q, &err), TS_EINVAL);
    ck_assert_str_eq(err.msg, "from must be an RFC 3339 date-time, got 'yesterday'");
}
END_TEST

START_TEST(cursor_round_trip)
{
    ts_arena *a = ts_arena_new(1024);
    int64_t k, id;
    char *c = ts_trulayer_cursor_encode(a, -1700000000000000000, 42);
    ck_assert_int_eq(ts_trulayer_cursor_decode(c, &k, &id), 0);
    ck_assert_int_eq(k, -1700000000000000000);
    ck_assert_int_eq(id, 42);
    ck_assert_int_eq(ts_trulayer_cursor_decode("", &k, &id), -1);
    ck_assert_int_eq(ts_trulayer_cursor_decode("7", &k, &id), -1);
    ck_assert_int_eq(ts_trulayer_cursor_decode("zz", &k, &id), -1);
    ck_assert_int_eq(ts_trulayer_cursor_decode("76313a313a3278", &k, &id), -1); /* v1:1:2x */
    ts_arena_free(a);
}
END_TEST

static Suite *trulayer_query_suite(void)
{
    Suite *s = suite_create("trulayer_query");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, all_filters);
    tcase_add_test(tc, errors_carry_the_trulayer_code);
    tcase_add_test(tc, cursor_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(trulayer_query_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
