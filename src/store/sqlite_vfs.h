/* sqlite_vfs.h: a SQLite VFS that coalesces contiguous writes of the WAL
 * and the database file (sqlite_vfs.c). */
#ifndef TS_SQLITE_VFS_H
#define TS_SQLITE_VFS_H

#define TS_SQLITE_VFS "ts-coalesce"

/* Registers the VFS on first use (wrapping the default VFS of that moment)
 * and returns its name for sqlite3_open_v2; NULL, meaning the default VFS,
 * if it cannot be registered. */
const char *ts_sqlite_vfs(void);

/* A file control of the WAL opened through this VFS (reach the file with
 * SQLITE_FCNTL_JOURNAL_POINTER): how many distinct pages the frames it
 * appended since the last reset hold, counted up to cap (the count stops
 * there). On the first call the counting starts; reset starts it afresh
 * after reporting. Any other file, or the default VFS, answers
 * SQLITE_NOTFOUND. */
#define TS_FCNTL_WAL_PAGES 0x54530001
typedef struct ts_wal_pages {
    unsigned cap;   /* in: count at most this many (1 .. 1<<24) */
    int reset;      /* in: start afresh after reporting */
    unsigned count; /* out: distinct pages since the last reset */
} ts_wal_pages;

#endif
