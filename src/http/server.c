/* server.c: libmicrohttpd glue. The acceptor (listener.c) hands each
 * connection to a pool of epoll threads; each request gets a ts_req with its
 * own arena. Writes never block an HTTP thread: the connection is suspended
 * while the writer commits and resumed by the write's done callback. */
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http_metrics.h"
#include "http/listener.h"
#include "http/ratelimit.h"
#include "http/router.h"
#include "http/server.h"
#include "tracestore/apikey.h"
#include "tracestore/log.h"
#include "tracestore/timeutil.h"

/* Implemented by the API layer: renders an error in the route family's
 * shape (so the HTTP layer needs no knowledge of vendor formats). */
void ts_api_error(ts_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The stages of an asynchronous write, in order (ts_http_report). */
enum { STAGE_BODY, STAGE_HANDLER, STAGE_QUEUE, STAGE_TX, STAGE_SYNC, STAGE_RESUME, STAGE_SEND,
       STAGE__COUNT };
static const char *const stage_names[STAGE__COUNT] = {"body", "handler", "queue", "tx",
                                                      "sync", "resume", "send"};

/* A request whose headers never end (slowloris: one byte now and then)
 * keeps MHD's idle timer fresh, and no libmicrohttpd option bounds it. So
 * every connection is tracked from accept, or from the end of its previous
 * request, until its next request's headers are complete; a sweeper thread
 * shuts down the socket of one that has waited longer than
 * request_timeout_s, and MHD then reads EOF and closes it. The list mutex
 * is held across shutdown() and across the CLOSED notification, which MHD
 * sends before it closes the fd, so a reused fd is never shut down. */
typedef struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    int cut;
    _Atomic int64_t since_ns; /* 0 while a request is being processed */
} conn_track;

struct ts_http {
    struct MHD_Daemon *d;
    ts_listener *lis;
    ts_app *app;
    const ts_route *routes;
    atomic_int inflight;
    atomic_int draining;
    atomic_int open; /* connections handed to MHD and not yet closed */
    int port;
    ts_ratelimit *rl; /* rate_limit_per_key; NULL when 0 */
    pthread_mutex_t ct_mu;
    conn_track *ct_head;
    pthread_t sweeper;
    atomic_int sweep_stop;
    /* asynchronous writes completed since the last report: count and the
     * sum of each stage's nanoseconds (ts_http_report) */
    pthread_mutex_t st_mu;
    uint64_t st_n, st_ns[STAGE__COUNT];
    ts_store_stats st0; /* the store's counters at the last report */
    /* connections started per worker thread, logged at stop */
    unsigned nworkers;
    atomic_uint worker_next;
    atomic_long *worker_conns;
};


enum { ST_NEW = 0, ST_BODY, ST_SUSPENDED, ST_RESUMED, ST_SENT };

