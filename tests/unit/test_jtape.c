/* test_jtape.c: unit tests for src/codec/jtape.c (the one-pass JSON reader
 * /spans-bulk decodes from): the grammar, the guard's byte checks done in
 * the same pass, lookups, string decoding, numbers, and the copy of a value
 * as the text that arrived less its whitespace, checked against cJSON. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "codec/jtape.h"
#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"

static ts_arena *arena;
static ts_config cfg;
static ts_jtape tp;

static void setup(void)
{
    arena = ts_arena_new(4096);
    ck_assert_ptr_nonnull(arena);
    ts_config_defaults(&cfg);
    memset(&tp, 0, sizeof(tp));
}

static void teardown(void)
{
    ts_jtape_free(&tp);
    ts_arena_free(arena);
    arena = NULL;
}

static int parse_n(const char *in, size_t len, ts_err *err)
{
    ts_jtape_free(&tp);
    ts_err_clear(err);
    return ts_jtape_parse(in, len, &cfg, &tp, err);
}

static void reject_type(const char *in, const char *type)
{
    ts_err err;
    ck_assert_msg(parse_n(in, strlen(in), &err) == TS_EINVAL, "accepted: %s", in);
    ck_assert_str_eq(err.type, type);
    ck_assert(err.msg[0] != '\0');
}

static void reject(const char *in)
{
    reject_type(in, "json_invalid");
}

/* Accepts in and returns the root's copy, which must be what cJSON makes
 * of the same text (after the guard's quoting of long integers, which the
 * caller writes into `as`). */
static const char *accept_as(const char *in, const char *as)
{
    ts_err err;
    ck_assert_msg(parse_n(in, strlen(in), &err) == TS_OK, "rejected: %s (%s)", in, err.msg);
    char *out = ts_jt_json(&tp, 0, arena);
    ck_assert_ptr_nonnull(out);
    cJSON *a = cJSON_Parse(out), *b = cJSON_Parse(as);
    ck_assert_msg(a != NULL, "copy is not JSON: %s", out);
    ck_assert_ptr_nonnull(b);
    ck_assert_msg(cJSON_Compare(a, b, 1), "copy %s differs from %s", out, as);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return out;
}

static const char *accept(const char *in)
{
    return accept_as(in, in);
}

