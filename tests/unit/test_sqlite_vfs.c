/* test_sqlite_vfs.c: unit tests for src/store/sqlite_vfs.c, the VFS that
 * coalesces the writer's and the checkpointer's writes.
 *
 * Underneath it sits a VFS of the test's own ("fault", registered as the
 * default before the first use, so "ts-coalesce" wraps it): the default VFS
 * with its xWrite counted per file kind, and failing with SQLITE_FULL on
 * demand. Readers open the database through "fault" directly, as the
 * daemon's readers open it through the default VFS. What a crash would
 * leave is checked by copying the database and its WAL (not the shared
 * index) while the writer is still open and opening the copy: SQLite then
 * rebuilds the index from the WAL file alone, checking every checksum. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/sqlite_files.h"

#include "store/sqlite_vfs.h"

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs fault_vfs;
static sqlite3_io_methods wal_methods, db_methods;
static const sqlite3_io_methods *wal_orig, *db_orig;
static long wal_writes, db_writes;
static int fail_wal, fail_db;

static int fault_write_wal(sqlite3_file *f, const void *d, int n, sqlite3_int64 off)
{
    wal_writes++;
    return fail_wal ? SQLITE_FULL : wal_orig->xWrite(f, d, n, off);
}

static int fault_write_db(sqlite3_file *f, const void *d, int n, sqlite3_int64 off)
{
    db_writes++;
    return fail_db ? SQLITE_FULL : db_orig->xWrite(f, d, n, off);
}

/* Opens the default VFS's file in place and swaps in a copy of its methods
 * with a counting xWrite (the unix VFS has one method table for every main
 * database, another for every WAL). */
static int fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    int rc = unix_vfs->xOpen(unix_vfs, name, f, flags, out);
    if (rc != SQLITE_OK || !f->pMethods || !(flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)))
        return rc;
    const sqlite3_io_methods **orig = (flags & SQLITE_OPEN_WAL) ? &wal_orig : &db_orig;
    sqlite3_io_methods *mine = (flags & SQLITE_OPEN_WAL) ? &wal_methods : &db_methods;
    if (!*orig) {
        *orig = f->pMethods;
        *mine = *f->pMethods;
        mine->xWrite = (flags & SQLITE_OPEN_WAL) ? fault_write_wal : fault_write_db;
    }
    ck_assert_ptr_eq(f->pMethods, *orig);
    f->pMethods = mine;
    return rc;
}

static void fault_register(void)
{
    unix_vfs = sqlite3_vfs_find(NULL);
    fault_vfs = *unix_vfs;
    fault_vfs.zName = "fault";
    fault_vfs.xOpen = fault_open;
    if (sqlite3_vfs_register(&fault_vfs, 1) != SQLITE_OK) {
        fprintf(stderr, "cannot register the fault VFS\n");
        exit(EXIT_FAILURE);
    }
}

static char dir[64];
static char dbpath[128];

static void setup(void)
{
    tsf_mkdir(dir, "/tmp/ts-vfs", dbpath);
    fail_wal = fail_db = 0;
}

static void teardown(void)
{
    tsf_rmdir(dir);
}

/* The writer's connection, set up as the daemon's (sqlite.c conn_open). */
static sqlite3 *open_writer(const char *path)
{
    sqlite3 *db = NULL;
    const char *vfs = ts_sqlite_vfs();
    ck_assert_str_eq(vfs, TS_SQLITE_VFS);
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
                     SQLITE_OK);
    tsf_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                 "PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY");
    tsf_exec(db, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)");
    return db;
}

static sqlite3 *open_reader(const char *path)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, "fault"), SQLITE_OK);
    return db;
}

/* Row id's content: n bytes that depend on id and gen. */
static void fill(unsigned char *b, int n, int id, int gen)
{
    for (int j = 0; j < n; j++)
        b[j] = (unsigned char)(id * 131 + j * 7 + gen * 29 + (j >> 8));
}

static int row_len(int id)
{
    return 700 + (id * 37) % 900;
}

