/* otlp_json.c: see otlp_json.h. cJSON tree -> the shared ts_otlp_req.
 * A value of the wrong JSON type is a 400 naming its path; a bad id value
 * (not hex, wrong length) is left to ts_otlp_to_spans, which rejects only
 * that span, exactly as for protobuf. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json_util.h"
#include "codec/otlp_json.h"
#include "tracestore/utf8.h"

typedef struct jd {
    ts_arena *a;
    ts_err *err;
    ts_otlp_limits lim;
    char path[160]; /* where the current span is, for messages */
} jd;

static int fail(jd *d, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(jd *d, const char *field, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return ts_err_set(d->err, TS_EINVAL, "invalid OTLP JSON: %s%s%s: %s", d->path,
                      d->path[0] && field[0] ? "." : "", field, what);
}

/* Member by lowerCamelCase or snake_case name; JSON null counts as absent. */
static const cJSON *get(const cJSON *o, const char *camel, const char *snake)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, camel);
    if (!it && snake)
        it = cJSON_GetObjectItemCaseSensitive(o, snake);
    return it && !cJSON_IsNull(it) ? it : NULL;
}

static int get_str(jd *d, const cJSON *o, const char *camel, const char *snake, const char **out)
{
    const cJSON *it = get(o, camel, snake);
    *out = NULL;
    if (!it)
        return TS_OK;
    if (!cJSON_IsString(it))
        return fail(d, camel, "expected a string");
    if (!(*out = ts_arena_strdup(d->a, it->valuestring)))
        return ts_err_set(d->err, TS_ENOMEM, "out of memory");
    return TS_OK;
}

static int get_arr(jd *d, const cJSON *o, const char *camel, const char *snake, const cJSON **out)
{
    const cJSON *it = get(o, camel, snake);
    *out = NULL;
    if (!it)
        return TS_OK;
    if (!cJSON_IsArray(it))
        return fail(d, camel, "expected an array");
    *out = it;
    return TS_OK;
}

static int get_obj(jd *d, const cJSON *o, const char *camel, const char *snake, const cJSON **out)
{
    const cJSON *it = get(o, camel, snake);
    *out = NULL;
    if (!it)
        return TS_OK;
    if (!cJSON_IsObject(it))
        return fail(d, camel, "expected an object");
    *out = it;
    return TS_OK;
}

/* uint64 from a JSON number or a decimal string. */
static int get_u64(jd *d, const cJSON *o, const char *camel, const char *snake, uint64_t *out)
{
    const cJSON *it = get(o, camel, snake);
    *out = 0;
    if (!it)
        return TS_OK;
    if (cJSON_IsNumber(it)) {
        double v = it->valuedouble;
        if (!isfinite(v) || v < 0 || v != floor(v) || v >= 18446744073709551616.0)
            return fail(d, camel, "expected a non-negative integer");
        *out = (uint64_t)v;
        return TS_OK;
    }
    if (cJSON_IsString(it)) {
        const char *s = it->valuestring;
        char *end = NULL;
        if (!s[0] || strspn(s, "0123456789") != strlen(s) || strlen(s) > 20)
            return fail(d, camel, "expected a non-negative integer");
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno)
            return fail(d, camel, "integer out of range");
        *out = v;
        return TS_OK;
    }
    return fail(d, camel, "expected an integer or a decimal string");
}

/* An enum: integer, or its proto name (names[i] is value i). */
static int get_enum(jd *d, const cJSON *o, const char *camel, const char *snake,
                    const char *const *names, int count, int64_t *out)
{
    const cJSON *it = get(o, camel, snake);
    *out = 0;
    if (!it)
        return TS_OK;
    if (cJSON_IsNumber(it)) {
        double v = it->valuedouble;
        if (!isfinite(v) || v != floor(v) || fabs(v) > 2147483647.0)
            return fail(d, camel, "expected an integer enum value");
        *out = (int64_t)v;
        return TS_OK;
    }
    if (cJSON_IsString(it)) {
        for (int i = 0; i < count; i++)
            if (strcmp(it->valuestring, names[i]) == 0) {
                *out = i;
                return TS_OK;
            }
        return fail(d, camel, "unknown enum value '%.*s'", (int)ts_utf8_prefix(it->valuestring, 60),
                    it->valuestring);
    }
    return fail(d, camel, "expected an integer enum value");
}

