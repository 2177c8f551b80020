/* test_pg_core.c: the PostgreSQL backend's core over the real binary, on
 * a throw-away cluster of its own (tests/pg/cluster.sh): daemons starting
 * together on an empty database (migrations under the advisory lock, one
 * id secret), /healthz and writes answering 503 + Retry-After while the
 * server is stopped and 200 again once it is back (same daemon, and a read
 * through a connection pooled before the restart), a failing job in a
 * group-commit transaction failing alone, the key and workspace commands,
 * and backup / vacuum explaining PostgreSQL's tools. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char pg_dir[256];   /* the cluster's folder (its socket too) */
static char pg_base[1024]; /* "host=... port=... user=..." */
static char pg_bin[1024];  /* the server's bin folder, for pg_ctl */
static int db_seq;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *src_dir(void)
{
    const char *s = getenv("TS_SOURCE_DIR");
    ck_assert_msg(s && *s, "TS_SOURCE_DIR is not set");
    return s;
}

static void cluster_start(void)
{
    char cmd[1024], out[1024];
    snprintf(pg_dir, sizeof pg_dir, "/tmp/ts-pgc-XXXXXX");
    ck_assert_msg(mkdtemp(pg_dir) != NULL, "mkdtemp: %s", strerror(errno));
    chmod(pg_dir, 0755); /* the server runs as an unprivileged user */
    snprintf(cmd, sizeof cmd, "%s/tests/pg/cluster.sh start %s/pg 2>&1", src_dir(), pg_dir);
    int st = ts_run_cmd(cmd, out, sizeof out);
    ck_assert_msg(st == 0, "cluster.sh start failed (%d): %s", st, out);
    out[strcspn(out, "\r\n")] = '\0';
    snprintf(pg_base, sizeof pg_base, "%s", out);
    ck_assert_int_eq(
        ts_run_cmd("ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1", pg_bin, sizeof pg_bin),
        0);
    pg_bin[strcspn(pg_bin, "\r\n")] = '\0';
}

static void cluster_stop(void)
{
    char cmd[1024], out[512];
    if (!pg_dir[0])
        return;
    snprintf(cmd, sizeof cmd, "%s/tests/pg/cluster.sh stop %s/pg 2>&1", src_dir(), pg_dir);
    ts_run_cmd(cmd, out, sizeof out);
    rmdir(pg_dir);
    pg_dir[0] = '\0';
}

/* pg_ctl stop / start of the running cluster, as cluster.sh runs it (as
 * the cluster's owner when the test runs as root). */
static void server_ctl(const char *what)
{
    char cmd[4096], out[1024], as[512] = "";
    if (geteuid() == 0)
        snprintf(as, sizeof as, "runuser -u \"$(stat -c %%U %s/pg/data)\" --", pg_dir);
    snprintf(cmd, sizeof cmd,
             "%s %s/pg_ctl -D %s/pg/data -l %s/pg/server.log -m fast -w -t 60 %s 2>&1", as, pg_bin,
             pg_dir, pg_dir, what);
    int st = ts_run_cmd(cmd, out, sizeof out);
    ck_assert_msg(st == 0, "pg_ctl %s failed (%d): %s", what, st, out);
}

static void psql(const char *db, const char *sql, char *out, size_t cap)
{
    char cmd[4096], buf[2048];
    snprintf(cmd, sizeof cmd, "psql -X -At -v ON_ERROR_STOP=1 '%s dbname=%s' -c \"%s\" 2>&1",
             pg_base, db, sql);
    int st = ts_run_cmd(cmd, out ? out : buf, out ? cap : sizeof buf);
    ck_assert_msg(st == 0, "psql %s: %s", sql, out ? out : buf);
}

static long long psql_int(const char *db, const char *sql)
{
    char out[256];
    psql(db, sql, out, sizeof out);
    return strtoll(out, NULL, 10);
}

/* A fresh empty database; its name in name, the daemon's environment in
 * env (TRACESTORE_STORE, TRACESTORE_POSTGRES_URL, then extra, NULL-ended;
 * the strings live in bufs). */
