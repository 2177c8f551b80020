/* utf8.h: cutting text without splitting a character. Every place that
 * shortens text which can reach a response (a vendor's length cap, a
 * bounded error message, a "%.Ns" echo of client input) goes through these,
 * so a cut lands on a character boundary and the response stays UTF-8. */
#ifndef TS_UTF8_H
#define TS_UTF8_H

#include <stddef.h>

/* Length of the longest prefix of s (n bytes, valid UTF-8) that is at most
 * max bytes and ends on a character boundary: n when n <= max. */
size_t ts_utf8_cut(const char *s, size_t n, size_t max);
/* Bytes taken by the first max_chars characters of s (n bytes, valid
 * UTF-8): n when s has no more characters than that. */
size_t ts_utf8_chars(const char *s, size_t n, size_t max_chars);
/* Length of the longest prefix of the NUL-terminated s that is at most max
 * bytes and valid UTF-8 (RFC 3629: no overlongs, no surrogates). For
 * echoing client text of unknown encoding (a header, a query argument) as
 * "%.*s", (int)ts_utf8_prefix(s, N), s. */
size_t ts_utf8_prefix(const char *s, size_t max);
/* Makes the NUL-terminated s valid UTF-8 in place: a sequence cut off at
 * the end (a truncation) is dropped, any other invalid byte becomes '?'. */
void ts_utf8_repair(char *s);

#endif
