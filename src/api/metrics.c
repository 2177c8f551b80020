/* metrics.c: GET /metrics, the Prometheus text exposition (0.0.4). Off
 * unless metrics_token is set; then it answers only
 * `Authorization: Bearer <metrics_token>` (never a workspace key: the
 * figures are the whole process's, no workspace's). Renders the HTTP
 * layer's counters (http/http_metrics.c), the store's statistics and the
 * process's start time and version. */
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "http/http_metrics.h"
#include "tracestore/metrics.h"

#define CTYPE "text/plain; version=0.0.4; charset=utf-8"

/* Constant-time in the token's length: a scraper's guess learns nothing
 * from how long the comparison took. */
static int token_ok(const char *want, const char *got)
{
    size_t wn = strlen(want), gn = got ? strlen(got) : 0;
    unsigned char d = (unsigned char)(wn != gn);
    for (size_t i = 0; i < wn; i++)
        d |= (unsigned char)(want[i] ^ (i < gn ? got[i] : 0));
    return got && d == 0;
}

static const char *bearer(ts_req *r)
{
    const char *au = ts_req_header(r, "Authorization");
    if (!au || strncasecmp(au, "Bearer ", 7) != 0)
        return NULL;
    au += 7;
    while (*au == ' ')
        au++;
    return au;
}

static void counter(ts_prom *p, const char *name, const char *help, uint64_t v)
{
    ts_prom_family(p, name, "counter", help);
    ts_prom_u64(p, name, NULL, v);
}

static void gauge(ts_prom *p, const char *name, const char *help, double v)
{
    ts_prom_family(p, name, "gauge", help);
    ts_prom_double(p, name, NULL, v);
}

static void hist(ts_prom *p, const char *name, const char *help, const ts_hist_snap *s)
{
    ts_prom_family(p, name, "histogram", help);
    ts_prom_hist(p, name, NULL, s);
}

static void render_writer(ts_prom *p, const ts_store_stats *s)
{
    gauge(p, "tracestore_writer_queue_depth", "Write jobs queued for the writer now.",
          (double)s->queue_depth);
    counter(p, "tracestore_writer_transactions_total", "Transactions the writer committed.",
            s->transactions);
    counter(p, "tracestore_writer_jobs_total",
            "Write jobs the writer ran in committed transactions (jobs per transaction: this "
            "over tracestore_writer_transactions_total).",
            s->jobs);
    if (s->have & TS_STATS_JOBS_HIST)
        hist(p, "tracestore_writer_jobs_per_transaction", "Jobs in each committed transaction.",
             &s->jobs_hist);
    if (s->have & TS_STATS_COMMIT_HIST)
        hist(p, "tracestore_writer_commit_duration_seconds", "Duration of each COMMIT.",
             &s->commit_hist);
    if (s->have & TS_STATS_SYNCS) {
        counter(p, "tracestore_writer_syncs_total",
                "fdatasync calls that made committed transactions durable.", s->syncs);
        ts_prom_family(p, "tracestore_writer_sync_seconds_total", "counter",
                       "Time spent in those fdatasync calls.");
        ts_prom_double(p, "tracestore_writer_sync_seconds_total", NULL, (double)s->sync_ns / 1e9);
    }
    if (s->have & TS_STATS_SYNC_HIST)
        hist(p, "tracestore_writer_sync_duration_seconds",
             "Duration of each fdatasync of the WAL after a commit.", &s->sync_hist);
}

static void render_checkpoints(ts_prom *p, const ts_store_stats *s)
{
    ts_prom_family(p, "tracestore_checkpoints_total", "counter",
                   "WAL checkpoints run, by who ran them (the background checkpointer, or the "
                   "writer at sqlite_wal_max_pages).");
    ts_prom_u64(p, "tracestore_checkpoints_total", "by=\"background\"", s->checkpoints);
    ts_prom_u64(p, "tracestore_checkpoints_total", "by=\"writer\"", s->writer_checkpoints);
    if (!(s->have & TS_STATS_CKPT_HIST))
        return;
    ts_prom_family(p, "tracestore_checkpoint_duration_seconds", "histogram",
                   "Duration of each WAL checkpoint, by who ran it.");
    ts_prom_hist(p, "tracestore_checkpoint_duration_seconds", "by=\"background\"",
                 &s->checkpoint_hist);
    ts_prom_hist(p, "tracestore_checkpoint_duration_seconds", "by=\"writer\"",
                 &s->writer_checkpoint_hist);
}

static void render_store(ts_prom *p, ts_store *store)
{
    ts_store_stats s;
    ts_store_stats_get(store, &s);
    render_writer(p, &s);
    render_checkpoints(p, &s);
    if (s.have & TS_STATS_TRACES_CREATED)
        counter(p, "tracestore_traces_created_total", "Traces created by ingest.",
                s.traces_created);
    if ((s.have & TS_STATS_FILES) && s.db_bytes >= 0)
        gauge(p, "tracestore_database_bytes", "Size of the database file.", (double)s.db_bytes);
    if ((s.have & TS_STATS_FILES) && s.wal_bytes >= 0)
        gauge(p, "tracestore_wal_bytes", "Size of the write-ahead log file.", (double)s.wal_bytes);
    counter(p, "tracestore_key_cache_hits_total", "API key lookups answered from the key cache.",
            s.key_cache_hits);
    counter(p, "tracestore_key_cache_misses_total",
            "API key lookups that read the database (the key cache is off when key_cache_ms = "
            "0).",
            s.key_cache_misses);
}

static void render_process(ts_prom *p, const ts_app *app)
{
    char l[128] = "";
    if (app->http)
        gauge(p, "tracestore_http_open_connections", "HTTP connections open now.",
              (double)ts_http_open_connections(app->http));
    gauge(p, "process_start_time_seconds", "Start time of the process since the Unix epoch.",
          (double)(app->started_ns / 1000000) / 1e3);
    ts_prom_family(p, "tracestore_build_info", "gauge", "Always 1; the version is a label.");
    if (ts_prom_label(l, sizeof(l), "version", TS_VERSION) == 0)
        ts_prom_u64(p, "tracestore_build_info", l, 1);
}

int ts_api_metrics(ts_req *r)
{
    const ts_config *cfg = r->app->cfg;
    ts_prom p;
    size_t len = 0;
    if (!cfg->metrics_token[0]) {
        ts_api_error(r, 404, "not_found", "GET /metrics is off: set metrics_token to enable it");
        return TS_H_DONE;
    }
    if (!token_ok(cfg->metrics_token, bearer(r))) {
        ts_api_error(r, 401, "invalid_token",
                     "GET /metrics needs Authorization: Bearer <metrics_token>");
        return TS_H_DONE;
    }
    ts_prom_init(&p);
    if (r->app->metrics)
        ts_http_metrics_render(r->app->metrics, &p);
    render_store(&p, r->app->store);
    render_process(&p, r->app);
    char *body = ts_prom_take(&p, &len);
    if (!body) {
        ts_api_error(r, 500, "internal", "out of memory");
        return TS_H_DONE;
    }
    ts_req_respond(r, 200, CTYPE, body, len);
    return TS_H_DONE;
}