static int get_id(jd *d, const cJSON *o, const char *camel, const char *snake, ts_otlp_id *id)
{
    const char *s;
    int rc = get_str(d, o, camel, snake, &s);
    memset(id, 0, sizeof(*id));
    if (rc == TS_OK && s)
        ts_otlp_id_from_hex(s, id);
    return rc;
}

static int kvs(jd *d, const cJSON *arr, const char *field, int depth, ts_attr **out, size_t *n);

static int value(jd *d, const cJSON *v, const char *field, int depth, ts_attr_value *o)
{
    const cJSON *it;
    memset(o, 0, sizeof(*o));
    if (!v)
        return TS_OK;
    if (!cJSON_IsObject(v))
        return fail(d, field, "an attribute value must be an AnyValue object");
    if ((it = get(v, "stringValue", "string_value"))) {
        if (!cJSON_IsString(it))
            return fail(d, field, "stringValue must be a string");
        o->type = TS_AV_STR;
        if (!(o->s = ts_arena_strdup(d->a, it->valuestring)))
            return ts_err_set(d->err, TS_ENOMEM, "out of memory");
    } else if ((it = get(v, "boolValue", "bool_value"))) {
        if (!cJSON_IsBool(it))
            return fail(d, field, "boolValue must be true or false");
        o->type = TS_AV_BOOL;
        o->b = cJSON_IsTrue(it);
    } else if ((it = get(v, "intValue", "int_value"))) {
        o->type = TS_AV_INT;
        if (ts_json_i64(it, &o->i) != TS_OK)
            return fail(d, field, "intValue must be a 64-bit integer (number or decimal string)");
    } else if ((it = get(v, "doubleValue", "double_value"))) {
        o->type = TS_AV_DOUBLE;
        if (cJSON_IsNumber(it))
            o->d = it->valuedouble;
        else if (cJSON_IsString(it) && strcmp(it->valuestring, "NaN") == 0)
            o->d = NAN;
        else if (cJSON_IsString(it) && strcmp(it->valuestring, "Infinity") == 0)
            o->d = INFINITY;
        else if (cJSON_IsString(it) && strcmp(it->valuestring, "-Infinity") == 0)
            o->d = -INFINITY;
        else {
            char *end = NULL;
            if (!cJSON_IsString(it) || !it->valuestring[0])
                return fail(d, field, "doubleValue must be a number");
            o->d = strtod(it->valuestring, &end);
            if (*end)
                return fail(d, field, "doubleValue must be a number");
        }
    } else if ((it = get(v, "bytesValue", "bytes_value"))) {
        if (!cJSON_IsString(it))
            return fail(d, field, "bytesValue must be a base64 string");
        o->type = TS_AV_BYTES;
        if (!(o->s = ts_arena_strdup(d->a, it->valuestring)))
            return ts_err_set(d->err, TS_ENOMEM, "out of memory");
    } else if ((it = get(v, "arrayValue", "array_value"))) {
        const cJSON *vals, *x;
        if (!cJSON_IsObject(it))
            return fail(d, field, "arrayValue must be an object");
        if (get_arr(d, it, "values", NULL, &vals) != TS_OK)
            return TS_EINVAL;
        o->type = TS_AV_ARRAY;
        int n = vals ? cJSON_GetArraySize(vals) : 0;
        if (n && !(o->items = ts_arena_alloc(d->a, (size_t)n * sizeof(*o->items))))
            return ts_err_set(d->err, TS_ENOMEM, "out of memory");
        if (vals)
            cJSON_ArrayForEach(x, vals)
            {
                int rc = value(d, x, field, depth + 1, &o->items[o->nitems]);
                if (rc != TS_OK)
                    return rc;
                o->nitems++;
            }
    } else if ((it = get(v, "kvlistValue", "kvlist_value"))) {
        const cJSON *vals;
        if (!cJSON_IsObject(it))
            return fail(d, field, "kvlistValue must be an object");
        if (get_arr(d, it, "values", NULL, &vals) != TS_OK)
            return TS_EINVAL;
        o->type = TS_AV_KVLIST;
        return kvs(d, vals, field, depth + 1, &o->kvs, &o->nkvs);
    }
    return TS_OK;
}

