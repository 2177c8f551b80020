/* otlp_pb_ref.h: the OTLP protobuf decoder built on protobuf-c, copied from
 * codec/otlp_pb.c as of 2d93cb4 (protobuf-c's unpack under the memory
 * budget, a walk of protobuf-c's structs; the schema scan before them is
 * otlp_pb.c's own, ts_otlp_pb_scan), kept as the reference
 * that test_otlp_pb_diff.c and the otlp_pb fuzz target compare
 * ts_otlp_pb_decode with; and the deep comparison of two ts_otlp_req.
 * Header-only (every function is static); needs the generated
 * otlp_trace.pb-c.h on the include path. */
#ifndef TS_TEST_OTLP_PB_REF_H
#define TS_TEST_OTLP_PB_REF_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/otlp_pb.h"
#include "otlp_trace.pb-c.h"

/* Not every user calls every function. */
#pragma GCC diagnostic ignored "-Wunused-function"

/* ---- the reference: otlp_pb.c's second pass as it was, names prefixed
 * ref_, after the first pass that both decoders share (ts_otlp_pb_scan);
 * the budget can be lifted (unlimited) and is reported (budget_out) ---- */

/* ---- pass 2: protobuf-c, allocating from the arena under a budget ---- */

typedef struct ref_budget {
    ts_arena *a;
    size_t left;
    int exhausted;
} ref_budget;

static void *ref_pb_alloc(void *data, size_t size)
{
    ref_budget *b = data;
    if (size > b->left) {
        b->exhausted = 1;
        return NULL;
    }
    b->left -= size;
    return ts_arena_alloc(b->a, size ? size : 1);
}

static void ref_pb_free(void *data, void *ptr)
{
    (void)data; /* arena memory goes with the request */
    (void)ptr;
}

/* ---- pass 3: protobuf-c structs -> ts_otlp_req ---- */

static void ref_id_from(const ProtobufCBinaryData *d, ts_otlp_id *id)
{
    id->len = d->len <= 16 ? (int)d->len : (int)(d->len > 1000 ? 1000 : d->len);
    if (d->len <= 16 && d->len)
        memcpy(id->b, d->data, d->len);
}

static int ref_conv_kvs(Tsotlp__KeyValue **kv, size_t n, ts_arena *a, ts_attr **out, size_t *nout);

static int ref_conv_value(const Tsotlp__AnyValue *v, ts_arena *a, ts_attr_value *o)
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
            if (ref_conv_value(arr->values[i], a, &o->items[i]) != TS_OK)
                return TS_ENOMEM;
        o->nitems = arr->n_values;
        break;
    }
    case TSOTLP__ANY_VALUE__VALUE_KVLIST_VALUE:
        o->type = TS_AV_KVLIST;
        if (v->kvlist_value)
            return ref_conv_kvs(v->kvlist_value->values, v->kvlist_value->n_values, a, &o->kvs,
                                &o->nkvs);
        break;
    default:
        break;
    }
    return TS_OK;
}

static int ref_conv_kvs(Tsotlp__KeyValue **kv, size_t n, ts_arena *a, ts_attr **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (!n)
        return TS_OK;
    if (!(*out = ts_arena_alloc(a, n * sizeof(**out))))
        return TS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        (*out)[i].key = kv[i]->key ? kv[i]->key : "";
        if (ref_conv_value(kv[i]->value, a, &(*out)[i].v) != TS_OK)
            return TS_ENOMEM;
    }
    *nout = n;
    return TS_OK;
}

