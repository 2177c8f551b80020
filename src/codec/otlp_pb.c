/* otlp_pb.c: see otlp_pb.h. Two passes: a schema-aware scan of the wire
 * format (limits, UTF-8, depth), then a decode of the wire bytes straight
 * into the shared ts_otlp_req, in the arena. protobuf-c only encodes the
 * responses. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json_guard.h"
#include "codec/otlp_pb.h"
#include "otlp_trace.pb-c.h"

/* ---- pass 1: the wire scan ---- */

enum mt {
    M_REQ,
    M_RSPANS,
    M_RES,
    M_SSPANS,
    M_SCOPE,
    M_SPAN,
    M_EVENT,
    M_LINK,
    M_STATUS,
    M_KV,
    M_ANY,
    M_ARR,
    M_KVLIST,
    M_COUNT
};
enum fk { K_MSG = 1, K_STR, K_BYTES };

typedef struct fdef {
    uint32_t num;
    int kind;
    int child;   /* K_MSG: its type */
    int kv_list; /* 1: a repeated KeyValue field (counted against max_attrs) */
} fdef;

/* Length-delimited fields of each message, from otlp_trace.proto. */
static const fdef f_req[] = {{1, K_MSG, M_RSPANS, 0}, {0, 0, 0, 0}};
static const fdef f_rspans[] = {
    {1, K_MSG, M_RES, 0}, {2, K_MSG, M_SSPANS, 0}, {3, K_STR, 0, 0}, {0, 0, 0, 0}};
static const fdef f_res[] = {{1, K_MSG, M_KV, 1}, {0, 0, 0, 0}};
static const fdef f_sspans[] = {
    {1, K_MSG, M_SCOPE, 0}, {2, K_MSG, M_SPAN, 0}, {3, K_STR, 0, 0}, {0, 0, 0, 0}};
static const fdef f_scope[] = {
    {1, K_STR, 0, 0}, {2, K_STR, 0, 0}, {3, K_MSG, M_KV, 1}, {0, 0, 0, 0}};
static const fdef f_span[] = {
    {1, K_BYTES, 0, 0},       {2, K_BYTES, 0, 0},  {3, K_STR, 0, 0},        {4, K_BYTES, 0, 0},
    {5, K_STR, 0, 0},         {9, K_MSG, M_KV, 1}, {11, K_MSG, M_EVENT, 0}, {13, K_MSG, M_LINK, 0},
    {15, K_MSG, M_STATUS, 0}, {0, 0, 0, 0}};
static const fdef f_event[] = {{2, K_STR, 0, 0}, {3, K_MSG, M_KV, 1}, {0, 0, 0, 0}};
static const fdef f_link[] = {
    {1, K_BYTES, 0, 0}, {2, K_BYTES, 0, 0}, {3, K_STR, 0, 0}, {4, K_MSG, M_KV, 1}, {0, 0, 0, 0}};
static const fdef f_status[] = {{2, K_STR, 0, 0}, {0, 0, 0, 0}};
static const fdef f_kv[] = {{1, K_STR, 0, 0}, {2, K_MSG, M_ANY, 0}, {0, 0, 0, 0}};
static const fdef f_any[] = {{1, K_STR, 0, 0},
                             {5, K_MSG, M_ARR, 0},
                             {6, K_MSG, M_KVLIST, 0},
                             {7, K_BYTES, 0, 0},
                             {0, 0, 0, 0}};
static const fdef f_arr[] = {{1, K_MSG, M_ANY, 0}, {0, 0, 0, 0}};
static const fdef f_kvlist[] = {{1, K_MSG, M_KV, 1}, {0, 0, 0, 0}};

static const fdef *const schema[M_COUNT] = {f_req,  f_rspans, f_res,   f_sspans, f_scope,
                                            f_span, f_event,  f_link,  f_status, f_kv,
                                            f_any,  f_arr,    f_kvlist};
static const char *const mnames[M_COUNT] = {"ExportTraceServiceRequest",
                                            "ResourceSpans",
                                            "Resource",
                                            "ScopeSpans",
                                            "InstrumentationScope",
                                            "Span",
                                            "Span.Event",
                                            "Span.Link",
                                            "Status",
                                            "KeyValue",
                                            "AnyValue",
                                            "ArrayValue",
                                            "KeyValueList"};

