/* test_arena.c: unit tests for src/core/arena.c (alignment, chunking,
 * large blocks, string helpers, overflow guards). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracestore/arena.h"

static int aligned16(const void *p)
{
    return ((uintptr_t)p & 15u) == 0;
}

START_TEST(new_free_and_null_safety)
{
    ts_arena *a = ts_arena_new(0);

    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(ts_arena_used(a), 0);
    ts_arena_free(a);
    ts_arena_free(NULL);
    ck_assert_ptr_null(ts_arena_alloc(NULL, 8));
    ck_assert_uint_eq(ts_arena_used(NULL), 0);
}
END_TEST

START_TEST(allocations_are_aligned_and_distinct)
{
    ts_arena *a = ts_arena_new(1024);
    unsigned char *prev = NULL;
    size_t sizes[] = {1, 3, 7, 16, 17, 33, 100, 0, 5};
    size_t i, total = 0;

    for (i = 0; i < 200; i++) {
        size_t n = sizes[i % (sizeof sizes / sizeof sizes[0])];
        unsigned char *p = ts_arena_alloc(a, n);

        ck_assert_ptr_nonnull(p);
        ck_assert(aligned16(p));
        ck_assert_ptr_ne(p, prev);
        memset(p, 0xab, n); /* ASan catches overruns */
        prev = p;
        total += n;
    }
    ck_assert_uint_eq(ts_arena_used(a), total);
    ts_arena_free(a);
}
END_TEST

START_TEST(memory_is_not_shared)
{
    ts_arena *a = ts_arena_new(256);
    char *p[64];
    int i;

    for (i = 0; i < 64; i++) {
        p[i] = ts_arena_alloc(a, 24);
        memset(p[i], 'a' + i % 26, 24);
    }
    for (i = 0; i < 64; i++) {
        int j;

        for (j = 0; j < 24; j++)
            ck_assert_int_eq(p[i][j], 'a' + i % 26);
    }
    ts_arena_free(a);
}
END_TEST

START_TEST(large_allocation_gets_own_block)
{
    ts_arena *a = ts_arena_new(1024);
    char *small1 = ts_arena_alloc(a, 16);
    char *big = ts_arena_alloc(a, 100000);
    char *small2 = ts_arena_alloc(a, 16);

    ck_assert_ptr_nonnull(big);
    ck_assert(aligned16(big));
    memset(big, 1, 100000);
    /* the current chunk stays current: the next small allocation follows
     * the first one instead of starting a fresh chunk */
    ck_assert_ptr_eq(small2, small1 + 16);
    ck_assert_uint_eq(ts_arena_used(a), 100032);
    ts_arena_free(a);
}
END_TEST

START_TEST(large_first_allocation)
{
    ts_arena *a = ts_arena_new(512);
    char *big = ts_arena_alloc(a, 5000);
    char *small = ts_arena_alloc(a, 10);

    ck_assert_ptr_nonnull(big);
    ck_assert_ptr_nonnull(small);
    memset(big, 2, 5000);
    memset(small, 3, 10);
    ts_arena_free(a);
}
END_TEST

START_TEST(many_chunks)
{
    ts_arena *a = ts_arena_new(256);
    int i;

    for (i = 0; i < 10000; i++) {
        char *p = ts_arena_alloc(a, 100);

        ck_assert_ptr_nonnull(p);
        memset(p, 0, 100);
    }
    ck_assert_uint_eq(ts_arena_used(a), 1000000);
    ts_arena_free(a);
}
END_TEST

START_TEST(calloc_zeroes_and_checks_overflow)
{
    ts_arena *a = ts_arena_new(4096);
    unsigned char *p;
    size_t i;

    p = ts_arena_alloc(a, 64);
    memset(p, 0xff, 64);
    p = ts_arena_calloc(a, 10, 30);
    ck_assert_ptr_nonnull(p);
    for (i = 0; i < 300; i++)
        ck_assert_int_eq(p[i], 0);
    ck_assert_ptr_null(ts_arena_calloc(a, SIZE_MAX / 2, 3));
    ck_assert_ptr_null(ts_arena_alloc(a, SIZE_MAX));
    ck_assert_ptr_null(ts_arena_alloc(a, SIZE_MAX - 8));
    ts_arena_free(a);
}
END_TEST

