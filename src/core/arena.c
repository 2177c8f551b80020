/* arena.c: chunked bump allocator for request-scoped memory. Small requests
 * are carved from the current chunk; a request larger than half a chunk gets
 * a block of its own so it neither wastes the rest of the current chunk nor
 * forces the next chunk to be oversized. Everything is freed at once. */
#include "tracestore/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_CHUNK 8192
#define ARENA_MIN_CHUNK 256

typedef struct block {
    struct block *next;
    size_t cap;          /* usable bytes starting at base */
    size_t off;          /* bytes of base already handed out (incl. padding) */
    unsigned char *base; /* first 16-byte aligned byte of mem */
    unsigned char mem[];
} block;

struct ts_arena {
    block *head; /* current chunk first; dedicated blocks follow it */
    size_t chunk;
    size_t used; /* bytes requested by callers so far */
};

ts_arena *ts_arena_new(size_t chunk)
{
    ts_arena *a = calloc(1, sizeof *a);

    if (!a)
        return NULL;
    if (chunk == 0)
        chunk = ARENA_DEFAULT_CHUNK;
    if (chunk < ARENA_MIN_CHUNK)
        chunk = ARENA_MIN_CHUNK;
    a->chunk = chunk;
    return a;
}

void ts_arena_free(ts_arena *a)
{
    block *b, *next;

    if (!a)
        return;
    for (b = a->head; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

/* A block with cap usable bytes, base aligned to ARENA_ALIGN. */
static block *block_new(size_t cap)
{
    block *b;
    uintptr_t p;

    if (cap > SIZE_MAX - sizeof *b - ARENA_ALIGN)
        return NULL;
    b = malloc(sizeof *b + cap + ARENA_ALIGN);
    if (!b)
        return NULL;
    p = (uintptr_t)b->mem;
    p = (p + (ARENA_ALIGN - 1)) & ~(uintptr_t)(ARENA_ALIGN - 1);
    b->base = (unsigned char *)p;
    b->cap = cap;
    b->off = 0;
    b->next = NULL;
    return b;
}

/* Room for n more (already aligned) bytes in the current chunk? */
static int fits(const block *b, size_t n)
{
    return b && b->cap - b->off >= n;
}

void *ts_arena_alloc(ts_arena *a, size_t n)
{
    block *b;
    void *p;
    size_t need;

    if (!a || n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    /* Round up so every block offset stays aligned; 0 bytes still gets a
     * distinct pointer, because NULL means out of memory. */
    need = (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    if (fits(a->head, need)) {
        b = a->head;
    } else if (need > a->chunk / 2) {
        b = block_new(need);
        if (!b)
            return NULL;
        if (a->head) { /* keep the current chunk current */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            a->head = b;
        }
    } else {
        b = block_new(a->chunk);
        if (!b)
            return NULL;
        b->next = a->head;
        a->head = b;
    }
    p = b->base + b->off;
    b->off += need;
    a->used += n;
    return p;
}

void *ts_arena_calloc(ts_arena *a, size_t count, size_t size)
{
    void *p;

    if (size && count > SIZE_MAX / size)
        return NULL;
    p = ts_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *ts_arena_grow(ts_arena *a, void *arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / size)
        return NULL;
    void *na = ts_arena_alloc(a, ncap * size);
    if (!na)
        return NULL;
    if (n)
        memcpy(na, arr, n * size);
    *cap = ncap;
    return na;
}

char *ts_arena_strndup(ts_arena *a, const char *s, size_t n)
{
    char *p;
    size_t len;

    if (!s)
        return NULL;
    len = strnlen(s, n);
    p = ts_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *ts_arena_strdup(ts_arena *a, const char *s)
{
    if (!s)
        return NULL;
    return ts_arena_strndup(a, s, strlen(s));
}

char *ts_arena_printf(ts_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    char *p = NULL;
    int len;

    if (!a || !fmt)
        return NULL;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    len = vsnprintf(NULL, 0, fmt, ap);
    if (len < 0)
        goto out;
    p = ts_arena_alloc(a, (size_t)len + 1);
    if (!p)
        goto out;
    if (vsnprintf(p, (size_t)len + 1, fmt, ap2) != len)
        p = NULL; /* the arena keeps the bytes; they go with it */
out:
    va_end(ap2);
    va_end(ap);
    return p;
}

size_t ts_arena_used(const ts_arena *a)
{
    return a ? a->used : 0;
}

static _Thread_local ts_arena *current;

void ts_arena_set_current(ts_arena *a)
{
    current = a;
}

ts_arena *ts_arena_current(void)
{
    return current;
}
