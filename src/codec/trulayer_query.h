/* trulayer_query.h: TruLayer's list query parameters (trulayer-api.md
 * section 4): the filters of GET /v1/traces, non-negative integer and
 * RFC 3339 parameters, and the opaque keyset cursor. Kept apart from the
 * HTTP layer (parameters come through a lookup function) so it can be
 * unit-tested and fuzzed. */
#ifndef TS_TRULAYER_QUERY_H
#define TS_TRULAYER_QUERY_H

#include <stdint.h>

#include "tracestore/arena.h"
#include "tracestore/err.h"
#include "tracestore/store.h"

/* Returns the value of query parameter name (NULL when absent); the string
 * must outlive the parse (it is referenced from the conditions). */
typedef const char *(*ts_query_get_fn)(void *ctx, const char *name);

#define TS_TL_MAX_CONDS 16

typedef struct ts_tl_conds {
    ts_qcond c[TS_TL_MAX_CONDS];
    size_t n;
} ts_tl_conds;

/* Errors below are TS_EINVAL with err->type the TruLayer error code
 * ("error.invalid_parameter", "error.invalid_range",
 * "error.tags_filter_incomplete") and err->msg the message (HTTP 400). */

/* Non-negative integer parameter: *has 0 when absent or empty. */
int ts_trulayer_query_uint(ts_query_get_fn get, void *ctx, const char *name, int *has, int64_t *v,
                           ts_err *err);
/* RFC 3339 parameter, as ns: *has 0 when absent or empty. */
int ts_trulayer_query_time(ts_query_get_fn get, void *ctx, const char *name, int *has, int64_t *v,
                           ts_err *err);
/* Every filter of GET /v1/traces into l (values in a or borrowed from get)
 * and q->project. */
int ts_trulayer_list_filters(ts_query_get_fn get, void *ctx, ts_arena *a, ts_tl_conds *l,
                             ts_trace_query *q, ts_err *err);

/* Cursor: hex of "v1:<sort key>:<row id>" (opaque to clients), in a; NULL
 * on OOM. decode returns 0, or -1 when c is not such a cursor. */
char *ts_trulayer_cursor_encode(ts_arena *a, int64_t key, int64_t id);
int ts_trulayer_cursor_decode(const char *c, int64_t *key, int64_t *id);

#endif