const char *ts_req_header(ts_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *ts_req_query(ts_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct query_visit {
    void (*fn)(void *ctx, const char *k, const char *v);
    void *ctx;
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct query_visit *qv = cls;
    (void)kind;
    qv->fn(qv->ctx, key, value ? value : "");
    return MHD_YES;
}

void ts_req_query_each(ts_req *r, void (*fn)(void *ctx, const char *k, const char *v), void *ctx)
{
    struct query_visit qv = {fn, ctx};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_iter, &qv);
}

void ts_req_respond(ts_req *r, int status, const char *ctype, char *body, size_t len)
{
    free(r->resp);
    r->status = status;
    r->ctype = ctype;
    r->resp = body;
    r->resp_len = len;
}

/* Finds r's route; when only the method differs, sets r->allow and
 * r->route (for the error family) and returns NULL. */
static const ts_route *route_find(ts_http *h, ts_req *r)
{
    char allow[128];
    const ts_route *same_path = NULL;
    const ts_route *rt = ts_router_find(h->routes, r->method, r->path, r->arena, r->params,
                                        &r->nparams, &same_path, allow, sizeof(allow));
    if (!rt && same_path) {
        r->allow = ts_arena_strdup(r->arena, allow);
        r->route = same_path;
    }
    return rt;
}

static char *normalise_path(ts_arena *a, const char *url)
{
    size_t n = strlen(url);
    char *p = ts_arena_alloc(a, n + 2), *o = p;
    if (!p)
        return NULL;
    if (url[0] != '/')
        *o++ = '/';
    for (const char *s = url; *s; s++) {
        if (*s == '/' && o > p && o[-1] == '/')
            continue;
        *o++ = *s;
    }
    *o = '\0';
    return p;
}

static enum MHD_Result send_response(ts_req *r)
{
    struct MHD_Response *resp;
    if (TS_METRICS_ON && r->app->metrics)
        ts_http_metrics_count(r->app->metrics, r, r->state == ST_RESUMED,
                              ts_now_ns() - r->start_ns);
    r->sent_len = r->resp_len;
    if (r->resp_len > 0) {
        resp = MHD_create_response_from_buffer(r->resp_len, r->resp, MHD_RESPMEM_MUST_FREE);
        if (resp)
            r->resp = NULL;
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->ctype ? r->ctype : "application/json");
    if (r->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    for (const char *const *hd = r->headers; hd && hd[0] && hd[1]; hd += 2)
        MHD_add_response_header(resp, hd[0], hd[1]);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->state = ST_SENT;
    return ret;
}

static void write_done(ts_write *w, void *arg)
{
    ts_req *r = arg;
    (void)w;
    r->state = ST_RESUMED;
    MHD_resume_connection(r->conn);
}

/* Runs the handler on a complete request and sends or suspends. */
static enum MHD_Result dispatch(ts_http *h, ts_req *r)
{
    if (r->discarded) {
        ts_api_error(r, 413, "payload_too_large",
                     "request body exceeds max_body_bytes (%lld bytes)",
                     (long long)h->app->cfg->max_body_bytes);
        return send_response(r);
    }
    r->cont = NULL;
    r->handler_ns = ts_now_ns();
    ts_arena_set_current(r->arena); /* cJSON allocates from the request arena */
    int hr = r->route->fn(r);
    ts_arena_set_current(NULL);
    if (hr != TS_H_ASYNC)
        return send_response(r);
    if (atomic_load(&h->draining)) {
        /* Shutting down: a connection must not be suspended once the drain
         * has begun (MHD_stop_daemon refuses suspended connections), so a
         * keep-alive client's late write is answered 503 and retried. */
        r->write.rc = TS_ESHUTDOWN;
        ts_arena_set_current(r->arena);
        r->cont(r);
        ts_arena_set_current(NULL);
        return send_response(r);
    }
    r->state = ST_SUSPENDED;
    MHD_suspend_connection(r->conn);
    r->write.done = write_done;
    r->write.done_arg = r;
    r->submit_ns = ts_now_ns();
    int rc = ts_store_submit(h->app->store, &r->write);
    if (rc != TS_OK) {
        r->write.rc = rc;
        r->state = ST_RESUMED;
        MHD_resume_connection(r->conn);
    }
    return MHD_YES;
}

struct auth_count {
    int xkey, authz;
};

static enum MHD_Result count_auth(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct auth_count *c = cls;
    (void)kind;
    (void)value;
    if (strcasecmp(key, "X-API-KEY") == 0)
        c->xkey++;
    else if (strcasecmp(key, "Authorization") == 0)
        c->authz++;
    return MHD_YES;
}

struct key_at {
    const char *p;
    int hit;
};

static enum MHD_Result key_at_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct key_at *k = cls;
    (void)kind;
    (void)value;
    k->hit |= key == k->p;
    return MHD_YES;
}

/* libmicrohttpd (0.9.75) keeps the request line and the header lines in its
 * read buffer, ends each line by overwriting its CR LF (or LF) with NULs,
 * and reports a value up to its first NUL: "KEY\0junk" would read as KEY.
 * The bytes after the reported value (v, n) tell them apart. A line end is
 * one or two NULs before the next header's name, or, when the header block
 * ends there, two or four NULs (LF LF, CR LF CR LF) up to its end (the
 * request line's address plus the block's size); any other run is a NUL
 * the client sent. */
static int nul_in_value(ts_req *r, const char *v, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    const char *q = v + n, *end = r->hdr_start && ci ? r->hdr_start + ci->header_size : NULL;
    size_t z = 0;
    if (!end || q >= end || v < r->hdr_start)
        return 0; /* not the layout described above: nothing to tell */
    while (q + z < end && z < 5 && q[z] == '\0')
        z++;
    if (q + z == end)
        return z != 2 && z != 4;
    struct key_at k = {q + z, 0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, key_at_cb, &k);
    return !k.hit || z > 2;
}

/* Header name's value with optional whitespace (SP / HTAB, RFC 9110
 * section 5.5) stripped from both ends; *n its length. 0 when absent, -1
 * when the value holds a NUL byte (nul_in_value). */
static int header_trimmed(ts_req *r, const char *name, const char **v, size_t *n)
{
    const char *p = NULL;
    size_t len = 0;
    *v = NULL;
    *n = 0;
    if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND, name, strlen(name), &p, &len) !=
            MHD_YES ||
        !p)
        return 0;
    if (memchr(p, '\0', len) || nul_in_value(r, p, len))
        return -1;
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    *v = p;
    *n = len;
    return 1;
}