/* Inserts (or, gen > 0, rewrites) ids lo..hi in the open transaction. */
static void put_rows(sqlite3 *db, int lo, int hi, int gen)
{
    static unsigned char b[4096];
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO t (id, b) VALUES (?1, ?2)", -1, &st, NULL),
        SQLITE_OK);
    for (int id = lo; id <= hi; id++) {
        fill(b, row_len(id), id, gen);
        sqlite3_bind_int(st, 1, id);
        sqlite3_bind_blob(st, 2, b, row_len(id), SQLITE_STATIC);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

/* Checks that db holds exactly ids lo..hi (content of generation gen),
 * plus, when big > 0, row 1000000 of big bytes. */
static void check_rows(sqlite3 *db, int lo, int hi, int gen, int big)
{
    static unsigned char want[1 << 19];
    sqlite3_stmt *st = NULL;
    int expect = lo, n = 0;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT id, b FROM t ORDER BY id", -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int id = sqlite3_column_int(st, 0);
        int len = id == 1000000 ? big : row_len(id);
        if (id != 1000000) {
            ck_assert_int_eq(id, expect);
            expect++;
        }
        fill(want, len, id, id == 1000000 ? 0 : gen);
        ck_assert_int_eq(sqlite3_column_bytes(st, 1), len);
        ck_assert_msg(memcmp(sqlite3_column_blob(st, 1), want, (size_t)len) == 0, "row %d differs",
                      id);
        n++;
    }
    sqlite3_finalize(st);
    ck_assert_int_eq(expect, hi + 1);
    ck_assert_int_eq(n, hi - lo + 1 + (big > 0));
}