START_TEST(grammar_accepted)
{
    accept("{}");
    accept("[]");
    accept("0");
    accept("-0");
    accept("1.5e-3");
    accept("-12.25E+2");
    accept("true");
    accept("false");
    accept("null");
    accept("\"\"");
    accept("[1,\"a\",true,false,null,{},[],{\"k\":[{}]}]");
    accept("{\"a\":{\"b\":{\"c\":[1,2,{\"d\":\"e\"}]}}}");
    accept(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n ");
}
END_TEST

START_TEST(grammar_rejected)
{
    const char *bad[] = {"",        " ",       "{",        "}",          "[1,]",     "[,1]",
                         "{,}",     "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",    "{1:1}",
                         "[1 2]",   "01",      "1.",       ".5",         "-",        "+1",
                         "1e",      "1e+",     "0x10",     "NaN",        "Infinity", "tru",
                         "nul",     "True",    "'a'",      "[1]]",       "{} {}",    "[\"a\" \"b\"]",
                         "\"abc",   "[\x01]",  "{\"a\":1}x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        reject(bad[i]);
}
END_TEST

START_TEST(guard_checks_in_the_same_pass)
{
    ts_err err;
    reject("{\"a\":\"\\u0000\"}");
    reject("{\"\\u0000\":1}");
    reject("{\"a\":\"\xc3\"}");     /* truncated UTF-8 */
    reject("{\"a\":\"\xed\xa0\x80\"}"); /* a surrogate in UTF-8 */
    reject("{\"a\":\"x\ty\"}");     /* raw control byte */
    reject("{\"a\":\"\\q\"}");      /* no such escape */
    reject("{\"a\":\"\\u12g4\"}");
    reject("{\"a\":\"\\udc00\"}");   /* lone low surrogate */
    reject("{\"a\":\"\\ud800\"}");   /* high surrogate, no pair */
    reject("{\"a\":\"\\ud800\\u0041\"}");
    ck_assert_int_eq(parse_n("{\"a\":\"x\0y\"}", 11, &err), TS_EINVAL);
    ck_assert_int_eq(parse_n("{}\0", 3, &err), TS_EINVAL);
    accept("{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}");
}
END_TEST

START_TEST(depth_limit)
{
    ts_err err;
    char deep[300];
    cfg.max_json_depth = 8;
    memset(deep, '[', 8);
    memset(deep + 8, ']', 8);
    deep[16] = '\0';
    accept(deep);
    memset(deep, '[', 9);
    memset(deep + 9, ']', 9);
    deep[18] = '\0';
    ck_assert_int_eq(parse_n(deep, strlen(deep), &err), TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "max_json_depth"));
    /* far deeper than the limit: refused before any recursion */
    size_t n = 200000;
    char *big = malloc(n);
    ck_assert_ptr_nonnull(big);
    memset(big, '[', n);
    ck_assert_int_eq(parse_n(big, n, &err), TS_EINVAL);
    free(big);
}
END_TEST

START_TEST(strings_decoded)
{
    ts_err err;
    const char *in = "[\"plain\",\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"\\u00e9\\u20ac\\ud83d\\ude00\","
                     "\"\\u0041BC\"]";
    ck_assert_int_eq(parse_n(in, strlen(in), &err), TS_OK);
    ck_assert_uint_eq(ts_jt_count(&tp, 0), 4);
    ts_jt_ix c = ts_jt_first(&tp, 0);
    ck_assert_str_eq(ts_jt_str(&tp, c, arena), "plain");
    c = ts_jt_next(&tp, 0, c);
    ck_assert_str_eq(ts_jt_str(&tp, c, arena), "a\"b\\c/d\b\f\n\r\t");
    c = ts_jt_next(&tp, 0, c);
    ck_assert_str_eq(ts_jt_str(&tp, c, arena), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    ck_assert(ts_jt_str_eq(&tp, c, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
    ck_assert(!ts_jt_str_eq(&tp, c, "\xc3\xa9"));
    c = ts_jt_next(&tp, 0, c);
    ck_assert_str_eq(ts_jt_str(&tp, c, arena), "ABC");
    ck_assert(ts_jt_next(&tp, 0, c) == TS_JT_NONE);
    ck_assert_ptr_null(ts_jt_str(&tp, 0, arena)); /* not a string */
}
END_TEST

START_TEST(lookups)
{
    ts_err err;
    const char *in = "{\"a\":1,\"b\":{\"x\":[1,2,3]},\"a\":2,\"\\u0063\":\"esc\",\"n\":null}";
    ck_assert_int_eq(parse_n(in, strlen(in), &err), TS_OK);
    ck_assert_uint_eq(ts_jt_count(&tp, 0), 5);
    int64_t v = 0;
    /* the first of two members with one name, as cJSON */
    ck_assert_int_eq(ts_jt_i64(&tp, ts_jt_get(&tp, 0, "a"), &v), TS_OK);
    ck_assert_int_eq(v, 1);
    ts_jt_ix b = ts_jt_get(&tp, 0, "b");
    ck_assert_int_eq(ts_jt_type(&tp, b), TS_JT_OBJECT);
    ts_jt_ix x = ts_jt_get(&tp, b, "x");
    ck_assert_int_eq(ts_jt_type(&tp, x), TS_JT_ARRAY);
    ck_assert_uint_eq(ts_jt_count(&tp, x), 3);
    ck_assert_str_eq(ts_jt_str(&tp, ts_jt_get(&tp, 0, "c"), arena), "esc"); /* escaped key */
    ck_assert(ts_jt_get(&tp, 0, "missing") == TS_JT_NONE);
    ck_assert(ts_jt_get(&tp, x, "a") == TS_JT_NONE); /* not an object */
    ck_assert(ts_jt_get(&tp, TS_JT_NONE, "a") == TS_JT_NONE);
    ck_assert(ts_jt_nullish(&tp, ts_jt_get(&tp, 0, "n")));
    ck_assert(ts_jt_nullish(&tp, ts_jt_get(&tp, 0, "missing")));
    ck_assert(!ts_jt_nullish(&tp, b));
    /* walking an object member by member */
    const char *keys[] = {"a", "b", "a", "c", "n"};
    size_t k = 0;
    for (ts_jt_ix c = ts_jt_first(&tp, 0); c != TS_JT_NONE; c = ts_jt_next(&tp, 0, c))
        ck_assert_str_eq(ts_jt_str(&tp, c, arena), keys[k++]);
    ck_assert_uint_eq(k, 5);
}
END_TEST

START_TEST(numbers)
{
    ts_err err;
    const char *in = "[42,-7,1.5,1e3,9007199254740993.0,\"123\",\"-5\",\"x1\",1700000000123456789,"
                     "-1234567890123456,true,\"\\u0031\\u0032\"]";
    int64_t v;
    double d;
    ck_assert_int_eq(parse_n(in, strlen(in), &err), TS_OK);
    ts_jt_ix c = ts_jt_first(&tp, 0);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_OK);
    ck_assert_int_eq(v, 42);
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_OK);
    ck_assert_int_eq(v, -7);
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_EINVAL); /* not integral */
    ck_assert_int_eq(ts_jt_double(&tp, c, &d), TS_OK);
    ck_assert(d == 1.5);
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_OK);
    ck_assert_int_eq(v, 1000);
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_EINVAL); /* beyond 2^53 as a double */
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_OK);
    ck_assert_int_eq(v, 123);
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_OK);
    ck_assert_int_eq(v, -5);
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_EINVAL);
    /* long integers are strings of their digits, read exactly */
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_type(&tp, c), TS_JT_STRING);
    ck_assert_str_eq(ts_jt_str(&tp, c, arena), "1700000000123456789");
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_OK);
    ck_assert_int_eq(v, 1700000000123456789LL);
    ck_assert_int_eq(ts_jt_double(&tp, c, &d), TS_EINVAL);
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_OK);
    ck_assert_int_eq(v, -1234567890123456LL);
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_EINVAL);
    ck_assert_int_eq(ts_jt_double(&tp, c, &d), TS_EINVAL);
    c = ts_jt_next(&tp, 0, c);
    ck_assert_int_eq(ts_jt_i64(&tp, c, &v), TS_OK);
    ck_assert_int_eq(v, 12);
}
END_TEST

