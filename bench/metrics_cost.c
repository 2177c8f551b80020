/* metrics_cost.c: what keeping the /metrics counters costs one request, in
 * ns: every bump an ingest request makes, on THREADS threads at once (the
 * daemon's HTTP threads): the clock read and ts_http_metrics_count of
 * send_response (a POST /spans-bulk answered 200, its write committed) and
 * the key cache's hit counter (one counter for every thread, as in
 * store/keycache.c); and, uncontended as on the one writer thread but
 * charged to every request as if each were its own transaction (an upper
 * bound: w1 and w3 commit 12-24 requests per transaction), the writer's
 * commit, jobs and sync observations and its traces-created add. Each
 * thread's figure is the best of five slices in its own CPU time.
 * bench/run.sh divides it by the daemon's CPU time per request measured in
 * the same run. Prints one key=value line.
 *
 *   metrics_cost [CALLS_PER_THREAD] [THREADS]   (default 5000000, 2) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "http/http_metrics.h"
#include "http/server.h"
#include "tracestore/metrics.h"
#include "tracestore/timeutil.h"

/* The writer's observations: one set per thread here, as the one writer
 * thread has them to itself (only the key cache's counter is shared). */
typedef struct writer_side {
    ts_hist commit, jobs, sync;
    _Atomic uint64_t traces_created;
    char pad[64];
} writer_side;

static _Atomic uint64_t key_hits; /* shared by every thread, as the key cache's */

typedef struct worker {
    pthread_t th;
    ts_http_metrics *m;
    writer_side st;
    const ts_route *route;
    long calls;
    pthread_barrier_t *go;
    double ns; /* per call, this thread */
} worker;

enum { REPS = 5 };

static int64_t thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const ts_route *find_route(const char *method, const char *pattern)
{
    for (const ts_route *rt = ts_routes; rt->method; rt++)
        if (strcmp(rt->method, method) == 0 && strcmp(rt->pattern, pattern) == 0)
            return rt;
    return NULL;
}

static void *run(void *arg)
{
    worker *w = arg;
    ts_req r;
    memset(&r, 0, sizeof(r));
    r.route = w->route;
    r.method = "POST";
    r.status = 200;
    r.write.kind = TS_W_INGEST;
    r.write.nspans = 1;
    r.write.rc = TS_OK;
    r.start_ns = ts_now_ns();
    ts_hist_init(&w->st.commit, &ts_hist_disk);
    ts_hist_init(&w->st.jobs, &ts_hist_jobs);
    ts_hist_init(&w->st.sync, &ts_hist_disk);
    atomic_init(&w->st.traces_created, 0);
    pthread_barrier_wait(w->go);
    /* The best of REPS slices, each timed in this thread's CPU time: time
     * the thread spent preempted by other work on the machine is not the
     * counters' cost (a loaded machine otherwise doubles the figure). */
    w->ns = 0;
    for (int rep = 0; rep < REPS; rep++) {
        long n = w->calls / REPS;
        int64_t t0 = thread_ns();
        for (long i = 0; i < n; i++) {
            TS_METRIC_ADD(&key_hits, 1);
            ts_http_metrics_count(w->m, &r, 1, ts_now_ns() - r.start_ns);
            ts_hist_observe(&w->st.commit, 700000 + (i & 1023) * 100);
            ts_hist_observe(&w->st.jobs, 24);
            ts_hist_observe(&w->st.sync, 600000 + (i & 511) * 100);
            TS_METRIC_ADD(&w->st.traces_created, 1);
        }
        double ns = (double)(thread_ns() - t0) / (double)n;
        if (rep == 0 || ns < w->ns)
            w->ns = ns;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 5000000;
    int nth = argc > 2 ? atoi(argv[2]) : 2;
    int rc = 1;
    ts_http_metrics *m = ts_http_metrics_new(ts_routes);
    worker *w = calloc(nth > 0 ? (size_t)nth : 1, sizeof(*w));
    const ts_route *route = find_route("POST", "/spans-bulk");
    pthread_barrier_t go;
    calls -= calls % REPS;
    if (!m || !w || !route || calls <= 0 || nth <= 0 || nth > 64) {
        fprintf(stderr, "usage: metrics_cost [CALLS_PER_THREAD] [THREADS 1..64]\n");
        goto out;
    }
    pthread_barrier_init(&go, NULL, (unsigned)nth);
    for (int i = 0; i < nth; i++) {
        w[i] = (worker){.m = m, .route = route, .calls = calls, .go = &go};
        if (pthread_create(&w[i].th, NULL, run, &w[i]) != 0) {
            fprintf(stderr, "metrics_cost: pthread_create failed\n");
            exit(1);
        }
    }
    double sum = 0, max = 0;
    for (int i = 0; i < nth; i++) {
        pthread_join(w[i].th, NULL);
        sum += w[i].ns;
        max = w[i].ns > max ? w[i].ns : max;
    }
    pthread_barrier_destroy(&go);
    /* The counters must have moved by exactly the calls made (a build with
     * TS_NO_METRICS counts nothing, and says so). */
    uint64_t hits = atomic_load(&key_hits);
    printf("metrics_on=%d threads=%d calls=%ld ns_per_req=%.1f ns_per_req_max=%.1f counted=%llu\n",
           TS_METRICS_ON, nth, calls, sum / nth, max, (unsigned long long)hits);
    rc = hits == (uint64_t)(TS_METRICS_ON ? calls * nth : 0) ? 0 : 1;
out:
    ts_http_metrics_free(m);
    free(w);
    return rc;
}
