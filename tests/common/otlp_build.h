/* otlp_build.h: builds OTLP ExportTraceServiceRequest bodies for tests, in
 * both encodings, from one description, with a hand-written protobuf
 * writer and cJSON (independent of the decoders under test). Header-only:
 * every function is static. */
#ifndef TS_TEST_OTLP_BUILD_H
#define TS_TEST_OTLP_BUILD_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

/* Not every test uses every builder. */
#pragma GCC diagnostic ignored "-Wunused-function"

/* ---- protobuf writer ---- */

typedef struct pbw {
    unsigned char *p;
    size_t len, cap;
} pbw;

static void pbw_put(pbw *w, const void *d, size_t n)
{
    if (w->len + n > w->cap) {
        w->cap = (w->len + n) * 2 + 64;
        w->p = realloc(w->p, w->cap);
    }
    memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void pbw_varint(pbw *w, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    pbw_put(w, b, n);
}

static void pbw_tag(pbw *w, unsigned field, unsigned wt)
{
    pbw_varint(w, (uint64_t)field << 3 | wt);
}

static void pbw_bytes(pbw *w, unsigned field, const void *d, size_t n)
{
    pbw_tag(w, field, 2);
    pbw_varint(w, n);
    pbw_put(w, d, n);
}

static void pbw_str(pbw *w, unsigned field, const char *s)
{
    if (s)
        pbw_bytes(w, field, s, strlen(s));
}

/* Appends child as a length-delimited field and frees it. */
static void pbw_msg(pbw *w, unsigned field, pbw *child)
{
    pbw_bytes(w, field, child->p ? (const void *)child->p : "", child->len);
    free(child->p);
    memset(child, 0, sizeof(*child));
}

static void pbw_fixed64(pbw *w, unsigned field, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    pbw_tag(w, field, 1);
    pbw_put(w, b, 8);
}

static void pbw_double(pbw *w, unsigned field, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    pbw_fixed64(w, field, v);
}

/* Hex text (any length, any case) -> bytes; n bytes written. */
static size_t tb_unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; hex[i] && hex[i + 1] && n < cap; i += 2) {
        unsigned v;
        sscanf(hex + i, "%2x", &v);
        out[n++] = (unsigned char)v;
    }
    return n;
}

/* ---- the description ---- */

typedef struct tb_attr {
    const char *key;
    char type; /* 's' string, 'i' int, 'd' double, 'b' bool, 'a' array of 2 strings (s, s2),
                  'k' kvlist {s: s2}, 'y' bytes (s, raw) */
    const char *s, *s2;
    int64_t i;
    double d;
} tb_attr;

typedef struct tb_span {
    const char *trace_hex, *span_hex, *parent_hex; /* NULL: field absent */
    const char *name;
    int kind, status_code;
    const char *status_msg;
    uint64_t start, end;
    const tb_attr *attrs;
    size_t nattrs;
    const char *event_name; /* one event when not NULL */
    const tb_attr *event_attrs;
    size_t nevent_attrs;
    uint64_t event_time;
} tb_span;

typedef struct tb_req {
    const tb_attr *res_attrs;
    size_t nres;
    const char *scope_name, *scope_version;
    const tb_span *spans;
    size_t nspans;
} tb_req;

/* ---- protobuf ---- */

static void tb_pb_value(pbw *w, const tb_attr *a)
{
    pbw v = {0}, inner = {0}, x = {0};
    switch (a->type) {
    case 's':
        pbw_str(&v, 1, a->s);
        break;
    case 'b':
        pbw_tag(&v, 2, 0);
        pbw_varint(&v, a->i ? 1 : 0);
        break;
    case 'i':
        pbw_tag(&v, 3, 0);
        pbw_varint(&v, (uint64_t)a->i);
        break;
    case 'd':
        pbw_double(&v, 4, a->d);
        break;
    case 'a':
        pbw_str(&x, 1, a->s);
        pbw_msg(&inner, 1, &x);
        pbw_str(&x, 1, a->s2);
        pbw_msg(&inner, 1, &x);
        pbw_msg(&v, 5, &inner);
        break;
    case 'k': {
        pbw kv = {0}, val = {0};
        pbw_str(&kv, 1, a->s);
        pbw_str(&val, 1, a->s2);
        pbw_msg(&kv, 2, &val);
        pbw_msg(&inner, 1, &kv);
        pbw_msg(&v, 6, &inner);
        break;
    }
    case 'y':
        pbw_bytes(&v, 7, a->s, strlen(a->s));
        break;
    }
    pbw_msg(w, 2, &v);
}

