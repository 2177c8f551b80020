/* utf8.c: character-boundary cuts and repairs (tracestore/utf8.h). Plain
 * byte arithmetic on RFC 3629 UTF-8; the JSON and protobuf guards in codec/
 * validate what arrives, this keeps what leaves valid after a cut. */
#include "tracestore/utf8.h"

#include <string.h>

static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Length of the valid sequence at p (n bytes left), 0 if invalid or cut. */
static size_t seq_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t k;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (n < k || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if (!is_cont(p[i]))
            return 0;
    return k;
}

size_t ts_utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    /* s[max] is the first byte left out: never leave out the tail of a
     * character whose lead byte is kept */
    while (max > 0 && is_cont((unsigned char)s[max]))
        max--;
    return max;
}

size_t ts_utf8_chars(const char *s, size_t n, size_t max_chars)
{
    size_t i = 0;
    for (size_t c = 0; i < n && c < max_chars; c++) {
        i++;
        while (i < n && is_cont((unsigned char)s[i]))
            i++;
    }
    return i;
}

size_t ts_utf8_prefix(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, max), i = 0;
    while (i < n) {
        size_t k = seq_len(p + i, n - i);
        if (!k)
            break;
        i += k;
    }
    return i;
}

void ts_utf8_repair(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t k = seq_len(p + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        /* a lead byte followed only by continuation bytes, too few of
         * them, right at the end: what a byte-counting cut leaves */
        size_t j = i + 1;
        while (j < n && is_cont(p[j]))
            j++;
        if (j == n && p[i] >= 0xC2 && p[i] <= 0xF4 && n - i < 4) {
            p[i] = '\0';
            return;
        }
        p[i++] = '?';
    }
}
