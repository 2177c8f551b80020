/* sqlite_vfs.c: a VFS that hands SQLite's small writes to the kernel in
 * large ones.
 *
 * SQLite writes a WAL frame as two pwrite calls, its 24-byte header and its
 * page, and a checkpoint copies each page into the database file with a
 * pwrite of its own. Under load that is hundreds of thousands of system
 * calls a second, each paying for the file's lock, its time stamps and a
 * page cache lookup, for writes that sit next to each other in the file.
 * (docs/PERFORMANCE.md, "Levers tried": +20 to +50 % ingest.)
 *
 * "ts-coalesce" wraps the default VFS. The WAL and the main database file
 * opened through it keep contiguous writes in a buffer (at most 128 KiB)
 * and write it in one call:
 *
 *   - when a write does not continue the buffer or would overflow it;
 *   - before any other operation on the file (sync, truncate, size, read of
 *     buffered bytes, close; and, without failing them, lock and file
 *     control), so SQLite never finds the file without what it wrote;
 *   - in the WAL, right after the page of a commit frame. SQLite appends a
 *     transaction's frames, the commit frame last, and only then publishes
 *     them in the WAL index to other connections (readers, the
 *     checkpointer) and returns from COMMIT (after which the syncer syncs
 *     the WAL). A failed write fails that xWrite, so it fails COMMIT.
 *   - WAL writes below what the current cycle of the WAL has appended (the
 *     checksums SQLite rewrites after a commit frame when a transaction
 *     wrote a page twice, or that page itself) are not buffered at all.
 *
 * In the database file the buffered writes are a checkpoint's page copies.
 * SQLite announces the end of the copying (SQLITE_FCNTL_CKPT_DONE) before
 * it records the copies as made, and the buffer is written then (see
 * cf_file_control for when that fails).
 *
 * The WAL also counts the distinct pages of the frames it appends, for the
 * checkpoints' cadence (TS_FCNTL_WAL_PAGES; sqlite_ckpt.c says why).
 *
 * Only the writer's and the checkpointer's connections open files through
 * this VFS; each wrapped file is used by one thread. Other files
 * (temporary files, journals) are the default VFS's own. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/sqlite_vfs.h"
#include "tracestore/log.h"

#define WAL_FRAME_HDR 24
/* The unix VFS writes at most 0x1ffff bytes per call (seekAndWriteFd
 * masks the length with it): a larger xWrite would come back short, as
 * SQLITE_FULL. */
#define COALESCE_MAX 0x1ffff

typedef struct {
    sqlite3_file base;  /* pMethods: cf_methods */
    sqlite3_file *real; /* the default VFS's file, right after this struct */
    int is_wal;
    int commit_next;   /* the next write is the page of a commit frame */
    sqlite3_int64 end; /* WAL: end of what this cycle of the WAL appended */
    char *buf;
    int len;
    sqlite3_int64 off; /* file offset of buf[0] */
    int failed;        /* the last attempt to write buf failed */
    int ckpt_err;      /* an error reached SQLite since the checkpoint began */
    /* WAL: a set of the page numbers appended since the last reset
     * (open addressing, 0 = empty; SQLite numbers pages from 1), counting
     * up to pg_cap of them */
    unsigned *pg_set;
    unsigned pg_mask, pg_n, pg_cap;
} cf_file;

static sqlite3_vfs *cf_real;
static sqlite3_vfs cf_vfs;
static pthread_once_t cf_once = PTHREAD_ONCE_INIT;

/* Writes the buffer. On failure it stays, to be written before anything
 * else touches the file, and every write, read, sync, size and truncate
 * until then fails. SQLite ignores
 * the result of file controls, never that of a write or a sync: a failure
 * there reaches it at the next write at the latest, except at the end of a
 * checkpoint (cf_file_control). Pages left over from a failed checkpoint or
 * commit are older than anything written after them, and written first. */
static int cf_flush(cf_file *p)
{
    if (p->len == 0)
        return SQLITE_OK;
    int rc = p->real->pMethods->xWrite(p->real, p->buf, p->len, p->off);
    p->failed = rc != SQLITE_OK;
    if (rc == SQLITE_OK)
        p->len = 0;
    return rc;
}

/* rc, noted as an error SQLite has seen (see cf_file_control). */
static int seen(cf_file *p, int rc)
{
    if (rc != SQLITE_OK)
        p->ckpt_err = 1;
    return rc;
}

static void note_page(cf_file *p, unsigned pg)
{
    if (!p->pg_set || pg == 0 || p->pg_n >= p->pg_cap)
        return;
    for (unsigned i = (pg * 2654435761u) & p->pg_mask;; i = (i + 1) & p->pg_mask) {
        if (p->pg_set[i] == pg)
            return;
        if (p->pg_set[i] == 0) {
            p->pg_set[i] = pg;
            p->pg_n++;
            return;
        }
    }
}

