/* test_err.c: unit tests for src/core/err.c (status names, ts_err detail). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tracestore/err.h"

START_TEST(strerror_names_every_code)
{
    int codes[] = {TS_OK,  TS_ENOMEM, TS_EINVAL, TS_ENOTFOUND, TS_ECONFLICT, TS_ETOOBIG,
                   TS_EIO, TS_EBUSY,  TS_EAUTH,  TS_ESHUTDOWN, TS_EMEDIA};
    size_t i, j;

    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        ck_assert_ptr_nonnull(ts_strerror(codes[i]));
        ck_assert_str_ne(ts_strerror(codes[i]), "unknown error");
        for (j = 0; j < i; j++)
            ck_assert_str_ne(ts_strerror(codes[i]), ts_strerror(codes[j]));
    }
    ck_assert_str_eq(ts_strerror(TS_OK), "ok");
    ck_assert_str_eq(ts_strerror(-999), "unknown error");
    ck_assert_str_eq(ts_strerror(5), "unknown error");
}
END_TEST

START_TEST(set_returns_code_and_formats)
{
    ts_err e;

    ts_err_clear(&e);
    ck_assert_int_eq(ts_err_set(&e, TS_EINVAL, "bad %s at %d", "field", 7), TS_EINVAL);
    ck_assert_int_eq(e.code, TS_EINVAL);
    ck_assert_str_eq(e.msg, "bad field at 7");
    ck_assert_int_eq(ts_err_set(NULL, TS_EIO, "ignored %d", 1), TS_EIO);
}
END_TEST

START_TEST(set_truncates_long_message)
{
    ts_err e;
    char big[1000];

    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ts_err_clear(&e);
    ts_err_set(&e, TS_ETOOBIG, "%s", big);
    ck_assert_uint_eq(strlen(e.msg), sizeof e.msg - 1);
}
END_TEST

START_TEST(set_may_reuse_own_message)
{
    ts_err e;

    ts_err_clear(&e);
    ts_err_set(&e, TS_EINVAL, "unknown key 'x'");
    ts_err_set(&e, TS_EINVAL, "%s:%d: %s", "f.conf", 3, e.msg);
    ck_assert_str_eq(e.msg, "f.conf:3: unknown key 'x'");
}
END_TEST

START_TEST(set_keeps_loc_and_type)
{
    ts_err e;

    ts_err_clear(&e);
    ts_err_loc_key(&e, "spans");
    ts_err_type(&e, "missing");
    ts_err_set(&e, TS_EINVAL, "Field required");
    ck_assert_int_eq(e.nloc, 1);
    ck_assert_str_eq(e.type, "missing");
}
END_TEST

START_TEST(clear_resets_everything)
{
    ts_err e;

    ts_err_set(&e, TS_EIO, "boom");
    ts_err_loc_key(&e, "a");
    ts_err_type(&e, "t");
    ts_err_clear(&e);
    ck_assert_int_eq(e.code, TS_OK);
    ck_assert_str_eq(e.msg, "");
    ck_assert_str_eq(e.type, "");
    ck_assert_int_eq(e.nloc, 0);
    ts_err_clear(NULL);
}
END_TEST

START_TEST(loc_path_keys_and_indexes)
{
    ts_err e;

    ts_err_clear(&e);
    ts_err_loc_key(&e, "body");
    ts_err_loc_key(&e, "spans");
    ts_err_loc_index(&e, 3);
    ts_err_loc_key(&e, "start_time");
    ck_assert_int_eq(e.nloc, 4);
    ck_assert(!e.loc[0].is_index);
    ck_assert_str_eq(e.loc[0].key, "body");
    ck_assert_str_eq(e.loc[1].key, "spans");
    ck_assert(e.loc[2].is_index);
    ck_assert_int_eq(e.loc[2].index, 3);
    ck_assert_str_eq(e.loc[2].key, "");
    ck_assert_str_eq(e.loc[3].key, "start_time");
}
END_TEST

START_TEST(loc_is_bounded)
{
    ts_err e;
    int i;

    ts_err_clear(&e);
    for (i = 0; i < TS_ERR_LOC_MAX + 5; i++)
        ts_err_loc_index(&e, i);
    ck_assert_int_eq(e.nloc, TS_ERR_LOC_MAX);
    ck_assert_int_eq(e.loc[TS_ERR_LOC_MAX - 1].index, TS_ERR_LOC_MAX - 1);
    ts_err_loc_key(&e, "ignored");
    ck_assert_int_eq(e.nloc, TS_ERR_LOC_MAX);
    ts_err_loc_key(NULL, "x");
    ts_err_loc_index(NULL, 1);
    ts_err_type(NULL, "x");
}
END_TEST

START_TEST(long_key_and_type_truncate)
{
    ts_err e;
    char big[200];

    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ts_err_clear(&e);
    ts_err_loc_key(&e, big);
    ts_err_type(&e, big);
    ck_assert_uint_eq(strlen(e.loc[0].key), sizeof e.loc[0].key - 1);
    ck_assert_uint_eq(strlen(e.type), sizeof e.type - 1);
    ts_err_loc_key(&e, NULL);
    ck_assert_str_eq(e.loc[1].key, "");
}
END_TEST

static Suite *err_suite(void)
{
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, strerror_names_every_code);
    tcase_add_test(tc, set_returns_code_and_formats);
    tcase_add_test(tc, set_truncates_long_message);
    tcase_add_test(tc, set_may_reuse_own_message);
    tcase_add_test(tc, set_keeps_loc_and_type);
    tcase_add_test(tc, clear_resets_everything);
    tcase_add_test(tc, loc_path_keys_and_indexes);
    tcase_add_test(tc, loc_is_bounded);
    tcase_add_test(tc, long_key_and_type_truncate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(err_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
