/* store.c: backend selection (cfg->store) and the thin dispatch from the public store
 * API to a backend's ops table, plus the generic synchronous write. */
#include <pthread.h>
#include <string.h>

#include "store/store_int.h"

/* cfg->store, checked by the config (sqlite | postgres). */
static const ts_store_ops *backend(const ts_config *cfg)
{
    return strcmp(cfg->store, "postgres") == 0 ? &ts_pg_ops : &ts_sqlite_ops;
}

int ts_store_open(const ts_config *cfg, ts_store **out, ts_err *err)
{
    *out = NULL;
    int rc = backend(cfg)->open(cfg, out, err);
    if (rc == TS_OK)
        (*out)->kc = ts_keycache_new(cfg->key_cache_ms);
    return rc;
}

const unsigned char *ts_store_id_secret(const ts_store *s)
{
    return s->id_secret;
}

void ts_store_close(ts_store *s)
{
    if (!s)
        return;
    ts_keycache_free(s->kc);
    s->kc = NULL;
    s->ops->close(s);
}

int ts_store_submit(ts_store *s, ts_write *w)
{
    return s->ops->submit(s, w);
}

struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static void sync_done(ts_write *w, void *arg)
{
    struct sync_wait *sw = arg;
    (void)w;
    pthread_mutex_lock(&sw->mu);
    sw->done = 1;
    pthread_cond_signal(&sw->cv);
    pthread_mutex_unlock(&sw->mu);
}

int ts_store_write_sync(ts_store *s, ts_write *w)
{
    struct sync_wait sw = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    w->done = sync_done;
    w->done_arg = &sw;
    int rc = ts_store_submit(s, w);
    if (rc != TS_OK) {
        w->rc = rc;
        return rc;
    }
    pthread_mutex_lock(&sw.mu);
    while (!sw.done)
        pthread_cond_wait(&sw.cv, &sw.mu);
    pthread_mutex_unlock(&sw.mu);
    pthread_cond_destroy(&sw.cv);
    pthread_mutex_destroy(&sw.mu);
    return w->rc;
}

int ts_store_key_candidates(ts_store *s, const char *prefix, ts_key_row *rows, size_t cap,
                            size_t *n)
{
    return ts_keycache_lookup(s, prefix, rows, cap, n);
}

int ts_store_trace_get(ts_store *s, int64_t ws_id, const char *trace_id, ts_arena *a, ts_trace *out,
                       ts_span **spans, size_t *nspans)
{
    return s->ops->trace_get(s, ws_id, trace_id, a, out, spans, nspans);
}

int ts_store_key_list(ts_store *s, ts_arena *a, ts_key_info **out, size_t *n)
{
    return s->ops->key_list(s, a, out, n);
}

int ts_store_workspace_count(ts_store *s, int64_t *n)
{
    return s->ops->workspace_count(s, n);
}

int ts_store_workspace_list(ts_store *s, ts_arena *a, ts_workspace_info **out, size_t *n)
{
    return s->ops->workspace_list(s, a, out, n);
}

int ts_store_trace_list(ts_store *s, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                        ts_trace **out, size_t *n, int *more, int64_t *count)
{
    return s->ops->trace_list(s, ws_id, q, a, out, n, more, count);
}

int ts_store_metrics(ts_store *s, int64_t ws_id, const char *project, int64_t from_ns,
                     int64_t to_ns, ts_metrics *out)
{
    return s->ops->metrics(s, ws_id, project, from_ns, to_ns, out);
}

int ts_store_projects(ts_store *s, int64_t ws_id, int64_t after, int64_t limit, ts_arena *a,
                      ts_project **out, size_t *n, int *more)
{
    return s->ops->projects(s, ws_id, after, limit, a, out, n, more);
}

void ts_store_stats_get(ts_store *s, ts_store_stats *out)
{
    memset(out, 0, sizeof(*out));
    s->ops->stats(s, out);
    ts_keycache_counts(s->kc, &out->key_cache_hits, &out->key_cache_misses);
}

int ts_store_vacuum(const ts_config *cfg, ts_vacuum_info *out, ts_err *err)
{
    memset(out, 0, sizeof(*out));
    return backend(cfg)->vacuum(cfg, out, err);
}

int ts_store_backup(ts_store *s, const char *dest, ts_err *err)
{
    return s->ops->backup(s, dest, err);
}
