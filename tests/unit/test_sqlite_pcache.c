/* test_sqlite_pcache.c: unit tests for src/store/sqlite_pcache.c, the page
 * cache wrapper that skips truncations with nothing to drop.
 *
 * A table with random keys makes SQLite balance pages all the time (each
 * split swaps sibling pages through the lock page's number); rollbacks of
 * transactions and savepoints that grew the database need their pages
 * beyond the old size dropped, or the next transaction that allocates those
 * page numbers would find stale pages. Every step is checked against a
 * model of the table and by integrity_check. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/sqlite_files.h"

#include "store/sqlite_pcache.h"

static int installed;
static sqlite3_pcache_methods2 pcm; /* the installed methods: the wrapper's */
static char dir[64], dbpath[128];

#define NKEYS 20000
static unsigned char model[NKEYS]; /* 1: key present; value = f(key, gen[key]) */
static unsigned char gen[NKEYS];

static void setup(void)
{
    tsf_mkdir(dir, "/tmp/ts-pcache", dbpath);
    memset(model, 0, sizeof model);
    memset(gen, 0, sizeof gen);
}

static void teardown(void)
{
    tsf_rmdir(dir);
}

static unsigned rnd(void)
{
    static unsigned long long x = 88172645463325252ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (unsigned)(x >> 11);
}

static void value(char *v, int key, int g)
{
    int n = 40 + (key * 7 + g * 13) % 200;
    for (int i = 0; i < n; i++)
        v[i] = (char)('a' + (key + i * 3 + g) % 26);
    v[n] = '\0';
}

/* Upserts n random keys (generation g) in the open transaction; returns
 * what the model would become, applied to m and gm. */
static void upsert(sqlite3 *db, int n, int g, unsigned char *m, unsigned char *gm)
{
    sqlite3_stmt *st = NULL;
    char v[256];
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO t (k, v) VALUES (?1, ?2)", -1, &st, NULL),
        SQLITE_OK);
    for (int i = 0; i < n; i++) {
        int k = (int)(rnd() % NKEYS);
        value(v, k, g);
        sqlite3_bind_int(st, 1, k);
        sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
        m[k] = 1;
        gm[k] = (unsigned char)g;
    }
    sqlite3_finalize(st);
}

static void check_model(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    char want[256];
    int n = 0;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT k, v FROM t ORDER BY k", -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int k = sqlite3_column_int(st, 0);
        ck_assert_msg(k >= 0 && k < NKEYS && model[k], "key %d should not be there", k);
        value(want, k, gen[k]);
        ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), want);
        n++;
    }
    sqlite3_finalize(st);
    int expect = 0;
    for (int k = 0; k < NKEYS; k++)
        expect += model[k];
    ck_assert_int_eq(n, expect);
    tsf_integrity_ok(db);
}

START_TEST(splits_and_rollbacks_keep_the_cache_right)
{
    static unsigned char m2[NKEYS], g2[NKEYS];
    sqlite3 *db = NULL;
    unsigned long skipped0, passed0, skipped, passed;
    ck_assert_int_eq(installed, 1);
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    tsf_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = 200");
    tsf_exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL); "
                 "CREATE INDEX t_v ON t (v)");
    ts_sqlite_pcache_counts(&skipped0, &passed0);

    /* growth by random keys: splits all the time, and commits whose
     * truncation has nothing to drop */
    for (int g = 1; g <= 20; g++) {
        tsf_exec(db, "BEGIN");
        upsert(db, 300, g, model, gen);
        tsf_exec(db, "COMMIT");
    }
    check_model(db);
    ts_sqlite_pcache_counts(&skipped, &passed);
    ck_assert_uint_ge(skipped - skipped0, 20);

    /* a transaction that grew the database, rolled back: its pages beyond
     * the old size must go, then the same page numbers are used again */
    for (int round = 0; round < 5; round++) {
        ts_sqlite_pcache_counts(&skipped0, &passed0);
        memcpy(m2, model, sizeof m2);
        memcpy(g2, gen, sizeof g2);
        tsf_exec(db, "BEGIN");
        upsert(db, 3000, 100 + round, m2, g2);
        tsf_exec(db, "ROLLBACK");
        ts_sqlite_pcache_counts(&skipped, &passed);
        ck_assert_uint_gt(passed, passed0);
        check_model(db);
        tsf_exec(db, "BEGIN");
        upsert(db, 1500, 30 + round, model, gen);
        tsf_exec(db, "COMMIT");
        check_model(db);

        /* a savepoint that grew the database, rolled back inside a
         * transaction that commits */
        tsf_exec(db, "BEGIN");
        upsert(db, 200, 60 + round, model, gen);
        tsf_exec(db, "SAVEPOINT s");
        memcpy(m2, model, sizeof m2);
        memcpy(g2, gen, sizeof g2);
        upsert(db, 2000, 90 + round, m2, g2);
        tsf_exec(db, "ROLLBACK TO s");
        tsf_exec(db, "RELEASE s");
        upsert(db, 500, 70 + round, model, gen);
        tsf_exec(db, "COMMIT");
        check_model(db);
    }
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);

    /* and a fresh connection reads the same */
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    check_model(db);
    sqlite3_close(db);
}
END_TEST

