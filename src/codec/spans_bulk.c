/* spans_bulk.c: /spans-bulk JSON -> ts_span[]. Validation follows the
 * request schema; the first bad field is reported with its FastAPI-style
 * location, and the whole batch is rejected. Free-form parts (attributes,
 * events, links, resource, log_request) are kept as JSON text. */
#include <math.h>
#include <string.h>

#include "codec/attrs_json.h"
#include "codec/json_util.h"
#include "codec/spans_bulk.h"
#include "tracestore/ids.h"
#include "tracestore/timeutil.h"

typedef struct dec {
    const ts_config *cfg;
    ts_arena *a;
    ts_err *err;
    long index; /* span index, for loc */
} dec;

/* Fails with loc ["body","spans",index, f1, f2]. */
static int bad(dec *d, const char *f1, const char *f2, const char *type, const char *msg)
{
    ts_err_clear(d->err);
    ts_err_set(d->err, TS_EINVAL, "%s", msg);
    ts_err_type(d->err, type);
    ts_err_loc_key(d->err, "body");
    ts_err_loc_key(d->err, "spans");
    ts_err_loc_index(d->err, d->index);
    if (f1)
        ts_err_loc_key(d->err, f1);
    if (f2)
        ts_err_loc_key(d->err, f2);
    return TS_EINVAL;
}

static int req_string(dec *d, const cJSON *obj, const char *key, const char *f1, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    const char *leaf = f1 ? key : NULL;
    const char *top = f1 ? f1 : key;
    if (!it)
        return bad(d, top, leaf, "missing", "Field required");
    if (!cJSON_IsString(it))
        return bad(d, top, leaf, "string_type", "Input should be a valid string");
    *out = ts_arena_strdup(d->a, it->valuestring);
    return *out ? TS_OK : TS_ENOMEM;
}

static int opt_string(dec *d, const cJSON *obj, const char *key, const char *f1, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!it || cJSON_IsNull(it))
        return TS_OK;
    if (!cJSON_IsString(it))
        return bad(d, f1 ? f1 : key, f1 ? key : NULL, "string_type",
                   "Input should be a valid string");
    *out = ts_arena_strdup(d->a, it->valuestring);
    return TS_OK;
}

static int id_field(dec *d, const cJSON *ctx, const char *key, char **out, int canon)
{
    char buf[TS_ID_MAX + 1];
    int rc = req_string(d, ctx, key, "context", out);
    if (rc != TS_OK)
        return rc;
    if (ts_id_canon(*out, strlen(*out), buf) != TS_OK)
        return bad(d, "context", key, "value_error",
                   "Value error, id must be 1 to 128 printable ASCII characters");
    if (canon)
        *out = ts_arena_strdup(d->a, buf);
    return TS_OK;
}

static int time_field(dec *d, const cJSON *span, const char *key, int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(span, key);
    if (!it)
        return bad(d, key, NULL, "missing", "Field required");
    if (ts_json_i64(it, out) != TS_OK || *out < 0)
        return bad(d, key, NULL, "int_parsing",
                   "Input should be a valid integer of nanoseconds since the epoch");
    return TS_OK;
}

