/* otlp.c: see otlp.h. The conversion shared by both OTLP encodings. */
#include <stdio.h>
#include <string.h>

#include "codec/otlp.h"
#include "tracestore/ids.h"
#include "ingest/genai.h"

void ts_otlp_limits_from(const ts_config *cfg, ts_otlp_limits *l)
{
    l->max_spans = (size_t)cfg->max_spans_per_request;
    l->max_attrs = (size_t)cfg->max_attributes_per_span;
    l->max_string = (size_t)cfg->max_string_bytes;
    l->max_depth = (int)cfg->max_json_depth;
}

void ts_otlp_id_from_hex(const char *hex, ts_otlp_id *id)
{
    size_t n = strlen(hex);
    id->len = -1;
    if (n % 2 || n > 32)
        return;
    for (size_t i = 0; i < n; i += 2) {
        int hi = ts_hex_digit(hex[i]), lo = ts_hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return;
        id->b[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    id->len = (int)(n / 2);
}

char *ts_base64(const uint8_t *p, size_t n, ts_arena *a)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = ts_arena_alloc(a, (n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int all_zero(const ts_otlp_id *id)
{
    for (int i = 0; i < id->len; i++)
        if (id->b[i])
            return 0;
    return 1;
}

static char *hex_of(const ts_otlp_id *id, ts_arena *a)
{
    static const char hx[] = "0123456789abcdef";
    char *s = ts_arena_alloc(a, (size_t)id->len * 2 + 1);
    if (!s)
        return NULL;
    for (int i = 0; i < id->len; i++) {
        s[2 * i] = hx[id->b[i] >> 4];
        s[2 * i + 1] = hx[id->b[i] & 15];
    }
    s[id->len * 2] = '\0';
    return s;
}

/* NULL when the span can be stored, else why not. */
static const char *check_span(const ts_otlp_span *sp, char *buf, size_t cap)
{
    if (sp->trace_id.len < 0)
        return "traceId is not hex";
    if (sp->trace_id.len == 0)
        return "traceId is missing";
    if (sp->trace_id.len != 16) {
        snprintf(buf, cap, "invalid traceId length: %d bytes, want 16 (32 hex digits)",
                 sp->trace_id.len);
        return buf;
    }
    if (all_zero(&sp->trace_id))
        return "traceId is all zeros";
    if (sp->span_id.len < 0)
        return "spanId is not hex";
    if (sp->span_id.len != 8) {
        snprintf(buf, cap, "invalid spanId length: %d bytes, want 8 (16 hex digits)",
                 sp->span_id.len);
        return buf;
    }
    if (all_zero(&sp->span_id))
        return "spanId is all zeros";
    if (sp->parent_id.len < 0)
        return "parentSpanId is not hex";
    if (sp->parent_id.len != 0 && sp->parent_id.len != 8) {
        snprintf(buf, cap, "invalid parentSpanId length: %d bytes, want 8 or empty",
                 sp->parent_id.len);
        return buf;
    }
    if (sp->start_ns > (uint64_t)INT64_MAX || sp->end_ns > (uint64_t)INT64_MAX)
        return "startTimeUnixNano/endTimeUnixNano out of range";
    if (sp->end_ns < sp->start_ns)
        return "endTimeUnixNano is before startTimeUnixNano";
    return NULL;
}

static char *events_json(const ts_otlp_span *sp, ts_jw *w, ts_arena *a)
{
    char num[24];
    ts_jw_reset(w);
    ts_jw_raw(w, "[", 1);
    for (size_t i = 0; i < sp->nevents; i++) {
        const ts_otlp_event *e = &sp->events[i];
        ts_jw_raw(w, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
        ts_jw_str(w, e->name ? e->name : "");
        snprintf(num, sizeof(num), "%llu", (unsigned long long)e->time_ns);
        ts_jw_raw(w, ",\"timestamp\":", 13);
        ts_jw_str(w, num);
        ts_jw_raw(w, ",\"attributes\":", 14);
        ts_jw_attrs(w, e->attrs, e->nattrs);
        ts_jw_raw(w, "}", 1);
    }
    ts_jw_raw(w, "]", 1);
    return ts_jw_take(w, a);
}

static char *links_json(const ts_otlp_span *sp, ts_jw *w, ts_arena *a)
{
    ts_jw_reset(w);
    ts_jw_raw(w, "[", 1);
    for (size_t i = 0; i < sp->nlinks; i++) {
        const ts_otlp_link *l = &sp->links[i];
        /* Link ids are kept when they are well-formed ids, else shown empty. */
        char *tid = l->trace_id.len == 16 ? hex_of(&l->trace_id, a) : "";
        char *sid = l->span_id.len == 8 ? hex_of(&l->span_id, a) : "";
        if (!tid || !sid)
            return NULL;
        ts_jw_raw(w, i ? ",{\"trace_id\":" : "{\"trace_id\":", i ? 13 : 12);
        ts_jw_str(w, tid);
        ts_jw_raw(w, ",\"span_id\":", 11);
        ts_jw_str(w, sid);
        if (l->trace_state && l->trace_state[0]) {
            ts_jw_raw(w, ",\"trace_state\":", 15);
            ts_jw_str(w, l->trace_state);
        }
        ts_jw_raw(w, ",\"attributes\":", 14);
        ts_jw_attrs(w, l->attrs, l->nattrs);
        ts_jw_raw(w, "}", 1);
    }
    ts_jw_raw(w, "]", 1);
    return ts_jw_take(w, a);
}

static char *resource_json(const ts_otlp_resource *r, ts_jw *w, ts_arena *a)
{
    ts_jw_reset(w);
    ts_jw_raw(w, "{\"attributes\":", 14);
    ts_jw_attrs(w, r ? r->attrs : NULL, r ? r->nattrs : 0);
    ts_jw_raw(w, ",\"schema_url\":", 14);
    ts_jw_str(w, r && r->schema_url ? r->schema_url : "");
    ts_jw_raw(w, "}", 1);
    return ts_jw_take(w, a);
}

static char *scope_json(const ts_otlp_scope *s, ts_jw *w, ts_arena *a)
{
    ts_jw_reset(w);
    ts_jw_raw(w, "{\"name\":", 8);
    ts_jw_str(w, s && s->name ? s->name : "");
    ts_jw_raw(w, ",\"version\":", 11);
    ts_jw_str(w, s && s->version ? s->version : "");
    ts_jw_raw(w, ",\"attributes\":", 14);
    ts_jw_attrs(w, s ? s->attrs : NULL, s ? s->nattrs : 0);
    ts_jw_raw(w, ",\"schema_url\":", 14);
    ts_jw_str(w, s && s->schema_url ? s->schema_url : "");
    ts_jw_raw(w, "}", 1);
    return ts_jw_take(w, a);
}

static int convert(const ts_otlp_span *sp, ts_span *s, ts_jw *w, ts_arena *a)
{
    ts_span_init(s);
    s->origin = TS_ORIGIN_OTLP;
    s->trace_id = hex_of(&sp->trace_id, a);
    s->span_id = hex_of(&sp->span_id, a);
    s->parent_id = sp->parent_id.len == 8 ? hex_of(&sp->parent_id, a) : NULL;
    s->name = ts_arena_strdup(a, sp->name ? sp->name : "");
    s->kind = sp->kind >= 0 && sp->kind <= TS_KIND_CONSUMER ? (int)sp->kind : TS_KIND_UNSPECIFIED;
    s->start_ns = (int64_t)sp->start_ns;
    s->end_ns = (int64_t)sp->end_ns;
    s->status_code = sp->status_code >= 0 && sp->status_code <= TS_STATUS_ERROR
                         ? (int)sp->status_code
                         : TS_STATUS_UNSET;
    s->status_message =
        sp->status_message && sp->status_message[0] ? ts_arena_strdup(a, sp->status_message) : NULL;
    s->trace_state =
        sp->trace_state && sp->trace_state[0] ? ts_arena_strdup(a, sp->trace_state) : NULL;
    ts_jw_reset(w);
    ts_jw_attrs(w, sp->attrs, sp->nattrs);
    s->attributes = ts_jw_take(w, a);
    s->events = events_json(sp, w, a);
    s->links = links_json(sp, w, a);
    s->resource = resource_json(sp->resource, w, a);
    s->scope = scope_json(sp->scope, w, a);
    if (!s->trace_id || !s->span_id || (sp->parent_id.len == 8 && !s->parent_id) || !s->name ||
        !s->attributes || !s->events || !s->links || !s->resource || !s->scope)
        return TS_ENOMEM;

    ts_genai_event evs[64];
    ts_genai_src src = {sp->attrs,
                        sp->nattrs,
                        sp->resource ? sp->resource->attrs : NULL,
                        sp->resource ? sp->resource->nattrs : 0,
                        evs,
                        0};
    /* Only the first events are searched for an exception. */
    for (size_t i = 0; i < sp->nevents && i < sizeof(evs) / sizeof(evs[0]); i++) {
        evs[i] = (ts_genai_event){sp->events[i].name, sp->events[i].attrs, sp->events[i].nattrs};
        src.nevents++;
    }
    return ts_genai_apply(s, &src, a);
}

int ts_otlp_to_spans(const ts_otlp_req *q, ts_arena *a, ts_span **spans, size_t *n,
                     ts_otlp_rejects *rej)
{
    ts_jw w = {0};
    int rc = TS_OK;
    char why[160];

    *spans = NULL;
    *n = 0;
    memset(rej, 0, sizeof(*rej));
    if (q->nspans == 0)
        return TS_OK;
    if (!(*spans = ts_arena_alloc(a, q->nspans * sizeof(ts_span))))
        return TS_ENOMEM;
    for (size_t i = 0; i < q->nspans; i++) {
        const char *bad = check_span(&q->spans[i], why, sizeof(why));
        if (bad) {
            if (rej->count++ == 0)
                snprintf(rej->first, sizeof(rej->first), "%s", bad);
            continue;
        }
        if ((rc = convert(&q->spans[i], &(*spans)[*n], &w, a)) != TS_OK)
            break;
        (*n)++;
    }
    ts_jw_free(&w);
    return rc;
}
