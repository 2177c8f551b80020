/* test_json_guard.c: unit tests for src/codec/json_guard.c (the byte-level
 * pre-check before cJSON: UTF-8, control bytes, NULs, \u0000, nesting depth,
 * and quoting of integers too long for a double). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json_guard.h"
#include "tracestore/arena.h"
#include "tracestore/err.h"

static ts_arena *arena;

static void setup(void)
{
    arena = ts_arena_new(4096);
    ck_assert_ptr_nonnull(arena);
}

static void teardown(void)
{
    ts_arena_free(arena);
    arena = NULL;
}

/* Runs the guard over len bytes of in; returns rc, output in *out. */
static int guard_n(const char *in, size_t len, int depth, const char **out, size_t *outlen,
                   ts_err *err)
{
    ts_err_clear(err);
    *out = NULL;
    *outlen = 0;
    return ts_json_guard(in, len, depth, arena, out, outlen, NULL, err);
}

/* Expects rejection with type json_invalid. */
static void reject_n(const char *in, size_t len, int depth)
{
    const char *out;
    size_t outlen;
    ts_err err;

    ck_assert_msg(guard_n(in, len, depth, &out, &outlen, &err) == TS_EINVAL, "accepted: %.*s",
                  (int)len, in);
    ck_assert_int_eq(err.code, TS_EINVAL);
    ck_assert_str_eq(err.type, "json_invalid");
    ck_assert(err.msg[0] != '\0');
}

static void reject(const char *in)
{
    reject_n(in, strlen(in), 64);
}

/* Expects acceptance, returns the output text (NUL-terminated copy). */
static const char *accept_n(const char *in, size_t len, int depth)
{
    const char *out;
    size_t outlen;
    ts_err err;
    char *copy;

    ck_assert_msg(guard_n(in, len, depth, &out, &outlen, &err) == TS_OK, "rejected: %s (%s)", in,
                  err.msg);
    ck_assert_ptr_nonnull(out);
    copy = ts_arena_strndup(arena, out, outlen);
    ck_assert_ptr_nonnull(copy);
    ck_assert_uint_eq(strlen(copy), outlen);
    return copy;
}

static const char *accept(const char *in)
{
    return accept_n(in, strlen(in), 64);
}

START_TEST(valid_utf8_accepted)
{
    /* 2, 3 and 4 byte sequences, including the edges of each range */
    accept("{\"a\":\"caf\xc3\xa9\"}");
    accept("{\"a\":\"\xc2\x80\xdf\xbf\"}");
    accept("{\"a\":\"\xe0\xa0\x80\xef\xbf\xbf\"}");
    accept("{\"a\":\"\xed\x9f\xbf\"}");                /* U+D7FF, just below the surrogates */
    accept("{\"a\":\"\xee\x80\x80\"}");                /* U+E000, just above */
    accept("{\"a\":\"\xf0\x90\x80\x80\"}");            /* U+10000 */
    accept("{\"a\":\"\xf4\x8f\xbf\xbf\"}");            /* U+10FFFF */
    accept("{\"\xe2\x82\xac\":\"\xf0\x9f\x98\x80\"}"); /* non-ASCII key */
}
END_TEST

START_TEST(invalid_utf8_rejected)
{
    reject("{\"a\":\"\x80\"}"); /* lone continuation byte */
    reject("{\"a\":\"\xbf\"}");
    reject("{\"a\":\"\xc0\xaf\"}");                 /* overlong '/' (2 bytes) */
    reject("{\"a\":\"\xc1\xbf\"}");                 /* overlong (2 bytes) */
    reject("{\"a\":\"\xe0\x80\xaf\"}");             /* overlong (3 bytes) */
    reject("{\"a\":\"\xe0\x9f\xbf\"}");             /* overlong, top of the 3-byte gap */
    reject("{\"a\":\"\xf0\x80\x80\xaf\"}");         /* overlong (4 bytes) */
    reject("{\"a\":\"\xf0\x8f\xbf\xbf\"}");         /* overlong, top of the 4-byte gap */
    reject("{\"a\":\"\xed\xa0\x80\"}");             /* U+D800 high surrogate */
    reject("{\"a\":\"\xed\xbf\xbf\"}");             /* U+DFFF low surrogate */
    reject("{\"a\":\"\xed\xa0\xbd\xed\xb2\xa9\"}"); /* CESU-8 surrogate pair */
    reject("{\"a\":\"\xf4\x90\x80\x80\"}");         /* U+110000 */
    reject("{\"a\":\"\xf5\x80\x80\x80\"}");         /* lead byte beyond U+10FFFF */
    reject("{\"a\":\"\xf7\xbf\xbf\xbf\"}");
    reject("{\"a\":\"\xf8\x88\x80\x80\x80\"}"); /* 5-byte form */
    reject("{\"a\":\"\xfe\"}");
    reject("{\"a\":\"\xff\"}");
    reject("{\"a\":\"\xc3\"}");         /* truncated: lead then quote */
    reject("{\"a\":\"\xe2\x82\"}");     /* truncated 3-byte */
    reject("{\"a\":\"\xf0\x9f\x98\"}"); /* truncated 4-byte */
    reject("{\"a\":\"\xc3x\"}");        /* lead followed by ASCII */
    reject("{\"\xff\":1}");             /* in a key */
    reject_n("\"\xe2\x82", 3, 64);      /* truncated at end of input */
    reject("{\"a\":1}\xc3\xa9");        /* non-ASCII outside a string */
    reject("{\"a\":\xc3\xa9}");
}
END_TEST