START_TEST(copies_keep_the_text_less_whitespace)
{
    ck_assert_str_eq(accept("{\"a\":[1,2],\"b\":\"x y\"}"), "{\"a\":[1,2],\"b\":\"x y\"}");
    ck_assert_str_eq(accept("{ \"a\" : [ 1 , 2 ] ,\n\t\"b\" : \" x \" }"),
                     "{\"a\":[1,2],\"b\":\" x \"}");
    /* numbers and escapes as written (cJSON would print 1.50 as 1.5) */
    ck_assert_str_eq(accept("[1.50, 2e3, \"\\u00e9\\n\"]"), "[1.50,2e3,\"\\u00e9\\n\"]");
    /* long integers quoted, as the guard does for cJSON */
    ck_assert_str_eq(accept_as("{\"t\": 1700000000123456789, \"u\": [123456789012345]}",
                               "{\"t\":\"1700000000123456789\",\"u\":[123456789012345]}"),
                     "{\"t\":\"1700000000123456789\",\"u\":[123456789012345]}");
    ck_assert_str_eq(accept_as("{\"t\":1700000000123456789}", "{\"t\":\"1700000000123456789\"}"),
                     "{\"t\":\"1700000000123456789\"}");
    ck_assert_str_eq(accept_as("1234567890123456", "\"1234567890123456\""),
                     "\"1234567890123456\"");
    /* a nested value copied alone */
    ts_err err;
    const char *in = "{\"a\": {\"b\" : [ true , null ]}, \"c\":1}";
    ck_assert_int_eq(parse_n(in, strlen(in), &err), TS_OK);
    ck_assert_str_eq(ts_jt_json(&tp, ts_jt_get(&tp, 0, "a"), arena), "{\"b\":[true,null]}");
    ck_assert_str_eq(ts_jt_json(&tp, ts_jt_get(&tp, 0, "c"), arena), "1");
    ck_assert_ptr_null(ts_jt_json(&tp, TS_JT_NONE, arena));
}
END_TEST

START_TEST(string_limit_counts_decoded_bytes)
{
    char in[256];
    cfg.max_string_bytes = 64;
    /* 64 bytes: fine; 65: too long, in a value or in a key */
    snprintf(in, sizeof(in), "[\"%064d\"]", 0);
    accept(in);
    snprintf(in, sizeof(in), "[\"%065d\"]", 0);
    reject_type(in, "string_too_long");
    snprintf(in, sizeof(in), "{\"%065d\":1}", 0);
    reject_type(in, "string_too_long");
    /* 20 escapes of 6 bytes decode to 20 bytes: the written length is not the test */
    strcpy(in, "[\"");
    for (int i = 0; i < 20; i++)
        strcat(in, "\\u0041");
    strcat(in, "\"]");
    accept(in);
    /* a long integer is a string of its digits, and is held to the limit too */
    snprintf(in, sizeof(in), "[1%065d]", 0);
    reject_type(in, "string_too_long");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("jtape");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, grammar_accepted);
    tcase_add_test(tc, grammar_rejected);
    tcase_add_test(tc, guard_checks_in_the_same_pass);
    tcase_add_test(tc, depth_limit);
    tcase_add_test(tc, strings_decoded);
    tcase_add_test(tc, lookups);
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, copies_keep_the_text_less_whitespace);
    tcase_add_test(tc, string_limit_counts_decoded_bytes);
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