/* Truncates c below limit through the wrapper: 1 if it passed the call on
 * to the default cache, 0 if it skipped it. */
static int truncate_passed(sqlite3_pcache *c, unsigned limit)
{
    unsigned long s0, p0, s1, p1;
    ts_sqlite_pcache_counts(&s0, &p0);
    pcm.xTruncate(c, limit);
    ts_sqlite_pcache_counts(&s1, &p1);
    ck_assert_uint_eq((s1 - s0) + (p1 - p0), 1);
    return p1 != p0;
}

/* The wrapper straight through its methods: what a truncation must drop. */
START_TEST(truncation_drops_exactly_what_it_would)
{
    const unsigned lock = 0x40000000 / 4096 + 1;
    ck_assert_int_eq(installed, 1);
    ck_assert_int_eq(sqlite3_initialize(), SQLITE_OK);
    sqlite3_pcache *c = pcm.xCreate(4096, 64, 1);
    ck_assert_ptr_nonnull(c);
    pcm.xCachesize(c, 1000);
    for (unsigned k = 1; k <= 100; k++) {
        sqlite3_pcache_page *pg = pcm.xFetch(c, k, 2);
        ck_assert_ptr_nonnull(pg);
        pcm.xUnpin(c, pg, 0);
    }
    /* pages beyond the limit: passed on and dropped */
    ck_assert_int_eq(truncate_passed(c, 51), 1);
    ck_assert_ptr_null(pcm.xFetch(c, 60, 0));
    sqlite3_pcache_page *a = pcm.xFetch(c, 50, 0);
    ck_assert_ptr_nonnull(a);
    pcm.xUnpin(c, a, 0);

    /* a swap through the lock page's number, as a B-tree balance does:
     * the next truncation has nothing to drop and is skipped */
    a = pcm.xFetch(c, 10, 0);
    sqlite3_pcache_page *b = pcm.xFetch(c, 20, 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    pcm.xRekey(c, a, 10, lock);
    pcm.xRekey(c, b, 20, 10);
    pcm.xRekey(c, a, lock, 20);
    pcm.xUnpin(c, a, 0);
    pcm.xUnpin(c, b, 0);
    ck_assert_int_eq(truncate_passed(c, 51), 0);
    ck_assert_ptr_eq(pcm.xFetch(c, 20, 0), a);
    pcm.xUnpin(c, a, 0);

    /* a page left at the lock page's number must go */
    a = pcm.xFetch(c, 30, 0);
    pcm.xRekey(c, a, 30, lock);
    pcm.xUnpin(c, a, 0);
    ck_assert_int_eq(truncate_passed(c, 51), 1);
    ck_assert_ptr_null(pcm.xFetch(c, lock, 0));

    /* one created there and discarded (the pager's refusal to load the
     * lock page) leaves nothing to drop */
    a = pcm.xFetch(c, lock, 2);
    ck_assert_ptr_nonnull(a);
    pcm.xUnpin(c, a, 1);
    ck_assert_int_eq(truncate_passed(c, 51), 0);

    /* a page created beyond the limit after all that is dropped */
    pcm.xUnpin(c, pcm.xFetch(c, 70, 2), 0);
    ck_assert_int_eq(truncate_passed(c, 51), 1);
    ck_assert_ptr_null(pcm.xFetch(c, 70, 0));
    pcm.xDestroy(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sqlite_pcache");
    TCase *tc = tcase_create("pcache");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, splits_and_rollbacks_keep_the_cache_right);
    tcase_add_test(tc, truncation_drops_exactly_what_it_would);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    installed = ts_sqlite_pcache_install(); /* before SQLite initialises */
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &pcm) != SQLITE_OK) {
        fprintf(stderr, "cannot read the page cache methods\n");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
