/* test_idmask.c: unit tests for core/idmask.c, the keyed permutation the
 * API shows integer ids through (issue 23 point 12). */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "tracestore/idmask.h"

#define DOMAIN (INT64_C(1) << 52)

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

START_TEST(test_permutation)
{
    enum { N = 100000 };
    unsigned char secret[TS_IDMASK_SECRET_LEN];
    ts_idmask m;
    int64_t *out = malloc(N * sizeof *out);
    ck_assert_int_ge(sodium_init(), 0);
    ck_assert_ptr_nonnull(out);
    memset(secret, 7, sizeof secret);
    ts_idmask_init(&m, secret, 1);
    int rising = 0;
    for (int64_t i = 1; i <= N; i++) {
        int64_t y = ts_idmask_hide(&m, TS_ID_SPAN, i);
        ck_assert(y >= 1 && y < DOMAIN);
        ck_assert_int_eq(ts_idmask_reveal(&m, TS_ID_SPAN, y), i);
        out[i - 1] = y;
        rising += i > 1 && y > out[i - 2];
    }
    /* consecutive row ids do not show as an ordered sequence */
    ck_assert(rising > N / 2 - N / 50 && rising < N / 2 + N / 50);
    qsort(out, N, sizeof *out, cmp64);
    for (int i = 1; i < N; i++)
        ck_assert(out[i] != out[i - 1]);
    free(out);
}
END_TEST

START_TEST(test_keys_and_kinds)
{
    unsigned char secret[TS_IDMASK_SECRET_LEN], other[TS_IDMASK_SECRET_LEN];
    ts_idmask a, b, c;
    ck_assert_int_ge(sodium_init(), 0);
    memset(secret, 7, sizeof secret);
    memset(other, 8, sizeof other);
    ts_idmask_init(&a, secret, 1);
    ts_idmask_init(&b, secret, 2);
    ts_idmask_init(&c, other, 1);
    int same_ws = 0, same_kind = 0, same_secret = 0;
    for (int64_t i = 1; i <= 1000; i++) {
        int64_t y = ts_idmask_hide(&a, TS_ID_SPAN, i);
        same_ws += y == ts_idmask_hide(&b, TS_ID_SPAN, i);
        same_kind += y == ts_idmask_hide(&a, TS_ID_REQUEST_LOG, i);
        same_secret += y == ts_idmask_hide(&c, TS_ID_SPAN, i);
    }
    ck_assert_int_eq(same_ws, 0);
    ck_assert_int_eq(same_kind, 0);
    ck_assert_int_eq(same_secret, 0);
    /* outside the domain: unchanged, and never confused with a shown id */
    ck_assert_int_eq(ts_idmask_hide(&a, TS_ID_SPAN, DOMAIN), DOMAIN);
    ck_assert_int_eq(ts_idmask_reveal(&a, TS_ID_SPAN, DOMAIN + 5), DOMAIN + 5);
    ck_assert_int_eq(ts_idmask_hide(&a, TS_ID_SPAN, 0), 0);
    ck_assert_int_eq(ts_idmask_reveal(&a, TS_ID_SPAN, 0), -1);
    ck_assert_int_eq(ts_idmask_reveal(&a, TS_ID_SPAN, -3), -1);
    ck_assert_int_eq(ts_idmask_reveal(&a, TS_ID_SPAN, ts_idmask_hide(&a, TS_ID_SPAN, DOMAIN - 1)),
                     DOMAIN - 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("idmask");
    TCase *tc = tcase_create("idmask");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_permutation);
    tcase_add_test(tc, test_keys_and_kinds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
