/* sqlite_vfs.h: a SQLite VFS that coalesces contiguous writes of the WAL
 * and the database file (sqlite_vfs.c). */
#ifndef TS_SQLITE_VFS_H
#define TS_SQLITE_VFS_H

#define TS_SQLITE_VFS "ts-coalesce"

/* Registers the VFS on first use (wrapping the default VFS of that moment)
 * and returns its name for sqlite3_open_v2; NULL, meaning the default VFS,
 * if it cannot be registered. */
const char *ts_sqlite_vfs(void);

#endif
