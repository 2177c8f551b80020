/* otlp_pb.c: see otlp_pb.h. Two passes: a schema-aware scan of the wire
 * format (limits, UTF-8, depth), then protobuf-c's unpack into the arena,
 * then a walk that fills the shared ts_otlp_req. */
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

static int malformed(scan *s, int type, const char *what)
{
    return ts_err_set(s->err, TS_EINVAL, "invalid protobuf body: %s in %s", what, mnames[type]);
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
            return malformed(s, type, "truncated field key");
        uint32_t num = (uint32_t)(key >> 3);
        int wt = (int)(key & 7);
        if (num == 0 || key >> 3 > 0x1fffffff)
            return malformed(s, type, "invalid field number");
        s->fields++;
        const fdef *f = schema[type];
        while (f->num && f->num != num)
            f++;
        if (f->num && wt != 2)
            return malformed(s, type, "wrong wire type for a length-delimited field");
        switch (wt) {
        case 0:
            if (varint(&p, end, &v) != 0)
                return malformed(s, type, "truncated varint");
            continue;
        case 1:
            if (end - p < 8)
                return malformed(s, type, "truncated fixed64");
            p += 8;
            continue;
        case 5:
            if (end - p < 4)
                return malformed(s, type, "truncated fixed32");
            p += 4;
            continue;
        case 2:
            break;
        default:
            return malformed(s, type, "unsupported wire type");
        }
        if (varint(&p, end, &v) != 0 || v > (uint64_t)(end - p))
            return malformed(s, type, "length past the end of the body");
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

/* ---- pass 2: protobuf-c, allocating from the arena under a budget ---- */

typedef struct budget {
    ts_arena *a;
    size_t left;
    int exhausted;
} budget;

static void *pb_alloc(void *data, size_t size)
{
    budget *b = data;
    if (size > b->left) {
        b->exhausted = 1;
        return NULL;
    }
    b->left -= size;
    return ts_arena_alloc(b->a, size ? size : 1);
}

static void pb_free(void *data, void *ptr)
{
    (void)data; /* arena memory goes with the request */
    (void)ptr;
}

/* ---- pass 3: protobuf-c structs -> ts_otlp_req ---- */

static void id_from(const ProtobufCBinaryData *d, ts_otlp_id *id)
{
    id->len = d->len <= 16 ? (int)d->len : (int)(d->len > 1000 ? 1000 : d->len);
    if (d->len <= 16 && d->len)
        memcpy(id->b, d->data, d->len);
}

static int conv_kvs(Tsotlp__KeyValue **kv, size_t n, ts_arena *a, ts_attr **out, size_t *nout);

static int conv_value(const Tsotlp__AnyValue *v, ts_arena *a, ts_attr_value *o)
{
    memset(o, 0, sizeof(*o));
    if (!v)
        return TS_OK;
    switch (v->value_case) {
    case TSOTLP__ANY_VALUE__VALUE_STRING_VALUE:
        o->type = TS_AV_STR;
        o->s = v->string_value;
        break;
    case TSOTLP__ANY_VALUE__VALUE_BOOL_VALUE:
        o->type = TS_AV_BOOL;
        o->b = v->bool_value != 0;
        break;
    case TSOTLP__ANY_VALUE__VALUE_INT_VALUE:
        o->type = TS_AV_INT;
        o->i = v->int_value;
        break;
    case TSOTLP__ANY_VALUE__VALUE_DOUBLE_VALUE:
        o->type = TS_AV_DOUBLE;
        o->d = v->double_value;
        break;
    case TSOTLP__ANY_VALUE__VALUE_BYTES_VALUE:
        o->type = TS_AV_BYTES;
        if (!(o->s = ts_base64(v->bytes_value.data, v->bytes_value.len, a)))
            return TS_ENOMEM;
        break;
    case TSOTLP__ANY_VALUE__VALUE_ARRAY_VALUE: {
        const Tsotlp__ArrayValue *arr = v->array_value;
        o->type = TS_AV_ARRAY;
        if (!arr || !arr->n_values)
            break;
        if (!(o->items = ts_arena_alloc(a, arr->n_values * sizeof(*o->items))))
            return TS_ENOMEM;
        for (size_t i = 0; i < arr->n_values; i++)
            if (conv_value(arr->values[i], a, &o->items[i]) != TS_OK)
                return TS_ENOMEM;
        o->nitems = arr->n_values;
        break;
    }
    case TSOTLP__ANY_VALUE__VALUE_KVLIST_VALUE:
        o->type = TS_AV_KVLIST;
        if (v->kvlist_value)
            return conv_kvs(v->kvlist_value->values, v->kvlist_value->n_values, a, &o->kvs,
                            &o->nkvs);
        break;
    default:
        break;
    }
    return TS_OK;
}

static int conv_kvs(Tsotlp__KeyValue **kv, size_t n, ts_arena *a, ts_attr **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (!n)
        return TS_OK;
    if (!(*out = ts_arena_alloc(a, n * sizeof(**out))))
        return TS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        (*out)[i].key = kv[i]->key ? kv[i]->key : "";
        if (conv_value(kv[i]->value, a, &(*out)[i].v) != TS_OK)
            return TS_ENOMEM;
    }
    *nout = n;
    return TS_OK;
}

