/* test_query_common.c: unit tests for src/store/query_common.c, the parts
 * of trace reads both backends share: a stored row becoming a ts_trace /
 * ts_span (effective values, NULL defaults), how a filter value is taken
 * as a number, trace_dims numbers, sort nullability and the nearest-rank
 * percentile. Rows come from a fake ts_qrow over an array of texts. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/jobs_common.h"
#include "store/query_common.h"

/* A row of texts (NULL: SQL NULL), read as a backend would read it. */
typedef struct fake {
    const char *v[64];
} fake;

static int f_isnull(const ts_qrow *r, int col)
{
    return ((const fake *)r->src)->v[r->base + col] == NULL;
}

static int64_t f_i64(const ts_qrow *r, int col)
{
    const char *v = ((const fake *)r->src)->v[r->base + col];
    return v ? strtoll(v, NULL, 10) : 0;
}

static double f_f64(const ts_qrow *r, int col)
{
    const char *v = ((const fake *)r->src)->v[r->base + col];
    return v ? strtod(v, NULL) : 0;
}

static char *f_text(const ts_qrow *r, ts_arena *a, int col)
{
    const char *v = ((const fake *)r->src)->v[r->base + col];
    return v ? ts_arena_strdup(a, v) : NULL;
}

static ts_qrow row_of(const fake *f)
{
    ts_qrow r = {f, 0, 0, f_isnull, f_i64, f_f64, f_text};
    return r;
}

/* A trace row: only the root span's fields set, counts 0. */
static fake base_trace(void)
{
    fake f;
    memset(&f, 0, sizeof f);
    for (int i = 3; i <= 13; i++)
        f.v[i] = i == 11 || i == 12 ? NULL : "0"; /* no start, no end */
    f.v[0] = "tr";
    f.v[14] = "root-name";
    f.v[15] = "root-in";
    f.v[18] = NULL; /* root_error */
    f.v[19] = NULL; /* err_text */
    f.v[36] = "11"; /* created_ns */
    f.v[37] = "12"; /* updated_ns */
    f.v[38] = "0";  /* closed */
    f.v[40] = "7";  /* rowid */
    return f;
}

START_TEST(test_trace_effective_values)
{
    ts_arena *a = ts_arena_new(4096);
    fake f = base_trace();
    ts_qrow r = row_of(&f);
    ts_trace t;

    ts_query_trace_row(&r, a, &t);
    ck_assert_str_eq(t.trace_id, "tr");
    ck_assert_str_eq(t.name, "root-name");
    ck_assert_str_eq(t.input, "root-in");
    ck_assert_ptr_null(t.error);
    ck_assert_int_eq(t.has_cost, 0);
    ck_assert_int_eq(t.has_started, 0);
    ck_assert_str_eq(t.tags, "[]");
    ck_assert_str_eq(t.metadata, "{}");
    ck_assert_str_eq(t.events, "[]");
    ck_assert_ptr_null(t.tag_map);
    ck_assert_int_eq(t.rowid, 7);
    ck_assert_int_eq(t.created_ns, 11);

    /* explicit fields win; the error falls back root error, then the
     * first errored span's; the cost needs a priced span */
    f.v[20] = "explicit";
    f.v[19] = "span-err";
    f.v[8] = "0.5"; /* cost_sum without cost_span_count */
    f.v[11] = "1000000";
    f.v[12] = "4000000";
    ts_query_trace_row(&r, a, &t);
    ck_assert_str_eq(t.name, "explicit");
    ck_assert_str_eq(t.error, "span-err");
    ck_assert_int_eq(t.has_cost, 0);
    ck_assert_int_eq(t.latency_ms, 3);
    f.v[18] = "root-err";
    f.v[9] = "1";
    ts_query_trace_row(&r, a, &t);
    ck_assert_str_eq(t.error, "root-err");
    ck_assert_int_eq(t.has_cost, 1);
    ck_assert(t.cost == 0.5);
    f.v[24] = "trace-err";
    f.v[25] = "2.25"; /* t_cost */
    f.v[26] = "9";    /* t_latency_ms */
    f.v[27] = "0";    /* t_started_ns: 0 is a time */
    f.v[38] = "1";
    ts_query_trace_row(&r, a, &t);
    ck_assert_str_eq(t.error, "trace-err");
    ck_assert(t.cost == 2.25);
    ck_assert_int_eq(t.latency_ms, 9);
    ck_assert_int_eq(t.has_started, 1);
    ck_assert_int_eq(t.started_ns, 0);
    ck_assert_int_eq(t.closed, 1);
    ts_arena_free(a);
}
END_TEST

START_TEST(test_span_row_absent_values)
{
    ts_arena *a = ts_arena_new(4096);
    fake f;
    ts_span sp;
    memset(&f, 0, sizeof f);
    f.v[0] = "3";
    f.v[1] = "s1";
    f.v[4] = "2";
    f.v[28] = "2"; /* price state: the table's */
    ts_qrow r = row_of(&f);
    ts_query_span_row(&r, a, &sp);
    ck_assert_int_eq(sp.rowid, 3);
    ck_assert_str_eq(sp.span_id, "s1");
    ck_assert_int_eq(sp.kind, 2);
    ck_assert_int_eq(sp.prompt_tokens, TS_TOKENS_ABSENT);
    ck_assert_int_eq(sp.reasoning_tokens, TS_TOKENS_ABSENT);
    ck_assert_int_eq(sp.has_cost, 0);
    ck_assert_int_eq(sp.cost_priced, 1);
    ck_assert_int_eq(sp.unpriced, 0);
    ck_assert_int_eq(sp.latency_ms, -1);
    ck_assert_int_eq(sp.request_log_id, 0);
    f.v[21] = "0";
    f.v[27] = "0";
    f.v[28] = "1";
    f.v[33] = "0";
    ts_query_span_row(&r, a, &sp);
    ck_assert_int_eq(sp.prompt_tokens, 0);
    ck_assert_int_eq(sp.has_cost, 1);
    ck_assert_int_eq(sp.unpriced, 1);
    ck_assert_int_eq(sp.latency_ms, 0);
    ts_arena_free(a);
}
END_TEST

