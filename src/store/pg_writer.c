/* pg_writer.c: the PostgreSQL backend's writer thread. It takes every
 * queued job (up to writer_batch_max) into one transaction (group commit),
 * locks the traces the jobs name in one sorted order, runs the jobs
 * (pg_jobs.c; after a job fails, again with a savepoint each so it fails
 * alone), reruns the whole transaction after a deadlock, and calls the
 * jobs' done callbacks only after COMMIT returned. When PostgreSQL goes
 * away it fails jobs with TS_EBUSY and reconnects. */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "store/pg_int.h"
#include "tracestore/log.h"
#include "tracestore/timeutil.h"

/* A transaction that deadlocked (or failed to serialise) this many times
 * in a row fails its jobs with TS_EBUSY: the clients retry later. */
#define TX_RETRIES 8
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

enum {
    S_BEGIN = 10,
    S_COMMIT = 11,
    S_ROLLBACK = 12,
    S_SAVEPOINT = 13,
    S_ROLLBACK_TO = 14,
};

/* One trace a job names before it runs. */
typedef struct lock_pair {
    int64_t ws_id;
    const char *trace_id;
} lock_pair;

static int pair_cmp(const void *a, const void *b)
{
    const lock_pair *x = a, *y = b;
    if (x->ws_id != y->ws_id)
        return x->ws_id < y->ws_id ? -1 : 1;
    return strcmp(x->trace_id, y->trace_id);
}

static size_t job_pairs(const ts_write *w, lock_pair *out)
{
    size_t n = 0;
    const char *one = NULL;
    switch (w->kind) {
    case TS_W_INGEST:
        for (size_t i = 0; i < w->nspans; i++)
            if (w->spans[i].trace_id) {
                if (out)
                    out[n] = (lock_pair){w->ws_id, w->spans[i].trace_id};
                n++;
            }
        for (size_t i = 0; i < w->ntraces; i++)
            if (w->traces[i].trace_id) {
                if (out)
                    out[n] = (lock_pair){w->ws_id, w->traces[i].trace_id};
                n++;
            }
        return n;
    case TS_W_CLOSE:
    case TS_W_DELETE:
        one = w->trace_id;
        break;
    case TS_W_FEEDBACK:
        one = w->trace_id ? w->trace_id : (w->feedback ? w->feedback->trace_id : NULL);
        break;
    default: /* the rest find their traces as they run, and lock them then */
        return 0;
    }
    if (one && out)
        out[0] = (lock_pair){w->ws_id, one};
    return one ? 1 : 0;
}

/* Every (ws_id, trace_id) the jobs name, sorted and distinct, locked one
 * workspace after the other in ws_id order: two transactions (of this or
 * another daemon) that lock traces this way cannot wait on each other in
 * a cycle. */
static int lock_all(ts_pg_conn *c, ts_write *head, ts_err *err)
{
    size_t n = 0, k = 0;
    int rc = TS_OK;
    for (ts_write *w = head; w; w = w->next)
        n += job_pairs(w, NULL);
    if (n == 0)
        return TS_OK;
    lock_pair *pairs = malloc(n * sizeof(*pairs));
    const char **ids = malloc(n * sizeof(*ids));
    if (!pairs || !ids) {
        rc = ts_err_set(err, TS_ENOMEM, "out of memory");
        goto out;
    }
    for (ts_write *w = head; w; w = w->next)
        k += job_pairs(w, pairs + k);
    qsort(pairs, n, sizeof(*pairs), pair_cmp);
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || pair_cmp(&pairs[i - 1], &pairs[i]) != 0)
            pairs[k++] = pairs[i];
    for (size_t i = 0; i < k && rc == TS_OK;) {
        size_t j = i;
        for (; j < k && pairs[j].ws_id == pairs[i].ws_id; j++)
            ids[j - i] = pairs[j].trace_id;
        rc = ts_pg_lock_traces(c, pairs[i].ws_id, ids, j - i, err);
        i = j;
    }
out:
    free(pairs);
    free(ids);
    return rc;
}

