/* sqlite_ckpt.c: checkpoints off the writer's thread.
 *
 * A checkpoint copies WAL frames into the database file and syncs it. Left
 * to SQLite's autocheckpoint it runs inside the writer's COMMIT while every
 * request of the next transaction waits. Here a checkpointer thread runs
 * PASSIVE checkpoints on its own connection while the writer goes on.
 *
 * SQLite before 3.51.3 (Debian 12 ships 3.40.1) has the "WAL-reset bug":
 * a checkpoint that starts right after another one finished completely can
 * record a wrong backfill count if, while it runs, another connection's
 * commit restarts the WAL from its beginning. A commit restarts the WAL only
 * when its transaction began with the WAL completely copied, i.e. after a
 * complete checkpoint. So this rule makes the race impossible:
 *
 *   after any checkpoint ends, the next one may start only once a commit of
 *   a transaction that *began* after that end has appended frames.
 *
 * The writer is the only thread that commits in this process and its
 * transactions are serial, so that commit is the first one after the
 * checkpoint (which did any restart itself) or later, and every transaction
 * after it begins with its frames not yet copied. Another process's commit
 * (the `key` commands) is serialised with the writer's by SQLite's write
 * lock, so it cannot restart the WAL after that commit either. Those
 * commands never checkpoint (cfg->checkpoints = 0).
 *
 * Bookkeeping: ck_seq counts finished checkpoints; the writer records it
 * before each BEGIN (ck_tx_seq) and its WAL hook, run after each commit that
 * appended frames, grants the next checkpoint (ck_ok_seq = ck_seq) when no
 * checkpoint ended since. Whoever checkpoints holds crun and checks the
 * grant under it, so no checkpoint can end between the check and the start.
 *
 * Under sustained writes a passive checkpoint never finishes completely
 * (the writer appends meanwhile) and the WAL would only grow, so when it
 * holds ck_wal_max frames the writer checkpoints itself from its WAL hook,
 * between two transactions: the checkpointer has already copied all but
 * the last frames, and the next transaction restarts the WAL. */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "store/sqlite_int.h"
#include "store/sqlite_vfs.h"
#include "tracestore/log.h"
#include "tracestore/timeutil.h"

/* Runs one passive checkpoint on db if the rule above grants it. The caller
 * holds s->crun. */
static void checkpoint(ts_sqlite *s, sqlite3 *db, int on_writer)
{
    int log = -1, done = -1, rc;

    pthread_mutex_lock(&s->cmu);
    int granted = s->ck_ok_seq == s->ck_seq;
    pthread_mutex_unlock(&s->cmu);
    if (!granted)
        return;
    int64_t t0 = ts_now_ns();
    rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    uint64_t took = (uint64_t)(ts_now_ns() - t0);
    pthread_mutex_lock(&s->cmu);
    s->ck_seq++;
    if (rc == SQLITE_OK && done >= 0)
        s->wal_backfilled = done <= s->wal_frames ? done : 0;
    if (on_writer) {
        s->n_ckpt_inline++;
        s->ckpt_inline_ns += took;
    } else {
        s->n_ckpt++;
        s->ckpt_ns += took;
    }
    pthread_mutex_unlock(&s->cmu);
    ts_hist_observe(on_writer ? &s->h_ckpt_inline : &s->h_ckpt, (int64_t)took);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        TS_LOG(TS_LOG_WARN, "msg=\"checkpoint failed\" err=\"%s\" on_writer=%d",
               sqlite3_errmsg(db), on_writer);
}

/* Whether the checkpointer has copying to do (caller holds cmu), given
 * distinct, the VFS's count of distinct pages since the last pass was
 * asked for (-1 when there is none).
 *
 * A pass copies each page once, from its latest frame, so its cost is the
 * distinct pages it finds, not the frames. Under one-span requests most
 * frames are pages every commit rewrites (the database header, the last
 * leaves of the tables and indexes): 4,096 frames held 1,167 distinct
 * pages, 16,384 frames 4,029. So a pass is due once the frames appended
 * since the last one was asked for hold ck_pages distinct pages, as the
 * VFS counts them (sqlite_vfs.c), which for appends of new pages (bulk
 * ingest) is still every ck_pages frames. In the last quarter before
 * ck_wal_max, every eighth of that, so that the writer's own checkpoint at
 * the bound finds little left to copy (measured: 4096 frames left took it
 * 160 ms). Without the VFS's count, the same in frames. */
