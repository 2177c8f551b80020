/* jtape.c: see jtape.h. A recursive-descent reader (the depth is bounded by
 * max_json_depth before each descent) that appends one token per value and
 * per object key; string bytes are checked by the JSON guard's scanner. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json_guard.h"
#include "codec/jtape.h"
#include "tracestore/ids.h"
#include "tracestore/timeutil.h"

#define BIGINT_DIGITS 15 /* as json_guard.c: longer plain integers become strings */

typedef struct parser {
    const char *s;
    size_t len, i;
    ts_jtape *tp;
    size_t max_str;
    int max_depth, depth;
    size_t loose; /* whitespace bytes and long integers met so far */
    ts_err *err;
} parser;

static int bad(parser *p, const char *what)
{
    ts_err_set(p->err, TS_EINVAL, "invalid JSON body at byte %zu: %s", p->i, what);
    ts_err_type(p->err, "json_invalid");
    return TS_EINVAL;
}

static int too_long(parser *p)
{
    ts_err_set(p->err, TS_EINVAL, "a string is longer than max_string_bytes (%zu)", p->max_str);
    ts_err_type(p->err, "string_too_long");
    return TS_EINVAL;
}

static int push(parser *p, int type, ts_jt_ix *ix)
{
    ts_jtape *tp = p->tp;
    if (tp->n == tp->cap) {
        size_t cap = tp->cap ? tp->cap * 2 : 64 + p->len / 16;
        ts_jt *t = cap < TS_JT_NONE ? realloc(tp->t, cap * sizeof(*t)) : NULL;
        if (!t)
            return ts_err_set(p->err, TS_ENOMEM, "out of memory");
        tp->t = t;
        tp->cap = cap;
    }
    *ix = (ts_jt_ix)tp->n++;
    tp->t[*ix] = (ts_jt){.off = (uint32_t)p->i, .type = (uint8_t)type};
    return TS_OK;
}

/* Closes token ix at the current position. */
static ts_jt *finish(parser *p, ts_jt_ix ix)
{
    ts_jt *t = &p->tp->t[ix];
    t->len = (uint32_t)(p->i - t->off);
    t->end = (uint32_t)p->tp->n;
    return t;
}

static void skip_ws(parser *p)
{
    size_t i0 = p->i;
    while (p->i < p->len &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\n' || p->s[p->i] == '\r' || p->s[p->i] == '\t'))
        p->i++;
    p->loose += p->i - i0;
}

/* Four hex digits the scanner has already checked. */
static unsigned long hex4(const char *s)
{
    unsigned long v = 0;
    for (int k = 0; k < 4; k++)
        v = v * 16 + (unsigned long)ts_hex_digit(s[k]);
    return v;
}

static size_t put_utf8(char *o, unsigned long u)
{
    size_t n = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;
    if (o) {
        static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
        for (size_t k = n - 1; k > 0; k--) {
            o[k] = (char)(0x80 | (u & 0x3f));
            u >>= 6;
        }
        o[0] = (char)(lead[n] | u);
    }
    return n;
}

/* Decodes the string body s[0, n) (checked by ts_json_scan_string) into
 * out, or only measures it when out is NULL; returns the decoded length. */
static size_t unescape(const char *s, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        const char *bs = memchr(s + i, '\\', n - i);
        size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
        if (out)
            memcpy(out + o, s + i, run);
        o += run;
        i += run;
        if (i >= n)
            break;
        char e = s[i + 1];
        if (e != 'u') {
            if (out)
                out[o] = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                         : e == 't' ? '\t' : e;
            o++;
            i += 2;
            continue;
        }
        unsigned long u = hex4(s + i + 2);
        i += 6;
        if (u >= 0xd800 && u <= 0xdbff) {
            u = 0x10000 + ((u - 0xd800) << 10) + (hex4(s + i + 2) - 0xdc00);
            i += 6;
        }
        o += put_utf8(out ? out + o : NULL, u);
    }
    return o;
}

