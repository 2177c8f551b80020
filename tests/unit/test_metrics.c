/* test_metrics.c: unit tests for src/core/metrics.c: bucket boundaries (le
 * is inclusive), cumulative rendering, label escaping, and counting from
 * many threads at once without losing an observation. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tracestore/metrics.h"

START_TEST(buckets_are_inclusive)
{
    ts_hist h;
    ts_hist_snap s;
    ts_hist_init(&h, &ts_hist_jobs); /* 1, 2, 4, ... 4096 */
    ts_hist_observe(&h, 1);
    ts_hist_observe(&h, 2);
    ts_hist_observe(&h, 3);
    ts_hist_observe(&h, 4096);
    ts_hist_observe(&h, 4097);
    ts_hist_observe(&h, -5); /* clamped to 0: the first bucket */
    ts_hist_snap_get(&h, &s);
    ck_assert_uint_eq(s.b[0], 2);                  /* le 1: -5 and 1 */
    ck_assert_uint_eq(s.b[1], 1);                  /* le 2 */
    ck_assert_uint_eq(s.b[2], 1);                  /* le 4: 3 */
    ck_assert_uint_eq(s.b[ts_hist_jobs.n - 1], 1); /* le 4096 */
    ck_assert_uint_eq(s.b[ts_hist_jobs.n], 1);     /* +Inf */
    ck_assert_uint_eq(s.sum, 1 + 2 + 3 + 4096 + 4097);
}
END_TEST

START_TEST(histogram_text)
{
    static const int64_t le[] = {1000000, 5000000}; /* 1 ms, 5 ms */
    static const ts_hist_bounds b = {le, 2, 1e9};
    ts_hist h;
    ts_hist_snap s;
    ts_prom p;
    size_t len;
    ts_hist_init(&h, &b);
    ts_hist_observe(&h, 1000000);
    ts_hist_observe(&h, 2000000);
    ts_hist_observe(&h, 9000000);
    ts_hist_snap_get(&h, &s);
    ts_prom_init(&p);
    ts_prom_family(&p, "x_seconds", "histogram", "Help.");
    ts_prom_hist(&p, "x_seconds", "route=\"/a\"", &s);
    ts_prom_u64(&p, "y_total", NULL, 7);
    char *t = ts_prom_take(&p, &len);
    ck_assert_str_eq(t, "# HELP x_seconds Help.\n# TYPE x_seconds histogram\n"
                        "x_seconds_bucket{route=\"/a\",le=\"0.001\"} 1\n"
                        "x_seconds_bucket{route=\"/a\",le=\"0.005\"} 2\n"
                        "x_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"
                        "x_seconds_sum{route=\"/a\"} 0.012\n"
                        "x_seconds_count{route=\"/a\"} 3\n"
                        "y_total 7\n");
    ck_assert_uint_eq(len, strlen(t));
    free(t);
}
END_TEST

START_TEST(label_escaping)
{
    char l[64] = "";
    ck_assert_int_eq(ts_prom_label(l, sizeof(l), "a", "x\"y\\z\nw"), 0);
    ck_assert_str_eq(l, "a=\"x\\\"y\\\\z\\nw\"");
    ck_assert_int_eq(ts_prom_label(l, sizeof(l), "b", "2"), 0);
    ck_assert_str_eq(l, "a=\"x\\\"y\\\\z\\nw\",b=\"2\"");
    char small[12] = "";
    ck_assert_int_eq(ts_prom_label(small, sizeof(small), "route", "/too/long"), -1);
    ck_assert_str_eq(small, ""); /* unchanged */
}
END_TEST

static ts_hist shared;

static void *observer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++)
        ts_hist_observe(&shared, i % 3);
    return NULL;
}

START_TEST(concurrent_observations_all_count)
{
    pthread_t t[4];
    ts_hist_snap s;
    uint64_t n = 0;
    ts_hist_init(&shared, &ts_hist_jobs);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, observer, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ts_hist_snap_get(&shared, &s);
    for (unsigned i = 0; i <= ts_hist_jobs.n; i++)
        n += s.b[i];
    ck_assert_uint_eq(n, 400000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, buckets_are_inclusive);
    tcase_add_test(tc, histogram_text);
    tcase_add_test(tc, label_escaping);
    tcase_add_test(tc, concurrent_observations_all_count);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