int ts_req_header_key(ts_req *r, const char **key, size_t *len)
{
    struct auth_count c = {0, 0};
    const char *xk, *au, *bearer = NULL;
    size_t xn, an, bn = 0;
    *key = NULL;
    *len = 0;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_auth, &c);
    if (c.xkey > 1 || c.authz > 1) {
        ts_api_error(r, 401, "invalid_api_key", "authentication header given more than once");
        return TS_EAUTH;
    }
    int hx = header_trimmed(r, "X-API-KEY", &xk, &xn);
    int ha = header_trimmed(r, "Authorization", &au, &an);
    if (hx < 0 || ha < 0) {
        ts_api_error(r, 400, "invalid_request", "%s header contains a NUL byte",
                     hx < 0 ? "X-API-KEY" : "Authorization");
        return TS_EINVAL;
    }
    if (au && an >= 7 && strncasecmp(au, "Bearer", 6) == 0 && (au[6] == ' ' || au[6] == '\t')) {
        bearer = au + 7;
        bn = an - 7;
        while (bn && (*bearer == ' ' || *bearer == '\t'))
            bearer++, bn--;
    }
    if (xk && bearer && (xn != bn || memcmp(xk, bearer, xn) != 0)) {
        ts_api_error(r, 401, "invalid_api_key",
                     "conflicting API keys in X-API-KEY and Authorization");
        return TS_EAUTH;
    }
    *key = xk ? xk : bearer;
    *len = xk ? xn : bn;
    return TS_OK;
}

int ts_req_authenticate(ts_req *r, const char *key, size_t len)
{
    ts_http *h = r->http;
    int rc = ts_apikey_authenticate(r->app->store, key, key ? len : 0, &r->ws);
    r->authed = rc == TS_OK;
    if (rc == TS_EAUTH) {
        ts_api_error(r, 401, "invalid_api_key", "Invalid or missing API key");
        return rc;
    }
    if (rc != TS_OK) {
        ts_api_error(r, 503, "unavailable", "store unavailable");
        return rc;
    }
    int wait = ts_ratelimit_take(h->rl, r->ws.key_id, ts_now_ns());
    if (wait > 0) {
        ts_api_error(r, 429, "rate_limited",
                     "rate limit of %lld requests/second for this API key exceeded",
                     (long long)h->app->cfg->rate_limit_per_key);
        r->retry_after = wait;
        return TS_EBUSY;
    }
    return TS_OK;
}

/* The key comes from X-API-KEY or Authorization: Bearer (ts_req_header_key). */
static int authenticate(ts_req *r)
{
    const char *key;
    size_t len;
    int rc = ts_req_header_key(r, &key, &len);
    return rc != TS_OK ? rc : ts_req_authenticate(r, key, len);
}

/* First call for a request: route, authenticate, check declared size. A
 * non-NULL status means "answer now, do not read the body". */