typedef struct scan {
    const ts_otlp_limits *lim;
    ts_err *err;
    size_t spans;
    size_t messages;
    size_t fields; /* protobuf-c keeps unknown ones: each costs an allocation */
} scan;

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

static int malformed(ts_err *err, int type, const char *what)
{
    return ts_err_set(err, TS_EINVAL, "invalid protobuf body: %s in %s", what, mnames[type]);
}

static int scan_msg(scan *s, const uint8_t *p, const uint8_t *end, int type, int depth)
{
    size_t kvs = 0;
    if (depth > s->lim->max_depth + 8)
        return ts_err_set(s->err, TS_EINVAL,
                          "attribute values nest deeper than max_json_depth (%d)",
                          s->lim->max_depth);
    s->messages++;
    while (p < end) {
        uint64_t key, v;
        if (varint(&p, end, &key) != 0)
            return malformed(s->err, type, "truncated field key");
        uint32_t num = (uint32_t)(key >> 3);
        int wt = (int)(key & 7);
        if (num == 0 || key >> 3 > 0x1fffffff)
            return malformed(s->err, type, "invalid field number");
        s->fields++;
        const fdef *f = schema[type];
        while (f->num && f->num != num)
            f++;
        if (f->num && wt != 2)
            return malformed(s->err, type, "wrong wire type for a length-delimited field");
        switch (wt) {
        case 0:
            if (varint(&p, end, &v) != 0)
                return malformed(s->err, type, "truncated varint");
            continue;
        case 1:
            if (end - p < 8)
                return malformed(s->err, type, "truncated fixed64");
            p += 8;
            continue;
        case 5:
            if (end - p < 4)
                return malformed(s->err, type, "truncated fixed32");
            p += 4;
            continue;
        case 2:
            break;
        default:
            return malformed(s->err, type, "unsupported wire type");
        }
        if (varint(&p, end, &v) != 0 || v > (uint64_t)(end - p))
            return malformed(s->err, type, "length past the end of the body");
        const uint8_t *q = p;
        p += v;
        if (!f->num)
            continue; /* unknown field: skipped, as protobuf requires */
        if (f->kind == K_STR || f->kind == K_BYTES) {
            if (v > s->lim->max_string)
                return ts_err_set(s->err, TS_EINVAL,
                                  "a string in %s is longer than max_string_bytes (%zu)",
                                  mnames[type], s->lim->max_string);
            if (f->kind == K_STR && !ts_utf8_valid((const char *)q, (size_t)v))
                return ts_err_set(s->err, TS_EINVAL,
                                  "a string in %s is not valid UTF-8 or contains a NUL byte",
                                  mnames[type]);
            continue;
        }
        if (f->child == M_SPAN && ++s->spans > s->lim->max_spans)
            return ts_err_set(s->err, TS_ETOOBIG,
                              "more than %zu spans in one request; max_spans_per_request is %zu",
                              s->lim->max_spans, s->lim->max_spans);
        if (f->kv_list && ++kvs > s->lim->max_attrs)
            return ts_err_set(s->err, TS_EINVAL,
                              "more attributes in one %s than max_attributes_per_span (%zu)",
                              mnames[type], s->lim->max_attrs);
        int rc = scan_msg(s, q, q + v, f->child, depth + 1);
        if (rc != TS_OK)
            return rc;
    }
    return TS_OK;
}

/* ---- pass 2: the wire bytes -> ts_otlp_req ---- */

/* This pass gives what protobuf-c 1.4's unpack and a walk of its structs
 * gave (tests/common/otlp_pb_ref.h keeps those as the reference that
 * test_otlp_pb_diff.c and the fuzz target compare with), so it follows
 * protobuf-c's rules:
 *  - a field key or a length prefix longer than 5 bytes is an error (pass 1
 *    allows 10), and so is a length over INT_MAX;
 *  - a known scalar field of another wire type is an error, except a bool,
 *    which takes any and is true when a byte of its encoding (for wire
 *    type 2, of its length prefix) has one of its low 7 bits set;
 *  - a singular field sent twice: the last one wins, but a message field
 *    (Resource, InstrumentationScope, Status, KeyValue.value) is merged
 *    into the earlier one (merge_messages): repeated fields concatenate,
 *    strings keep the last one sent, and Status.code, a proto3 int with
 *    no presence, is the last occurrence's even when that one lacks it;
 *  - an AnyValue arm replaces any arm before it, a message arm too (the old
 *    arm is freed first, never merged). When KeyValue.value comes again
 *    with no arm set, the earlier arm stays, unless it is a string or empty
 *    bytes (merge_messages takes those for unset: then no arm is left);
 *    when neither has an arm, protobuf-c fails the body.
 * Pass 1 has checked the lengths, UTF-8, limits and depth, and that the
 * schema's length-delimited fields have wire type 2. */

