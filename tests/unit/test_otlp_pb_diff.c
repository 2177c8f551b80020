/* test_otlp_pb_diff.c: differential tests for ts_otlp_pb_decode
 * (src/codec/otlp_pb.c) against the decoder built on protobuf-c that
 * tests/common/otlp_pb_ref.h keeps as a reference. Requests come from a
 * seeded generator: packed by protobuf-c, hand-encoded with protobuf-c's
 * edge cases (repeated singular fields, merged messages, several oneof
 * arms, unknown fields of every wire type, overlong varints, wrong wire
 * types), mutated, and concatenated; both decoders must give the same
 * status and the same ts_otlp_req, field by field. The merge, oneof and
 * wire-type rules are also pinned one by one with their expected values. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../common/otlp_build.h"
#include "../common/otlp_pb_ref.h"

/* ---- random numbers (xorshift64; every case reproducible from its seed) ---- */

typedef struct gen {
    uint64_t s;
    int odd;     /* percent: each accepted oddity (repeat, merge, padding, unknown field) */
    int bad;     /* per mille: the one rejected oddity of a request (see oops) */
    size_t dups; /* singular message fields sent more than once (merges) */
    ts_arena *a; /* protobuf-c structs of the packed generator */
} gen;

static uint64_t rnd(gen *g)
{
    g->s ^= g->s << 13;
    g->s ^= g->s >> 7;
    g->s ^= g->s << 17;
    return g->s;
}

static size_t below(gen *g, size_t n)
{
    return (size_t)(rnd(g) % n);
}

static int pct(gen *g, int p)
{
    return (int)below(g, 100) < p;
}

static int permille(gen *g, int p)
{
    return (int)below(g, 1000) < p;
}

/* Whether to put a rejected oddity (a wrong wire type, an overlong key, bad
 * UTF-8...) here: with g->bad per mille, and once a request at most, so
 * that it alone decides the outcome and no other one hides it. */
static int oops(gen *g)
{
    if (!g->bad || !permille(g, g->bad))
        return 0;
    g->bad = 0;
    return 1;
}

static void gen_init(gen *g, uint64_t seed, int odd, int bad)
{
    memset(g, 0, sizeof(*g));
    g->s = seed * 0x9E3779B97F4A7C15ull + 1;
    g->odd = odd;
    g->bad = bad;
    g->a = ts_arena_new(16 * 1024);
    ck_assert_ptr_nonnull(g->a);
}

/* Text of up to max bytes: ASCII, some multi-byte UTF-8, and with g->bad
 * rarely a byte that is not UTF-8 or a NUL. */
static size_t text(gen *g, char *buf, size_t max)
{
    static const char *const pieces[] = {
        "a", "b", "z", " ", ".", "\xc3\xa9", "\xe2\x86\x92", "\xf0\x9f\x9a\x80"};
    size_t n = 0, want = below(g, max + 1);
    while (n < want) {
        const char *p = pieces[below(g, sizeof(pieces) / sizeof(pieces[0]))];
        size_t k = strlen(p);
        if (n + k > want)
            break;
        memcpy(buf + n, p, k);
        n += k;
    }
    if (n && oops(g))
        buf[below(g, n)] = pct(g, 50) ? '\0' : '\xff';
    return n;
}

static const char *const keys[] = {"", "k", "service.name", "gen_ai.request.model",
                                   "http.status_code"};

/* ---- hand encoding, one field occurrence per part so they can be reordered ---- */

typedef struct parts {
    pbw *p;
    size_t n, cap;
} parts;

static pbw *part(parts *ps)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap * 2 + 8;
        ps->p = realloc(ps->p, ps->cap * sizeof(*ps->p));
        ck_assert_ptr_nonnull(ps->p);
    }
    memset(&ps->p[ps->n], 0, sizeof(ps->p[0]));
    return &ps->p[ps->n++];
}

/* Appends the parts to out, shuffled now and then, and frees them. */
static void finish(gen *g, parts *ps, pbw *out)
{
    if (ps->n > 1 && pct(g, g->odd))
        for (size_t i = ps->n - 1; i > 0; i--) {
            size_t j = below(g, i + 1);
            pbw t = ps->p[i];
            ps->p[i] = ps->p[j];
            ps->p[j] = t;
        }
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->p[i].len)
            pbw_put(out, ps->p[i].p, ps->p[i].len);
        free(ps->p[i].p);
    }
    free(ps->p);
    memset(ps, 0, sizeof(*ps));
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7)
        n++;
    return n;
}

/* v as a varint with pad redundant continuation bytes. */
static void put_varint(pbw *w, uint64_t v, size_t pad)
{
    unsigned char b[32];
    size_t n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v || pad)
            b[n] |= 0x80;
        n++;
    } while (v);
    while (pad--)
        b[n++] = pad ? 0x80 : 0x00;
    pbw_put(w, b, n);
}

/* Padding for a varint of v that protobuf-c reads up to max bytes long:
 * usually none, with g->odd some within max, with g->bad past it. */
static size_t padding(gen *g, uint64_t v, size_t max)
{
    size_t n = varint_len(v);
    if (n <= max && oops(g))
        return max + 1 - n + below(g, 2);
    if (n < max && pct(g, g->odd / 3))
        return 1 + below(g, max - n);
    return 0;
}

static void put_key(gen *g, pbw *w, unsigned num, unsigned wt)
{
    uint64_t key = (uint64_t)num << 3 | wt;
    put_varint(w, key, padding(g, key, 5));
}

