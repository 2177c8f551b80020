/* trulayer_ingest.c: TruLayer TraceRequest / SpanRequest / EventRequest
 * JSON (trulayer-api.md section 3) -> trace meta + domain spans. Follows
 * the spec's validation (batch 1..100, span name and type required, tag
 * limits, session_id length, RFC 3339 times) and accepts the SDK-only
 * fields (project_id as a name or UUID, session_id, started_at, ended_at,
 * span trace_id). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "codec/json_util.h"
#include "codec/trulayer_ingest.h"
#include "tracestore/ids.h"
#include "tracestore/timeutil.h"

#define MAX_TAGS 20
#define MAX_TAG_CHARS 64
#define MAX_SESSION_CHARS 256
/* Ten years: keeps every ms -> ns product far inside int64. */
#define TS_TRULAYER_MAX_LATENCY_MS (INT64_C(10) * 366 * 86400 * 1000)

typedef struct dec {
    const ts_config *cfg;
    ts_arena *a;
    ts_err *err;
    int64_t now;
    ts_span *spans;
    size_t nspans, capspans;
} dec;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* fmt is always one of this file's literals with a single %s. */
static int bad(dec *d, const char *fmt, const char *what)
{
    ts_err_set(d->err, TS_EINVAL, fmt, what);
    return TS_EINVAL;
}
#pragma GCC diagnostic pop

/* Optional string: absent/null -> NULL; other non-strings are an error. */
static int opt_str(dec *d, const cJSON *o, const char *key, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!it || cJSON_IsNull(it))
        return TS_OK;
    if (!cJSON_IsString(it))
        return bad(d, "%s must be a string", key);
    *out = ts_arena_strdup(d->a, it->valuestring);
    return *out ? TS_OK : TS_ENOMEM;
}

/* input/output are strings on the wire; structured values are kept as JSON. */
static char *text_field(dec *d, const cJSON *o, const char *key)
{
    return ts_json_text(cJSON_GetObjectItemCaseSensitive(o, key), d->a);
}

static int opt_nonneg_int(dec *d, const cJSON *o, const char *key, int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it || cJSON_IsNull(it))
        return TS_OK;
    if (ts_json_i64(it, out) != TS_OK || *out < 0)
        return bad(d, "%s must be a non-negative integer", key);
    return TS_OK;
}

static int opt_tokens(dec *d, const cJSON *o, const char *key, int64_t *out)
{
    int rc = opt_nonneg_int(d, o, key, out);
    if (rc == TS_OK && *out != TS_TOKENS_ABSENT && !ts_tokens_ok(*out))
        return bad(d, "%s must be at most 1000000000000000", key);
    return rc;
}

static int opt_cost(dec *d, const cJSON *o, const char *key, int *has, double *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it || cJSON_IsNull(it))
        return TS_OK;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0)
        return bad(d, "%s must be a non-negative number", key);
    if (!ts_cost_ok(it->valuedouble))
        return bad(d, "%s must be at most 1e9 (USD)", key);
    *has = 1;
    *out = it->valuedouble;
    return TS_OK;
}

/* *has: the time was given (1970-01-01T00:00:00Z, 0 ns, is a time too). */
static int opt_time(dec *d, const cJSON *o, const char *key, int *has, int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = 0;
    *has = 0;
    if (!it || cJSON_IsNull(it))
        return TS_OK;
    if (!cJSON_IsString(it) || ts_time_parse_iso(it->valuestring, out) != TS_OK)
        return bad(d, "%s must be an RFC 3339 date-time", key);
    *has = 1;
    return TS_OK;
}

static int opt_object(dec *d, const cJSON *o, const char *key, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!it || cJSON_IsNull(it))
        return TS_OK;
    if (!cJSON_IsObject(it))
        return bad(d, "%s must be an object", key);
    *out = ts_json_print(it, d->a);
    return *out ? TS_OK : TS_ENOMEM;
}

/* An id field: given (validated, canonical when canon) or a fresh UUID. */
static int id_or_new(dec *d, const cJSON *o, const char *key, int canon, char **out)
{
    char buf[TS_ID_MAX + 1];
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it || cJSON_IsNull(it)) {
        char u[TS_UUID_STRLEN + 1];
        ts_uuid_new(u);
        ts_id_canon(u, strlen(u), buf);
        *out = ts_arena_strdup(d->a, canon ? buf : u);
        return *out ? TS_OK : TS_ENOMEM;
    }
    if (!cJSON_IsString(it) || ts_id_canon(it->valuestring, strlen(it->valuestring), buf) != TS_OK)
        return bad(d, "%s must be 1 to 128 printable ASCII characters", key);
    *out = ts_arena_strdup(d->a, canon ? buf : it->valuestring);
    return *out ? TS_OK : TS_ENOMEM;
}

