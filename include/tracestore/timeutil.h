/* timeutil.h: exact time parsing and formatting. Times are int64
 * nanoseconds since the Unix epoch throughout tracestore. Nothing here goes
 * through a double. */
#ifndef TS_TIMEUTIL_H
#define TS_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock now, in ns. */
int64_t ts_now_ns(void);

/* Parses a decimal string of nanoseconds (optional leading '+', digits
 * only, no sign, no spaces) into *out. TS_EINVAL on anything else or on
 * overflow of int64. len is the string length. */
int ts_time_parse_ns(const char *s, size_t len, int64_t *out);

/* Parses ISO 8601 / RFC 3339: YYYY-MM-DD, optional [T ]HH:MM[:SS[.frac]],
 * then Z, +HH:MM, -HH:MM, +HHMM or nothing (= UTC). Up to 9 fraction
 * digits are kept, more are truncated. TS_EINVAL when malformed. */
int ts_time_parse_iso(const char *s, int64_t *out_ns);

/* Formats ns as RFC 3339 UTC with Z: "2024-01-15T10:30:00Z", with the
 * fraction trimmed to 3, 6 or 9 digits when it is not zero. buf needs 40
 * bytes. Returns buf. */
#define TS_ISO_BUFSZ 40
char *ts_time_format_iso(int64_t ns, char buf[TS_ISO_BUFSZ]);

/* (end_ns - start_ns) in whole milliseconds, truncated toward zero, exact
 * for any two int64 times (the plain difference can overflow: 1677 to 2262
 * is more than INT64_MAX ns). */
int64_t ts_time_diff_ms(int64_t start_ns, int64_t end_ns);

#endif
