/* common.c: what every API surface shares: error shapes per vendor
 * family, JSON responses, status mapping and small encoders. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "codec/json_util.h"
#include "ingest/ingest.h"
#include "tracestore/ids.h"
#include "tracestore/timeutil.h"
#include "tracestore/utf8.h"

#define RESPAN_401                                                                             \
    "Your API key is invalid or expired, please check your API key at "                        \
    "https://platform.respan.ai/platform/api/api-keys"

/* Sets text (malloc'd, taken; NULL when rendering ran out of memory). */
static void respond(ts_req *r, int status, char *text, size_t len)
{
    if (!text)
        ts_req_respond(r, 500, "application/json", NULL, 0);
    else
        ts_req_respond(r, status, "application/json", text, len);
}

void ts_api_json(ts_req *r, int status, cJSON *root)
{
    char *s = root ? ts_json_print_malloc(root) : NULL;
    cJSON_Delete(root);
    respond(r, status, s, s ? strlen(s) : 0);
}

void ts_api_jsonw(ts_req *r, int status, ts_jsonw *w)
{
    size_t len;
    char *s = ts_jsonw_finish(w, &len);
    respond(r, status, s, len);
}

void ts_api_error(ts_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* cut at sizeof msg on a character boundary; client text of unknown
     * encoding (a decoded path) never makes the JSON invalid */
    ts_utf8_repair(msg);

    cJSON *o = cJSON_CreateObject();
    ts_family fam = r->route ? r->route->family : TS_FAMILY_NONE;
    switch (fam) {
    case TS_FAMILY_PROMPTLAYER:
        cJSON_AddBoolToObject(o, "success", 0);
        cJSON_AddStringToObject(o, "message", msg);
        cJSON_AddStringToObject(o, "error", code);
        break;
    case TS_FAMILY_RESPAN:
        cJSON_AddStringToObject(o, "detail", status == 401 ? RESPAN_401 : msg);
        break;
    case TS_FAMILY_TRULAYER: {
        /* TruLayer SDKs latch on error == "invalid API key" / code. */
        const char *text = status == 401 ? "invalid API key" : msg;
        cJSON_AddStringToObject(o, "error", text);
        cJSON_AddStringToObject(o, "code", code);
        cJSON_AddStringToObject(o, "message", text);
        break;
    }
    case TS_FAMILY_NONE: {
        /* Unrouted requests: a short error plus the detail. */
        char shortmsg[64];
        size_t i = 0;
        for (; code[i] && i + 1 < sizeof(shortmsg); i++)
            shortmsg[i] = code[i] == '_' ? ' ' : code[i];
        shortmsg[i] = '\0';
        cJSON_AddStringToObject(o, "error", shortmsg);
        cJSON_AddStringToObject(o, "message", msg);
        break;
    }
    }
    if (status == 503 || status == 429)
        r->retry_after = 1;
    ts_api_json(r, status, o);
}

void ts_api_fail(ts_req *r, int rc, const char *msg)
{
    switch (rc) {
    case TS_EINVAL:
        ts_api_error(r, r->route && r->route->family == TS_FAMILY_PROMPTLAYER ? 422 : 400,
                     "invalid_request", "%s", msg);
        break;
    case TS_ENOTFOUND:
        ts_api_error(r, 404, "not_found", "%s", msg);
        break;
    case TS_ECONFLICT:
        ts_api_error(r, 409, "conflict", "%s", msg);
        break;
    case TS_ETOOBIG:
        ts_api_error(r, 413, "payload_too_large", "%s", msg);
        break;
    case TS_EMEDIA:
        ts_api_error(r, 415, "unsupported_media_type", "%s", msg);
        break;
    case TS_EAUTH:
        ts_api_error(r, 401, "invalid_api_key", "%s", msg);
        break;
    case TS_EBUSY:
        ts_api_error(r, 503, "overloaded", "server busy, retry later");
        break;
    case TS_ESHUTDOWN:
        ts_api_error(r, 503, "shutting_down", "server shutting down, retry later");
        break;
    default:
        ts_api_error(r, 500, "internal_error", "internal error: %s", ts_strerror(rc));
        break;
    }
}

void ts_api_write_failed(ts_req *r)
{
    const ts_write *w = &r->write;
    ts_api_fail(r, w->rc, w->err.msg[0] ? w->err.msg : ts_strerror(w->rc));
}