static void put_big(sqlite3 *db, int len)
{
    static unsigned char b[1 << 19];
    sqlite3_stmt *st = NULL;
    fill(b, len, 1000000, 0);
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "INSERT INTO t (id, b) VALUES (1000000, ?1)", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(st, 1, b, len, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void copy_file(const char *from, const char *to)
{
    static char buf[1 << 16];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    size_t n;
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

/* What a crash now would leave: the database file and the WAL as they are
 * in the files, opened without the shared index. Returns a connection to
 * the copy (the caller closes it). */
static sqlite3 *crash_copy(void)
{
    char from[200], to[200], todb[160];
    snprintf(todb, sizeof todb, "%s/crash", dir);
    for (int i = 0; i < 3; i++) { /* no copy of an earlier call survives */
        static const char *sfx[] = {"", "-wal", "-shm"};
        snprintf(to, sizeof to, "%s%s", todb, sfx[i]);
        unlink(to);
    }
    copy_file(dbpath, todb);
    snprintf(from, sizeof from, "%s-wal", dbpath);
    snprintf(to, sizeof to, "%s-wal", todb);
    if (file_size(from) > 0)
        copy_file(from, to);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(todb, &db, SQLITE_OPEN_READWRITE, "unix"), SQLITE_OK);
    return db;
}

/* A crash now (crash_copy) loses nothing: the copy holds exactly ids
 * lo..hi of generation gen (and the big row when big > 0). */
static void crash_check(int lo, int hi, int gen, int big)
{
    sqlite3 *c = crash_copy();
    tsf_integrity_ok(c);
    check_rows(c, lo, hi, gen, big);
    sqlite3_close(c);
}

START_TEST(commits_are_in_the_file_and_coalesced)
{
    char wal[160];
    sqlite3 *w = open_writer(dbpath), *r = open_reader(dbpath);
    snprintf(wal, sizeof wal, "%s-wal", dbpath);

    long before = wal_writes, size0 = file_size(wal);
    tsf_exec(w, "BEGIN");
    put_rows(w, 1, 400, 0);
    tsf_exec(w, "COMMIT");
    long frames = (file_size(wal) - (size0 > 0 ? size0 : 32)) / 4120;
    ck_assert_int_ge(frames, 80);
    /* one write per 128 KiB, not two per frame */
    ck_assert_int_le(wal_writes - before, frames * 4120 / 0x1ffff + 3);
    check_rows(r, 1, 400, 0, 0);

    /* a row larger than the buffer: overflow pages, several flushes */
    tsf_exec(w, "BEGIN");
    put_big(w, 300000);
    tsf_exec(w, "COMMIT");
    check_rows(r, 1, 400, 0, 300000);

    /* small commits, each visible at once to another connection */
    for (int i = 401; i <= 450; i++) {
        put_rows(w, i, i, 0);
        check_rows(r, 1, i, 0, 300000);
    }
    crash_check(1, 450, 0, 300000);
    sqlite3_close(r);
    ck_assert_int_eq(sqlite3_close(w), SQLITE_OK);
}
END_TEST

/* A transaction larger than the page cache spills frames before its
 * commit, then writes some of those pages again: SQLite overwrites them
 * in the WAL and rewrites the checksums of the frames after them once the
 * commit frame is written. Those rewrites must be in the file when COMMIT
 * returns, or a crash loses the transaction. */
START_TEST(a_spilled_transaction_rewritten_survives_a_crash)
{
    sqlite3 *w = open_writer(dbpath), *r = open_reader(dbpath);
    tsf_exec(w, "PRAGMA cache_size = 10");
    tsf_exec(w, "BEGIN");
    put_rows(w, 1, 2000, 0);
    put_rows(w, 1, 2000, 1);
    tsf_exec(w, "COMMIT");
    check_rows(r, 1, 2000, 1, 0);
    crash_check(1, 2000, 1, 0);

    /* and one rolled back after spilling leaves nothing behind */
    tsf_exec(w, "BEGIN");
    put_rows(w, 2001, 4000, 0);
    tsf_exec(w, "ROLLBACK");
    tsf_exec(w, "BEGIN");
    put_rows(w, 2001, 2100, 2);
    tsf_exec(w, "DELETE FROM t WHERE id > 2000");
    put_rows(w, 2001, 2050, 1);
    tsf_exec(w, "COMMIT");
    check_rows(r, 1, 2050, 1, 0);
    crash_check(1, 2050, 1, 0);
    sqlite3_close(r);
    ck_assert_int_eq(sqlite3_close(w), SQLITE_OK);
}
END_TEST

START_TEST(checkpoints_are_coalesced_and_complete)
{
    sqlite3 *w = open_writer(dbpath);
    tsf_exec(w, "BEGIN");
    put_rows(w, 1, 800, 0);
    tsf_exec(w, "COMMIT");
    long before = db_writes;
    int log = -1, done = -1;
    ck_assert_int_eq(sqlite3_wal_checkpoint_v2(w, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done),
                     SQLITE_OK);
    ck_assert_int_ge(done, 150);
    ck_assert_int_eq(done, log);
    ck_assert_int_le(db_writes - before, (long)done * 4096 / 0x1ffff + 3);
    /* with the WAL emptied, everything is read from the database file */
    ck_assert_int_eq(sqlite3_wal_checkpoint_v2(w, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done),
                     SQLITE_OK);
    crash_check(1, 800, 0, 0);
    ck_assert_int_eq(sqlite3_close(w), SQLITE_OK);
}
END_TEST

START_TEST(a_failed_write_fails_the_commit_and_nothing_else)
{
    sqlite3 *w = open_writer(dbpath), *r = open_reader(dbpath);
    tsf_exec(w, "BEGIN");
    put_rows(w, 1, 100, 0);
    tsf_exec(w, "COMMIT");

    fail_wal = 1;
    tsf_exec(w, "BEGIN");
    put_rows(w, 101, 300, 0);
    int rc = sqlite3_exec(w, "COMMIT", NULL, NULL, NULL);
    ck_assert_int_eq(rc & 0xff, SQLITE_FULL);
    if (!sqlite3_get_autocommit(w))
        tsf_exec(w, "ROLLBACK");
    check_rows(r, 1, 100, 0, 0);

    /* a one-row commit fails too while the disk is full */
    ck_assert_int_eq(sqlite3_exec(w, "INSERT INTO t VALUES (500, x'00')", NULL, NULL, NULL) & 0xff,
                     SQLITE_FULL);
    fail_wal = 0;
    tsf_exec(w, "BEGIN");
    put_rows(w, 101, 150, 0);
    tsf_exec(w, "COMMIT");
    check_rows(r, 1, 150, 0, 0);
    crash_check(1, 150, 0, 0);

    /* a checkpoint whose copies cannot be written (more than one buffer's
     * worth, so a write inside the copy loop fails) fails and is redone */
    tsf_exec(w, "BEGIN");
    put_rows(w, 151, 600, 0);
    tsf_exec(w, "COMMIT");
    int log = -1, done = -1;
    fail_db = 1;
    rc = sqlite3_wal_checkpoint_v2(w, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    ck_assert_int_ne(rc, SQLITE_OK);
    fail_db = 0;
    check_rows(r, 1, 600, 0, 0);
    ck_assert_int_eq(sqlite3_wal_checkpoint_v2(w, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done),
                     SQLITE_OK);
    check_rows(r, 1, 600, 0, 0);
    crash_check(1, 600, 0, 0);
    sqlite3_close(r);
    ck_assert_int_eq(sqlite3_close(w), SQLITE_OK);

    /* reopened by the default VFS alone */
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &w, SQLITE_OPEN_READONLY, "unix"), SQLITE_OK);
    tsf_integrity_ok(w);
    check_rows(w, 1, 600, 0, 0);
    sqlite3_close(w);
}
END_TEST

/* A checkpoint small enough to sit in the buffer until it is done finds
 * out only then that its copies cannot be written, after SQLite stopped
 * checking: the process must stop before SQLite records them as copied,
 * and the next opener must find every row (from the WAL). */
START_TEST(copies_lost_at_the_end_of_a_checkpoint_stop_the_process)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sqlite3 *w = open_writer(dbpath);
        put_rows(w, 1, 20, 0); /* 20 small commits: a few pages each */
        tsf_exec(w, "BEGIN");
        put_rows(w, 21, 40, 0);
        tsf_exec(w, "COMMIT");
        int log = -1, done = -1;
        fail_db = 1;
        sqlite3_wal_checkpoint_v2(w, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        _exit(3); /* not reached */
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "the process was expected to stop with SIGABRT (status %d)", status);
    sqlite3 *w = open_writer(dbpath);
    tsf_integrity_ok(w);
    check_rows(w, 1, 40, 0, 0);
    ck_assert_int_eq(sqlite3_close(w), SQLITE_OK);
    sqlite3 *c = NULL;
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &c, SQLITE_OPEN_READONLY, "unix"), SQLITE_OK);
    tsf_integrity_ok(c);
    check_rows(c, 1, 40, 0, 0);
    sqlite3_close(c);
}
END_TEST

