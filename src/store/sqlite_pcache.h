/* sqlite_pcache.h: SQLite's default page cache behind a wrapper that skips
 * truncations with nothing to drop (sqlite_pcache.c). */
#ifndef TS_SQLITE_PCACHE_H
#define TS_SQLITE_PCACHE_H

/* Installs the wrapper for the whole process; must run before SQLite is
 * initialised (before the first connection opens). Returns 1 when the
 * wrapper is installed, 0 when SQLite was already initialised (the default
 * cache then serves, unchanged). */
int ts_sqlite_pcache_install(void);

/* Truncations skipped and passed on to the default cache since start. */
void ts_sqlite_pcache_counts(unsigned long *skipped, unsigned long *passed);

#endif
