/* test_agg.c: unit tests for src/store/agg.c, the backend-neutral arithmetic
 * of a trace's aggregates: saturating token sums, a span's total, and how an
 * insert or a replacement moves the counts, sums, extent, root and error. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/agg.h"

#define ABSENT TS_TOKENS_ABSENT

/* A span of trace "t" with tokens absent, no cost and no error. */
static ts_span span(char *id, char *parent, int64_t start, int64_t end)
{
    ts_span sp;
    memset(&sp, 0, sizeof(sp));
    sp.trace_id = "t";
    sp.span_id = id;
    sp.parent_id = parent;
    sp.name = id;
    sp.start_ns = start;
    sp.end_ns = end;
    sp.prompt_tokens = sp.completion_tokens = sp.total_tokens = ABSENT;
    sp.latency_ms = -1;
    return sp;
}

/* The old-version record of sp, as a backend reads it back. */
static ts_agg_old old_of(const ts_span *sp)
{
    ts_agg_old o;
    memset(&o, 0, sizeof(o));
    o.start = sp->start_ns;
    o.end = sp->end_ns;
    o.prompt = sp->prompt_tokens;
    o.completion = sp->completion_tokens;
    o.total = sp->total_tokens;
    o.is_llm = ts_span_type_is_llm(sp->type);
    o.has_error = sp->error != NULL;
    o.has_cost = sp->has_cost;
    o.cost = sp->cost;
    o.unpriced = sp->unpriced;
    return o;
}

START_TEST(token_sums_saturate_and_differences_stop_at_zero)
{
    ck_assert_int_eq(ts_agg_tok_add(2, 3), 5);
    ck_assert_int_eq(ts_agg_tok_add(INT64_MAX - 1, 5), INT64_MAX);
    ck_assert_int_eq(ts_agg_tok_add(INT64_MAX, INT64_MAX), INT64_MAX);
    ck_assert_int_eq(ts_agg_tok_add(7, ABSENT), 7); /* absent adds nothing */
    ck_assert_int_eq(ts_agg_tok_sub(10, 4), 6);
    ck_assert_int_eq(ts_agg_tok_sub(3, 10), 0);
    ck_assert_int_eq(ts_agg_tok_sub(7, ABSENT), 7);
    ck_assert_int_eq(ts_agg_tok_sub(INT64_MAX, INT64_MAX), 0);
}
END_TEST

/* Issue 23.7: the reported total wins, else prompt + completion. */
START_TEST(span_total_prefers_the_reported_total)
{
    ck_assert_int_eq(ts_span_tokens_total(10, 5, 99), 99);
    ck_assert_int_eq(ts_span_tokens_total(10, 5, 0), 0);
    ck_assert_int_eq(ts_span_tokens_total(10, ABSENT, ABSENT), 10);
    ck_assert_int_eq(ts_span_tokens_total(ABSENT, 5, ABSENT), 5);
    ck_assert_int_eq(ts_span_tokens_total(10, 5, ABSENT), 15);
    ck_assert_int_eq(ts_span_tokens_total(ABSENT, ABSENT, 99), 99);
    ck_assert_int_eq(ts_span_tokens_total(ABSENT, ABSENT, ABSENT), 0);
    ck_assert_int_eq(ts_span_tokens_total(INT64_MAX, 1, ABSENT), INT64_MAX);
}
END_TEST

START_TEST(inserts_add_up)
{
    ts_agg a;
    memset(&a, 0, sizeof(a));
    ts_span root = span("r", NULL, 100, 900);
    root.type = "chain";
    ts_span llm = span("c1", "r", 200, 400);
    llm.type = "llm";
    llm.prompt_tokens = 10;
    llm.completion_tokens = 5;
    llm.total_tokens = 1000; /* reported: wins over prompt + completion */
    llm.has_cost = 1;
    llm.cost = 0.25;
    llm.model = "gpt-x";
    ts_span tool = span("c2", "r", 50, 950);
    tool.total_tokens = 7;
    tool.error = "boom";
    tool.unpriced = 1;

    ts_agg_apply(&a, &root, NULL);
    ts_agg_apply(&a, &llm, NULL);
    ts_agg_apply(&a, &tool, NULL);
    ck_assert_int_eq(a.span_count, 3);
    ck_assert_int_eq(a.llm_span_count, 1);
    ck_assert_int_eq(a.prompt, 10);
    ck_assert_int_eq(a.completion, 5);
    ck_assert_int_eq(a.total, 1007);
    ck_assert_int_eq(a.cost_n, 1);
    ck_assert_double_eq_tol(a.cost_sum, 0.25, 1e-12);
    ck_assert_int_eq(a.unpriced, 1);
    ck_assert_int_eq(a.error_count, 1);
    ck_assert_int_eq(a.has_ext, 1);
    ck_assert_int_eq(a.started, 50);
    ck_assert_int_eq(a.ended, 950);
    ck_assert_str_eq(a.root_span_id, "r");
    ck_assert_int_eq(a.root_start, 100);
    ck_assert_str_eq(a.err_span_id, "c2");
    ck_assert_str_eq(a.err_text, "boom");
    ck_assert_int_eq(a.err_start, 50);
    ck_assert_int_eq(a.recompute, 0);
}
END_TEST