/* Accepts "SpanKind.CLIENT" and "CLIENT". */
static int parse_enum(const char *s, const char *prefix, const char *const *names, int count)
{
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) == 0)
        s += pl;
    for (int i = 0; i < count; i++)
        if (names[i] && strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static const char *const kind_names[] = {NULL, "INTERNAL", "SERVER", "CLIENT", "PRODUCER",
                                         "CONSUMER"};
static const char *const status_names[] = {"UNSET", "OK", "ERROR"};

static int json_part(dec *d, const cJSON *span, const char *key, int want_object,
                     const char *dflt, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(span, key);
    if (!it || cJSON_IsNull(it)) {
        *out = (char *)dflt;
        return TS_OK;
    }
    if (want_object && !cJSON_IsObject(it))
        return bad(d, key, NULL, "dict_type", "Input should be a valid dictionary");
    if (!want_object && !cJSON_IsArray(it))
        return bad(d, key, NULL, "list_type", "Input should be a valid list");
    *out = ts_json_print(it, d->a);
    return *out ? TS_OK : TS_ENOMEM;
}

static int nonneg_int(dec *d, const cJSON *lr, const char *key, int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(lr, key);
    if (!it || cJSON_IsNull(it))
        return TS_OK;
    if (ts_json_i64(it, out) != TS_OK)
        return bad(d, "log_request", key, "int_parsing", "Input should be a valid integer");
    if (*out < 0)
        return bad(d, "log_request", key, "greater_than_equal",
                   "Input should be greater than or equal to 0");
    return TS_OK;
}

/* log_request: attaches provider, model, input, output, tokens, price. */
static int log_request(dec *d, const cJSON *span, ts_span *s)
{
    const cJSON *lr = cJSON_GetObjectItemCaseSensitive(span, "log_request");
    int rc;
    if (!lr || cJSON_IsNull(lr))
        return TS_OK;
    if (!cJSON_IsObject(lr))
        return bad(d, "log_request", NULL, "dict_type", "Input should be a valid dictionary");
    if ((rc = opt_string(d, lr, "provider", "log_request", &s->provider)) != TS_OK ||
        (rc = opt_string(d, lr, "model", "log_request", &s->model)) != TS_OK)
        return rc;
    s->input = ts_json_text(cJSON_GetObjectItemCaseSensitive(lr, "input"), d->a);
    s->output = ts_json_text(cJSON_GetObjectItemCaseSensitive(lr, "output"), d->a);
    if ((rc = nonneg_int(d, lr, "input_tokens", &s->prompt_tokens)) != TS_OK ||
        (rc = nonneg_int(d, lr, "output_tokens", &s->completion_tokens)) != TS_OK)
        return rc;
    const cJSON *price = cJSON_GetObjectItemCaseSensitive(lr, "price");
    if (price && !cJSON_IsNull(price)) {
        if (!cJSON_IsNumber(price) || !isfinite(price->valuedouble))
            return bad(d, "log_request", "price", "float_parsing",
                       "Input should be a valid number");
        if (price->valuedouble < 0)
            return bad(d, "log_request", "price", "greater_than_equal",
                       "Input should be greater than or equal to 0");
        s->has_cost = 1;
        s->cost = price->valuedouble;
    }
    for (const char *const *k = (const char *const[]){"request_start_time", "request_end_time",
                                                       NULL};
         *k; k++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(lr, *k);
        int64_t ns;
        if (t && !cJSON_IsNull(t) &&
            (!cJSON_IsString(t) || ts_time_parse_iso(t->valuestring, &ns) != TS_OK))
            return bad(d, "log_request", *k, "datetime_parsing",
                       "Input should be a valid datetime");
    }
    s->type = "llm";
    s->log_request = ts_json_print(lr, d->a);
    return s->log_request ? TS_OK : TS_ENOMEM;
}

static int decode_span(dec *d, const cJSON *js, ts_span *s)
{
    const cJSON *ctx, *it, *st;
    char *kind = NULL, *code = NULL;
    int rc;

    ts_span_init(s);
    s->origin = TS_ORIGIN_SPANS_BULK;
    if (!cJSON_IsObject(js))
        return bad(d, NULL, NULL, "model_attributes_type", "Input should be a valid dictionary");
    if ((rc = req_string(d, js, "name", NULL, &s->name)) != TS_OK)
        return rc;
    ctx = cJSON_GetObjectItemCaseSensitive(js, "context");
    if (!ctx)
        return bad(d, "context", NULL, "missing", "Field required");
    if (!cJSON_IsObject(ctx))
        return bad(d, "context", NULL, "model_attributes_type", "Input should be a valid dictionary");
    if ((rc = id_field(d, ctx, "trace_id", &s->trace_id, 1)) != TS_OK ||
        (rc = id_field(d, ctx, "span_id", &s->span_id, 0)) != TS_OK ||
        (rc = opt_string(d, ctx, "trace_state", "context", &s->trace_state)) != TS_OK)
        return rc;
    if ((rc = req_string(d, js, "kind", NULL, &kind)) != TS_OK)
        return rc;
    if ((s->kind = parse_enum(kind, "SpanKind.", kind_names, 6)) < 0)
        return bad(d, "kind", NULL, "enum",
                   "Input should be 'SpanKind.CLIENT', 'SpanKind.CONSUMER', "
                   "'SpanKind.INTERNAL', 'SpanKind.PRODUCER' or 'SpanKind.SERVER'");
    if ((rc = opt_string(d, js, "parent_id", NULL, &s->parent_id)) != TS_OK)
        return rc;
    if (s->parent_id && s->parent_id[0] == '\0')
        s->parent_id = NULL;
    if (s->parent_id) {
        char buf[TS_ID_MAX + 1];
        if (ts_id_canon(s->parent_id, strlen(s->parent_id), buf) != TS_OK)
            return bad(d, "parent_id", NULL, "value_error",
                       "Value error, id must be 1 to 128 printable ASCII characters");
    }
    if ((rc = time_field(d, js, "start_time", &s->start_ns)) != TS_OK ||
        (rc = time_field(d, js, "end_time", &s->end_ns)) != TS_OK)
        return rc;
    if (s->end_ns < s->start_ns)
        return bad(d, "end_time", NULL, "value_error",
                   "Value error, end_time must not be before start_time");
    st = cJSON_GetObjectItemCaseSensitive(js, "status");
    if (!st)
        return bad(d, "status", NULL, "missing", "Field required");
    if (!cJSON_IsObject(st))
        return bad(d, "status", NULL, "model_attributes_type", "Input should be a valid dictionary");
    if ((rc = req_string(d, st, "status_code", "status", &code)) != TS_OK)
        return rc;
    if ((s->status_code = parse_enum(code, "StatusCode.", status_names, 3)) < 0)
        return bad(d, "status", "status_code", "enum",
                   "Input should be 'StatusCode.ERROR', 'StatusCode.OK' or 'StatusCode.UNSET'");
    if ((rc = opt_string(d, st, "description", "status", &s->status_message)) != TS_OK)
        return rc;
    it = cJSON_GetObjectItemCaseSensitive(js, "attributes");
    if (cJSON_IsObject(it) && cJSON_GetArraySize(it) > d->cfg->max_attributes_per_span)
        return bad(d, "attributes", NULL, "too_long",
                   "more attributes than max_attributes_per_span allows");
    if ((rc = json_part(d, js, "attributes", 1, "{}", &s->attributes)) != TS_OK ||
        (rc = json_part(d, js, "events", 0, "[]", &s->events)) != TS_OK ||
        (rc = json_part(d, js, "links", 0, "[]", &s->links)) != TS_OK ||
        (rc = json_part(d, js, "resource", 1, "{}", &s->resource)) != TS_OK)
        return rc;
    if (s->status_code == TS_STATUS_ERROR)
        s->error = s->status_message && s->status_message[0] ? s->status_message : "error";
    if ((rc = log_request(d, js, s)) != TS_OK)
        return rc;
    /* The attribute mapping (ingest/genai.h) fills what log_request left
     * unset; a span it finds no type for is "llm" when it has a model or
     * tokens (the rule of ts_ingest_derive), else "other". */
    if (ts_json_genai(js, s, d->a) != TS_OK)
        return ts_err_set(d->err, TS_ENOMEM, "out of memory");
    if (!s->type)
        s->type = s->model || s->prompt_tokens >= 0 || s->completion_tokens >= 0 ? "llm" : "other";
    return TS_OK;
}

int ts_spans_bulk_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                         ts_span **spans, size_t *n, int *close_after, ts_err *err)
{
    cJSON *root = NULL;
    dec d = {cfg, a, err, 0};
    int rc = ts_json_parse(body, len, cfg, a, &root, err);

    *spans = NULL;
    *n = 0;
    *close_after = 0;
    if (rc != TS_OK) {
        ts_err_loc_key(err, "body");
        return rc;
    }
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "spans");
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(root, "close_after");
    if (!cJSON_IsObject(root)) {
        rc = ts_err_set(err, TS_EINVAL, "Input should be a valid dictionary");
        ts_err_type(err, "model_attributes_type");
        ts_err_loc_key(err, "body");
        goto out;
    }
    if (!arr || !cJSON_IsArray(arr)) {
        rc = ts_err_set(err, TS_EINVAL, arr ? "Input should be a valid list" : "Field required");
        ts_err_type(err, arr ? "list_type" : "missing");
        ts_err_loc_key(err, "body");
        ts_err_loc_key(err, "spans");
        goto out;
    }
    if (ca && !cJSON_IsNull(ca)) {
        if (!cJSON_IsBool(ca)) {
            rc = ts_err_set(err, TS_EINVAL, "Input should be a valid boolean");
            ts_err_type(err, "bool_type");
            ts_err_loc_key(err, "body");
            ts_err_loc_key(err, "close_after");
            goto out;
        }
        *close_after = cJSON_IsTrue(ca);
    }
    int count = cJSON_GetArraySize(arr);
    if (count > cfg->max_spans_per_request) {
        rc = ts_err_set(err, TS_ETOOBIG, "%d spans in one request; max_spans_per_request is %lld",
                        count, (long long)cfg->max_spans_per_request);
        goto out;
    }
    if (count > 0 && !(*spans = ts_arena_alloc(a, (size_t)count * sizeof(ts_span)))) {
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
        goto out;
    }
    const cJSON *js;
    cJSON_ArrayForEach(js, arr)
    {
        if ((rc = decode_span(&d, js, &(*spans)[d.index])) != TS_OK)
            goto out;
        d.index++;
    }
    *n = (size_t)d.index;
out:
    cJSON_Delete(root);
    return rc;
}
