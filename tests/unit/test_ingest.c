/* test_ingest.c: unit tests for src/ingest/ingest.c (in-request dedupe of
 * (trace id, span id), first occurrence wins, order kept; derived fields). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "tracestore/arena.h"
#include "tracestore/err.h"
#include "tracestore/model.h"

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

static void mk(ts_span *s, const char *trace, const char *span, const char *name)
{
    ts_span_init(s);
    s->trace_id = (char *)trace;
    s->span_id = (char *)span;
    s->name = (char *)name;
}

START_TEST(dedupe_first_wins_order_kept)
{
    ts_span sp[7];
    size_t n = 7;

    mk(&sp[0], "t1", "a", "a-first");
    mk(&sp[1], "t1", "b", "b-first");
    mk(&sp[2], "t1", "a", "a-second");
    mk(&sp[3], "t2", "a", "t2-a"); /* same span id, other trace: kept */
    mk(&sp[4], "t1", "c", "c-first");
    mk(&sp[5], "t1", "b", "b-second");
    mk(&sp[6], "t2", "a", "t2-a-again");
    ck_assert_int_eq(ts_ingest_dedupe(sp, &n, arena), TS_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(sp[0].name, "a-first");
    ck_assert_str_eq(sp[1].name, "b-first");
    ck_assert_str_eq(sp[2].name, "t2-a");
    ck_assert_str_eq(sp[2].trace_id, "t2");
    ck_assert_str_eq(sp[3].name, "c-first");
}
END_TEST

START_TEST(dedupe_no_duplicates_unchanged)
{
    ts_span sp[3];
    size_t n = 3;

    mk(&sp[0], "t", "1", "one");
    mk(&sp[1], "t", "2", "two");
    mk(&sp[2], "u", "3", "three");
    ck_assert_int_eq(ts_ingest_dedupe(sp, &n, arena), TS_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(sp[0].name, "one");
    ck_assert_str_eq(sp[1].name, "two");
    ck_assert_str_eq(sp[2].name, "three");
}
END_TEST

START_TEST(dedupe_edge_sizes)
{
    ts_span sp[2];
    size_t n = 0;

    ck_assert_int_eq(ts_ingest_dedupe(sp, &n, arena), TS_OK);
    ck_assert_uint_eq(n, 0);
    mk(&sp[0], "t", "1", "one");
    n = 1;
    ck_assert_int_eq(ts_ingest_dedupe(sp, &n, arena), TS_OK);
    ck_assert_uint_eq(n, 1);
    mk(&sp[1], "t", "1", "dup");
    n = 2;
    ck_assert_int_eq(ts_ingest_dedupe(sp, &n, arena), TS_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(sp[0].name, "one");
}
END_TEST

/* The hash joins trace and span id with a separator: ("ab","c") and
 * ("a","bc") are different spans. */
START_TEST(dedupe_concatenation_is_not_identity)
{
    ts_span sp[3];
    size_t n = 3;

    mk(&sp[0], "ab", "c", "x");
    mk(&sp[1], "a", "bc", "y");
    mk(&sp[2], "abc", "", "z");
    ck_assert_int_eq(ts_ingest_dedupe(sp, &n, arena), TS_OK);
    ck_assert_uint_eq(n, 3);
}
END_TEST

/* Many spans, many duplicates: exercises table growth and probing. */
START_TEST(dedupe_large_batch)
{
    enum { N = 5000 };
    ts_span *sp = ts_arena_alloc(arena, N * sizeof(*sp));
    char(*tid)[16] = ts_arena_alloc(arena, N * 16);
    char(*sid)[16] = ts_arena_alloc(arena, N * 16);
    size_t n = N;

    ck_assert_ptr_nonnull(sp);
    for (int i = 0; i < N; i++) {
        /* 1000 distinct (trace, span) pairs, each repeated 5 times */
        snprintf(tid[i], 16, "t%d", (i % 1000) % 7);
        snprintf(sid[i], 16, "s%d", i % 1000);
        mk(&sp[i], tid[i], sid[i], i < 1000 ? "first" : "later");
    }
    ck_assert_int_eq(ts_ingest_dedupe(sp, &n, arena), TS_OK);
    ck_assert_uint_eq(n, 1000);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof(want), "s%zu", i);
        ck_assert_str_eq(sp[i].span_id, want);
        ck_assert_str_eq(sp[i].name, "first");
    }
}
END_TEST

START_TEST(derive_error_from_status)
{
    ts_span s;

    ts_span_init(&s);
    s.status_code = TS_STATUS_ERROR;
    s.status_message = "boom";
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.error, "boom");

    ts_span_init(&s);
    s.status_code = TS_STATUS_ERROR;
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.error, "error");

    ts_span_init(&s);
    s.status_code = TS_STATUS_ERROR;
    s.status_message = "";
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.error, "error");

    /* an explicit error wins over the status text */
    ts_span_init(&s);
    s.status_code = TS_STATUS_ERROR;
    s.status_message = "status text";
    s.error = "explicit";
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.error, "explicit");

    /* OK and UNSET never make an error, whatever the message */
    ts_span_init(&s);
    s.status_code = TS_STATUS_OK;
    s.status_message = "fine";
    ts_ingest_derive(&s);
    ck_assert_ptr_null(s.error);
    ts_span_init(&s);
    s.status_code = TS_STATUS_UNSET;
    ts_ingest_derive(&s);
    ck_assert_ptr_null(s.error);
}
END_TEST

START_TEST(derive_type_defaults)
{
    ts_span s;

    ts_span_init(&s);
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.type, "other");

    ts_span_init(&s);
    s.model = "gpt-4o";
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.type, "llm");

    ts_span_init(&s);
    s.prompt_tokens = 0; /* reported zero tokens still means an LLM call */
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.type, "llm");

    ts_span_init(&s);
    s.completion_tokens = 12;
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.type, "llm");

    /* total_tokens alone does not make an LLM span (current rule) */
    ts_span_init(&s);
    s.total_tokens = 5;
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.type, "other");

    /* a type the codec set is kept */
    ts_span_init(&s);
    s.type = "tool";
    s.model = "gpt-4o";
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.type, "tool");
}
END_TEST

START_TEST(derive_is_idempotent)
{
    ts_span s;

    ts_span_init(&s);
    s.status_code = TS_STATUS_ERROR;
    s.status_message = "x";
    ts_ingest_derive(&s);
    ts_ingest_derive(&s);
    ck_assert_str_eq(s.error, "x");
    ck_assert_str_eq(s.type, "other");
}
END_TEST

static Suite *ingest_suite(void)
{
    Suite *s = suite_create("ingest");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dedupe_first_wins_order_kept);
    tcase_add_test(tc, dedupe_no_duplicates_unchanged);
    tcase_add_test(tc, dedupe_edge_sizes);
    tcase_add_test(tc, dedupe_concatenation_is_not_identity);
    tcase_add_test(tc, dedupe_large_batch);
    tcase_add_test(tc, derive_error_from_status);
    tcase_add_test(tc, derive_type_defaults);
    tcase_add_test(tc, derive_is_idempotent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ingest_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