START_TEST(a_replacement_moves_by_the_difference)
{
    ts_agg a;
    memset(&a, 0, sizeof(a));
    ts_span other = span("o", "r", 100, 200);
    other.prompt_tokens = 3;
    other.completion_tokens = 4;
    ts_span v1 = span("s", "r", 120, 180);
    v1.type = "llm";
    v1.prompt_tokens = 10;
    v1.completion_tokens = 5;
    v1.has_cost = 1;
    v1.cost = 1.5;
    v1.error = "rate limit";
    ts_agg_apply(&a, &other, NULL);
    ts_agg_apply(&a, &v1, NULL);
    ck_assert_int_eq(a.total, 22);

    /* The same span again with other tokens, no cost, no error, not LLM. */
    ts_span v2 = span("s", "r", 120, 180);
    v2.type = "tool";
    v2.prompt_tokens = 20;
    v2.completion_tokens = 1;
    ts_agg_old o = old_of(&v1);
    ts_agg_apply(&a, &v2, &o);
    ck_assert_int_eq(a.span_count, 2);
    ck_assert_int_eq(a.llm_span_count, 0);
    ck_assert_int_eq(a.prompt, 23);
    ck_assert_int_eq(a.completion, 5);
    ck_assert_int_eq(a.total, 28);
    ck_assert_int_eq(a.cost_n, 0);
    ck_assert_double_eq_tol(a.cost_sum, 0.0, 1e-12);
    ck_assert_int_eq(a.error_count, 0);
    /* It held the first error, which it no longer has: re-derive. */
    ck_assert_int_eq(a.recompute, 1);

    /* Replaced by an identical copy (after the caller re-derived the first
     * error, which no span has now): nothing moves, nothing to re-derive. */
    a.recompute = 0;
    a.err_span_id = a.err_text = NULL;
    ts_agg before = a;
    o = old_of(&v2);
    ts_agg_apply(&a, &v2, &o);
    ck_assert_int_eq(a.span_count, before.span_count);
    ck_assert_int_eq(a.prompt, before.prompt);
    ck_assert_int_eq(a.completion, before.completion);
    ck_assert_int_eq(a.total, before.total);
    ck_assert_int_eq(a.recompute, 0);
}
END_TEST

START_TEST(saturated_sums_stay_in_range)
{
    ts_agg a;
    memset(&a, 0, sizeof(a));
    ts_span x = span("x", NULL, 1, 2);
    x.prompt_tokens = INT64_MAX;
    x.completion_tokens = INT64_MAX;
    ts_span y = span("y", "x", 1, 2);
    y.prompt_tokens = INT64_MAX;
    ts_agg_apply(&a, &x, NULL);
    ts_agg_apply(&a, &y, NULL);
    ck_assert_int_eq(a.prompt, INT64_MAX);
    ck_assert_int_eq(a.completion, INT64_MAX);
    ck_assert_int_eq(a.total, INT64_MAX);
    ck_assert_int_eq(a.resum, 0);
    /* Replacing x by a small span subtracts its full count, down to 0 at
     * worst: what was above INT64_MAX (y's count) is lost, so the caller
     * is told to re-sum (issue 23.6), which gives y's count back. */
    ts_span x2 = span("x", NULL, 1, 2);
    x2.prompt_tokens = 1;
    x2.completion_tokens = 2;
    ts_agg_old o = old_of(&x);
    ts_agg_apply(&a, &x2, &o);
    ck_assert_int_eq(a.resum, 1);
    ck_assert_int_eq(a.span_count, 2);
    ts_agg_resum_begin(&a);
    ts_agg_resum_add(&a, x2.prompt_tokens, x2.completion_tokens, x2.total_tokens, 0, 0);
    ts_agg_resum_add(&a, y.prompt_tokens, y.completion_tokens, y.total_tokens, 0, 0);
    ck_assert_int_eq(a.prompt, INT64_MAX);
    ck_assert_int_eq(a.completion, 2);
    ck_assert_int_eq(a.resum, 0);
}
END_TEST