/* tags: legacy array of strings, or an object of string values (tag_map). */
static int tags(dec *d, const cJSON *o, ts_trace_meta *m)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "tags"), *t;
    if (!it || cJSON_IsNull(it))
        return TS_OK;
    if (!cJSON_IsArray(it) && !cJSON_IsObject(it))
        return bad(d, "%s must be an array of strings or an object of strings", "tags");
    if (cJSON_GetArraySize(it) > MAX_TAGS)
        return bad(d, "at most 20 %s are allowed", "tags");
    cJSON_ArrayForEach(t, it)
    {
        if (!cJSON_IsString(t))
            return bad(d, "%s values must be strings", "tags");
        if (strlen(t->valuestring) > MAX_TAG_CHARS ||
            (t->string && strlen(t->string) > MAX_TAG_CHARS))
            return bad(d, "%s keys and values are at most 64 characters", "tags");
    }
    char *txt = ts_json_print(it, d->a);
    if (!txt)
        return TS_ENOMEM;
    if (cJSON_IsArray(it))
        m->tags = txt;
    else
        m->tag_map = txt;
    return TS_OK;
}

static int push_span(dec *d, ts_span **out)
{
    if (d->nspans == d->capspans) {
        size_t ncap = d->capspans ? d->capspans * 2 : 16;
        ts_span *na = ts_arena_alloc(d->a, ncap * sizeof(*na));
        if (!na)
            return TS_ENOMEM;
        if (d->nspans)
            memcpy(na, d->spans, d->nspans * sizeof(*na));
        d->spans = na;
        d->capspans = ncap;
    }
    *out = &d->spans[d->nspans++];
    return TS_OK;
}

/* metadata.cost_usd (a number) prices a span when no explicit cost. */
static void cost_from_metadata(const cJSON *js, ts_span *s)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(js, "metadata");
    const cJSON *c = cJSON_IsObject(md) ? cJSON_GetObjectItemCaseSensitive(md, "cost_usd") : NULL;
    if (!s->has_cost && cJSON_IsNumber(c) && ts_cost_ok(c->valuedouble)) {
        s->has_cost = 1;
        s->cost = c->valuedouble;
    }
}

static int decode_span(dec *d, const cJSON *js, const ts_trace_meta *m)
{
    ts_span *s;
    char *type = NULL;
    int rc, has_start = 0, has_end = 0;
    if (!cJSON_IsObject(js))
        return bad(d, "%s must be an object", "every span");
    if ((rc = push_span(d, &s)) != TS_OK)
        return rc;
    ts_span_init(s);
    s->origin = TS_ORIGIN_TRULAYER;
    s->trace_id = m->trace_id;
    if ((rc = id_or_new(d, js, "id", 0, &s->span_id)) != TS_OK ||
        (rc = opt_str(d, js, "name", &s->name)) != TS_OK ||
        (rc = opt_str(d, js, "type", &type)) != TS_OK)
        return rc;
    if (!s->name)
        return bad(d, "span %s is required", "name");
    if (!type)
        return bad(d, "span %s is required", "type");
    s->type = type[0] ? type : "other";
    if ((rc = opt_str(d, js, "parent_span_id", &s->parent_id)) != TS_OK ||
        (rc = opt_str(d, js, "model", &s->model)) != TS_OK ||
        (rc = opt_str(d, js, "error", &s->error)) != TS_OK ||
        (rc = opt_nonneg_int(d, js, "latency_ms", &s->latency_ms)) != TS_OK ||
        (rc = opt_tokens(d, js, "prompt_tokens", &s->prompt_tokens)) != TS_OK ||
        (rc = opt_tokens(d, js, "completion_tokens", &s->completion_tokens)) != TS_OK ||
        (rc = opt_cost(d, js, "cost", &s->has_cost, &s->cost)) != TS_OK ||
        (rc = opt_object(d, js, "metadata", &s->metadata)) != TS_OK ||
        (rc = opt_time(d, js, "start_time", &has_start, &s->start_ns)) != TS_OK ||
        (rc = opt_time(d, js, "end_time", &has_end, &s->end_ns)) != TS_OK)
        return rc;
    if (s->parent_id) {
        char buf[TS_ID_MAX + 1];
        if (!s->parent_id[0])
            s->parent_id = NULL;
        else if (ts_id_canon(s->parent_id, strlen(s->parent_id), buf) != TS_OK)
            return bad(d, "%s must be 1 to 128 printable ASCII characters", "parent_span_id");
    }
    if (s->error && !s->error[0])
        s->error = NULL;
    s->input = text_field(d, js, "input");
    s->output = text_field(d, js, "output");
    cost_from_metadata(js, s);
    /* Times: missing ones come from the trace, then from the latency. */
    if (!has_start)
        s->start_ns = m->has_started ? m->started_ns : d->now;
    if (s->latency_ms > TS_TRULAYER_MAX_LATENCY_MS)
        return bad(d, "span %s is more than 10 years", "latency_ms");
    if (!has_end) {
        int64_t lat_ns = s->latency_ms > 0 ? s->latency_ms * 1000000 : 0;
        if (s->start_ns > INT64_MAX - lat_ns)
            return bad(d, "span %s puts its end outside the representable range", "latency_ms");
        s->end_ns = s->start_ns + lat_ns;
    }
    if (s->end_ns < s->start_ns)
        return bad(d, "span %s must not be before start_time", "end_time");
    s->kind = TS_KIND_INTERNAL;
    s->status_code = s->error ? TS_STATUS_ERROR : TS_STATUS_UNSET;
    s->session_id = m->session_id;
    return TS_OK;
}

