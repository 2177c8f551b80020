/* sqlite_vacuum.c: `tracestore vacuum`. Deletes (DELETE, retention) leave
 * free pages that SQLite reuses but never gives back to the file system;
 * VACUUM rewrites the file without them. It holds the write lock for the
 * whole rewrite, so it runs only while no other process has the database
 * open (a daemon's writer would otherwise time out behind it). */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_int.h"

static int64_t pragma_i64(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static int64_t file_bytes(sqlite3 *db)
{
    return pragma_i64(db, "PRAGMA page_count") * pragma_i64(db, "PRAGMA page_size");
}

static int run(sqlite3 *db, const char *sql, ts_err *err)
{
    char *msg = NULL;
    int src = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (src == SQLITE_OK)
        return TS_OK;
    int rc = (src & 0xff) == SQLITE_BUSY || (src & 0xff) == SQLITE_LOCKED ? TS_EBUSY : TS_EIO;
    if (rc == TS_EBUSY)
        ts_err_set(err, rc,
                   "the database is in use by another process (stop tracestore serve "
                   "and retry)");
    else
        ts_err_set(err, rc, "%s: %s", sql, msg ? msg : sqlite3_errstr(src));
    sqlite3_free(msg);
    return rc;
}

int ts_sqlite_vacuum(const ts_config *cfg, ts_vacuum_info *out, ts_err *err)
{
    sqlite3 *db = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (sqlite3_open_v2(cfg->db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = ts_err_set(err, TS_ENOTFOUND, "cannot open database %s: %s", cfg->db_path,
                        db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(db, 1000);
    /* Exclusive locking mode keeps the lock from BEGIN EXCLUSIVE to close.
     * In WAL mode every open connection holds a shared lock on the file,
     * idle or not, so this fails while a daemon (or a `key` command) is
     * on the database. */
    if ((rc = run(db, "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE", err)) != TS_OK)
        goto out;
    out->bytes_before = file_bytes(db);
    out->free_pages_before = pragma_i64(db, "PRAGMA freelist_count");
    if ((rc = run(db, "COMMIT", err)) != TS_OK || (rc = run(db, "VACUUM", err)) != TS_OK ||
        (rc = run(db, "PRAGMA wal_checkpoint(TRUNCATE)", err)) != TS_OK)
        goto out;
    out->bytes_after = file_bytes(db);
    if (pragma_i64(db, "PRAGMA freelist_count") != 0)
        rc = ts_err_set(err, TS_EIO, "free pages left after VACUUM");
out:
    sqlite3_close(db);
    return rc;
}