static int string(parser *p, ts_jt_ix *ix)
{
    int esc = 0, rc;
    if ((rc = push(p, TS_JT_STRING, ix)) != TS_OK)
        return rc;
    size_t end = ts_json_scan_string(p->s, p->len, p->i + 1, &esc, p->err);
    if (end == 0)
        return TS_EINVAL;
    size_t written = end - p->i - 2;
    /* The decoded length is at most the written one. */
    if (written > p->max_str && (!esc || unescape(p->s + p->i + 1, written, NULL) > p->max_str))
        return too_long(p);
    p->i = end;
    finish(p, *ix)->flags = esc ? TS_JT_F_ESC : 0;
    return TS_OK;
}

static int number(parser *p)
{
    const char *s = p->s;
    size_t j = p->i, d0, len = p->len;
    int plain = 1, rc;
    ts_jt_ix ix;
    if (s[j] == '-')
        j++;
    d0 = j;
    if (j < len && s[j] == '0')
        j++;
    else if (j < len && s[j] >= '1' && s[j] <= '9')
        while (j < len && s[j] >= '0' && s[j] <= '9')
            j++;
    else
        return bad(p, "invalid number");
    size_t digits = j - d0;
    if (j < len && s[j] == '.') {
        size_t f = ++j;
        while (j < len && s[j] >= '0' && s[j] <= '9')
            j++;
        if (j == f)
            return bad(p, "invalid number");
        plain = 0;
    }
    if (j < len && (s[j] == 'e' || s[j] == 'E')) {
        j++;
        if (j < len && (s[j] == '+' || s[j] == '-'))
            j++;
        size_t f = j;
        while (j < len && s[j] >= '0' && s[j] <= '9')
            j++;
        if (j == f)
            return bad(p, "invalid number");
        plain = 0;
    }
    int big = plain && digits > BIGINT_DIGITS;
    if (big && j - p->i > p->max_str)
        return too_long(p);
    if ((rc = push(p, big ? TS_JT_STRING : TS_JT_NUMBER, &ix)) != TS_OK)
        return rc;
    p->i = j;
    p->loose += (size_t)big;
    finish(p, ix)->flags = big ? TS_JT_F_BIG : 0;
    return TS_OK;
}

static int literal(parser *p, const char *word, int type)
{
    size_t n = strlen(word);
    ts_jt_ix ix;
    int rc;
    if (p->len - p->i < n || memcmp(p->s + p->i, word, n) != 0)
        return bad(p, "unexpected character");
    if ((rc = push(p, type, &ix)) != TS_OK)
        return rc;
    p->i += n;
    finish(p, ix);
    return TS_OK;
}

static int value(parser *p);