START_TEST(test_numbers)
{
    int64_t i = -1;
    double d = -1;
    ck_assert_int_eq(ts_query_num("12", &i, &d), 1);
    ck_assert_int_eq(i, 12);
    ck_assert_int_eq(ts_query_num("-3", &i, &d), 1);
    ck_assert_int_eq(i, -3);
    ck_assert_int_eq(ts_query_num("1.5", &i, &d), 0);
    ck_assert(d == 1.5);
    ck_assert_int_eq(ts_query_num("12abc", &i, &d), 0); /* the double it starts with */
    ck_assert(d == 12.0);
    ck_assert_int_eq(ts_query_num("abc", &i, &d), 0);
    ck_assert(d == 0.0);
    ck_assert_int_eq(ts_query_num("", &i, &d), 0);
    ck_assert_int_eq(ts_query_is_num("1e3"), 1);
    ck_assert_int_eq(ts_query_is_num("-0.25"), 1);
    ck_assert_int_eq(ts_query_is_num("1.5x"), 0);
    ck_assert_int_eq(ts_query_is_num(""), 0);
    ck_assert_int_eq(ts_query_is_num("true"), 0);
}
END_TEST

START_TEST(test_rank)
{
    ck_assert_int_eq(ts_query_rank(50, 0), 1);
    ck_assert_int_eq(ts_query_rank(99, 1), 1);
    ck_assert_int_eq(ts_query_rank(50, 20), 10);
    ck_assert_int_eq(ts_query_rank(95, 20), 19);
    ck_assert_int_eq(ts_query_rank(99, 20), 20);
    ck_assert_int_eq(ts_query_rank(95, 100), 95);
    ck_assert_int_eq(ts_query_rank(50, 3), 2);
    ck_assert_int_eq(ts_query_rank(99, 101), 100);
    /* the ceiling, not the nearest: 50.49 -> 51, 29.45 -> 30 */
    ck_assert_int_eq(ts_query_rank(99, 51), 51);
    ck_assert_int_eq(ts_query_rank(95, 31), 30);
}
END_TEST

START_TEST(test_fields_and_dims)
{
    int numeric, real, nullable;
    ck_assert_str_eq(ts_query_field_sql(TS_QF_COST, &numeric, &real), "t.eff_cost");
    ck_assert(numeric && real);
    ck_assert_str_eq(ts_query_field_sql(TS_QF_NAME, &numeric, &real),
                     "coalesce(t.t_name, t.root_name)");
    ck_assert(!numeric && !real);
    ck_assert_ptr_null(ts_query_field_sql(TS_QF_METADATA, &numeric, &real));
    ck_assert_ptr_null(ts_query_field_sql(TS_QF_SPAN_MODEL, &numeric, &real));
    ck_assert_str_eq(ts_query_span_sql(TS_QF_SPAN_COST, &numeric, &real), "s.cost");
    ck_assert(numeric && real);
    ck_assert_ptr_null(ts_query_span_sql(TS_QF_NAME, &numeric, &real));
    /* the numbers the writers store (jobs_common.h) */
    ck_assert_int_eq(ts_query_dim_of(TS_QF_SPAN_MODEL), TS_DIM_MODEL);
    ck_assert_int_eq(ts_query_dim_of(TS_QF_SPAN_FAILURE), TS_DIM_FAILURE);
    ck_assert_int_eq(ts_query_dim_of(TS_QF_SPAN_NAME), TS_DIM_NAME);
    ck_assert_int_eq(ts_query_dim_of(TS_QF_SPAN_TYPE), TS_DIM_TYPE);
    ck_assert_int_eq(ts_query_dim_of(TS_QF_SPAN_PARENT), TS_DIM_PARENT);
    ck_assert_int_eq(ts_query_dim_of(TS_QF_SPAN_PROVIDER), TS_DIM_PROVIDER);
    ck_assert_int_eq(ts_query_dim_of(TS_QF_SPAN_STATUS), TS_DIM_STATUS);
    ck_assert_int_eq(ts_query_dim_of(TS_QF_SPAN_ID), 0);
    ck_assert_int_eq(ts_query_dim_of(TS_QF_NAME), 0);
    /* a sort that can be NULL orders its NULLs first (SQLite's order) */
    static const ts_qsort can_null[] = {TS_QS_ENDED, TS_QS_COST, TS_QS_NAME, TS_QS_CUSTOMER};
    for (size_t i = 0; i < sizeof can_null / sizeof can_null[0]; i++) {
        ts_query_sort_sql(can_null[i], &nullable);
        ck_assert_int_eq(nullable, 1);
    }
    ck_assert_str_eq(ts_query_sort_sql(TS_QS_STARTED, &nullable), "t.eff_start");
    ck_assert_int_eq(nullable, 0);
    ck_assert_str_eq(ts_query_sort_sql(TS_QS_LATENCY, &nullable), "t.eff_latency");
    ck_assert_int_eq(nullable, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("query_common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_trace_effective_values);
    tcase_add_test(tc, test_span_row_absent_values);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_rank);
    tcase_add_test(tc, test_fields_and_dims);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