typedef struct dec {
    ts_arena *a;
    ts_err *err;
    size_t left;   /* of the memory budget */
    int exhausted; /* an allocation was refused for the budget */
    ts_otlp_req *out;
    size_t cap; /* spans allocated in out: pass 1 counted them */
} dec;

/* The fields of a message still to be read. */
typedef struct pbmsg {
    const uint8_t *p, *end;
    int type;
} pbmsg;

/* One field, from its key at at. Wire types 0, 1 and 5: the value in v, its
 * encoding at p (len bytes). Wire type 2: the payload at p. */
typedef struct fld {
    uint32_t num;
    int wt;
    uint64_t v;
    const uint8_t *at, *p;
    size_t len;
} fld;

/* The n occurrences of a singular message field in their parent, from the
 * first one's key to the end of the last one: decoded together, since
 * protobuf-c merges them. */
typedef struct occ {
    pbmsg in;
    uint32_t num;
    size_t n;
} occ;

static int wrong_type(dec *d, const pbmsg *m, const fld *f)
{
    return ts_err_set(d->err, TS_EINVAL, "invalid protobuf body: wire type %d for field %u in %s",
                      f->wt, (unsigned)f->num, mnames[m->type]);
}

/* A varint of at most max bytes: 0, or -1 if it is truncated or longer. */
static int varint_max(const uint8_t **p, const uint8_t *end, int max, uint64_t *v)
{
    uint64_t r = 0;
    if (*p < end && **p < 0x80) { /* most keys and lengths */
        *v = *(*p)++;
        return 0;
    }
    for (int i = 0; i < max && *p < end; i++) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

static uint64_t little_endian(const uint8_t *p, int n)
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | p[n];
    return v;
}

/* The value after a key of wire type f->wt, at m->p. */
static int field_value(dec *d, pbmsg *m, fld *f)
{
    int size = f->wt == 1 ? 8 : 4;
    switch (f->wt) {
    case 0:
        if (varint_max(&m->p, m->end, 10, &f->v) != 0)
            return malformed(d->err, m->type, "truncated varint");
        return TS_OK;
    case 1:
    case 5:
        if (m->end - m->p < size)
            return malformed(d->err, m->type, "truncated fixed-size value");
        f->v = little_endian(m->p, size);
        m->p += size;
        return TS_OK;
    case 2:
        if (varint_max(&m->p, m->end, 5, &f->v) != 0 || f->v > INT_MAX ||
            f->v > (uint64_t)(m->end - m->p))
            return malformed(d->err, m->type, "length prefix over 5 bytes or past the end");
        f->p = m->p;
        m->p += f->v;
        return TS_OK;
    default:
        return malformed(d->err, m->type, "unsupported wire type");
    }
}

/* Reads m's next field into f: 1, or TS_OK at the end of m, or an error. */
static int next(dec *d, pbmsg *m, fld *f)
{
    uint64_t key;
    if (m->p >= m->end)
        return TS_OK;
    f->at = m->p;
    if (varint_max(&m->p, m->end, 5, &key) != 0)
        return malformed(d->err, m->type, "field key over 5 bytes or truncated");
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    f->p = m->p;
    int rc = field_value(d, m, f);
    f->len = (size_t)(m->p - f->p);
    return rc == TS_OK ? 1 : rc;
}

/* The payload of f, a length-delimited field, as a message of type t. */
static pbmsg sub(const fld *f, int t)
{
    return (pbmsg){f->p, f->p + f->len, t};
}

