/* jsonw.h: a streaming JSON writer for responses. Appends compact JSON to
 * one growing malloc() buffer (ts_jw of ingest/attr.h, which also does the
 * string escaping) that becomes the response body as is: no tree, no second
 * pass. It places the commas and colons, and prints strings and numbers
 * exactly as cJSON_PrintUnformatted (cJSON 1.7.15) does, so an answer
 * rendered either way is the same bytes. An allocation failure latches:
 * later calls do nothing and ts_jsonw_finish returns NULL. Not thread-safe. */
#ifndef TS_JSONW_H
#define TS_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/attr.h"

typedef struct ts_jsonw {
    ts_jw out;
    int comma; /* the next key or value needs a ',' before it */
} ts_jsonw;

/* Starts an empty writer (allocates nothing yet). */
void ts_jsonw_init(ts_jsonw *w);
/* Returns the text (malloc'd, NUL-terminated; the caller frees it) and its
 * length in *len; NULL on OOM. w is left empty either way. */
char *ts_jsonw_finish(ts_jsonw *w, size_t *len);
/* Copies the text into arena a (NULL on OOM) and empties w, keeping its
 * buffer for the next text. */
char *ts_jsonw_take(ts_jsonw *w, ts_arena *a);
/* Discards what was written. */
void ts_jsonw_free(ts_jsonw *w);

/* Containers. Inside an object, every value follows a ts_jsonw_key. */
void ts_jsonw_obj_begin(ts_jsonw *w);
void ts_jsonw_obj_end(ts_jsonw *w);
void ts_jsonw_arr_begin(ts_jsonw *w);
void ts_jsonw_arr_end(ts_jsonw *w);
void ts_jsonw_key(ts_jsonw *w, const char *key);

/* Values. A NULL string is written as null; bytes >= 0x80 pass through. */
void ts_jsonw_str(ts_jsonw *w, const char *s);
void ts_jsonw_null(ts_jsonw *w);
void ts_jsonw_bool(ts_jsonw *w, int v);
/* As cJSON prints a number: "%1.15g", or "%1.17g" when that does not read
 * back within a relative DBL_EPSILON; NaN and infinities as null. */
void ts_jsonw_double(ts_jsonw *w, double v);
/* v in decimal, every digit (never through a double: token counts and ids
 * of 10^15 and more stay exact integers). */
void ts_jsonw_i64(ts_jsonw *w, int64_t v);
/* Already valid JSON text (len bytes), spliced in verbatim. */
void ts_jsonw_raw(ts_jsonw *w, const char *json, size_t len);

#endif
