/* test_ratelimit.c: the per-key token buckets (http/ratelimit.c). */
#include <check.h>
#include <stdlib.h>

#include "http/ratelimit.h"

#define S 1000000000LL

START_TEST(burst_then_refill)
{
    ts_ratelimit *rl = ts_ratelimit_new(3);
    ck_assert_ptr_nonnull(rl);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ts_ratelimit_take(rl, 7, 10 * S), 0);
    ck_assert_int_ge(ts_ratelimit_take(rl, 7, 10 * S), 1); /* the burst is one second's worth */
    ck_assert_int_eq(ts_ratelimit_take(rl, 7, 10 * S + S / 3 + 1000), 0); /* one token back */
    ck_assert_int_ge(ts_ratelimit_take(rl, 7, 10 * S + S / 3 + 2000), 1);
    for (int i = 0; i < 3; i++) /* a long pause refills to the burst, not beyond */
        ck_assert_int_eq(ts_ratelimit_take(rl, 7, 100 * S), 0);
    ck_assert_int_ge(ts_ratelimit_take(rl, 7, 100 * S), 1);
    ts_ratelimit_free(rl);
}
END_TEST

START_TEST(keys_are_independent)
{
    ts_ratelimit *rl = ts_ratelimit_new(1);
    ck_assert_int_eq(ts_ratelimit_take(rl, 1, S), 0);
    ck_assert_int_ge(ts_ratelimit_take(rl, 1, S), 1);
    for (int64_t k = 2; k < 6000; k++) /* more keys than slots: each gets its first token */
        ck_assert_int_eq(ts_ratelimit_take(rl, k, S), 0);
    ts_ratelimit_free(rl);
}
END_TEST

START_TEST(null_and_wait_seconds)
{
    ck_assert_int_eq(ts_ratelimit_take(NULL, 1, 0), 0);
    ts_ratelimit_free(NULL);
    ts_ratelimit *rl = ts_ratelimit_new(1);
    ck_assert_int_eq(ts_ratelimit_take(rl, 9, S), 0);
    /* an empty bucket: a whole second to refill, one more so the client
     * never comes back a moment too early */
    ck_assert_int_eq(ts_ratelimit_take(rl, 9, S), 2);
    ck_assert_int_eq(ts_ratelimit_take(rl, 9, S + S / 2), 1);
    ts_ratelimit_free(rl);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ratelimit");
    TCase *tc = tcase_create("ratelimit");
    tcase_add_test(tc, burst_then_refill);
    tcase_add_test(tc, keys_are_independent);
    tcase_add_test(tc, null_and_wait_seconds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