/* Events are stored whole, with level defaulted and an id assigned. */
static int events(dec *d, const cJSON *o, ts_trace_meta *m)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "events"), *e;
    if (!arr || cJSON_IsNull(arr))
        return TS_OK;
    if (!cJSON_IsArray(arr))
        return bad(d, "%s must be an array", "events");
    cJSON *out = cJSON_CreateArray();
    if (!out)
        return TS_ENOMEM;
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        const cJSON *lvl = cJSON_GetObjectItemCaseSensitive(e, "level");
        if (!cJSON_IsObject(e) || !cJSON_IsString(msg) ||
            (lvl && !cJSON_IsNull(lvl) && !cJSON_IsString(lvl))) {
            cJSON_Delete(out);
            return bad(d, "every event needs a string %s (and a string level)", "message");
        }
        cJSON *c = cJSON_Duplicate(e, 1);
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "id"))) {
            char u[TS_UUID_STRLEN + 1];
            ts_uuid_new(u);
            cJSON_DeleteItemFromObjectCaseSensitive(c, "id");
            cJSON_AddStringToObject(c, "id", u);
        }
        if (!cJSON_IsString(lvl)) {
            cJSON_DeleteItemFromObjectCaseSensitive(c, "level");
            cJSON_AddStringToObject(c, "level", "info");
        }
        if (!cJSON_GetObjectItemCaseSensitive(c, "timestamp")) {
            char buf[TS_ISO_BUFSZ];
            cJSON_AddStringToObject(c, "timestamp", ts_time_format_iso(d->now, buf));
        }
        cJSON_AddItemToArray(out, c);
    }
    m->events = ts_json_print(out, d->a);
    cJSON_Delete(out);
    return m->events ? TS_OK : TS_ENOMEM;
}

static int decode_trace(dec *d, const cJSON *o, ts_trace_meta *m)
{
    const cJSON *spans, *js;
    int rc;
    memset(m, 0, sizeof(*m));
    m->latency_ms = -1;
    if (!cJSON_IsObject(o))
        return bad(d, "%s must be an object", "every trace");
    if ((rc = id_or_new(d, o, "id", 1, &m->trace_id)) != TS_OK ||
        (rc = opt_str(d, o, "external_id", &m->external_id)) != TS_OK ||
        (rc = opt_str(d, o, "name", &m->name)) != TS_OK ||
        (rc = opt_str(d, o, "model", &m->model)) != TS_OK ||
        (rc = opt_str(d, o, "error", &m->error)) != TS_OK ||
        (rc = opt_str(d, o, "session_id", &m->session_id)) != TS_OK ||
        (rc = opt_str(d, o, "project_id", &m->project)) != TS_OK ||
        (rc = opt_nonneg_int(d, o, "latency_ms", &m->latency_ms)) != TS_OK ||
        (rc = opt_cost(d, o, "cost", &m->has_cost, &m->cost)) != TS_OK ||
        (rc = opt_object(d, o, "metadata", &m->metadata)) != TS_OK ||
        (rc = opt_time(d, o, "started_at", &m->has_started, &m->started_ns)) != TS_OK ||
        (rc = opt_time(d, o, "ended_at", &m->has_ended, &m->ended_ns)) != TS_OK ||
        (rc = tags(d, o, m)) != TS_OK || (rc = events(d, o, m)) != TS_OK)
        return rc;
    if (m->latency_ms > TS_TRULAYER_MAX_LATENCY_MS)
        return bad(d, "%s is more than 10 years", "latency_ms");
    if (m->session_id && strlen(m->session_id) > MAX_SESSION_CHARS)
        return bad(d, "%s is at most 256 characters", "session_id");
    if (m->project && !m->project[0])
        m->project = NULL;
    if (m->error && !m->error[0])
        m->error = NULL;
    m->input = text_field(d, o, "input");
    m->output = text_field(d, o, "output");
    if (m->has_started && m->has_ended && m->ended_ns < m->started_ns)
        return bad(d, "%s must not be before started_at", "ended_at");
    spans = cJSON_GetObjectItemCaseSensitive(o, "spans");
    if (spans && !cJSON_IsNull(spans) && !cJSON_IsArray(spans))
        return bad(d, "%s must be an array", "spans");
    cJSON_ArrayForEach(js, spans)
    {
        if (d->nspans >= (size_t)d->cfg->max_spans_per_request)
            return ts_err_set(d->err, TS_ETOOBIG,
                              "more spans than max_spans_per_request (%lld) in one request",
                              (long long)d->cfg->max_spans_per_request);
        if ((rc = decode_span(d, js, m)) != TS_OK)
            return rc;
    }
    return TS_OK;
}

