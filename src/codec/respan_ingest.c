/* respan_ingest.c: Respan's JSON span ingest (respan-api.md sections 3.7
 * and 4: a JSON array of spans or {"data":[...]}) -> domain spans, and the
 * list/bulk-delete `filters` object (section 1) -> store conditions. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "codec/json_util.h"
#include "codec/respan_ingest.h"
#include "tracestore/ids.h"
#include "tracestore/timeutil.h"
#include "tracestore/utf8.h"

static int bad(ts_err *err, int index, const char *field, const char *what)
{
    if (index >= 0)
        ts_err_set(err, TS_EINVAL, "span %d: %s %s", index, field, what);
    else
        ts_err_set(err, TS_EINVAL, "%s %s", field, what);
    return TS_EINVAL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNull(it) ? NULL : it;
}

static int opt_str(const cJSON *o, const char *k, int idx, ts_arena *a, char **out, ts_err *err)
{
    const cJSON *it = get(o, k);
    *out = NULL;
    if (!it)
        return TS_OK;
    if (!cJSON_IsString(it))
        return bad(err, idx, k, "must be a string");
    *out = ts_arena_strdup(a, it->valuestring);
    return *out ? TS_OK : TS_ENOMEM;
}

static int opt_tokens(const cJSON *o, const char *k, int idx, int64_t *out, ts_err *err)
{
    const cJSON *it = get(o, k);
    if (!it)
        return TS_OK;
    if (ts_json_i64(it, out) != TS_OK || *out < 0)
        return bad(err, idx, k, "must be a non-negative integer");
    if (!ts_tokens_ok(*out))
        return bad(err, idx, k, "must be at most 1000000000000000");
    return TS_OK;
}

static int opt_seconds(const cJSON *o, const char *k, int idx, int *has, double *out, ts_err *err)
{
    const cJSON *it = get(o, k);
    if (!it)
        return TS_OK;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0 ||
        it->valuedouble > 1e9)
        return bad(err, idx, k, "must be a non-negative number");
    *has = 1;
    *out = it->valuedouble;
    return TS_OK;
}

/* *has: the time was given (the epoch, 0 ns, is a time like any). */
static int opt_time(const cJSON *o, const char *k, int idx, int *has, int64_t *out, ts_err *err)
{
    const cJSON *it = get(o, k);
    *out = 0;
    *has = 0;
    if (!it)
        return TS_OK;
    if (!cJSON_IsString(it) || ts_time_parse_iso(it->valuestring, out) != TS_OK)
        return bad(err, idx, k, "must be an ISO 8601 date-time");
    *has = 1;
    return TS_OK;
}

/* The first string among keys, or NULL. */
static char *first_str(const cJSON *o, const char *const *keys, ts_arena *a)
{
    for (; *keys; keys++) {
        const cJSON *it = get(o, *keys);
        if (cJSON_IsString(it) && it->valuestring[0])
            return ts_arena_strdup(a, it->valuestring);
    }
    return NULL;
}

/* Extra Respan fields kept as the span's attributes. */
static char *extras(const cJSON *js, ts_arena *a)
{
    static const char *const keep[] = {"status_code",
                                       "span_workflow_name",
                                       "span_path",
                                       "environment",
                                       "trace_group_identifier",
                                       "thread_identifier",
                                       "unique_id",
                                       "provider_id",
                                       NULL};
    cJSON *o = cJSON_CreateObject();
    for (const char *const *k = keep; *k; k++) {
        const cJSON *it = get(js, *k);
        if (it)
            cJSON_AddItemToObject(o, *k, cJSON_Duplicate(it, 1));
    }
    char *txt = ts_json_print(o, a);
    cJSON_Delete(o);
    return txt;
}

