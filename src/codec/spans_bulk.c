/* spans_bulk.c: /spans-bulk JSON -> ts_span[]. Validation follows the
 * request schema; the first bad field is reported with its FastAPI-style
 * location, and the whole batch is rejected. The body is read onto a tape
 * (codec/jtape.h), not into a cJSON tree: free-form parts (attributes,
 * events, links, resource, log_request) are kept as the JSON text that
 * arrived, less its whitespace. */
#include <math.h>
#include <string.h>

#include "codec/attrs_json.h"
#include "codec/jtape.h"
#include "codec/spans_bulk.h"
#include "tracestore/ids.h"
#include "tracestore/timeutil.h"

typedef struct dec {
    const ts_jtape *tp;
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

static int oom(dec *d)
{
    return ts_err_set(d->err, TS_ENOMEM, "out of memory");
}

static int req_string(dec *d, ts_jt_ix obj, const char *key, const char *f1, char **out)
{
    ts_jt_ix it = ts_jt_get(d->tp, obj, key);
    const char *leaf = f1 ? key : NULL;
    const char *top = f1 ? f1 : key;
    if (it == TS_JT_NONE)
        return bad(d, top, leaf, "missing", "Field required");
    if (ts_jt_type(d->tp, it) != TS_JT_STRING)
        return bad(d, top, leaf, "string_type", "Input should be a valid string");
    *out = ts_jt_str(d->tp, it, d->a);
    return *out ? TS_OK : oom(d);
}

static int opt_string(dec *d, ts_jt_ix obj, const char *key, const char *f1, char **out)
{
    ts_jt_ix it = ts_jt_get(d->tp, obj, key);
    *out = NULL;
    if (ts_jt_nullish(d->tp, it))
        return TS_OK;
    if (ts_jt_type(d->tp, it) != TS_JT_STRING)
        return bad(d, f1 ? f1 : key, f1 ? key : NULL, "string_type",
                   "Input should be a valid string");
    *out = ts_jt_str(d->tp, it, d->a);
    return *out ? TS_OK : oom(d);
}

static int id_field(dec *d, ts_jt_ix ctx, const char *key, char **out, int canon)
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

static int time_field(dec *d, ts_jt_ix span, const char *key, int64_t *out)
{
    ts_jt_ix it = ts_jt_get(d->tp, span, key);
    if (it == TS_JT_NONE)
        return bad(d, key, NULL, "missing", "Field required");
    if (ts_jt_i64(d->tp, it, out) != TS_OK || *out < 0)
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

static int json_part(dec *d, ts_jt_ix span, const char *key, int want_object,
                     const char *dflt, char **out)
{
    ts_jt_ix it = ts_jt_get(d->tp, span, key);
    int type = ts_jt_type(d->tp, it);
    if (ts_jt_nullish(d->tp, it)) {
        *out = (char *)dflt;
        return TS_OK;
    }
    if (want_object && type != TS_JT_OBJECT)
        return bad(d, key, NULL, "dict_type", "Input should be a valid dictionary");
    if (!want_object && type != TS_JT_ARRAY)
        return bad(d, key, NULL, "list_type", "Input should be a valid list");
    *out = ts_jt_json(d->tp, it, d->a);
    return *out ? TS_OK : oom(d);
}

static int nonneg_int(dec *d, ts_jt_ix lr, const char *key, int64_t *out)
{
    ts_jt_ix it = ts_jt_get(d->tp, lr, key);
    if (ts_jt_nullish(d->tp, it))
        return TS_OK;
    if (ts_jt_i64(d->tp, it, out) != TS_OK)
        return bad(d, "log_request", key, "int_parsing", "Input should be a valid integer");
    if (*out < 0)
        return bad(d, "log_request", key, "greater_than_equal",
                   "Input should be greater than or equal to 0");
    if (!ts_tokens_ok(*out))
        return bad(d, "log_request", key, "less_than_equal",
                   "Input should be less than or equal to 1000000000000000");
    return TS_OK;
}

/* A log_request input/output: a string as itself, anything else as JSON. */
static char *text_of(dec *d, ts_jt_ix it)
{
    if (ts_jt_nullish(d->tp, it))
        return NULL;
    if (ts_jt_type(d->tp, it) == TS_JT_STRING)
        return ts_jt_str(d->tp, it, d->a);
    return ts_jt_json(d->tp, it, d->a);
}

/* log_request: attaches provider, model, input, output, tokens, price. */
static int log_request(dec *d, ts_jt_ix span, ts_span *s)
{
    const ts_jtape *tp = d->tp;
    ts_jt_ix lr = ts_jt_get(tp, span, "log_request"), it;
    int rc;
    if (ts_jt_nullish(tp, lr))
        return TS_OK;
    if (ts_jt_type(tp, lr) != TS_JT_OBJECT)
        return bad(d, "log_request", NULL, "dict_type", "Input should be a valid dictionary");
    if ((rc = opt_string(d, lr, "provider", "log_request", &s->provider)) != TS_OK ||
        (rc = opt_string(d, lr, "model", "log_request", &s->model)) != TS_OK)
        return rc;
    if ((!(s->input = text_of(d, it = ts_jt_get(tp, lr, "input"))) && !ts_jt_nullish(tp, it)) ||
        (!(s->output = text_of(d, it = ts_jt_get(tp, lr, "output"))) && !ts_jt_nullish(tp, it)))
        return oom(d);
    if ((rc = nonneg_int(d, lr, "input_tokens", &s->prompt_tokens)) != TS_OK ||
        (rc = nonneg_int(d, lr, "output_tokens", &s->completion_tokens)) != TS_OK)
        return rc;
    ts_jt_ix price = ts_jt_get(tp, lr, "price");
    if (!ts_jt_nullish(tp, price)) {
        double v = 0;
        if (ts_jt_double(tp, price, &v) != TS_OK || !isfinite(v))
            return bad(d, "log_request", "price", "float_parsing",
                       "Input should be a valid number");
        if (v < 0)
            return bad(d, "log_request", "price", "greater_than_equal",
                       "Input should be greater than or equal to 0");
        if (!ts_cost_ok(v))
            return bad(d, "log_request", "price", "less_than_equal",
                       "Input should be less than or equal to 1000000000 (USD)");
        s->has_cost = 1;
        s->cost = v;
    }
    for (const char *const *k = (const char *const[]){"request_start_time", "request_end_time",
                                                       NULL};
         *k; k++) {
        ts_jt_ix t = ts_jt_get(tp, lr, *k);
        const char *v;
        int64_t ns;
        if (ts_jt_nullish(tp, t))
            continue;
        if (ts_jt_type(tp, t) != TS_JT_STRING)
            return bad(d, "log_request", *k, "datetime_parsing",
                       "Input should be a valid datetime");
        if (!(v = ts_jt_str(tp, t, d->a)))
            return oom(d);
        if (ts_time_parse_iso(v, &ns) != TS_OK)
            return bad(d, "log_request", *k, "datetime_parsing",
                       "Input should be a valid datetime");
    }
    s->type = "llm";
    s->log_request = ts_jt_json(tp, lr, d->a);
    return s->log_request ? TS_OK : oom(d);
}

static int decode_span(dec *d, ts_jt_ix js, ts_span *s)
{
    const ts_jtape *tp = d->tp;
    ts_jt_ix ctx, it, st;
    char *kind = NULL, *code = NULL;
    int rc;

    ts_span_init(s);
    s->origin = TS_ORIGIN_SPANS_BULK;
    if (ts_jt_type(tp, js) != TS_JT_OBJECT)
        return bad(d, NULL, NULL, "model_attributes_type", "Input should be a valid dictionary");
    if ((rc = req_string(d, js, "name", NULL, &s->name)) != TS_OK)
        return rc;
    ctx = ts_jt_get(tp, js, "context");
    if (ctx == TS_JT_NONE)
        return bad(d, "context", NULL, "missing", "Field required");
    if (ts_jt_type(tp, ctx) != TS_JT_OBJECT)
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
    st = ts_jt_get(tp, js, "status");
    if (st == TS_JT_NONE)
        return bad(d, "status", NULL, "missing", "Field required");
    if (ts_jt_type(tp, st) != TS_JT_OBJECT)
        return bad(d, "status", NULL, "model_attributes_type", "Input should be a valid dictionary");
    if ((rc = req_string(d, st, "status_code", "status", &code)) != TS_OK)
        return rc;
    if ((s->status_code = parse_enum(code, "StatusCode.", status_names, 3)) < 0)
        return bad(d, "status", "status_code", "enum",
                   "Input should be 'StatusCode.ERROR', 'StatusCode.OK' or 'StatusCode.UNSET'");
    if ((rc = opt_string(d, st, "description", "status", &s->status_message)) != TS_OK)
        return rc;
    it = ts_jt_get(tp, js, "attributes");
    if (ts_jt_type(tp, it) == TS_JT_OBJECT &&
        ts_jt_count(tp, it) > (size_t)d->cfg->max_attributes_per_span)
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
    if (ts_json_genai(tp, js, s, d->a) != TS_OK)
        return oom(d);
    if (!s->type)
        s->type = s->model || s->prompt_tokens >= 0 || s->completion_tokens >= 0 ? "llm" : "other";
    return TS_OK;
}

static int body_error(ts_err *err, const char *field, const char *type, const char *msg)
{
    ts_err_set(err, TS_EINVAL, "%s", msg);
    ts_err_type(err, type);
    ts_err_loc_key(err, "body");
    if (field)
        ts_err_loc_key(err, field);
    return TS_EINVAL;
}

static int decode_body(dec *d, ts_span **spans, size_t *n, int *close_after)
{
    const ts_jtape *tp = d->tp;
    const ts_config *cfg = d->cfg;
    ts_jt_ix arr = ts_jt_get(tp, 0, "spans"), ca = ts_jt_get(tp, 0, "close_after");
    int rc;

    if (ts_jt_type(tp, 0) != TS_JT_OBJECT)
        return body_error(d->err, NULL, "model_attributes_type",
                          "Input should be a valid dictionary");
    if (ts_jt_type(tp, arr) != TS_JT_ARRAY)
        return body_error(d->err, "spans", arr == TS_JT_NONE ? "missing" : "list_type",
                          arr == TS_JT_NONE ? "Field required" : "Input should be a valid list");
    if (!ts_jt_nullish(tp, ca)) {
        int t = ts_jt_type(tp, ca);
        if (t != TS_JT_TRUE && t != TS_JT_FALSE)
            return body_error(d->err, "close_after", "bool_type",
                              "Input should be a valid boolean");
        *close_after = t == TS_JT_TRUE;
    }
    size_t count = ts_jt_count(tp, arr);
    if (count > (size_t)cfg->max_spans_per_request)
        return ts_err_set(d->err, TS_ETOOBIG,
                          "%zu spans in one request; max_spans_per_request is %lld", count,
                          (long long)cfg->max_spans_per_request);
    if (count > 0 && !(*spans = ts_arena_alloc(d->a, count * sizeof(ts_span))))
        return oom(d);
    for (ts_jt_ix js = ts_jt_first(tp, arr); js != TS_JT_NONE; js = ts_jt_next(tp, arr, js)) {
        if ((rc = decode_span(d, js, &(*spans)[d->index])) != TS_OK)
            return rc;
        d->index++;
    }
    *n = (size_t)d->index;
    return TS_OK;
}

int ts_spans_bulk_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                         ts_span **spans, size_t *n, int *close_after, ts_err *err)
{
    ts_jtape tp;
    dec d = {&tp, cfg, a, err, 0};
    int rc = ts_jtape_parse(body, len, cfg, &tp, err);

    *spans = NULL;
    *n = 0;
    *close_after = 0;
    if (rc == TS_EINVAL)
        ts_err_loc_key(err, "body");
    if (rc == TS_OK)
        rc = decode_body(&d, spans, n, close_after);
    ts_jtape_free(&tp);
    return rc;
}