static void put_fixed(pbw *w, uint64_t v, int n)
{
    unsigned char b[8];
    for (int i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    pbw_put(w, b, (size_t)n);
}

static void f_bytes(gen *g, parts *ps, unsigned num, const void *d, size_t n)
{
    pbw *w = part(ps);
    put_key(g, w, num, 2);
    put_varint(w, n, padding(g, n, 5));
    if (n)
        pbw_put(w, d, n);
}

static void f_text(gen *g, parts *ps, unsigned num, size_t max)
{
    char buf[64];
    f_bytes(g, ps, num, buf, text(g, buf, max < sizeof(buf) ? max : sizeof(buf)));
}

/* Appends child (and frees it) as a length-delimited field. */
static void f_msg(gen *g, parts *ps, unsigned num, pbw *child)
{
    f_bytes(g, ps, num, child->p, child->len);
    free(child->p);
    memset(child, 0, sizeof(*child));
}

/* A field of wire type wt (0, 1, 5) holding v; with g->bad now and then of
 * another wire type, which protobuf-c rejects. */
static void f_scalar(gen *g, parts *ps, unsigned num, unsigned wt, uint64_t v)
{
    static const unsigned wts[] = {0, 1, 2, 5};
    if (oops(g))
        wt = wts[below(g, 4)];
    pbw *w = part(ps);
    put_key(g, w, num, wt);
    if (wt == 0)
        put_varint(w, v, padding(g, v, 10));
    else if (wt == 2)
        put_varint(w, 0, 0);
    else
        put_fixed(w, v, wt == 1 ? 8 : 4);
}

/* A bool: usually a varint 0 or 1; with g->odd any wire type and bytes
 * whose high bits are set, as protobuf-c reads any of them. */
static void f_bool(gen *g, parts *ps, unsigned num)
{
    static const unsigned char tenth[] = {0x80, 0x80, 0x80, 0x80, 0x80,
                                          0x80, 0x80, 0x80, 0x80, 0x02};
    static const uint64_t pattern[] = {0, 1, 0x80, 0x8080808080808080ull, 0x100};
    pbw *w = part(ps);
    if (!pct(g, g->odd)) {
        put_key(g, w, num, 0);
        put_varint(w, below(g, 2), 0);
        return;
    }
    unsigned wt = (unsigned[]){0, 1, 5, 2}[below(g, 4)];
    size_t n = below(g, 2);
    put_key(g, w, num, wt);
    if (wt == 0) {
        pbw_put(w, n ? tenth : (const unsigned char *)"\x80\x00", n ? sizeof(tenth) : 2);
    } else if (wt == 2) {
        put_varint(w, n, 0);
        pbw_put(w, "\x00", n);
    } else {
        put_fixed(w, pattern[below(g, 5)], wt == 1 ? 8 : 4);
    }
}

/* An unknown field (its number not in known, 0-terminated) of a wire type
 * protobuf-c skips, or with g->bad one it rejects. */
static void f_unknown(gen *g, parts *ps, const unsigned *known)
{
    static const unsigned nums[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 17, 20, 1000, 536870911};
    unsigned num = nums[below(g, sizeof(nums) / sizeof(nums[0]))];
    for (const unsigned *k = known; *k; k++)
        if (*k == num)
            return;
    unsigned wt = oops(g) ? 3 + (unsigned)below(g, 5) : (unsigned[]){0, 1, 2, 5}[below(g, 4)];
    pbw *w = part(ps);
    put_key(g, w, num, wt);
    if (wt == 0)
        put_varint(w, rnd(g), 0);
    else if (wt == 1 || wt == 5)
        put_fixed(w, rnd(g), wt == 1 ? 8 : 4);
    else if (wt == 2)
        pbw_put(w, "\x02\x08\x01", 3);
}

static void unknowns(gen *g, parts *ps, const unsigned *known)
{
    while (pct(g, g->odd / 2))
        f_unknown(g, ps, known);
}

/* How often a singular field is sent: absent with absent %, else once,
 * with g->odd two or three times. */
static int times(gen *g, int absent)
{
    if (pct(g, absent))
        return 0;
    return pct(g, g->odd) ? 2 + (int)below(g, 2) : 1;
}

static void h_any(gen *g, pbw *out, int depth);
static void h_kv(gen *g, pbw *out, int depth);

static void h_list(gen *g, pbw *out, int depth, int kvs)
{
    parts ps = {0};
    for (size_t i = below(g, 4); i; i--) {
        pbw x = {0};
        if (kvs)
            h_kv(g, &x, depth);
        else
            h_any(g, &x, depth);
        f_msg(g, &ps, 1, &x);
    }
    unknowns(g, &ps, (const unsigned[]){1, 0});
    finish(g, &ps, out);
}

static void h_arm(gen *g, parts *ps, int depth)
{
    unsigned char bytes[12];
    size_t n = below(g, sizeof(bytes) + 1);
    pbw x = {0};
    /* arrays and kvlists while depth lasts, and with g->bad past it */
    unsigned arm = (unsigned)(1 + below(g, depth > 0 || oops(g) ? 7 : 5));
    arm = arm == 5 ? 7 : arm == 7 ? 5 : arm; /* 1-4 and 7 (bytes) when nesting is over */
    switch (arm) {
    case 1:
        f_text(g, ps, 1, 20);
        break;
    case 2:
        f_bool(g, ps, 2);
        break;
    case 3:
        f_scalar(g, ps, 3, 0, rnd(g) >> below(g, 64));
        break;
    case 4:
        f_scalar(g, ps, 4, 1, rnd(g));
        break;
    case 5:
    case 6:
        h_list(g, &x, depth - 1, arm == 6);
        f_msg(g, ps, arm, &x);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            bytes[i] = (unsigned char)rnd(g);
        f_bytes(g, ps, 7, bytes, n);
    }
}

/* AnyValue: no arm, one, or with g->odd several (the last one wins). */
static void h_any(gen *g, pbw *out, int depth)
{
    parts ps = {0};
    int arms = pct(g, 10) ? 0 : pct(g, g->odd) ? 2 + (int)below(g, 2) : 1;
    while (arms--)
        h_arm(g, &ps, depth);
    unknowns(g, &ps, (const unsigned[]){1, 2, 3, 4, 5, 6, 7, 0});
    finish(g, &ps, out);
}

static void h_kv(gen *g, pbw *out, int depth)
{
    parts ps = {0};
    for (int i = times(g, 5); i; i--) {
        const char *key = keys[below(g, 5)];
        f_bytes(g, &ps, 1, key, strlen(key));
    }
    int values = times(g, 5);
    g->dups += values > 1;
    while (values--) {
        pbw x = {0};
        h_any(g, &x, depth);
        f_msg(g, &ps, 2, &x);
    }
    unknowns(g, &ps, (const unsigned[]){1, 2, 0});
    finish(g, &ps, out);
}

static void h_attrs(gen *g, parts *ps, unsigned num, size_t max)
{
    for (size_t i = below(g, max + 1); i; i--) {
        pbw x = {0};
        h_kv(g, &x, 3);
        f_msg(g, ps, num, &x);
    }
}

/* An id: usually 16 or 8 bytes; sometimes empty, odd-sized or too long. */
static void f_id(gen *g, parts *ps, unsigned num, size_t usual)
{
    static const size_t odd_sizes[] = {0, 1, 8, 15, 16, 17, 20, 1001};
    unsigned char b[1001];
    size_t n = pct(g, 85) ? usual : odd_sizes[below(g, 8)];
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)rnd(g);
    f_bytes(g, ps, num, b, n);
}