START_TEST(control_characters_in_strings)
{
    char s[32];

    for (int c = 1; c < 0x20; c++) {
        snprintf(s, sizeof(s), "{\"a\":\"x%cy\"}", c);
        reject(s);
    }
    reject("{\"a\":\"tab\there\"}");
    reject("{\"a\":\"line\nbreak\"}");
    reject("{\"k\x01\":1}");
    /* escaped forms are fine, and so are raw whitespace bytes between tokens */
    accept("{\"a\":\"tab\\there\\nnl\\r\\b\\f\\u0001\"}");
    accept("{\n\t\"a\" :\r\n 1 }");
    /* 0x7f (DEL) is not a control character in JSON */
    accept("{\"a\":\"\x7f\"}");
}
END_TEST

START_TEST(nul_bytes)
{
    reject_n("{\"a\":\"x\0y\"}", 11, 64); /* inside a string */
    reject_n("{\"a\":1}\0", 8, 64);       /* after the value */
    reject_n("\0{}", 3, 64);              /* before it */
    reject_n("{\"a\":\0}", 7, 64);        /* between tokens */
}
END_TEST

START_TEST(escaped_nul)
{
    reject("{\"a\":\"\\u0000\"}");
    reject("{\"a\":\"abc\\u0000def\"}");
    reject("{\"\\u0000\":1}");
    /* near misses are fine */
    accept("{\"a\":\"\\u0001\"}");
    accept("{\"a\":\"\\u0100\"}");
    accept("{\"a\":\"\\\\u0000\"}"); /* an escaped backslash, then literal text */
    accept("{\"a\":\"\\u00e9\"}");
}
END_TEST

START_TEST(bad_escapes_and_unterminated)
{
    reject("{\"a\":\"\\u00"); /* truncated \u escape */
    reject("{\"a\":\"\\u000");
    reject("{\"a\":\"abc"); /* unterminated string */
    reject("\"");
    reject("{\"a\":\"abc\\");    /* backslash at end of input */
    reject("{\"a\":\"abc\\\"}"); /* escaped quote, so never closed */
    reject("{\"a\":\"\\q\"}");           /* no such escape */
    reject("{\"a\":\"\\x41\"}");
    reject("{\"a\":\"\\u00g1\"}");       /* not hex */
    reject("{\"a\":\"\\udc00\"}");       /* lone low surrogate */
    reject("{\"a\":\"\\ud800\"}");       /* high surrogate without its pair */
    reject("{\"a\":\"\\ud800\\u0041\"}");
    accept("{\"a\":\"\\ud83d\\ude00\\u00E9\"}"); /* a pair; upper-case hex */
}
END_TEST

static char *nested(int depth, const char *open, const char *inner, const char *close)
{
    size_t n = (size_t)depth * (strlen(open) + strlen(close)) + strlen(inner) + 1;
    char *s = ts_arena_alloc(arena, n), *p = s;

    for (int i = 0; i < depth; i++, p += strlen(open))
        memcpy(p, open, strlen(open));
    memcpy(p, inner, strlen(inner));
    p += strlen(inner);
    for (int i = 0; i < depth; i++, p += strlen(close))
        memcpy(p, close, strlen(close));
    *p = '\0';
    return s;
}

START_TEST(depth_limit)
{
    const char *out;
    size_t outlen;
    ts_err err;
    const char *s;

    /* exactly at the limit: accepted */
    s = nested(8, "[", "1", "]");
    accept_n(s, strlen(s), 8);
    s = nested(8, "{\"a\":", "1", "}");
    accept_n(s, strlen(s), 8);
    /* one above: rejected, and the message names the setting */
    s = nested(9, "[", "1", "]");
    ck_assert_int_eq(guard_n(s, strlen(s), 8, &out, &outlen, &err), TS_EINVAL);
    ck_assert_str_eq(err.type, "json_invalid");
    ck_assert_ptr_nonnull(strstr(err.msg, "max_json_depth"));
    s = nested(9, "{\"a\":", "1", "}");
    reject_n(s, strlen(s), 8);
    /* mixed objects and arrays count together */
    s = nested(4, "{\"a\":[", "1", "]}");
    accept_n(s, strlen(s), 8);
    s = nested(5, "{\"a\":[", "{}", "]}");
    reject_n(s, strlen(s), 10);
    /* depth is the maximum at any point, not the number of containers */
    s = "[[1],[2],[3],[4],[5],[6],[7],[8],[9],[10]]";
    accept_n(s, strlen(s), 2);
    /* brackets inside strings do not count */
    s = "{\"a\":\"[[[[[[[[[[{{{{{{{{\"}";
    accept_n(s, strlen(s), 1);
    /* a much deeper document is still rejected cleanly */
    s = nested(100000, "[", "", "]");
    reject_n(s, strlen(s), 64);
}
END_TEST

