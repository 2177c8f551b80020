/* server.h: the HTTP layer's interface to the API layer. libmicrohttpd
 * stays inside server.c: handlers see a ts_req with accessors for headers,
 * query, path parameters and the body, and set a response on it.
 *
 * Request lifecycle: route match (404/405) -> authentication from headers
 * (401, before the body is read) -> body accumulated under max_body_bytes
 * (413) -> handler. A handler either sets the response (TS_H_DONE) or fills
 * r->write and sets r->cont (TS_H_ASYNC): the server suspends the
 * connection, submits the write, and calls r->cont on an HTTP thread after
 * the write's transaction has committed. */
#ifndef TS_HTTP_SERVER_H
#define TS_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "tracestore/arena.h"
#include "tracestore/config.h"
#include "tracestore/model.h"
#include "tracestore/store.h"

typedef enum ts_family {
    TS_FAMILY_NONE = 0,
    TS_FAMILY_PROMPTLAYER,
    TS_FAMILY_TRULAYER,
    TS_FAMILY_RESPAN,
} ts_family;

enum { TS_H_DONE = 0, TS_H_ASYNC = 1 };

enum {
    TS_R_NOAUTH = 1 << 0,    /* no API key needed */
    TS_R_BODY_KEY = 1 << 1,  /* the key travels in the JSON body (handler authenticates) */
    TS_R_INGEST = 1 << 2,    /* an ingest route (its refusals count in /metrics) */
};

#define TS_MAX_PARAMS 4

typedef struct ts_req ts_req;
typedef int (*ts_handler)(ts_req *r);

typedef struct ts_route {
    const char *method;
    const char *pattern; /* "/api/traces/{}"; a trailing slash is optional */
    ts_family family;
    int flags;
    ts_handler fn;
} ts_route;

struct ts_http;
struct ts_http_metrics;

typedef struct ts_app {
    const ts_config *cfg;
    ts_store *store;
    struct ts_http_metrics *metrics; /* NULL: nothing counted (http/http_metrics.h) */
    struct ts_http *http;            /* set by ts_http_start */
    int64_t started_ns;              /* when the process started (wall clock) */
} ts_app;

struct ts_req {
    ts_app *app;
    const ts_route *route;
    ts_arena *arena;
    const char *method;
    const char *path; /* normalised: no duplicate slashes */
    char *params[TS_MAX_PARAMS];
    int nparams;
    char *body;
    size_t body_len;
    ts_workspace ws;
    int authed;
    /* response */
    int status;
    char *resp; /* malloc'd, owned by the server once set */
    size_t resp_len;
    const char *ctype;
    int retry_after; /* seconds; 0: no header */
    const char *allow;
    const char *const *headers; /* extra "Name", "Value" pairs, NULL-terminated (static) */
    /* async write */
    ts_write write;
    ts_handler cont;
    void *hctx;           /* handler state carried to cont (arena memory) */
    size_t spans_invalid; /* spans the handler dropped as invalid (for /metrics) */
    /* private to server.c */
    void *conn;
    void *http;            /* the ts_http serving r */
    const char *hdr_start; /* MHD's request line, in its read buffer */
    int state;
    int64_t start_ns;
    int64_t handler_ns, submit_ns, resumed_ns; /* for ts_http_report */
    size_t discarded;
    size_t body_cap;
    size_t sent_len; /* response body bytes, for the access log */
};

/* Header value (name case-insensitive) or NULL. */
const char *ts_req_header(ts_req *r, const char *name);
/* Query argument (URL-decoded) or NULL. Repeated arguments: the first. */
const char *ts_req_query(ts_req *r, const char *name);
/* Visits every query argument. */
void ts_req_query_each(ts_req *r, void (*fn)(void *ctx, const char *k, const char *v), void *ctx);
/* Sets the response; takes ownership of body (malloc'd). */
void ts_req_respond(ts_req *r, int status, const char *ctype, char *body, size_t len);
/* The key of the X-API-KEY or Authorization: Bearer header (*key NULL when
 * neither is given), optional whitespace stripped; *key points into the
 * request's headers and is *len bytes, not NUL-terminated. A header given
 * twice or two headers naming different keys is refused (401 set on r,
 * TS_EAUTH), and so is a NUL byte in either (400, TS_EINVAL). */
int ts_req_header_key(ts_req *r, const char **key, size_t *len);
/* Authenticates key (len bytes; NULL: none) for r and takes a token from
 * its rate_limit_per_key bucket. TS_OK, or the answer (401, 503, or 429
 * with Retry-After) is set on r and the error returned. Every
 * authenticated route passes through it, TS_R_BODY_KEY handlers too. */
int ts_req_authenticate(ts_req *r, const char *key, size_t len);

typedef struct ts_http ts_http;

/* Starts serving cfg->listen with the routes table (NULL-terminated by a
 * route whose method is NULL). Prints the bound address. */
int ts_http_start(ts_app *app, const ts_route *routes, ts_http **out, ts_err *err);
/* The port actually bound (useful with port 0). */
int ts_http_port(ts_http *h);
/* Stops accepting, waits up to grace_ms for in-flight requests, stops. */
void ts_http_stop(ts_http *h, int grace_ms);
/* Requests in flight right now. */
int ts_http_inflight(ts_http *h);
/* Connections open right now (accepted and not yet closed). */
int ts_http_open_connections(ts_http *h);
/* Logs where the asynchronous writes completed since the last report spent
 * their time, stage by stage (mean microseconds), and starts over. The
 * line is written whatever the log level (an operator asked for it with
 * SIGUSR1), or at level info when force is 0. */
void ts_http_report(ts_http *h, int force);

#endif