/* Distinct page numbers of the WAL's frames from byte offset from to the
 * end of the file (no restart in between), read from the file itself. */
static long wal_distinct_in_file(long from)
{
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", dbpath);
    FILE *f = fopen(wal, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char hdr[32], fh[24];
    ck_assert_uint_eq(fread(hdr, 1, 32, f), 32);
    long pgsz = (long)hdr[8] << 24 | hdr[9] << 16 | hdr[10] << 8 | hdr[11];
    static unsigned seen[1 << 16];
    long n = 0, nseen = 0;
    if (from < 32)
        from = 32;
    ck_assert_int_eq((from - 32) % (24 + pgsz), 0);
    for (long off = from; fseek(f, off, SEEK_SET) == 0 && fread(fh, 1, 24, f) == 24;
         off += 24 + pgsz) {
        unsigned pg = (unsigned)fh[0] << 24 | fh[1] << 16 | fh[2] << 8 | fh[3];
        int dup = 0;
        for (long i = 0; i < nseen && !dup; i++)
            dup = seen[i] == pg;
        if (!dup) {
            ck_assert_int_lt(nseen, (long)(sizeof seen / sizeof seen[0]));
            seen[nseen++] = pg;
            n++;
        }
    }
    fclose(f);
    return n;
}

static int wal_pages(sqlite3 *db, unsigned cap, int reset, unsigned *count)
{
    sqlite3_file *jf = NULL;
    ts_wal_pages q = {.cap = cap, .reset = reset, .count = 12345};
    ck_assert_int_eq(sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &jf),
                     SQLITE_OK);
    ck_assert_ptr_nonnull(jf);
    int rc = jf->pMethods->xFileControl(jf, TS_FCNTL_WAL_PAGES, &q);
    *count = q.count;
    return rc;
}

