/* listener.c: the listening socket and its acceptor thread. The thread
 * polls the socket and an eventfd; stop and resume write the eventfd, so
 * neither depends on a signal or on closing an fd another thread polls. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/listener.h"
#include "tracestore/config.h"
#include "tracestore/log.h"

#define ACCEPT_BATCH 64 /* accepts per wake-up before the stop fd is looked at again */
#define BACKOFF_MS 100  /* pause after EMFILE and friends */

struct ts_listener {
    int fd;
    int wake; /* eventfd: readable once close has been asked for */
    int port;
    int running;
    atomic_int stop;
    int starved; /* an EMFILE-like error was logged and no accept succeeded since */
    pthread_t thread;
    ts_listener_fn fn;
    void *arg;
};

static int resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen, ts_err *err)
{
    char host[256];
    int port;
    char portstr[16];
    struct addrinfo hints, *res = NULL;

    if (ts_config_listen_split(listen, host, sizeof(host), &port) != TS_OK)
        return ts_err_set(err, TS_EINVAL, "listen: expected HOST:PORT, got '%s'", listen);
    snprintf(portstr, sizeof(portstr), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int g = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
    if (g != 0 || !res)
        return ts_err_set(err, TS_EINVAL, "listen: cannot resolve '%s': %s", host, gai_strerror(g));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return TS_OK;
}

/* socket + options + bind + listen; returns the fd or -1 with errno set. */
static int bind_listen(const struct sockaddr_storage *ss, socklen_t sslen, int backlog)
{
    int one = 1;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* What libmicrohttpd did with its own socket: a restart may bind while
     * old connections sit in TIME_WAIT; an IPv6 address means IPv6 only. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (ss->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        bind(fd, (const struct sockaddr *)ss, sslen) != 0 || listen(fd, backlog) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int ts_listener_open(const char *listen, int backlog, ts_listener **out, ts_err *err)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    ts_listener *l = NULL;
    int rc;

    *out = NULL;
    if ((rc = resolve(listen, &ss, &sslen, err)) != TS_OK)
        return rc;
    if (!(l = calloc(1, sizeof(*l))))
        return ts_err_set(err, TS_ENOMEM, "out of memory");
    l->wake = -1;
    atomic_init(&l->stop, 0);
    if ((l->fd = bind_listen(&ss, sslen, backlog)) < 0) {
        rc = ts_err_set(err, TS_EIO, "cannot listen on %s: %s", listen, strerror(errno));
        goto out;
    }
    if ((l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        rc = ts_err_set(err, TS_EIO, "eventfd: %s", strerror(errno));
        goto out;
    }
    l->port = bound_port(l->fd);
    *out = l;
    l = NULL;
    rc = TS_OK;
out:
    ts_listener_free(l);
    return rc;
}

int ts_listener_port(const ts_listener *l)
{
    return l->port;
}

/* Accepts what is waiting (up to ACCEPT_BATCH, or until fn says full:
 * *paused = 1). Returns 0, or BACKOFF_MS when the process or system is
 * out of descriptors or memory: the pending connection stays in the
 * backlog, so polling again at once would spin. */
static int accept_batch(ts_listener *l, int *paused)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            l->starved = 0;
            if (l->fn(l->arg, fd, (const struct sockaddr *)&ss, len)) {
                *paused = 1;
                return 0;
            }
            continue;
        }
        switch (errno) {
        case EAGAIN:
            return 0;
        case EINTR:
        case ECONNABORTED: /* the client gave up while queued */
        case EPROTO:       /* Linux passes these pending network errors on */
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case ENETUNREACH:
            continue;
        default:
            if (!l->starved)
                TS_LOG(TS_LOG_WARN, "msg=\"accept failed, retrying every %d ms\" error=\"%s\"",
                       BACKOFF_MS, strerror(errno));
            l->starved = 1;
            return BACKOFF_MS;
        }
    }
    return 0;
}

static void *accept_main(void *arg)
{
    ts_listener *l = arg;
    struct pollfd p[2] = {{l->wake, POLLIN, 0}, {l->fd, POLLIN, 0}};
    int backoff = 0, paused = 0;
    for (;;) {
        /* Paused or backing off, only the eventfd can end the wait. */
        int listening = !paused && !backoff;
        int n = poll(p, listening ? 2 : 1, backoff ? backoff : -1);
        backoff = 0;
        if (n < 0 && errno != EINTR) {
            TS_LOG(TS_LOG_ERROR, "msg=\"acceptor poll failed\" error=\"%s\"", strerror(errno));
            backoff = BACKOFF_MS;
            continue;
        }
        if (n > 0 && p[0].revents) {
            uint64_t v;
            if (read(l->wake, &v, sizeof(v)) < 0 && errno != EAGAIN && errno != EINTR)
                backoff = BACKOFF_MS;
            if (atomic_load(&l->stop))
                break;
            paused = 0;
        }
        if (listening && n > 0 && p[1].revents)
            backoff = accept_batch(l, &paused);
    }
    return NULL;
}

int ts_listener_start(ts_listener *l, ts_listener_fn fn, void *arg, ts_err *err)
{
    l->fn = fn;
    l->arg = arg;
    if (pthread_create(&l->thread, NULL, accept_main, l) != 0)
        return ts_err_set(err, TS_EIO, "cannot start the acceptor thread");
    l->running = 1;
    return TS_OK;
}

static void wake(ts_listener *l)
{
    uint64_t one = 1;
    while (write(l->wake, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
}

void ts_listener_resume(ts_listener *l)
{
    if (l)
        wake(l);
}

void ts_listener_stop(ts_listener *l)
{
    if (!l)
        return;
    if (l->running) {
        atomic_store(&l->stop, 1);
        wake(l);
        pthread_join(l->thread, NULL);
        l->running = 0;
    }
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

void ts_listener_free(ts_listener *l)
{
    if (!l)
        return;
    ts_listener_stop(l);
    if (l->wake >= 0)
        close(l->wake);
    free(l);
}