static int kvs(jd *d, const cJSON *arr, const char *field, int depth, ts_attr **out, size_t *n)
{
    const cJSON *kv;
    *out = NULL;
    *n = 0;
    if (!arr)
        return TS_OK;
    int cnt = cJSON_GetArraySize(arr);
    if ((size_t)cnt > d->lim.max_attrs)
        return ts_err_set(
            d->err, TS_EINVAL,
            "invalid OTLP JSON: %s%s%s has %d attributes; max_attributes_per_span is %zu", d->path,
            d->path[0] ? "." : "", field, cnt, d->lim.max_attrs);
    if (cnt && !(*out = ts_arena_alloc(d->a, (size_t)cnt * sizeof(**out))))
        return ts_err_set(d->err, TS_ENOMEM, "out of memory");
    cJSON_ArrayForEach(kv, arr)
    {
        const char *key;
        if (!cJSON_IsObject(kv))
            return fail(d, field, "each attribute must be a {key, value} object");
        if (get_str(d, kv, "key", NULL, &key) != TS_OK)
            return TS_EINVAL;
        (*out)[*n].key = key ? key : "";
        int rc = value(d, get(kv, "value", NULL), field, depth, &(*out)[*n].v);
        if (rc != TS_OK)
            return rc;
        (*n)++;
    }
    return TS_OK;
}

static int kv_field(jd *d, const cJSON *o, const char *camel, ts_attr **out, size_t *n)
{
    const cJSON *arr;
    if (get_arr(d, o, camel, NULL, &arr) != TS_OK)
        return TS_EINVAL;
    return kvs(d, arr, camel, 0, out, n);
}

static const char *const kind_names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                         "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                         "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
static const char *const status_names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK",
                                           "STATUS_CODE_ERROR"};

static int events(jd *d, const cJSON *js, ts_otlp_span *s)
{
    const cJSON *arr, *e;
    int rc;
    if ((rc = get_arr(d, js, "events", NULL, &arr)) != TS_OK || !arr)
        return rc;
    int n = cJSON_GetArraySize(arr);
    if (n && !(s->events = ts_arena_calloc(d->a, (size_t)n, sizeof(*s->events))))
        return ts_err_set(d->err, TS_ENOMEM, "out of memory");
    cJSON_ArrayForEach(e, arr)
    {
        ts_otlp_event *ev = &s->events[s->nevents];
        if (!cJSON_IsObject(e))
            return fail(d, "events", "each event must be an object");
        if ((rc = get_u64(d, e, "timeUnixNano", "time_unix_nano", &ev->time_ns)) != TS_OK ||
            (rc = get_str(d, e, "name", NULL, &ev->name)) != TS_OK ||
            (rc = kv_field(d, e, "attributes", &ev->attrs, &ev->nattrs)) != TS_OK)
            return rc;
        s->nevents++;
    }
    return TS_OK;
}

static int links(jd *d, const cJSON *js, ts_otlp_span *s)
{
    const cJSON *arr, *l;
    int rc;
    if ((rc = get_arr(d, js, "links", NULL, &arr)) != TS_OK || !arr)
        return rc;
    int n = cJSON_GetArraySize(arr);
    if (n && !(s->links = ts_arena_calloc(d->a, (size_t)n, sizeof(*s->links))))
        return ts_err_set(d->err, TS_ENOMEM, "out of memory");
    cJSON_ArrayForEach(l, arr)
    {
        ts_otlp_link *lk = &s->links[s->nlinks];
        if (!cJSON_IsObject(l))
            return fail(d, "links", "each link must be an object");
        if ((rc = get_id(d, l, "traceId", "trace_id", &lk->trace_id)) != TS_OK ||
            (rc = get_id(d, l, "spanId", "span_id", &lk->span_id)) != TS_OK ||
            (rc = get_str(d, l, "traceState", "trace_state", &lk->trace_state)) != TS_OK ||
            (rc = kv_field(d, l, "attributes", &lk->attrs, &lk->nattrs)) != TS_OK)
            return rc;
        s->nlinks++;
    }
    return TS_OK;
}