static void tb_pb_kvs(pbw *w, unsigned field, const tb_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pbw kv = {0};
        pbw_str(&kv, 1, a[i].key);
        tb_pb_value(&kv, &a[i]);
        pbw_msg(w, field, &kv);
    }
}

static void tb_pb_id(pbw *w, unsigned field, const char *hex)
{
    unsigned char b[64];
    if (hex)
        pbw_bytes(w, field, b, tb_unhex(hex, b, sizeof(b)));
}

static void tb_pb_span(pbw *w, const tb_span *s)
{
    pbw sp = {0};
    tb_pb_id(&sp, 1, s->trace_hex);
    tb_pb_id(&sp, 2, s->span_hex);
    tb_pb_id(&sp, 4, s->parent_hex);
    pbw_str(&sp, 5, s->name);
    if (s->kind) {
        pbw_tag(&sp, 6, 0);
        pbw_varint(&sp, (uint64_t)s->kind);
    }
    pbw_fixed64(&sp, 7, s->start);
    pbw_fixed64(&sp, 8, s->end);
    tb_pb_kvs(&sp, 9, s->attrs, s->nattrs);
    if (s->event_name) {
        pbw ev = {0};
        pbw_fixed64(&ev, 1, s->event_time);
        pbw_str(&ev, 2, s->event_name);
        tb_pb_kvs(&ev, 3, s->event_attrs, s->nevent_attrs);
        pbw_msg(&sp, 11, &ev);
    }
    if (s->status_code || s->status_msg) {
        pbw st = {0};
        pbw_str(&st, 2, s->status_msg);
        if (s->status_code) {
            pbw_tag(&st, 3, 0);
            pbw_varint(&st, (uint64_t)s->status_code);
        }
        pbw_msg(&sp, 15, &st);
    }
    pbw_msg(w, 2, &sp);
}

/* malloc'd protobuf body; *len its size. */
static unsigned char *tb_pb(const tb_req *q, size_t *len)
{
    pbw req = {0}, rs = {0}, res = {0}, ss = {0}, scope = {0};
    tb_pb_kvs(&res, 1, q->res_attrs, q->nres);
    pbw_msg(&rs, 1, &res);
    if (q->scope_name) {
        pbw_str(&scope, 1, q->scope_name);
        pbw_str(&scope, 2, q->scope_version);
        pbw_msg(&ss, 1, &scope);
    }
    for (size_t i = 0; i < q->nspans; i++)
        tb_pb_span(&ss, &q->spans[i]);
    pbw_msg(&rs, 2, &ss);
    pbw_msg(&req, 1, &rs);
    *len = req.len;
    return req.p ? req.p : calloc(1, 1);
}

/* ---- JSON ---- */

static cJSON *tb_json_value(const tb_attr *a)
{
    cJSON *v = cJSON_CreateObject();
    char num[32];
    switch (a->type) {
    case 's':
        cJSON_AddStringToObject(v, "stringValue", a->s);
        break;
    case 'b':
        cJSON_AddBoolToObject(v, "boolValue", a->i != 0);
        break;
    case 'i':
        /* 64-bit integers as decimal strings, as the OTLP JSON mapping says */
        snprintf(num, sizeof(num), "%" PRId64, a->i);
        cJSON_AddStringToObject(v, "intValue", num);
        break;
    case 'd':
        cJSON_AddNumberToObject(v, "doubleValue", a->d);
        break;
    case 'a': {
        cJSON *arr = cJSON_AddObjectToObject(v, "arrayValue");
        cJSON *vals = cJSON_AddArrayToObject(arr, "values");
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "stringValue", a->s);
        cJSON_AddItemToArray(vals, x);
        x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "stringValue", a->s2);
        cJSON_AddItemToArray(vals, x);
        break;
    }
    case 'k': {
        cJSON *kl = cJSON_AddObjectToObject(v, "kvlistValue");
        cJSON *vals = cJSON_AddArrayToObject(kl, "values");
        cJSON *kv = cJSON_CreateObject();
        cJSON_AddStringToObject(kv, "key", a->s);
        cJSON *val = cJSON_AddObjectToObject(kv, "value");
        cJSON_AddStringToObject(val, "stringValue", a->s2);
        cJSON_AddItemToArray(vals, kv);
        break;
    }
    case 'y': {
        /* base64 of the raw bytes */
        static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *p = (const unsigned char *)a->s;
        size_t n = strlen(a->s), o = 0;
        char b64[256];
        for (size_t i = 0; i < n && o + 5 < sizeof(b64); i += 3) {
            uint32_t x = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                         (i + 2 < n ? p[i + 2] : 0);
            b64[o++] = t[x >> 18 & 63];
            b64[o++] = t[x >> 12 & 63];
            b64[o++] = i + 1 < n ? t[x >> 6 & 63] : '=';
            b64[o++] = i + 2 < n ? t[x & 63] : '=';
        }
        b64[o] = '\0';
        cJSON_AddStringToObject(v, "bytesValue", b64);
        break;
    }
    }
    return v;
}

