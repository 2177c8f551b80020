/* test_crash.c: crash durability. Drives concurrent /spans-bulk ingest,
 * kills the daemon with SIGKILL at a random moment, restarts it and checks
 * that every request answered 2xx is fully present with correct trace
 * aggregates, that no request is half-stored (a batch is atomic), and that
 * the database passes PRAGMA integrity_check, with checkpoints running all
 * the while. Iterations: TS_CRASH_ITERATIONS (default 20). Also: SIGTERM under load drains cleanly.
 * On PostgreSQL (integration-pg/test_crash) the same kills and checks run;
 * the SQLite file checks (integrity_check, the WAL folded at shutdown) are
 * skipped: the daemon owns no file there. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define REQS 120
#define SPANS 5
#define TOKENS_IN 7
#define TOKENS_OUT 3

static ts_daemon d;

static void kill_now(void *arg)
{
    ts_daemon *dd = arg;
    ts_d_signal(dd, SIGKILL);
}

/* One request = one trace of SPANS spans with known tokens and price. */
static char *make_body(int iter, int req)
{
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    n += (size_t)snprintf(b + n, cap - n, "{\"spans\":[");
    for (int s = 0; s < SPANS; s++) {
        n += (size_t)snprintf(
            b + n, cap - n,
            "%s{\"name\":\"s%d\",\"context\":{\"trace_id\":\"crash-%d-%d\",\"span_id\":\"sp%d\"},"
            "\"kind\":\"SpanKind.INTERNAL\",%s\"start_time\":%d,\"end_time\":%d,"
            "\"status\":{\"status_code\":\"StatusCode.OK\"},\"attributes\":{\"i\":%d},"
            "\"log_request\":{\"provider\":\"openai\",\"model\":\"gpt-4o\",\"input\":\"q\","
            "\"output\":\"a\",\"input_tokens\":%d,\"output_tokens\":%d,\"price\":0.5}}",
            s ? "," : "", s, iter, req, s, s ? "\"parent_id\":\"sp0\"," : "", 1000 + s, 2000 + s, s,
            TOKENS_IN, TOKENS_OUT);
    }
    snprintf(b + n, cap - n, "]}");
    return b;
}

static void integrity_ok(const char *db)
{
    char cmd[TS_IT_PATH_CAP + 64], line[256] = "";
    static int told;
    if (ts_backend_is_pg()) {
        if (!told++)
            fprintf(stderr, "integrity_ok: skipped on postgres: PRAGMA integrity_check reads the "
                            "SQLite file\n");
        return;
    }
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA integrity_check'", db);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    if (!fgets(line, sizeof(line), p))
        line[0] = '\0';
    int rc = pclose(p);
    ck_assert_msg(rc == 0 && strncmp(line, "ok", 2) == 0, "integrity_check: rc=%d out=%s", rc,
                  line);
}

/* Every acknowledged trace is complete; others are absent or complete. */
static void verify(int iter, const long *status, long *acked, long *seen)
{
    char path[128];
    for (int i = 0; i < REQS; i++) {
        snprintf(path, sizeof(path), "/v1/traces/crash-%d-%d", iter, i);
        ts_resp *r = ts_req("GET", path, d.key_alpha, NULL);
        int ok = status[i] >= 200 && status[i] < 300;
        if (ok)
            (*acked)++;
        if (r->status == 404) {
            ck_assert_msg(!ok, "acknowledged trace %s lost after SIGKILL", path);
        } else {
            TS_STATUS(r, 200);
            cJSON *j = ts_json(r);
            TS_J_INT(j, "span_count", SPANS);
            TS_J_INT(j, "prompt_tokens_total", SPANS * TOKENS_IN);
            TS_J_INT(j, "completion_tokens_total", SPANS * TOKENS_OUT);
            TS_J_INT(j, "total_token_count", SPANS * (TOKENS_IN + TOKENS_OUT));
            TS_J_NUM(j, "cost", SPANS * 0.5);
            TS_J_STR(j, "name", "s0");
            TS_J_LEN(j, "spans", SPANS);
            (*seen)++;
        }
        ts_resp_free(r);
    }
}

