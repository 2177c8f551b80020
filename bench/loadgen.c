/* loadgen.c: the benchmark's HTTP load generator. One thread, raw
 * non-blocking sockets on epoll, HTTP/1.1 keep-alive, one request in flight
 * per connection. Request bodies are pre-built templates (spangen.c) with
 * fixed-width ids patched in place, so generating load costs a memcpy.
 * Bounded by request count and by time; prints one key=value line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "spangen.h"

enum { M_BULK, M_OTLP, M_SINGLE, M_GET, M_LIST, M_RAW, M_ID, M_DEL };

typedef struct conn {
    int fd;
    int busy;
    int retries; /* resends of a request that never left (refused connects) */
    unsigned char *out;
    size_t out_len, out_sent, out_cap;
    char *in;
    size_t in_len, in_cap;
    int64_t t0;
} conn;

typedef struct opts {
    const char *host, *key, *mode;
    int port, conns, n, spt;
    uint64_t requests, first;
    double seconds;
    uint32_t tag, get_tag;
    uint64_t get_traces;
    int abort_404;
} opts;

static opts O = {"127.0.0.1", "", "bulk", 8080,       32,         100, 100,
                 10000,       0,  20.0,   0x10000001, 0x10000001, 1,   1};
static int mode;
static sg_set set;
static char hdr_tpl[512];
static uint64_t next_req, done_req, ok_req, bytes_sent, bytes_recv, other_req;
static uint64_t status_count[600];
static uint32_t *lat_us;
static uint64_t nlat;
static uint64_t rng = 88172645463325252ULL;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void die(const char *m)
{
    perror(m);
    exit(2);
}

static void ensure(unsigned char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t nc = *cap ? *cap : 4096;
    while (nc < need)
        nc *= 2;
    unsigned char *np = realloc(*p, nc);
    if (!np)
        die("realloc");
    *p = np;
    *cap = nc;
}

static const char *list_paths[] = {
    "/v1/traces?limit=50",
    "/v1/traces?model=gpt-4o&limit=50",
    "/v1/traces?error=true&limit=50",
    "/v1/traces?latency_min=20000&limit=50",
    "/v1/traces?model=claude-3-5-sonnet&error=false&limit=20",
    "/v1/traces?failure_type=rate_limit&limit=50",
};

/* Builds request r into c->out. */
static void build(conn *c, uint64_t r)
{
    if (mode == M_BULK || mode == M_OTLP || mode == M_SINGLE) {
        const sg_tpl *t = sg_pick(&set, r);
        char h[640];
        int hl = snprintf(h, sizeof(h), "%sContent-Length: %zu\r\n\r\n", hdr_tpl, t->len);
        ensure(&c->out, &c->out_cap, (size_t)hl + t->len);
        memcpy(c->out, h, (size_t)hl);
        memcpy(c->out + hl, t->body, t->len);
        sg_patch(&set, t, c->out + hl, r);
        c->out_len = (size_t)hl + t->len;
    } else {
        char path[256], th[33];
        if (mode == M_GET) {
            sg_trace_hex(O.get_tag, xorshift() % O.get_traces, th);
            snprintf(path, sizeof(path), "/v1/traces/%.8s-%.4s-%.4s-%.4s-%.12s", th, th + 8,
                     th + 12, th + 16, th + 20);
        } else if (mode == M_DEL) { /* request r deletes trace r of --get-tag */
            sg_trace_hex(O.get_tag, r, th);
            snprintf(path, sizeof(path), "/api/traces/%s/", th);
        } else if (mode == M_LIST) {
            snprintf(path, sizeof(path), "%s",
                     list_paths[r % (sizeof(list_paths) / sizeof(list_paths[0]))]);
        } else {
            snprintf(path, sizeof(path), "/healthz");
        }
        ensure(&c->out, &c->out_cap, 1024);
        c->out_len = (size_t)snprintf(
            (char *)c->out, 1024, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
            mode == M_DEL ? "DELETE" : "GET", path, O.host, O.key);
    }
    c->out_sent = 0;
}

static int open_conn(int ep, conn *c)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)O.port);
    if (inet_pton(AF_INET, O.host, &sa.sin_addr) != 1) {
        fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
        die("connect");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("epoll_ctl");
    c->fd = fd;
    c->in_len = 0;
    return 0;
}

static int stop_issuing;
static int64_t t_begin, t_deadline;

