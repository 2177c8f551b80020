/* agg.h: a trace's aggregates over its spans (counts, token sums, cost,
 * extent, root and first error) and how one span's write moves them. Plain
 * C over the domain structs, shared by every store backend; the backend
 * loads and stores the row (SQLite: sqlite_tagg.c). */
#ifndef TS_STORE_AGG_H
#define TS_STORE_AGG_H

#include <stdint.h>

#include "tracestore/model.h"

/* A trace's aggregates. Strings are borrowed: from the spans applied, or
 * from wherever the backend loaded the row into. */
typedef struct ts_agg {
    int64_t span_count, llm_span_count, prompt, completion, total;
    double cost_sum;
    int64_t cost_n, unpriced, error_count;
    int has_ext; /* started/ended are set (the trace has a span) */
    int64_t started, ended;
    const char *root_span_id, *root_name, *root_input, *root_output, *root_model, *root_error;
    int64_t root_start;
    const char *err_span_id, *err_text;
    int64_t err_start;
    int recompute; /* a replaced span held an extreme: re-derive from spans */
    int resum;     /* a sum may have lost exactness: re-sum it from the spans */
} ts_agg;

/* What the old version of a replaced span contributed (as stored). */
typedef struct ts_agg_old {
    int64_t start, end;
    int64_t prompt, completion, total; /* TS_TOKENS_ABSENT when not stored */
    int is_llm, has_error, has_cost, unpriced;
    double cost;
} ts_agg_old;

/* Token counts are client input up to INT64_MAX: sums saturate and
 * differences stop at 0, so aggregates never overflow. A negative b
 * (TS_TOKENS_ABSENT) counts as 0. */
int64_t ts_agg_tok_add(int64_t a, int64_t b);
int64_t ts_agg_tok_sub(int64_t a, int64_t b);

/* Moves a by the difference between old (NULL: sp is a new span) and sp.
 * Fields that cannot be moved back (extent, root, first error) set
 * a->recompute when the replaced span may have held them; the caller then
 * re-derives them from the stored spans. A difference that cannot be
 * exact sets a->resum: taking a span out of a saturated token sum, or a
 * cost that was more than the cost sum left without it (a double loses
 * the small terms next to a large one: 0.001 + 1e9 - 1e9 is not 0.001);
 * the caller then re-sums with ts_agg_resum_begin / _add. A cost sum that
 * counts no span any more is 0, exactly, without a re-sum. a keeps
 * pointers into sp. */
void ts_agg_apply(ts_agg *a, const ts_span *sp, const ts_agg_old *old);

/* Re-summing from the stored spans: _begin clears the token and cost sums
 * (counts, extent and root are left alone), then _add takes each span's
 * stored prompt, completion and total tokens (TS_TOKENS_ABSENT when not
 * stored) and cost (has_cost 0: none), in any order. */
void ts_agg_resum_begin(ts_agg *a);
void ts_agg_resum_add(ts_agg *a, int64_t prompt, int64_t completion, int64_t total, int has_cost,
                      double cost);

#endif
