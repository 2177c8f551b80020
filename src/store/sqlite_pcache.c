/* sqlite_pcache.c: SQLite's page cache, less one full scan per commit.
 *
 * When a B-tree balance splits a page, SQLite puts the new sibling pages in
 * ascending page-number order by swapping them through a temporary page
 * number, that of the lock page (1 GiB / page size + 1: 262145 for 4 KiB
 * pages; btree.c balance_nonroot). The default page cache (pcache1) keeps
 * the largest page number it ever held, and at the end of each write
 * transaction the pager asks it to drop the pages beyond the database's size
 * (pager_end_transaction). While that largest number is the temporary one,
 * far beyond the size of a database under 1 GiB, that request walks the
 * whole hash table of the cache: under one-span requests it was 9-12 % of
 * the writer's time (docs/PERFORMANCE.md, "Levers tried").
 *
 * This wrapper passes every call on to the default cache and keeps two
 * facts of its own per cache: the largest page number it holds other than
 * the temporary one (never lowered by an eviction, so an upper bound), and
 * which page, if any, is at the temporary number. A truncation with nothing
 * at or beyond its limit by those two facts does nothing, exactly as the
 * default cache would after its scan, and is not passed on. */
#include <pthread.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "store/sqlite_pcache.h"

typedef struct {
    sqlite3_pcache *c;            /* the default cache's */
    unsigned lock_page;           /* the temporary page number of this page size */
    unsigned hi;                  /* >= every page number held, except lock_page */
    sqlite3_pcache_page *at_lock; /* the page held at lock_page, if any */
} pc_cache;

static sqlite3_pcache_methods2 pc_orig;
static pthread_once_t pc_once = PTHREAD_ONCE_INIT;
static int pc_installed;
static unsigned long pc_skipped, pc_passed; /* truncations, for tests */

static void note_key(pc_cache *p, unsigned key, sqlite3_pcache_page *pg)
{
    if (key == p->lock_page)
        p->at_lock = pg;
    else if (key > p->hi)
        p->hi = key;
}

static sqlite3_pcache *pc_create(int page_size, int extra, int purgeable)
{
    pc_cache *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->c = pc_orig.xCreate(page_size, extra, purgeable);
    if (!p->c) {
        free(p);
        return NULL;
    }
    p->lock_page = page_size > 0 ? (unsigned)(0x40000000 / page_size) + 1 : 0;
    return (sqlite3_pcache *)p;
}

static void pc_cachesize(sqlite3_pcache *c, int n)
{
    pc_orig.xCachesize(((pc_cache *)c)->c, n);
}

static int pc_pagecount(sqlite3_pcache *c)
{
    return pc_orig.xPagecount(((pc_cache *)c)->c);
}

static sqlite3_pcache_page *pc_fetch(sqlite3_pcache *c, unsigned key, int create)
{
    pc_cache *p = (pc_cache *)c;
    sqlite3_pcache_page *pg = pc_orig.xFetch(p->c, key, create);
    if (pg && create)
        note_key(p, key, pg);
    return pg;
}

static void pc_unpin(sqlite3_pcache *c, sqlite3_pcache_page *pg, int discard)
{
    pc_cache *p = (pc_cache *)c;
    if (discard && pg == p->at_lock)
        p->at_lock = NULL;
    pc_orig.xUnpin(p->c, pg, discard);
}

static void pc_rekey(sqlite3_pcache *c, sqlite3_pcache_page *pg, unsigned from, unsigned to)
{
    pc_cache *p = (pc_cache *)c;
    if (from == p->lock_page && pg == p->at_lock)
        p->at_lock = NULL;
    note_key(p, to, pg);
    pc_orig.xRekey(p->c, pg, from, to);
}

static void pc_truncate(sqlite3_pcache *c, unsigned limit)
{
    pc_cache *p = (pc_cache *)c;
    if (p->hi < limit && !(p->at_lock && p->lock_page >= limit)) {
        __atomic_fetch_add(&pc_skipped, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_fetch_add(&pc_passed, 1, __ATOMIC_RELAXED);
    pc_orig.xTruncate(p->c, limit);
    if (limit <= p->lock_page)
        p->at_lock = NULL;
    if (p->hi >= limit)
        p->hi = limit > 0 ? limit - 1 : 0;
}

static void pc_destroy(sqlite3_pcache *c)
{
    pc_cache *p = (pc_cache *)c;
    pc_orig.xDestroy(p->c);
    free(p);
}

static void pc_shrink(sqlite3_pcache *c)
{
    pc_orig.xShrink(((pc_cache *)c)->c);
}

static void pc_install(void)
{
    static sqlite3_pcache_methods2 mine;
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &pc_orig) != SQLITE_OK || pc_orig.iVersion < 1 ||
        !pc_orig.xCreate)
        return;
    mine = pc_orig; /* iVersion, pArg, xInit, xShutdown: the default's */
    mine.xCreate = pc_create;
    mine.xCachesize = pc_cachesize;
    mine.xPagecount = pc_pagecount;
    mine.xFetch = pc_fetch;
    mine.xUnpin = pc_unpin;
    mine.xRekey = pc_rekey;
    mine.xTruncate = pc_truncate;
    mine.xDestroy = pc_destroy;
    mine.xShrink = pc_shrink;
    pc_installed = sqlite3_config(SQLITE_CONFIG_PCACHE2, &mine) == SQLITE_OK;
}

int ts_sqlite_pcache_install(void)
{
    pthread_once(&pc_once, pc_install);
    return pc_installed;
}

void ts_sqlite_pcache_counts(unsigned long *skipped, unsigned long *passed)
{
    *skipped = __atomic_load_n(&pc_skipped, __ATOMIC_RELAXED);
    *passed = __atomic_load_n(&pc_passed, __ATOMIC_RELAXED);
}
