/* router.h: matching a request path against the routing table. Patterns
 * are literal paths where "{}" captures one non-empty segment; a trailing
 * slash on either side is ignored. Paths arrive already normalised
 * (no repeated slashes). Pure logic: no I/O, no libmicrohttpd. */
#ifndef TS_HTTP_ROUTER_H
#define TS_HTTP_ROUTER_H

#include <stddef.h>

#include "http/server.h"

/* True when path matches pattern; captured segments are copied into
 * params (arena a, at most TS_MAX_PARAMS) when params is not NULL. */
int ts_router_match(const char *pattern, const char *path, ts_arena *a,
                    char *params[TS_MAX_PARAMS], int *nparams);

/* The route for method + path, or NULL. When a route matches the path but
 * not the method, *same_path is set to it and allow (cap bytes) lists the
 * path's methods ("GET, POST"), for a 405. */
const ts_route *ts_router_find(const ts_route *routes, const char *method, const char *path,
                               ts_arena *a, char *params[TS_MAX_PARAMS], int *nparams,
                               const ts_route **same_path, char *allow, size_t cap);

#endif
