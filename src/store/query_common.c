/* query_common.c: what both backends' trace reads share (query_common.h):
 * a stored trace or span row becoming the model's struct, each query
 * field's column expression, trace_dims numbers, filter numbers and the
 * nearest-rank percentile. Kept in one place so that the SQLite and
 * PostgreSQL answers cannot drift apart. */
#include <stdlib.h>
#include <string.h>

#include "store/jobs_common.h"
#include "store/query_common.h"
#include "tracestore/timeutil.h"

/* Column expression of each trace-level field, and whether it is numeric
 * (real: a REAL column). */
static const struct {
    const char *expr;
    int numeric, real;
} field_sql[] = {
    [TS_QF_TRACE_ID] = {"t.trace_id", 0, 0},
    [TS_QF_NAME] = {"coalesce(t.t_name, t.root_name)", 0, 0},
    [TS_QF_CUSTOMER] = {"t.user_id", 0, 0},
    [TS_QF_SESSION] = {"t.session_id", 0, 0},
    [TS_QF_PROJECT] = {"t.project_id", 1, 0},
    [TS_QF_MODEL_ROOT] = {"coalesce(t.t_model, t.root_model)", 0, 0},
    [TS_QF_STARTED] = {"t.eff_start", 1, 0},
    [TS_QF_ENDED] = {"t.eff_end", 1, 0},
    [TS_QF_LATENCY_MS] = {"t.eff_latency", 1, 0},
    [TS_QF_COST] = {"t.eff_cost", 1, 1},
    [TS_QF_TOTAL_TOKENS] = {"t.total_tokens", 1, 0},
    [TS_QF_PROMPT_TOKENS] = {"t.prompt_tokens", 1, 0},
    [TS_QF_COMPLETION_TOKENS] = {"t.completion_tokens", 1, 0},
    [TS_QF_SPAN_COUNT] = {"t.span_count", 1, 0},
    [TS_QF_LLM_COUNT] = {"t.llm_span_count", 1, 0},
    [TS_QF_ERROR_COUNT] = {"t.error_count", 1, 0},
    [TS_QF_HAS_ERROR] = {"t.has_error", 1, 0},
    [TS_QF_METADATA] = {NULL, 0, 0},
    [TS_QF_TAG] = {NULL, 0, 0},
    [TS_QF_INPUT] = {"coalesce(t.t_input, t.root_input)", 0, 0},
    [TS_QF_OUTPUT] = {"coalesce(t.t_output, t.root_output)", 0, 0},
};

/* Span columns for any-span conditions probed through the trace's spans. */
static const struct {
    ts_qfield field;
    const char *expr;
    int numeric, real;
} span_sql[] = {
    {TS_QF_SPAN_ID, "s.span_id", 0, 0},
    {TS_QF_SPAN_COST, "s.cost", 1, 1},
    {TS_QF_SPAN_LATENCY, "coalesce(s.latency_ms, (s.end_ns - s.start_ns) / 1000000)", 1, 0},
    {TS_QF_SPAN_PROMPT_TOKENS, "s.prompt_tokens", 1, 0},
    {TS_QF_SPAN_COMPLETION_TOKENS, "s.completion_tokens", 1, 0},
};

static const struct {
    const char *expr;
    int nullable;
} sort_sql[] = {
    [TS_QS_STARTED] = {"t.eff_start", 0},
    [TS_QS_ENDED] = {"t.eff_end", 1},
    [TS_QS_LATENCY] = {"t.eff_latency", 0},
    [TS_QS_COST] = {"t.eff_cost", 1},
    [TS_QS_TOTAL_TOKENS] = {"t.total_tokens", 0},
    [TS_QS_PROMPT_TOKENS] = {"t.prompt_tokens", 0},
    [TS_QS_COMPLETION_TOKENS] = {"t.completion_tokens", 0},
    [TS_QS_SPAN_COUNT] = {"t.span_count", 0},
    [TS_QS_LLM_COUNT] = {"t.llm_span_count", 0},
    [TS_QS_ERROR_COUNT] = {"t.error_count", 0},
    [TS_QS_NAME] = {"coalesce(t.t_name, t.root_name)", 1},
    [TS_QS_CUSTOMER] = {"t.user_id", 1},
    [TS_QS_TRACE_ID] = {"t.trace_id", 0},
};