static int ref_conv_span(const Tsotlp__Span *p, ts_arena *a, ts_otlp_span *s)
{
    ref_id_from(&p->trace_id, &s->trace_id);
    ref_id_from(&p->span_id, &s->span_id);
    ref_id_from(&p->parent_span_id, &s->parent_id);
    s->trace_state = p->trace_state;
    s->name = p->name;
    s->kind = p->kind;
    s->start_ns = p->start_time_unix_nano;
    s->end_ns = p->end_time_unix_nano;
    if (p->status) {
        s->status_code = p->status->code;
        s->status_message = p->status->message;
    }
    if (ref_conv_kvs(p->attributes, p->n_attributes, a, &s->attrs, &s->nattrs) != TS_OK)
        return TS_ENOMEM;
    if (p->n_events && !(s->events = ts_arena_calloc(a, p->n_events, sizeof(*s->events))))
        return TS_ENOMEM;
    for (size_t i = 0; i < p->n_events; i++) {
        const Tsotlp__Span__Event *e = p->events[i];
        s->events[i].time_ns = e->time_unix_nano;
        s->events[i].name = e->name;
        if (ref_conv_kvs(e->attributes, e->n_attributes, a, &s->events[i].attrs,
                         &s->events[i].nattrs) != TS_OK)
            return TS_ENOMEM;
    }
    s->nevents = p->n_events;
    if (p->n_links && !(s->links = ts_arena_calloc(a, p->n_links, sizeof(*s->links))))
        return TS_ENOMEM;
    for (size_t i = 0; i < p->n_links; i++) {
        const Tsotlp__Span__Link *l = p->links[i];
        ref_id_from(&l->trace_id, &s->links[i].trace_id);
        ref_id_from(&l->span_id, &s->links[i].span_id);
        s->links[i].trace_state = l->trace_state;
        if (ref_conv_kvs(l->attributes, l->n_attributes, a, &s->links[i].attrs,
                         &s->links[i].nattrs) != TS_OK)
            return TS_ENOMEM;
    }
    s->nlinks = p->n_links;
    return TS_OK;
}

static int ref_walk(const Tsotlp__ExportTraceServiceRequest *m, size_t nspans, ts_arena *a,
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
        if (rs->resource && ref_conv_kvs(rs->resource->attributes, rs->resource->n_attributes, a,
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
                if (ref_conv_kvs(ss->scope->attributes, ss->scope->n_attributes, a, &sc->attrs,
                                 &sc->nattrs) != TS_OK)
                    return TS_ENOMEM;
            }
            for (size_t k = 0; k < ss->n_spans && out->nspans < nspans; k++) {
                ts_otlp_span *s = &out->spans[out->nspans++];
                s->resource = res;
                s->scope = sc;
                if (ref_conv_span(ss->spans[k], a, s) != TS_OK)
                    return TS_ENOMEM;
            }
        }
    }
    return TS_OK;
}

static int ref_otlp_pb_decode(const void *buf, size_t len, const ts_otlp_limits *lim, ts_arena *a,
                              ts_otlp_req *out, ts_err *err, int unlimited, size_t *budget_out)
{
    ts_otlp_pb_counts s;
    memset(out, 0, sizeof(*out));
    int rc = ts_otlp_pb_scan(buf, len, lim, &s, err);
    if (rc != TS_OK)
        return rc;
    /* Decoded structs are larger than their wire form; the budget allows
     * each message its struct and each field its scan slot (protobuf-c
     * scans members into slabs before unpacking), plus copies of the body's
     * bytes. Within it, unpack cannot fail for want of memory. */
    *budget_out = len * 2 + s.messages * 256 + s.fields * 192 + 4096;
    ref_budget b = {a, unlimited ? SIZE_MAX : *budget_out, 0};
    ProtobufCAllocator al = {ref_pb_alloc, ref_pb_free, &b};
    Tsotlp__ExportTraceServiceRequest *m =
        tsotlp__export_trace_service_request__unpack(&al, len, buf);
    if (!m)
        return b.exhausted ? ts_err_set(err, TS_ETOOBIG,
                                        "the decoded request exceeds the "
                                        "decoder's memory budget for its size")
                           : ts_err_set(err, TS_EINVAL,
                                        "invalid protobuf body: not an ExportTraceServiceRequest");
    return ref_walk(m, s.spans, a, out) == TS_OK ? TS_OK
                                                 : ts_err_set(err, TS_ENOMEM, "out of memory");
}

/* ---- deep comparison ---- */

/* Where the comparison is (a path like spans[2].attrs[0].v.items[1]) and,
 * after a difference, what differs. */