START_TEST(strdup_and_strndup)
{
    ts_arena *a = ts_arena_new(128);
    char *s;

    s = ts_arena_strdup(a, "hello");
    ck_assert_str_eq(s, "hello");
    ck_assert(aligned16(s));
    s = ts_arena_strndup(a, "hello world", 5);
    ck_assert_str_eq(s, "hello");
    s = ts_arena_strndup(a, "hi", 100); /* shorter than n: stops at the NUL */
    ck_assert_str_eq(s, "hi");
    s = ts_arena_strndup(a, "abc", 0);
    ck_assert_str_eq(s, "");
    s = ts_arena_strdup(a, "");
    ck_assert_str_eq(s, "");
    ck_assert_ptr_null(ts_arena_strdup(a, NULL));
    ck_assert_ptr_null(ts_arena_strndup(a, NULL, 3));
    ts_arena_free(a);
}
END_TEST

START_TEST(strndup_does_not_read_past_n)
{
    ts_arena *a = ts_arena_new(128);
    char *raw = malloc(4); /* not NUL-terminated: ASan would see an overread */
    char *s;

    memcpy(raw, "abcd", 4);
    s = ts_arena_strndup(a, raw, 4);
    ck_assert_str_eq(s, "abcd");
    free(raw);
    ts_arena_free(a);
}
END_TEST

START_TEST(grow_keeps_elements_and_doubles)
{
    ts_arena *a = ts_arena_new(256);
    int64_t *arr = NULL;
    size_t cap = 0;
    for (size_t n = 0; n < 100; n++) {
        int64_t *na = ts_arena_grow(a, arr, n, &cap, sizeof(*na));
        ck_assert_ptr_nonnull(na);
        ck_assert(n < cap);
        if (n < 16)
            ck_assert_uint_eq(cap, 16);
        ck_assert(n == 0 || na == arr || cap == 2 * n); /* moves only when full */
        arr = na;
        arr[n] = (int64_t)(n * 7);
    }
    ck_assert_uint_eq(cap, 128);
    for (size_t n = 0; n < 100; n++)
        ck_assert_int_eq(arr[n], (int64_t)(n * 7));
    size_t huge = SIZE_MAX / 4;
    ck_assert_ptr_null(ts_arena_grow(a, arr, huge, &huge, 8)); /* overflow refused */
    ts_arena_free(a);
}
END_TEST

START_TEST(printf_formats_short_and_long)
{
    ts_arena *a = ts_arena_new(256);
    char big[3000];
    char *s;

    s = ts_arena_printf(a, "%s=%d", "n", 42);
    ck_assert_str_eq(s, "n=42");
    s = ts_arena_printf(a, "%s", "");
    ck_assert_str_eq(s, "");
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s = ts_arena_printf(a, "<%s>", big);
    ck_assert_uint_eq(strlen(s), sizeof big + 1);
    ck_assert_int_eq(s[0], '<');
    ck_assert_int_eq(s[sizeof big], '>');
    ts_arena_free(a);
}
END_TEST

static Suite *arena_suite(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, new_free_and_null_safety);
    tcase_add_test(tc, allocations_are_aligned_and_distinct);
    tcase_add_test(tc, memory_is_not_shared);
    tcase_add_test(tc, large_allocation_gets_own_block);
    tcase_add_test(tc, large_first_allocation);
    tcase_add_test(tc, many_chunks);
    tcase_add_test(tc, calloc_zeroes_and_checks_overflow);
    tcase_add_test(tc, strdup_and_strndup);
    tcase_add_test(tc, strndup_does_not_read_past_n);
    tcase_add_test(tc, printf_formats_short_and_long);
    tcase_add_test(tc, grow_keeps_elements_and_doubles);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(arena_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