const char *ts_query_field_sql(ts_qfield f, int *numeric, int *real)
{
    *numeric = *real = 0;
    if ((size_t)f >= sizeof(field_sql) / sizeof(field_sql[0]) || !field_sql[f].expr)
        return NULL;
    *numeric = field_sql[f].numeric;
    *real = field_sql[f].real;
    return field_sql[f].expr;
}

const char *ts_query_span_sql(ts_qfield f, int *numeric, int *real)
{
    *numeric = *real = 0;
    for (size_t i = 0; i < sizeof(span_sql) / sizeof(span_sql[0]); i++) {
        if (span_sql[i].field != f)
            continue;
        *numeric = span_sql[i].numeric;
        *real = span_sql[i].real;
        return span_sql[i].expr;
    }
    return NULL;
}

const char *ts_query_sort_sql(ts_qsort s, int *nullable)
{
    if ((size_t)s >= sizeof(sort_sql) / sizeof(sort_sql[0]) || !sort_sql[s].expr)
        s = TS_QS_STARTED;
    if (nullable)
        *nullable = sort_sql[s].nullable;
    return sort_sql[s].expr;
}

int ts_query_dim_of(ts_qfield f)
{
    switch (f) {
    case TS_QF_SPAN_MODEL:
        return TS_DIM_MODEL;
    case TS_QF_SPAN_FAILURE:
        return TS_DIM_FAILURE;
    case TS_QF_SPAN_NAME:
        return TS_DIM_NAME;
    case TS_QF_SPAN_TYPE:
        return TS_DIM_TYPE;
    case TS_QF_SPAN_PARENT:
        return TS_DIM_PARENT;
    case TS_QF_SPAN_PROVIDER:
        return TS_DIM_PROVIDER;
    case TS_QF_SPAN_STATUS:
        return TS_DIM_STATUS;
    default:
        return 0;
    }
}

int ts_query_num(const char *v, int64_t *i, double *d)
{
    char *end = NULL;
    long long ll = strtoll(v, &end, 10);
    if (end && *end == '\0' && end != v) {
        *i = ll;
        return 1;
    }
    *d = strtod(v, NULL);
    return 0;
}

int ts_query_is_num(const char *v)
{
    char *end = NULL;
    strtod(v, &end);
    return end && *end == '\0' && end != v;
}

int64_t ts_query_rank(int p, int64_t n)
{
    int64_t rank = (p * n + 99) / 100; /* ceil(p/100 * n), 1-based */
    return rank < 1 ? 1 : rank;
}

static const char *first_nonnull(const char *a, const char *b)
{
    return a ? a : b;
}

static int64_t i64_or(const ts_qrow *r, int col, int64_t dflt)
{
    return r->isnull(r, col) ? dflt : r->i64(r, col);
}

