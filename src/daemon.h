/* daemon.h: the composition root of `tracestore serve`: config, store,
 * routes and HTTP server, and the signal-driven drain. */
#ifndef TS_DAEMON_H
#define TS_DAEMON_H

#include "tracestore/config.h"

/* Runs until SIGTERM/SIGINT (SIGUSR1 logs the write-stage report); returns
 * the process exit code. */
int ts_daemon_run(const ts_config *cfg);

#endif
