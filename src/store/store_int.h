/* store_int.h: the backend ops table behind include/tracestore/store.h.
 * A backend embeds `struct ts_store` as its first member. Adding a backend
 * (PostgreSQL) means one new file implementing these ops plus one line in
 * store.c's backend choice. */
#ifndef TS_STORE_INT_H
#define TS_STORE_INT_H

#include "tracestore/store.h"

typedef struct ts_store_ops {
    const char *name;
    int (*open)(const ts_config *cfg, ts_store **out, ts_err *err);
    void (*close)(ts_store *s);
    int (*submit)(ts_store *s, ts_write *w);
    int (*key_candidates)(ts_store *s, const char *prefix, ts_key_row *rows, size_t cap,
                          size_t *n);
    /* A value that changes whenever any process creates or revokes a key
     * (NULL or an error: key lookups are not cached). */
    int (*keys_epoch)(ts_store *s, uint64_t *epoch);
    int (*trace_get)(ts_store *s, int64_t ws_id, const char *trace_id, ts_arena *a,
                     ts_trace *out, ts_span **spans, size_t *nspans);
    int (*key_list)(ts_store *s, ts_arena *a, ts_key_info **out, size_t *n);
    int (*workspace_count)(ts_store *s, int64_t *n);
    int (*workspace_list)(ts_store *s, ts_arena *a, ts_workspace_info **out, size_t *n);
    int (*trace_list)(ts_store *s, int64_t ws_id, const ts_trace_query *q, ts_arena *a,
                      ts_trace **out, size_t *n, int *more, int64_t *count);
    int (*metrics)(ts_store *s, int64_t ws_id, const char *project, int64_t from_ns,
                   int64_t to_ns, ts_metrics *out);
    int (*projects)(ts_store *s, int64_t ws_id, int64_t after, int64_t limit, ts_arena *a,
                    ts_project **out, size_t *n, int *more);
    void (*stats)(ts_store *s, ts_store_stats *out);
    int (*backup)(ts_store *s, const char *dest, ts_err *err);
    /* Without an open store (see ts_store_vacuum). */
    int (*vacuum)(const ts_config *cfg, ts_vacuum_info *out, ts_err *err);
} ts_store_ops;

typedef struct ts_keycache ts_keycache;

struct ts_store {
    const ts_store_ops *ops;
    ts_keycache *kc; /* NULL: key lookups not cached */
    /* the server secret of ts_store_id_secret, filled by the backend's open */
    unsigned char id_secret[32];
};

/* keycache.c: key lookups cached for ttl_ms while the key epoch holds
 * (new returns NULL for ttl_ms <= 0). */
ts_keycache *ts_keycache_new(int64_t ttl_ms);
void ts_keycache_free(ts_keycache *kc);
int ts_keycache_lookup(ts_store *s, const char *prefix, ts_key_row *rows, size_t cap, size_t *n);
/* Lookups answered from the cache and those that went to the backend. */
void ts_keycache_counts(const ts_keycache *kc, uint64_t *hits, uint64_t *misses);

extern const ts_store_ops ts_sqlite_ops;
extern const ts_store_ops ts_pg_ops; /* store/pg.c */

#endif