/* A job's results as before it ran: a rerun starts from nothing. */
static void job_reset(ts_write *w)
{
    w->rc = TS_OK;
    ts_err_clear(&w->err);
    memset(&w->closure, 0, sizeof w->closure);
    memset(&w->ws, 0, sizeof w->ws);
    w->affected = 0;
    w->nrejected = 0;
    w->swept_logs = 0;
    w->sweep_more = 0;
    for (size_t i = 0; i < w->nspans; i++) {
        w->spans[i].rowid = 0;
        w->spans[i].request_log_id = 0;
        w->spans[i].rejected = 0;
    }
    if (w->feedback) {
        w->feedback->id[0] = '\0';
        w->feedback->created_ns = 0;
    }
    if (w->track) {
        w->track->request_id = 0;
        w->track->attached = 0;
    }
}

static int simple(ts_pg_conn *c, const char *sql, ts_err *err)
{
    PGresult *r = ts_pg_simple(c, sql);
    int rc = ts_pg_check(c, r, err);
    PQclear(r);
    return rc;
}

/* A job failed in a transaction run without savepoints: roll it back
 * and run it again with one savepoint per job (internal to this file). */
#define TX_RERUN_SP (-101)

/* How the jobs of one attempt are isolated from each other. */
enum {
    SP_LONE = 0, /* one job: its failure rolls the transaction back */
    SP_NONE = 1, /* several, none expected to fail: no savepoints */
    SP_EACH = 2, /* several, one failed before: a savepoint per job */
};

/* Runs one job. Returns TS_OK when the transaction goes on (the job's own
 * outcome is in w->rc), else what ends the transaction: TS_PG_RETRY,
 * TX_RERUN_SP, or an error that fails every job (err). *rolled: the
 * transaction was rolled back (a lone job failed). */
static int job_exec(ts_pg *s, ts_pg_conn *c, ts_write *w, int64_t now, int mode, int first,
                    int *rolled, ts_err *err)
{
    int rc;
    if (mode == SP_EACH &&
        (rc = first ? ts_pg_do(c, S_SAVEPOINT, "SAVEPOINT job", NULL, err)
                    : simple(c, "RELEASE SAVEPOINT job; SAVEPOINT job", err)) != TS_OK)
        return rc;
    rc = ts_pg_job_run(s, c, w, now);
    if (rc == TS_PG_RETRY) {
        *err = w->err;
        return TS_PG_RETRY;
    }
    w->rc = rc;
    if (rc == TS_OK)
        return TS_OK;
    if (w->err.code == 0)
        ts_err_set(&w->err, rc, "%s", ts_strerror(rc));
    if (ts_pg_conn_bad(c) || rc == TS_EBUSY) {
        /* lost, or PostgreSQL too busy to finish a statement within
         * statement_timeout (a lock another daemon holds, say): running
         * the jobs again would only wait as long once more */
        *err = w->err;
        return TS_EBUSY;
    }
    if (mode == SP_NONE)
        return TX_RERUN_SP;
    if (mode == SP_LONE) {
        *rolled = 1;
        return ts_pg_do(c, S_ROLLBACK, "ROLLBACK", NULL, err);
    }
    return ts_pg_do(c, S_ROLLBACK_TO, "ROLLBACK TO SAVEPOINT job", NULL, err);
}

/* One attempt at the transaction of the chain head. TS_OK: committed (or,
 * a lone job having failed, rolled back), every job's outcome in its rc.
 * sp_each: a savepoint per job (a job failed in the attempt before). */
static int tx_attempt(ts_pg *s, ts_write *head, int sp_each, int64_t *commit_ns, ts_err *err)
{
    ts_pg_conn *c = s->w;
    int64_t now = ts_now_ns();
    int rc, rolled = 0, first = 1;
    uint64_t m = 0;

    for (ts_write *w = head; w; w = w->next)
        m += w->kind != TS_W_PING;
    int mode = m <= 1 ? SP_LONE : sp_each ? SP_EACH : SP_NONE;
    if ((rc = ts_pg_do(c, S_BEGIN, "BEGIN", NULL, err)) != TS_OK ||
        (rc = lock_all(c, head, err)) != TS_OK)
        return rc;
    for (ts_write *w = head; w && !rolled; w = w->next) {
        if (w->kind == TS_W_PING) { /* the commit below is its answer */
            w->rc = TS_OK;
            continue;
        }
        if ((rc = job_exec(s, c, w, now, mode, first, &rolled, err)) != TS_OK)
            return rc;
        first = 0;
    }
    for (ts_write *w = head; w && rolled; w = w->next)
        if (w->kind == TS_W_PING)
            w->rc = TS_OK; /* the server answered the ROLLBACK */
    if (rolled)
        return TS_OK;
    int64_t t0 = ts_now_ns();
    if ((rc = ts_pg_do(c, S_COMMIT, "COMMIT", NULL, err)) != TS_OK)
        return rc;
    *commit_ns = ts_now_ns() - t0;
    return TS_OK;
}

