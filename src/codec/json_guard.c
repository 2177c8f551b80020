/* json_guard.c: a single-pass scanner over JSON text; see json_guard.h. It
 * does not validate grammar (cJSON does); it validates bytes, depth and
 * strings, and finds integer tokens longer than 15 digits. */
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "codec/json_guard.h"
#include "tracestore/ids.h"

#define BIGINT_DIGITS 15

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (n >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && p[1] < 0xa0)
            return 0; /* overlong */
        if (c == 0xed && p[1] >= 0xa0)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && p[1] < 0x90)
            return 0;
        if (c == 0xf4 && p[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

/* The first byte of p[i, n) that is NUL or >= 0x80, or n; 16 bytes at a
 * time where SSE2 is there. */
static size_t ascii_run(const unsigned char *p, size_t n, size_t i)
{
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        unsigned bits =
            (unsigned)(_mm_movemask_epi8(v) | _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)));
        if (bits)
            return i + (size_t)__builtin_ctz(bits);
    }
#endif
    while (i < n && p[i] && p[i] < 0x80)
        i++;
    return i;
}

int ts_utf8_valid(const char *s, size_t n)
{
    const unsigned char *b = (const unsigned char *)s;
    for (size_t i = ascii_run(b, n, 0); i < n; i = ascii_run(b, n, i)) {
        size_t k = b[i] ? utf8_len(b + i, n - i) : 0;
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

static int fail(ts_err *err, size_t at, const char *what)
{
    ts_err_set(err, TS_EINVAL, "invalid JSON body at byte %zu: %s", at, what);
    ts_err_type(err, "json_invalid");
    return TS_EINVAL;
}

/* Whether any of the 8 bytes of v needs a closer look in a string: a
 * control character, a byte >= 0x80, '"' or '\\' (bit tricks from
 * "Bit Twiddling Hacks": a zero byte in x shows in (x - 0x01..) & ~x & 0x80..). */
static int swar_special(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t quote = v ^ (ones * '"'), bslash = v ^ (ones * '\\');
    uint64_t lt20 = (v - ones * 0x20) & ~v;
    uint64_t zq = (quote - ones) & ~quote, zb = (bslash - ones) & ~bslash;
    return ((lt20 | zq | zb | v) & highs) != 0;
}

/* The index of the first byte at or after i that needs a closer look in a
 * string (see swar_special), or of the last few bytes before len. */
static size_t plain_run(const char *s, size_t len, size_t i)
{
#if defined(__SSE2__)
    /* 16 bytes at a time: a signed byte < 0x20 is a control character or a
     * byte >= 0x80. Half the time of the 8-byte loop below on /spans-bulk. */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i sp = _mm_set1_epi8(0x20);
    while (i + 16 <= len) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, sp));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits)
            return i + (size_t)__builtin_ctz(bits);
        i += 16;
    }
#endif
    uint64_t v;
    while (i + 8 <= len && (memcpy(&v, s + i, 8), !swar_special(v)))
        i += 8;
    return i;
}

