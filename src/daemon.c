/* daemon.c: wires config, store, API routes and the HTTP server together.
 * Signals only set a flag; the main thread notices it and drains: stop
 * accepting, finish in-flight requests, flush the writer, checkpoint.
 * SIGHUP reopens log_file, SIGUSR1 logs the write-stage report. */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "codec/json_util.h"
#include "cost/price.h"
#include "daemon.h"
#include "http/http_metrics.h"
#include "http/server.h"
#include "ingest/ingest.h"
#include "tracestore/apikey.h"
#include "tracestore/log.h"
#include "tracestore/store.h"
#include "tracestore/timeutil.h"

static volatile sig_atomic_t stop_requested, report_requested, reopen_requested;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        report_requested = 1;
    else if (sig == SIGHUP)
        reopen_requested = 1;
    else
        stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* On the very first start, make workspace "default" and print its key. */
static int bootstrap(ts_store *s)
{
    int64_t n = 0;
    char key[TS_KEY_LEN + 1];
    ts_err err;
    ts_err_clear(&err);
    if (ts_store_workspace_count(s, &n) != TS_OK)
        return TS_EIO;
    if (n > 0)
        return TS_OK;
    if (ts_apikey_create(s, "default", key, NULL, &err) != TS_OK) {
        fprintf(stderr, "tracestore: %s\n", err.msg);
        return TS_EIO;
    }
    fprintf(stderr, "tracestore: created workspace 'default'; its API key (shown once):\n");
    printf("%s\n", key);
    fflush(stdout);
    return TS_OK;
}

/* Each connection is a descriptor; the usual soft limit of 1024 would cap
 * max_connections long before its default. Raise the soft limit as far as
 * the hard limit allows and say so when it still falls short. */
static void raise_fd_limit(const ts_config *cfg)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg->max_connections + (rlim_t)cfg->read_connections + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want)
        TS_LOG(TS_LOG_WARN,
               "msg=\"open-file limit below max_connections\" nofile=%llu max_connections=%lld",
               (unsigned long long)rl.rlim_cur, (long long)cfg->max_connections);
}

int ts_daemon_run(const ts_config *cfg)
{
    ts_store *store = NULL;
    ts_retention *ret = NULL;
    ts_http *http = NULL;
    ts_http_metrics *metrics = NULL;
    ts_err err;
    int code = 1;

    ts_err_clear(&err);
    int64_t started_ns = ts_now_ns();
    if (ts_log_open(cfg->log_file, strcmp(cfg->log_format, "json") == 0) != 0) {
        fprintf(stderr, "tracestore: log_file %s: cannot open: %s\n", cfg->log_file,
                strerror(errno));
        return 1;
    }
    install_signals();
    raise_fd_limit(cfg);
    ts_json_init();
    if (ts_apikey_init() != TS_OK) {
        fprintf(stderr, "tracestore: cannot initialise libsodium\n");
        return 1;
    }
    ts_prices *prices = NULL;
    if (ts_prices_load(cfg->price_file, &prices, &err) != TS_OK) {
        fprintf(stderr, "tracestore: %s\n", err.msg);
        return 1;
    }
    TS_LOG(TS_LOG_INFO, "msg=\"price table loaded\" models=%zu file=\"%s\"",
           ts_prices_count(prices), cfg->price_file[0] ? cfg->price_file : "built-in");
    ts_prices_set_active(prices);
    if (ts_store_open(cfg, &store, &err) != TS_OK) {
        fprintf(stderr, "tracestore: %s\n", err.msg);
        return 1;
    }
    if (bootstrap(store) != TS_OK)
        goto out;
    if (!(ret = ts_retention_start(store, cfg, ts_ingest_derive))) {
        fprintf(stderr, "tracestore: cannot start the retention sweeper\n");
        goto out;
    }
    ts_app app = {.cfg = cfg, .store = store, .started_ns = started_ns};
    if (!(metrics = ts_http_metrics_new(ts_routes))) {
        fprintf(stderr, "tracestore: out of memory\n");
        goto out;
    }
    app.metrics = metrics;
    if (ts_http_start(&app, ts_routes, &http, &err) != TS_OK) {
        fprintf(stderr, "tracestore: %s\n", err.msg);
        goto out;
    }
    char where[TS_PATH_MAX];
    if (strcmp(cfg->store, "postgres") == 0)
        ts_config_mask_url(cfg->postgres_url, where, sizeof where);
    else
        snprintf(where, sizeof where, "%s", cfg->db_path);
    TS_LOG(TS_LOG_INFO, "msg=listening listen=%s port=%d store=%s db=\"%s\"", cfg->listen,
           ts_http_port(http), cfg->store, where);
    while (!stop_requested) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        if (report_requested) {
            report_requested = 0;
            ts_http_report(http, 1);
        }
        if (reopen_requested) {
            reopen_requested = 0;
            if (ts_log_reopen() != 0)
                TS_LOG(TS_LOG_ERROR,
                       "msg=\"cannot reopen log_file, still writing the old one\" "
                       "file=\"%s\" err=\"%s\"",
                       cfg->log_file, strerror(errno));
            else
                TS_LOG(TS_LOG_INFO, "msg=\"log reopened\"");
        }
    }
    TS_LOG(TS_LOG_INFO, "msg=\"draining\" inflight=%d", ts_http_inflight(http));
    ts_http_stop(http, 10000);
    code = 0;
out:
    ts_retention_stop(ret); /* before the store: its job in flight is answered */
    ts_store_close(store);
    ts_http_metrics_free(metrics);
    if (code == 0)
        TS_LOG(TS_LOG_INFO, "msg=\"stopped cleanly\"");
    return code;
}