typedef struct pgdb {
    char name[64];
    char url_env[1280];
    const char *env[8];
} pgdb;

static void db_new(pgdb *d, const char *const *extra)
{
    char sql[128];
    size_t n = 0;
    snprintf(d->name, sizeof d->name, "pgc_%d_%d", (int)getpid(), ++db_seq);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", d->name);
    psql("postgres", sql, NULL, 0);
    snprintf(d->url_env, sizeof d->url_env, "TRACESTORE_POSTGRES_URL=%s dbname=%s", pg_base,
             d->name);
    d->env[n++] = "TRACESTORE_STORE=postgres";
    d->env[n++] = d->url_env;
    for (size_t i = 0; extra && extra[i] && n < 7; i++)
        d->env[n++] = extra[i];
    d->env[n] = NULL;
}

static int cli(const pgdb *d, const char *const *args, char **out, char **err)
{
    return ts_cli(args, d->env, out, err);
}

static void key_create(const pgdb *d, const char *ws, char key[TS_IT_KEY_CAP])
{
    const char *args[] = {"key", "create", "--workspace", ws, NULL};
    char *out = NULL, *err = NULL;
    int rc = cli(d, args, &out, &err);
    ck_assert_msg(rc == 0, "key create on postgres: exit %d: %s", rc, err);
    out[strcspn(out, "\r\n")] = '\0';
    ck_assert_msg(ts_is_key(out), "key create printed '%s'", out);
    snprintf(key, TS_IT_KEY_CAP, "%s", out);
    free(out);
    free(err);
}

static void setup(void)
{
    cluster_start();
}

static void teardown(void)
{
    cluster_stop();
}

/* A serve process started without waiting for it (d from ts_d_init). */
static void spawn_serve(ts_daemon *d)
{
    char listen[64];
    d->port = ts_free_port();
    snprintf(d->listen, sizeof d->listen, "127.0.0.1:%d", d->port);
    snprintf(listen, sizeof listen, "%s", d->listen);
    d->starts++;
    snprintf(d->log, sizeof d->log, "%s/serve-%d.log", d->dir, d->starts);
    int fd = open(d->log, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ck_assert_msg(fd >= 0, "open %s: %s", d->log, strerror(errno));
    fflush(NULL);
    d->pid = fork();
    ck_assert_msg(d->pid >= 0, "fork: %s", strerror(errno));
    if (d->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd, 1);
        dup2(fd, 2);
        for (size_t i = 0; d->env[i]; i++)
            putenv((char *)d->env[i]);
        execl(ts_binary(), ts_binary(), "serve", "--listen", listen, (char *)NULL);
        _exit(127);
    }
    close(fd);
}

static long healthz(ts_daemon *d, char *retry_after, size_t cap)
{
    ts_cur = d;
    ts_resp *r = ts_req("GET", "/healthz", NULL, NULL);
    long st = r->status;
    if (retry_after && !ts_resp_header(r, "Retry-After", retry_after, cap))
        retry_after[0] = '\0';
    ts_resp_free(r);
    return st;
}

/* Waits (30 s at most) for /healthz to answer want; fails with the log. */
static void wait_health(ts_daemon *d, long want)
{
    long deadline = now_ms() + 30000, st = 0;
    int status;
    for (;;) {
        if (d->pid && waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            ts_d_dump_log(d);
            ck_abort_msg("tracestore serve exited (status 0x%x) before /healthz answered %ld",
                         (unsigned)status, want);
        }
        if ((st = healthz(d, NULL, 0)) == want)
            return;
        if (now_ms() > deadline) {
            ts_d_dump_log(d);
            ck_abort_msg("/healthz answered %ld, not %ld, for 30 s", st, want);
        }
        sleep_ms(50);
    }
}

/* Three daemons started at the same moment on one empty database all
 * come up: the migrations run once (schema_migrations has one row per
 * migration), one id secret, one "default" workspace from the first
 * start's bootstrap. Without the advisory lock two of them run 0001 at
 * once and fail on PostgreSQL's catalog ("duplicate key ... pg_type"). */