static void h_status(gen *g, pbw *out)
{
    parts ps = {0};
    for (int i = times(g, 30); i; i--)
        f_text(g, &ps, 2, 10);
    for (int i = times(g, 20); i; i--)
        f_scalar(g, &ps, 3, 0, pct(g, 80) ? below(g, 3) : rnd(g));
    unknowns(g, &ps, (const unsigned[]){2, 3, 0});
    finish(g, &ps, out);
}

static void h_event(gen *g, pbw *out)
{
    parts ps = {0};
    for (int i = times(g, 10); i; i--)
        f_scalar(g, &ps, 1, 1, rnd(g));
    for (int i = times(g, 10); i; i--)
        f_text(g, &ps, 2, 12);
    h_attrs(g, &ps, 3, 3);
    unknowns(g, &ps, (const unsigned[]){1, 2, 3, 0});
    finish(g, &ps, out);
}

static void h_link(gen *g, pbw *out)
{
    parts ps = {0};
    for (int i = times(g, 5); i; i--)
        f_id(g, &ps, 1, 16);
    for (int i = times(g, 5); i; i--)
        f_id(g, &ps, 2, 8);
    for (int i = times(g, 60); i; i--)
        f_text(g, &ps, 3, 12);
    for (int i = times(g, 60); i; i--)
        f_scalar(g, &ps, 6, 5, rnd(g));
    h_attrs(g, &ps, 4, 2);
    unknowns(g, &ps, (const unsigned[]){1, 2, 3, 4, 6, 0});
    finish(g, &ps, out);
}

/* A span's singular scalar and string fields. */
static void h_span_fields(gen *g, parts *ps)
{
    for (int i = times(g, 3); i; i--)
        f_id(g, ps, 1, 16);
    for (int i = times(g, 3); i; i--)
        f_id(g, ps, 2, 8);
    for (int i = times(g, 70); i; i--)
        f_text(g, ps, 3, 16);
    for (int i = times(g, 40); i; i--)
        f_id(g, ps, 4, 8);
    for (int i = times(g, 10); i; i--)
        f_text(g, ps, 5, 24);
    for (int i = times(g, 10); i; i--)
        f_scalar(g, ps, 6, 0, pct(g, 80) ? below(g, 7) : rnd(g));
    for (int i = times(g, 5); i; i--)
        f_scalar(g, ps, 7, 1, rnd(g));
    for (int i = times(g, 5); i; i--)
        f_scalar(g, ps, 8, 1, rnd(g));
    for (int i = times(g, 60); i; i--)
        f_scalar(g, ps, 16, 5, rnd(g));
}