static int first_call(ts_http *h, ts_req *r)
{
    const ts_route *rt = route_find(h, r);
    if (!rt) {
        if (r->allow)
            ts_api_error(r, 405, "method_not_allowed", "method %s not allowed on %s", r->method,
                         r->path);
        else
            ts_api_error(r, 404, "not_found", "no route for %s %s", r->method, r->path);
        return 1;
    }
    r->route = rt;
    if (!(r->route->flags & (TS_R_NOAUTH | TS_R_BODY_KEY)) && authenticate(r) != TS_OK)
        return 1;
    const char *cl = ts_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end = NULL;
        unsigned long long v = strtoull(cl, &end, 10);
        if (end && *end == '\0' && v > (unsigned long long)h->app->cfg->max_body_bytes) {
            ts_api_error(r, 413, "payload_too_large",
                         "request body exceeds max_body_bytes (%lld bytes)",
                         (long long)h->app->cfg->max_body_bytes);
            return 1;
        }
    }
    return 0;
}

/* Appends upload data under max_body_bytes. Past the limit the data is
 * counted and dropped (413 at the end); 0 means "drop the connection". */
static int append_body(ts_http *h, ts_req *r, const char *data, size_t n)
{
    size_t max = (size_t)h->app->cfg->max_body_bytes;
    if (r->discarded || r->body_len + n > max) {
        r->discarded += n;
        /* A client that keeps sending far past the limit is cut off. */
        return r->discarded <= 4 * max + 65536;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t ncap = r->body_cap ? r->body_cap : 65536;
        if (!r->body) {
            const char *cl = ts_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
            unsigned long long want = cl ? strtoull(cl, NULL, 10) : 0;
            if (want > 0 && want <= max)
                ncap = (size_t)want + 1;
        }
        while (ncap < r->body_len + n + 1)
            ncap *= 2;
        if (ncap > max + 1)
            ncap = max + 1;
        char *nb = realloc(r->body, ncap);
        if (!nb)
            return 0;
        r->body = nb;
        r->body_cap = ncap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return 1;
}

/* Counts a connection for the calling worker thread. MHD sends STARTED on
 * the worker that owns the connection (also for MHD_add_connection), and a
 * worker belongs to one daemon for its life, so a thread-local index,
 * assigned on the worker's first connection, names the worker. */
static _Thread_local const ts_http *tl_http;
static _Thread_local unsigned tl_worker;

static void count_worker_conn(ts_http *h)
{
    if (tl_http != h) {
        tl_http = h;
        tl_worker = atomic_fetch_add(&h->worker_next, 1);
    }
    if (tl_worker < h->nworkers)
        atomic_fetch_add(&h->worker_conns[tl_worker], 1);
}

static void notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    ts_http *h = cls;
    conn_track *t = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        count_worker_conn(h);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(t = calloc(1, sizeof(*t))))
            return;
        t->fd = ci->connect_fd;
        atomic_store(&t->since_ns, ts_now_ns());
        pthread_mutex_lock(&h->ct_mu);
        t->next = h->ct_head;
        if (h->ct_head)
            h->ct_head->prev = t;
        h->ct_head = t;
        pthread_mutex_unlock(&h->ct_mu);
        *socket_context = t;
        return;
    }
    /* CLOSED: the connection that filled the last slot paused the acceptor */
    if (atomic_fetch_sub(&h->open, 1) >= h->app->cfg->max_connections)
        ts_listener_resume(h->lis);
    if (!t)
        return;
    pthread_mutex_lock(&h->ct_mu);
    if (t->prev)
        t->prev->next = t->next;
    else
        h->ct_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&h->ct_mu);
    free(t);
    *socket_context = NULL;
}

/* Marks conn's headers complete (since = 0) or waiting since now. */
static void track_mark(struct MHD_Connection *conn, int64_t since)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_track *t = ci ? ci->socket_context : NULL;
    if (t)
        atomic_store(&t->since_ns, since);
}

