/* test_jsonw.c: the streaming JSON writer prints exactly what
 * cJSON_PrintUnformatted prints for the same values (every byte in a
 * string, numbers at the edges of each formatting rule, random doubles),
 * nests containers with the right commas, and hands over its buffer. */
#include <check.h>
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/rnd.h"
#include "codec/json_util.h"
#include "codec/jsonw.h"
#include "tracestore/arena.h"

static char *jsonw_take(ts_jsonw *w)
{
    size_t len = 0;
    char *s = ts_jsonw_finish(w, &len);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(strlen(s), len);
    return s;
}

/* Prints item with cJSON (takes it) and compares with the writer's text. */
static void expect_cjson(cJSON *item, ts_jsonw *w)
{
    char *want = cJSON_PrintUnformatted(item);
    char *got = jsonw_take(w);
    cJSON_Delete(item);
    ck_assert_ptr_nonnull(want);
    ck_assert_msg(strcmp(got, want) == 0, "got %s, cJSON prints %s", got, want);
    free(got);
    cJSON_free(want);
}

static void check_str(const char *s)
{
    ts_jsonw w;
    ts_jsonw_init(&w);
    ts_jsonw_str(&w, s);
    expect_cjson(cJSON_CreateString(s), &w);
}

static void check_double(double v)
{
    ts_jsonw w;
    ts_jsonw_init(&w);
    ts_jsonw_double(&w, v);
    expect_cjson(cJSON_CreateNumber(v), &w);
}

/* Integers print exactly, every digit (issue 23.6: cJSON's (double)v
 * turned 10^15 and more into "1e+15" or lost digits). */
static void check_i64(int64_t v)
{
    ts_jsonw w;
    char want[24];
    ts_jsonw_init(&w);
    ts_jsonw_i64(&w, v);
    snprintf(want, sizeof want, "%lld", (long long)v);
    char *got = jsonw_take(&w);
    ck_assert_msg(strcmp(got, want) == 0, "got %s, want %s", got, want);
    free(got);
}

START_TEST(strings_every_byte)
{
    char s[4] = {'a', 0, 'z', 0};
    for (int c = 1; c < 256; c++) {
        s[1] = (char)c;
        check_str(s);
    }
    check_str("");
    check_str("h\xc3\xa9llo \xe2\x86\x92 \xe4\xb8\x96 \xf0\x9f\x9a\x80 \x7f \"q\" \\ /");
    check_str("\x01\x1f\b\f\n\r\t\"\\");
}
END_TEST

START_TEST(strings_random_bytes)
{
    char s[64];
    for (int i = 0; i < 20000; i++) {
        size_t n = rnd() % (sizeof(s) - 1);
        for (size_t j = 0; j < n; j++)
            s[j] = (char)(1 + rnd() % 255);
        s[n] = '\0';
        check_str(s);
    }
}
END_TEST

/* Mostly plain text with a few bytes to escape anywhere: the escaper skips
 * plain runs many bytes at a time (ts_plain_run) and must not skip these. */
START_TEST(strings_plain_runs_with_escapes)
{
    char s[400];
    for (int i = 0; i < 2000; i++) {
        size_t n = rnd() % (sizeof(s) - 1);
        for (size_t j = 0; j < n; j++)
            s[j] = (char)('a' + rnd() % 26);
        for (int k = (int)(rnd() % 4); k > 0 && n > 0; k--)
            s[rnd() % n] = (char)("\"\\\n\t\x01\x1f\x7f"[rnd() % 7]);
        s[n] = '\0';
        check_str(s);
    }
}
END_TEST

START_TEST(doubles_edges)
{
    static const double v[] = {0.0,
                               -0.0,
                               1.0,
                               -1.0,
                               0.1,
                               0.2,
                               0.3,
                               1e-7,
                               1e-5,
                               123456.789,
                               0.30000000000000004,
                               2.5e-12,
                               1e15,
                               -1e15,
                               999999999999999.0,
                               1e15 + 1,
                               1e16,
                               1e17,
                               9007199254740992.0,
                               9007199254740993.0,
                               1e21,
                               1e22,
                               1e300,
                               DBL_MAX,
                               -DBL_MAX,
                               DBL_MIN,
                               DBL_MIN / 4,
                               DBL_TRUE_MIN,
                               5e-324,
                               2147483647.0,
                               2147483648.0,
                               -2147483649.0,
                               0.5,
                               1.5,
                               -2.5,
                               123456789.123456789,
                               1.0 / 3.0,
                               2.0 / 3.0,
                               M_PI,
                               100.0 * 1.1};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        check_double(v[i]);
    check_double(NAN);
    check_double(INFINITY);
    check_double(-INFINITY);
}
END_TEST

START_TEST(doubles_random)
{
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = rnd();
        double d;
        memcpy(&d, &bits, sizeof d);
        check_double(d);
        /* decimal-looking values, as prices and costs are */
        check_double((double)(rnd() % 100000000) / pow(10, (double)(rnd() % 12)));
        /* integers around the int / exact-integer boundaries */
        check_double((double)(int64_t)(rnd() % 4000000000000000u) - 2e15);
    }
}
END_TEST

START_TEST(integers)
{
    static const int64_t v[] = {0,
                                1,
                                -1,
                                9,
                                10,
                                INT32_MAX,
                                (int64_t)INT32_MAX + 1,
                                INT32_MIN,
                                (int64_t)INT32_MIN - 1,
                                3000000000,
                                999999999999999,
                                -999999999999999,
                                1000000000000000,
                                -1000000000000000,
                                1234567890123456,
                                9007199254740991,
                                9007199254740993,
                                INT64_MAX,
                                INT64_MIN,
                                INT64_MIN + 1};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        check_i64(v[i]);
    for (int i = 0; i < 20000; i++) {
        check_i64((int64_t)rnd());
        check_i64((int64_t)(rnd() % 20000000000000000u) - 10000000000000000);
    }
}
END_TEST