static cJSON *tb_json_kvs(const tb_attr *a, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *kv = cJSON_CreateObject();
        cJSON_AddStringToObject(kv, "key", a[i].key);
        cJSON_AddItemToObject(kv, "value", tb_json_value(&a[i]));
        cJSON_AddItemToArray(arr, kv);
    }
    return arr;
}

static cJSON *tb_json_span(const tb_span *s)
{
    cJSON *o = cJSON_CreateObject();
    char num[32];
    if (s->trace_hex)
        cJSON_AddStringToObject(o, "traceId", s->trace_hex);
    if (s->span_hex)
        cJSON_AddStringToObject(o, "spanId", s->span_hex);
    if (s->parent_hex)
        cJSON_AddStringToObject(o, "parentSpanId", s->parent_hex);
    if (s->name)
        cJSON_AddStringToObject(o, "name", s->name);
    if (s->kind)
        cJSON_AddNumberToObject(o, "kind", s->kind);
    snprintf(num, sizeof(num), "%" PRIu64, s->start);
    cJSON_AddStringToObject(o, "startTimeUnixNano", num);
    snprintf(num, sizeof(num), "%" PRIu64, s->end);
    cJSON_AddStringToObject(o, "endTimeUnixNano", num);
    cJSON_AddItemToObject(o, "attributes", tb_json_kvs(s->attrs, s->nattrs));
    if (s->event_name) {
        cJSON *evs = cJSON_AddArrayToObject(o, "events");
        cJSON *ev = cJSON_CreateObject();
        snprintf(num, sizeof(num), "%" PRIu64, s->event_time);
        cJSON_AddStringToObject(ev, "timeUnixNano", num);
        cJSON_AddStringToObject(ev, "name", s->event_name);
        cJSON_AddItemToObject(ev, "attributes", tb_json_kvs(s->event_attrs, s->nevent_attrs));
        cJSON_AddItemToArray(evs, ev);
    }
    if (s->status_code || s->status_msg) {
        cJSON *st = cJSON_AddObjectToObject(o, "status");
        if (s->status_code)
            cJSON_AddNumberToObject(st, "code", s->status_code);
        if (s->status_msg)
            cJSON_AddStringToObject(st, "message", s->status_msg);
    }
    return o;
}

/* malloc'd JSON body. */
static char *tb_json(const tb_req *q)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *rss = cJSON_AddArrayToObject(root, "resourceSpans");
    cJSON *rs = cJSON_CreateObject();
    cJSON *res = cJSON_AddObjectToObject(rs, "resource");
    cJSON_AddItemToObject(res, "attributes", tb_json_kvs(q->res_attrs, q->nres));
    cJSON *sss = cJSON_AddArrayToObject(rs, "scopeSpans");
    cJSON *ss = cJSON_CreateObject();
    if (q->scope_name) {
        cJSON *sc = cJSON_AddObjectToObject(ss, "scope");
        cJSON_AddStringToObject(sc, "name", q->scope_name);
        if (q->scope_version)
            cJSON_AddStringToObject(sc, "version", q->scope_version);
    }
    cJSON *spans = cJSON_AddArrayToObject(ss, "spans");
    for (size_t i = 0; i < q->nspans; i++)
        cJSON_AddItemToArray(spans, tb_json_span(&q->spans[i]));
    cJSON_AddItemToArray(sss, ss);
    cJSON_AddItemToArray(rss, rs);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

#endif