/* Notes an occurrence of a singular message field, f, just read from m. */
static void occ_add(occ *o, const pbmsg *m, const fld *f)
{
    if (!o->n++) {
        o->in = (pbmsg){f->at, m->p, m->type};
        o->num = f->num;
    }
    o->in.end = m->p;
}

/* The next occurrence in o as a message of type t: 1, or TS_OK after the last. */
static int occ_next(dec *d, occ *o, pbmsg *m, int t)
{
    fld f = {0};
    int rc = TS_OK;
    while (o->n && (rc = next(d, &o->in, &f)) == 1)
        if (f.num == o->num) {
            *m = sub(&f, t);
            return 1;
        }
    return rc;
}

/* Adds to n[i] how many fields of m have the number nums[i], i < k, so
 * that arrays can be sized before they are filled. */
static int count(dec *d, pbmsg m, const uint32_t *nums, int k, size_t *n)
{
    fld f = {0};
    int rc;
    while ((rc = next(d, &m, &f)) == 1)
        for (int i = 0; i < k; i++)
            n[i] += f.num == nums[i];
    return rc;
}

static int count_occ(dec *d, occ o, int t, uint32_t num, size_t *n)
{
    pbmsg m;
    int rc;
    while ((rc = occ_next(d, &o, &m, t)) == 1)
        if ((rc = count(d, m, &num, 1, n)) != TS_OK)
            return rc;
    return rc;
}

/* Charges n bytes to the budget: 0, or -1 when it is spent. */
static int charge(dec *d, size_t n)
{
    if (n > d->left) {
        d->exhausted = 1;
        return -1;
    }
    d->left -= n;
    return 0;
}

/* n zeroed elements of size bytes from the arena, within the budget. */
static void *take(dec *d, size_t n, size_t size)
{
    if (charge(d, n > SIZE_MAX / size ? SIZE_MAX : n * size) != 0)
        return NULL;
    return ts_arena_calloc(d->a, n, size);
}

/* Field f's bytes, NUL-terminated (pass 1 checked: UTF-8, no NUL). */
static const char *str(dec *d, const fld *f)
{
    char *s = charge(d, f->len + 1) == 0 ? ts_arena_alloc(d->a, f->len + 1) : NULL;
    if (s) {
        memcpy(s, f->p, f->len);
        s[f->len] = '\0';
    }
    return s;
}

static const char *base64(dec *d, const fld *f)
{
    return charge(d, (f->len + 2) / 3 * 4 + 1) == 0 ? ts_base64(f->p, f->len, d->a) : NULL;
}

/* As protobuf-c's bool: any wire type; true when a byte of the encoding has
 * a low bit set, which for wire type 2 is the length prefix when it is not 0. */
static int truth(const fld *f)
{
    if (f->wt == 2)
        return f->len != 0;
    for (size_t i = 0; i < f->len; i++)
        if (f->p[i] & 0x7f)
            return 1;
    return 0;
}

/* An id of up to 16 bytes is kept; of a longer one only its length (capped
 * at 1000), which is all the conversion needs to reject it. */
static void id_set(ts_otlp_id *id, const fld *f)
{
    memset(id->b, 0, sizeof(id->b));
    id->len = f->len <= 16 ? (int)f->len : (int)(f->len > 1000 ? 1000 : f->len);
    if (f->len <= 16)
        memcpy(id->b, f->p, f->len);
}

typedef int (*field_fn)(dec *d, const pbmsg *m, const fld *f, void *obj);

/* Hands every field of m to fn with obj. */
static int each_field(dec *d, pbmsg m, field_fn fn, void *obj)
{
    fld f = {0};
    int rc;
    while ((rc = next(d, &m, &f)) == 1)
        if ((rc = fn(d, &m, &f, obj)) != TS_OK)
            return rc;
    return rc;
}

/* Reads a message whose one repeated field is a list of KeyValues (number
 * num): sizes *attrs for them, then hands every field to fn with obj. */
static int dec_fields(dec *d, pbmsg m, uint32_t num, ts_attr **attrs, field_fn fn, void *obj)
{
    size_t n = 0;
    int rc = count(d, m, &num, 1, &n);
    if (rc != TS_OK)
        return rc;
    if (n && !(*attrs = take(d, n, sizeof(**attrs))))
        return TS_ENOMEM;
    return each_field(d, m, fn, obj);
}

