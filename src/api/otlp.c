/* otlp.c: the OTLP/HTTP trace receiver, one handler on every path the
 * vendors use (POST /v1/traces, /v1/otlp/traces, /api/v1/traces,
 * /api/v2/traces). Content-Type picks the codec (protobuf or JSON),
 * Content-Encoding gzip is inflated under max_body_bytes, spans are stored
 * through the same ingest job as /spans-bulk, and the answer follows the
 * OTLP spec: 200 with partial_success for spans that could not be stored,
 * 400 google.rpc.Status for an undecodable body, in the request's
 * encoding; 409 (PromptLayer's JSON) when every span's trace is closed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "codec/gzip.h"
#include "codec/otlp.h"
#include "codec/otlp_json.h"
#include "codec/otlp_pb.h"
#include "ingest/ingest.h"
#include "tracestore/utf8.h"

enum { ENC_JSON = 0, ENC_PB = 1 };

/* google.rpc.Code values used in Status bodies. */
enum {
    RPC_INVALID_ARGUMENT = 3,
    RPC_RESOURCE_EXHAUSTED = 8,
    RPC_INTERNAL = 13,
    RPC_UNAVAILABLE = 14
};

typedef struct otlp_ctx {
    int enc;
    size_t bad;    /* spans rejected before the store (ids, times) */
    char why[200]; /* reason for the first of them */
} otlp_ctx;

static const char *ctype_of(int enc)
{
    return enc == ENC_PB ? "application/x-protobuf" : "application/json";
}

static void status_reply(ts_req *r, int enc, int http, int code, const char *msg)
{
    size_t len = 0;
    char *body =
        enc == ENC_PB ? ts_otlp_pb_status(code, msg, &len) : ts_otlp_json_status(code, msg);
    if (body && enc != ENC_PB)
        len = strlen(body);
    if (http == 503 || http == 429)
        r->retry_after = 1;
    ts_req_respond(r, body ? http : 500, ctype_of(enc), body, body ? len : 0);
}

static void fail_rc(ts_req *r, int enc, int rc, const char *msg)
{
    switch (rc) {
    case TS_EINVAL:
        status_reply(r, enc, 400, RPC_INVALID_ARGUMENT, msg);
        break;
    case TS_ETOOBIG:
        status_reply(r, enc, 413, RPC_RESOURCE_EXHAUSTED, msg);
        break;
    case TS_EMEDIA:
        status_reply(r, ENC_JSON, 415, RPC_INVALID_ARGUMENT, msg);
        break;
    case TS_EBUSY:
        status_reply(r, enc, 503, RPC_UNAVAILABLE, "server busy, retry later");
        break;
    case TS_ESHUTDOWN:
        status_reply(r, enc, 503, RPC_UNAVAILABLE, "server shutting down, retry later");
        break;
    default:
        status_reply(r, enc, 500, RPC_INTERNAL, msg);
        break;
    }
}

static void ok_reply(ts_req *r, int enc, long long rejected, const char *msg)
{
    size_t len = 0;
    char *body = enc == ENC_PB ? ts_otlp_pb_response(rejected, msg, &len)
                               : ts_otlp_json_response(rejected, msg);
    if (!body) {
        fail_rc(r, enc, TS_ENOMEM, "out of memory");
        return;
    }
    if (enc != ENC_PB)
        len = strlen(body);
    if (len == 0) {
        free(body);
        body = NULL;
    }
    ts_req_respond(r, 200, ctype_of(enc), body, len);
}

/* ENC_PB, ENC_JSON, or -1 with the 415 message in why. */
static int encoding_of(ts_req *r, char *why, size_t cap)
{
    const char *ct = ts_req_header(r, "Content-Type");
    if (!ct || !ct[0]) {
        snprintf(why, cap, "Content-Type is required: application/x-protobuf or application/json");
        return -1;
    }
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    if ((n == 22 && strncasecmp(ct, "application/x-protobuf", 22) == 0) ||
        (n == 20 && strncasecmp(ct, "application/protobuf", 20) == 0))
        return ENC_PB;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return ENC_JSON;
    snprintf(why, cap,
             "unsupported Content-Type '%.*s': expected application/x-protobuf or "
             "application/json",
             (int)ts_utf8_prefix(ct, 100), ct);
    return -1;
}

