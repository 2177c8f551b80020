/* test_ids.c: unit tests for src/core/ids.c (trace id validation, 128-bit
 * canonicalisation of hex and UUID spellings, UUID rendering and minting). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tracestore/err.h"
#include "tracestore/ids.h"

static const char *canon(const char *id)
{
    static char out[TS_ID_MAX + 1];

    ck_assert_msg(ts_id_canon(id, strlen(id), out) == TS_OK, "rejected '%s'", id);
    return out;
}

static int canon_bad(const char *id, size_t len)
{
    char out[TS_ID_MAX + 1];

    return ts_id_canon(id, len, out) == TS_EINVAL;
}

START_TEST(hex_and_uuid_spellings_agree)
{
    const char *want = "0af7651916cd43dd8448eb211c80319c";

    ck_assert_str_eq(canon("0af7651916cd43dd8448eb211c80319c"), want);
    ck_assert_str_eq(canon("0AF7651916CD43DD8448EB211C80319C"), want);
    ck_assert_str_eq(canon("0aF7651916Cd43dD8448eb211C80319c"), want);
    ck_assert_str_eq(canon("0af76519-16cd-43dd-8448-eb211c80319c"), want);
    ck_assert_str_eq(canon("0AF76519-16CD-43DD-8448-EB211C80319C"), want);
}
END_TEST

START_TEST(other_ids_are_verbatim)
{
    char max[TS_ID_MAX + 1];
    size_t i;

    ck_assert_str_eq(canon("a"), "a");
    ck_assert_str_eq(canon("trace-ABC_123"), "trace-ABC_123");
    /* 31 or 33 hex digits: not 128-bit, kept as sent (case too) */
    ck_assert_str_eq(canon("0AF7651916CD43DD8448EB211C80319"), "0AF7651916CD43DD8448EB211C80319");
    ck_assert_str_eq(canon("0AF7651916CD43DD8448EB211C80319CD"),
                     "0AF7651916CD43DD8448EB211C80319CD");
    /* 32 characters with a non-hex one */
    ck_assert_str_eq(canon("0AF7651916CD43DD8448EB211C80319G"), "0AF7651916CD43DD8448EB211C80319G");
    /* UUID-shaped but dashes misplaced, or braces */
    ck_assert_str_eq(canon("0AF7651-916CD-43DD-8448-EB211C80319C"),
                     "0AF7651-916CD-43DD-8448-EB211C80319C");
    ck_assert_str_eq(canon("{0af76519-16cd-43dd-8448-eb211c80319c}"),
                     "{0af76519-16cd-43dd-8448-eb211c80319c}");
    ck_assert_str_eq(canon("0af76519-16cd-43dd-8448-eb211c80319g"),
                     "0af76519-16cd-43dd-8448-eb211c80319g");
    ck_assert_str_eq(canon("!~"), "!~");
    for (i = 0; i < TS_ID_MAX; i++)
        max[i] = (char)('!' + i % 94);
    max[TS_ID_MAX] = '\0';
    ck_assert_str_eq(canon(max), max);
}
END_TEST

START_TEST(invalid_ids)
{
    char big[TS_ID_MAX + 2];

    memset(big, 'a', sizeof big);
    ck_assert(canon_bad("", 0));
    ck_assert(canon_bad(big, TS_ID_MAX + 1));
    ck_assert(!canon_bad(big, TS_ID_MAX));
    ck_assert(canon_bad("a b", 3));
    ck_assert(canon_bad(" ab", 3));
    ck_assert(canon_bad("ab\t", 3));
    ck_assert(canon_bad("ab\n", 3));
    ck_assert(canon_bad("a\0b", 3));
    ck_assert(canon_bad("a\x7f", 2));
    ck_assert(canon_bad("caf\xc3\xa9", 5));
    ck_assert(canon_bad("\xff", 1));
    ck_assert(canon_bad(NULL, 3));
}
END_TEST

START_TEST(canon_respects_len)
{
    char out[TS_ID_MAX + 1];
    char raw[4] = {'a', 'b', 'c', 'd'}; /* no terminator */

    ck_assert_int_eq(ts_id_canon(raw, 4, out), TS_OK);
    ck_assert_str_eq(out, "abcd");
    ck_assert_int_eq(ts_id_canon("abcdef", 2, out), TS_OK);
    ck_assert_str_eq(out, "ab");
}
END_TEST

