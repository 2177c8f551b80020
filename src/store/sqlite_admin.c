/* sqlite_admin.c: the reads behind the command line's listings (`key
 * list`, `workspace list`) and the workspace count the daemon logs at
 * start: each on a reader connection, results in the caller's arena. */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_int.h"

int ts_sqlite_key_list(ts_store *st, ts_arena *a, ts_key_info **out, size_t *n)
{
    ts_sqlite *s = (ts_sqlite *)st;
    ts_sqlite_conn *c = ts_sqlite_reader_get(s);
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_KEY_LIST);
    size_t cap = 0;
    int rc = TS_OK, src;

    *out = NULL;
    *n = 0;
    if (!q) {
        ts_sqlite_reader_put(s, c);
        return TS_EIO;
    }
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        ts_key_info *na = ts_arena_grow(a, *out, *n, &cap, sizeof(*na));
        if (!na) {
            rc = TS_ENOMEM;
            break;
        }
        *out = na;
        ts_key_info *k = &(*out)[(*n)++];
        memset(k, 0, sizeof(*k));
        k->id = sqlite3_column_int64(q, 0);
        snprintf(k->prefix, sizeof(k->prefix), "%s", (const char *)sqlite3_column_text(q, 1));
        snprintf(k->workspace, sizeof(k->workspace), "%s", (const char *)sqlite3_column_text(q, 2));
        k->created_ns = sqlite3_column_int64(q, 3);
        k->revoked_ns = sqlite3_column_int64(q, 4);
    }
    if (rc == TS_OK && src != SQLITE_DONE)
        rc = TS_EIO;
    sqlite3_reset(q);
    ts_sqlite_reader_put(s, c);
    return rc;
}

int ts_sqlite_workspace_count(ts_store *st, int64_t *n)
{
    ts_sqlite *s = (ts_sqlite *)st;
    ts_sqlite_conn *c = ts_sqlite_reader_get(s);
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_WS_COUNT);
    int rc = TS_EIO;

    *n = 0;
    if (q && sqlite3_step(q) == SQLITE_ROW) {
        *n = sqlite3_column_int64(q, 0);
        rc = TS_OK;
    }
    if (q)
        sqlite3_reset(q);
    ts_sqlite_reader_put(s, c);
    return rc;
}

int ts_sqlite_workspace_list(ts_store *st, ts_arena *a, ts_workspace_info **out, size_t *n)
{
    ts_sqlite *s = (ts_sqlite *)st;
    ts_sqlite_conn *c = ts_sqlite_reader_get(s);
    sqlite3_stmt *q = ts_sqlite_stmt(c, Q_WS_LIST);
    size_t cap = 0;
    int rc = TS_OK, src = SQLITE_ERROR;

    *out = NULL;
    *n = 0;
    while (q && (src = sqlite3_step(q)) == SQLITE_ROW) {
        ts_workspace_info *na = ts_arena_grow(a, *out, *n, &cap, sizeof(*na));
        if (!na) {
            rc = TS_ENOMEM;
            break;
        }
        *out = na;
        ts_workspace_info *w = &(*out)[(*n)++];
        snprintf(w->name, sizeof(w->name), "%s", (const char *)sqlite3_column_text(q, 0));
        w->keys = sqlite3_column_int64(q, 1);
        w->traces = sqlite3_column_int64(q, 2);
        w->retention_days =
            sqlite3_column_type(q, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 3);
    }
    if (rc == TS_OK && src != SQLITE_DONE)
        rc = TS_EIO;
    if (q)
        sqlite3_reset(q);
    ts_sqlite_reader_put(s, c);
    return rc;
}
