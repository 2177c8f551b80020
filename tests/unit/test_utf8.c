/* test_utf8.c: unit tests for core/utf8.c, the character-boundary cuts
 * every truncation uses (issue 23 point 5). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tracestore/utf8.h"

START_TEST(test_cut)
{
    const char *s = "ab\xc3\xa9"
                    "c\xe2\x82\xac"; /* a b é c € */
    size_t n = strlen(s);
    ck_assert_uint_eq(ts_utf8_cut(s, n, 100), n);
    ck_assert_uint_eq(ts_utf8_cut(s, n, 2), 2);
    ck_assert_uint_eq(ts_utf8_cut(s, n, 3), 2); /* inside é */
    ck_assert_uint_eq(ts_utf8_cut(s, n, 4), 4);
    ck_assert_uint_eq(ts_utf8_cut(s, n, 6), 5); /* inside € */
    ck_assert_uint_eq(ts_utf8_cut(s, n, 7), 5);
    ck_assert_uint_eq(ts_utf8_cut(s, n, 0), 0);
}
END_TEST

START_TEST(test_chars)
{
    const char *s = "\xc3\xa9\xc3\xa9x\xf0\x9f\x98\x80";
    size_t n = strlen(s);
    ck_assert_uint_eq(ts_utf8_chars(s, n, 0), 0);
    ck_assert_uint_eq(ts_utf8_chars(s, n, 1), 2);
    ck_assert_uint_eq(ts_utf8_chars(s, n, 3), 5);
    ck_assert_uint_eq(ts_utf8_chars(s, n, 4), 9);
    ck_assert_uint_eq(ts_utf8_chars(s, n, 255), 9);
}
END_TEST

START_TEST(test_prefix)
{
    ck_assert_uint_eq(ts_utf8_prefix("abc", 2), 2);
    ck_assert_uint_eq(ts_utf8_prefix("a\xc3\xa9", 2), 1);
    ck_assert_uint_eq(ts_utf8_prefix("a\xc3\xa9", 3), 3);
    ck_assert_uint_eq(ts_utf8_prefix("ab\xff"
                                     "cd",
                                     10),
                      2);                                          /* invalid byte */
    ck_assert_uint_eq(ts_utf8_prefix("a\xc0\xaf", 10), 1);         /* overlong */
    ck_assert_uint_eq(ts_utf8_prefix("a\xed\xa0\x80", 10), 1);     /* surrogate */
    ck_assert_uint_eq(ts_utf8_prefix("a\xf4\x90\x80\x80", 10), 1); /* over U+10FFFF */
}
END_TEST

START_TEST(test_repair)
{
    char a[] = "ab\xc3";     /* cut inside a character */
    char b[] = "ab\xe2\x82"; /* cut inside a three-byte one */
    char c[] = "a\xff"
               "b\xc3\xa9"; /* an invalid byte inside */
    char d[] = "a\xc3\xa9"; /* already valid */
    ts_utf8_repair(a);
    ts_utf8_repair(b);
    ts_utf8_repair(c);
    ts_utf8_repair(d);
    ck_assert_str_eq(a, "ab");
    ck_assert_str_eq(b, "ab");
    ck_assert_str_eq(c, "a?b\xc3\xa9");
    ck_assert_str_eq(d, "a\xc3\xa9");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("utf8");
    tcase_add_test(tc, test_cut);
    tcase_add_test(tc, test_chars);
    tcase_add_test(tc, test_prefix);
    tcase_add_test(tc, test_repair);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
