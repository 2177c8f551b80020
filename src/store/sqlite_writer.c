/* sqlite_writer.c: the writer and syncer threads. The writer runs queued jobs
 * (sqlite_jobs.c) in one open transaction, committed when no fdatasync runs
 * (group commit), each job in its own savepoint; done callbacks run only after
 * COMMIT and (synchronous=full) a syncer's fdatasync of the WAL covered it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sync_file_range */
#endif
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/spanctx.h"
#include "store/spanwin.h"
#include "store/sqlite_write_int.h"
#include "tracestore/log.h"
#include "tracestore/timeutil.h"

/* The row id new traces start from in this transaction (the writer is
 * the only one inserting traces; ids a failed job reserved are skipped). */
static int next_trace_row(ts_sqlite_conn *c)
{
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_TRACE_NEXT);
    if (!q)
        return TS_EIO;
    int src = sqlite3_step(q);
    if (src == SQLITE_ROW)
        c->next_trace_row = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return src == SQLITE_ROW ? TS_OK : ts_sqlite_rc(src);
}

/* Span-only ingest jobs share the transaction's trace images (ttable). */
static int deferrable(const ts_write *w)
{
    return w->kind == TS_W_INGEST && w->ntraces == 0 && !w->close_after;
}

/* One open group-commit transaction: the jobs it ran, in order, and the
 * trace images its span-only jobs share (ttable). */
typedef struct txb {
    ts_write *head, *tail;
    uint64_t n;
    ts_arena *ta;
    ttable tt;
    int rc; /* non-OK: the transaction fails, every job with it */
} txb;

static int tx_open(ts_sqlite *s, txb *b)
{
    memset(b, 0, sizeof(*b));
    ts_sqlite_ckpt_tx_begin(s);
    b->rc = ts_sqlite_tx(s->w, Q_TX_BEGIN);
    if (b->rc == TS_OK &&
        (!(b->ta = ts_arena_new(64 * 1024)) || ts_sqlite_ttable_init(&b->tt, b->ta, 32) != TS_OK))
        b->rc = TS_ENOMEM;
    if (b->rc == TS_OK)
        b->rc = next_trace_row(s->w);
    return b->rc;
}

/* Runs a chain of jobs inside the open transaction and appends them to it.
 * After a failure the jobs still join it, to fail with it. */
static void tx_run(ts_sqlite *s, txb *b, ts_write *jobs, ts_write *tail, uint64_t n)
{
    int64_t now = ts_now_ns();
    for (ts_write *w = jobs; w; w = w->next)
        w->taken_ns = now;
    for (ts_write *w = jobs; w && b->rc == TS_OK; w = w->next) {
        int defer = deferrable(w);
        if (!defer && b->tt.nlist && (b->rc = ts_sqlite_tagg_flush(s, &b->tt, now)) != TS_OK)
            break;
        if (defer && b->tt.nlist >= b->tt.nbuckets &&
            (b->rc = ts_sqlite_ttable_grow(&b->tt)) != TS_OK)
            break;
        b->rc = ts_sqlite_job_run(s, w, now, defer ? &b->tt : NULL);
    }
    if (b->tail)
        b->tail->next = jobs;
    else
        b->head = jobs;
    b->tail = tail;
    b->n += n;
}

static int wal_fd(ts_sqlite *s);

/* Starts the writeback of the frames just committed, so the device is
 * already taking them while the commit is handed to a syncer, whose
 * fdatasync then mostly waits for them and flushes: the sync stage under
 * one-span requests fell by about 100 us (docs/PERFORMANCE.md, "Levers
 * tried"). Durability still comes from that fdatasync alone. */