static int conv_span(const Tsotlp__Span *p, ts_arena *a, ts_otlp_span *s)
{
    id_from(&p->trace_id, &s->trace_id);
    id_from(&p->span_id, &s->span_id);
    id_from(&p->parent_span_id, &s->parent_id);
    s->trace_state = p->trace_state;
    s->name = p->name;
    s->kind = p->kind;
    s->start_ns = p->start_time_unix_nano;
    s->end_ns = p->end_time_unix_nano;
    if (p->status) {
        s->status_code = p->status->code;
        s->status_message = p->status->message;
    }
    if (conv_kvs(p->attributes, p->n_attributes, a, &s->attrs, &s->nattrs) != TS_OK)
        return TS_ENOMEM;
    if (p->n_events && !(s->events = ts_arena_calloc(a, p->n_events, sizeof(*s->events))))
        return TS_ENOMEM;
    for (size_t i = 0; i < p->n_events; i++) {
        const Tsotlp__Span__Event *e = p->events[i];
        s->events[i].time_ns = e->time_unix_nano;
        s->events[i].name = e->name;
        if (conv_kvs(e->attributes, e->n_attributes, a, &s->events[i].attrs,
                     &s->events[i].nattrs) != TS_OK)
            return TS_ENOMEM;
    }
    s->nevents = p->n_events;
    if (p->n_links && !(s->links = ts_arena_calloc(a, p->n_links, sizeof(*s->links))))
        return TS_ENOMEM;
    for (size_t i = 0; i < p->n_links; i++) {
        const Tsotlp__Span__Link *l = p->links[i];
        id_from(&l->trace_id, &s->links[i].trace_id);
        id_from(&l->span_id, &s->links[i].span_id);
        s->links[i].trace_state = l->trace_state;
        if (conv_kvs(l->attributes, l->n_attributes, a, &s->links[i].attrs, &s->links[i].nattrs) !=
            TS_OK)
            return TS_ENOMEM;
    }
    s->nlinks = p->n_links;
    return TS_OK;
}

static int walk(const Tsotlp__ExportTraceServiceRequest *m, size_t nspans, ts_arena *a,
                ts_otlp_req *out)
{
    if (nspans && !(out->spans = ts_arena_calloc(a, nspans, sizeof(*out->spans))))
        return TS_ENOMEM;
    for (size_t i = 0; i < m->n_resource_spans; i++) {
        const Tsotlp__ResourceSpans *rs = m->resource_spans[i];
        ts_otlp_resource *res = ts_arena_calloc(a, 1, sizeof(*res));
        if (!res)
            return TS_ENOMEM;
        res->schema_url = rs->schema_url;
        if (rs->resource && conv_kvs(rs->resource->attributes, rs->resource->n_attributes, a,
                                     &res->attrs, &res->nattrs) != TS_OK)
            return TS_ENOMEM;
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const Tsotlp__ScopeSpans *ss = rs->scope_spans[j];
            ts_otlp_scope *sc = ts_arena_calloc(a, 1, sizeof(*sc));
            if (!sc)
                return TS_ENOMEM;
            sc->schema_url = ss->schema_url;
            if (ss->scope) {
                sc->name = ss->scope->name;
                sc->version = ss->scope->version;
                if (conv_kvs(ss->scope->attributes, ss->scope->n_attributes, a, &sc->attrs,
                             &sc->nattrs) != TS_OK)
                    return TS_ENOMEM;
            }
            for (size_t k = 0; k < ss->n_spans && out->nspans < nspans; k++) {
                ts_otlp_span *s = &out->spans[out->nspans++];
                s->resource = res;
                s->scope = sc;
                if (conv_span(ss->spans[k], a, s) != TS_OK)
                    return TS_ENOMEM;
            }
        }
    }
    return TS_OK;
}

int ts_otlp_pb_decode(const void *buf, size_t len, const ts_otlp_limits *lim, ts_arena *a,
                      ts_otlp_req *out, ts_err *err)
{
    scan s = {lim, err, 0, 0, 0};
    memset(out, 0, sizeof(*out));
    int rc = scan_msg(&s, buf, (const uint8_t *)buf + len, M_REQ, 0);
    if (rc != TS_OK)
        return rc;
    /* Decoded structs are larger than their wire form; the budget allows
     * each message its struct and each field its scan slot (protobuf-c
     * scans members into slabs before unpacking), plus copies of the body's
     * bytes. Within it, unpack cannot fail for want of memory. */
    budget b = {a, len * 2 + s.messages * 256 + s.fields * 192 + 4096, 0};
    ProtobufCAllocator al = {pb_alloc, pb_free, &b};
    Tsotlp__ExportTraceServiceRequest *m =
        tsotlp__export_trace_service_request__unpack(&al, len, buf);
    if (!m)
        return b.exhausted ? ts_err_set(err, TS_ETOOBIG,
                                        "the decoded request exceeds the "
                                        "decoder's memory budget for its size")
                           : ts_err_set(err, TS_EINVAL,
                                        "invalid protobuf body: not an ExportTraceServiceRequest");
    return walk(m, s.spans, a, out) == TS_OK ? TS_OK : ts_err_set(err, TS_ENOMEM, "out of memory");
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