int ts_api_require_json(ts_req *r)
{
    const char *ce = ts_req_header(r, "Content-Encoding");
    if (ce && *ce && strcasecmp(ce, "identity") != 0) {
        /* Only the OTLP routes decode compressed bodies (api/otlp.c). */
        ts_api_error(r, 415, "unsupported_media_type",
                     "unsupported Content-Encoding '%.*s' on this route (gzip is accepted on the "
                     "OTLP routes only)",
                     (int)ts_utf8_prefix(ce, 64), ce);
        return -1;
    }
    const char *ct = ts_req_header(r, "Content-Type");
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 0;
    ts_api_error(r, 415, "unsupported_media_type",
                 "unsupported Content-Type '%.*s': expected application/json",
                 (int)ts_utf8_prefix(ct, 100), ct);
    return -1;
}

int ts_api_ingest_job(ts_req *r, ts_span *spans, size_t n, ts_handler cont)
{
    memset(&r->write, 0, sizeof(r->write));
    r->write.kind = TS_W_INGEST;
    r->write.ws_id = r->ws.id;
    r->write.spans = spans;
    r->write.nspans = n;
    r->write.derive = ts_ingest_derive;
    r->cont = cont;
    return TS_H_ASYNC;
}

int ts_api_trace_id(const char *raw, char out[TS_ID_MAX + 1])
{
    return raw && ts_id_canon(raw, strlen(raw), out) == TS_OK ? 0 : -1;
}

void ts_api_add_time(cJSON *o, const char *key, int64_t ns)
{
    char buf[TS_ISO_BUFSZ];
    cJSON_AddStringToObject(o, key, ts_time_format_iso(ns, buf));
}

void ts_api_add_time_opt(cJSON *o, const char *key, int has, int64_t ns)
{
    if (has)
        ts_api_add_time(o, key, ns);
    else
        cJSON_AddNullToObject(o, key);
}

void ts_api_add_str(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

void ts_api_add_str_opt(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
}

void ts_api_add_raw(cJSON *o, const char *key, const char *json, const char *dflt)
{
    /* Stored JSON text was produced by our own encoder: embed it verbatim. */
    cJSON_AddRawToObject(o, key, json ? json : dflt);
}

void ts_api_idmask(const ts_req *r, ts_idmask *m)
{
    ts_idmask_init(m, ts_store_id_secret(r->app->store), r->ws.id);
}

/* Integers go in as raw text: cJSON prints numbers through a double,
 * which shows 10^15 as 1e+15 and drops digits above 2^53. */
void ts_api_add_i64(cJSON *o, const char *key, int64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%lld", (long long)v);
    cJSON_AddRawToObject(o, key, b);
}

void ts_api_add_tokens_opt(cJSON *o, const char *key, int64_t v)
{
    if (v != TS_TOKENS_ABSENT)
        ts_api_add_i64(o, key, v);
}

void ts_api_put_time(ts_jsonw *w, const char *key, int64_t ns)
{
    char buf[TS_ISO_BUFSZ];
    ts_api_put_str(w, key, ts_time_format_iso(ns, buf));
}

void ts_api_put_time_opt(ts_jsonw *w, const char *key, int has, int64_t ns)
{
    char buf[TS_ISO_BUFSZ];
    ts_api_put_str(w, key, has ? ts_time_format_iso(ns, buf) : NULL);
}

void ts_api_put_str(ts_jsonw *w, const char *key, const char *s)
{
    ts_jsonw_key(w, key);
    ts_jsonw_str(w, s);
}

void ts_api_put_str_opt(ts_jsonw *w, const char *key, const char *s)
{
    if (s)
        ts_api_put_str(w, key, s);
}

void ts_api_put_raw(ts_jsonw *w, const char *key, const char *json, const char *dflt)
{
    /* Stored JSON text was produced by our own encoder: splice it verbatim. */
    const char *text = json && *json ? json : dflt;
    ts_jsonw_key(w, key);
    ts_jsonw_raw(w, text, strlen(text));
}

void ts_api_put_i64(ts_jsonw *w, const char *key, int64_t v)
{
    ts_jsonw_key(w, key);
    ts_jsonw_i64(w, v);
}

void ts_api_put_double(ts_jsonw *w, const char *key, double v)
{
    ts_jsonw_key(w, key);
    ts_jsonw_double(w, v);
}

void ts_api_put_tokens_opt(ts_jsonw *w, const char *key, int64_t v)
{
    if (v != TS_TOKENS_ABSENT)
        ts_api_put_i64(w, key, v);
}