/* Issue 23.6: a cost difference that cannot be exact asks for a re-sum;
 * a sum left with no cost is exactly 0. */
START_TEST(cost_cancellation_resums)
{
    ts_agg a;
    memset(&a, 0, sizeof(a));
    ts_span small = span("s", NULL, 1, 2), big = span("b", "s", 1, 2);
    small.has_cost = big.has_cost = 1;
    small.cost = 0.001;
    big.cost = 1e9;
    ts_agg_apply(&a, &small, NULL);
    ts_agg_apply(&a, &big, NULL);
    ts_span big2 = big;
    big2.cost = 0;
    ts_agg_old o = old_of(&big);
    ts_agg_apply(&a, &big2, &o);
    ck_assert_int_eq(a.resum, 1); /* 1e9 was most of the sum */
    ts_agg_resum_begin(&a);
    ts_agg_resum_add(&a, ABSENT, ABSENT, ABSENT, 1, small.cost);
    ts_agg_resum_add(&a, ABSENT, ABSENT, ABSENT, 1, big2.cost);
    ck_assert(a.cost_sum == 0.001);
    ck_assert_int_eq(a.cost_n, 2);
    /* a small part of the sum moves without a re-sum */
    ts_span s2 = small;
    s2.cost = 0.002;
    o = old_of(&small);
    memset(&a, 0, sizeof(a));
    ts_agg_apply(&a, &small, NULL);
    ts_agg_apply(&a, &big, NULL);
    ts_agg_apply(&a, &s2, &o);
    ck_assert_int_eq(a.resum, 0);
    /* the only priced span loses its cost: 0 exactly, no re-sum */
    memset(&a, 0, sizeof(a));
    ts_agg_apply(&a, &big, NULL);
    o = old_of(&big);
    ts_span none = big;
    none.has_cost = 0;
    ts_agg_apply(&a, &none, &o);
    ck_assert_int_eq(a.cost_n, 0);
    ck_assert(a.cost_sum == 0.0);
    ck_assert_int_eq(a.resum, 0);
}
END_TEST

START_TEST(extremes_and_root_follow_the_spans)
{
    ts_agg a;
    memset(&a, 0, sizeof(a));
    ts_span b = span("b", NULL, 100, 500);
    ts_span c = span("a", "", 100, 300); /* "" is a root too; same start, smaller id */
    ts_span late = span("z", NULL, 200, 400);
    ts_agg_apply(&a, &b, NULL);
    ts_agg_apply(&a, &c, NULL);
    ts_agg_apply(&a, &late, NULL);
    ck_assert_str_eq(a.root_span_id, "a");
    ck_assert_int_eq(a.started, 100);
    ck_assert_int_eq(a.ended, 500);
    ck_assert_int_eq(a.recompute, 0);
    /* A span that held neither extreme nor the root moves nothing back. */
    ts_span late2 = span("z", NULL, 210, 390);
    ts_agg_old o = old_of(&late);
    ts_agg_apply(&a, &late2, &o);
    ck_assert_int_eq(a.recompute, 0);
    /* b held the latest end and ends earlier now: re-derive. */
    ts_span b2 = span("b", NULL, 100, 450);
    o = old_of(&b);
    ts_agg_apply(&a, &b2, &o);
    ck_assert_int_eq(a.recompute, 1);
    ck_assert_int_eq(a.ended, 500); /* the caller re-derives it from the spans */
    /* The root becoming a child: re-derive. */
    a.recompute = 0;
    ts_span c2 = span("a", "b", 100, 300);
    o = old_of(&c);
    ts_agg_apply(&a, &c2, &o);
    ck_assert_int_eq(a.recompute, 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("agg");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, token_sums_saturate_and_differences_stop_at_zero);
    tcase_add_test(tc, span_total_prefers_the_reported_total);
    tcase_add_test(tc, inserts_add_up);
    tcase_add_test(tc, a_replacement_moves_by_the_difference);
    tcase_add_test(tc, saturated_sums_stay_in_range);
    tcase_add_test(tc, cost_cancellation_resums);
    tcase_add_test(tc, extremes_and_root_follow_the_spans);
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
