/* listener.h: the HTTP listening socket and the thread that accepts on it.
 * The server owns accept() so that it, not the order in which the kernel
 * wakes libmicrohttpd's workers, decides which worker serves a connection
 * (server.c hands each socket to MHD_add_connection). No libmicrohttpd
 * here: the accepted socket goes to a callback. */
#ifndef TS_HTTP_LISTENER_H
#define TS_HTTP_LISTENER_H

#include <sys/socket.h>

#include "tracestore/err.h"

typedef struct ts_listener ts_listener;

/* Called on the acceptor thread for every accepted connection. Takes fd
 * (non-blocking, close-on-exec): the callee closes it or passes it on.
 * addr/len: the peer's address, borrowed for the call. Returns nonzero
 * when no further connection may be accepted until ts_listener_resume
 * (they wait in the backlog meanwhile). */
typedef int (*ts_listener_fn)(void *arg, int fd, const struct sockaddr *addr, socklen_t len);

/* Resolves listen ("HOST:PORT", IPv4 or IPv6, port 0 = any free port),
 * binds with SO_REUSEADDR (IPv6 sockets are v6-only) and listens with
 * backlog. Accepts nothing until ts_listener_start. Errors: TS_EINVAL (bad
 * or unresolvable address), TS_EIO (socket, bind or listen failed; err
 * says why), TS_ENOMEM. */
int ts_listener_open(const char *listen, int backlog, ts_listener **out, ts_err *err);
/* The port actually bound (useful with port 0). */
int ts_listener_port(const ts_listener *l);
/* Starts the acceptor thread, which calls fn(arg, ...) per connection
 * until ts_listener_stop. On EMFILE/ENFILE/ENOBUFS/ENOMEM it logs once
 * and retries every 100 ms instead of spinning. Errors: TS_EIO. */
int ts_listener_start(ts_listener *l, ts_listener_fn fn, void *arg, ts_err *err);
/* Lets an acceptor paused by fn's nonzero answer accept again. Any thread,
 * any time before ts_listener_free; a no-op when not paused. */
void ts_listener_resume(ts_listener *l);
/* Stops and joins the acceptor thread (fn is not running and will not run
 * again once this returns) and closes the listening socket: connections
 * still in the backlog are reset. Idempotent. */
void ts_listener_stop(ts_listener *l);
/* Stops if needed and frees l. NULL is a no-op. */
void ts_listener_free(ts_listener *l);

#endif