/* The same for a singular message field sent in o's occurrences, merged
 * (as type): their KeyValues (number num) append into one array. */
static int dec_merged(dec *d, occ o, int type, uint32_t num, ts_attr **attrs, field_fn fn,
                      void *obj)
{
    size_t n = 0;
    pbmsg m;
    int rc = count_occ(d, o, type, num, &n);
    if (rc != TS_OK)
        return rc;
    if (n && !(*attrs = take(d, n, sizeof(**attrs))))
        return TS_ENOMEM;
    while ((rc = occ_next(d, &o, &m, type)) == 1)
        if ((rc = each_field(d, m, fn, obj)) != TS_OK)
            return rc;
    return rc;
}

static int dec_kv(dec *d, pbmsg m, ts_attr *kv);
static int dec_any(dec *d, pbmsg m, ts_attr_value *v);

/* ArrayValue.values into v->items, in order. */
static int dec_array(dec *d, pbmsg m, ts_attr_value *v)
{
    static const uint32_t num = 1;
    size_t n = 0;
    fld f = {0};
    int rc = count(d, m, &num, 1, &n);
    if (rc != TS_OK || !n)
        return rc;
    if (!(v->items = take(d, n, sizeof(*v->items))))
        return TS_ENOMEM;
    while ((rc = next(d, &m, &f)) == 1)
        if (f.num == 1 && (rc = dec_any(d, sub(&f, M_ANY), &v->items[v->nitems++])) != TS_OK)
            return rc;
    return rc;
}

static int kvlist_field(dec *d, const pbmsg *m, const fld *f, void *obj)
{
    ts_attr_value *v = obj;
    (void)m;
    return f->num == 1 ? dec_kv(d, sub(f, M_KV), &v->kvs[v->nkvs++]) : TS_OK;
}

/* KeyValueList.values into v->kvs, in order. */
static int dec_kvlist(dec *d, pbmsg m, ts_attr_value *v)
{
    return dec_fields(d, m, 1, &v->kvs, kvlist_field, v);
}

/* One arm of AnyValue's oneof, replacing the arm before it. */
static int dec_arm(dec *d, const pbmsg *m, const fld *f, ts_attr_value *v)
{
    memset(v, 0, sizeof(*v));
    if ((f->num == 3 && f->wt != 0) || (f->num == 4 && f->wt != 1))
        return wrong_type(d, m, f);
    switch (f->num) {
    case 1:
        v->type = TS_AV_STR;
        return (v->s = str(d, f)) ? TS_OK : TS_ENOMEM;
    case 2:
        v->type = TS_AV_BOOL;
        v->b = truth(f);
        return TS_OK;
    case 3:
        v->type = TS_AV_INT;
        v->i = (int64_t)f->v;
        return TS_OK;
    case 4:
        v->type = TS_AV_DOUBLE;
        memcpy(&v->d, &f->v, sizeof(v->d));
        return TS_OK;
    case 5:
        v->type = TS_AV_ARRAY;
        return dec_array(d, sub(f, M_ARR), v);
    case 6:
        v->type = TS_AV_KVLIST;
        return dec_kvlist(d, sub(f, M_KVLIST), v);
    default:
        v->type = TS_AV_BYTES;
        return (v->s = base64(d, f)) ? TS_OK : TS_ENOMEM;
    }
}

/* AnyValue: with no arm, v is left empty (TS_AV_EMPTY). */
static int dec_any(dec *d, pbmsg m, ts_attr_value *v)
{
    fld f = {0};
    int rc;
    memset(v, 0, sizeof(*v));
    while ((rc = next(d, &m, &f)) == 1)
        if (f.num >= 1 && f.num <= 7 && (rc = dec_arm(d, &m, &f, v)) != TS_OK)
            return rc;
    return rc;
}

/* KeyValue.value over its occurrences, folded as merge_messages folds them. */
static int dec_value(dec *d, occ o, ts_attr_value *v)
{
    ts_attr_value cur;
    pbmsg m;
    int rc;
    memset(v, 0, sizeof(*v));
    for (size_t i = 0; (rc = occ_next(d, &o, &m, M_ANY)) == 1; i++) {
        if ((rc = dec_any(d, m, &cur)) != TS_OK)
            return rc;
        if (i && cur.type == TS_AV_EMPTY && v->type == TS_AV_EMPTY)
            return malformed(d->err, M_KV, "an empty AnyValue merged into an empty one");
        if (cur.type != TS_AV_EMPTY || v->type == TS_AV_STR || (v->type == TS_AV_BYTES && !v->s[0]))
            *v = cur;
    }
    return rc;
}

