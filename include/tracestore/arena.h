/* arena.h: request-scoped bump allocator. Everything a request parses or
 * builds is allocated from its arena and released at once when the request
 * completes. Not thread-safe: one arena belongs to one request at a time. */
#ifndef TS_ARENA_H
#define TS_ARENA_H

#include <stddef.h>

typedef struct ts_arena ts_arena;

/* Returns NULL on OOM. chunk is the minimum size of each backing block. */
ts_arena *ts_arena_new(size_t chunk);
void ts_arena_free(ts_arena *a); /* NULL-safe */
/* 16-byte aligned, uninitialised; NULL on OOM. */
void *ts_arena_alloc(ts_arena *a, size_t n);
void *ts_arena_calloc(ts_arena *a, size_t count, size_t size);
/* Copies; strndup copies at most n bytes and NUL-terminates. NULL in -> NULL out. */
char *ts_arena_strdup(ts_arena *a, const char *s);
char *ts_arena_strndup(ts_arena *a, const char *s, size_t n);
char *ts_arena_printf(ts_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Room for one more element in an array of n elements of `size` bytes
 * kept in a: returns arr itself while n < *cap, else a copy of its n
 * elements in twice the room (16 at first), updating *cap. NULL on OOM
 * (arr is untouched). The old copy stays in the arena until it is freed. */
void *ts_arena_grow(ts_arena *a, void *arr, size_t n, size_t *cap, size_t size);
/* Total bytes handed out so far (for limits and tests). */
size_t ts_arena_used(const ts_arena *a);

/* The arena of the request the calling thread is serving right now, or
 * NULL. The HTTP layer sets it around a handler; allocation hooks of
 * libraries (cJSON's, in codec/json_util.c) allocate from it, so a parsed
 * tree needs no frees. Thread-local. */
void ts_arena_set_current(ts_arena *a);
ts_arena *ts_arena_current(void);

#endif
