/* retention.c: the retention sweeper, a thread of the daemon's that queues
 * TS_W_SWEEP jobs through the ordinary write queue, one at a time and paced
 * (SWEEP_PAUSE), so ingest jobs queued meanwhile run between two batches,
 * never wait behind more than one, and keep most of the writer's time. The
 * backend does the deleting (sqlite_sweep.c); no SQL here. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "tracestore/log.h"
#include "tracestore/store.h"
#include "tracestore/timeutil.h"

/* After each job the sweeper rests SWEEP_PAUSE times as long as the job
 * took (at most SWEEP_PAUSE_MAX_NS), so a long sweep takes at most a fifth
 * of the writer's time. Back to back, 3M spans of expired traces took the
 * writer for 20 s and one-span ingest fell from 17,500 to 840 req/s. */
#define SWEEP_PAUSE 4
#define SWEEP_PAUSE_MAX_NS 2000000000LL

struct ts_retention {
    ts_store *store;
    int64_t sweep_s, batch, batch_spans, days, day_s;
    void (*derive)(ts_span *sp); /* the jobs' w.derive */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    int job_done;
};

static void job_done(ts_write *w, void *arg)
{
    ts_retention *r = arg;
    (void)w;
    pthread_mutex_lock(&r->mu);
    r->job_done = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Runs one sweep job and waits for it (the writer always answers). Returns
 * the traces plus logs it removed, or -1 when it was not run or failed;
 * *more: it stopped at a bound. */
static int64_t sweep_once(ts_retention *r, int *more)
{
    ts_write w;
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_SWEEP;
    w.max_delete = r->batch;
    w.max_spans = r->batch_spans;
    w.retention_days = r->days;
    w.retention_day_s = r->day_s;
    w.derive = r->derive;
    w.done = job_done;
    w.done_arg = r;
    r->job_done = 0;
    *more = 0;
    int rc = ts_store_submit(r->store, &w);
    if (rc != TS_OK) /* a full queue: ingest comes first, try at the next tick */
        return -1;
    pthread_mutex_lock(&r->mu);
    while (!r->job_done)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    if (w.rc != TS_OK) {
        TS_LOG(TS_LOG_WARN, "msg=\"retention sweep failed\" err=\"%s\"", w.err.msg);
        return -1;
    }
    *more = w.sweep_more;
    return w.affected + w.swept_logs;
}

/* Waits ns nanoseconds; returns 0 when asked to stop. */
static int wait_ns(ts_retention *r, int64_t ns)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ns / 1000000000LL);
    until.tv_nsec += (long)(ns % 1000000000LL);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->mu);
    while (!r->stopping && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
        ;
    int go = !r->stopping;
    pthread_mutex_unlock(&r->mu);
    return go;
}

static void *sweeper_main(void *arg)
{
    ts_retention *r = arg;
    prctl(PR_SET_NAME, "ts-retention", 0, 0, 0);
    while (wait_ns(r, r->sweep_s * 1000000000LL)) {
        int64_t t0 = ts_now_ns(), total = 0, jobs = 0, got;
        int more, go = 1;
        /* A full batch may leave more behind: go on after a rest. */
        do {
            int64_t j0 = ts_now_ns();
            got = sweep_once(r, &more);
            jobs++;
            total += got > 0 ? got : 0;
            int64_t rest = (ts_now_ns() - j0) * SWEEP_PAUSE;
            if (got > 0 && more)
                go = wait_ns(r, rest < SWEEP_PAUSE_MAX_NS ? rest : SWEEP_PAUSE_MAX_NS);
        } while (got > 0 && more && go);
        if (total)
            TS_LOG(TS_LOG_INFO, "msg=\"retention sweep\" removed=%lld jobs=%lld ms=%.1f",
                   (long long)total, (long long)jobs, (double)(ts_now_ns() - t0) / 1e6);
    }
    return NULL;
}

ts_retention *ts_retention_start(ts_store *s, const ts_config *cfg, void (*derive)(ts_span *sp))
{
    ts_retention *r = calloc(1, sizeof(*r));
    pthread_condattr_t ca;
    if (!r)
        return NULL;
    r->store = s;
    r->derive = derive;
    r->sweep_s = cfg->retention_sweep_s > 0 ? cfg->retention_sweep_s : 60;
    r->batch = cfg->retention_batch > 0 ? cfg->retention_batch : 500;
    r->batch_spans = cfg->retention_batch_spans > 0 ? cfg->retention_batch_spans : 2000;
    r->days = cfg->retention_days;
    r->day_s = cfg->retention_day_s > 0 ? cfg->retention_day_s : 86400;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, sweeper_main, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return NULL;
    }
    return r;
}

void ts_retention_stop(ts_retention *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