static int dec_kv(dec *d, pbmsg m, ts_attr *kv)
{
    occ value = {0};
    fld f = {0};
    int rc;
    kv->key = "";
    while ((rc = next(d, &m, &f)) == 1) {
        if (f.num == 1 && !(kv->key = str(d, &f)))
            return TS_ENOMEM;
        if (f.num == 2)
            occ_add(&value, &m, &f);
    }
    return rc == TS_OK ? dec_value(d, value, &kv->v) : rc;
}

static int event_field(dec *d, const pbmsg *m, const fld *f, void *obj)
{
    ts_otlp_event *e = obj;
    switch (f->num) {
    case 1:
        if (f->wt != 1)
            return wrong_type(d, m, f);
        e->time_ns = f->v;
        return TS_OK;
    case 2:
        return (e->name = str(d, f)) ? TS_OK : TS_ENOMEM;
    case 3:
        return dec_kv(d, sub(f, M_KV), &e->attrs[e->nattrs++]);
    default:
        return TS_OK;
    }
}

static int dec_event(dec *d, pbmsg m, ts_otlp_event *e)
{
    e->name = "";
    return dec_fields(d, m, 3, &e->attrs, event_field, e);
}

static int link_field(dec *d, const pbmsg *m, const fld *f, void *obj)
{
    ts_otlp_link *l = obj;
    switch (f->num) {
    case 1:
        id_set(&l->trace_id, f);
        return TS_OK;
    case 2:
        id_set(&l->span_id, f);
        return TS_OK;
    case 3:
        return (l->trace_state = str(d, f)) ? TS_OK : TS_ENOMEM;
    case 4:
        return dec_kv(d, sub(f, M_KV), &l->attrs[l->nattrs++]);
    case 6: /* flags, fixed32: not kept */
        return f->wt == 5 ? TS_OK : wrong_type(d, m, f);
    default:
        return TS_OK;
    }
}

static int dec_link(dec *d, pbmsg m, ts_otlp_link *l)
{
    l->trace_state = "";
    return dec_fields(d, m, 4, &l->attrs, link_field, l);
}

/* One occurrence of Span.status: the code is reset, since merge_messages
 * keeps the latter's proto3 int whether or not it was sent. */
static int status_one(dec *d, pbmsg m, ts_otlp_span *s)
{
    fld f = {0};
    int rc;
    s->status_code = 0;
    while ((rc = next(d, &m, &f)) == 1) {
        if (f.num == 2 && !(s->status_message = str(d, &f)))
            return TS_ENOMEM;
        if (f.num == 3 && f.wt != 0)
            return wrong_type(d, &m, &f);
        if (f.num == 3)
            s->status_code = (int32_t)(uint32_t)f.v;
    }
    return rc;
}

static int dec_status(dec *d, occ o, ts_otlp_span *s)
{
    pbmsg m;
    int rc;
    s->status_message = "";
    while ((rc = occ_next(d, &o, &m, M_STATUS)) == 1)
        if ((rc = status_one(d, m, s)) != TS_OK)
            return rc;
    return rc;
}

static int span_field(dec *d, const pbmsg *m, const fld *f, ts_otlp_span *s, occ *status)
{
    switch (f->num) {
    case 1:
        id_set(&s->trace_id, f);
        return TS_OK;
    case 2:
        id_set(&s->span_id, f);
        return TS_OK;
    case 3:
        return (s->trace_state = str(d, f)) ? TS_OK : TS_ENOMEM;
    case 4:
        id_set(&s->parent_id, f);
        return TS_OK;
    case 5:
        return (s->name = str(d, f)) ? TS_OK : TS_ENOMEM;
    case 6:
        if (f->wt != 0)
            return wrong_type(d, m, f);
        s->kind = (int32_t)(uint32_t)f->v;
        return TS_OK;
    case 7:
    case 8:
        if (f->wt != 1)
            return wrong_type(d, m, f);
        *(f->num == 7 ? &s->start_ns : &s->end_ns) = f->v;
        return TS_OK;
    case 9:
        return dec_kv(d, sub(f, M_KV), &s->attrs[s->nattrs++]);
    case 11:
        return dec_event(d, sub(f, M_EVENT), &s->events[s->nevents++]);
    case 13:
        return dec_link(d, sub(f, M_LINK), &s->links[s->nlinks++]);
    case 15:
        occ_add(status, m, f);
        return TS_OK;
    case 16: /* flags, fixed32: not kept */
        return f->wt == 5 ? TS_OK : wrong_type(d, m, f);
    default:
        return TS_OK;
    }
}