/* 1/0 for ?close_after, -1 when it is not a boolean. */
static int close_after_of(ts_req *r)
{
    const char *v = ts_req_query(r, "close_after");
    if (!v || !v[0] || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return 0;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
        return 1;
    return -1;
}

/* Inflates the body when Content-Encoding says gzip. *plain is malloc'd
 * (caller frees) or NULL when the body is used as is. */
static int decode_body(ts_req *r, char **plain, size_t *len, ts_err *err)
{
    const char *ce = ts_req_header(r, "Content-Encoding");
    *plain = NULL;
    *len = r->body_len;
    if (!ce || !ce[0] || strcasecmp(ce, "identity") == 0)
        return TS_OK;
    if (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0)
        return ts_gunzip(r->body ? r->body : "", r->body_len, (size_t)r->app->cfg->max_body_bytes,
                         plain, len, err);
    return ts_err_set(err, TS_EMEDIA, "unsupported Content-Encoding '%.*s': use gzip or none",
                      (int)ts_utf8_prefix(ce, 60), ce);
}

static int otlp_done(ts_req *r);

int ts_otlp_traces(ts_req *r)
{
    char why[256];
    ts_err err;
    ts_otlp_req q;
    ts_otlp_rejects rej;
    ts_otlp_limits lim;
    ts_span *spans = NULL;
    size_t n = 0, len = 0;
    char *plain = NULL;
    int rc, enc = encoding_of(r, why, sizeof(why));

    ts_err_clear(&err);
    if (enc < 0) {
        fail_rc(r, ENC_JSON, TS_EMEDIA, why);
        return TS_H_DONE;
    }
    int close_after = close_after_of(r);
    if (close_after < 0) {
        fail_rc(r, enc, TS_EINVAL, "close_after must be true or false");
        return TS_H_DONE;
    }
    if ((rc = decode_body(r, &plain, &len, &err)) != TS_OK) {
        fail_rc(r, enc, rc, err.msg);
        return TS_H_DONE;
    }
    const char *body = plain ? plain : (r->body ? r->body : "");
    ts_otlp_limits_from(r->app->cfg, &lim);
    rc = enc == ENC_PB ? ts_otlp_pb_decode(body, len, &lim, r->arena, &q, &err)
                       : ts_otlp_json_decode(body, len, r->app->cfg, r->arena, &q, &err);
    free(plain);
    if (rc == TS_OK && (rc = ts_otlp_to_spans(&q, r->arena, &spans, &n, &rej)) != TS_OK)
        ts_err_set(&err, rc, "out of memory");
    if (rc == TS_OK && (rc = ts_ingest_prepare(spans, &n, r->arena)) != TS_OK)
        ts_err_set(&err, rc, "out of memory");
    if (rc != TS_OK) {
        fail_rc(r, enc, rc, err.msg[0] ? err.msg : ts_strerror(rc));
        return TS_H_DONE;
    }
    r->spans_invalid = rej.count; /* partial success: counted in /metrics */
    if (n == 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", rej.first);
        ok_reply(r, enc, (long long)rej.count, rej.count ? msg : NULL);
        return TS_H_DONE;
    }
    otlp_ctx *c = ts_arena_calloc(r->arena, 1, sizeof(*c));
    if (!c) {
        fail_rc(r, enc, TS_ENOMEM, "out of memory");
        return TS_H_DONE;
    }
    c->enc = enc;
    c->bad = rej.count;
    snprintf(c->why, sizeof(c->why), "%s", rej.first);
    ts_api_ingest_job(r, spans, n, otlp_done);
    r->write.close_after = close_after;
    r->hctx = c;
    return TS_H_ASYNC;
}

/* 409 as PromptLayer documents: {"error":"Trace already closed: <id>","trace_ids":[...]} */
static void closed_reply(ts_req *r)
{
    const ts_write *w = &r->write;
    cJSON *o = cJSON_CreateObject();
    cJSON *ids = cJSON_CreateArray();
    for (size_t i = 0; i < w->nspans; i++) {
        const cJSON *it;
        int seen = 0;
        cJSON_ArrayForEach(it, ids) seen |= strcmp(it->valuestring, w->spans[i].trace_id) == 0;
        if (!seen)
            cJSON_AddItemToArray(ids, cJSON_CreateString(w->spans[i].trace_id));
    }
    char msg[200];
    snprintf(msg, sizeof(msg), "Trace already closed: %s", w->spans[0].trace_id);
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddItemToObject(o, "trace_ids", ids);
    ts_api_json(r, 409, o);
}

static int otlp_done(ts_req *r)
{
    const ts_write *w = &r->write;
    const otlp_ctx *c = r->hctx;
    if (w->rc != TS_OK) {
        fail_rc(r, c->enc, w->rc, w->err.msg[0] ? w->err.msg : ts_strerror(w->rc));
        return TS_H_DONE;
    }
    if (w->nrejected == w->nspans && c->bad == 0) {
        closed_reply(r);
        return TS_H_DONE;
    }
    size_t rejected = c->bad + w->nrejected;
    char msg[300] = "";
    if (c->bad)
        snprintf(msg, sizeof(msg), "%zu span(s) rejected: %s", c->bad, c->why);
    if (w->nrejected) {
        const char *closed = NULL;
        for (size_t i = 0; i < w->nspans && !closed; i++)
            if (w->spans[i].rejected)
                closed = w->spans[i].trace_id;
        size_t at = strlen(msg);
        snprintf(msg + at, sizeof(msg) - at, "%s%zu span(s) rejected: trace already closed: %s",
                 at ? "; " : "", w->nrejected, closed ? closed : "");
    }
    ok_reply(r, c->enc, (long long)rejected, rejected ? msg : NULL);
    return TS_H_DONE;
}