typedef struct ref_diff {
    char path[400];
    size_t len;
    char why[1024];
} ref_diff;

/* Appends ".name" (i == SIZE_MAX) or ".name[i]" to the path; returns the
 * length to restore it to. */
static size_t ref_at(ref_diff *d, const char *name, size_t i)
{
    size_t mark = d->len;
    size_t room = sizeof(d->path) - d->len;
    int k = i == SIZE_MAX ? snprintf(d->path + d->len, room, ".%s", name)
                          : snprintf(d->path + d->len, room, ".%s[%zu]", name, i);
    d->len += k < 0 ? 0 : (size_t)k < room ? (size_t)k : room - 1;
    return mark;
}

static void ref_back(ref_diff *d, size_t mark)
{
    d->len = mark;
    d->path[mark] = '\0';
}

static int ref_same_u64(ref_diff *d, const char *name, uint64_t x, uint64_t y)
{
    if (x == y)
        return 1;
    snprintf(d->why, sizeof(d->why), "%.400s.%.40s: %llu vs %llu", d->path, name,
             (unsigned long long)x, (unsigned long long)y);
    return 0;
}

static int ref_same_str(ref_diff *d, const char *name, const char *x, const char *y)
{
    if ((!x && !y) || (x && y && strcmp(x, y) == 0))
        return 1;
    snprintf(d->why, sizeof(d->why), "%.400s.%.40s: \"%.200s\" vs \"%.200s\"", d->path, name,
             x ? x : "(null)", y ? y : "(null)");
    return 0;
}

/* Whether two pointers are both NULL or both set (empty lists are NULL). */
static int ref_same_null(ref_diff *d, const char *name, const void *x, const void *y)
{
    return ref_same_u64(d, name, !x, !y);
}

static int ref_same_attrs(ref_diff *d, const char *name, const ts_attr *x, size_t nx,
                          const ts_attr *y, size_t ny);

static int ref_same_value(ref_diff *d, const ts_attr_value *x, const ts_attr_value *y)
{
    uint64_t dx, dy;
    memcpy(&dx, &x->d, sizeof(dx)); /* bit for bit: NaNs and -0 too */
    memcpy(&dy, &y->d, sizeof(dy));
    if (!ref_same_u64(d, "type", x->type, y->type) || !ref_same_str(d, "s", x->s, y->s) ||
        !ref_same_u64(d, "i", (uint64_t)x->i, (uint64_t)y->i) || !ref_same_u64(d, "d", dx, dy) ||
        !ref_same_u64(d, "b", (uint64_t)x->b, (uint64_t)y->b) ||
        !ref_same_u64(d, "nitems", x->nitems, y->nitems) ||
        !ref_same_null(d, "items", x->items, y->items))
        return 0;
    for (size_t i = 0; i < x->nitems; i++) {
        size_t mark = ref_at(d, "items", i);
        if (!ref_same_value(d, &x->items[i], &y->items[i]))
            return 0;
        ref_back(d, mark);
    }
    return ref_same_attrs(d, "kvs", x->kvs, x->nkvs, y->kvs, y->nkvs);
}

static int ref_same_attrs(ref_diff *d, const char *name, const ts_attr *x, size_t nx,
                          const ts_attr *y, size_t ny)
{
    size_t mark = ref_at(d, name, SIZE_MAX);
    if (!ref_same_u64(d, "n", nx, ny) || !ref_same_null(d, "list", x, y))
        return 0;
    ref_back(d, mark);
    for (size_t i = 0; i < nx; i++) {
        mark = ref_at(d, name, i);
        if (!ref_same_str(d, "key", x[i].key, y[i].key))
            return 0;
        size_t v = ref_at(d, "v", SIZE_MAX);
        if (!ref_same_value(d, &x[i].v, &y[i].v))
            return 0;
        ref_back(d, v);
        ref_back(d, mark);
    }
    return 1;
}