static void fail_all(ts_write *head, int rc, const ts_err *why)
{
    for (ts_write *w = head; w; w = w->next) {
        w->rc = rc;
        ts_err_set(&w->err, rc, "%s", why->msg[0] ? why->msg : ts_strerror(rc));
    }
}

static void went_down(ts_pg *s, const char *why)
{
    ts_pg_conn_free(s->w);
    s->w = NULL;
    if (atomic_exchange(&s->up, 0))
        TS_LOG(TS_LOG_ERROR, "msg=\"PostgreSQL unavailable: writes answer 503\" err=\"%s\"", why);
}

/* Runs the chain's transaction, again after deadlocks. Returns 1 when it
 * committed. */
static int tx_run(ts_pg *s, ts_write *head, uint64_t n)
{
    ts_err err;
    int64_t commit_ns = 0;
    int rc = TS_OK, retries = 0, sp_each = 0;

    pthread_mutex_lock(&s->qmu);
    uint64_t created = s->traces_created; /* only this thread adds to it */
    pthread_mutex_unlock(&s->qmu);
    for (int attempt = 0;; attempt++) {
        ts_err_clear(&err);
        pthread_mutex_lock(&s->qmu);
        s->traces_created = created; /* an undone attempt's rows were not created */
        pthread_mutex_unlock(&s->qmu);
        if (attempt)
            for (ts_write *w = head; w; w = w->next)
                job_reset(w);
        if ((rc = tx_attempt(s, head, sp_each, &commit_ns, &err)) == TS_OK)
            break;
        if (!ts_pg_conn_bad(s->w)) {
            ts_err rb;
            simple(s->w, "ROLLBACK", &rb);
        }
        if (rc == TX_RERUN_SP && !sp_each) {
            sp_each = 1; /* the failing job will roll back alone */
            continue;
        }
        if (rc != TS_PG_RETRY || ++retries >= TX_RETRIES)
            break;
        pthread_mutex_lock(&s->qmu);
        s->n_retries++;
        pthread_mutex_unlock(&s->qmu);
        /* a short, growing, jittered pause lets the other side finish */
        struct timespec ts = {0, (long)retries * 1000000L * (long)(1 + ts_now_ns() % 4)};
        nanosleep(&ts, NULL);
    }
    if (rc != TS_OK) {
        if (ts_pg_conn_bad(s->w)) {
            ts_err why = err;
            ts_err_set(&err, TS_EBUSY, "PostgreSQL is unavailable, retry later (%s)", why.msg);
            fail_all(head, TS_EBUSY, &err);
            went_down(s, why.msg);
        } else if (rc == TS_PG_RETRY) {
            ts_err why = err;
            ts_err_set(&err, TS_EBUSY, "transaction deadlocked %d times, retry later (%s)",
                       TX_RETRIES, why.msg);
            fail_all(head, TS_EBUSY, &err);
        } else {
            TS_LOG(rc == TS_EBUSY ? TS_LOG_WARN : TS_LOG_ERROR,
                   "msg=\"transaction failed\" backend=postgres err=\"%s\"", err.msg);
            fail_all(head, rc, &err);
        }
        pthread_mutex_lock(&s->qmu);
        s->traces_created = created;
        pthread_mutex_unlock(&s->qmu);
        return 0;
    }
    int keys = 0;
    for (ts_write *w = head; w; w = w->next)
        keys |= (w->kind == TS_W_KEY_CREATE || w->kind == TS_W_KEY_REVOKE) && w->rc == TS_OK;
    if (keys) /* before the answer: see keycache.c */
        atomic_fetch_add_explicit(&s->keys_epoch, 1, memory_order_release);
    if (commit_ns > 0) /* 0: a lone failed job was rolled back instead */
        ts_hist_observe(&s->commit_hist, commit_ns);
    ts_hist_observe(&s->jobs_hist, (int64_t)n);
    pthread_mutex_lock(&s->qmu);
    s->n_tx++;
    s->n_jobs += n;
    pthread_mutex_unlock(&s->qmu);
    return 1;
}