static int times(const cJSON *js, int idx, ts_span *s, int64_t now, ts_err *err)
{
    int64_t start, end;
    int has_lat = 0, has_start, has_end;
    double lat = 0;
    int rc;
    if ((rc = opt_time(js, "start_time", idx, &has_start, &start, err)) != TS_OK ||
        (rc = opt_time(js, "timestamp", idx, &has_end, &end, err)) != TS_OK ||
        (rc = opt_seconds(js, "latency", idx, &has_lat, &lat, err)) != TS_OK)
        return rc;
    if (!has_lat && (rc = opt_seconds(js, "generation_time", idx, &has_lat, &lat, err)) != TS_OK)
        return rc;
    int64_t lat_ns = has_lat ? (int64_t)llround(lat * 1e9) : 0; /* lat <= 1e9 s */
    if (!has_end && !has_start) {
        end = now;
        has_end = 1;
    }
    if ((!has_start && end < INT64_MIN + lat_ns) || (!has_end && start > INT64_MAX - lat_ns))
        return bad(err, idx, "latency", "puts the span outside the representable time range");
    if (!has_start)
        start = end - lat_ns;
    if (!has_end)
        end = start + lat_ns;
    if (end < start)
        return bad(err, idx, "timestamp", "(the span's end) must not be before start_time");
    s->start_ns = start;
    s->end_ns = end;
    if (has_lat)
        s->latency_ms = (int64_t)llround(lat * 1000.0);
    return TS_OK;
}

static int tokens(const cJSON *js, int idx, ts_span *s, ts_err *err)
{
    const cJSON *u = get(js, "usage");
    int rc;
    if (u && !cJSON_IsObject(u))
        return bad(err, idx, "usage", "must be an object");
    if (u && ((rc = opt_tokens(u, "prompt_tokens", idx, &s->prompt_tokens, err)) != TS_OK ||
              (rc = opt_tokens(u, "completion_tokens", idx, &s->completion_tokens, err)) != TS_OK ||
              (rc = opt_tokens(u, "total_tokens", idx, &s->total_tokens, err)) != TS_OK))
        return rc;
    if ((rc = opt_tokens(js, "prompt_tokens", idx, &s->prompt_tokens, err)) != TS_OK ||
        (rc = opt_tokens(js, "completion_tokens", idx, &s->completion_tokens, err)) != TS_OK ||
        (rc = opt_tokens(js, "total_request_tokens", idx, &s->total_tokens, err)) != TS_OK ||
        (rc = opt_tokens(js, "prompt_cache_hit_tokens", idx, &s->cache_read_tokens, err)) !=
            TS_OK ||
        (rc = opt_tokens(js, "prompt_cache_creation_tokens", idx, &s->cache_write_tokens, err)) !=
            TS_OK)
        return rc;
    return TS_OK;
}

static int status(const cJSON *js, int idx, ts_span *s, ts_arena *a, ts_err *err)
{
    char *st = NULL, *msg = NULL;
    int rc;
    int64_t code = 0;
    if ((rc = opt_str(js, "status", idx, a, &st, err)) != TS_OK ||
        (rc = opt_str(js, "error_message", idx, a, &msg, err)) != TS_OK)
        return rc;
    const cJSON *c = get(js, "status_code");
    if (c && ts_json_i64(c, &code) != TS_OK)
        return bad(err, idx, "status_code", "must be an integer");
    if ((st && strcasecmp(st, "error") == 0) || code >= 400 || (msg && msg[0])) {
        s->error = msg && msg[0] ? msg : "error";
        s->status_code = TS_STATUS_ERROR;
        s->status_message = s->error;
    } else {
        s->status_code = TS_STATUS_OK;
    }
    return TS_OK;
}

