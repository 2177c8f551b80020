/* test_gzip.c: unit tests for src/codec/gzip.c: round trip, the output
 * cap (a small bomb is refused once it passes max), corrupt, truncated,
 * concatenated and trailing-garbage streams. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec/gzip.h"

/* gzip-compresses in; malloc'd. */
static unsigned char *gz(const void *in, size_t n, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 32;
    unsigned char *out = malloc(cap);
    z.next_in = (unsigned char *)in;
    z.avail_in = (unsigned)n;
    z.next_out = out;
    z.avail_out = (unsigned)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

START_TEST(round_trip)
{
    const char *text = "{\"resourceSpans\":[]}";
    size_t zn, n;
    char *out;
    ts_err err;
    unsigned char *z = gz(text, strlen(text), &zn);
    ck_assert_int_eq(ts_gunzip(z, zn, 1024, &out, &n, &err), TS_OK);
    ck_assert_uint_eq(n, strlen(text));
    ck_assert_str_eq(out, text);
    free(out);
    /* exactly at the cap is fine, one byte more is not */
    ck_assert_int_eq(ts_gunzip(z, zn, strlen(text), &out, &n, &err), TS_OK);
    free(out);
    ck_assert_int_eq(ts_gunzip(z, zn, strlen(text) - 1, &out, &n, &err), TS_ETOOBIG);
    ck_assert_ptr_null(out);
    free(z);
}
END_TEST

START_TEST(bomb_is_capped)
{
    size_t big = 64u << 20, zn, n;
    char *zeros = calloc(1, big), *out;
    ts_err err;
    unsigned char *z = gz(zeros, big, &zn);
    free(zeros);
    ck_assert_uint_lt(zn, 100 * 1024); /* 64 MiB of zeros in well under 100 KiB */
    ck_assert_int_eq(ts_gunzip(z, zn, 1 << 20, &out, &n, &err), TS_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "max_body_bytes"));
    free(z);
}
END_TEST

START_TEST(bad_streams)
{
    const char *text = "hello hello hello hello";
    size_t zn, n;
    char *out;
    ts_err err;
    unsigned char *z = gz(text, strlen(text), &zn);
    ck_assert_int_eq(ts_gunzip("", 0, 100, &out, &n, &err), TS_EINVAL);
    ck_assert_int_eq(ts_gunzip("not gzip at all", 15, 100, &out, &n, &err), TS_EINVAL);
    for (size_t cut = 1; cut < zn; cut++)
        ck_assert_int_eq(ts_gunzip(z, cut, 100, &out, &n, &err), TS_EINVAL);
    unsigned char *bad = malloc(zn);
    memcpy(bad, z, zn);
    bad[zn - 3] ^= 0xff; /* length trailer */
    ck_assert_int_eq(ts_gunzip(bad, zn, 100, &out, &n, &err), TS_EINVAL);
    /* two members concatenated: both inflated */
    unsigned char *two = malloc(zn * 2 + 4);
    memcpy(two, z, zn);
    memcpy(two + zn, z, zn);
    ck_assert_int_eq(ts_gunzip(two, zn * 2, 100, &out, &n, &err), TS_OK);
    ck_assert_uint_eq(n, 2 * strlen(text));
    free(out);
    /* trailing garbage is refused */
    memcpy(two + zn, "junk", 4);
    ck_assert_int_eq(ts_gunzip(two, zn + 4, 100, &out, &n, &err), TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "trailing"));
    free(two);
    free(bad);
    free(z);
}
END_TEST

static Suite *gzip_suite(void)
{
    Suite *s = suite_create("gzip");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, bomb_is_capped);
    tcase_add_test(tc, bad_streams);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gzip_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