/* TS_FCNTL_WAL_PAGES. The set holds twice cap slots, so probing always
 * finds a free one (at most cap are filled). */
static int wal_pages(cf_file *p, ts_wal_pages *q)
{
    if (!p->is_wal || q->cap == 0 || q->cap > (1u << 24))
        return SQLITE_NOTFOUND;
    if (!p->pg_set || q->cap != p->pg_cap) {
        unsigned slots = 2;
        while (slots < 2 * q->cap)
            slots *= 2;
        unsigned *set = calloc(slots, sizeof(*set));
        if (!set)
            return SQLITE_NOMEM;
        free(p->pg_set);
        p->pg_set = set;
        p->pg_mask = slots - 1;
        p->pg_cap = q->cap;
        p->pg_n = 0;
    }
    q->count = p->pg_n;
    if (q->reset && p->pg_n > 0) {
        memset(p->pg_set, 0, (size_t)(p->pg_mask + 1) * sizeof(*p->pg_set));
        p->pg_n = 0;
    }
    return SQLITE_OK;
}

static int cf_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
    cf_file *p = (cf_file *)f;
    int rc = SQLITE_OK, commit = 0;

    if (p->is_wal) {
        if (amt == WAL_FRAME_HDR) {
            const unsigned char *h = data;
            p->commit_next = (h[4] | h[5] | h[6] | h[7]) != 0;
            note_page(p, (unsigned)h[0] << 24 | (unsigned)h[1] << 16 | (unsigned)h[2] << 8 | h[3]);
        } else {
            commit = p->commit_next;
            p->commit_next = 0;
        }
        if (off == 0) /* the header of a new WAL cycle */
            p->end = 0;
        if (off < p->end) {
            /* Below what this cycle appended: checksums SQLite rewrites
             * after a commit frame, a page of the open transaction written
             * again, or frames of a failed one written over. Straight to
             * the file, after the buffer. */
            rc = cf_flush(p);
            if (rc == SQLITE_OK)
                rc = p->real->pMethods->xWrite(p->real, data, amt, off);
            return seen(p, rc);
        }
        p->end = off + amt;
    }
    if (p->len > 0 && (p->failed || off != p->off + p->len || p->len + amt > COALESCE_MAX))
        rc = cf_flush(p);
    if (rc != SQLITE_OK)
        return seen(p, rc);
    if (amt > COALESCE_MAX || (!p->buf && !(p->buf = malloc(COALESCE_MAX))))
        return seen(p, p->real->pMethods->xWrite(p->real, data, amt, off));
    if (p->len == 0)
        p->off = off;
    memcpy(p->buf + p->len, data, (size_t)amt);
    p->len += amt;
    return commit ? seen(p, cf_flush(p)) : SQLITE_OK;
}

/* The methods whose result tells SQLite about the file's content write the
 * buffer first and fail if that fails; locks and file controls write it
 * too but pass the call on either way (a retained failure then shows at
 * the next write, read, sync or size, not in an unlock or in a commit's
 * phase-two notice after the commit was made). */
#define FLUSHED(f, call)                                                                           \
    do {                                                                                           \
        cf_file *p_ = (cf_file *)(f);                                                              \
        int rc_ = cf_flush(p_);                                                                    \
        return seen(p_, rc_ != SQLITE_OK ? rc_ : (call));                                          \
    } while (0)
#define REAL(f) (((cf_file *)(f))->real)

static int cf_close(sqlite3_file *f)
{
    cf_file *p = (cf_file *)f;
    int rc = cf_flush(p);
    int rc2 = p->real->pMethods->xClose(p->real);
    free(p->buf);
    p->buf = NULL;
    free(p->pg_set);
    p->pg_set = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

/* A read flushes only when it overlaps the buffer: the writer reads pages
 * back from the WAL while a long transaction's frames are buffered. */
static int cf_read(sqlite3_file *f, void *out, int amt, sqlite3_int64 off)
{
    cf_file *p = (cf_file *)f;
    if (p->len > 0 && off < p->off + p->len && off + amt > p->off) {
        int rc = cf_flush(p);
        if (rc != SQLITE_OK)
            return seen(p, rc);
    }
    return p->real->pMethods->xRead(p->real, out, amt, off);
}

static int cf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    FLUSHED(f, REAL(f)->pMethods->xTruncate(REAL(f), size));
}

static int cf_sync(sqlite3_file *f, int flags)
{
    FLUSHED(f, REAL(f)->pMethods->xSync(REAL(f), flags));
}