static void *sweep_main(void *arg)
{
    ts_http *h = arg;
    int64_t limit = h->app->cfg->request_timeout_s * 1000000000LL;
    while (!atomic_load(&h->sweep_stop)) {
        struct timespec ts = {0, 100 * 1000000L};
        int cut = 0;
        nanosleep(&ts, NULL);
        int64_t now = ts_now_ns();
        pthread_mutex_lock(&h->ct_mu);
        for (conn_track *t = h->ct_head; t; t = t->next) {
            int64_t since = atomic_load(&t->since_ns);
            if (!t->cut && since > 0 && now - since > limit) {
                t->cut = 1;
                shutdown(t->fd, SHUT_RDWR);
                cut++;
            }
        }
        pthread_mutex_unlock(&h->ct_mu);
        if (cut)
            TS_LOG(TS_LOG_WARN,
                   "msg=\"request headers incomplete after request_timeout_s, connection cut\" "
                   "count=%d",
                   cut);
    }
    return NULL;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    ts_http *h = cls;
    ts_req *r = *con_cls;
    (void)version;

    if (!r) {
        ts_arena *a = ts_arena_new(16 * 1024);
        if (!a || !(r = ts_arena_calloc(a, 1, sizeof(*r)))) {
            ts_arena_free(a);
            return MHD_NO;
        }
        r->arena = a;
        r->app = h->app;
        r->conn = conn;
        r->http = h;
        r->hdr_start = method;
        r->method = ts_arena_strdup(a, method);
        r->path = normalise_path(a, url);
        r->start_ns = ts_now_ns();
        r->state = ST_BODY;
        track_mark(conn, 0);
        *con_cls = r;
        atomic_fetch_add(&h->inflight, 1);
        if (!r->method || !r->path)
            return MHD_NO;
        if (first_call(h, r))
            return send_response(r);
        return MHD_YES;
    }
    if (r->state == ST_RESUMED) {
        r->resumed_ns = ts_now_ns();
        if (r->cont) {
            ts_arena_set_current(r->arena);
            r->cont(r);
            ts_arena_set_current(NULL);
        }
        return send_response(r);
    }
    if (r->state != ST_BODY)
        return MHD_YES; /* suspended or sent: nothing to do */
    if (*upload_data_size) {
        if (ts_now_ns() - r->start_ns > h->app->cfg->request_timeout_s * 1000000000LL) {
            TS_LOG(TS_LOG_WARN, "msg=\"request deadline exceeded\" path=%s", r->path);
            return MHD_NO;
        }
        if (!append_body(h, r, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(h, r);
}

/* Adds a finished asynchronous write's stages to the report. */
static void stages_add(ts_http *h, const ts_req *r)
{
    const ts_write *w = &r->write;
    int64_t t[STAGE__COUNT + 1] = {r->start_ns,    r->handler_ns, r->submit_ns,
                                   w->taken_ns,    w->committed_ns, w->done_ns,
                                   r->resumed_ns,  ts_now_ns()};
    pthread_mutex_lock(&h->st_mu);
    h->st_n++;
    for (int i = 0; i < STAGE__COUNT; i++)
        h->st_ns[i] += t[i + 1] > t[i] ? (uint64_t)(t[i + 1] - t[i]) : 0;
    pthread_mutex_unlock(&h->st_mu);
}

void ts_http_report(ts_http *h, int force)
{
    uint64_t n, ns[STAGE__COUNT], total = 0;
    ts_store_stats ss;
    char line[512];
    size_t off = 0;

    ts_store_stats_get(h->app->store, &ss);
    pthread_mutex_lock(&h->st_mu);
    n = h->st_n;
    memcpy(ns, h->st_ns, sizeof(ns));
    h->st_n = 0;
    memset(h->st_ns, 0, sizeof(h->st_ns));
    ts_store_stats d0 = h->st0;
    h->st0 = ss;
    pthread_mutex_unlock(&h->st_mu);
    uint64_t tx = ss.transactions - d0.transactions, jobs = ss.jobs - d0.jobs;
    for (int i = 0; i < STAGE__COUNT; i++) {
        total += ns[i];
        off += (size_t)snprintf(line + off, sizeof(line) - off, " %s_us=%.0f", stage_names[i],
                                n ? (double)ns[i] / 1e3 / (double)n : 0.0);
    }
    if (force || ts_log_level <= TS_LOG_INFO)
        ts_log_write(TS_LOG_INFO | (force ? TS_LOG_FORCE : 0),
                     "msg=\"write stages\" writes=%llu%s total_us=%.0f transactions=%llu "
                     "jobs_per_tx=%.1f checkpoints=%llu checkpoint_ms=%.1f writer_checkpoints=%llu "
                     "writer_checkpoint_ms=%.1f",
                     (unsigned long long)n, line, n ? (double)total / 1e3 / (double)n : 0.0,
                     (unsigned long long)tx, tx ? (double)jobs / (double)tx : 0.0,
                     (unsigned long long)(ss.checkpoints - d0.checkpoints),
                     (double)(ss.checkpoint_ns - d0.checkpoint_ns) / 1e6,
                     (unsigned long long)(ss.writer_checkpoints - d0.writer_checkpoints),
                     (double)(ss.writer_checkpoint_ns - d0.writer_checkpoint_ns) / 1e6);
}

/* Copies s into out (cap bytes) with " and \ escaped, so the value can sit
 * inside a quoted key="value" field (log.c's JSON form reads it back). */
static const char *quoted(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; s && *s && o + 3 < cap; s++) {
        if (*s == '"' || *s == '\\')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o] = '\0';
    return out;
}

/* The access-log line: one per request, at level info. route is the
 * pattern that matched ("-": none), bytes the response body, in_bytes the
 * request body, ws the workspace id (0: no key). */
static void access_log(const ts_req *r, int toe)
{
    char path[512], method[32];
    TS_LOG(TS_LOG_INFO,
           "msg=access method=\"%s\" route=\"%s\" status=%d bytes=%zu in_bytes=%zu dur_us=%lld "
           "ws=%lld path=\"%s\" term=%d",
           quoted(r->method, method, sizeof(method)), r->route ? r->route->pattern : "-", r->status,
           r->sent_len, r->body_len, (long long)((ts_now_ns() - r->start_ns) / 1000),
           (long long)r->ws.id, quoted(r->path, path, sizeof(path)), toe);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    ts_http *h = cls;
    ts_req *r = *con_cls;
    track_mark(conn, ts_now_ns());
    if (!r)
        return;
    if (r->write.done_ns && r->resumed_ns)
        stages_add(h, r);
    if (ts_log_level <= TS_LOG_INFO)
        access_log(r, (int)toe);
    free(r->body);
    free(r->resp);
    ts_arena_free(r->arena);
    *con_cls = NULL;
    atomic_fetch_sub(&h->inflight, 1);
}

/* Runs on the acceptor thread. With a thread pool, MHD_add_connection
 * gives fd to worker (fd + i) % pool size for the first i with room, so a
 * burst of accepts (consecutive fds) is dealt out evenly; MHD's own accept
 * let whichever worker woke first take a series of connections. On
 * refusal (per-IP limit, out of memory) MHD has closed fd already.
 *
 * max_connections is enforced here, not by MHD: in 0.9.75 a worker that
 * finds itself at its limit when it takes up an added connection locks up
 * (its pre-check runs before the worker counts the connections queued to
 * it). So MHD's per-worker limit is set above max_connections (mhd_start)
 * and the acceptor pauses, leaving clients in the backlog, while
 * max_connections are open; the CLOSED notification resumes it. */
static int hand_conn(void *arg, int fd, const struct sockaddr *addr, socklen_t len)
{
    ts_http *h = arg;
    int full = atomic_fetch_add(&h->open, 1) + 1 >= h->app->cfg->max_connections;
    if (MHD_add_connection(h->d, fd, addr, len) != MHD_YES) {
        /* errno is no guide here: MHD reports its limits as ENFILE */
        TS_LOG(TS_LOG_DEBUG, "msg=\"connection refused (per-IP limit)\"");
        atomic_fetch_sub(&h->open, 1);
        return 0;
    }
    return full;
}

static void http_free(ts_http *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->ct_mu);
    pthread_mutex_destroy(&h->st_mu);
    ts_listener_free(h->lis);
    free(h->worker_conns);
    ts_ratelimit_free(h->rl);
    free(h);
}

static ts_http *http_new(ts_app *app, const ts_route *routes, unsigned threads)
{
    ts_http *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->app = app;
    h->routes = routes;
    atomic_init(&h->inflight, 0);
    atomic_init(&h->draining, 0);
    atomic_init(&h->open, 0);
    pthread_mutex_init(&h->ct_mu, NULL);
    pthread_mutex_init(&h->st_mu, NULL);
    atomic_init(&h->sweep_stop, 0);
    h->nworkers = threads;
    atomic_init(&h->worker_next, 0);
    h->worker_conns = calloc(threads, sizeof(*h->worker_conns));
    if (!h->worker_conns ||
        (app->cfg->rate_limit_per_key > 0 &&
         !(h->rl = ts_ratelimit_new((double)app->cfg->rate_limit_per_key)))) {
        http_free(h);
        return NULL;
    }
    for (unsigned i = 0; i < threads; i++)
        atomic_init(&h->worker_conns[i], 0);
    return h;
}

/* The daemon accepts nothing itself (MHD_USE_NO_LISTEN_SOCKET): the
 * listener hands it connections. Each worker may hold max_connections plus
 * slack (connections notified CLOSED but not yet uncounted by MHD), so
 * MHD's own limit is never reached: hand_conn enforces the real one. */
static struct MHD_Daemon *mhd_start(ts_http *h, unsigned threads)
{
    const ts_config *cfg = h->app->cfg;
    unsigned limit = ((unsigned)cfg->max_connections + 16) * threads;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, access_cb, h, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h, MHD_OPTION_NOTIFY_CONNECTION, notify_conn, h,
        MHD_OPTION_END);
}