static void run_callbacks(ts_write *head)
{
    for (ts_write *w = head, *next; w; w = next) {
        next = w->next; /* done() may free w */
        w->next = NULL;
        w->done_ns = ts_now_ns();
        w->done(w, w->done_arg);
    }
}

/* Takes up to max queued jobs as a chain (*n of them), or NULL. */
static ts_write *take_jobs(ts_pg *s, uint64_t max, uint64_t *n_out)
{
    pthread_mutex_lock(&s->qmu);
    ts_write *head = s->qhead, *t = head;
    uint64_t n = 0;
    if (head) {
        n = 1;
        while (t->next && n < max) {
            t = t->next;
            n++;
        }
        s->qhead = t->next;
        if (!s->qhead)
            s->qtail = NULL;
        t->next = NULL;
        s->qdepth -= n;
    }
    pthread_mutex_unlock(&s->qmu);
    *n_out = n;
    return head;
}

/* PostgreSQL away: what was queued fails now (TS_EBUSY, 503). */
static void fail_queued(ts_pg *s, const char *why)
{
    uint64_t n;
    ts_err err;
    ts_err_set(&err, TS_EBUSY, "PostgreSQL is unavailable, retry later (%s)", why);
    ts_write *head = take_jobs(s, UINT64_MAX, &n);
    if (!head)
        return;
    fail_all(head, TS_EBUSY, &err);
    int64_t t = ts_now_ns();
    for (ts_write *w = head; w; w = w->next)
        w->taken_ns = w->committed_ns = t;
    run_callbacks(head);
}

/* Waits up to ms, or until stopping or a queued job (one submitted just
 * before the outage was seen: it gets another connect, then fails at once,
 * see fail_queued). */
static void rest(ts_pg *s, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until); /* qcv's clock (pg.c) */
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->qmu);
    while (!s->stopping && !s->qhead)
        if (pthread_cond_timedwait(&s->qcv, &s->qmu, &until) != 0)
            break;
    pthread_mutex_unlock(&s->qmu);
}

/* The writer's session: its statements (pg_jobs.c) find rows by key, so
 * a prepared statement's generic plan serves every run. PostgreSQL's
 * custom plans, which it kept choosing for some of them, planned again at
 * every bind: the server's time in the jobs' statements per one-span
 * request fell from 0.84-1.23 ms to 0.50-0.60 ms without them. */
static int writer_session(ts_pg_conn *c, ts_err *err)
{
    return simple(c, "SET plan_cache_mode = force_generic_plan", err);
}

/* A generic plan is made once, with the table sizes of its first run: on
 * a database that started empty, seq scans and the wrong index (traces
 * by (ws_id, project_id) for a trace id) that made the FETCH of old spans
 * 27 ms and the trace row 0.5 ms once the tables had grown, until an
 * autovacuum ANALYZE happened to invalidate them. The writer drops its
 * plans after its 8th, 16th, 32nd, ... transaction, so they follow the
 * tables' growth at a cost of a few plannings per doubling. */
static void plans_refresh(ts_pg *s)
{
    pthread_mutex_lock(&s->qmu);
    uint64_t n = s->n_tx;
    pthread_mutex_unlock(&s->qmu);
    if (s->w && n >= 8 && (n & (n - 1)) == 0) {
        ts_err err;
        simple(s->w, "DISCARD PLANS", &err);
    }
}