START_TEST(long_integers_quoted)
{
    /* 15 digits survive a double: left alone; 16 and more are quoted */
    ck_assert_str_eq(accept("{\"a\":123456789012345}"), "{\"a\":123456789012345}");
    ck_assert_str_eq(accept("{\"a\":1234567890123456}"), "{\"a\":\"1234567890123456\"}");
    ck_assert_str_eq(accept("{\"t\":1700000000123456789}"), "{\"t\":\"1700000000123456789\"}");
    ck_assert_str_eq(accept("[12345678901234567890123456789]"),
                     "[\"12345678901234567890123456789\"]");
    /* negative ones keep their sign inside the quotes */
    ck_assert_str_eq(accept("{\"a\":-1234567890123456}"), "{\"a\":\"-1234567890123456\"}");
    ck_assert_str_eq(accept("{\"a\":-123456789012345}"), "{\"a\":-123456789012345}");
    /* several in one document, mixed with short numbers and strings */
    ck_assert_str_eq(accept("[1,1234567890123456,\"x\",-9999999999999999999,2.5]"),
                     "[1,\"1234567890123456\",\"x\",\"-9999999999999999999\",2.5]");
    /* at the end of input with no closing bracket (grammar is cJSON's job) */
    ck_assert_str_eq(accept("1700000000123456789"), "\"1700000000123456789\"");
}
END_TEST

START_TEST(decimals_and_exponents_not_quoted)
{
    const char *in[] = {
        "{\"a\":1234567890123456.5}",   "{\"a\":12345678901234567e3}",
        "{\"a\":12345678901234567E+3}", "{\"a\":1.2345678901234567e-20}",
        "{\"a\":-1234567890123456.0}",  "{\"a\":0.00000000000000000001}",
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        ck_assert_str_eq(accept(in[i]), in[i]);
}
END_TEST

START_TEST(integers_inside_strings_untouched)
{
    const char *in =
        "{\"a\":\"1234567890123456789\",\"1234567890123456789\":\"x\\\"99999999999999999\"}";

    ck_assert_str_eq(accept(in), in);
    /* a rewrite elsewhere in the document still leaves strings alone */
    ck_assert_str_eq(accept("{\"s\":\"12345678901234567\",\"n\":12345678901234567}"),
                     "{\"s\":\"12345678901234567\",\"n\":\"12345678901234567\"}");
    ck_assert_str_eq(
        accept("{\"s\":\"caf\xc3\xa9 \\\" 12345678901234567\",\"n\":12345678901234567}"),
        "{\"s\":\"caf\xc3\xa9 \\\" 12345678901234567\",\"n\":\"12345678901234567\"}");
}
END_TEST

START_TEST(same_pointer_when_nothing_to_rewrite)
{
    const char *in = "{\"a\":[1,2.5,-3,\"1234567890123456789\"],\"b\":{\"c\":null,\"d\":true}}";
    const char *out;
    size_t outlen;
    ts_err err;
    size_t used = ts_arena_used(arena);

    ck_assert_int_eq(guard_n(in, strlen(in), 64, &out, &outlen, &err), TS_OK);
    ck_assert_ptr_eq(out, in);
    ck_assert_uint_eq(outlen, strlen(in));
    ck_assert_uint_eq(ts_arena_used(arena), used); /* no copy made */

    /* a length shorter than the buffer is honoured, no read past it */
    ck_assert_int_eq(guard_n("[1]GARBAGE\xff", 3, 64, &out, &outlen, &err), TS_OK);
    ck_assert_uint_eq(outlen, 3);

    /* empty input is not the guard's business (cJSON rejects it) */
    ck_assert_int_eq(guard_n("", 0, 64, &out, &outlen, &err), TS_OK);
    ck_assert_uint_eq(outlen, 0);

    /* rewritten output is a fresh NUL-terminated copy */
    in = "[12345678901234567]";
    ck_assert_int_eq(guard_n(in, strlen(in), 64, &out, &outlen, &err), TS_OK);
    ck_assert_ptr_ne(out, in);
    ck_assert_uint_eq(outlen, strlen(in) + 2);
    ck_assert_str_eq(out, "[\"12345678901234567\"]");
}
END_TEST

static Suite *json_guard_suite(void)
{
    Suite *s = suite_create("json_guard");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, valid_utf8_accepted);
    tcase_add_test(tc, invalid_utf8_rejected);
    tcase_add_test(tc, control_characters_in_strings);
    tcase_add_test(tc, nul_bytes);
    tcase_add_test(tc, escaped_nul);
    tcase_add_test(tc, bad_escapes_and_unterminated);
    tcase_add_test(tc, depth_limit);
    tcase_add_test(tc, long_integers_quoted);
    tcase_add_test(tc, decimals_and_exponents_not_quoted);
    tcase_add_test(tc, integers_inside_strings_untouched);
    tcase_add_test(tc, same_pointer_when_nothing_to_rewrite);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(json_guard_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