START_TEST(is_hex128)
{
    ck_assert(ts_id_is_hex128("0af7651916cd43dd8448eb211c80319c"));
    ck_assert(ts_id_is_hex128("00000000000000000000000000000000"));
    ck_assert(!ts_id_is_hex128("0AF7651916CD43DD8448EB211C80319C"));
    ck_assert(!ts_id_is_hex128("0af7651916cd43dd8448eb211c80319"));
    ck_assert(!ts_id_is_hex128("0af7651916cd43dd8448eb211c80319cc"));
    ck_assert(!ts_id_is_hex128("0af76519-16cd-43dd-8448-eb211c80319c"));
    ck_assert(!ts_id_is_hex128("0af7651916cd43dd8448eb211c80319g"));
    ck_assert(!ts_id_is_hex128(""));
    ck_assert(!ts_id_is_hex128(NULL));
}
END_TEST

START_TEST(to_uuid_form)
{
    char out[TS_ID_MAX + 1];

    ts_id_to_uuid_form("0af7651916cd43dd8448eb211c80319c", out);
    ck_assert_str_eq(out, "0af76519-16cd-43dd-8448-eb211c80319c");
    ts_id_to_uuid_form("my-trace", out);
    ck_assert_str_eq(out, "my-trace");
    ts_id_to_uuid_form("0AF7651916CD43DD8448EB211C80319C", out); /* not canonical: verbatim */
    ck_assert_str_eq(out, "0AF7651916CD43DD8448EB211C80319C");
    ts_id_to_uuid_form(canon("0AF76519-16CD-43DD-8448-EB211C80319C"), out);
    ck_assert_str_eq(out, "0af76519-16cd-43dd-8448-eb211c80319c");
    ck_assert(ts_uuid_valid(out));
}
END_TEST

START_TEST(uuid_valid)
{
    ck_assert(ts_uuid_valid("0af76519-16cd-43dd-8448-eb211c80319c"));
    ck_assert(ts_uuid_valid("0AF76519-16CD-43DD-8448-EB211C80319C"));
    ck_assert(ts_uuid_valid("00000000-0000-0000-0000-000000000000"));
    ck_assert(!ts_uuid_valid("0af7651916cd43dd8448eb211c80319c"));
    ck_assert(!ts_uuid_valid("0af76519-16cd-43dd-8448-eb211c80319"));
    ck_assert(!ts_uuid_valid("0af76519-16cd-43dd-8448-eb211c80319cc"));
    ck_assert(!ts_uuid_valid("0af76519-16cd-43dd-8448-eb211c80319g"));
    ck_assert(!ts_uuid_valid("0af76519016cd-43dd-8448-eb211c80319c"));
    ck_assert(!ts_uuid_valid("0af7651-916cd-43dd-8448-eb211c80319c"));
    ck_assert(!ts_uuid_valid("{af76519-16cd-43dd-8448-eb211c80319}"));
    ck_assert(!ts_uuid_valid(""));
    ck_assert(!ts_uuid_valid(NULL));
}
END_TEST

START_TEST(uuid_new_is_v4_lowercase_and_unique)
{
    char a[TS_UUID_STRLEN + 1], b[TS_UUID_STRLEN + 1];
    char id[TS_ID_MAX + 1];
    int i;

    for (i = 0; i < 100; i++) {
        ts_uuid_new(a);
        ts_uuid_new(b);
        ck_assert_uint_eq(strlen(a), TS_UUID_STRLEN);
        ck_assert(ts_uuid_valid(a));
        ck_assert_str_ne(a, b);
        ck_assert_int_eq(a[14], '4');                 /* version 4 */
        ck_assert_ptr_nonnull(strchr("89ab", a[19])); /* RFC 4122 variant */
        ck_assert_int_eq(ts_id_canon(a, strlen(a), id), TS_OK);
        ck_assert(ts_id_is_hex128(id)); /* lowercase only */
    }
}
END_TEST

static Suite *ids_suite(void)
{
    Suite *s = suite_create("ids");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, hex_and_uuid_spellings_agree);
    tcase_add_test(tc, other_ids_are_verbatim);
    tcase_add_test(tc, invalid_ids);
    tcase_add_test(tc, canon_respects_len);
    tcase_add_test(tc, is_hex128);
    tcase_add_test(tc, to_uuid_form);
    tcase_add_test(tc, uuid_valid);
    tcase_add_test(tc, uuid_new_is_v4_lowercase_and_unique);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ids_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