/* Connects the writer again; 0 while PostgreSQL stays away. */
static int reconnect(ts_pg *s, char *why, size_t cap)
{
    ts_err err;
    ts_err_clear(&err);
    if ((s->w = ts_pg_connect(s, &err)) && writer_session(s->w, &err) != TS_OK) {
        ts_pg_conn_free(s->w);
        s->w = NULL;
    }
    if (!s->w) {
        snprintf(why, cap, "%s", err.msg);
        return 0;
    }
    if (!atomic_exchange(&s->up, 1))
        TS_LOG(TS_LOG_INFO, "msg=\"PostgreSQL is back: writes resume\"");
    return 1;
}

/* The connection before a transaction: one the server closed while idle
 * (a restart) is replaced at once, so no job sees the restart. */
static void conn_refresh(ts_pg *s)
{
    if (s->w && !ts_pg_conn_alive(s->w)) {
        ts_pg_conn_free(s->w);
        s->w = NULL;
    }
}

static void *writer_main(void *arg)
{
    ts_pg *s = arg;
    int64_t backoff = BACKOFF_MIN_MS;
    char why[256] = "not connected";
    prctl(PR_SET_NAME, "ts-pg-writer", 0, 0, 0);
    for (;;) {
        pthread_mutex_lock(&s->qmu);
        while (!s->qhead && !s->stopping && s->w)
            pthread_cond_wait(&s->qcv, &s->qmu);
        int stop = s->stopping && !s->qhead;
        pthread_mutex_unlock(&s->qmu);
        if (stop)
            break;
        conn_refresh(s);
        if (!s->w && !reconnect(s, why, sizeof why)) {
            went_down(s, why);
            fail_queued(s, why);
            pthread_mutex_lock(&s->qmu);
            int stopping = s->stopping;
            pthread_mutex_unlock(&s->qmu);
            if (stopping)
                break;
            rest(s, backoff);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = BACKOFF_MIN_MS;
        uint64_t n;
        ts_write *head = take_jobs(s, s->batch_max, &n);
        if (!head)
            continue;
        int64_t t = ts_now_ns();
        for (ts_write *w = head; w; w = w->next)
            w->taken_ns = t;
        int committed = tx_run(s, head, n);
        if (!s->w) /* lost: what queued meanwhile fails now, not after a connect */
            fail_queued(s, "the connection was lost");
        t = ts_now_ns();
        for (ts_write *w = head; w; w = w->next)
            w->committed_ns = t;
        run_callbacks(head);
        if (committed)
            plans_refresh(s);
    }
    return NULL;
}

int ts_pg_submit(ts_store *st, ts_write *w)
{
    ts_pg *s = (ts_pg *)st;
    int rc = TS_OK;
    w->next = NULL;
    w->rc = TS_OK;
    ts_err_clear(&w->err);
    pthread_mutex_lock(&s->qmu);
    if (s->stopping)
        rc = TS_ESHUTDOWN;
    else if (!atomic_load(&s->up)) /* fail fast: the writer reconnects meanwhile */
        rc = ts_err_set(&w->err, TS_EBUSY, "PostgreSQL is unavailable, retry later");
    else if (s->qdepth >= s->queue_max)
        rc = ts_err_set(&w->err, TS_EBUSY, "write queue full (writer_queue_max), retry later");
    else {
        w->enqueued_ns = ts_now_ns();
        if (s->qtail)
            s->qtail->next = w;
        else
            s->qhead = w;
        s->qtail = w;
        s->qdepth++;
        pthread_cond_signal(&s->qcv);
    }
    pthread_mutex_unlock(&s->qmu);
    return rc;
}

int ts_pg_writer_start(ts_pg *s, ts_err *err)
{
    int rc;
    if (s->w && (rc = writer_session(s->w, err)) != TS_OK)
        return rc;
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
        return ts_err_set(err, TS_EIO, "cannot start writer thread");
    s->writer_started = 1;
    return TS_OK;
}

void ts_pg_writer_stop(ts_pg *s)
{
    if (!s->writer_started)
        return;
    pthread_mutex_lock(&s->qmu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    pthread_join(s->writer, NULL);
    s->writer_started = 0;
    TS_LOG(TS_LOG_INFO,
           "msg=\"writer stopped\" backend=postgres transactions=%llu jobs=%llu "
           "retries=%llu",
           (unsigned long long)s->n_tx, (unsigned long long)s->n_jobs,
           (unsigned long long)s->n_retries);
}