/* All 16 bytes: both decoders leave the unused ones 0. */
static int ref_same_id(ref_diff *d, const char *name, const ts_otlp_id *x, const ts_otlp_id *y)
{
    size_t mark = ref_at(d, name, SIZE_MAX);
    if (!ref_same_u64(d, "len", (uint64_t)x->len, (uint64_t)y->len))
        return 0;
    for (size_t i = 0; i < sizeof(x->b); i++)
        if (!ref_same_u64(d, "b[i]", x->b[i], y->b[i]))
            return 0;
    ref_back(d, mark);
    return 1;
}

static int ref_same_event(ref_diff *d, const ts_otlp_event *x, const ts_otlp_event *y)
{
    return ref_same_u64(d, "time_ns", x->time_ns, y->time_ns) &&
           ref_same_str(d, "name", x->name, y->name) &&
           ref_same_attrs(d, "attrs", x->attrs, x->nattrs, y->attrs, y->nattrs);
}

static int ref_same_link(ref_diff *d, const ts_otlp_link *x, const ts_otlp_link *y)
{
    return ref_same_id(d, "trace_id", &x->trace_id, &y->trace_id) &&
           ref_same_id(d, "span_id", &x->span_id, &y->span_id) &&
           ref_same_str(d, "trace_state", x->trace_state, y->trace_state) &&
           ref_same_attrs(d, "attrs", x->attrs, x->nattrs, y->attrs, y->nattrs);
}

static int ref_same_owners(ref_diff *d, const ts_otlp_span *x, const ts_otlp_span *y)
{
    const ts_otlp_resource *rx = x->resource, *ry = y->resource;
    const ts_otlp_scope *sx = x->scope, *sy = y->scope;
    size_t mark = ref_at(d, "resource", SIZE_MAX);
    if (!ref_same_null(d, "ptr", rx, ry) || !ref_same_null(d, "scope", sx, sy))
        return 0;
    if (rx && (!ref_same_str(d, "schema_url", rx->schema_url, ry->schema_url) ||
               !ref_same_attrs(d, "attrs", rx->attrs, rx->nattrs, ry->attrs, ry->nattrs)))
        return 0;
    ref_back(d, mark);
    mark = ref_at(d, "scope", SIZE_MAX);
    if (sx && (!ref_same_str(d, "name", sx->name, sy->name) ||
               !ref_same_str(d, "version", sx->version, sy->version) ||
               !ref_same_str(d, "schema_url", sx->schema_url, sy->schema_url) ||
               !ref_same_attrs(d, "attrs", sx->attrs, sx->nattrs, sy->attrs, sy->nattrs)))
        return 0;
    ref_back(d, mark);
    return 1;
}

static int ref_same_lists(ref_diff *d, const ts_otlp_span *x, const ts_otlp_span *y)
{
    if (!ref_same_attrs(d, "attrs", x->attrs, x->nattrs, y->attrs, y->nattrs) ||
        !ref_same_u64(d, "nevents", x->nevents, y->nevents) ||
        !ref_same_null(d, "events", x->events, y->events) ||
        !ref_same_u64(d, "nlinks", x->nlinks, y->nlinks) ||
        !ref_same_null(d, "links", x->links, y->links))
        return 0;
    for (size_t i = 0; i < x->nevents; i++) {
        size_t mark = ref_at(d, "events", i);
        if (!ref_same_event(d, &x->events[i], &y->events[i]))
            return 0;
        ref_back(d, mark);
    }
    for (size_t i = 0; i < x->nlinks; i++) {
        size_t mark = ref_at(d, "links", i);
        if (!ref_same_link(d, &x->links[i], &y->links[i]))
            return 0;
        ref_back(d, mark);
    }
    return 1;
}

