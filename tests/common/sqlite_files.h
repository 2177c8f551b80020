/* sqlite_files.h: helpers for the unit suites that drive SQLite directly
 * on files of a temporary directory (test_sqlite_vfs, test_sqlite_pcache).
 * Header-only: every function is static. */
#ifndef TS_TEST_SQLITE_FILES_H
#define TS_TEST_SQLITE_FILES_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

/* Makes a fresh directory from the template prefix (e.g. "/tmp/ts-x") into
 * dir (at least 64 bytes) and the path "<dir>/db" into db (128 bytes). */
static void tsf_mkdir(char *dir, const char *prefix, char *db)
{
    snprintf(dir, 64, "%s-XXXXXX", prefix);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db, 128, "%s/db", dir);
}

static void tsf_rmdir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Runs sql on db; any error fails the test with SQLite's message. */
static void tsf_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
    sqlite3_free(msg);
}

/* PRAGMA integrity_check on db says "ok". */
static void tsf_integrity_ok(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
}

#endif
