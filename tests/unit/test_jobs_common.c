/* test_jobs_common.c: unit tests for src/store/jobs_common.c, the write-job
 * logic both backends share: the trace_dims values a span carries, how a
 * replacement moves their counts, the dims of explicit trace fields, the
 * merge of a /track-request log into its span, the price state, and the
 * retention sweep's bounds. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/jobs_common.h"

/* The count changes a walk reported, as "dim:val:delta" lines. */
typedef struct moves {
    char text[1024];
    int n, fail_at;
} moves;

static int record(void *arg, int dim, const char *val, int64_t delta)
{
    moves *m = arg;
    size_t len = strlen(m->text);
    if (++m->n == m->fail_at)
        return TS_ENOMEM;
    snprintf(m->text + len, sizeof m->text - len, "%d:%s:%+lld\n", dim, val, (long long)delta);
    return TS_OK;
}

START_TEST(span_dims_by_dim)
{
    const char *v[TS_DIM__COUNT];
    ts_jobs_span_dims("p1", "request timed out", "llm", "gpt-4o", "call", "openai", v);
    ck_assert_str_eq(v[TS_DIM_MODEL], "gpt-4o");
    ck_assert_str_eq(v[TS_DIM_FAILURE], "timeout");
    ck_assert_str_eq(v[TS_DIM_NAME], "call");
    ck_assert_str_eq(v[TS_DIM_TYPE], "llm");
    ck_assert_ptr_null(v[TS_DIM_SPAN_ID_UNUSED]);
    ck_assert_str_eq(v[TS_DIM_PARENT], "p1");
    ck_assert_str_eq(v[TS_DIM_PROVIDER], "openai");
    ck_assert_str_eq(v[TS_DIM_STATUS], "error");
    /* a root (NULL or "" parent) has no parent value; no error: success */
    ts_jobs_span_dims("", NULL, NULL, NULL, "root", NULL, v);
    ck_assert_ptr_null(v[TS_DIM_PARENT]);
    ck_assert_ptr_null(v[TS_DIM_FAILURE]);
    ck_assert_ptr_null(v[TS_DIM_MODEL]);
    ck_assert_str_eq(v[TS_DIM_STATUS], "success");
}
END_TEST

START_TEST(dims_move_from_old_to_new)
{
    const char *ov[TS_DIM__COUNT], *nv[TS_DIM__COUNT];
    moves m = {{0}, 0, 0};
    ts_jobs_span_dims(NULL, NULL, "llm", "a", "n", NULL, nv);
    ck_assert_int_eq(ts_jobs_dims_move(NULL, nv, record, &m), TS_OK);
    ck_assert_str_eq(m.text, "1:a:+1\n3:n:+1\n4:llm:+1\n8:success:+1\n");
    /* a replacement: unchanged values are left alone, changed ones move */
    memset(&m, 0, sizeof m);
    memcpy(ov, nv, sizeof ov);
    ts_jobs_span_dims("r", "rate limit hit", "llm", "b", "n", NULL, nv);
    ck_assert_int_eq(ts_jobs_dims_move(ov, nv, record, &m), TS_OK);
    ck_assert_str_eq(m.text, "1:a:-1\n1:b:+1\n2:rate_limit:+1\n6:r:+1\n8:success:-1\n8:error:+1\n");
    /* the same span again moves nothing */
    memset(&m, 0, sizeof m);
    ck_assert_int_eq(ts_jobs_dims_move(nv, nv, record, &m), TS_OK);
    ck_assert_str_eq(m.text, "");
    /* an error from the sink stops the walk */
    memset(&m, 0, sizeof m);
    m.fail_at = 2;
    ck_assert_int_eq(ts_jobs_dims_move(ov, nv, record, &m), TS_ENOMEM);
    ck_assert_int_eq(m.n, 2);
}
END_TEST

START_TEST(meta_dims)
{
    ts_trace_meta t;
    moves m = {{0}, 0, 0};
    memset(&t, 0, sizeof t);
    ck_assert_int_eq(ts_jobs_meta_dims(&t, record, &m), TS_OK);
    ck_assert_str_eq(m.text, "");
    t.model = "m1";
    t.error = "context length exceeded";
    ck_assert_int_eq(ts_jobs_meta_dims(&t, record, &m), TS_OK);
    ck_assert_str_eq(m.text, "1:m1:+1\n2:context_length:+1\n");
}
END_TEST

static int derived;
static void derive(ts_span *sp)
{
    derived++;
    if (!sp->has_cost) { /* as the price table would */
        sp->has_cost = sp->cost_priced = 1;
        sp->cost = 0.5;
    }
}

static ts_span base_span(void)
{
    ts_span sp;
    ts_span_init(&sp);
    sp.span_id = "s";
    sp.type = "tool";
    sp.model = "old";
    sp.prompt_tokens = 1;
    sp.completion_tokens = 2;
    sp.total_tokens = 3;
    return sp;
}

