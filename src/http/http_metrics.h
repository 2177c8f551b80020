/* http_metrics.h: what the HTTP layer counts for GET /metrics: requests by
 * route pattern, method and status class, their durations by route
 * pattern, and the outcome of the writes they carried (spans accepted and
 * rejected, traces closed and deleted). Every label comes from a fixed set
 * (the routing table, eight method names, five status classes): no trace
 * id, workspace or raw path ever becomes a label. Process-wide, never per
 * workspace. Counting is lock-free (relaxed atomics). */
#ifndef TS_HTTP_METRICS_H
#define TS_HTTP_METRICS_H

#include "http/server.h"
#include "tracestore/metrics.h"

typedef struct ts_http_metrics ts_http_metrics;

/* routes: the NULL-terminated table the server routes with (borrowed, must
 * outlive the result). NULL when out of memory. */
ts_http_metrics *ts_http_metrics_new(const ts_route *routes);
void ts_http_metrics_free(ts_http_metrics *m);

/* Counts r, whose response (r->status) is being queued: its route, method,
 * status class and time since its headers arrived; and, when wrote is set
 * (its write went through the store), the write's outcome. Thread-safe. */
void ts_http_metrics_count(ts_http_metrics *m, const ts_req *r, int wrote, int64_t dur_ns);

/* Appends every family to p (the exposition text). */
void ts_http_metrics_render(const ts_http_metrics *m, ts_prom *p);

#endif