void ts_query_trace_row(const ts_qrow *r, ts_arena *a, ts_trace *t)
{
    memset(t, 0, sizeof(*t));
    t->trace_id = r->text(r, a, 0);
    t->project_uuid = r->text(r, a, 1);
    t->project_name = r->text(r, a, 2);
    t->span_count = r->i64(r, 3);
    t->llm_span_count = r->i64(r, 4);
    t->prompt_tokens = r->i64(r, 5);
    t->completion_tokens = r->i64(r, 6);
    t->total_tokens = r->i64(r, 7);
    if (!r->isnull(r, 25)) {
        t->has_cost = 1;
        t->cost = r->f64(r, 25);
    } else if (r->i64(r, 9) > 0) {
        t->has_cost = 1;
        t->cost = r->f64(r, 8);
    }
    t->unpriced_span_count = r->i64(r, 10);
    t->has_started = !r->isnull(r, 27) || !r->isnull(r, 11);
    t->has_ended = !r->isnull(r, 28) || !r->isnull(r, 12);
    t->started_ns = i64_or(r, 27, i64_or(r, 11, 0));
    t->ended_ns = i64_or(r, 28, i64_or(r, 12, 0));
    t->error_count = r->i64(r, 13);
    char *root_name = r->text(r, a, 14), *root_input = r->text(r, a, 15);
    char *root_output = r->text(r, a, 16), *root_model = r->text(r, a, 17);
    char *root_error = r->text(r, a, 18), *err_text = r->text(r, a, 19);
    t->name = (char *)first_nonnull(r->text(r, a, 20), root_name);
    t->input = (char *)first_nonnull(r->text(r, a, 21), root_input);
    t->output = (char *)first_nonnull(r->text(r, a, 22), root_output);
    t->model = (char *)first_nonnull(r->text(r, a, 23), root_model);
    t->error = (char *)first_nonnull(r->text(r, a, 24), first_nonnull(root_error, err_text));
    if (!r->isnull(r, 26))
        t->latency_ms = r->i64(r, 26);
    else if (t->has_started && t->has_ended && t->ended_ns >= t->started_ns)
        t->latency_ms = ts_time_diff_ms(t->started_ns, t->ended_ns);
    t->session_id = r->text(r, a, 29);
    t->user_id = r->text(r, a, 30);
    t->external_id = r->text(r, a, 31);
    t->tags = r->text(r, a, 32);
    t->tag_map = r->text(r, a, 33);
    t->metadata = r->text(r, a, 34);
    t->events = r->text(r, a, 35);
    if (!t->tags)
        t->tags = "[]";
    if (!t->metadata)
        t->metadata = "{}";
    if (!t->events)
        t->events = "[]";
    t->created_ns = r->i64(r, 36);
    t->updated_ns = r->i64(r, 37);
    t->closed = (int)r->i64(r, 38);
    t->root_span_id = r->text(r, a, 39);
    t->rowid = r->i64(r, 40);
}

void ts_query_span_row(const ts_qrow *r, ts_arena *a, ts_span *sp)
{
    ts_span_init(sp);
    sp->rowid = r->i64(r, 0);
    sp->span_id = r->text(r, a, 1);
    sp->parent_id = r->text(r, a, 2);
    sp->name = r->text(r, a, 3);
    sp->kind = (int)r->i64(r, 4);
    sp->start_ns = r->i64(r, 5);
    sp->end_ns = r->i64(r, 6);
    sp->status_code = (int)r->i64(r, 7);
    sp->status_message = r->text(r, a, 8);
    sp->trace_state = r->text(r, a, 9);
    sp->attributes = r->text(r, a, 10);
    sp->events = r->text(r, a, 11);
    sp->links = r->text(r, a, 12);
    sp->resource = r->text(r, a, 13);
    sp->scope = r->text(r, a, 14);
    sp->origin = (int)r->i64(r, 15);
    sp->type = r->text(r, a, 16);
    sp->model = r->text(r, a, 17);
    sp->provider = r->text(r, a, 18);
    sp->input = r->text(r, a, 19);
    sp->output = r->text(r, a, 20);
    sp->prompt_tokens = i64_or(r, 21, TS_TOKENS_ABSENT);
    sp->completion_tokens = i64_or(r, 22, TS_TOKENS_ABSENT);
    sp->total_tokens = i64_or(r, 23, TS_TOKENS_ABSENT);
    sp->cache_read_tokens = i64_or(r, 24, TS_TOKENS_ABSENT);
    sp->cache_write_tokens = i64_or(r, 25, TS_TOKENS_ABSENT);
    sp->reasoning_tokens = i64_or(r, 26, TS_TOKENS_ABSENT);
    if (!r->isnull(r, 27)) {
        sp->has_cost = 1;
        sp->cost = r->f64(r, 27);
    }
    int64_t price = r->i64(r, 28);
    sp->unpriced = price == TS_PRICE_UNPRICED;
    sp->cost_priced = price == TS_PRICE_TABLE;
    sp->error = r->text(r, a, 29);
    sp->session_id = r->text(r, a, 30);
    sp->user_id = r->text(r, a, 31);
    sp->metadata = r->text(r, a, 32);
    sp->latency_ms = i64_or(r, 33, -1);
    sp->request_log_id = i64_or(r, 34, 0);
    sp->created_ns = r->i64(r, 35);
}
