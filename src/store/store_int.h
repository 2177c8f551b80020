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
    int (*trace_get)(ts_store *s, int64_t ws_id, const char *trace_id, ts_arena *a,
                     ts_trace *out, ts_span **spans, size_t *nspans);
    int (*key_list)(ts_store *s, ts_arena *a, ts_key_info **out, size_t *n);
    int (*workspace_count)(ts_store *s, int64_t *n);
    void (*stats)(ts_store *s, ts_store_stats *out);
    int (*backup)(ts_store *s, const char *dest, ts_err *err);
} ts_store_ops;

struct ts_store {
    const ts_store_ops *ops;
};

extern const ts_store_ops ts_sqlite_ops;

#endif
