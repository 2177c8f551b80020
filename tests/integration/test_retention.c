/* test_retention.c: retention over HTTP. A daemon whose retention "day" is
 * an hour (retention_day_s = 3600, a sweep every second) gets traces that
 * ended two and four hours ago and traces that end now, in three
 * workspaces with the config's retention, their own ("workspace
 * set-retention", before the daemon starts and while it runs) and
 * "forever". Expired traces must answer 404, leave every list, and leave
 * no row behind (checked with sqlite3 on the database); everything else
 * stays; `workspace list` shows it; ingest is answered while a sweep of
 * many small batches runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define HOUR_NS INT64_C(3600000000000)

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* n traces of two spans each (a root with an LLM request log, a child),
 * ended at `end`, named prefix-i; ids written into ids[i] (33 bytes). */
static void ingest(const char *key, int n, int64_t end, char (*ids)[33], int close_after)
{
    ts_span_spec *sp = calloc((size_t)n * 2, sizeof(*sp));
    char(*sids)[17] = calloc((size_t)n * 2, sizeof(*sids));
    ck_assert_ptr_nonnull(sp);
    ck_assert_ptr_nonnull(sids);
    for (int i = 0; i < n; i++) {
        ts_new_trace_id(ids[i]);
        for (int k = 0; k < 2; k++) {
            ts_span_spec *s = &sp[2 * i + k];
            ts_new_span_id(sids[2 * i + k]);
            s->trace_id = ids[i];
            s->span_id = sids[2 * i + k];
            s->parent_id = k ? sids[2 * i] : NULL;
            s->parent_null = !k;
            s->name = k ? "child" : "root";
            s->start_ns = end - 1000000;
            s->end_ns = end;
            if (!k) {
                s->model = "gpt-4o";
                s->input_tokens = 3;
                s->output_tokens = 4;
                s->price = 0.001;
            }
        }
    }
    char *body = ts_spans_body(sp, (size_t)n * 2, close_after);
    ts_resp *r = ts_req("POST", "/spans-bulk", key, body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    free(body);
    free(sids);
    free(sp);
}

static long get_status(const char *key, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/traces/%s", id);
    ts_resp *r = ts_req("GET", path, key, NULL);
    long st = r->status;
    ts_resp_free(r);
    return st;
}

/* The trace count of key's workspace from both list families. */
static int listed(const char *key)
{
    ts_resp *r = ts_req("GET", "/v1/traces?limit=200", key, NULL);
    TS_STATUS(r, 200);
    int n = cJSON_GetArraySize(ts_jpath(ts_json(r), "traces"));
    ts_resp_free(r);
    r = ts_req("POST", "/api/traces/list/?page_size=100", key, "{}");
    TS_STATUS(r, 200);
    ck_assert_int_eq(TS_J_GETINT(ts_json(r), "count"), n);
    ts_resp_free(r);
    return n;
}

static long long ws_count(const ts_daemon *d, const char *table, const char *ws)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s WHERE ws_id = (SELECT id FROM workspaces WHERE name = '%s')",
             table, ws);
    return ts_d_sql_int(d, sql);
}

