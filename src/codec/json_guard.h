/* json_guard.h: checks a JSON body before cJSON parses it, closing the
 * gaps cJSON leaves open: invalid UTF-8, raw control bytes and NULs,
 * `\u0000` escapes (cJSON would silently truncate), nesting deeper than the
 * configured limit, and integers too long for a double (rewritten as
 * decimal strings so they survive exactly). */
#ifndef TS_JSON_GUARD_H
#define TS_JSON_GUARD_H

#include <stddef.h>

#include "tracestore/arena.h"
#include "tracestore/err.h"

/* On TS_OK, *out (length *outlen) is the text to hand to cJSON (either in itself or
 * a rewritten copy in a) and *longest (when not NULL) the length of the
 * longest string or long integer as written (escapes count: at least its
 * decoded length). TS_EINVAL with a message naming the problem and
 * err->type "json_invalid" otherwise. */
int ts_json_guard(const char *in, size_t len, int max_depth, ts_arena *a, const char **out,
                  size_t *outlen, size_t *longest, ts_err *err);

/* Scans the JSON string whose opening quote is at s[i - 1]: UTF-8, no raw
 * control bytes, escapes as RFC 8259 has them (\\u with paired
 * surrogates, never \\u0000). Returns the index just past the closing
 * quote and sets *esc when the string holds an escape; 0 with err set
 * (type json_invalid) otherwise. */
size_t ts_json_scan_string(const char *s, size_t len, size_t i, int *esc, ts_err *err);

/* True when s (n bytes) is valid UTF-8 without NUL bytes, by the rules
 * the guard applies inside JSON strings (for the strings of OTLP protobuf
 * bodies, which no JSON text carries). */
int ts_utf8_valid(const char *s, size_t n);

#endif