START_TEST(merge_log_over_span)
{
    ts_span sp = base_span();
    ts_track lg = {.model = "gpt-4o", .provider = "openai", .input = "in", .output = "out"};
    lg.prompt_tokens = 10;
    lg.completion_tokens = TS_TOKENS_ABSENT;
    derived = 0;
    ts_jobs_merge_log(derive, &sp, &lg);
    ck_assert_str_eq(sp.model, "gpt-4o");
    ck_assert_str_eq(sp.provider, "openai");
    ck_assert_str_eq(sp.input, "in");
    ck_assert_str_eq(sp.output, "out");
    ck_assert_int_eq(sp.prompt_tokens, 10);
    ck_assert_int_eq(sp.completion_tokens, 2);           /* the log did not say */
    ck_assert_int_eq(sp.total_tokens, TS_TOKENS_ABSENT); /* the log's call: its own sum */
    ck_assert_str_eq(sp.type, "llm");                    /* a request log is an LLM call */
    ck_assert_int_eq(derived, 1);
    ck_assert(sp.has_cost && sp.cost_priced && sp.cost == 0.5); /* priced again */
    /* the client's cost stays unless the log has one */
    sp = base_span();
    sp.has_cost = 1;
    sp.cost = 2.0;
    ts_track none = {.prompt_tokens = TS_TOKENS_ABSENT, .completion_tokens = TS_TOKENS_ABSENT};
    ts_jobs_merge_log(derive, &sp, &none);
    ck_assert(sp.has_cost && !sp.cost_priced && sp.cost == 2.0);
    ck_assert_int_eq(sp.total_tokens, 3);
    ck_assert_str_eq(sp.model, "old");
    /* a table's cost goes when the log changes the span; the log's own cost wins */
    sp = base_span();
    sp.has_cost = sp.cost_priced = 1;
    sp.cost = 9.0;
    ts_track priced = {.has_cost = 1, .cost = 0.25};
    priced.prompt_tokens = priced.completion_tokens = TS_TOKENS_ABSENT;
    ts_jobs_merge_log(derive, &sp, &priced);
    ck_assert(sp.has_cost && !sp.cost_priced && sp.cost == 0.25);
    /* without derive the merged span is kept as merged */
    sp = base_span();
    sp.has_cost = sp.cost_priced = 1;
    sp.cost = 9.0;
    derived = 0;
    ts_jobs_merge_log(NULL, &sp, &none);
    ck_assert(sp.has_cost && sp.cost_priced && sp.cost == 9.0);
    ck_assert_int_eq(derived, 0);
}
END_TEST

START_TEST(price_state)
{
    ts_span sp = base_span();
    ck_assert_int_eq(ts_jobs_price_state(&sp), TS_PRICE_CLIENT);
    sp.cost_priced = 1;
    ck_assert_int_eq(ts_jobs_price_state(&sp), TS_PRICE_TABLE);
    sp.unpriced = 1;
    ck_assert_int_eq(ts_jobs_price_state(&sp), TS_PRICE_UNPRICED);
}
END_TEST

START_TEST(sweep_bounds)
{
    ts_write w;
    ts_sweep_bound b;
    memset(&w, 0, sizeof w);
    ts_sweep_bound_init(&b, &w);
    ck_assert_int_eq(b.cap, 500);
    ck_assert_int_eq(b.spans_cap, INT64_MAX);
    w.max_delete = 3;
    w.max_spans = 10;
    ts_sweep_bound_init(&b, &w);
    /* one trace always, even past the span bound */
    ck_assert_int_eq(ts_sweep_take(&b, 25), 1);
    ck_assert(ts_sweep_full(&b));
    ts_sweep_bound_init(&b, &w);
    ck_assert_int_eq(ts_sweep_take(&b, 4), 1);
    ck_assert_int_eq(ts_sweep_take(&b, 6), 1);
    ck_assert(ts_sweep_full(&b)); /* 10 spans */
    ts_sweep_bound_init(&b, &w);
    ck_assert_int_eq(ts_sweep_take(&b, 4), 1);
    ck_assert_int_eq(ts_sweep_take(&b, 7), 0); /* the next job takes it */
    ck_assert(ts_sweep_full(&b));
    ck_assert_int_eq(b.n, 1);
    ts_sweep_bound_init(&b, &w);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ts_sweep_take(&b, 0), 1);
    ck_assert(ts_sweep_full(&b)); /* 3 traces */
    /* the cutoff: days before now, clamped so it cannot overflow */
    ck_assert_int_eq(ts_sweep_cutoff(1000, 2, 100), 800);
    ck_assert_int_eq(ts_sweep_cutoff(0, INT64_MAX, 86400000000000LL),
                     -(int64_t)TS_RETENTION_MAX_DAYS * 86400000000000LL);
    w.max_delete = 0;
    ts_sweep_bound_init(&b, &w);
    ts_sweep_done(&w, &b, TS_OK);
    ck_assert_int_eq(w.sweep_more, 0);
    b.n = b.cap;
    ts_sweep_done(&w, &b, TS_OK);
    ck_assert_int_eq(w.sweep_more, 1);
}
END_TEST

START_TEST(ws_retention_range)
{
    ts_write w;
    memset(&w, 0, sizeof w);
    w.retention_days = -1; /* back to the config's */
    ck_assert_int_eq(ts_ws_retention_check(&w), TS_OK);
    w.retention_days = TS_RETENTION_MAX_DAYS;
    ck_assert_int_eq(ts_ws_retention_check(&w), TS_OK);
    w.retention_days = TS_RETENTION_MAX_DAYS + 1;
    ck_assert_int_eq(ts_ws_retention_check(&w), TS_EINVAL);
    ck_assert_str_eq(w.err.msg, "retention must be 0 to 36500 days");
    w.retention_days = -2;
    ck_assert_int_eq(ts_ws_retention_check(&w), TS_EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("jobs_common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, span_dims_by_dim);
    tcase_add_test(tc, dims_move_from_old_to_new);
    tcase_add_test(tc, meta_dims);
    tcase_add_test(tc, merge_log_over_span);
    tcase_add_test(tc, price_state);
    tcase_add_test(tc, sweep_bounds);
    tcase_add_test(tc, ws_retention_range);
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