static int decode_span(const cJSON *js, int idx, ts_arena *a, int64_t now, ts_span *s, ts_err *err)
{
    static const char *const session_keys[] = {"session_identifier", "thread_identifier",
                                               "trace_group_identifier", NULL};
    char buf[TS_ID_MAX + 1];
    char *tid = NULL, *log_type = NULL;
    int rc;
    const cJSON *it;

    ts_span_init(s);
    s->origin = TS_ORIGIN_RESPAN;
    s->kind = TS_KIND_INTERNAL;
    if (!cJSON_IsObject(js))
        return bad(err, idx, "span", "must be an object");
    if ((rc = opt_str(js, "trace_unique_id", idx, a, &tid, err)) != TS_OK ||
        (rc = opt_str(js, "span_unique_id", idx, a, &s->span_id, err)) != TS_OK ||
        (rc = opt_str(js, "span_parent_id", idx, a, &s->parent_id, err)) != TS_OK)
        return rc;
    if (!tid || ts_id_canon(tid, strlen(tid), buf) != TS_OK)
        return bad(err, idx, "trace_unique_id", "is required: 1 to 128 printable ASCII characters");
    s->trace_id = ts_arena_strdup(a, buf);
    if (!s->span_id || ts_id_canon(s->span_id, strlen(s->span_id), buf) != TS_OK)
        return bad(err, idx, "span_unique_id", "is required: 1 to 128 printable ASCII characters");
    if (s->parent_id && !s->parent_id[0])
        s->parent_id = NULL;
    if (s->parent_id && ts_id_canon(s->parent_id, strlen(s->parent_id), buf) != TS_OK)
        return bad(err, idx, "span_parent_id", "must be 1 to 128 printable ASCII characters");
    if ((rc = opt_str(js, "span_name", idx, a, &s->name, err)) != TS_OK ||
        (rc = opt_str(js, "log_type", idx, a, &log_type, err)) != TS_OK ||
        (rc = opt_str(js, "model", idx, a, &s->model, err)) != TS_OK ||
        (rc = opt_str(js, "provider_id", idx, a, &s->provider, err)) != TS_OK ||
        (rc = opt_str(js, "customer_identifier", idx, a, &s->user_id, err)) != TS_OK)
        return rc;
    /* Respan keeps span_name in a varchar(255): 255 characters, cut on a
     * character boundary (a cut at byte 255 split a multibyte character
     * and made the workspace's reads invalid UTF-8). */
    if (s->name)
        s->name[ts_utf8_chars(s->name, strlen(s->name), 255)] = '\0';
    /* Respan's default log_type is "chat"; a span with neither a log_type
     * nor a model is not an LLM call, so it defaults to "custom". */
    s->type = log_type && log_type[0] ? log_type : (s->model ? "chat" : "custom");
    if (!s->name)
        s->name = s->type;
    if ((rc = times(js, idx, s, now, err)) != TS_OK || (rc = tokens(js, idx, s, err)) != TS_OK ||
        (rc = status(js, idx, s, a, err)) != TS_OK)
        return rc;
    if ((it = get(js, "cost"))) {
        if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0)
            return bad(err, idx, "cost", "must be a non-negative number");
        if (!ts_cost_ok(it->valuedouble))
            return bad(err, idx, "cost", "must be at most 1e9 (USD)");
        s->has_cost = 1;
        s->cost = it->valuedouble;
    }
    if ((it = get(js, "metadata"))) {
        if (!cJSON_IsObject(it))
            return bad(err, idx, "metadata", "must be an object");
        s->metadata = ts_json_print(it, a);
    }
    s->input = ts_json_text(get(js, "input"), a);
    if (!s->input)
        s->input = ts_json_text(get(js, "prompt_messages"), a);
    s->output = ts_json_text(get(js, "output"), a);
    if (!s->output)
        s->output = ts_json_text(get(js, "completion_message"), a);
    s->session_id = first_str(js, session_keys, a);
    s->attributes = extras(js, a);
    return s->attributes ? TS_OK : TS_ENOMEM;
}

