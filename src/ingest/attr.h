/* attr.h: typed attribute lists, the neutral form in which every codec
 * hands span attributes (OTLP KeyValue lists, /spans-bulk attribute
 * objects) to the attribute mapping (genai.h), and the one JSON renderer
 * for them, so that stored attributes look the same whatever the wire
 * format. No JSON library: the writer here is self-contained. */
#ifndef TS_INGEST_ATTR_H
#define TS_INGEST_ATTR_H

#include <stddef.h>
#include <stdint.h>

#include "tracestore/arena.h"

typedef enum ts_av_type {
    TS_AV_EMPTY = 0, /* no value (OTLP AnyValue with nothing set): JSON null */
    TS_AV_STR,
    TS_AV_BOOL,
    TS_AV_INT,
    TS_AV_DOUBLE,
    TS_AV_ARRAY,
    TS_AV_KVLIST,
    TS_AV_BYTES, /* s holds the base64 text */
    TS_AV_JSON,  /* s holds JSON text (a nested /spans-bulk value), emitted verbatim */
} ts_av_type;

typedef struct ts_attr ts_attr;

typedef struct ts_attr_value {
    ts_av_type type;
    const char *s;               /* STR, BYTES, JSON: NUL-terminated, valid UTF-8 */
    int64_t i;                   /* INT */
    double d;                    /* DOUBLE */
    int b;                       /* BOOL */
    struct ts_attr_value *items; /* ARRAY */
    size_t nitems;
    ts_attr *kvs; /* KVLIST */
    size_t nkvs;
} ts_attr_value;

struct ts_attr {
    const char *key; /* NUL-terminated, valid UTF-8 */
    ts_attr_value v;
};

/* A growable text buffer (malloc'd; ts_jw_free releases it). */
typedef struct ts_jw {
    char *p;
    size_t len, cap;
    int oom;
} ts_jw;

void ts_jw_reset(ts_jw *w);
void ts_jw_free(ts_jw *w);
void ts_jw_raw(ts_jw *w, const char *s, size_t n);
void ts_jw_str(ts_jw *w, const char *s); /* a JSON string literal, escaped */
void ts_jw_i64(ts_jw *w, int64_t v);     /* number when |v| < 2^53, else decimal string */
void ts_jw_double(ts_jw *w, double d);   /* shortest exact text; NaN/Inf as strings */
void ts_jw_value(ts_jw *w, const ts_attr_value *v);
/* {"k":v,...}; keys in order, duplicates kept as sent. */
void ts_jw_attrs(ts_jw *w, const ts_attr *kv, size_t n);
/* Copies the buffer into a (NUL-terminated). NULL on OOM. */
char *ts_jw_take(ts_jw *w, ts_arena *a);

/* Convenience: the JSON object text of an attribute list, in a. */
char *ts_attrs_to_json(const ts_attr *kv, size_t n, ts_arena *a);

/* Finds the first attribute named key, or NULL. */
const ts_attr *ts_attr_find(const ts_attr *kv, size_t n, const char *key);

#endif