START_TEST(test_sigkill_loses_nothing_acknowledged)
{
    const char *env_it = getenv("TS_CRASH_ITERATIONS");
    int iterations = env_it ? atoi(env_it) : 20;
    long acked = 0, seen = 0, kills = 0;
    static char *bodies[REQS];
    static long status[REQS];

    /* Small checkpoint thresholds: kills land during background
     * checkpoints, the writer's own, and right after WAL restarts. */
    static const char *const env[] = {"TRACESTORE_SQLITE_CHECKPOINT_PAGES=64",
                                      "TRACESTORE_SQLITE_WAL_MAX_PAGES=192", NULL};

    srand((unsigned)time(NULL));
    ts_d_init(&d, 1, env);
    for (int iter = 0; iter < iterations; iter++) {
        ts_d_start(&d);
        for (int i = 0; i < REQS; i++)
            bodies[i] = make_body(iter, i);
        size_t after = 10 + (size_t)(rand() % (REQS - 20));
        ts_http_parallel("/spans-bulk", d.key_alpha, bodies, REQS, 16, status, NULL, after,
                         kill_now, &d);
        int ws = ts_d_stop_status(&d); /* reaps the killed process */
        ck_assert_msg(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL,
                      "daemon was expected to die by SIGKILL (status %d)", ws);
        kills++;
        ts_d_start(&d);
        verify(iter, status, &acked, &seen);
        ts_d_stop(&d);
        integrity_ok(d.db);
        for (int i = 0; i < REQS; i++)
            free(bodies[i]);
    }
    fprintf(stderr, "crash: %ld SIGKILLs, %ld acknowledged requests, %ld traces present, 0 lost\n",
            kills, acked, seen);
    ck_assert_int_ge(acked, 1);
    ts_d_free(&d);
}
END_TEST

static void term_now(void *arg)
{
    ts_daemon *dd = arg;
    ts_d_signal(dd, SIGTERM);
}

/* SIGTERM under load: every answered request is a committed one, the
 * daemon exits 0 within the drain window and the WAL is checkpointed. */
START_TEST(test_sigterm_under_load_drains)
{
    static char *bodies[REQS];
    static long status[REQS];
    long acked = 0, seen = 0;
    char wal[TS_IT_PATH_CAP + 8];
    struct timespec t0, t1;

    ts_d_init(&d, 1, NULL);
    ts_d_start(&d);
    for (int i = 0; i < REQS; i++)
        bodies[i] = make_body(1000, i);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ts_http_parallel("/spans-bulk", d.key_alpha, bodies, REQS, 32, status, NULL, REQS / 3, term_now,
                     &d);
    ts_d_wait_exit0(&d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(secs < 10.0, "drain took %.1f s", secs);
    /* After a clean stop the WAL is folded into the database. */
    snprintf(wal, sizeof(wal), "%s-wal", d.db);
    if (ts_backend_is_pg())
        fprintf(stderr, "WAL check: skipped on postgres: SQLite's WAL file\n");
    FILE *f = ts_backend_is_pg() ? NULL : fopen(wal, "rb");
    if (f) {
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fclose(f);
        ck_assert_msg(sz == 0, "WAL not checkpointed at shutdown: %ld bytes", sz);
    }
    for (int i = 0; i < REQS; i++)
        ck_assert_msg(status[i] == 0 || status[i] == 201 || status[i] == 503,
                      "request %d answered %ld during shutdown", i, status[i]);
    ts_d_start(&d);
    verify(1000, status, &acked, &seen);
    ts_d_stop(&d);
    integrity_ok(d.db);
    ck_assert_int_ge(acked, REQS / 3);
    for (int i = 0; i < REQS; i++)
        free(bodies[i]);
    ts_d_free(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-crash");
    TCase *tc = tcase_create("sigkill");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_sigkill_loses_nothing_acknowledged);
    tcase_add_test(tc, test_sigterm_under_load_drains);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