static int ckpt_due(const ts_sqlite *s, int64_t distinct)
{
    int64_t need =
        s->wal_frames >= s->ck_wal_max - s->ck_wal_max / 4 ? s->ck_pages / 8 : s->ck_pages;
    if (need < 16)
        need = 16;
    if (distinct >= 0)
        return distinct >= need && s->wal_frames - s->wal_backfilled >= 16;
    return s->wal_frames - s->wal_backfilled >= need;
}

/* The VFS's count of distinct pages in the WAL's frames since the last
 * reset (reset: start afresh after reading it), or -1 when the WAL is not
 * opened through the VFS. */
static int64_t wal_distinct(const ts_sqlite *s, sqlite3 *db, int reset)
{
    sqlite3_file *jf = NULL;
    ts_wal_pages q = {.cap = (unsigned)s->ck_pages, .reset = reset, .count = 0};
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &jf) != SQLITE_OK || !jf ||
        !jf->pMethods || jf->pMethods->xFileControl(jf, TS_FCNTL_WAL_PAGES, &q) != SQLITE_OK)
        return -1;
    return q.count;
}

/* The writer's WAL hook: after each commit that appended frames, with the
 * WAL's frame count. Replaces SQLite's autocheckpoint. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    ts_sqlite *s = arg;
    int self = 0, asked = 0;
    (void)name;

    int64_t distinct = s->ck_enabled && s->cthread_started ? wal_distinct(s, db, 0) : -1;
    pthread_mutex_lock(&s->cmu);
    if (s->ck_tx_seq == s->ck_seq)
        s->ck_ok_seq = s->ck_seq;
    if (frames < s->wal_frames)
        s->wal_backfilled = 0; /* this commit restarted the WAL */
    s->wal_frames = frames;
    if (s->ck_enabled) {
        if (frames >= s->ck_wal_max ||
            (!s->cthread_started && frames - s->wal_backfilled >= s->ck_pages))
            self = 1;
        else {
            if (!s->ck_want && !s->ck_running && ckpt_due(s, distinct))
                s->ck_want = asked = 1;
            if (s->ck_want)
                pthread_cond_signal(&s->ccv);
        }
    }
    pthread_mutex_unlock(&s->cmu);
    /* The pass asked for copies what was counted; frames from here on
     * count towards the next one (this thread alone appends frames). */
    if (asked && distinct >= 0)
        wal_distinct(s, db, 1);
    /* If the checkpointer is copying, leave it be: the next commit retries. */
    if (self && pthread_mutex_trylock(&s->crun) == 0) {
        checkpoint(s, db, 1);
        pthread_mutex_unlock(&s->crun);
        if (distinct >= 0) /* all of it copied */
            wal_distinct(s, db, 1);
    }
    return SQLITE_OK;
}

/* SQLite syncs the database file only after a checkpoint that copied the
 * whole WAL, which under load is the writer's own at the bound: the pages
 * every background pass wrote were left to the kernel until then, and the
 * writer waited for all of them (about 240 ms per checkpoint under OTLP
 * load, the writer's longest wait; docs/PERFORMANCE.md, "Levers tried").
 * After each background pass the checkpointer syncs them itself, so the
 * writer's sync finds only its own pass's pages. Only the checkpointer's
 * thread uses its connection, so its file is ours to sync here. */
static void ckpt_flush(ts_sqlite *s)
{
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(s->ckdb, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f &&
        f->pMethods && f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) != SQLITE_OK)
        TS_LOG(TS_LOG_WARN, "msg=\"database sync after a checkpoint failed\" path=%s", s->path);
}