static void h_span(gen *g, pbw *out)
{
    parts ps = {0};
    h_span_fields(g, &ps);
    h_attrs(g, &ps, 9, 6);
    for (size_t i = below(g, 3); i; i--) {
        pbw x = {0};
        h_event(g, &x);
        f_msg(g, &ps, 11, &x);
    }
    for (size_t i = below(g, 3); i; i--) {
        pbw x = {0};
        h_link(g, &x);
        f_msg(g, &ps, 13, &x);
    }
    int status = times(g, 40);
    g->dups += status > 1;
    while (status--) {
        pbw x = {0};
        h_status(g, &x);
        f_msg(g, &ps, 15, &x);
    }
    unknowns(g, &ps, (const unsigned[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15, 16, 0});
    finish(g, &ps, out);
}

static void h_scope(gen *g, pbw *out)
{
    parts ps = {0};
    for (int i = times(g, 20); i; i--)
        f_text(g, &ps, 1, 10);
    for (int i = times(g, 30); i; i--)
        f_text(g, &ps, 2, 6);
    h_attrs(g, &ps, 3, 3);
    unknowns(g, &ps, (const unsigned[]){1, 2, 3, 0});
    finish(g, &ps, out);
}

static void h_resource(gen *g, pbw *out)
{
    parts ps = {0};
    h_attrs(g, &ps, 1, 4);
    unknowns(g, &ps, (const unsigned[]){1, 0});
    finish(g, &ps, out);
}

static void h_sspans(gen *g, pbw *out)
{
    parts ps = {0};
    int scope = times(g, 20);
    g->dups += scope > 1;
    while (scope--) {
        pbw x = {0};
        h_scope(g, &x);
        f_msg(g, &ps, 1, &x);
    }
    for (size_t i = below(g, 5); i; i--) {
        pbw x = {0};
        h_span(g, &x);
        f_msg(g, &ps, 2, &x);
    }
    for (int i = times(g, 50); i; i--)
        f_text(g, &ps, 3, 10);
    unknowns(g, &ps, (const unsigned[]){1, 2, 3, 0});
    finish(g, &ps, out);
}

static void h_rspans(gen *g, pbw *out)
{
    parts ps = {0};
    int resource = times(g, 20);
    g->dups += resource > 1;
    while (resource--) {
        pbw x = {0};
        h_resource(g, &x);
        f_msg(g, &ps, 1, &x);
    }
    for (size_t i = below(g, 4); i; i--) {
        pbw x = {0};
        h_sspans(g, &x);
        f_msg(g, &ps, 2, &x);
    }
    for (int i = times(g, 50); i; i--)
        f_text(g, &ps, 3, 10);
    unknowns(g, &ps, (const unsigned[]){1, 2, 3, 0});
    finish(g, &ps, out);
}

static void h_req(gen *g, pbw *out)
{
    parts ps = {0};
    for (size_t i = below(g, 4); i; i--) {
        pbw x = {0};
        h_rspans(g, &x);
        f_msg(g, &ps, 1, &x);
    }
    unknowns(g, &ps, (const unsigned[]){1, 0});
    finish(g, &ps, out);
}

/* ---- packed by protobuf-c from random structs ---- */

static char *p_text(gen *g, size_t max)
{
    char *s = ts_arena_alloc(g->a, max + 1);
    s[text(g, s, max)] = '\0';
    return s;
}

static ProtobufCBinaryData p_bytes(gen *g, size_t n)
{
    ProtobufCBinaryData b = {n, ts_arena_alloc(g->a, n ? n : 1)};
    for (size_t i = 0; i < n; i++)
        b.data[i] = (uint8_t)rnd(g);
    return b;
}

/* Allocates lhs from the generator's arena and initialises it. */
#define P_NEW(lhs, init) ((lhs) = ts_arena_alloc(g->a, sizeof(*(lhs))), init(lhs))

static Tsotlp__KeyValue **p_kvs(gen *g, size_t n, int depth);

static void p_value(gen *g, Tsotlp__AnyValue *v, int depth)
{
    switch (below(g, depth > 0 ? 8 : 6)) {
    case 0:
        v->value_case = TSOTLP__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = p_text(g, 24);
        break;
    case 1:
        v->value_case = TSOTLP__ANY_VALUE__VALUE_BOOL_VALUE;
        v->bool_value = (protobuf_c_boolean)below(g, 2);
        break;
    case 2:
        v->value_case = TSOTLP__ANY_VALUE__VALUE_INT_VALUE;
        v->int_value = (int64_t)(rnd(g) >> below(g, 64));
        break;
    case 3:
        v->value_case = TSOTLP__ANY_VALUE__VALUE_DOUBLE_VALUE;
        v->double_value = (double)(int64_t)rnd(g) / 1e6;
        break;
    case 4:
        v->value_case = TSOTLP__ANY_VALUE__VALUE_BYTES_VALUE;
        v->bytes_value = p_bytes(g, below(g, 10));
        break;
    case 5: /* no value */
        break;
    case 6: {
        Tsotlp__ArrayValue *arr;
        P_NEW(arr, tsotlp__array_value__init);
        arr->n_values = below(g, 4);
        arr->values = ts_arena_alloc(g->a, (arr->n_values + 1) * sizeof(*arr->values));
        for (size_t i = 0; i < arr->n_values; i++) {
            P_NEW(arr->values[i], tsotlp__any_value__init);
            p_value(g, arr->values[i], depth - 1);
        }
        v->value_case = TSOTLP__ANY_VALUE__VALUE_ARRAY_VALUE;
        v->array_value = arr;
        break;
    }
    default: {
        Tsotlp__KeyValueList *l;
        P_NEW(l, tsotlp__key_value_list__init);
        l->n_values = below(g, 4);
        l->values = p_kvs(g, l->n_values, depth - 1);
        v->value_case = TSOTLP__ANY_VALUE__VALUE_KVLIST_VALUE;
        v->kvlist_value = l;
    }
    }
}

static Tsotlp__KeyValue **p_kvs(gen *g, size_t n, int depth)
{
    Tsotlp__KeyValue **kv = ts_arena_alloc(g->a, (n + 1) * sizeof(*kv));
    for (size_t i = 0; i < n; i++) {
        P_NEW(kv[i], tsotlp__key_value__init);
        kv[i]->key = (char *)keys[below(g, 5)];
        if (pct(g, 95)) {
            P_NEW(kv[i]->value, tsotlp__any_value__init);
            p_value(g, kv[i]->value, depth);
        }
    }
    return kv;
}

static Tsotlp__Span__Event *p_event(gen *g)
{
    Tsotlp__Span__Event *e;
    P_NEW(e, tsotlp__span__event__init);
    e->time_unix_nano = rnd(g);
    e->name = p_text(g, 12);
    e->n_attributes = below(g, 3);
    e->attributes = p_kvs(g, e->n_attributes, 2);
    return e;
}

static Tsotlp__Span__Link *p_link(gen *g)
{
    Tsotlp__Span__Link *l;
    P_NEW(l, tsotlp__span__link__init);
    l->trace_id = p_bytes(g, pct(g, 90) ? 16 : below(g, 20));
    l->span_id = p_bytes(g, pct(g, 90) ? 8 : below(g, 20));
    l->trace_state = p_text(g, 8);
    l->flags = (uint32_t)rnd(g);
    l->n_attributes = below(g, 3);
    l->attributes = p_kvs(g, l->n_attributes, 2);
    return l;
}

static void p_span_lists(gen *g, Tsotlp__Span *s)
{
    s->n_attributes = below(g, 8);
    s->attributes = p_kvs(g, s->n_attributes, 3);
    s->n_events = below(g, 3);
    s->events = ts_arena_alloc(g->a, (s->n_events + 1) * sizeof(*s->events));
    for (size_t i = 0; i < s->n_events; i++)
        s->events[i] = p_event(g);
    s->n_links = below(g, 2);
    s->links = ts_arena_alloc(g->a, (s->n_links + 1) * sizeof(*s->links));
    for (size_t i = 0; i < s->n_links; i++)
        s->links[i] = p_link(g);
    if (pct(g, 60)) {
        P_NEW(s->status, tsotlp__status__init);
        s->status->code = (int32_t)below(g, 4);
        s->status->message = p_text(g, 10);
    }
}

static Tsotlp__Span *p_span(gen *g)
{
    Tsotlp__Span *s;
    P_NEW(s, tsotlp__span__init);
    s->trace_id = p_bytes(g, pct(g, 95) ? 16 : below(g, 20));
    s->span_id = p_bytes(g, pct(g, 95) ? 8 : below(g, 12));
    s->parent_span_id = p_bytes(g, pct(g, 50) ? 8 : 0);
    s->trace_state = p_text(g, 10);
    s->name = p_text(g, 24);
    s->kind = (int32_t)below(g, 7) - 1;
    s->start_time_unix_nano = rnd(g) >> 2;
    s->end_time_unix_nano = s->start_time_unix_nano + below(g, 1000000);
    s->flags = (uint32_t)rnd(g);
    p_span_lists(g, s);
    return s;
}

static Tsotlp__ScopeSpans *p_sspans(gen *g)
{
    Tsotlp__ScopeSpans *ss;
    P_NEW(ss, tsotlp__scope_spans__init);
    if (pct(g, 80)) {
        P_NEW(ss->scope, tsotlp__instrumentation_scope__init);
        ss->scope->name = p_text(g, 10);
        ss->scope->version = p_text(g, 5);
        ss->scope->n_attributes = below(g, 3);
        ss->scope->attributes = p_kvs(g, ss->scope->n_attributes, 2);
    }
    ss->schema_url = p_text(g, 10);
    ss->n_spans = below(g, 6);
    ss->spans = ts_arena_alloc(g->a, (ss->n_spans + 1) * sizeof(*ss->spans));
    for (size_t i = 0; i < ss->n_spans; i++)
        ss->spans[i] = p_span(g);
    return ss;
}

static Tsotlp__ResourceSpans *p_rspans(gen *g)
{
    Tsotlp__ResourceSpans *rs;
    P_NEW(rs, tsotlp__resource_spans__init);
    if (pct(g, 85)) {
        P_NEW(rs->resource, tsotlp__resource__init);
        rs->resource->n_attributes = below(g, 5);
        rs->resource->attributes = p_kvs(g, rs->resource->n_attributes, 2);
    }
    rs->schema_url = p_text(g, 10);
    rs->n_scope_spans = below(g, 3);
    rs->scope_spans = ts_arena_alloc(g->a, (rs->n_scope_spans + 1) * sizeof(*rs->scope_spans));
    for (size_t i = 0; i < rs->n_scope_spans; i++)
        rs->scope_spans[i] = p_sspans(g);
    return rs;
}

/* The packed request, appended to out. */
static void pack(const Tsotlp__ExportTraceServiceRequest *q, pbw *out)
{
    size_t n = tsotlp__export_trace_service_request__get_packed_size(q);
    uint8_t *b = malloc(n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(tsotlp__export_trace_service_request__pack(q, b), n);
    if (n)
        pbw_put(out, b, n);
    free(b);
}

static void p_req(gen *g, pbw *out)
{
    Tsotlp__ExportTraceServiceRequest q = TSOTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    q.n_resource_spans = below(g, 4);
    q.resource_spans = ts_arena_alloc(g->a, (q.n_resource_spans + 1) * sizeof(*q.resource_spans));
    for (size_t i = 0; i < q.n_resource_spans; i++)
        q.resource_spans[i] = p_rspans(g);
    pack(&q, out);
}

/* What an SDK sends: one resource and scope, spans with ids, times, a
 * dozen attributes, now and then an event and an error status. */
static Tsotlp__Span *p_real_span(gen *g)
{
    static const char *const names[] = {"chat gpt-4o", "HTTP POST /v1/chat", "db.query",
                                        "embeddings text-embedding-3-small"};
    Tsotlp__Span *s;
    P_NEW(s, tsotlp__span__init);
    s->trace_id = p_bytes(g, 16);
    s->span_id = p_bytes(g, 8);
    s->parent_span_id = p_bytes(g, 8);
    s->name = (char *)names[below(g, 4)];
    s->kind = 3;
    s->start_time_unix_nano = UINT64_C(1700000000000000000) + below(g, 1000000000);
    s->end_time_unix_nano = s->start_time_unix_nano + below(g, 100000000);
    s->n_attributes = 12;
    s->attributes = p_kvs(g, 12, 0);
    for (size_t i = 0; i < 12; i++) {
        s->attributes[i]->key = (char *)keys[1 + i % 4];
        if (!s->attributes[i]->value) {
            P_NEW(s->attributes[i]->value, tsotlp__any_value__init);
            p_value(g, s->attributes[i]->value, 0);
        }
    }
    if (pct(g, 30)) {
        s->n_events = 1;
        s->events = ts_arena_alloc(g->a, sizeof(*s->events));
        s->events[0] = p_event(g);
        P_NEW(s->status, tsotlp__status__init);
        s->status->code = 2;
        s->status->message = "upstream timed out";
    }
    return s;
}

static void p_real_req(gen *g, size_t nspans, pbw *out)
{
    Tsotlp__ExportTraceServiceRequest q = TSOTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    Tsotlp__ResourceSpans *rs = p_rspans(g);
    Tsotlp__ScopeSpans *ss = rs->n_scope_spans ? rs->scope_spans[0] : p_sspans(g);
    rs->n_scope_spans = 1;
    rs->scope_spans = &ss;
    ss->n_spans = nspans;
    ss->spans = ts_arena_alloc(g->a, nspans * sizeof(*ss->spans));
    for (size_t i = 0; i < nspans; i++)
        ss->spans[i] = p_real_span(g);
    q.n_resource_spans = 1;
    q.resource_spans = &rs;
    pack(&q, out);
}

/* ---- mutations ---- */

static void mutate(gen *g, pbw *b)
{
    for (size_t k = 1 + below(g, 3); k && b->len; k--) {
        size_t at = below(g, b->len), n = 1 + below(g, 8);
        if (n > b->len - at)
            n = b->len - at;
        switch (below(g, 6)) {
        case 0:
            b->p[at] ^= (unsigned char)(1u << below(g, 8));
            break;
        case 1:
            b->p[at] = (unsigned char)rnd(g);
            break;
        case 2:
            b->len = at;
            break;
        case 3:
            memmove(b->p + at, b->p + at + n, b->len - at - n);
            b->len -= n;
            break;
        default: { /* a copy of a range, or random bytes, inserted at a random place */
            unsigned char ins[8];
            size_t to = below(g, b->len + 1);
            for (size_t i = 0; i < n; i++)
                ins[i] = below(g, 2) ? b->p[at + i] : (unsigned char)rnd(g);
            pbw_put(b, ins, n);
            memmove(b->p + to + n, b->p + to, b->len - n - to);
            memcpy(b->p + to, ins, n);
        }
        }
    }
}

/* ---- running cases ---- */

typedef struct stats {
    size_t cases, ok, rejected, budget_hits, spans;
} stats;

static ts_otlp_limits limits_for(gen *g)
{
    static const size_t spans[] = {4, 16, 10000}, attrs[] = {4, 8, 1024}, strs[] = {24, 4096};
    static const int depths[] = {2, 4, 64};
    ts_otlp_limits l = {spans[below(g, 3)], attrs[below(g, 3)], strs[below(g, 2)],
                        depths[below(g, 3)]};
    if (pct(g, 50)) /* half the cases under limits that rarely bite */
        l = (ts_otlp_limits){10000, 1024, 4096, 64};
    return l;
}

static void agree(const pbw *b, const ts_otlp_limits *l, stats *st, const char *what, size_t i)
{
    ref_run r;
    int same = ref_compare(b->p ? (const void *)b->p : "", b->len, l, &r);
    ck_assert_msg(same, "%s case %zu (%zu bytes): %s", what, i, b->len, r.diff.why);
    st->cases++;
    st->ok += r.rc_new == TS_OK;
    st->rejected += r.rc_new != TS_OK;
    st->budget_hits += (size_t)r.budget_hit;
}

static void report(const char *what, const stats *st, size_t dups)
{
    printf("%s: %zu cases, %zu decoded, %zu rejected, %zu reference budget hits, %zu merges\n",
           what, st->cases, st->ok, st->rejected, st->budget_hits, dups);
}

START_TEST(packed_requests_agree)
{
    stats st = {0};
    for (size_t i = 0; i < 400; i++) {
        gen g;
        pbw b = {0};
        gen_init(&g, 1000 + i, 0, 0);
        ts_otlp_limits l = limits_for(&g);
        p_req(&g, &b);
        agree(&b, &l, &st, "packed", i);
        free(b.p);
        ts_arena_free(g.a);
    }
    report("packed", &st, 0);
    ck_assert_uint_gt(st.ok, st.cases / 2);
    ck_assert_uint_gt(st.rejected, 0); /* some hit the limits */
}
END_TEST

START_TEST(odd_requests_agree)
{
    stats st = {0};
    size_t dups = 0;
    for (size_t i = 0; i < 3000; i++) {
        gen g;
        pbw b = {0};
        gen_init(&g, 5000 + i, 30, i % 2 ? 0 : 8);
        ts_otlp_limits l = limits_for(&g);
        h_req(&g, &b);
        agree(&b, &l, &st, "odd", i);
        dups += g.dups;
        free(b.p);
        ts_arena_free(g.a);
    }
    report("odd", &st, dups);
    ck_assert_uint_gt(st.ok, st.cases / 4);
    ck_assert_uint_gt(st.rejected, st.cases / 10);
    ck_assert_uint_gt(dups, 1000);
}
END_TEST

START_TEST(mutated_requests_agree)
{
    stats st = {0};
    for (size_t i = 0; i < 3000; i++) {
        gen g;
        pbw b = {0};
        gen_init(&g, 20000 + i, 20, 0);
        ts_otlp_limits l = limits_for(&g);
        if (i % 2)
            h_req(&g, &b);
        else
            p_req(&g, &b);
        mutate(&g, &b);
        agree(&b, &l, &st, "mutated", i);
        free(b.p);
        ts_arena_free(g.a);
    }
    report("mutated", &st, 0);
    ck_assert_uint_gt(st.ok, st.cases / 10);
    ck_assert_uint_gt(st.rejected, st.cases / 4);
}
END_TEST

/* Two requests back to back are one request, their lists concatenated. */
START_TEST(concatenated_requests_agree)
{
    stats st = {0};
    for (size_t i = 0; i < 300; i++) {
        gen g;
        pbw b = {0};
        gen_init(&g, 40000 + i, 20, 0);
        ts_otlp_limits l = {10000, 1024, 4096, 64};
        p_req(&g, &b);
        h_req(&g, &b);
        agree(&b, &l, &st, "concatenated", i);
        free(b.p);
        ts_arena_free(g.a);
    }
    ck_assert_uint_gt(st.ok, st.cases / 2);
}
END_TEST

START_TEST(realistic_request_agrees)
{
    stats st = {0};
    gen g;
    pbw b = {0};
    ts_otlp_limits l = {10000, 1024, 1 << 20, 64};
    gen_init(&g, 7, 0, 0);
    p_real_req(&g, 512, &b);
    agree(&b, &l, &st, "realistic", 0);
    ck_assert_uint_eq(st.ok, 1);
    free(b.p);
    ts_arena_free(g.a);
}
END_TEST

/* ---- the rules one by one, with their expected values ---- */

static ts_arena *arena;
static ts_otlp_limits lim = {10000, 1024, 4096, 64};

static void setup(void)
{
    arena = ts_arena_new(4096);
}

static void teardown(void)
{
    ts_arena_free(arena);
}

/* Both decoders on the body (which it frees): they must agree; returns
 * the new decoder's status, its request in *q. */
static int decode(pbw *b, ts_otlp_req *q)
{
    ref_run r;
    ts_err err;
    ck_assert_msg(ref_compare(b->p, b->len, &lim, &r), "%s", r.diff.why);
    int rc = ts_otlp_pb_decode(b->p, b->len, &lim, arena, q, &err);
    if (rc != TS_OK)
        ck_assert_msg(strncmp(err.msg, "invalid protobuf body: ", 23) == 0, "%s", err.msg);
    free(b->p);
    memset(b, 0, sizeof(*b));
    return rc;
}

/* Raw bytes as a pbw. */
static pbw raw(const char *p, size_t n)
{
    pbw w = {0};
    pbw_put(&w, p, n);
    return w;
}

#define RAW(lit) raw(lit, sizeof(lit) - 1)

/* A request of one span whose fields are span (freed). */
static pbw in_span(pbw *span)
{
    pbw ss = {0}, rs = {0}, req = {0};
    pbw_msg(&ss, 2, span);
    pbw_msg(&rs, 2, &ss);
    pbw_msg(&req, 1, &rs);
    return req;
}

/* A request of one span with one attribute, whose fields are kv (freed). */
static pbw in_kv(pbw *kv)
{
    pbw span = {0};
    pbw_msg(&span, 9, kv);
    return in_span(&span);
}

/* The first attribute's value after decoding a KeyValue of fields kv. */
static ts_attr_value value_of(const char *kv, size_t n, int *rc)
{
    ts_otlp_req q;
    pbw k = raw(kv, n), b = in_kv(&k);
    ts_attr_value none = {0};
    *rc = decode(&b, &q);
    return *rc == TS_OK ? q.spans[0].attrs[0].v : none;
}

#define VALUE(lit, rc) value_of(lit, sizeof(lit) - 1, rc)

START_TEST(value_merges)
{
    int rc;
    /* KeyValue.value twice: the AnyValues merge. A later one with an arm wins... */
    ts_attr_value v = VALUE("\x12\x02\x18\x05"
                            "\x12\x03\x0a\x01y",
                            &rc);
    ck_assert_int_eq(v.type, TS_AV_STR);
    ck_assert_str_eq(v.s, "y");
    /* ...a later one without keeps the earlier arm: an int, an array, bytes... */
    v = VALUE("\x12\x02\x18\x05"
              "\x12\x00",
              &rc);
    ck_assert_int_eq(v.type, TS_AV_INT);
    ck_assert_int_eq(v.i, 5);
    v = VALUE("\x12\x04\x2a\x02\x0a\x00"
              "\x12\x00",
              &rc);
    ck_assert_int_eq(v.type, TS_AV_ARRAY);
    ck_assert_uint_eq(v.nitems, 1);
    v = VALUE("\x12\x04\x3a\x02"
              "ab"
              "\x12\x00",
              &rc);
    ck_assert_int_eq(v.type, TS_AV_BYTES);
    ck_assert_str_eq(v.s, "YWI=");
    /* ...but not a string or empty bytes: nothing is left */
    v = VALUE("\x12\x03\x0a\x01x"
              "\x12\x00",
              &rc);
    ck_assert_int_eq(rc, TS_OK);
    ck_assert_int_eq(v.type, TS_AV_EMPTY);
    v = VALUE("\x12\x02\x3a\x00"
              "\x12\x00",
              &rc);
    ck_assert_int_eq(rc, TS_OK);
    ck_assert_int_eq(v.type, TS_AV_EMPTY);
    /* two with no arm cannot be merged: protobuf-c fails the body */
    VALUE("\x12\x00\x12\x00", &rc);
    ck_assert_int_eq(rc, TS_EINVAL);
    VALUE("\x12\x03\x0a\x01x"
          "\x12\x00\x12\x00",
          &rc);
    ck_assert_int_eq(rc, TS_EINVAL);
    /* merged AnyValues do not merge their arms: the later array wins whole */
    v = VALUE("\x12\x04\x2a\x02\x0a\x00"
              "\x12\x07\x2a\x05\x0a\x03\x0a\x01z",
              &rc);
    ck_assert_int_eq(v.type, TS_AV_ARRAY);
    ck_assert_uint_eq(v.nitems, 1);
    ck_assert_str_eq(v.items[0].s, "z");
}
END_TEST

START_TEST(oneof_arms)
{
    int rc;
    /* two array arms in one AnyValue: the last replaces the first, unmerged */
    ts_attr_value v = VALUE("\x12\x0b"
                            "\x2a\x02\x0a\x00"
                            "\x2a\x05\x0a\x03\x0a\x01z",
                            &rc);
    ck_assert_int_eq(v.type, TS_AV_ARRAY);
    ck_assert_uint_eq(v.nitems, 1);
    ck_assert_str_eq(v.items[0].s, "z");
    /* an int, then a string: the string */
    v = VALUE("\x12\x05\x18\x07\x0a\x01s", &rc);
    ck_assert_int_eq(v.type, TS_AV_STR);
    ck_assert_int_eq(v.i, 0);
    /* a bool of any wire type: true when a byte of it has a low bit set */
    v = VALUE("\x12\x09\x11\x80\x00\x00\x00\x00\x00\x00\x80", &rc);
    ck_assert(v.type == TS_AV_BOOL && v.b == 0);
    v = VALUE("\x12\x05\x15\x00\x01\x00\x00", &rc);
    ck_assert(v.type == TS_AV_BOOL && v.b == 1);
    v = VALUE("\x12\x03\x12\x01\x00", &rc);
    ck_assert(v.type == TS_AV_BOOL && v.b == 1);
    v = VALUE("\x12\x02\x12\x00", &rc);
    ck_assert(v.type == TS_AV_BOOL && v.b == 0);
    v = VALUE("\x12\x0b\x10\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", &rc);
    ck_assert(v.type == TS_AV_BOOL && v.b == 1); /* the bit is past 64 */
    /* an int or a double of the wrong wire type fails the body */
    VALUE("\x12\x09\x19\x01\x00\x00\x00\x00\x00\x00\x00", &rc);
    ck_assert_int_eq(rc, TS_EINVAL);
    VALUE("\x12\x02\x20\x01", &rc);
    ck_assert_int_eq(rc, TS_EINVAL);
}
END_TEST

/* A span with fields sp; its status code and message. */
static ts_otlp_span span_of(const char *sp, size_t n, int *rc)
{
    ts_otlp_req q;
    pbw s = raw(sp, n), b = in_span(&s);
    ts_otlp_span none = {0};
    *rc = decode(&b, &q);
    return *rc == TS_OK ? q.spans[0] : none;
}

#define SPAN_OF(lit, rc) span_of(lit, sizeof(lit) - 1, rc)

START_TEST(status_and_scalars)
{
    int rc;
    /* Status twice: the message sent last, the code of the last Status */
    ts_otlp_span s = SPAN_OF("\x7a\x05\x12\x01m\x18\x02"
                             "\x7a\x00",
                             &rc);
    ck_assert_int_eq(s.status_code, 0);
    ck_assert_str_eq(s.status_message, "m");
    s = SPAN_OF("\x7a\x02\x18\x02"
                "\x7a\x03\x12\x01n",
                &rc);
    ck_assert_int_eq(s.status_code, 0);
    ck_assert_str_eq(s.status_message, "n");
    s = SPAN_OF("\x7a\x03\x12\x01m"
                "\x7a\x02\x18\x01",
                &rc);
    ck_assert_int_eq(s.status_code, 1);
    ck_assert_str_eq(s.status_message, "m");
    s = SPAN_OF("\x7a\x00", &rc);
    ck_assert_str_eq(s.status_message, ""); /* a Status without message */
    s = SPAN_OF("\x2a\x01x", &rc);
    ck_assert_ptr_null(s.status_message); /* no Status at all */
    /* scalars: the last one wins; kind is an int32 of the varint's low bits */
    s = SPAN_OF("\x2a\x01x\x30\x01\x2a\x01y\x30\x83\x80\x80\x80\x10", &rc);
    ck_assert_str_eq(s.name, "y");
    ck_assert_int_eq(s.kind, 3);
    s = SPAN_OF("\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", &rc);
    ck_assert_int_eq(s.kind, -1);
    /* an id of 16 bytes, then one of 20: the 20 wins, its bytes not kept */
    s = SPAN_OF("\x0a\x10"
                "0123456789abcdef"
                "\x0a\x14"
                "0123456789abcdefghij",
                &rc);
    ck_assert_int_eq(s.trace_id.len, 20);
    ck_assert_int_eq(s.trace_id.b[0], 0);
    /* flags: a fixed32 and nothing else */
    SPAN_OF("\x85\x01\x01\x00\x00\x00", &rc);
    ck_assert_int_eq(rc, TS_OK);
    SPAN_OF("\x80\x01\x01", &rc);
    ck_assert_int_eq(rc, TS_EINVAL);
}
END_TEST

START_TEST(wrong_wire_types)
{
    static const struct {
        const char *span;
        size_t n;
    } bad[] = {
        {"\x35\x01\x00\x00\x00", 5},                          /* kind as fixed32 */
        {"\x3d\x01\x00\x00\x00", 5},                          /* start as fixed32 */
        {"\x40\x01", 2},                                      /* end as varint */
        {"\x7a\x09\x19\x01\x00\x00\x00\x00\x00\x00\x00", 11}, /* Status.code as fixed64 */
        {"\x5a\x02\x08\x01", 4},                              /* Event.time as varint */
        {"\x6a\x02\x30\x01", 4},                              /* Link.flags as varint */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        span_of(bad[i].span, bad[i].n, &rc);
        ck_assert_msg(rc == TS_EINVAL, "case %zu: %d", i, rc);
    }
}
END_TEST

/* protobuf-c reads a field key or a length prefix of at most 5 bytes. */
START_TEST(overlong_varints)
{
    int rc;
    ts_otlp_span s = SPAN_OF("\xaa\x80\x80\x80\x00\x01x", &rc); /* name, key in 5 bytes */
    ck_assert_int_eq(rc, TS_OK);
    ck_assert_str_eq(s.name, "x");
    SPAN_OF("\xaa\x80\x80\x80\x80\x00\x01x", &rc);
    ck_assert_int_eq(rc, TS_EINVAL);
    s = SPAN_OF("\x2a\x81\x80\x80\x80\x00x", &rc); /* length in 5 bytes */
    ck_assert_str_eq(s.name, "x");
    SPAN_OF("\x2a\x81\x80\x80\x80\x80\x00x", &rc);
    ck_assert_int_eq(rc, TS_EINVAL);
    SPAN_OF("\xe0\x80\x80\x80\x80\x00\x01", &rc); /* an unknown field's key too */
    ck_assert_int_eq(rc, TS_EINVAL);
    s = SPAN_OF("\x30\x81\x80\x80\x80\x80\x80\x80\x80\x80\x00", &rc); /* a value: 10 */
    ck_assert_int_eq(s.kind, 1);
}
END_TEST

START_TEST(scope_and_resource_merges)
{
    ts_otlp_req q;
    /* ScopeSpans{scope{name a, attrs k1}, span, scope{version v, attrs k2}} */
    pbw ss = RAW("\x0a\x08\x0a\x01"
                 "a"
                 "\x1a\x03\x0a\x01k"
                 "\x12\x00"
                 "\x0a\x09\x12\x01v\x1a\x04\x0a\x02k2");
    pbw rs = RAW("\x0a\x05\x0a\x03\x0a\x01r"), req = {0};
    pbw_msg(&rs, 2, &ss);
    pbw_put(&rs, "\x0a\x06\x0a\x04\x0a\x02r2", 8);
    pbw_msg(&req, 1, &rs);
    ck_assert_int_eq(decode(&req, &q), TS_OK);
    ck_assert_uint_eq(q.nspans, 1);
    const ts_otlp_scope *sc = q.spans[0].scope;
    ck_assert_str_eq(sc->name, "a");
    ck_assert_str_eq(sc->version, "v");
    ck_assert_uint_eq(sc->nattrs, 2);
    ck_assert_str_eq(sc->attrs[0].key, "k");
    ck_assert_str_eq(sc->attrs[1].key, "k2");
    const ts_otlp_resource *res = q.spans[0].resource;
    ck_assert_uint_eq(res->nattrs, 2);
    ck_assert_str_eq(res->attrs[0].key, "r");
    ck_assert_str_eq(res->attrs[1].key, "r2");
}
END_TEST

/* The one place the decoders part: protobuf-c merges each repeat of a
 * singular message by copying both attribute lists, quadratic in the
 * repeats, and ran out of its budget; the direct decoder is linear and
 * decodes the body within that same budget. */
START_TEST(repeated_resource_within_budget)
{
    pbw rs = {0}, req = {0};
    for (int i = 0; i < 1000; i++)
        pbw_put(&rs, "\x0a\x04\x0a\x02\x0a\x00", 6);
    pbw_put(&rs, "\x12\x04\x12\x02\x2a\x00", 6); /* a span, so the resource shows */
    pbw_msg(&req, 1, &rs);
    ref_run r;
    ck_assert_msg(ref_compare(req.p, req.len, &lim, &r), "%s", r.diff.why);
    ck_assert_int_eq(r.budget_hit, 1);
    ck_assert_int_eq(r.rc_new, TS_OK);
    ck_assert_uint_le(r.used, r.budget);
    ts_otlp_req q;
    ck_assert_int_eq(decode(&req, &q), TS_OK);
    ck_assert_uint_eq(q.spans[0].resource->nattrs, 1000);
}
END_TEST

static Suite *otlp_pb_diff_suite(void)
{
    Suite *s = suite_create("otlp_pb_diff");
    TCase *gen_tc = tcase_create("generated");
    tcase_set_timeout(gen_tc, 600);
    tcase_add_test(gen_tc, packed_requests_agree);
    tcase_add_test(gen_tc, odd_requests_agree);
    tcase_add_test(gen_tc, mutated_requests_agree);
    tcase_add_test(gen_tc, concatenated_requests_agree);
    tcase_add_test(gen_tc, realistic_request_agrees);
    suite_add_tcase(s, gen_tc);
    TCase *rules = tcase_create("rules");
    tcase_add_checked_fixture(rules, setup, teardown);
    tcase_add_test(rules, value_merges);
    tcase_add_test(rules, oneof_arms);
    tcase_add_test(rules, status_and_scalars);
    tcase_add_test(rules, wrong_wire_types);
    tcase_add_test(rules, overlong_varints);
    tcase_add_test(rules, scope_and_resource_merges);
    tcase_add_test(rules, repeated_resource_within_budget);
    suite_add_tcase(s, rules);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(otlp_pb_diff_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