int ts_respan_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                     ts_span **spans, size_t *n, ts_err *err)
{
    cJSON *root = NULL;
    int rc = ts_json_parse(body, len, cfg, a, &root, err);
    const cJSON *arr = root, *js;
    int64_t now = ts_now_ns();
    int idx = 0;

    *spans = NULL;
    *n = 0;
    if (rc != TS_OK)
        return rc;
    if (cJSON_IsObject(root))
        arr = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(arr)) {
        rc = bad(err, -1, "body", "must be a JSON array of spans or {\"data\": [spans]}");
        goto out;
    }
    int count = cJSON_GetArraySize(arr);
    if (count > cfg->max_spans_per_request) {
        rc = ts_err_set(err, TS_ETOOBIG, "%d spans in one request; max_spans_per_request is %lld",
                        count, (long long)cfg->max_spans_per_request);
        goto out;
    }
    if (count > 0 && !(*spans = ts_arena_alloc(a, (size_t)count * sizeof(ts_span)))) {
        rc = TS_ENOMEM;
        goto out;
    }
    cJSON_ArrayForEach(js, arr)
    {
        if ((rc = decode_span(js, idx, a, now, &(*spans)[idx], err)) != TS_OK)
            goto out;
        idx++;
    }
    *n = (size_t)idx;
out:
    cJSON_Delete(root);
    return rc;
}

/* ---------------- filters ---------------- */

enum { V_TEXT, V_INT, V_NUM, V_TIME, V_SECONDS_MS };

static const struct {
    const char *name;
    ts_qfield field;
    int vt;
} fields[] = {
    {"trace_unique_id", TS_QF_TRACE_ID, V_TEXT},
    {"name", TS_QF_NAME, V_TEXT},
    {"customer_identifier", TS_QF_CUSTOMER, V_TEXT},
    {"session_identifier", TS_QF_SESSION, V_TEXT},
    {"start_time", TS_QF_STARTED, V_TIME},
    {"timestamp", TS_QF_STARTED, V_TIME},
    {"end_time", TS_QF_ENDED, V_TIME},
    {"span_count", TS_QF_SPAN_COUNT, V_INT},
    {"llm_call_count", TS_QF_LLM_COUNT, V_INT},
    {"error_count", TS_QF_ERROR_COUNT, V_INT},
    {"total_cost", TS_QF_COST, V_NUM},
    {"total_prompt_tokens", TS_QF_PROMPT_TOKENS, V_INT},
    {"total_completion_tokens", TS_QF_COMPLETION_TOKENS, V_INT},
    {"total_request_tokens", TS_QF_TOTAL_TOKENS, V_INT},
    {"total_tokens", TS_QF_TOTAL_TOKENS, V_INT},
    {"duration", TS_QF_LATENCY_MS, V_SECONDS_MS},
    {"input", TS_QF_INPUT, V_TEXT},
    {"output", TS_QF_OUTPUT, V_TEXT},
    /* span fields: a trace matches when any of its spans does */
    {"span_unique_id", TS_QF_SPAN_ID, V_TEXT},
    {"span_parent_id", TS_QF_SPAN_PARENT, V_TEXT},
    {"span_name", TS_QF_SPAN_NAME, V_TEXT},
    {"model", TS_QF_SPAN_MODEL, V_TEXT},
    {"provider_id", TS_QF_SPAN_PROVIDER, V_TEXT},
    {"status", TS_QF_SPAN_STATUS, V_TEXT},
    {"log_type", TS_QF_SPAN_TYPE, V_TEXT},
    {"cost", TS_QF_SPAN_COST, V_NUM},
    {"latency", TS_QF_SPAN_LATENCY, V_SECONDS_MS},
    {"prompt_tokens", TS_QF_SPAN_PROMPT_TOKENS, V_INT},
    {"completion_tokens", TS_QF_SPAN_COMPLETION_TOKENS, V_INT},
};

static const struct {
    const char *name;
    ts_qop op;
} ops[] = {
    {"", TS_QOP_EQ},
    {"=", TS_QOP_EQ},
    {"eq", TS_QOP_EQ},
    {"in", TS_QOP_EQ},
    {"not", TS_QOP_NE},
    {"lt", TS_QOP_LT},
    {"lte", TS_QOP_LTE},
    {"gt", TS_QOP_GT},
    {"gte", TS_QOP_GTE},
    {"iexact", TS_QOP_IEXACT},
    {"contains", TS_QOP_CONTAINS},
    {"icontains", TS_QOP_ICONTAINS},
    {"startswith", TS_QOP_STARTSWITH},
    {"endswith", TS_QOP_ENDSWITH},
    {"isnull", TS_QOP_ISNULL},
};