/* The WAL counts the distinct pages of the frames appended since its last
 * reset (what a checkpoint pass would copy), up to the cap asked for; the
 * checkpoints' cadence rests on it (sqlite_ckpt.c). */
START_TEST(the_wal_counts_distinct_pages)
{
    char wal[160];
    unsigned count;
    sqlite3 *w = open_writer(dbpath);
    snprintf(wal, sizeof wal, "%s-wal", dbpath);
    put_rows(w, 1, 5, 0); /* the WAL exists, and frames before counting */

    /* Counting starts with the first call. */
    ck_assert_int_eq(wal_pages(w, 100000, 0, &count), SQLITE_OK);
    ck_assert_uint_eq(count, 0);
    long start = file_size(wal);
    tsf_exec(w, "BEGIN");
    put_rows(w, 6, 400, 0); /* new pages */
    tsf_exec(w, "COMMIT");
    for (int k = 1; k <= 30; k++) /* the same few pages, rewritten 30 times */
        put_rows(w, 1, 3, k);
    long truth = wal_distinct_in_file(start);
    long frames = (file_size(wal) - start) / 4120;
    ck_assert_int_ge(truth, 80);
    ck_assert_int_ge(frames, truth + 50); /* rewrites: far more frames than pages */
    ck_assert_int_eq(wal_pages(w, 100000, 0, &count), SQLITE_OK);
    ck_assert_int_eq(count, truth);

    /* A reset reports, then starts afresh. */
    ck_assert_int_eq(wal_pages(w, 100000, 1, &count), SQLITE_OK);
    ck_assert_int_eq(count, truth);
    ck_assert_int_eq(wal_pages(w, 100000, 0, &count), SQLITE_OK);
    ck_assert_uint_eq(count, 0);
    start = file_size(wal);
    for (int k = 31; k <= 60; k++)
        put_rows(w, 1, 3, k);
    truth = wal_distinct_in_file(start);
    ck_assert_int_ge(truth, 1);
    ck_assert_int_le(truth, 10); /* 30 commits of the same rows */
    ck_assert_int_eq(wal_pages(w, 100000, 0, &count), SQLITE_OK);
    ck_assert_int_eq(count, truth);

    /* The count stops at the cap (a new cap starts a new count). */
    ck_assert_int_eq(wal_pages(w, 7, 0, &count), SQLITE_OK);
    ck_assert_uint_eq(count, 0);
    put_rows(w, 401, 600, 0);
    ck_assert_int_eq(wal_pages(w, 7, 0, &count), SQLITE_OK);
    ck_assert_uint_eq(count, 7);

    /* Only the WAL answers, and only for a cap it can hold. */
    ts_wal_pages q = {.cap = 10, .reset = 0, .count = 0};
    ck_assert_int_eq(sqlite3_file_control(w, "main", TS_FCNTL_WAL_PAGES, &q), SQLITE_NOTFOUND);
    ck_assert_int_eq(wal_pages(w, 0, 0, &count), SQLITE_NOTFOUND);
    ck_assert_int_eq(wal_pages(w, (1u << 24) + 1, 0, &count), SQLITE_NOTFOUND);
    ck_assert_int_eq(sqlite3_close(w), SQLITE_OK);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sqlite_vfs");
    TCase *tc = tcase_create("vfs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, commits_are_in_the_file_and_coalesced);
    tcase_add_test(tc, a_spilled_transaction_rewritten_survives_a_crash);
    tcase_add_test(tc, checkpoints_are_coalesced_and_complete);
    tcase_add_test(tc, a_failed_write_fails_the_commit_and_nothing_else);
    tcase_add_test(tc, copies_lost_at_the_end_of_a_checkpoint_stop_the_process);
    tcase_add_test(tc, the_wal_counts_distinct_pages);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fault_register(); /* before ts_sqlite_vfs() first wraps the default */
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