/* Sizes the span's attribute, event and link arrays, counted in m. */
static int span_arrays(dec *d, pbmsg m, ts_otlp_span *s)
{
    static const uint32_t nums[3] = {9, 11, 13};
    size_t n[3] = {0, 0, 0};
    int rc = count(d, m, nums, 3, n);
    if (rc != TS_OK)
        return rc;
    if ((n[0] && !(s->attrs = take(d, n[0], sizeof(*s->attrs)))) ||
        (n[1] && !(s->events = take(d, n[1], sizeof(*s->events)))) ||
        (n[2] && !(s->links = take(d, n[2], sizeof(*s->links)))))
        return TS_ENOMEM;
    return TS_OK;
}

static int dec_span(dec *d, pbmsg m, const ts_otlp_resource *res, const ts_otlp_scope *sc)
{
    occ status = {0};
    fld f = {0};
    int rc;
    if (d->out->nspans == d->cap) /* cannot be: pass 1 counted every span */
        return malformed(d->err, M_SPAN, "more spans than counted");
    ts_otlp_span *s = &d->out->spans[d->out->nspans++];
    s->resource = res;
    s->scope = sc;
    s->trace_state = s->name = "";
    if ((rc = span_arrays(d, m, s)) != TS_OK)
        return rc;
    while ((rc = next(d, &m, &f)) == 1)
        if ((rc = span_field(d, &m, &f, s, &status)) != TS_OK)
            return rc;
    return rc == TS_OK && status.n ? dec_status(d, status, s) : rc;
}

/* A field of ScopeSpans.scope: strings replace, attributes append. */
static int scope_field(dec *d, const pbmsg *m, const fld *f, void *obj)
{
    ts_otlp_scope *sc = obj;
    (void)m;
    switch (f->num) {
    case 1:
        return (sc->name = str(d, f)) ? TS_OK : TS_ENOMEM;
    case 2:
        return (sc->version = str(d, f)) ? TS_OK : TS_ENOMEM;
    case 3:
        return dec_kv(d, sub(f, M_KV), &sc->attrs[sc->nattrs++]);
    default:
        return TS_OK;
    }
}

static int dec_scope(dec *d, occ o, ts_otlp_scope *sc)
{
    sc->name = sc->version = "";
    return dec_merged(d, o, M_SCOPE, 3, &sc->attrs, scope_field, sc);
}

static int dec_sspans(dec *d, pbmsg m, const ts_otlp_resource *res)
{
    ts_otlp_scope *sc = take(d, 1, sizeof(*sc));
    occ scope = {0};
    fld f = {0};
    int rc;
    if (!sc)
        return TS_ENOMEM;
    sc->schema_url = ""; /* name and version stay NULL without a scope */
    while ((rc = next(d, &m, &f)) == 1) {
        if (f.num == 1)
            occ_add(&scope, &m, &f);
        if (f.num == 2 && (rc = dec_span(d, sub(&f, M_SPAN), res, sc)) != TS_OK)
            return rc;
        if (f.num == 3 && !(sc->schema_url = str(d, &f)))
            return TS_ENOMEM;
    }
    return rc == TS_OK && scope.n ? dec_scope(d, scope, sc) : rc;
}

/* A field of ResourceSpans.resource: its attributes append. */
static int resource_field(dec *d, const pbmsg *m, const fld *f, void *obj)
{
    ts_otlp_resource *res = obj;
    (void)m;
    return f->num == 1 ? dec_kv(d, sub(f, M_KV), &res->attrs[res->nattrs++]) : TS_OK;
}