/* One filter value as store text, converted to the field's unit. */
static const char *value_text(const cJSON *v, int vt, ts_arena *a)
{
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    if (vt == V_TIME) {
        int64_t ns;
        if (!cJSON_IsString(v) || ts_time_parse_iso(v->valuestring, &ns) != TS_OK)
            return NULL;
        return ts_arena_printf(a, "%lld", (long long)ns);
    }
    if (vt == V_INT || vt == V_NUM || vt == V_SECONDS_MS) {
        double d;
        char *end = NULL;
        if (cJSON_IsNumber(v))
            d = v->valuedouble;
        else if (cJSON_IsString(v) && v->valuestring[0]) {
            d = strtod(v->valuestring, &end);
            if (*end)
                return NULL;
        } else
            return NULL;
        if (!isfinite(d) || fabs(d) > 9e15)
            return NULL;
        if (vt == V_SECONDS_MS)
            return ts_arena_printf(a, "%lld", (long long)llround(d * 1000.0));
        if (vt == V_INT && d == floor(d) && fabs(d) < 9e15)
            return ts_arena_printf(a, "%lld", (long long)d);
        return ts_arena_printf(a, "%.17g", d);
    }
    if (cJSON_IsString(v))
        return ts_arena_strdup(a, v->valuestring);
    if (cJSON_IsNumber(v))
        return ts_arena_printf(a, "%.17g", v->valuedouble);
    return NULL;
}

static int one_filter(const cJSON *f, ts_arena *a, ts_qcond *c, int *skip, ts_err *err)
{
    const char *key = f->string;
    int vt = V_TEXT;
    *skip = 0;
    memset(c, 0, sizeof(*c));
    if (strncmp(key, "metadata__", 10) == 0 && key[10]) {
        if (strpbrk(key + 10, "\"\\"))
            return ts_err_set(err, TS_EINVAL, "Invalid parameters or filters");
        c->field = TS_QF_METADATA;
        c->key = ts_arena_strdup(a, key + 10); /* the tree is freed before use */
    } else {
        size_t i = 0;
        for (; i < sizeof(fields) / sizeof(fields[0]); i++)
            if (strcmp(fields[i].name, key) == 0)
                break;
        if (i == sizeof(fields) / sizeof(fields[0])) {
            *skip = 1; /* Respan drops filter keys it does not know */
            return TS_OK;
        }
        c->field = fields[i].field;
        vt = fields[i].vt;
    }
    if (!cJSON_IsObject(f))
        return ts_err_set(err, TS_EINVAL, "Invalid parameters or filters: %s must be an object",
                          key);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(f, "operator");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(f, "value");
    const char *opname = cJSON_IsString(op) ? op->valuestring : "";
    if (op && !cJSON_IsNull(op) && !cJSON_IsString(op))
        return ts_err_set(err, TS_EINVAL, "Invalid parameters or filters: bad operator");
    size_t k = 0;
    for (; k < sizeof(ops) / sizeof(ops[0]); k++)
        if (strcasecmp(ops[k].name, opname) == 0)
            break;
    if (k == sizeof(ops) / sizeof(ops[0]))
        return ts_err_set(err, TS_EINVAL, "Invalid parameters or filters: unknown operator '%.*s'",
                          (int)ts_utf8_prefix(opname, 40), opname);
    c->op = ops[k].op;
    /* value is an array; a bare scalar is taken as a one-element array. */
    int nv = cJSON_IsArray(val) ? cJSON_GetArraySize(val) : (val && !cJSON_IsNull(val) ? 1 : 0);
    if (nv == 0 || nv > 100)
        return ts_err_set(err, TS_EINVAL, "Invalid parameters or filters: %s needs 1 to 100 values",
                          key);
    const char **vals = ts_arena_alloc(a, (size_t)nv * sizeof(*vals));
    if (!vals)
        return TS_ENOMEM;
    for (int i = 0; i < nv; i++) {
        const cJSON *v = cJSON_IsArray(val) ? cJSON_GetArrayItem(val, i) : val;
        int vtype = c->op == TS_QOP_ISNULL ? V_TEXT : vt;
        if (!(vals[i] = value_text(v, vtype, a)))
            return ts_err_set(err, TS_EINVAL, "Invalid parameters or filters: bad value for %s",
                              key);
    }
    c->vals = vals;
    c->nvals = (size_t)nv;
    return TS_OK;
}