START_TEST(nesting_and_commas)
{
    ts_jsonw w;
    ts_jsonw_init(&w);
    ts_jsonw_obj_begin(&w);
    ts_jsonw_key(&w, "a");
    ts_jsonw_i64(&w, 1);
    ts_jsonw_key(&w, "k\n\"");
    ts_jsonw_arr_begin(&w);
    ts_jsonw_arr_begin(&w);
    ts_jsonw_arr_end(&w);
    ts_jsonw_obj_begin(&w);
    ts_jsonw_obj_end(&w);
    ts_jsonw_str(&w, "s");
    ts_jsonw_str(&w, NULL);
    ts_jsonw_bool(&w, 1);
    ts_jsonw_bool(&w, 0);
    ts_jsonw_raw(&w, "{\"x\":[1,{}]}", 12);
    ts_jsonw_double(&w, 0.25);
    ts_jsonw_arr_end(&w);
    ts_jsonw_key(&w, "last");
    ts_jsonw_null(&w);
    ts_jsonw_obj_end(&w);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "a", 1);
    cJSON *arr = cJSON_AddArrayToObject(o, "k\n\"");
    cJSON_AddItemToArray(arr, cJSON_CreateArray());
    cJSON_AddItemToArray(arr, cJSON_CreateObject());
    cJSON_AddItemToArray(arr, cJSON_CreateString("s"));
    cJSON_AddItemToArray(arr, cJSON_CreateNull());
    cJSON_AddItemToArray(arr, cJSON_CreateTrue());
    cJSON_AddItemToArray(arr, cJSON_CreateFalse());
    cJSON_AddItemToArray(arr, cJSON_CreateRaw("{\"x\":[1,{}]}"));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(0.25));
    cJSON_AddNullToObject(o, "last");
    expect_cjson(o, &w);
}
END_TEST

START_TEST(empty_and_discard)
{
    ts_jsonw w;
    size_t len = 1;
    ts_jsonw_init(&w);
    char *s = ts_jsonw_finish(&w, &len);
    ck_assert_str_eq(s, "");
    ck_assert_uint_eq(len, 0);
    free(s);

    ts_jsonw_init(&w);
    ts_jsonw_str(&w, "dropped");
    ts_jsonw_free(&w);
    ck_assert_ptr_null(w.out.p);
}
END_TEST

/* A random tree: objects, arrays, strings with any byte, numbers of every
 * formatting rule (with -0 and integers past int), booleans, null. */
static cJSON *random_tree(int depth)
{
    static const double nums[] = {0.0, -0.0, 1, -1, 2147483647.0, 2147483648.0, -2147483649.0,
                                  1e15, 123456.789, 0.1, 1e-7, 3.0e300, 9007199254740993.0};
    int kind = (int)(rnd() % (depth > 3 ? 5 : 7));
    char s[24];
    switch (kind) {
    case 0:
        return cJSON_CreateNull();
    case 1:
        return cJSON_CreateBool((int)(rnd() % 2));
    case 2:
        return cJSON_CreateNumber(rnd() % 2 ? nums[rnd() % (sizeof(nums) / sizeof(nums[0]))]
                                            : (double)(int64_t)rnd() / (double)(rnd() | 1));
    case 3:
    case 4: {
        size_t n = rnd() % (sizeof(s) - 1);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)(1 + rnd() % 255);
        s[n] = '\0';
        return cJSON_CreateString(s);
    }
    case 5: {
        cJSON *a = cJSON_CreateArray();
        for (int i = (int)(rnd() % 4); i > 0; i--)
            cJSON_AddItemToArray(a, random_tree(depth + 1));
        return a;
    }
    default: {
        cJSON *o = cJSON_CreateObject();
        for (int i = (int)(rnd() % 4); i > 0; i--) {
            snprintf(s, sizeof(s), "k\x01\"%d", (int)(rnd() % 100));
            cJSON_AddItemToObject(o, s, random_tree(depth + 1));
        }
        return o;
    }
    }
}

/* ts_json_print (how ingest stores free-form JSON) walks a parsed tree
 * with the writer: the same bytes as cJSON_PrintUnformatted. */
START_TEST(trees_print_as_cjson)
{
    ts_arena *a = ts_arena_new(4096);
    for (int i = 0; i < 5000; i++) {
        cJSON *t = random_tree(0);
        char *want = cJSON_PrintUnformatted(t);
        char *got = ts_json_print(t, a);
        char *got2 = ts_json_print_malloc(t);
        ck_assert_ptr_nonnull(want);
        ck_assert_msg(got && strcmp(got, want) == 0, "got %s, cJSON prints %s", got, want);
        ck_assert_msg(got2 && strcmp(got2, want) == 0, "got %s, cJSON prints %s", got2, want);
        free(got2);
        cJSON_free(want);
        cJSON_Delete(t);
    }
    ts_arena_free(a);
}
END_TEST

static Suite *jsonw_suite(void)
{
    Suite *s = suite_create("jsonw");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, strings_every_byte);
    tcase_add_test(tc, strings_random_bytes);
    tcase_add_test(tc, strings_plain_runs_with_escapes);
    tcase_add_test(tc, doubles_edges);
    tcase_add_test(tc, doubles_random);
    tcase_add_test(tc, integers);
    tcase_add_test(tc, nesting_and_commas);
    tcase_add_test(tc, empty_and_discard);
    tcase_add_test(tc, trees_print_as_cjson);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(jsonw_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