START_TEST(test_start_race_on_empty_database)
{
    enum { N = 3 };
    for (int round = 0; round < 2; round++) {
        pgdb db;
        ts_daemon d[N];
        db_new(&db, NULL);
        for (int i = 0; i < N; i++)
            ts_d_init(&d[i], 0, db.env);
        for (int i = 0; i < N; i++)
            spawn_serve(&d[i]);
        for (int i = 0; i < N; i++)
            wait_health(&d[i], 200);
        ck_assert_int_eq(psql_int(db.name, "SELECT count(*) FROM schema_migrations"),
                         psql_int(db.name, "SELECT max(version) FROM schema_migrations"));
        ck_assert_int_eq(psql_int(db.name, "SELECT count(*) FROM server_secrets"), 1);
        ck_assert_int_eq(psql_int(db.name, "SELECT length(value) FROM server_secrets"), 32);
        ck_assert_int_eq(psql_int(db.name, "SELECT count(*) FROM workspaces WHERE name = "
                                           "'default'"),
                         1);
        for (int i = 0; i < N; i++) {
            ts_d_stop(&d[i]);
            ts_d_free(&d[i]);
        }
    }
}
END_TEST

static void post_span(const char *key, const char *trace, long want, char *ra, size_t cap)
{
    ts_span_spec sp = {.trace_id = trace,
                       .span_id = "00000000000000a1",
                       .name = "op",
                       .start_ns = 1000,
                       .end_ns = 2000};
    char *body = ts_spans_body(&sp, 1, 0);
    ts_resp *r = ts_req("POST", "/spans-bulk", key, body);
    TS_STATUS(r, want);
    if (ra && !ts_resp_header(r, "Retry-After", ra, cap))
        ra[0] = '\0';
    ts_resp_free(r);
    free(body);
}

/* PostgreSQL stopped under a running daemon: /healthz and writes answer
 * 503 with Retry-After at once (never a hang, never a 2xx); once the
 * server is back the same daemon answers 200 / 201 by itself. */
