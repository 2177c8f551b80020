/* jtape.h: a JSON body read in one pass into a flat tape of tokens that
 * point into the body's bytes (the idea of simdjson's tape, in plain C).
 * It does the JSON guard's checks (UTF-8, control bytes, \u0000, escapes,
 * nesting depth, max_string_bytes) and the grammar in the same pass, and
 * builds no tree: a decoder looks fields up on the tape, decodes only the
 * strings it keeps, and copies free-form parts (attributes, resource, a
 * log body) as the text that arrived, without its whitespace, instead of
 * printing a parsed tree back. Integers longer than 15 digits come out as
 * strings of their digits, as ts_json_parse gives them (json_guard.h).
 *
 * Tokens are in document order; a container's token is followed by its
 * contents (an object's as key, value, key, value...), and every token
 * knows the index just past its last descendant, so skipping a value costs
 * nothing. Used by /spans-bulk (codec/spans_bulk.c). */
#ifndef TS_CODEC_JTAPE_H
#define TS_CODEC_JTAPE_H

#include <stddef.h>
#include <stdint.h>

#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"

enum {
    TS_JT_ABSENT, /* not there: a missing key, or an index past the end */
    TS_JT_NULL,
    TS_JT_FALSE,
    TS_JT_TRUE,
    TS_JT_NUMBER,
    TS_JT_STRING, /* including integers longer than 15 digits */
    TS_JT_ARRAY,
    TS_JT_OBJECT
};

/* A token's index on the tape; TS_JT_NONE for "not there". */
typedef uint32_t ts_jt_ix;
#define TS_JT_NONE UINT32_MAX

typedef struct ts_jt {
    uint32_t off, len; /* its text in the body (strings with their quotes) */
    uint32_t end;      /* index just past its last descendant */
    uint32_t count;    /* arrays: elements; objects: members */
    uint8_t type;
    uint8_t flags;     /* TS_JT_F_* */
} ts_jt;

#define TS_JT_F_ESC 1u   /* a string with an escape in it */
#define TS_JT_F_BIG 2u   /* an integer longer than 15 digits (type STRING) */
#define TS_JT_F_LOOSE 4u /* a container whose text has whitespace or a long integer */

typedef struct ts_jtape {
    const char *text;
    size_t len;
    ts_jt *t; /* malloc'd; t[0] is the root */
    size_t n, cap;
} ts_jtape;

/* Reads body into *tp. TS_OK, or TS_EINVAL with err naming the problem and
 * its byte (type "json_invalid", or "string_too_long" for a string over
 * max_string_bytes), or TS_ENOMEM. The body must outlive the tape. Free
 * with ts_jtape_free in every case. */
int ts_jtape_parse(const char *body, size_t len, const ts_config *cfg, ts_jtape *tp, ts_err *err);
void ts_jtape_free(ts_jtape *tp);

/* The type of token i (TS_JT_ABSENT for TS_JT_NONE). */
int ts_jt_type(const ts_jtape *tp, ts_jt_ix i);
/* Absent or JSON null. */
int ts_jt_nullish(const ts_jtape *tp, ts_jt_ix i);
/* Member count of an object, element count of an array, else 0. */
size_t ts_jt_count(const ts_jtape *tp, ts_jt_ix i);
/* The value of the first member named key in object obj (as cJSON's
 * GetObjectItemCaseSensitive), TS_JT_NONE if obj is not an object or has
 * no such member. */
ts_jt_ix ts_jt_get(const ts_jtape *tp, ts_jt_ix obj, const char *key);

/* Iteration over an array's elements or an object's members:
 *   for (ts_jt_ix c = ts_jt_first(tp, x); c != TS_JT_NONE; c = ts_jt_next(tp, x, c))
 * For objects c is the member's key and c + 1 its value. */
ts_jt_ix ts_jt_first(const ts_jtape *tp, ts_jt_ix container);
ts_jt_ix ts_jt_next(const ts_jtape *tp, ts_jt_ix container, ts_jt_ix c);

/* The decoded string of a STRING token (or a key), NUL-terminated, in a;
 * NULL for other types or on OOM. */
char *ts_jt_str(const ts_jtape *tp, ts_jt_ix i, ts_arena *a);
/* Whether STRING token i is exactly the string s (decoded). */
int ts_jt_str_eq(const ts_jtape *tp, ts_jt_ix i, const char *s);
/* The value's JSON text in a, as it arrived less its whitespace, long
 * integers as strings. NULL on OOM or for TS_JT_NONE. */
char *ts_jt_json(const ts_jtape *tp, ts_jt_ix i, ts_arena *a);
/* A NUMBER token's value as strtod reads it. TS_EINVAL for other types. */
int ts_jt_double(const ts_jtape *tp, ts_jt_ix i, double *out);
/* As ts_json_i64 (json_util.h): an integral number below 2^53, or a
 * string of decimal digits with an optional sign. */
int ts_jt_i64(const ts_jtape *tp, ts_jt_ix i, int64_t *out);

#endif