static void issue(int ep, conn *c)
{
    if (stop_issuing || next_req >= O.requests || now_ns() >= t_deadline) {
        stop_issuing = 1;
        c->busy = 0;
        return;
    }
    uint64_t r = O.first + next_req++;
    build(c, r);
    c->busy = 1;
    c->t0 = now_ns();
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void reconnect(int ep, conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    open_conn(ep, c);
    if (!c->busy) { /* closed after an answer (MHD does after errors) or idle */
        issue(ep, c);
        return;
    }
    if (c->out_sent == 0 && c->retries++ < 3) { /* not sent yet: send it on the new connection */
        c->t0 = now_ns();
        return;
    }
    c->retries = 0;
    /* The in-flight request failed: count it, send a new one. */
    done_req++;
    other_req++;
    status_count[0]++;
    c->busy = 0;
    issue(ep, c);
}

static int do_write(int ep, conn *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN)
                return 0;
            return -1;
        }
        c->out_sent += (size_t)w;
        bytes_sent += (uint64_t)w;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

/* Returns the length of a complete response at the start of buf, 0 if
 * incomplete, -1 if malformed. */
static long parse_resp(const char *buf, size_t len, int *status)
{
    const char *e = memmem(buf, len, "\r\n\r\n", 4);
    if (!e)
        return 0;
    if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
        return -1;
    *status = (int)strtol(buf + 9, NULL, 10);
    size_t hl = (size_t)(e - buf) + 4;
    long cl = -1;
    for (const char *p = buf; p < e; p++) {
        if ((*p == '\n') && strncasecmp(p + 1, "content-length:", 15) == 0) {
            cl = strtol(p + 16, NULL, 10);
            break;
        }
    }
    if (cl < 0)
        return -1; /* chunked is not used by the servers under test */
    if (len < hl + (size_t)cl)
        return 0;
    return (long)(hl + (size_t)cl);
}

/* Reads what is there and consumes complete responses. Returns -1 when
 * the connection must be replaced (EOF, error, garbage). */
static int do_read(int ep, conn *c)
{
    int eof = 0;
    for (;;) {
        ensure((unsigned char **)&c->in, &c->in_cap, c->in_len + 65536);
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n < 0) {
            if (errno != EAGAIN)
                eof = 1;
            break;
        }
        if (n == 0) {
            eof = 1;
            break;
        }
        c->in_len += (size_t)n;
        bytes_recv += (uint64_t)n;
    }
    int status = 0;
    long rl = parse_resp(c->in, c->in_len, &status);
    if (rl < 0)
        return -1;
    if (rl > 0 && c->busy) {
        c->in_len = 0; /* one request in flight: nothing follows the response */
        c->retries = 0;
        int64_t dt = now_ns() - c->t0;
        lat_us[nlat++] = (uint32_t)(dt / 1000 > UINT32_MAX ? UINT32_MAX : dt / 1000);
        done_req++;
        if (status >= 200 && status < 300)
            ok_req++;
        else
            other_req++;
        if (status > 0 && status < 600)
            status_count[status]++;
        if (O.abort_404 && ok_req == 0 && status_count[404] >= (uint64_t)O.conns)
            stop_issuing = 1;
        c->busy = 0;
        if (!eof)
            issue(ep, c); /* else reconnect() issues on the new connection */
    }
    return eof ? -1 : 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (!nlat)
        return 0;
    size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
    return lat_us[i] / 1000.0;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --mode bulk|otlp|single|get|list|raw|id|del --port N --key KEY\n"
                    "  [--conns N] [--requests N] [--seconds S] [--spans N] [--spt N]\n"
                    "  [--tag HEX] [--first N] [--get-tag HEX] [--get-traces N] [--path P]\n");
    exit(2);
}

static const char *raw_path = "/spans-bulk";

static void parse_opts(int argc, char **argv)
{
    static struct option lo[] = {
        {"mode", 1, 0, 'm'},  {"port", 1, 0, 'p'},     {"key", 1, 0, 'k'},
        {"conns", 1, 0, 'c'}, {"requests", 1, 0, 'r'}, {"seconds", 1, 0, 's'},
        {"spans", 1, 0, 'n'}, {"spt", 1, 0, 'T'},      {"tag", 1, 0, 't'},
        {"first", 1, 0, 'f'}, {"get-tag", 1, 0, 'g'},  {"get-traces", 1, 0, 'G'},
        {"host", 1, 0, 'h'},  {"path", 1, 0, 'P'},     {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'm':
            O.mode = optarg;
            break;
        case 'p':
            O.port = (int)strtol(optarg, NULL, 10);
            break;
        case 'k':
            O.key = optarg;
            break;
        case 'c':
            O.conns = (int)strtol(optarg, NULL, 10);
            break;
        case 'r':
            O.requests = strtoull(optarg, NULL, 10);
            break;
        case 's':
            O.seconds = strtod(optarg, NULL);
            break;
        case 'n':
            O.n = (int)strtol(optarg, NULL, 10);
            break;
        case 'T':
            O.spt = (int)strtol(optarg, NULL, 10);
            break;
        case 't':
            O.tag = (uint32_t)strtoul(optarg, NULL, 16);
            break;
        case 'f':
            O.first = strtoull(optarg, NULL, 10);
            break;
        case 'g':
            O.get_tag = (uint32_t)strtoul(optarg, NULL, 16);
            break;
        case 'G':
            O.get_traces = strtoull(optarg, NULL, 10);
            break;
        case 'h':
            O.host = optarg;
            break;
        case 'P':
            raw_path = optarg;
            break;
        default:
            usage();
        }
    }
    if (O.conns < 1 || O.requests < 1 || O.n < 1 || O.spt < 1 || O.get_traces < 1)
        usage();
    const char *names[] = {"bulk", "otlp", "single", "get", "list", "raw", "id", "del"};
    mode = -1;
    for (int i = 0; i < 8; i++)
        if (strcmp(O.mode, names[i]) == 0)
            mode = i;
    if (mode < 0)
        usage();
}