static void wal_kick(ts_sqlite *s)
{
    /* The writer's own descriptor, opened once: SQLite keeps the WAL while
     * a connection is open, and on a replaced file this would only start
     * nothing (the syncers' wal_fd checks, since durability depends on it). */
    if (s->kickfd < 0)
        s->kickfd = wal_fd(s);
    if (s->kickfd >= 0)
        (void)sync_file_range(s->kickfd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* Writes the shared images and commits (or rolls back) the transaction. */
static void tx_close(ts_sqlite *s, txb *b)
{
    int rc = b->rc;
    int64_t now = ts_now_ns(), hi = s->w->next_trace_row - 1;
    int settle = hi > s->w->dims_upto && now - s->w->dims_settled_ns >= s->settle_ns;
    if (rc == TS_OK && b->tt.nlist)
        rc = ts_sqlite_tagg_flush(s, &b->tt, now);
    if (rc == TS_OK && settle)
        rc = ts_sqlite_dims_settle(s->w, hi);
    int64_t t0 = ts_now_ns();
    if (rc == TS_OK && (rc = ts_sqlite_tx(s->w, Q_TX_COMMIT)) == TS_OK) {
        ts_hist_observe(&s->h_commit, ts_now_ns() - t0);
        ts_hist_observe(&s->h_jobs, (int64_t)b->n);
        TS_METRIC_ADD(&s->n_traces_created, s->w->traces_new);
        if (s->pipelined)
            wal_kick(s);
        if (settle) {
            s->w->dims_upto = hi;
            s->w->dims_settled_ns = now;
        }
        for (ts_write *w = b->head; w; w = w->next)
            if ((w->kind == TS_W_KEY_REVOKE || w->kind == TS_W_KEY_CREATE) && w->rc == TS_OK) {
                ts_sqlite_keys_bump(s); /* before the answer: see keycache.c */
                break;
            }
    } else {
        TS_LOG(TS_LOG_ERROR, "msg=\"transaction failed\" err=\"%s\"", sqlite3_errmsg(s->w->db));
        ts_sqlite_tx(s->w, Q_TX_ROLLBACK);
        ts_spanctx_clear(s->w->spanctx); /* its entries may name rows rolled back */
        for (ts_write *w = b->head; w; w = w->next) {
            w->rc = rc == TS_ENOMEM ? TS_ENOMEM : TS_EIO;
            ts_err_set(&w->err, w->rc, "%s", ts_strerror(w->rc));
        }
    }
    s->w->traces_new = 0;
    ts_arena_free(b->ta);
    b->ta = NULL;
}

/* After a burst, give memory back: SQLite's page caches (the OS still
 * caches the file, so a later read copies instead of reading disk) and
 * glibc's free lists. Idle RSS was about 100 MiB after ingest without it. */
static void release_idle_memory(ts_sqlite *s)
{
    sqlite3_db_release_memory(s->w->db);
    pthread_mutex_lock(&s->rmu);
    for (ts_sqlite_conn *c = s->rfree; c; c = c->next_free)
        sqlite3_db_release_memory(c->db);
    pthread_mutex_unlock(&s->rmu);
    malloc_trim(0);
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

static void sync_enqueue(ts_sqlite *s, ts_write *head, ts_write *tail)
{
    pthread_mutex_lock(&s->smu);
    if (s->stail)
        s->stail->next = head;
    else
        s->shead = head;
    s->stail = tail;
    pthread_cond_signal(&s->scv);
    pthread_mutex_unlock(&s->smu);
}

/* Takes up to max queued jobs (a chain of *n ending at *tail), or NULL. */
static ts_write *take_jobs(ts_sqlite *s, uint64_t max, ts_write **tail, uint64_t *n_out)
{
    pthread_mutex_lock(&s->qmu);
    ts_write *head = s->qhead, *t = head;
    uint64_t n = 0;
    if (head && max > 0) {
        n = 1;
        while (t->next && n < max) {
            t = t->next;
            n++;
        }
        s->qhead = t->next;
        if (!s->qhead)
            s->qtail = NULL;
        t->next = NULL;
        s->qlen -= n;
    } else {
        head = t = NULL;
    }
    pthread_mutex_unlock(&s->qmu);
    *tail = t;
    *n_out = n;
    return head;
}

/* Whether an fdatasync is queued or running (caller holds qmu; smu is
 * taken inside it, never the other way round). */
static int sync_busy(ts_sqlite *s)
{
    if (!s->pipelined)
        return 0;
    pthread_mutex_lock(&s->smu);
    int busy = s->shead != NULL || s->sbusy > 0;
    pthread_mutex_unlock(&s->smu);
    return busy;
}

/* With a transaction open: waits while a sync is under way and no job is
 * queued. Returns 1 when jobs are queued and the sync still runs (take
 * them into this transaction), 0 when it is time to commit. */
static int wait_more(ts_sqlite *s)
{
    int more;
    pthread_mutex_lock(&s->qmu);
    while (!s->qhead && !s->stopping && sync_busy(s))
        pthread_cond_wait(&s->qcv, &s->qmu);
    more = s->qhead && !s->stopping && sync_busy(s);
    pthread_mutex_unlock(&s->qmu);
    return more;
}

static void *writer_main(void *arg)
{
    ts_sqlite *s = arg;
    int dirty = 0;
    prctl(PR_SET_NAME, "ts-writer", 0, 0, 0);
    for (;;) {
        pthread_mutex_lock(&s->qmu);
        while (!s->qhead && !s->stopping) {
            if (!dirty) {
                pthread_cond_wait(&s->qcv, &s->qmu);
                continue;
            }
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            if (pthread_cond_timedwait(&s->qcv, &s->qmu, &until) != 0 && !s->qhead) {
                pthread_mutex_unlock(&s->qmu);
                release_idle_memory(s);
                dirty = 0;
                pthread_mutex_lock(&s->qmu);
            }
        }
        dirty = 1;
        if (!s->qhead) {
            pthread_mutex_unlock(&s->qmu);
            break;
        }
        pthread_mutex_unlock(&s->qmu);

        /* Group commit: the transaction stays open, taking jobs as they
         * arrive, while an fdatasync is under way, and commits when none
         * is, so each commit gets a sync to itself at once. A commit made
         * earlier would only wait for that sync to end before its own
         * could start, and each commit rewrites the pages it shares with
         * the previous one (index leaves, the trace rows), so fewer,
         * larger commits write fewer pages per job. */
        txb b;
        tx_open(s, &b);
        for (;;) {
            uint64_t n;
            ts_write *tail, *head = take_jobs(s, s->batch_max - b.n, &tail, &n);
            if (head)
                tx_run(s, &b, head, tail, n);
            if (b.rc != TS_OK || b.n >= s->batch_max || !wait_more(s))
                break;
        }
        tx_close(s, &b);
        int64_t t = ts_now_ns();
        for (ts_write *w = b.head; w; w = w->next)
            w->committed_ns = t;

        pthread_mutex_lock(&s->qmu);
        s->n_tx++;
        s->n_jobs += b.n;
        pthread_mutex_unlock(&s->qmu);
        if (s->pipelined)
            sync_enqueue(s, b.head, b.tail);
        else
            run_callbacks(b.head);
    }
    return NULL;
}

/* A descriptor of the WAL for one sync (the caller closes it). fdatasync
 * acts on the inode, so our own descriptor serves; it is reopened should
 * the file ever be replaced (SQLite deletes the WAL only when the last
 * connection closes), and each sync works on a dup so a reopen never
 * closes a descriptor another syncer is using. */
static int wal_fd(ts_sqlite *s)
{
    char wal[sizeof(s->path) + 8];
    struct stat st;
    int fd = -1;
    snprintf(wal, sizeof(wal), "%s-wal", s->path);
    pthread_mutex_lock(&s->wmu);
    if (stat(wal, &st) == 0 &&
        (s->walfd < 0 || st.st_ino != s->wal_ino || st.st_dev != s->wal_dev)) {
        if (s->walfd >= 0)
            close(s->walfd);
        s->walfd = open(wal, O_RDONLY | O_CLOEXEC);
        s->wal_ino = st.st_ino;
        s->wal_dev = st.st_dev;
    }
    if (s->walfd >= 0)
        fd = fcntl(s->walfd, F_DUPFD_CLOEXEC, 0);
    pthread_mutex_unlock(&s->wmu);
    return fd;
}

void (*ts_sqlite_before_sync)(void);

/* Durability of the pipelined commit: frames written before this call
 * began are on disk when it returns. */
static int wal_sync(ts_sqlite *s)
{
    int fd = wal_fd(s);
    if (fd < 0)
        return TS_EIO;
    int rc = fdatasync(fd) == 0 ? TS_OK : TS_EIO;
    close(fd);
    return rc;
}

static void *syncer_main(void *arg)
{
    ts_sqlite *s = arg;
    prctl(PR_SET_NAME, "ts-syncer", 0, 0, 0);
    pthread_mutex_lock(&s->smu);
    for (;;) {
        while (!s->shead && !s->sstopping)
            pthread_cond_wait(&s->scv, &s->smu);
        ts_write *head = s->shead;
        s->shead = s->stail = NULL;
        if (!head)
            break;
        s->sbusy++;
        pthread_mutex_unlock(&s->smu);
        /* Every transaction handed over so far is in this sync. */
        int committed = 0;
        for (ts_write *w = head; w; w = w->next)
            committed |= w->rc == TS_OK;
        if (committed && ts_sqlite_before_sync)
            ts_sqlite_before_sync();
        int64_t t0 = ts_now_ns();
        if (committed && wal_sync(s) != TS_OK) {
            TS_LOG(TS_LOG_ERROR, "msg=\"cannot sync the write-ahead log\" path=%s-wal", s->path);
            for (ts_write *w = head; w; w = w->next)
                if (w->rc == TS_OK)
                    w->rc = ts_err_set(&w->err, TS_EIO, "cannot sync the write-ahead log");
        }
        int64_t took = ts_now_ns() - t0;
        pthread_mutex_lock(&s->smu);
        s->sbusy--;
        pthread_mutex_unlock(&s->smu);
        /* The writer may be holding its transaction open for this sync. */
        pthread_mutex_lock(&s->qmu);
        pthread_cond_signal(&s->qcv);
        pthread_mutex_unlock(&s->qmu);
        run_callbacks(head);
        pthread_mutex_lock(&s->smu);
        if (committed) {
            s->n_sync++;
            s->sync_ns += (uint64_t)took;
            ts_hist_observe(&s->h_sync, took);
        }
    }
    pthread_mutex_unlock(&s->smu);
    return NULL;
}

int ts_sqlite_submit(ts_store *st, ts_write *w)
{
    ts_sqlite *s = (ts_sqlite *)st;
    int rc = TS_OK;
    w->next = NULL;
    w->rc = TS_OK;
    ts_err_clear(&w->err);
    pthread_mutex_lock(&s->qmu);
    if (s->stopping)
        rc = TS_ESHUTDOWN;
    else if (s->qlen >= s->qmax)
        rc = TS_EBUSY;
    else {
        w->enqueued_ns = ts_now_ns();
        if (s->qtail)
            s->qtail->next = w;
        else
            s->qhead = w;
        s->qtail = w;
        s->qlen++;
        pthread_cond_signal(&s->qcv);
    }
    pthread_mutex_unlock(&s->qmu);
    return rc;
}

/* synchronous=full becomes NORMAL commits plus the syncer's fdatasync,
 * when the WAL can be opened; otherwise SQLite syncs inside COMMIT. */
static void syncer_stop(ts_sqlite *s)
{
    pthread_mutex_lock(&s->smu);
    s->sstopping = 1;
    pthread_cond_broadcast(&s->scv);
    pthread_mutex_unlock(&s->smu);
    for (int i = 0; i < s->nsthreads; i++)
        pthread_join(s->sthread[i], NULL);
    s->nsthreads = 0;
    if (s->walfd >= 0)
        close(s->walfd);
    s->walfd = -1;
    if (s->kickfd >= 0) /* the writer has stopped */
        close(s->kickfd);
    s->kickfd = -1;
    pthread_mutex_destroy(&s->wmu);
    pthread_mutex_destroy(&s->smu);
    pthread_cond_destroy(&s->scv);
}

static void syncer_start(ts_sqlite *s)
{
    s->walfd = -1;
    s->kickfd = -1;
    pthread_mutex_init(&s->wmu, NULL);
    pthread_mutex_init(&s->smu, NULL);
    pthread_cond_init(&s->scv, NULL);
    if (!s->pipelined)
        return;
    if (wal_sync(s) == TS_OK &&
        sqlite3_exec(s->w->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) == SQLITE_OK)
        while (s->nsthreads < TS_SYNCERS &&
               pthread_create(&s->sthread[s->nsthreads], NULL, syncer_main, s) == 0)
            s->nsthreads++;
    if (s->nsthreads == 0) {
        TS_LOG(TS_LOG_WARN, "msg=\"commits sync inline\" path=%s", s->path);
        sqlite3_exec(s->w->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
        s->pipelined = 0;
    }
}

/* The committed watermark of settled trace_dims rows (migration 0005).
 * Without it new rows could not be put on the right side of it. */
static int dims_upto_init(ts_sqlite_conn *c, ts_err *err)
{
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_DIMS_MARK_GET);
    int src = q ? sqlite3_step(q) : SQLITE_ERROR;
    if (src == SQLITE_ROW)
        c->dims_upto = sqlite3_column_int64(q, 0);
    if (q)
        sqlite3_reset(q);
    if (src != SQLITE_ROW)
        return ts_err_set(err, TS_EIO, "cannot read dims_watermark: %s", sqlite3_errmsg(c->db));
    return TS_OK;
}

/* Whether any request log waits for its span (/track-request before the
 * span): without one, ingest skips the lookup per span (10% of the
 * writer's time on bulk ingest). Waiting logs have their own partial
 * index (request_logs_pending), so this is one probe. */
static void pending_logs_init(ts_sqlite_conn *c)
{
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_RL_ANY_PENDING);
    c->pending_logs = 1;
    if (q && sqlite3_step(q) == SQLITE_ROW)
        c->pending_logs = sqlite3_column_int(q, 0);
    if (q)
        sqlite3_reset(q);
}

/* Fills the span id window with the newest spans (one generation's worth:
 * a restart keeps /track-request attaching to spans written just before). */
static int spanwin_init(ts_sqlite_conn *c, const ts_config *cfg, ts_err *err)
{
    sqlite3_stmt *q;
    int src;
    if (!(c->spanwin = ts_spanwin_new((size_t)cfg->span_id_window)))
        return ts_err_set(err, TS_ENOMEM, "out of memory");
    if (!(q = ts_sqlite_stmt(c, Q_SPANWIN_LOAD)))
        return ts_err_set(err, TS_EIO, "cannot prepare the span id window's query");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)ts_spanwin_room(c->spanwin));
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 1);
        if (id && ts_spanwin_put(c->spanwin, sqlite3_column_int64(q, 0), id,
                                 sqlite3_column_int64(q, 2), 1) != TS_OK)
            break;
    }
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return ts_err_set(err, TS_EIO, "sqlite: %s", sqlite3_errstr(src));
    return TS_OK;
}