/* The code unit of the \uXXXX escape at s[i] (s[i] is the backslash), or -1. */
static long utf16_unit(const char *s, size_t len, size_t i)
{
    long v = 0;
    if (i + 6 > len || s[i] != '\\' || s[i + 1] != 'u')
        return -1;
    for (size_t k = i + 2; k < i + 6; k++) {
        int h = ts_hex_digit(s[k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Checks the escape at s[i] (a backslash); returns its length, 0 if bad. */
static size_t scan_escape(const char *s, size_t len, size_t i, ts_err *err)
{
    if (i + 1 >= len) {
        fail(err, len, "unterminated string");
        return 0;
    }
    if (s[i + 1] != 'u') {
        if (!strchr("\"\\/bfnrt", s[i + 1]) || s[i + 1] == '\0') {
            fail(err, i, "invalid escape in string");
            return 0;
        }
        return 2;
    }
    long u = utf16_unit(s, len, i);
    if (u < 0) {
        fail(err, i, "invalid \\u escape");
        return 0;
    }
    if (u == 0) {
        fail(err, i, "NUL character (\\u0000) in string");
        return 0;
    }
    if (u >= 0xdc00 && u <= 0xdfff) {
        fail(err, i, "unpaired UTF-16 surrogate in \\u escape");
        return 0;
    }
    if (u >= 0xd800 && u <= 0xdbff) {
        long lo = utf16_unit(s, len, i + 6);
        if (lo < 0xdc00 || lo > 0xdfff) {
            fail(err, i, "unpaired UTF-16 surrogate in \\u escape");
            return 0;
        }
        return 12;
    }
    return 6;
}

size_t ts_json_scan_string(const char *s, size_t len, size_t i, int *esc, ts_err *err)
{
    while (i < len) {
        /* Fastest path: runs of plain bytes, many at a time (a third of the
         * cost of a single-span request's guard went to this loop byte by
         * byte). */
        i = plain_run(s, len, i);
        if (i >= len)
            break;
        unsigned char c = (unsigned char)s[i];
        /* Fast path: plain printable ASCII, the bulk of any trace payload. */
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c == '"')
            return i + 1;
        if (c < 0x20) {
            fail(err, i, c == 0 ? "NUL byte" : "unescaped control character in string");
            return 0;
        }
        if (c == '\\') {
            size_t n = scan_escape(s, len, i, err);
            if (n == 0)
                return 0;
            *esc = 1;
            i += n;
            continue;
        }
        size_t n = utf8_len((const unsigned char *)s + i, len - i);
        if (n == 0) {
            fail(err, i, "invalid UTF-8");
            return 0;
        }
        i += n;
    }
    fail(err, len, "unterminated string");
    return 0;
}

/* Number token at i: sets *end and whether it is a long plain integer. */
static void scan_number(const char *s, size_t len, size_t i, size_t *end, int *big)
{
    size_t digits = 0;
    int plain = 1;
    if (s[i] == '-')
        i++;
    for (; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            digits++;
        else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')
            plain = 0;
        else
            break;
    }
    *end = i;
    *big = plain && digits > BIGINT_DIGITS;
}

/* Appends in[*from, i) and the long integer in[i, end) as a string to the
 * rewritten copy (allocated on the first one: each adds 2 bytes to at
 * least 16, so len + len / 8 + 2 always suffices). */
static int quote_bigint(const char *in, size_t len, size_t i, size_t end, size_t *from,
                        ts_arena *a, char **buf, size_t *o)
{
    if (!*buf && !(*buf = ts_arena_alloc(a, len + len / 8 + 2)))
        return TS_ENOMEM;
    memcpy(*buf + *o, in + *from, i - *from);
    *o += i - *from;
    (*buf)[(*o)++] = '"';
    memcpy(*buf + *o, in + i, end - i);
    *o += end - i;
    (*buf)[(*o)++] = '"';
    *from = end;
    return TS_OK;
}

int ts_json_guard(const char *in, size_t len, int max_depth, ts_arena *a, const char **out,
                  size_t *outlen, size_t *longest, ts_err *err)
{
    size_t i = 0, from = 0, o = 0, maxs = 0;
    char *buf = NULL;
    int depth = 0;

    /* One pass: validate; the first long integer starts a copy with long
     * integers quoted (a second pass over the whole text cost a third of
     * the guard: OTLP/JSON and /spans-bulk times are 19-digit integers). */
    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        if (c == '"') {
            size_t start = i;
            int esc = 0;
            if (!(i = ts_json_scan_string(in, len, i + 1, &esc, err)))
                return TS_EINVAL;
            if (i - start - 2 > maxs)
                maxs = i - start - 2;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth) {
                ts_err_set(err, TS_EINVAL, "JSON nesting deeper than max_json_depth (%d)",
                           max_depth);
                ts_err_type(err, "json_invalid");
                return TS_EINVAL;
            }
            i++;
        } else if (c == '}' || c == ']') {
            depth--;
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t end;
            int big;
            scan_number(in, len, i, &end, &big);
            if (big && quote_bigint(in, len, i, end, &from, a, &buf, &o) != TS_OK)
                return ts_err_set(err, TS_ENOMEM, "out of memory");
            if (big && end - i > maxs)
                maxs = end - i;
            i = end;
        } else if (c == 0) {
            return fail(err, i, "NUL byte");
        } else if (c >= 0x80) {
            return fail(err, i, "non-ASCII byte outside a string");
        } else {
            i++;
        }
    }
    if (longest)
        *longest = maxs;
    if (!buf) {
        *out = in;
        *outlen = len;
        return TS_OK;
    }
    memcpy(buf + o, in + from, len - from);
    o += len - from;
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    return TS_OK;
}