static int container(parser *p, int obj)
{
    char close = obj ? '}' : ']';
    size_t loose0 = p->loose;
    uint32_t count = 0;
    ts_jt_ix ix, key;
    int rc;

    if (++p->depth > p->max_depth) {
        ts_err_set(p->err, TS_EINVAL, "JSON nesting deeper than max_json_depth (%d)",
                   p->max_depth);
        ts_err_type(p->err, "json_invalid");
        return TS_EINVAL;
    }
    if ((rc = push(p, obj ? TS_JT_OBJECT : TS_JT_ARRAY, &ix)) != TS_OK)
        return rc;
    p->i++;
    skip_ws(p);
    if (p->i < p->len && p->s[p->i] == close) {
        p->i++;
    } else {
        for (;;) {
            if (obj) {
                skip_ws(p);
                if (p->i >= p->len || p->s[p->i] != '"')
                    return bad(p, "expected a string key");
                if ((rc = string(p, &key)) != TS_OK)
                    return rc;
                skip_ws(p);
                if (p->i >= p->len || p->s[p->i] != ':')
                    return bad(p, "expected ':' after a key");
                p->i++;
            }
            if ((rc = value(p)) != TS_OK)
                return rc;
            count++;
            skip_ws(p);
            if (p->i < p->len && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->i < p->len && p->s[p->i] == close) {
                p->i++;
                break;
            }
            return bad(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    p->depth--;
    ts_jt *t = finish(p, ix);
    t->count = count;
    if (p->loose != loose0)
        t->flags |= TS_JT_F_LOOSE;
    return TS_OK;
}

static int value(parser *p)
{
    ts_jt_ix ix;
    skip_ws(p);
    if (p->i >= p->len)
        return bad(p, "unexpected end of body");
    unsigned char c = (unsigned char)p->s[p->i];
    switch (c) {
    case '{':
    case '[':
        return container(p, c == '{');
    case '"':
        return string(p, &ix);
    case 't':
        return literal(p, "true", TS_JT_TRUE);
    case 'f':
        return literal(p, "false", TS_JT_FALSE);
    case 'n':
        return literal(p, "null", TS_JT_NULL);
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return number(p);
        return bad(p, c == 0 ? "NUL byte" : c >= 0x80 ? "non-ASCII byte outside a string"
                                                      : "unexpected character");
    }
}

int ts_jtape_parse(const char *body, size_t len, const ts_config *cfg, ts_jtape *tp, ts_err *err)
{
    parser p = {body, len, 0, tp, (size_t)cfg->max_string_bytes, (int)cfg->max_json_depth, 0, 0,
                err};
    int rc;

    memset(tp, 0, sizeof(*tp));
    tp->text = body;
    tp->len = len;
    if (len >= TS_JT_NONE)
        return ts_err_set(err, TS_ETOOBIG, "a JSON body of %zu bytes is too large", len);
    if ((rc = value(&p)) != TS_OK)
        return rc;
    skip_ws(&p);
    if (p.i != len) {
        ts_err_set(err, TS_EINVAL, "invalid JSON body: trailing data at byte %zu", p.i);
        ts_err_type(err, "json_invalid");
        return TS_EINVAL;
    }
    return TS_OK;
}

void ts_jtape_free(ts_jtape *tp)
{
    free(tp->t);
    memset(tp, 0, sizeof(*tp));
}

int ts_jt_type(const ts_jtape *tp, ts_jt_ix i)
{
    return i < tp->n ? tp->t[i].type : TS_JT_ABSENT;
}

int ts_jt_nullish(const ts_jtape *tp, ts_jt_ix i)
{
    int t = ts_jt_type(tp, i);
    return t == TS_JT_ABSENT || t == TS_JT_NULL;
}

size_t ts_jt_count(const ts_jtape *tp, ts_jt_ix i)
{
    int t = ts_jt_type(tp, i);
    return t == TS_JT_OBJECT || t == TS_JT_ARRAY ? tp->t[i].count : 0;
}

ts_jt_ix ts_jt_first(const ts_jtape *tp, ts_jt_ix x)
{
    return ts_jt_count(tp, x) ? x + 1 : TS_JT_NONE;
}

ts_jt_ix ts_jt_next(const ts_jtape *tp, ts_jt_ix x, ts_jt_ix c)
{
    ts_jt_ix n = tp->t[x].type == TS_JT_OBJECT ? tp->t[c + 1].end : tp->t[c].end;
    return n < tp->t[x].end ? n : TS_JT_NONE;
}

/* The text between a plain string token's quotes, or a long integer's digits. */
static const char *raw(const ts_jtape *tp, const ts_jt *t, size_t *n)
{
    if (t->flags & TS_JT_F_BIG) {
        *n = t->len;
        return tp->text + t->off;
    }
    *n = t->len - 2;
    return tp->text + t->off + 1;
}

int ts_jt_str_eq(const ts_jtape *tp, ts_jt_ix i, const char *s)
{
    size_t n, slen = strlen(s);
    if (ts_jt_type(tp, i) != TS_JT_STRING)
        return 0;
    const ts_jt *t = &tp->t[i];
    const char *r = raw(tp, t, &n);
    if (!(t->flags & TS_JT_F_ESC))
        return n == slen && memcmp(r, s, n) == 0;
    if (slen > n)
        return 0; /* decoding never lengthens */
    char *buf = malloc(n + 1);
    int eq = buf && unescape(r, n, buf) == slen && memcmp(buf, s, slen) == 0;
    free(buf);
    return eq;
}

ts_jt_ix ts_jt_get(const ts_jtape *tp, ts_jt_ix obj, const char *key)
{
    size_t klen = strlen(key);
    if (ts_jt_type(tp, obj) != TS_JT_OBJECT)
        return TS_JT_NONE;
    for (ts_jt_ix c = obj + 1; c < tp->t[obj].end; c = tp->t[c + 1].end) {
        const ts_jt *k = &tp->t[c];
        if (k->flags & TS_JT_F_ESC ? ts_jt_str_eq(tp, c, key)
                                   : k->len - 2 == klen &&
                                         memcmp(tp->text + k->off + 1, key, klen) == 0)
            return c + 1;
    }
    return TS_JT_NONE;
}

char *ts_jt_str(const ts_jtape *tp, ts_jt_ix i, ts_arena *a)
{
    size_t n;
    if (ts_jt_type(tp, i) != TS_JT_STRING)
        return NULL;
    const ts_jt *t = &tp->t[i];
    const char *r = raw(tp, t, &n);
    if (!(t->flags & TS_JT_F_ESC))
        return ts_arena_strndup(a, r, n);
    char *out = ts_arena_alloc(a, n + 1);
    if (out)
        out[unescape(r, n, out)] = '\0';
    return out;
}

/* Writes value i without whitespace at o; returns the end. */
static char *emit(const ts_jtape *tp, ts_jt_ix i, char *o)
{
    const ts_jt *t = &tp->t[i];
    int obj = t->type == TS_JT_OBJECT;
    if ((t->type == TS_JT_STRING && t->flags & TS_JT_F_BIG)) {
        *o++ = '"';
        memcpy(o, tp->text + t->off, t->len);
        o += t->len;
        *o++ = '"';
        return o;
    }
    if (!(t->flags & TS_JT_F_LOOSE)) {
        memcpy(o, tp->text + t->off, t->len);
        return o + t->len;
    }
    *o++ = obj ? '{' : '[';
    for (ts_jt_ix c = ts_jt_first(tp, i); c != TS_JT_NONE; c = ts_jt_next(tp, i, c)) {
        if (c != i + 1)
            *o++ = ',';
        o = emit(tp, c, o);
        if (obj) {
            *o++ = ':';
            o = emit(tp, c + 1, o);
        }
    }
    *o++ = obj ? '}' : ']';
    return o;
}

char *ts_jt_json(const ts_jtape *tp, ts_jt_ix i, ts_arena *a)
{
    if (ts_jt_type(tp, i) == TS_JT_ABSENT)
        return NULL;
    /* Whitespace only shrinks; each long integer (16+ bytes) adds 2. */
    size_t len = tp->t[i].len;
    char *out = ts_arena_alloc(a, len + len / 8 + 3);
    if (out)
        *emit(tp, i, out) = '\0';
    return out;
}

int ts_jt_double(const ts_jtape *tp, ts_jt_ix i, double *out)
{
    char buf[64];
    if (ts_jt_type(tp, i) != TS_JT_NUMBER)
        return TS_EINVAL;
    const ts_jt *t = &tp->t[i];
    char *s = t->len < sizeof(buf) ? buf : malloc(t->len + 1);
    if (!s)
        return TS_ENOMEM;
    memcpy(s, tp->text + t->off, t->len);
    s[t->len] = '\0';
    *out = strtod(s, NULL);
    if (s != buf)
        free(s);
    return TS_OK;
}

int ts_jt_i64(const ts_jtape *tp, ts_jt_ix i, int64_t *out)
{
    int type = ts_jt_type(tp, i);
    if (type == TS_JT_NUMBER) {
        double d;
        if (ts_jt_double(tp, i, &d) != TS_OK || !isfinite(d) || d != floor(d) ||
            fabs(d) >= 9007199254740992.0)
            return TS_EINVAL;
        *out = (int64_t)d;
        return TS_OK;
    }
    if (type != TS_JT_STRING)
        return TS_EINVAL;
    const ts_jt *t = &tp->t[i];
    size_t n;
    const char *r = raw(tp, t, &n);
    char buf[64];
    if (t->flags & TS_JT_F_ESC) {
        if (n >= sizeof(buf))
            return TS_EINVAL; /* no int64 is that long */
        n = unescape(r, n, buf);
        r = buf;
    }
    int neg = n > 0 && r[0] == '-';
    int64_t v;
    if (ts_time_parse_ns(r + neg, n - (size_t)neg, &v) != TS_OK)
        return TS_EINVAL;
    *out = neg ? -v : v;
    return TS_OK;
}
