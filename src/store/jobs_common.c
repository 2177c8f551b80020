/* jobs_common.c: the backend-neutral parts of the write jobs (see
 * jobs_common.h): a span's trace_dims values and their count moves, and
 * the merge of a /track-request log into its span. No storage here. */
#include <stdint.h>
#include <string.h>

#include "store/jobs_common.h"
#include "tracestore/log.h"

static int is_root(const char *parent)
{
    return parent == NULL || parent[0] == '\0';
}

void ts_jobs_span_dims(const char *parent, const char *error, const char *type, const char *model,
                       const char *name, const char *provider, const char *out[TS_DIM__COUNT])
{
    memset(out, 0, sizeof(out[0]) * TS_DIM__COUNT);
    out[TS_DIM_MODEL] = model;
    out[TS_DIM_FAILURE] = ts_failure_type(error);
    out[TS_DIM_NAME] = name;
    out[TS_DIM_TYPE] = type;
    out[TS_DIM_PARENT] = is_root(parent) ? NULL : parent;
    out[TS_DIM_PROVIDER] = provider;
    out[TS_DIM_STATUS] = error ? "error" : "success";
}

int ts_jobs_dims_move(const char *const *ov, const char *const *nv, ts_jobs_dim_fn add, void *arg)
{
    int rc;
    for (int d = 1; d < TS_DIM__COUNT; d++) {
        const char *o = ov ? ov[d] : NULL;
        if (o && nv[d] && strcmp(o, nv[d]) == 0)
            continue;
        if (o && (rc = add(arg, d, o, -1)) != TS_OK)
            return rc;
        if (nv[d] && (rc = add(arg, d, nv[d], 1)) != TS_OK)
            return rc;
    }
    return TS_OK;
}

int ts_jobs_meta_dims(const ts_trace_meta *m, ts_jobs_dim_fn add, void *arg)
{
    const char *fail = ts_failure_type(m->error);
    int rc;
    if (m->model && (rc = add(arg, TS_DIM_MODEL, m->model, 1)) != TS_OK)
        return rc;
    if (fail && (rc = add(arg, TS_DIM_FAILURE, fail, 1)) != TS_OK)
        return rc;
    return TS_OK;
}

void ts_jobs_merge_log(void (*derive)(ts_span *sp), ts_span *sp, const ts_track *lg)
{
    if (lg->model)
        sp->model = (char *)lg->model;
    if (lg->provider)
        sp->provider = (char *)lg->provider;
    if (lg->input)
        sp->input = (char *)lg->input;
    if (lg->output)
        sp->output = (char *)lg->output;
    if (lg->prompt_tokens != TS_TOKENS_ABSENT || lg->completion_tokens != TS_TOKENS_ABSENT) {
        if (lg->prompt_tokens != TS_TOKENS_ABSENT)
            sp->prompt_tokens = lg->prompt_tokens;
        if (lg->completion_tokens != TS_TOKENS_ABSENT)
            sp->completion_tokens = lg->completion_tokens;
        sp->total_tokens = TS_TOKENS_ABSENT; /* the log's call: its own sum */
    }
    if (lg->has_cost) {
        sp->has_cost = 1;
        sp->cost = lg->cost;
        sp->cost_priced = 0;
    } else if (sp->cost_priced && derive) {
        sp->has_cost = sp->cost_priced = 0;
    }
    if (!ts_span_type_is_llm(sp->type))
        sp->type = "llm"; /* a request log is an LLM call */
    if (derive)
        derive(sp);
}

void ts_sweep_bound_init(ts_sweep_bound *b, const ts_write *w)
{
    b->n = b->spans = 0;
    b->cap = w->max_delete > 0 ? w->max_delete : 500;
    b->spans_cap = w->max_spans > 0 ? w->max_spans : INT64_MAX;
}

int ts_sweep_full(const ts_sweep_bound *b)
{
    return b->n >= b->cap || b->spans >= b->spans_cap;
}

int ts_sweep_take(ts_sweep_bound *b, int64_t spans)
{
    if (b->n && b->spans + spans > b->spans_cap) {
        b->spans = b->spans_cap; /* the next job takes it */
        return 0;
    }
    b->n++;
    b->spans += spans;
    return 1;
}

int64_t ts_sweep_cutoff(int64_t now, int64_t days, int64_t day_ns)
{
    return now - (days < TS_RETENTION_MAX_DAYS ? days : TS_RETENTION_MAX_DAYS) * day_ns;
}

void ts_sweep_done(ts_write *w, const ts_sweep_bound *b, int rc)
{
    w->sweep_more = ts_sweep_full(b);
    if (rc == TS_OK && (w->affected || w->swept_logs))
        TS_LOG(TS_LOG_DEBUG, "msg=\"retention batch\" traces=%lld logs=%lld",
               (long long)w->affected, (long long)w->swept_logs);
}

int ts_ws_retention_check(ts_write *w)
{
    if (w->retention_days < -1 || w->retention_days > TS_RETENTION_MAX_DAYS)
        return ts_err_set(&w->err, TS_EINVAL, "retention must be 0 to %d days",
                          TS_RETENTION_MAX_DAYS);
    return TS_OK;
}