static int dec_rspans(dec *d, pbmsg m)
{
    ts_otlp_resource *res = take(d, 1, sizeof(*res));
    occ resource = {0};
    fld f = {0};
    int rc;
    if (!res)
        return TS_ENOMEM;
    res->schema_url = "";
    while ((rc = next(d, &m, &f)) == 1) {
        if (f.num == 1)
            occ_add(&resource, &m, &f);
        if (f.num == 2 && (rc = dec_sspans(d, sub(&f, M_SSPANS), res)) != TS_OK)
            return rc;
        if (f.num == 3 && !(res->schema_url = str(d, &f)))
            return TS_ENOMEM;
    }
    return rc == TS_OK ? dec_merged(d, resource, M_RES, 1, &res->attrs, resource_field, res) : rc;
}

static int dec_req(dec *d, pbmsg m)
{
    fld f = {0};
    int rc;
    if (d->cap && !(d->out->spans = take(d, d->cap, sizeof(*d->out->spans))))
        return TS_ENOMEM;
    while ((rc = next(d, &m, &f)) == 1)
        if (f.num == 1 && (rc = dec_rspans(d, sub(&f, M_RSPANS))) != TS_OK)
            return rc;
    return rc;
}

int ts_otlp_pb_scan(const void *buf, size_t len, const ts_otlp_limits *lim, ts_otlp_pb_counts *n,
                    ts_err *err)
{
    scan s = {lim, err, 0, 0, 0};
    int rc = scan_msg(&s, buf, (const uint8_t *)buf + len, M_REQ, 0);
    n->spans = s.spans;
    n->messages = s.messages;
    n->fields = s.fields;
    return rc;
}

int ts_otlp_pb_decode(const void *buf, size_t len, const ts_otlp_limits *lim, ts_arena *a,
                      ts_otlp_req *out, ts_err *err)
{
    ts_otlp_pb_counts s;
    memset(out, 0, sizeof(*out));
    int rc = ts_otlp_pb_scan(buf, len, lim, &s, err);
    if (rc != TS_OK)
        return rc;
    /* The budget of the protobuf-c unpack this pass replaced, which also
     * had to hold protobuf-c's structs and scan slabs, now over everything
     * decoded. This pass stays well inside it (a message costs at most one
     * output struct, under 256 bytes; a field at most a copy of its bytes,
     * or 4/3 of them in base64), so the check is a backstop, failing as the
     * unpack did. (protobuf-c, which copies the repeated fields at every
     * merge, could run out on a singular message sent hundreds of times.) */
    dec d = {a, err, len * 2 + s.messages * 256 + s.fields * 192 + 4096, 0, out, s.spans};
    rc = dec_req(&d, (pbmsg){buf, (const uint8_t *)buf + len, M_REQ});
    if (rc == TS_ENOMEM)
        rc = d.exhausted ? ts_err_set(err, TS_ETOOBIG,
                                      "the decoded request exceeds the "
                                      "decoder's memory budget for its size")
                         : ts_err_set(err, TS_ENOMEM, "out of memory");
    if (rc != TS_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

char *ts_otlp_pb_response(long long rejected, const char *msg, size_t *len)
{
    Tsotlp__ExportTraceServiceResponse r = TSOTLP__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    Tsotlp__ExportTracePartialSuccess ps = TSOTLP__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    if (rejected > 0 || (msg && msg[0])) {
        ps.rejected_spans = rejected;
        ps.error_message = (char *)(msg ? msg : "");
        r.partial_success = &ps;
    }
    *len = tsotlp__export_trace_service_response__get_packed_size(&r);
    uint8_t *out = malloc(*len + 1);
    if (out)
        tsotlp__export_trace_service_response__pack(&r, out);
    return (char *)out;
}

char *ts_otlp_pb_status(int code, const char *msg, size_t *len)
{
    Tsotlp__RpcStatus st = TSOTLP__RPC_STATUS__INIT;
    st.code = code;
    st.message = (char *)(msg ? msg : "");
    *len = tsotlp__rpc_status__get_packed_size(&st);
    uint8_t *out = malloc(*len + 1);
    if (out)
        tsotlp__rpc_status__pack(&st, out);
    return (char *)out;
}