/* Rows no trace owns any more: what a delete must not leave behind. */
static void no_orphans(const ts_daemon *d)
{
    static const char *const q[] = {
        "SELECT count(*) FROM spans WHERE trow NOT IN (SELECT id FROM traces)",
        "SELECT count(*) FROM span_ctx WHERE trow NOT IN (SELECT id FROM traces)",
        "SELECT count(*) FROM trace_dims WHERE trow NOT IN (SELECT id FROM traces)",
        "SELECT count(*) FROM request_logs WHERE trace_id <> '' AND trow NOT IN "
        "(SELECT id FROM traces)",
        "SELECT count(*) FROM trace_closures c WHERE NOT EXISTS (SELECT 1 FROM traces t "
        "WHERE t.ws_id = c.ws_id AND t.trace_id = c.trace_id)",
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        ck_assert_msg(ts_d_sql_int(d, q[i]) == 0, "orphans: %s", q[i]);
}

/* `workspace a1 [a2 a3] --db` with env (may be NULL), which must exit 0. */
static void cli_ok(const ts_daemon *d, const char *const *env, const char *a1, const char *a2,
                   const char *a3, char **out)
{
    const char *args[] = {"workspace", a1, a2, a3, "--db", d->db, NULL};
    if (!a2) {
        args[2] = "--db";
        args[3] = d->db;
        args[4] = NULL;
    }
    char *err = NULL;
    int rc = ts_cli(args, env, out, &err);
    ck_assert_msg(rc == 0, "workspace %s: exit %d: %s", a1, rc, err);
    free(err);
}

/* Polls until cond's sql gives want (30 s), failing otherwise. */
static void wait_sql(const ts_daemon *d, const char *sql, long long want)
{
    long long got = -1;
    for (int i = 0; i < 300 && (got = ts_d_sql_int(d, sql)) != want; i++)
        usleep(100000);
    ck_assert_msg(got == want, "%s: %lld, want %lld", sql, got, want);
}

START_TEST(test_retention_sweeps_what_expired)
{
    static const char *const env[] = {
        "TRACESTORE_RETENTION_DAYS=1",        "TRACESTORE_RETENTION_DAY_S=3600",
        "TRACESTORE_RETENTION_SWEEP_S=1",     "TRACESTORE_RETENTION_BATCH=7",
        "TRACESTORE_RETENTION_BATCH_SPANS=9", NULL};
    ts_daemon d;
    char key_gamma[TS_IT_KEY_CAP], *out = NULL;
    char a_old[20][33], a_new[3][33], b_old[6][33], g_2h[3][33], g_4h[3][33];
    int64_t now = now_ns();

    ts_d_init(&d, 1, env);
    ts_cli_key_create(d.db, "gamma", key_gamma);
    /* set without a daemon: beta keeps everything, gamma three "days" */
    cli_ok(&d, NULL, "set-retention", "beta", "0", NULL);
    cli_ok(&d, NULL, "set-retention", "gamma", "3", NULL);
    ts_d_start(&d);

    ingest(d.key_alpha, 10, now - 2 * HOUR_NS, a_old, 0);
    ingest(d.key_alpha, 10, now - 30 * HOUR_NS, a_old + 10, 1); /* closed ones too */
    ingest(d.key_alpha, 3, now, a_new, 0);
    ingest(d.key_beta, 5, now - 2 * HOUR_NS, b_old, 0);
    ingest(d.key_beta, 1, INT64_C(1000000000000000000), b_old + 5, 0); /* 2001 */
    ingest(key_gamma, 3, now - 2 * HOUR_NS, g_2h, 0);
    ingest(key_gamma, 3, now - 4 * HOUR_NS, g_4h, 0);

    wait_sql(&d, "SELECT count(*) FROM traces", 3 + 6 + 3);
    no_orphans(&d);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(get_status(d.key_alpha, a_old[i]), 404);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(get_status(d.key_alpha, a_new[i]), 200);
        ck_assert_int_eq(get_status(key_gamma, g_2h[i]), 200);
        ck_assert_int_eq(get_status(key_gamma, g_4h[i]), 404);
    }
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(get_status(d.key_beta, b_old[i]), 200);
    ck_assert_int_eq(listed(d.key_alpha), 3);
    ck_assert_int_eq(listed(d.key_beta), 6);
    ck_assert_int_eq(listed(key_gamma), 3);
    /* what is left is exactly the survivors' rows */
    ck_assert_int_eq(ws_count(&d, "spans", "alpha"), 6);
    ck_assert_int_eq(ws_count(&d, "request_logs", "alpha"), 3);
    ck_assert_int_eq(ws_count(&d, "trace_closures", "alpha"), 0);
    ck_assert_int_eq(ws_count(&d, "trace_dims", "alpha"),
                     ts_d_sql_int(&d, "SELECT count(*) FROM trace_dims WHERE trow IN (SELECT id FROM "
                                 "traces WHERE ws_id = (SELECT id FROM workspaces WHERE name = "
                                 "'alpha'))"));
    ck_assert_int_gt(ws_count(&d, "trace_dims", "alpha"), 0);
    ck_assert_int_eq(ws_count(&d, "spans", "beta"), 12);
    ck_assert_int_eq(ws_count(&d, "request_logs", "beta"), 6);
    ck_assert_int_eq(ws_count(&d, "spans", "gamma"), 6);

    /* an expired id comes back as a new trace */
    char again[1][33];
    ingest(d.key_alpha, 1, now, again, 0);
    ck_assert_int_eq(get_status(d.key_alpha, again[0]), 200);

    /* "(default)": the command's own configuration, here the daemon's */
    cli_ok(&d, env, "list", NULL, NULL, &out);
    ck_assert_msg(strstr(out, "WORKSPACE") == out, "header: %s", out);
    char line[128];
    snprintf(line, sizeof line, "\n%-24s %6d %12d %s\n", "alpha", 2, 4, "1d (default)");
    ck_assert_msg(strstr(out, line), "no line '%s' in:\n%s", line + 1, out);
    snprintf(line, sizeof line, "\n%-24s %6d %12d %s\n", "beta", 1, 6, "forever");
    ck_assert_msg(strstr(out, line), "no line '%s' in:\n%s", line + 1, out);
    snprintf(line, sizeof line, "\n%-24s %6d %12d %s\n", "gamma", 1, 3, "3d");
    ck_assert_msg(strstr(out, line), "no line '%s' in:\n%s", line + 1, out);
    free(out);
    char *log = ts_d_read_log(&d);
    ck_assert_msg(strstr(log, "msg=\"retention sweep\""), "no sweep logged:\n%s", log);
    free(log);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

/* Retention set while the daemon runs reaches its sweeper; a sweep of
 * many batches leaves ingest answered in between; `default` puts the
 * config's retention (forever here) back. */
START_TEST(test_retention_set_while_serving)
{
    static const char *const env[] = {"TRACESTORE_RETENTION_DAY_S=3600",
                                      "TRACESTORE_RETENTION_SWEEP_S=1",
                                      "TRACESTORE_RETENTION_BATCH=10", NULL};
    enum { OLD = 1500, PER = 100 };
    ts_daemon d;
    static char old[OLD][33];
    char fresh[400][33];
    int64_t now = now_ns();
    int mid = 0, nfresh = 0;

    ts_d_init(&d, 1, env);
    ts_d_start(&d);
    for (int i = 0; i < OLD; i += PER)
        ingest(d.key_alpha, PER, now - 2 * HOUR_NS, old + i, 0);
    ingest(d.key_beta, 2, now - 2 * HOUR_NS, fresh, 0);
    sleep(2); /* two sweeps: retention is forever by default */
    ck_assert_int_eq(ws_count(&d, "traces", "alpha"), OLD);

    cli_ok(&d, NULL, "set-retention", "alpha", "1", NULL);
    long long left = OLD;
    for (int i = 0; i < 3000 && left > 0 && nfresh < 400; i++) {
        ingest(d.key_alpha, 1, now_ns(), fresh + nfresh, 0);
        nfresh++;
        left = ts_d_sql_int(&d, "SELECT count(*) FROM traces WHERE ws_id = (SELECT id FROM "
                           "workspaces WHERE name = 'alpha') AND ended_ns < " /* old only */
                           "strftime('%s','now') * 1000000000 - 3600000000000");
        mid += left > 0 && left < OLD;
    }
    wait_sql(&d,
             "SELECT count(*) FROM traces WHERE ws_id = (SELECT id FROM workspaces WHERE name = "
             "'alpha')",
             nfresh);
    ck_assert_msg(mid > 0, "no ingest answered while the sweep ran (%d sent)", nfresh);
    for (int i = 0; i < nfresh; i++)
        ck_assert_int_eq(get_status(d.key_alpha, fresh[i]), 200);
    ck_assert_int_eq(ws_count(&d, "traces", "beta"), 2);
    no_orphans(&d);

    cli_ok(&d, NULL, "set-retention", "alpha", "default", NULL);
    ingest(d.key_alpha, 2, now - 2 * HOUR_NS, old, 0);
    sleep(2);
    ck_assert_int_eq(get_status(d.key_alpha, old[0]), 200);
    ck_assert_int_eq(get_status(d.key_alpha, old[1]), 200);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

/* The space of swept traces is reused, not returned; `tracestore vacuum`
 * returns it, refusing while the daemon has the database open. */
START_TEST(test_vacuum_after_sweep)
{
    static const char *const env[] = {"TRACESTORE_RETENTION_DAYS=1",
                                      "TRACESTORE_RETENTION_DAY_S=3600",
                                      "TRACESTORE_RETENTION_SWEEP_S=1", NULL};
    ts_daemon d;
    static char old[800][33];
    char keep[5][33], *out = NULL, *err = NULL;
    struct stat st;
    int64_t now = now_ns();

    ts_d_init(&d, 1, env);
    ts_d_start(&d);
    for (int i = 0; i < 800; i += 100)
        ingest(d.key_alpha, 100, now - 2 * HOUR_NS, old + i, 0);
    ingest(d.key_alpha, 5, now, keep, 0);
    wait_sql(&d, "SELECT count(*) FROM traces", 5);

    const char *args[] = {"vacuum", "--db", d.db, NULL};
    ck_assert_int_eq(ts_cli(args, NULL, NULL, &err), 1);
    ck_assert_msg(strstr(err, "in use by another process"), "%s", err);
    free(err);
    char again[1][33];
    ingest(d.key_alpha, 1, now, again, 0); /* the daemon is unharmed */
    ts_d_stop(&d);

    long long free_before = ts_d_sql_int(&d, "PRAGMA freelist_count");
    ck_assert_int_eq(stat(d.db, &st), 0);
    off_t size_before = st.st_size;
    ck_assert_int_gt(free_before, 0);
    ck_assert_int_eq(ts_cli(args, NULL, &out, &err), 0);
    ck_assert_msg(strstr(out, "vacuumed "), "%s", out);
    free(out);
    free(err);
    ck_assert_int_eq(ts_d_sql_int(&d, "PRAGMA freelist_count"), 0);
    ck_assert_int_eq(stat(d.db, &st), 0);
    ck_assert_msg(st.st_size < size_before, "%lld bytes, before %lld", (long long)st.st_size,
                  (long long)size_before);
    ck_assert_int_eq(ts_d_sql_int(&d, "SELECT count(*) FROM pragma_integrity_check WHERE "
                                 "integrity_check <> 'ok'"),
                     0);

    ts_d_start(&d);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(get_status(d.key_alpha, keep[i]), 200);
    ck_assert_int_eq(get_status(d.key_alpha, again[0]), 200);
    ck_assert_int_eq(listed(d.key_alpha), 6);
    ts_d_stop(&d);

    const char *missing[] = {"vacuum", "--db", "/nonexistent/x.db", NULL};
    ck_assert_int_eq(ts_cli(missing, NULL, NULL, &err), 1);
    ck_assert_msg(strstr(err, "cannot open database"), "%s", err);
    free(err);
    ts_d_free(&d);
}
END_TEST

START_TEST(test_retention_cli_errors)
{
    ts_daemon d;
    char *err = NULL;
    ts_d_init(&d, 1, NULL);
    const char *unknown[] = {"workspace", "set-retention", "nobody", "3", "--db", d.db, NULL};
    ck_assert_int_eq(ts_cli(unknown, NULL, NULL, &err), 1);
    ck_assert_msg(strstr(err, "no workspace named 'nobody'"), "%s", err);
    free(err);
    static const char *const bad[] = {"-1", "x", "36501", "3d", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *a[] = {"workspace", "set-retention", "alpha", bad[i], "--db", d.db, NULL};
        ck_assert_int_eq(ts_cli(a, NULL, NULL, &err), 2);
        ck_assert_msg(strstr(err, "DAYS must be") || strstr(err, "unknown option"), "%s: %s",
                      bad[i], err);
        free(err);
    }
    const char *sub[] = {"workspace", "rename", "--db", d.db, NULL};
    ck_assert_int_eq(ts_cli(sub, NULL, NULL, &err), 2);
    free(err);
    ts_d_free(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("retention");
    TCase *tc = tcase_create("retention");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_retention_sweeps_what_expired);
    tcase_add_test(tc, test_retention_set_while_serving);
    tcase_add_test(tc, test_vacuum_after_sweep);
    tcase_add_test(tc, test_retention_cli_errors);
    suite_add_tcase(s, tc);
    return ts_it_run(s);
}