int ts_http_start(ts_app *app, const ts_route *routes, ts_http **out, ts_err *err)
{
    const ts_config *cfg = app->cfg;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = (unsigned)(cfg->http_threads > 0 ? cfg->http_threads : (ncpu > 0 ? ncpu : 2));
    ts_http *h = NULL;
    int sweeping = 0, rc;

    *out = NULL;
    if (!(h = http_new(app, routes, threads))) {
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = ts_listener_open(cfg->listen, 1024, &h->lis, err)) != TS_OK)
        goto out;
    if (!(h->d = mhd_start(h, threads))) {
        rc = ts_err_set(err, TS_EIO, "cannot start libmicrohttpd (%u threads)", threads);
        goto out;
    }
    if (pthread_create(&h->sweeper, NULL, sweep_main, h) != 0) {
        rc = ts_err_set(err, TS_EIO, "cannot start the connection sweeper thread");
        goto out;
    }
    sweeping = 1;
    app->http = h; /* before the first connection: /metrics reads it */
    if ((rc = ts_listener_start(h->lis, hand_conn, h, err)) != TS_OK)
        goto out;
    *out = h;
    h = NULL;
out:
    if (h) {
        app->http = NULL;
        ts_listener_stop(h->lis);
        if (sweeping) {
            atomic_store(&h->sweep_stop, 1);
            pthread_join(h->sweeper, NULL);
        }
        if (h->d)
            MHD_stop_daemon(h->d);
        http_free(h);
    }
    return rc;
}