START_TEST(test_healthz_and_writes_while_postgres_is_away)
{
    static const char *const extra[] = {"TRACESTORE_REQUEST_TIMEOUT_S=5", NULL};
    pgdb db;
    ts_daemon d;
    char key[TS_IT_KEY_CAP], ra[32];

    db_new(&db, extra);
    key_create(&db, "alpha", key);
    ts_d_init(&d, 0, db.env);
    ts_d_start(&d);
    pid_t pid = d.pid;
    ck_assert_int_eq(healthz(&d, NULL, 0), 200);
    post_span(key, "0af7651916cd43dd8448eb211c80319c", 201, NULL, 0);
    /* a read, so the pool holds a connection from before the restart */
    ts_resp *r = ts_req("GET", "/v1/traces/0af7651916cd43dd8448eb211c80319c", key, NULL);
    TS_STATUS(r, 200);
    ts_resp_free(r);

    server_ctl("stop");
    for (int i = 0; i < 3; i++) {
        long t0 = now_ms();
        ck_assert_int_eq(healthz(&d, ra, sizeof ra), 503);
        ck_assert_msg(atoi(ra) >= 1, "503 without Retry-After");
        ck_assert_msg(now_ms() - t0 < 5000, "/healthz took past request_timeout_s");
    }
    /* the key is in the key cache: the write reaches the store */
    post_span(key, "0af7651916cd43dd8448eb211c80319d", 503, ra, sizeof ra);
    ck_assert_msg(atoi(ra) >= 1, "write 503 without Retry-After");

    server_ctl("start");
    wait_health(&d, 200);
    ck_assert_int_eq(d.pid, pid); /* the same daemon, never restarted */
    post_span(key, "0af7651916cd43dd8448eb211c80319e", 201, NULL, 0);
    /* the pooled read connection the server closed is replaced, not used:
     * the first read after the restart answers 200 */
    r = ts_req("GET", "/v1/traces/0af7651916cd43dd8448eb211c80319c", key, NULL);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    /* the span refused while the server was away is not stored */
    ck_assert_int_eq(psql_int(db.name, "SELECT count(*) FROM traces WHERE trace_id LIKE "
                                       "'%319d'"),
                     0);
    ck_assert_int_eq(psql_int(db.name, "SELECT count(*) FROM traces"), 2);
    char *log = ts_d_read_log(&d);
    ck_assert_ptr_nonnull(strstr(log, "PostgreSQL unavailable"));
    ck_assert_ptr_nonnull(strstr(log, "PostgreSQL is back"));
    free(log);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

/* Feedback through 32 connections at once, half of it on traces that do
 * not exist (404, a job that fails in the store): the writer's group
 * commit puts both kinds in one transaction, runs it without savepoints,
 * and after a failure runs it again with a savepoint per job, so every
 * feedback on a stored trace is answered 201 and stored, and every other
 * one answered 404 and not stored. Failing the whole transaction instead
 * turns 201s into 5xx. */
START_TEST(test_failing_job_fails_alone)
{
    static const char *const extra[] = {"TRACESTORE_METRICS_TOKEN=pgcore-metrics-token-0123", NULL};
    enum { NTRACES = 8, N = 240 };
    pgdb db;
    ts_daemon d;
    char key[TS_IT_KEY_CAP], hex[NTRACES][33], uuid[37], *bodies[N];
    long status[N];

    db_new(&db, extra);
    key_create(&db, "alpha", key);
    ts_d_init(&d, 0, db.env);
    ts_d_start(&d);
    for (int i = 0; i < NTRACES; i++) {
        ts_new_trace_id(hex[i]);
        post_span(key, hex[i], 201, NULL, 0);
    }
    for (int i = 0; i < N; i++) {
        char missing[33];
        ts_new_trace_id(missing);
        ts_hex_to_uuid(i % 2 == 0 ? hex[(i / 2) % NTRACES] : missing, uuid);
        bodies[i] = malloc(160);
        ck_assert_ptr_nonnull(bodies[i]);
        snprintf(bodies[i], 160, "{\"trace_id\":\"%s\",\"label\":\"l%d\"}", uuid, i);
    }
    ts_http_parallel("/v1/feedback", key, bodies, N, 32, status, NULL, 0, NULL, NULL);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(status[i] == (i % 2 == 0 ? 201 : 404), "feedback %d (%s trace): %ld", i,
                      i % 2 == 0 ? "stored" : "missing", status[i]);
        free(bodies[i]);
    }
    ck_assert_int_eq(psql_int(db.name, "SELECT count(*) FROM feedback"), N / 2);
    /* some transaction held several jobs, so the path above was taken */
    const char *hdr[] = {"Authorization: Bearer pgcore-metrics-token-0123", NULL};
    ts_resp *r = ts_http("GET", "/metrics", hdr, NULL, 0);
    TS_STATUS(r, 200);
    const char *sum = strstr(r->body, "tracestore_writer_jobs_per_transaction_sum ");
    const char *cnt = strstr(r->body, "tracestore_writer_jobs_per_transaction_count ");
    ck_assert_msg(sum && cnt, "no jobs-per-transaction histogram in /metrics");
    double jobs = strtod(sum + strlen("tracestore_writer_jobs_per_transaction_sum "), NULL);
    double txs = strtod(cnt + strlen("tracestore_writer_jobs_per_transaction_count "), NULL);
    ck_assert_msg(jobs > txs, "every transaction held one job (%g jobs, %g transactions)", jobs,
                  txs);
    ts_resp_free(r);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

/* The key and workspace commands work on PostgreSQL through the store. */
START_TEST(test_key_and_workspace_commands)
{
    pgdb db;
    char k1[TS_IT_KEY_CAP], k2[TS_IT_KEY_CAP], prefix[16], *out = NULL, *err = NULL;

    db_new(&db, NULL);
    key_create(&db, "alpha", k1);
    key_create(&db, "beta", k2);
    const char *list[] = {"key", "list", NULL};
    ck_assert_int_eq(cli(&db, list, &out, &err), 0);
    snprintf(prefix, sizeof prefix, "%.12s", k1);
    ck_assert_msg(strstr(out, prefix) && strstr(out, "alpha") && strstr(out, "beta"), "%s", out);
    free(out);
    free(err);

    const char *revoke[] = {"key", "revoke", prefix, NULL};
    ck_assert_int_eq(cli(&db, revoke, &out, &err), 0);
    free(out);
    free(err);
    ck_assert_int_eq(psql_int(db.name, "SELECT count(*) FROM api_keys WHERE revoked_ns > 0"), 1);

    const char *ret[] = {"workspace", "set-retention", "beta", "7", NULL};
    ck_assert_int_eq(cli(&db, ret, &out, &err), 0);
    free(out);
    free(err);
    const char *wl[] = {"workspace", "list", NULL};
    ck_assert_int_eq(cli(&db, wl, &out, &err), 0);
    /* alpha's only key is revoked: 0 keys; beta keeps 7 days */
    ck_assert_msg(strstr(out, "alpha") && strstr(out, "beta"), "%s", out);
    ck_assert_int_eq(psql_int(db.name, "SELECT retention_days FROM workspaces WHERE name = 'beta'"),
                     7);
    free(out);
    free(err);
}
END_TEST

/* backup and vacuum on PostgreSQL: a clear refusal naming PostgreSQL's
 * own tool, exit 1, nothing written. An empty postgres_url and an
 * unreachable server are errors naming the key / the masked URL. */
START_TEST(test_backup_vacuum_and_config_errors)
{
    pgdb db;
    char dest[512], *out = NULL, *err = NULL;

    db_new(&db, NULL);
    snprintf(dest, sizeof dest, "%s/backup.db", pg_dir);
    const char *backup[] = {"backup", dest, NULL};
    ck_assert_int_eq(cli(&db, backup, &out, &err), 1);
    ck_assert_msg(strstr(err, "pg_dump"), "backup said: %s", err);
    ck_assert_int_ne(access(dest, F_OK), 0);
    free(out);
    free(err);

    const char *vacuum[] = {"vacuum", NULL};
    ck_assert_int_eq(cli(&db, vacuum, &out, &err), 1);
    ck_assert_msg(strstr(err, "VACUUM"), "vacuum said: %s", err);
    free(out);
    free(err);

    static const char *const noenv[] = {"TRACESTORE_STORE=postgres",
                                        "TRACESTORE_POSTGRES_URL=", NULL};
    const char *wl[] = {"workspace", "list", NULL};
    ck_assert_int_eq(ts_cli(wl, noenv, &out, &err), 1);
    ck_assert_msg(strstr(err, "postgres_url"), "empty url said: %s", err);
    free(out);
    free(err);

    static const char *const bad[] = {
        "TRACESTORE_STORE=postgres",
        "TRACESTORE_POSTGRES_URL=host=/nonexistent/dir port=5432 user=x password=sekrit dbname=x",
        NULL};
    const char *serve[] = {"serve", "--listen", "127.0.0.1:1", NULL};
    ck_assert_int_eq(ts_cli(serve, bad, &out, &err), 1);
    ck_assert_msg(strstr(err, "cannot connect to PostgreSQL") && strstr(err, "password=***") &&
                      !strstr(err, "sekrit"),
                  "unreachable server said: %s", err);
    free(out);
    free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-pg-core");
    TCase *tc = tcase_create("pg-core");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_backup_vacuum_and_config_errors);
    tcase_add_test(tc, test_start_race_on_empty_database);
    tcase_add_test(tc, test_key_and_workspace_commands);
    tcase_add_test(tc, test_healthz_and_writes_while_postgres_is_away);
    tcase_add_test(tc, test_failing_job_fails_alone);
    suite_add_tcase(s, tc);
    return ts_it_run(s);
}
