/* spanctx.c: see spanctx.h. */
#include <stdlib.h>
#include <string.h>

#include "store/spanctx.h"
#include "tracestore/ids.h"

typedef struct entry {
    int64_t trow; /* 0: empty */
    int64_t idx;
    char *resource;
    char *scope; /* NULL: the span has none */
} entry;

struct ts_spanctx {
    size_t mask;
    entry *e;
};

ts_spanctx *ts_spanctx_new(size_t slots)
{
    ts_spanctx *c = calloc(1, sizeof(*c));
    size_t n = 1;
    while (n < slots)
        n *= 2;
    if (!c || !(c->e = calloc(n, sizeof(*c->e)))) {
        free(c);
        return NULL;
    }
    c->mask = n - 1;
    return c;
}

static void entry_clear(entry *e)
{
    free(e->resource);
    free(e->scope);
    memset(e, 0, sizeof(*e));
}

void ts_spanctx_clear(ts_spanctx *c)
{
    for (size_t i = 0; c && i <= c->mask; i++)
        entry_clear(&c->e[i]);
}

void ts_spanctx_free(ts_spanctx *c)
{
    if (!c)
        return;
    ts_spanctx_clear(c);
    free(c->e);
    free(c);
}

static entry *slot(const ts_spanctx *c, int64_t trow, const char *resource, const char *scope)
{
    uint64_t h = ts_str_hash(resource) * 31 + (scope ? ts_str_hash(scope) : 0);
    h ^= (uint64_t)trow * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    return &c->e[h & c->mask];
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

int64_t ts_spanctx_get(const ts_spanctx *c, int64_t trow, const char *resource, const char *scope)
{
    if (!c)
        return 0;
    const entry *e = slot(c, trow, resource, scope);
    return e->trow == trow && same(e->resource, resource) && same(e->scope, scope) ? e->idx : 0;
}

void ts_spanctx_put(ts_spanctx *c, int64_t trow, const char *resource, const char *scope,
                    int64_t idx)
{
    if (!c)
        return;
    entry *e = slot(c, trow, resource, scope);
    entry_clear(e);
    e->resource = strdup(resource);
    e->scope = scope ? strdup(scope) : NULL;
    if (!e->resource || (scope && !e->scope)) {
        entry_clear(e);
        return;
    }
    e->trow = trow;
    e->idx = idx;
}

void ts_spanctx_drop(ts_spanctx *c, int64_t trow)
{
    for (size_t i = 0; c && i <= c->mask; i++)
        if (c->e[i].trow == trow)
            entry_clear(&c->e[i]);
}
