/* ratelimit.h: per-key token buckets for rate_limit_per_key (requests per
 * second, a burst of one second's worth). Thread-safe; no HTTP in it. */
#ifndef TS_HTTP_RATELIMIT_H
#define TS_HTTP_RATELIMIT_H

#include <stdint.h>

typedef struct ts_ratelimit ts_ratelimit;

/* rate > 0 requests per second and key. NULL on OOM. */
ts_ratelimit *ts_ratelimit_new(double rate);
void ts_ratelimit_free(ts_ratelimit *rl); /* NULL-safe */
/* Takes one token of key_id's bucket at time now_ns: 0 when allowed, else
 * the whole seconds to wait (>= 1), for Retry-After. rl NULL: always 0. */
int ts_ratelimit_take(ts_ratelimit *rl, int64_t key_id, int64_t now_ns);

#endif