static void *ckpt_main(void *arg)
{
    ts_sqlite *s = arg;
    prctl(PR_SET_NAME, "ts-checkpoint", 0, 0, 0);
    pthread_mutex_lock(&s->cmu);
    for (;;) {
        while (!s->cstopping && !(s->ck_ok_seq == s->ck_seq && s->ck_want))
            pthread_cond_wait(&s->ccv, &s->cmu);
        if (s->cstopping)
            break;
        s->ck_want = 0;
        s->ck_running = 1;
        pthread_mutex_unlock(&s->cmu);
        pthread_mutex_lock(&s->crun);
        checkpoint(s, s->ckdb, 0);
        pthread_mutex_unlock(&s->crun);
        ckpt_flush(s);
        pthread_mutex_lock(&s->cmu);
        s->ck_running = 0; /* the next commit asks again if due */
    }
    pthread_mutex_unlock(&s->cmu);
    return NULL;
}

void ts_sqlite_ckpt_tx_begin(ts_sqlite *s)
{
    pthread_mutex_lock(&s->cmu);
    s->ck_tx_seq = s->ck_seq;
    pthread_mutex_unlock(&s->cmu);
}

/* The checkpointer's connection: read-write (a checkpoint writes the
 * database file), no page cache to speak of (a checkpoint copies frames
 * without it), and the writer's synchronous level so it syncs as SQLite's
 * own checkpoint would (the WAL before copying, the database after). */
static int ckpt_open(ts_sqlite *s, const ts_config *cfg)
{
    char pragmas[128];
    if (sqlite3_open_v2(s->path, &s->ckdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        cfg->sqlite_coalesce_writes ? ts_sqlite_vfs() : NULL) !=
        SQLITE_OK)
        return -1;
    sqlite3_busy_timeout(s->ckdb, 5000);
    snprintf(pragmas, sizeof(pragmas), "PRAGMA synchronous = %s; PRAGMA cache_size = 16;",
             strcmp(cfg->sqlite_synchronous, "normal") == 0 ? "NORMAL" : "FULL");
    return sqlite3_exec(s->ckdb, pragmas, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

void ts_sqlite_ckpt_start(ts_sqlite *s, const ts_config *cfg)
{
    char limit[80];
    s->ck_enabled = cfg->checkpoints;
    s->ck_pages = cfg->sqlite_checkpoint_pages;
    s->ck_wal_max = cfg->sqlite_wal_max_pages > s->ck_pages ? cfg->sqlite_wal_max_pages
                                                              : s->ck_pages;
    s->ck_ok_seq = UINT64_MAX; /* nothing granted before the first commit */
    sqlite3_wal_hook(s->w->db, wal_hook, s);
    /* The WAL file keeps its size across restarts up to its bound, instead
     * of being truncated and extended again at each. */
    snprintf(limit, sizeof(limit), "PRAGMA journal_size_limit = %lld",
             (long long)(s->ck_wal_max * 4120 > 67108864 ? s->ck_wal_max * 4120 : 67108864));
    sqlite3_exec(s->w->db, limit, NULL, NULL, NULL);
    if (!s->ck_enabled)
        return;
    if (ckpt_open(s, cfg) != 0 || pthread_create(&s->cthread, NULL, ckpt_main, s) != 0) {
        TS_LOG(TS_LOG_WARN, "msg=\"checkpoints run on the writer\" path=%s err=\"%s\"", s->path,
               s->ckdb ? sqlite3_errmsg(s->ckdb) : "cannot open");
        sqlite3_close(s->ckdb);
        s->ckdb = NULL;
        return;
    }
    s->cthread_started = 1;
}

void ts_sqlite_ckpt_stop(ts_sqlite *s)
{
    pthread_mutex_lock(&s->cmu);
    s->cstopping = 1;
    pthread_cond_broadcast(&s->ccv);
    pthread_mutex_unlock(&s->cmu);
    if (s->cthread_started)
        pthread_join(s->cthread, NULL);
    s->cthread_started = 0;
    sqlite3_close(s->ckdb);
    s->ckdb = NULL;
    if (s->ck_enabled)
        TS_LOG(TS_LOG_INFO,
               "msg=\"checkpoints\" background=%llu background_ms=%.1f on_writer=%llu "
               "on_writer_ms=%.1f",
               (unsigned long long)s->n_ckpt, (double)s->ckpt_ns / 1e6,
               (unsigned long long)s->n_ckpt_inline, (double)s->ckpt_inline_ns / 1e6);
}
