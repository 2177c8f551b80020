/* spanctx.h: the SQLite writer's cache of span contexts.
 *
 * A span's resource and scope (OTLP's Resource and InstrumentationScope,
 * /spans-bulk's "resource") are the same for most spans of a trace, and
 * were a quarter of an OTLP span's row: about 330 of 1,350 bytes, enough to
 * leave two rows to a 4 KiB page where three would fit. Since migration
 * 0006 each distinct (resource, scope) pair of a trace is one span_ctx row,
 * (trow, idx), and spans.ctx names it (ARCHITECTURE.md, "Span contexts").
 *
 * The writer finds a pair's idx here before it asks the database: a
 * direct-mapped table of (trace row, resource, scope) -> idx that keeps its
 * own copies of the texts, so a hit is an exact match, never a hash's
 * guess. An entry may only name a row that exists in the writer's
 * transaction: the writer drops a trace's entries when a job that added one
 * of its rows rolls back or when the trace is deleted, and all of them when
 * a transaction fails. Writer thread only: no locking. */
#ifndef TS_STORE_SPANCTX_H
#define TS_STORE_SPANCTX_H

#include <stddef.h>
#include <stdint.h>

typedef struct ts_spanctx ts_spanctx;

/* A cache of `slots` entries (rounded up to a power of two). NULL on OOM. */
ts_spanctx *ts_spanctx_new(size_t slots);
void ts_spanctx_free(ts_spanctx *c); /* NULL-safe */

/* The idx of (trow, resource, scope) (scope may be NULL), 0 when not cached. */
int64_t ts_spanctx_get(const ts_spanctx *c, int64_t trow, const char *resource, const char *scope);

/* Caches (trow, resource, scope) -> idx, replacing the slot's entry. Out
 * of memory only means a later miss. */
void ts_spanctx_put(ts_spanctx *c, int64_t trow, const char *resource, const char *scope,
                    int64_t idx);

/* Forgets every entry of trace row trow. */
void ts_spanctx_drop(ts_spanctx *c, int64_t trow);

/* Forgets everything. */
void ts_spanctx_clear(ts_spanctx *c);

#endif
