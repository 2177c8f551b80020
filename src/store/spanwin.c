/* spanwin.c: see spanwin.h. */
#include <stdlib.h>
#include <string.h>

#include "store/spanwin.h"
#include "tracestore/err.h"
#include "tracestore/ids.h"

typedef struct slot {
    uint64_t h; /* 0: empty */
    int64_t trow;
} slot;

typedef struct gen {
    slot *s; /* NULL until the first put */
    size_t n;
} gen;

struct ts_spanwin {
    size_t half; /* pairs per generation */
    size_t mask; /* slots per generation - 1 (at least twice half: load <= 0.5) */
    gen cur, prev;
};

ts_spanwin *ts_spanwin_new(size_t window)
{
    ts_spanwin *w = calloc(1, sizeof(*w));
    size_t slots = 2;
    if (!w)
        return NULL;
    w->half = window / 2;
    while (slots < 2 * w->half)
        slots *= 2;
    w->mask = slots - 1;
    return w;
}

void ts_spanwin_free(ts_spanwin *w)
{
    if (!w)
        return;
    free(w->cur.s);
    free(w->prev.s);
    free(w);
}

static uint64_t key(int64_t ws_id, const char *span_id)
{
    uint64_t h = ts_str_hash(span_id) ^ ((uint64_t)ws_id * 0x9e3779b97f4a7c15ull);
    h ^= h >> 29; /* spread the workspace's bits into the low ones */
    return h ? h : 1;
}

/* The slot holding h in g, or the empty slot where it would go. */
static slot *find(const ts_spanwin *w, const gen *g, uint64_t h)
{
    for (size_t i = h & w->mask;; i = (i + 1) & w->mask)
        if (g->s[i].h == h || g->s[i].h == 0)
            return &g->s[i];
}

int ts_spanwin_put(ts_spanwin *w, int64_t ws_id, const char *span_id, int64_t trow, int keep)
{
    uint64_t h = key(ws_id, span_id);
    if (!w || w->half == 0)
        return TS_OK;
    if (w->cur.n == w->half) {
        free(w->prev.s);
        w->prev = w->cur;
        w->cur = (gen){NULL, 0};
    }
    if (!w->cur.s && !(w->cur.s = calloc(w->mask + 1, sizeof(slot))))
        return TS_ENOMEM;
    slot *s = find(w, &w->cur, h);
    if (s->h == 0) {
        if (keep && w->prev.s && find(w, &w->prev, h)->h == h)
            return TS_OK;
        s->h = h;
        s->trow = trow;
        w->cur.n++;
    } else if (!keep) {
        s->trow = trow;
    }
    return TS_OK;
}

int64_t ts_spanwin_get(const ts_spanwin *w, int64_t ws_id, const char *span_id)
{
    uint64_t h = key(ws_id, span_id);
    if (!w)
        return 0;
    for (const gen *g = &w->cur; g; g = g == &w->cur ? &w->prev : NULL) {
        if (g->s) {
            const slot *s = find(w, g, h);
            if (s->h == h)
                return s->trow;
        }
    }
    return 0;
}

size_t ts_spanwin_room(const ts_spanwin *w)
{
    return w ? w->half - w->cur.n : 0;
}
