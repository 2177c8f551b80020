/* agg.c: the arithmetic of a trace's aggregates (agg.h): saturating token
 * sums and how one span's insert or replacement moves the trace's counts,
 * sums, extent, root and first error. No storage here: every backend calls
 * it between loading and storing its trace row. */
#include <string.h>

#include "store/agg.h"

static int is_root(const char *parent)
{
    return parent == NULL || parent[0] == '\0';
}

/* Token counts are client input up to INT64_MAX: sums saturate and
 * differences stop at 0, so aggregates never overflow. */
int64_t ts_agg_tok_add(int64_t a, int64_t b)
{
    int64_t r;
    b = b > 0 ? b : 0;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

int64_t ts_agg_tok_sub(int64_t a, int64_t b)
{
    b = b > 0 ? b : 0;
    return a > b ? a - b : 0;
}

/* A cost sum above this is not a sum of bounded costs (TS_COST_MAX) of
 * any plausible trace: an inf or NaN of rows written before the bounds. */
#define TS_COST_SUM_SANE 1e300

void ts_agg_resum_begin(ts_agg *a)
{
    a->prompt = a->completion = a->total = 0;
    a->cost_sum = 0.0;
    a->cost_n = 0;
    a->resum = 0;
}

void ts_agg_resum_add(ts_agg *a, int64_t p, int64_t c, int64_t t, int has_cost, double cost)
{
    a->prompt = ts_agg_tok_add(a->prompt, p);
    a->completion = ts_agg_tok_add(a->completion, c);
    a->total = ts_agg_tok_add(a->total, ts_span_tokens_total(p, c, t));
    if (has_cost) {
        a->cost_sum += cost;
        a->cost_n++;
    }
}

/* Moves a's aggregates by the difference between old (if any) and sp. */
void ts_agg_apply(ts_agg *a, const ts_span *sp, const ts_agg_old *o)
{
    if (o) {
        a->span_count--;
        a->llm_span_count -= o->is_llm;
        /* A saturated sum lost what was above INT64_MAX: subtracting from
         * it cannot give the sum of the other spans. */
        if (a->prompt == INT64_MAX || a->completion == INT64_MAX || a->total == INT64_MAX)
            a->resum = 1;
        a->prompt = ts_agg_tok_sub(a->prompt, o->prompt);
        a->completion = ts_agg_tok_sub(a->completion, o->completion);
        a->total =
            ts_agg_tok_sub(a->total, ts_span_tokens_total(o->prompt, o->completion, o->total));
        if (o->has_cost) {
            a->cost_sum -= o->cost;
            a->cost_n--;
            if (a->cost_n == 0)
                a->cost_sum = 0.0;
            else if (o->cost > a->cost_sum || !(a->cost_sum <= TS_COST_SUM_SANE))
                a->resum = 1;
        }
        a->unpriced -= o->unpriced;
        a->error_count -= o->has_error;
        /* A replaced span that held an extreme may no longer hold it. */
        if ((o->start == a->started && sp->start_ns > o->start) ||
            (o->end == a->ended && sp->end_ns < o->end))
            a->recompute = 1;
        if (a->root_span_id && strcmp(a->root_span_id, sp->span_id) == 0 &&
            (!is_root(sp->parent_id) || sp->start_ns > a->root_start))
            a->recompute = 1;
        if (a->err_span_id && strcmp(a->err_span_id, sp->span_id) == 0 &&
            (!sp->error || sp->start_ns > a->err_start))
            a->recompute = 1;
    }
    a->span_count++;
    a->llm_span_count += ts_span_type_is_llm(sp->type);
    a->prompt = ts_agg_tok_add(a->prompt, sp->prompt_tokens);
    a->completion = ts_agg_tok_add(a->completion, sp->completion_tokens);
    a->total = ts_agg_tok_add(
        a->total, ts_span_tokens_total(sp->prompt_tokens, sp->completion_tokens, sp->total_tokens));
    if (sp->has_cost) {
        a->cost_sum += sp->cost;
        a->cost_n++;
    }
    a->unpriced += sp->unpriced ? 1 : 0;
    a->error_count += sp->error != NULL;
    if (!a->has_ext || sp->start_ns < a->started)
        a->started = sp->start_ns;
    if (!a->has_ext || sp->end_ns > a->ended)
        a->ended = sp->end_ns;
    a->has_ext = 1;
    if (is_root(sp->parent_id) &&
        (!a->root_span_id || sp->start_ns < a->root_start ||
         (sp->start_ns == a->root_start && strcmp(sp->span_id, a->root_span_id) <= 0))) {
        a->root_span_id = sp->span_id;
        a->root_start = sp->start_ns;
        a->root_name = sp->name;
        a->root_input = sp->input;
        a->root_output = sp->output;
        a->root_model = sp->model;
        a->root_error = sp->error;
    }
    if (sp->error && (!a->err_span_id || sp->start_ns < a->err_start ||
                      (sp->start_ns == a->err_start && strcmp(sp->span_id, a->err_span_id) <= 0))) {
        a->err_span_id = sp->span_id;
        a->err_start = sp->start_ns;
        a->err_text = sp->error;
    }
}
