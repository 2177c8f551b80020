/* bare_mhd.c: the HTTP limit. A libmicrohttpd server configured like the
 * daemon (epoll thread pool, suspend/resume, same connection limits) that
 * reads each body whole and answers at once: POST with a small 201, GET
 * with a canned body of --get-bytes. What the load generator reaches here
 * is the request rate of the HTTP layer alone on this machine. */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct req {
    char *body;
    size_t len, cap;
} req;

static char *get_body;
static size_t get_len;
static volatile sig_atomic_t stop;

static enum MHD_Result answer(struct MHD_Connection *conn, int status, const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *size, void **con_cls)
{
    static const char ok[] = "{\"success\":true,\"spans\":[],\"request_logs\":[]}";
    req *r = *con_cls;
    (void)cls;
    (void)url;
    (void)version;
    if (!r) {
        if (!(r = calloc(1, sizeof(*r))))
            return MHD_NO;
        *con_cls = r;
        return MHD_YES;
    }
    if (*size) {
        if (r->len + *size > r->cap) {
            size_t nc = r->cap ? r->cap : 65536;
            while (nc < r->len + *size)
                nc *= 2;
            char *nb = realloc(r->body, nc);
            if (!nb)
                return MHD_NO;
            r->body = nb;
            r->cap = nc;
        }
        memcpy(r->body + r->len, data, *size);
        r->len += *size;
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") == 0)
        return answer(conn, 200, get_body, get_len);
    return answer(conn, 201, ok, sizeof(ok) - 1);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req *r = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (r) {
        free(r->body);
        free(r);
    }
    *con_cls = NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* usage: bare_mhd [PORT [GET_BODY_BYTES [THREADS]]] */
int main(int argc, char **argv)
{
    int port = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 18081;
    get_len = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 100000;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads =
        argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : (unsigned)(ncpu > 0 ? ncpu : 2);
    get_body = malloc(get_len + 1);
    if (!get_body)
        return 1;
    memset(get_body, 'x', get_len);
    if (get_len >= 2) {
        get_body[0] = '"';
        get_body[get_len - 1] = '"';
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC,
        (uint16_t)port, NULL, NULL, access_cb, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, 4096U, MHD_OPTION_CONNECTION_TIMEOUT, 30U,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U,
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bare_mhd: cannot listen on port %d\n", port);
        return 1;
    }
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    free(get_body);
    return 0;
}
