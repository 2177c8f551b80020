/* keycache.c: the store's cache of API key lookups (ts_store_key_candidates).
 *
 * Every request authenticates its key; without a cache each one ran a
 * SQLite query on a read connection: 18 % of the HTTP threads' time under
 * one-span requests (perf, workload 3). The cache keeps the candidate rows
 * of a key prefix, as the backend returned them (the hash comparison and
 * the revoked flag are still applied by apikey.c on every request), for at
 * most key_cache_ms, and only while the backend's key epoch is the one read
 * before the rows were: a key created or revoked, in this process or in
 * another one (the `key` commands), changes the epoch, and the next lookup
 * goes to the backend. A prefix with no candidates is never cached either. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"
#include "tracestore/apikey.h"
#include "tracestore/ids.h"
#include "tracestore/metrics.h"

#define KC_SLOTS 128
#define KC_ROWS 4 /* prefixes shared by more keys than this are not cached */

typedef struct kc_slot {
    char prefix[TS_KEY_PREFIX_LEN + 1];
    uint64_t epoch;
    int64_t until_ns;
    size_t n; /* 0: empty */
    ts_key_row rows[KC_ROWS];
} kc_slot;

struct ts_keycache {
    _Atomic uint64_t hits, misses; /* relaxed: figures for /metrics */
    pthread_mutex_t mu;
    int64_t ttl_ns;
    kc_slot slot[KC_SLOTS];
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

ts_keycache *ts_keycache_new(int64_t ttl_ms)
{
    if (ttl_ms <= 0)
        return NULL;
    ts_keycache *kc = calloc(1, sizeof(*kc));
    if (!kc)
        return NULL;
    pthread_mutex_init(&kc->mu, NULL);
    kc->ttl_ns = ttl_ms * 1000000;
    return kc;
}

void ts_keycache_counts(const ts_keycache *kc, uint64_t *hits, uint64_t *misses)
{
    *hits = kc ? atomic_load_explicit(&kc->hits, memory_order_relaxed) : 0;
    *misses = kc ? atomic_load_explicit(&kc->misses, memory_order_relaxed) : 0;
}

void ts_keycache_free(ts_keycache *kc)
{
    if (!kc)
        return;
    pthread_mutex_destroy(&kc->mu);
    free(kc);
}

int ts_keycache_lookup(ts_store *s, const char *prefix, ts_key_row *rows, size_t cap, size_t *n)
{
    ts_keycache *kc = s->kc;
    uint64_t epoch;
    size_t plen = strlen(prefix);

    if (!kc || plen != TS_KEY_PREFIX_LEN || !s->ops->keys_epoch ||
        s->ops->keys_epoch(s, &epoch) != TS_OK)
        return s->ops->key_candidates(s, prefix, rows, cap, n);
    kc_slot *sl = &kc->slot[ts_str_hash(prefix) % KC_SLOTS];
    int64_t now = mono_ns();
    pthread_mutex_lock(&kc->mu);
    if (sl->n && sl->epoch == epoch && now < sl->until_ns && sl->n <= cap &&
        memcmp(sl->prefix, prefix, plen + 1) == 0) {
        memcpy(rows, sl->rows, sl->n * sizeof(*rows));
        *n = sl->n;
        pthread_mutex_unlock(&kc->mu);
        TS_METRIC_ADD(&kc->hits, 1);
        return TS_OK;
    }
    pthread_mutex_unlock(&kc->mu);
    TS_METRIC_ADD(&kc->misses, 1);
    /* The epoch was read before the rows: a revoke committed after this
     * point changes it, so rows older than the revoke are never served. */
    int rc = s->ops->key_candidates(s, prefix, rows, cap, n);
    if (rc != TS_OK || *n == 0 || *n > KC_ROWS)
        return rc;
    pthread_mutex_lock(&kc->mu);
    memcpy(sl->prefix, prefix, plen + 1);
    memcpy(sl->rows, rows, *n * sizeof(*rows));
    sl->n = *n;
    sl->epoch = epoch;
    sl->until_ns = now + kc->ttl_ns;
    pthread_mutex_unlock(&kc->mu);
    return rc;
}