int ts_trulayer_decode(const char *body, size_t len, int batch, const ts_config *cfg, ts_arena *a,
                       ts_trace_meta **traces, size_t *ntraces, ts_span **spans, size_t *nspans,
                       ts_err *err)
{
    cJSON *root = NULL;
    dec d = {.cfg = cfg, .a = a, .err = err, .now = ts_now_ns()};
    int rc = ts_json_parse(body, len, cfg, a, &root, err);
    const cJSON *arr = NULL, *it;
    size_t count = 1, i = 0;

    *traces = NULL;
    *spans = NULL;
    *ntraces = *nspans = 0;
    if (rc != TS_OK)
        return rc;
    if (!cJSON_IsObject(root)) {
        rc = bad(&d, "the body must be a JSON %s", "object");
        goto out;
    }
    if (batch) {
        arr = cJSON_GetObjectItemCaseSensitive(root, "traces");
        if (!cJSON_IsArray(arr)) {
            rc = bad(&d, "%s must be an array of 1 to 100 traces", "traces");
            goto out;
        }
        count = (size_t)cJSON_GetArraySize(arr);
        if (count < 1 || count > TS_TRULAYER_BATCH_MAX) {
            rc = bad(&d, "%s must hold 1 to 100 traces", "traces");
            goto out;
        }
    }
    if (!(*traces = ts_arena_calloc(a, count, sizeof(**traces)))) {
        rc = TS_ENOMEM;
        goto out;
    }
    if (!batch) {
        rc = decode_trace(&d, root, &(*traces)[0]);
        i = 1;
    } else {
        cJSON_ArrayForEach(it, arr)
        {
            if ((rc = decode_trace(&d, it, &(*traces)[i])) != TS_OK)
                break;
            i++;
        }
    }
    if (rc == TS_OK) {
        *ntraces = i;
        *spans = d.spans;
        *nspans = d.nspans;
    }
out:
    cJSON_Delete(root);
    return rc;
}

int ts_trulayer_feedback_decode(const char *body, size_t len, const ts_config *cfg, ts_arena *a,
                                ts_feedback *f, ts_err *err)
{
    cJSON *root = NULL;
    dec d = {.cfg = cfg, .a = a, .err = err};
    int rc = ts_json_parse(body, len, cfg, a, &root, err);
    char *tid = NULL, *label = NULL, *comment = NULL, *md = NULL;
    char canon[TS_ID_MAX + 1];

    memset(f, 0, sizeof(*f));
    if (rc != TS_OK)
        return rc;
    if (!cJSON_IsObject(root)) {
        rc = bad(&d, "the body must be a JSON %s", "object");
        goto out;
    }
    if ((rc = opt_str(&d, root, "trace_id", &tid)) != TS_OK ||
        (rc = opt_str(&d, root, "label", &label)) != TS_OK ||
        (rc = opt_str(&d, root, "comment", &comment)) != TS_OK ||
        (rc = opt_object(&d, root, "metadata", &md)) != TS_OK)
        goto out;
    const cJSON *score = cJSON_GetObjectItemCaseSensitive(root, "score");
    if (score && !cJSON_IsNull(score)) {
        if (!cJSON_IsNumber(score) || !isfinite(score->valuedouble)) {
            rc = bad(&d, "%s must be a number", "score");
            goto out;
        }
        f->has_score = 1;
        f->score = score->valuedouble;
    }
    if (!tid) {
        rc = bad(&d, "%s is required", "trace_id");
        goto out;
    }
    if (ts_id_canon(tid, strlen(tid), canon) != TS_OK) {
        rc = bad(&d, "%s must be 1 to 128 printable ASCII characters", "trace_id");
        goto out;
    }
    if (!label || !label[0]) {
        rc = bad(&d, "%s is required (good, bad, neutral or any other text)", "label");
        goto out;
    }
    f->trace_id = ts_arena_strdup(a, canon);
    f->label = label;
    f->comment = comment;
    f->metadata = md;
out:
    cJSON_Delete(root);
    return rc;
}
