/* json_util.h: helpers shared by the JSON codecs (cJSON stays inside
 * src/codec and src/api). */
#ifndef TS_JSON_UTIL_H
#define TS_JSON_UTIL_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/err.h"

/* Guard + parse: body -> cJSON tree (caller frees with cJSON_Delete).
 * TS_EINVAL with err naming the problem ("json_invalid"). */
int ts_json_parse(const char *body, size_t len, const ts_config *cfg, ts_arena *a, cJSON **out,
                  ts_err *err);
/* Every string and key in the tree is at most max bytes, else TS_EINVAL
 * ("string_too_long", loc left for the caller). */
int ts_json_check_strings(const cJSON *node, size_t max, ts_err *err);
/* Installs cJSON allocation hooks that allocate from the calling thread's
 * current request arena (ts_arena_current) when there is one, and from
 * the heap otherwise; every block is tagged so cJSON_free/cJSON_Delete
 * work on both. Call once, before any thread uses cJSON. */
void ts_json_init(void);
/* Unformatted JSON text of node, in a (no copy when it was printed there). */
char *ts_json_print(const cJSON *node, ts_arena *a);
/* Unformatted JSON text of node in a plain malloc() block the caller
 * releases with free() (for response bodies). NULL on OOM. */
char *ts_json_print_malloc(const cJSON *node);
/* An exact int64 from a JSON integer (|v| < 2^53) or a decimal string. */
int ts_json_i64(const cJSON *item, int64_t *out);
/* Returns the string value copied into a, or NULL if item is not a string. */
char *ts_json_str(const cJSON *item, ts_arena *a);
/* Text of a JSON value meant as free text: strings as is, anything else
 * (objects, arrays, numbers) as compact JSON; NULL for null/absent. */
char *ts_json_text(const cJSON *item, ts_arena *a);

#endif