int ts_respan_filters_decode(const cJSON *filters, ts_arena *a, ts_qcond **out, size_t *n,
                             ts_err *err)
{
    const cJSON *f;
    int count = cJSON_GetArraySize(filters), rc, skip;
    *out = NULL;
    *n = 0;
    if (!cJSON_IsObject(filters))
        return ts_err_set(err, TS_EINVAL,
                          "Invalid parameters or filters: filters must be an object");
    if (count > 64)
        return ts_err_set(err, TS_EINVAL, "Invalid parameters or filters: at most 64 filters");
    if (count && !(*out = ts_arena_calloc(a, (size_t)count, sizeof(**out))))
        return TS_ENOMEM;
    size_t total = 0;
    cJSON_ArrayForEach(f, filters)
    {
        if ((rc = one_filter(f, a, &(*out)[*n], &skip, err)) != TS_OK)
            return rc;
        if (skip)
            continue;
        total += (*out)[*n].nvals;
        if (total > TS_RESPAN_MAX_FILTER_VALUES)
            return ts_err_set(err, TS_EINVAL,
                              "Invalid parameters or filters: more than %d values in all",
                              TS_RESPAN_MAX_FILTER_VALUES);
        (*n)++;
    }
    return TS_OK;
}

int ts_respan_body_filters(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                           int *present, ts_qcond **out, size_t *n, ts_err *err)
{
    cJSON *root = NULL;
    int rc;
    *present = 0;
    *out = NULL;
    *n = 0;
    if (!body || len == 0)
        return TS_OK;
    if ((rc = ts_json_parse(body, len, cfg, a, &root, err)) != TS_OK)
        return rc;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ts_err_set(err, TS_EINVAL, "Invalid parameters or filters: body must be an object");
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, "filters");
    if (f && !cJSON_IsNull(f)) {
        *present = cJSON_IsObject(f) && cJSON_GetArraySize(f) > 0;
        rc = ts_respan_filters_decode(f, a, out, n, err);
    }
    cJSON_Delete(root);
    return rc;
}

/* ---------------- list sort ---------------- */

static const struct {
    const char *name;
    ts_qsort sort;
} sorts[] = {
    {"timestamp", TS_QS_STARTED},
    {"start_time", TS_QS_STARTED},
    {"end_time", TS_QS_ENDED},
    {"duration", TS_QS_LATENCY},
    {"total_cost", TS_QS_COST},
    {"total_tokens", TS_QS_TOTAL_TOKENS},
    {"total_prompt_tokens", TS_QS_PROMPT_TOKENS},
    {"total_completion_tokens", TS_QS_COMPLETION_TOKENS},
    {"span_count", TS_QS_SPAN_COUNT},
    {"llm_call_count", TS_QS_LLM_COUNT},
    {"error_count", TS_QS_ERROR_COUNT},
    {"name", TS_QS_NAME},
    {"customer_identifier", TS_QS_CUSTOMER},
    {"trace_unique_id", TS_QS_TRACE_ID},
    /* not stored per trace: sorted by start time */
    {"environment", TS_QS_STARTED},
    {"trace_group_identifier", TS_QS_STARTED},
};

int ts_respan_sort_decode(const char *s, ts_trace_query *q)
{
    q->sort = TS_QS_STARTED;
    q->desc = 1;
    if (!s || !*s)
        return 0;
    q->desc = s[0] == '-';
    if (s[0] == '-' || s[0] == '+')
        s++;
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++)
        if (strcmp(sorts[i].name, s) == 0) {
            q->sort = sorts[i].sort;
            return 0;
        }
    return -1;
}
