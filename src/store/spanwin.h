/* spanwin.h: the SQLite writer's window of recently written span ids.
 *
 * /track-request attaches a request log to an existing span found by its
 * span id alone (the log names no trace). An index on (ws_id, span_id)
 * served that lookup, but span ids are random, so every span written put
 * an entry on a random leaf of it: with real (random) ids that was one more
 * 4 KB page per span in every transaction's WAL, and bulk ingest ran at
 * 0.55 of the rate without the index (docs/PERFORMANCE.md, "Levers
 * tried"). The writer, which writes every span and runs every
 * /track-request, keeps this window instead: the newest span_id_window / 2
 * to span_id_window (workspace, span id) pairs, each with its trace's row
 * id. A hit is only a candidate (the writer checks the span is still there,
 * in that workspace, before attaching); a miss leaves the log pending until
 * the span is written again (ARCHITECTURE.md, "Request logs").
 *
 * Two generations of open-addressed 64-bit hashes: puts go to the current
 * one; when it holds span_id_window / 2 pairs it becomes the previous one
 * and the old previous one is dropped. O(1) per put and per lookup, 32 bytes
 * per pair at most. Writer thread only: no locking. */
#ifndef TS_STORE_SPANWIN_H
#define TS_STORE_SPANWIN_H

#include <stddef.h>
#include <stdint.h>

typedef struct ts_spanwin ts_spanwin;

/* A window of `window` pairs (0: an empty window that finds nothing).
 * NULL on OOM. */
ts_spanwin *ts_spanwin_new(size_t window);
void ts_spanwin_free(ts_spanwin *w); /* NULL-safe */

/* Records that span span_id of workspace ws_id is in trace row trow
 * (replacing an older pair for the same span id). When keep is set an
 * existing pair is kept instead (filling the window newest first).
 * TS_OK or TS_ENOMEM (the window then misses that span). */
int ts_spanwin_put(ts_spanwin *w, int64_t ws_id, const char *span_id, int64_t trow, int keep);

/* The trace row of the newest pair for (ws_id, span_id), 0 when none. */
int64_t ts_spanwin_get(const ts_spanwin *w, int64_t ws_id, const char *span_id);

/* Pairs the current generation can take before it turns over. */
size_t ts_spanwin_room(const ts_spanwin *w);

#endif
