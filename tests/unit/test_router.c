/* test_router.c: src/http/router.c (pattern matching, method routing,
 * the Allow list for 405). */
#include <check.h>
#include <stdlib.h>

#include "http/router.h"

static int h_dummy(ts_req *r)
{
    (void)r;
    return TS_H_DONE;
}

static const ts_route routes[] = {
    {"GET", "/healthz", TS_FAMILY_NONE, TS_R_NOAUTH, h_dummy},
    {"POST", "/spans-bulk", TS_FAMILY_PROMPTLAYER, 0, h_dummy},
    {"GET", "/v1/traces/{}", TS_FAMILY_TRULAYER, 0, h_dummy},
    {"GET", "/api/traces/{}", TS_FAMILY_RESPAN, 0, h_dummy},
    {"DELETE", "/api/traces/{}", TS_FAMILY_RESPAN, 0, h_dummy},
    {"POST", "/api/public/v2/traces/{}/close", TS_FAMILY_PROMPTLAYER, 0, h_dummy},
    {NULL, NULL, TS_FAMILY_NONE, 0, NULL},
};

START_TEST(test_match_literal_and_slash)
{
    ck_assert(ts_router_match("/healthz", "/healthz", NULL, NULL, NULL));
    ck_assert(ts_router_match("/healthz", "/healthz/", NULL, NULL, NULL));
    ck_assert(ts_router_match("/api/traces/{}/", "/api/traces/x", NULL, NULL, NULL));
    ck_assert(!ts_router_match("/healthz", "/healthzz", NULL, NULL, NULL));
    ck_assert(!ts_router_match("/healthz", "/health", NULL, NULL, NULL));
    ck_assert(!ts_router_match("/healthz", "/", NULL, NULL, NULL));
    ck_assert(ts_router_match("/", "/", NULL, NULL, NULL));
}
END_TEST

START_TEST(test_match_params)
{
    ts_arena *a = ts_arena_new(1024);
    char *p[TS_MAX_PARAMS] = {0};
    int n = -1;
    ck_assert(ts_router_match("/api/public/v2/traces/{}/close", "/api/public/v2/traces/abc/close",
                              a, p, &n));
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(p[0], "abc");
    /* A parameter never spans a slash and is never empty. */
    ck_assert(!ts_router_match("/v1/traces/{}", "/v1/traces/a/b", a, p, &n));
    ck_assert(!ts_router_match("/v1/traces/{}", "/v1/traces/", a, p, &n));
    ck_assert(!ts_router_match("/v1/traces/{}/close", "/v1/traces//close", a, p, &n));
    ck_assert(ts_router_match("/a/{}/b/{}", "/a/1/b/2/", a, p, &n));
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(p[0], "1");
    ck_assert_str_eq(p[1], "2");
    ts_arena_free(a);
}
END_TEST

START_TEST(test_find_method_and_allow)
{
    ts_arena *a = ts_arena_new(1024);
    char *p[TS_MAX_PARAMS] = {0};
    int n = 0;
    char allow[64];
    const ts_route *same = NULL;
    const ts_route *rt =
        ts_router_find(routes, "DELETE", "/api/traces/t1/", a, p, &n, &same, allow, sizeof(allow));
    ck_assert_ptr_eq(rt, &routes[4]);
    ck_assert_str_eq(p[0], "t1");
    rt = ts_router_find(routes, "PUT", "/api/traces/t1", a, p, &n, &same, allow, sizeof(allow));
    ck_assert_ptr_null(rt);
    ck_assert_ptr_eq(same, &routes[3]);
    ck_assert_str_eq(allow, "GET, DELETE");
    rt = ts_router_find(routes, "GET", "/nope", a, p, &n, &same, allow, sizeof(allow));
    ck_assert_ptr_null(rt);
    ck_assert_ptr_null(same);
    ck_assert_str_eq(allow, "");
    ts_arena_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_match_literal_and_slash);
    tcase_add_test(tc, test_match_params);
    tcase_add_test(tc, test_find_method_and_allow);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
