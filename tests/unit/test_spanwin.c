/* test_spanwin.c: unit tests for src/store/spanwin.c (the writer's window
 * of recently written span ids that /track-request finds spans by). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/spanwin.h"
#include "tracestore/err.h"

static const char *id(int i)
{
    static char buf[4][32];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%016x", (unsigned)i * 2654435761u);
    return buf[k];
}

START_TEST(finds_what_was_put_per_workspace)
{
    ts_spanwin *w = ts_spanwin_new(1000);
    ck_assert_ptr_nonnull(w);
    for (int i = 1; i <= 400; i++)
        ck_assert_int_eq(ts_spanwin_put(w, 1, id(i), 10 * i, 0), TS_OK);
    for (int i = 1; i <= 400; i++) {
        ck_assert_int_eq(ts_spanwin_get(w, 1, id(i)), 10 * i);
        ck_assert_int_eq(ts_spanwin_get(w, 2, id(i)), 0); /* another workspace */
    }
    ck_assert_int_eq(ts_spanwin_get(w, 1, "not-there"), 0);
    /* the newest put for a span id wins; keep=1 keeps what is there */
    ts_spanwin_put(w, 1, id(7), 5, 0);
    ck_assert_int_eq(ts_spanwin_get(w, 1, id(7)), 5);
    ts_spanwin_put(w, 1, id(7), 6, 1);
    ck_assert_int_eq(ts_spanwin_get(w, 1, id(7)), 5);
    ts_spanwin_free(w);
}
END_TEST

START_TEST(keeps_the_newest_half_to_whole_window)
{
    ts_spanwin *w = ts_spanwin_new(100); /* generations of 50 */
    ck_assert_uint_eq(ts_spanwin_room(w), 50);
    for (int i = 1; i <= 1000; i++) {
        ts_spanwin_put(w, 3, id(i), i, 0);
        /* the newest 50 are always there, nothing older than 100 ever */
        for (int k = i; k > i - 50 && k > 0; k--)
            ck_assert_int_eq(ts_spanwin_get(w, 3, id(k)), k);
        if (i > 100)
            ck_assert_int_eq(ts_spanwin_get(w, 3, id(i - 100)), 0);
    }
    /* a span written again moves to the newest generation */
    ts_spanwin_put(w, 3, id(951), 9510, 0);
    for (int i = 1001; i <= 1060; i++)
        ts_spanwin_put(w, 3, id(i), i, 0);
    ck_assert_int_eq(ts_spanwin_get(w, 3, id(951)), 9510);
    ck_assert_int_eq(ts_spanwin_get(w, 3, id(952)), 0);
    ts_spanwin_free(w);
}
END_TEST

START_TEST(an_empty_window_finds_nothing)
{
    ts_spanwin *w = ts_spanwin_new(0);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(ts_spanwin_put(w, 1, "a", 1, 0), TS_OK);
    ck_assert_int_eq(ts_spanwin_get(w, 1, "a"), 0);
    ck_assert_uint_eq(ts_spanwin_room(w), 0);
    ts_spanwin_free(w);
    ts_spanwin_free(NULL);
    ck_assert_int_eq(ts_spanwin_get(NULL, 1, "a"), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("spanwin");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, finds_what_was_put_per_workspace);
    tcase_add_test(tc, keeps_the_newest_half_to_whole_window);
    tcase_add_test(tc, an_empty_window_finds_nothing);
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