static int span(jd *d, const cJSON *js, ts_otlp_span *s)
{
    const cJSON *st;
    int rc;
    if (!cJSON_IsObject(js))
        return fail(d, "", "a span must be an object");
    if ((rc = get_id(d, js, "traceId", "trace_id", &s->trace_id)) != TS_OK ||
        (rc = get_id(d, js, "spanId", "span_id", &s->span_id)) != TS_OK ||
        (rc = get_id(d, js, "parentSpanId", "parent_span_id", &s->parent_id)) != TS_OK ||
        (rc = get_str(d, js, "traceState", "trace_state", &s->trace_state)) != TS_OK ||
        (rc = get_str(d, js, "name", NULL, &s->name)) != TS_OK ||
        (rc = get_enum(d, js, "kind", NULL, kind_names, 6, &s->kind)) != TS_OK ||
        (rc = get_u64(d, js, "startTimeUnixNano", "start_time_unix_nano", &s->start_ns)) != TS_OK ||
        (rc = get_u64(d, js, "endTimeUnixNano", "end_time_unix_nano", &s->end_ns)) != TS_OK ||
        (rc = kv_field(d, js, "attributes", &s->attrs, &s->nattrs)) != TS_OK ||
        (rc = events(d, js, s)) != TS_OK || (rc = links(d, js, s)) != TS_OK ||
        (rc = get_obj(d, js, "status", NULL, &st)) != TS_OK)
        return rc;
    if (st && ((rc = get_enum(d, st, "code", NULL, status_names, 3, &s->status_code)) != TS_OK ||
               (rc = get_str(d, st, "message", NULL, &s->status_message)) != TS_OK))
        return rc;
    return TS_OK;
}

/* Spans in the request, for the limit and the allocation. */
static int count_spans(jd *d, const cJSON *rss, size_t *total)
{
    const cJSON *rs, *ss, *arr, *sp;
    *total = 0;
    cJSON_ArrayForEach(rs, rss)
    {
        arr = cJSON_IsObject(rs) ? get(rs, "scopeSpans", "scope_spans") : NULL;
        if (!arr && cJSON_IsObject(rs))
            arr = get(rs, "instrumentationLibrarySpans", "instrumentation_library_spans");
        if (!cJSON_IsArray(arr))
            continue;
        cJSON_ArrayForEach(ss, arr)
        {
            sp = cJSON_IsObject(ss) ? get(ss, "spans", NULL) : NULL;
            if (cJSON_IsArray(sp))
                *total += (size_t)cJSON_GetArraySize(sp);
        }
    }
    if (*total > d->lim.max_spans)
        return ts_err_set(d->err, TS_ETOOBIG,
                          "%zu spans in one request; max_spans_per_request is %zu", *total,
                          d->lim.max_spans);
    return TS_OK;
}

static int scope_spans(jd *d, const cJSON *ss, const ts_otlp_resource *res, ts_otlp_req *out)
{
    const cJSON *sc, *spans, *js;
    int rc;
    ts_otlp_scope *scope = ts_arena_calloc(d->a, 1, sizeof(*scope));
    size_t base = strlen(d->path);
    if (!scope)
        return ts_err_set(d->err, TS_ENOMEM, "out of memory");
    if (!cJSON_IsObject(ss))
        return fail(d, "", "expected an object");
    if ((rc = get_obj(d, ss, "scope", NULL, &sc)) != TS_OK)
        return rc;
    if (!sc &&
        (rc = get_obj(d, ss, "instrumentationLibrary", "instrumentation_library", &sc)) != TS_OK)
        return rc;
    if (sc && ((rc = get_str(d, sc, "name", NULL, &scope->name)) != TS_OK ||
               (rc = get_str(d, sc, "version", NULL, &scope->version)) != TS_OK ||
               (rc = kv_field(d, sc, "attributes", &scope->attrs, &scope->nattrs)) != TS_OK))
        return rc;
    if ((rc = get_str(d, ss, "schemaUrl", "schema_url", &scope->schema_url)) != TS_OK ||
        (rc = get_arr(d, ss, "spans", NULL, &spans)) != TS_OK || !spans)
        return rc;
    int i = 0;
    cJSON_ArrayForEach(js, spans)
    {
        ts_otlp_span *s = &out->spans[out->nspans];
        snprintf(d->path + base, sizeof(d->path) - base, ".spans[%d]", i++);
        s->resource = res;
        s->scope = scope;
        if ((rc = span(d, js, s)) != TS_OK)
            return rc;
        out->nspans++;
    }
    d->path[base] = '\0';
    return TS_OK;
}