int ts_http_port(ts_http *h)
{
    return ts_listener_port(h->lis);
}

int ts_http_inflight(ts_http *h)
{
    return atomic_load(&h->inflight);
}

int ts_http_open_connections(ts_http *h)
{
    return atomic_load(&h->open);
}

void ts_http_stop(ts_http *h, int grace_ms)
{
    if (!h)
        return;
    /* Set before waiting: every request counted in inflight has either
     * passed the check in dispatch (and is waited for) or will see it. */
    atomic_store(&h->draining, 1);
    /* Stop accepting: joins the acceptor, so no connection is handed to
     * MHD after this; the backlog is reset. */
    ts_listener_stop(h->lis);
    /* Before the drain, not after it: the join may take a sweep period,
     * and nothing may stand between the drain and MHD_stop_daemon (a
     * keep-alive client can start a new request in that gap). */
    atomic_store(&h->sweep_stop, 1);
    pthread_join(h->sweeper, NULL);
    for (int waited = 0; waited < grace_ms && atomic_load(&h->inflight) > 0; waited += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(h->d);
    ts_http_report(h, 0);
    for (unsigned i = 0; i < h->nworkers; i++)
        TS_LOG(TS_LOG_INFO, "msg=\"http worker\" worker=%u connections=%ld", i,
               atomic_load(&h->worker_conns[i]));
    http_free(h);
}