static int cf_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    FLUSHED(f, REAL(f)->pMethods->xFileSize(REAL(f), size));
}

static int cf_lock(sqlite3_file *f, int level)
{
    cf_flush((cf_file *)f);
    return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int cf_unlock(sqlite3_file *f, int level)
{
    cf_flush((cf_file *)f);
    return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int cf_check_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

/* A checkpoint tells the database file when it starts copying pages and
 * when it is done (SQLITE_FCNTL_CKPT_START, _DONE); right after "done" it
 * records the copies as made unless one of its calls failed, without a
 * sync when it copied only part of the WAL. So the buffer is written at
 * "done", and if that fails while SQLite has seen no error, readers would
 * be sent to pages that are not in the file and a later WAL restart would
 * drop the only copy of them. The process stops instead: the WAL, synced
 * before the checkpoint began, still holds every page, and the next start
 * copies them again (the first connection rebuilds the WAL index). */
static int cf_file_control(sqlite3_file *f, int op, void *arg)
{
    cf_file *p = (cf_file *)f;
    if (op == TS_FCNTL_WAL_PAGES)
        return wal_pages(p, arg);
    int rc = cf_flush(p);
    if (op == SQLITE_FCNTL_CKPT_START)
        p->ckpt_err = 0;
    else if (op == SQLITE_FCNTL_CKPT_DONE && rc != SQLITE_OK && !p->ckpt_err) {
        TS_LOG(TS_LOG_ERROR,
               "msg=\"a checkpoint's copies cannot be written to the database file; stopping, "
               "the WAL keeps them\" rc=%d",
               rc);
        abort();
    }
    return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int cf_sector_size(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int cf_device_characteristics(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int cf_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **out)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, out);
}

static int cf_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void cf_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int cf_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int cf_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out)
{
    FLUSHED(f, REAL(f)->pMethods->xFetch(REAL(f), off, amt, out));
}

static int cf_unfetch(sqlite3_file *f, sqlite3_int64 off, void *page)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, page);
}

static const sqlite3_io_methods cf_methods = {
    .iVersion = 3,
    .xClose = cf_close,
    .xRead = cf_read,
    .xWrite = cf_write,
    .xTruncate = cf_truncate,
    .xSync = cf_sync,
    .xFileSize = cf_file_size,
    .xLock = cf_lock,
    .xUnlock = cf_unlock,
    .xCheckReservedLock = cf_check_reserved,
    .xFileControl = cf_file_control,
    .xSectorSize = cf_sector_size,
    .xDeviceCharacteristics = cf_device_characteristics,
    .xShmMap = cf_shm_map,
    .xShmLock = cf_shm_lock,
    .xShmBarrier = cf_shm_barrier,
    .xShmUnmap = cf_shm_unmap,
    .xFetch = cf_fetch,
    .xUnfetch = cf_unfetch,
};

/* The WAL and the main database are wrapped; any other file (temporary
 * files, a statement journal) is the default VFS's file itself, opened in
 * place at the start of SQLite's allocation. */
static int cf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    if (!(flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)))
        return cf_real->xOpen(cf_real, name, f, flags, out_flags);
    cf_file *p = (cf_file *)f;
    memset(p, 0, sizeof(*p));
    p->real = (sqlite3_file *)(p + 1);
    p->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = cf_real->xOpen(cf_real, name, p->real, flags, out_flags);
    if (rc == SQLITE_OK && p->real->pMethods && p->real->pMethods->iVersion < 3) {
        /* no shared-memory methods to pass on: the default's file as is */
        p->real->pMethods->xClose(p->real);
        return cf_real->xOpen(cf_real, name, f, flags, out_flags);
    }
    /* SQLite calls xClose only when pMethods is set, and the real file's
     * own open has closed whatever it opened when it fails. */
    p->base.pMethods = rc == SQLITE_OK && p->real->pMethods ? &cf_methods : NULL;
    return rc;
}

static void cf_init(void)
{
    cf_real = sqlite3_vfs_find(NULL);
    if (!cf_real || cf_real->iVersion < 1)
        return;
    cf_vfs = *cf_real;
    cf_vfs.zName = TS_SQLITE_VFS;
    cf_vfs.pNext = NULL;
    cf_vfs.szOsFile = (int)sizeof(cf_file) + cf_real->szOsFile;
    cf_vfs.xOpen = cf_open;
    if (sqlite3_vfs_register(&cf_vfs, 0) != SQLITE_OK)
        cf_real = NULL;
}

const char *ts_sqlite_vfs(void)
{
    pthread_once(&cf_once, cf_init);
    return cf_real ? TS_SQLITE_VFS : NULL;
}