static int resource_spans(jd *d, const cJSON *rs, int ri, ts_otlp_req *out)
{
    const cJSON *r, *sss, *ss;
    int rc;
    ts_otlp_resource *res = ts_arena_calloc(d->a, 1, sizeof(*res));
    if (!res)
        return ts_err_set(d->err, TS_ENOMEM, "out of memory");
    snprintf(d->path, sizeof(d->path), "resourceSpans[%d]", ri);
    if (!cJSON_IsObject(rs))
        return fail(d, "", "expected an object");
    if ((rc = get_obj(d, rs, "resource", NULL, &r)) != TS_OK ||
        (r && (rc = kv_field(d, r, "attributes", &res->attrs, &res->nattrs)) != TS_OK) ||
        (rc = get_str(d, rs, "schemaUrl", "schema_url", &res->schema_url)) != TS_OK ||
        (rc = get_arr(d, rs, "scopeSpans", "scope_spans", &sss)) != TS_OK)
        return rc;
    if (!sss && (rc = get_arr(d, rs, "instrumentationLibrarySpans", "instrumentation_library_spans",
                              &sss)) != TS_OK)
        return rc;
    if (!sss)
        return TS_OK;
    int j = 0;
    cJSON_ArrayForEach(ss, sss)
    {
        snprintf(d->path, sizeof(d->path), "resourceSpans[%d].scopeSpans[%d]", ri, j++);
        if ((rc = scope_spans(d, ss, res, out)) != TS_OK)
            return rc;
    }
    return TS_OK;
}

int ts_otlp_json_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                        ts_otlp_req *out, ts_err *err)
{
    cJSON *root = NULL;
    const cJSON *rss, *rs;
    size_t total = 0;
    jd d;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&d, 0, sizeof(d));
    d.a = a;
    d.err = err;
    ts_otlp_limits_from(cfg, &d.lim);
    if ((rc = ts_json_parse(body, len, cfg, a, &root, err)) != TS_OK)
        return rc;
    if (!cJSON_IsObject(root)) {
        rc = ts_err_set(err, TS_EINVAL, "invalid OTLP JSON: the body must be an object");
        goto out;
    }
    if ((rc = get_arr(&d, root, "resourceSpans", "resource_spans", &rss)) != TS_OK || !rss)
        goto out;
    if ((rc = count_spans(&d, rss, &total)) != TS_OK)
        goto out;
    if (total && !(out->spans = ts_arena_calloc(a, total, sizeof(*out->spans)))) {
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
        goto out;
    }
    int ri = 0;
    cJSON_ArrayForEach(rs, rss)
    {
        if ((rc = resource_spans(&d, rs, ri++, out)) != TS_OK)
            goto out;
    }
out:
    cJSON_Delete(root); /* every string was copied into a */
    return rc;
}

char *ts_otlp_json_response(long long rejected, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (rejected > 0 || (msg && msg[0]))) {
        cJSON *ps = cJSON_AddObjectToObject(o, "partialSuccess");
        if (ps) {
            cJSON_AddNumberToObject(ps, "rejectedSpans", (double)rejected);
            cJSON_AddStringToObject(ps, "errorMessage", msg ? msg : "");
        }
    }
    char *s = o ? ts_json_print_malloc(o) : NULL;
    cJSON_Delete(o);
    return s;
}

char *ts_otlp_json_status(int code, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddNumberToObject(o, "code", code);
        cJSON_AddStringToObject(o, "message", msg ? msg : "");
    }
    char *s = o ? ts_json_print_malloc(o) : NULL;
    cJSON_Delete(o);
    return s;
}
