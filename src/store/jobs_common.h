/* jobs_common.h: write-job logic every store backend shares, above the SQL:
 * which trace_dims values a span carries and how replacing a span moves
 * their counts, how a /track-request log merges into its span, and the
 * price state a span row stores. The backends (sqlite_jobs.c, pg_jobs.c)
 * load and store the rows around these. */
#ifndef TS_STORE_JOBS_COMMON_H
#define TS_STORE_JOBS_COMMON_H

#include <stdint.h>

#include "tracestore/model.h"
#include "tracestore/store.h"

/* trace_dims numbers (the same in every backend's schema and queries). */
enum {
    TS_DIM_MODEL = 1,
    TS_DIM_FAILURE,
    TS_DIM_NAME,
    TS_DIM_TYPE,
    TS_DIM_SPAN_ID_UNUSED,
    TS_DIM_PARENT,
    TS_DIM_PROVIDER,
    TS_DIM_STATUS,
    TS_DIM__COUNT
};

/* The span-level values a span with these fields contributes to its
 * trace's trace_dims, by dim (NULL: none for that dim). */
void ts_jobs_span_dims(const char *parent, const char *error, const char *type, const char *model,
                       const char *name, const char *provider, const char *out[TS_DIM__COUNT]);

/* Receives one count change of (dim, val); returns TS_OK or an error that
 * stops the walk. */
typedef int (*ts_jobs_dim_fn)(void *arg, int dim, const char *val, int64_t delta);

/* Moves the dim counts from a replaced span's values ov (NULL: a new span)
 * to nv: -1 for each old value, +1 for each new one, values that did not
 * change left alone. */
int ts_jobs_dims_move(const char *const *ov, const char *const *nv, ts_jobs_dim_fn add, void *arg);

/* The dims an explicit trace model / error (trace meta) adds: one
 * reference each, which no span replacement removes. */
int ts_jobs_meta_dims(const ts_trace_meta *m, ts_jobs_dim_fn add, void *arg);

/* The final span of an attachment: the log's LLM fields over sp's, then
 * derived again by derive (type, total tokens, cost, unpriced) as an
 * ingest of that span would derive it (NULL: stored as merged). A cost the
 * price table gave goes (the model or tokens may have changed); the
 * client's cost stays unless the log has one. sp keeps pointers into lg. */
void ts_jobs_merge_log(void (*derive)(ts_span *sp), ts_span *sp, const ts_track *lg);

/* spans.unpriced holds the span's price state: 0 the client's cost (or
 * not an LLM span), 1 an LLM span the price table could not price, 2 a
 * cost the price table gave (priced again when a request log changes the
 * span). Rows written before the state existed have 0 for 2. */
enum { TS_PRICE_CLIENT = 0, TS_PRICE_UNPRICED = 1, TS_PRICE_TABLE = 2 };

static inline int ts_jobs_price_state(const ts_span *sp)
{
    return sp->unpriced ? TS_PRICE_UNPRICED : sp->cost_priced ? TS_PRICE_TABLE : TS_PRICE_CLIENT;
}

/* ---- retention (TS_W_SWEEP, TS_W_WS_RETENTION) ---- */

/* Retention days are bounded like the config key, so a cutoff cannot
 * overflow whatever a workspace's column holds. */
#define TS_RETENTION_MAX_DAYS 36500

/* One sweep job's bounds: at most cap traces and logs, holding at most
 * spans_cap spans (but one trace always). */
typedef struct ts_sweep_bound {
    int64_t n, cap;
    int64_t spans, spans_cap;
} ts_sweep_bound;

/* From w's max_delete (default 500) and max_spans (default: no bound). */
void ts_sweep_bound_init(ts_sweep_bound *b, const ts_write *w);
int ts_sweep_full(const ts_sweep_bound *b);
/* Counts one expired trace of `spans` spans: 1 when the job takes it, 0
 * when it would pass the span bound (the job is then full; the next takes
 * it). */
int ts_sweep_take(ts_sweep_bound *b, int64_t spans);
/* The cutoff of `days` retention days (clamped) before now. */
int64_t ts_sweep_cutoff(int64_t now, int64_t days, int64_t day_ns);
/* The job's results once it ran: sweep_more, and the debug log line. */
void ts_sweep_done(ts_write *w, const ts_sweep_bound *b, int rc);
/* TS_W_WS_RETENTION: TS_EINVAL (err set) for days out of range. */
int ts_ws_retention_check(ts_write *w);

#endif