int ts_sqlite_writer_start(ts_sqlite *s, const ts_config *cfg, ts_err *err)
{
    int rc;
    pending_logs_init(s->w);
    if ((rc = dims_upto_init(s->w, err)) != TS_OK || (rc = spanwin_init(s->w, cfg, err)) != TS_OK)
        return rc;
    /* 1,024 traces' pairs cached: more than a transaction's traces under
     * every workload of bench/. */
    if (!(s->w->spanctx = ts_spanctx_new(1024)))
        return ts_err_set(err, TS_ENOMEM, "out of memory");
    syncer_start(s);
    ts_sqlite_ckpt_start(s, cfg);
    if (pthread_create(&s->wthread, NULL, writer_main, s) != 0) {
        ts_sqlite_ckpt_stop(s);
        syncer_stop(s);
        return ts_err_set(err, TS_EIO, "cannot start writer thread");
    }
    s->wthread_started = 1;
    return TS_OK;
}

void ts_sqlite_writer_stop(ts_sqlite *s)
{
    if (!s->wthread_started)
        return;
    pthread_mutex_lock(&s->qmu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    pthread_join(s->wthread, NULL);
    s->wthread_started = 0;
    syncer_stop(s); /* after the writer: it answers the last transactions */
    ts_sqlite_ckpt_stop(s);
    int pages = 0, hi = 0;
    sqlite3_db_status(s->w->db, SQLITE_DBSTATUS_CACHE_WRITE, &pages, &hi, 0);
    TS_LOG(TS_LOG_INFO,
           "msg=\"writer stopped\" transactions=%llu jobs=%llu pages_written=%d syncs=%llu "
           "sync_ms=%.1f",
           (unsigned long long)s->n_tx, (unsigned long long)s->n_jobs, pages,
           (unsigned long long)s->n_sync, (double)s->sync_ns / 1e6);
}
