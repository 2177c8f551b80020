/* harness_pg.c: the PostgreSQL side of the integration harness. With
 * TS_TEST_STORE=postgres every daemon gets a fresh database in the cluster
 * named by TS_PG_URL (or the file TS_PG_URL_FILE, written by the ctest
 * fixture pg/cluster-start), created and dropped through libpq; the
 * TRACESTORE_STORE / TRACESTORE_POSTGRES_URL pair every serve and CLI run
 * of that daemon gets is kept here, keyed by the daemon's db path. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "harness.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

int ts_backend_is_pg(void)
{
    const char *s = getenv("TS_TEST_STORE");
    return s != NULL && strcmp(s, "postgres") == 0;
}

int ts_pg_bins_present(void)
{
    glob_t g;
    int found = glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0 && g.gl_pathc > 0;
    globfree(&g);
    return found;
}

const char *ts_pg_base(void)
{
    static char base[TS_IT_PATH_CAP];
    const char *env = getenv("TS_PG_URL"), *file = getenv("TS_PG_URL_FILE");
    if (base[0] != '\0')
        return base;
    if (env != NULL && env[0] != '\0') {
        snprintf(base, sizeof base, "%s", env);
    } else if (file != NULL && file[0] != '\0') {
        FILE *f = fopen(file, "r");
        if (f != NULL) {
            if (fgets(base, sizeof base, f) == NULL)
                base[0] = '\0';
            fclose(f);
            base[strcspn(base, "\r\n")] = '\0';
        }
    }
    return base[0] != '\0' ? base : NULL;
}

void ts_pg_require(void)
{
    if (!ts_backend_is_pg() || ts_pg_base() != NULL)
        return;
    if (!ts_pg_bins_present()) {
        fprintf(stderr, "skipped: TS_TEST_STORE=postgres but the PostgreSQL server binaries "
                        "are not installed (apt-get install postgresql)\n");
        fflush(NULL);
        _exit(77);
    }
    ts_fail_at(__FILE__, __LINE__,
               "TS_TEST_STORE=postgres but neither TS_PG_URL nor a readable TS_PG_URL_FILE (%s) "
               "names a cluster: did the fixture pg/cluster-start run?",
               getenv("TS_PG_URL_FILE") != NULL ? getenv("TS_PG_URL_FILE") : "unset");
}

int ts_pg_exec(const char *conninfo, const char *sql, char *out, size_t cap)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = NULL;
    int rc = -1;
    if (out != NULL && cap > 0)
        out[0] = '\0';
    if (PQstatus(c) != CONNECTION_OK) {
        if (out != NULL)
            snprintf(out, cap, "connect: %s", PQerrorMessage(c));
        goto out;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        if (out != NULL && PQntuples(r) > 0 && PQnfields(r) > 0)
            snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
        rc = PQntuples(r) > 0 ? 0 : 1;
    } else if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        rc = 0;
    } else if (out != NULL) {
        snprintf(out, cap, "%s", PQresultErrorMessage(r));
    }
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* ---- the registry: db path -> the daemon's database ---- */

#define REG_MAX 64
static struct {
    char db[TS_IT_PATH_CAP];
    char env_url[TS_IT_PATH_CAP + 32]; /* TRACESTORE_POSTGRES_URL=... */
} reg[REG_MAX];

static void reg_add(const char *db, const char *url)
{
    for (size_t i = 0; i < REG_MAX; i++)
        if (reg[i].db[0] == '\0' || strcmp(reg[i].db, db) == 0) {
            snprintf(reg[i].db, sizeof reg[i].db, "%s", db);
            snprintf(reg[i].env_url, sizeof reg[i].env_url, "TRACESTORE_POSTGRES_URL=%s", url);
            return;
        }
    ts_fail_at(__FILE__, __LINE__, "more than %d PostgreSQL daemons at once", REG_MAX);
}

static void reg_del(const char *db)
{
    for (size_t i = 0; i < REG_MAX; i++)
        if (strcmp(reg[i].db, db) == 0)
            reg[i].db[0] = '\0';
}

const char *ts_pg_reg_env(const char *db)
{
    for (size_t i = 0; db != NULL && i < REG_MAX; i++)
        if (reg[i].db[0] != '\0' && strcmp(reg[i].db, db) == 0)
            return reg[i].env_url;
    return NULL;
}

void ts_pg_db_create(ts_daemon *d, const char *base)
{
    static unsigned counter;
    char sql[256], msg[1024], admin[TS_IT_PATH_CAP + 32];
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    snprintf(d->pg_db, sizeof d->pg_db, "tsit_%ld_%u_%06lx", (long)getpid(), counter++,
             (unsigned long)(t.tv_nsec & 0xffffff));
    snprintf(admin, sizeof admin, "%s dbname=postgres", base);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", d->pg_db);
    if (ts_pg_exec(admin, sql, msg, sizeof msg) != 0)
        ts_fail_at(__FILE__, __LINE__, "%s on %s: %s", sql, base, msg);
    snprintf(d->pg_url, sizeof d->pg_url, "%s dbname=%s", base, d->pg_db);
    snprintf(d->pg_base, sizeof d->pg_base, "%s", base);
    d->pg_owner = 1;
    reg_add(d->db, d->pg_url);
}

void ts_pg_db_share(ts_daemon *d2, const ts_daemon *d1)
{
    snprintf(d2->pg_url, sizeof d2->pg_url, "%s", d1->pg_url);
    snprintf(d2->pg_db, sizeof d2->pg_db, "%s", d1->pg_db);
    snprintf(d2->pg_base, sizeof d2->pg_base, "%s", d1->pg_base);
    d2->pg_owner = 0;
    reg_add(d2->db, d2->pg_url);
}

void ts_pg_db_drop(ts_daemon *d)
{
    char sql[256], msg[1024], admin[TS_IT_PATH_CAP + 32];
    if (d->pg_url[0] == '\0')
        return;
    if (d->pg_owner) {
        reg_del(d->db);
        snprintf(admin, sizeof admin, "%s dbname=postgres", d->pg_base);
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", d->pg_db);
        if (ts_pg_exec(admin, sql, msg, sizeof msg) != 0)
            fprintf(stderr, "warning: %s: %s\n", sql, msg);
    }
    d->pg_url[0] = '\0';
}

long long ts_pg_sql_int(const ts_daemon *d, const char *sql)
{
    char out[256];
    int rc = ts_pg_exec(d->pg_url, sql, out, sizeof out);
    if (rc != 0)
        ts_fail_at(__FILE__, __LINE__, "SQL on PostgreSQL database %s failed (%s): %s", d->pg_db,
                   rc > 0 ? "no row" : out, sql);
    return strtoll(out, NULL, 10);
}

int ts_pg_cluster(const char *sub, const char *dir, char *out, size_t cap)
{
    const char *src = getenv("TS_SOURCE_DIR");
    char cmd[TS_IT_PATH_CAP * 2 + 64];
    if (src == NULL)
        ts_fail_at(__FILE__, __LINE__, "TS_SOURCE_DIR is not set (run through ctest)");
    snprintf(cmd, sizeof cmd, "sh '%s/tests/pg/cluster.sh' %s '%s' 2>&1", src, sub, dir);
    int rc = ts_run_cmd(cmd, out, cap);
    if (rc == 0)
        out[strcspn(out, "\r\n")] = '\0';
    return rc;
}