static void setup_templates(void)
{
    const char *path = mode == M_OTLP ? "/v1/traces" : raw_path;
    const char *ctype = mode == M_OTLP ? "application/x-protobuf" : "application/json";
    if (mode == M_SINGLE && O.n != 1)
        O.n = 1;
    if (mode > M_SINGLE)
        return;
    if (sg_set_build(&set, mode == M_OTLP ? SG_OTLP : SG_JSON, O.n, O.spt, O.tag) != 0) {
        fprintf(stderr, "loadgen: --spans and --spt must divide one another\n");
        exit(2);
    }
    snprintf(hdr_tpl, sizeof(hdr_tpl),
             "POST %s HTTP/1.1\r\nHost: %s\r\nX-API-KEY: %s\r\nContent-Type: %s\r\n", path, O.host,
             O.key, ctype);
}

int main(int argc, char **argv)
{
    parse_opts(argc, argv);
    if (mode == M_ID) { /* prints trace --first of --get-tag in UUID form */
        char th[33];
        sg_trace_hex(O.get_tag, O.first, th);
        printf("%.8s-%.4s-%.4s-%.4s-%.12s\n", th, th + 8, th + 12, th + 16, th + 20);
        return 0;
    }
    setup_templates();
    lat_us = malloc(O.requests * sizeof(*lat_us));
    conn *cs = calloc((size_t)O.conns, sizeof(*cs));
    if (!lat_us || !cs)
        die("malloc");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    t_begin = now_ns();
    t_deadline = t_begin + (int64_t)(O.seconds * 1e9);
    for (int i = 0; i < O.conns; i++) {
        open_conn(ep, &cs[i]);
        issue(ep, &cs[i]);
    }
    struct epoll_event evs[256];
    int64_t t_end = 0;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < O.conns; i++)
            busy += cs[i].busy;
        if (!busy)
            break;
        /* In-flight requests get 60 s past the deadline to finish. */
        if (now_ns() > t_deadline + 60000000000LL)
            break;
        int ne = epoll_wait(ep, evs, 256, 100);
        for (int e = 0; e < ne; e++) {
            conn *c = evs[e].data.ptr;
            int rc = 0;
            if (evs[e].events & EPOLLOUT)
                rc = do_write(ep, c);
            if (rc == 0 && (evs[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                rc = do_read(ep, c);
            if (rc < 0)
                reconnect(ep, c);
        }
    }
    t_end = now_ns();
    double el = (double)(t_end - t_begin) / 1e9;
    qsort(lat_us, nlat, sizeof(*lat_us), cmp_u32);
    double spans = mode <= M_SINGLE ? (double)ok_req * O.n : 0;
    printf("mode=%s conns=%d requests=%llu ok=%llu failed=%llu elapsed_s=%.3f req_per_s=%.1f "
           "spans_per_s=%.1f mb_per_s=%.2f body_bytes_per_span=%.0f p50_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f cpu_s=%.2f",
           O.mode, O.conns, (unsigned long long)done_req, (unsigned long long)ok_req,
           (unsigned long long)other_req, el, (double)ok_req / el, spans / el,
           (double)(mode <= M_SINGLE ? bytes_sent : bytes_recv) / el / 1e6,
           mode <= M_SINGLE ? (double)set.tpl[0].len / O.n : 0.0, pct(0.50), pct(0.99), pct(1.0),
           cpu_seconds());
    printf(" statuses=");
    int first = 1;
    for (int s = 0; s < 600; s++)
        if (status_count[s]) {
            printf("%s%d:%llu", first ? "" : ",", s, (unsigned long long)status_count[s]);
            first = 0;
        }
    if (first)
        printf("none");
    printf("\n");
    for (int i = 0; i < O.conns; i++) {
        close(cs[i].fd);
        free(cs[i].out);
        free(cs[i].in);
    }
    free(cs);
    free(lat_us);
    if (mode <= M_SINGLE)
        sg_set_free(&set);
    return 0;
}