static int ref_same_span(ref_diff *d, const ts_otlp_span *x, const ts_otlp_span *y)
{
    return ref_same_id(d, "trace_id", &x->trace_id, &y->trace_id) &&
           ref_same_id(d, "span_id", &x->span_id, &y->span_id) &&
           ref_same_id(d, "parent_id", &x->parent_id, &y->parent_id) &&
           ref_same_str(d, "trace_state", x->trace_state, y->trace_state) &&
           ref_same_str(d, "name", x->name, y->name) &&
           ref_same_u64(d, "kind", (uint64_t)x->kind, (uint64_t)y->kind) &&
           ref_same_u64(d, "start_ns", x->start_ns, y->start_ns) &&
           ref_same_u64(d, "end_ns", x->end_ns, y->end_ns) &&
           ref_same_u64(d, "status_code", (uint64_t)x->status_code, (uint64_t)y->status_code) &&
           ref_same_str(d, "status_message", x->status_message, y->status_message) &&
           ref_same_lists(d, x, y) && ref_same_owners(d, x, y);
}

/* 1 when x and y hold the same spans, with the same resources and scopes
 * shared by the same runs of spans; else 0 and d->why names the first
 * difference. */
static int ref_same_req(ref_diff *d, const ts_otlp_req *x, const ts_otlp_req *y)
{
    d->len = 0;
    d->path[0] = '\0';
    d->why[0] = '\0';
    if (!ref_same_u64(d, "nspans", x->nspans, y->nspans) ||
        !ref_same_null(d, "spans", x->spans, y->spans))
        return 0;
    for (size_t i = 0; i < x->nspans; i++) {
        size_t mark = ref_at(d, "spans", i);
        if (!ref_same_span(d, &x->spans[i], &y->spans[i]))
            return 0;
        if (i && (!ref_same_u64(d, "resource shared with the span before",
                                x->spans[i].resource == x->spans[i - 1].resource,
                                y->spans[i].resource == y->spans[i - 1].resource) ||
                  !ref_same_u64(d, "scope shared with the span before",
                                x->spans[i].scope == x->spans[i - 1].scope,
                                y->spans[i].scope == y->spans[i - 1].scope)))
            return 0;
        ref_back(d, mark);
    }
    return 1;
}

/* ---- both decoders on one body ---- */

typedef struct ref_run {
    int rc_new, rc_ref;
    int budget_hit; /* the reference ran out of its budget: compared with it unlimited */
    size_t used;    /* arena bytes the new decoder took */
    size_t budget;  /* the reference's budget for the body (0: its scan failed) */
    ts_err err_new, err_ref;
    ref_diff diff;
} ref_run;

/* Decodes buf with ts_otlp_pb_decode and with the reference and compares:
 * 1 when both give the same status and, on TS_OK, the same request, and
 * the new decoder stayed within the reference's memory budget. */
static int ref_compare(const void *buf, size_t len, const ts_otlp_limits *lim, ref_run *r)
{
    ts_arena *an = ts_arena_new(16 * 1024), *ar = ts_arena_new(16 * 1024);
    ts_otlp_req qn, qr;
    int same = 0;
    memset(r, 0, sizeof(*r));
    if (!an || !ar)
        abort();
    r->rc_new = ts_otlp_pb_decode(buf, len, lim, an, &qn, &r->err_new);
    r->used = ts_arena_used(an);
    r->rc_ref = ref_otlp_pb_decode(buf, len, lim, ar, &qr, &r->err_ref, 0, &r->budget);
    if (r->rc_ref == TS_ETOOBIG && strstr(r->err_ref.msg, "memory budget")) {
        r->budget_hit = 1;
        r->rc_ref = ref_otlp_pb_decode(buf, len, lim, ar, &qr, &r->err_ref, 1, &r->budget);
    }
    if (r->rc_new != r->rc_ref)
        snprintf(r->diff.why, sizeof(r->diff.why), "status %d (%s) vs reference %d (%s)", r->rc_new,
                 r->rc_new ? r->err_new.msg : "ok", r->rc_ref, r->rc_ref ? r->err_ref.msg : "ok");
    else if (r->rc_new == TS_OK && r->used > r->budget)
        snprintf(r->diff.why, sizeof(r->diff.why), "%zu arena bytes, over the budget of %zu",
                 r->used, r->budget);
    else
        same = r->rc_new != TS_OK || ref_same_req(&r->diff, &qn, &qr);
    ts_arena_free(an);
    ts_arena_free(ar);
    return same;
}

#endif
