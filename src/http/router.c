/* router.c: see router.h. A linear scan of the routing table: a few dozen
 * routes, matched in well under a microsecond. */
#include <stdio.h>
#include <string.h>

#include "http/router.h"

int ts_router_match(const char *pattern, const char *path, ts_arena *a,
                    char *params[TS_MAX_PARAMS], int *nparams)
{
    size_t pl = strlen(pattern), sl = strlen(path), i = 0, j = 0;
    int np = 0;
    if (pl > 1 && pattern[pl - 1] == '/')
        pl--;
    if (sl > 1 && path[sl - 1] == '/')
        sl--;
    while (i < pl && j < sl) {
        if (pattern[i] == '{' && i + 1 < pl && pattern[i + 1] == '}') {
            size_t k = j;
            while (k < sl && path[k] != '/')
                k++;
            if (k == j || np >= TS_MAX_PARAMS)
                return 0;
            if (params && !(params[np] = ts_arena_strndup(a, path + j, k - j)))
                return 0;
            np++;
            j = k;
            i += 2;
            continue;
        }
        if (pattern[i] != path[j])
            return 0;
        i++;
        j++;
    }
    if (i != pl || j != sl)
        return 0;
    if (nparams)
        *nparams = np;
    return 1;
}

const ts_route *ts_router_find(const ts_route *routes, const char *method, const char *path,
                               ts_arena *a, char *params[TS_MAX_PARAMS], int *nparams,
                               const ts_route **same_path, char *allow, size_t cap)
{
    size_t n = 0;
    *same_path = NULL;
    if (cap)
        allow[0] = '\0';
    for (const ts_route *rt = routes; rt->method; rt++) {
        if (!ts_router_match(rt->pattern, path, NULL, NULL, NULL))
            continue;
        if (strcmp(rt->method, method) == 0)
            return ts_router_match(rt->pattern, path, a, params, nparams) ? rt : NULL;
        if (!*same_path)
            *same_path = rt;
        if (n + strlen(rt->method) + 3 < cap)
            n += (size_t)snprintf(allow + n, cap - n, "%s%s", n ? ", " : "", rt->method);
    }
    return NULL;
}
