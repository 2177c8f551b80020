/* test_ops.c: operational features over the real binary: the per-key rate
 * limit (429 + Retry-After in each family's shape), the online backup
 * taken while the daemon serves ingest, the write-stage report that
 * SIGUSR1 asks for, and checkpoints (background and the writer's own,
 * which keeps the WAL bounded). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static char *span_body(const char *trace, int i)
{
    char *b = malloc(512);
    ck_assert_ptr_nonnull(b);
    snprintf(b, 512,
             "{\"spans\":[{\"name\":\"op\",\"context\":{\"trace_id\":\"%s-%d\",\"span_id\":\"s\"},"
             "\"kind\":\"SpanKind.INTERNAL\",\"start_time\":1,\"end_time\":2,"
             "\"status\":{\"status_code\":\"StatusCode.OK\"}}]}",
             trace, i);
    return b;
}

/* POSTs n one-span traces "<trace>-0" .. "<trace>-(n-1)", each answered 201. */
static void post_spans(const ts_daemon *d, const char *trace, int n)
{
    for (int i = 0; i < n; i++) {
        char *b = span_body(trace, i);
        ts_resp *r = ts_req("POST", "/spans-bulk", d->key_alpha, b);
        TS_STATUS(r, 201);
        ts_resp_free(r);
        free(b);
    }
}

START_TEST(test_rate_limit_per_key)
{
    static const char *const env[] = {"TRACESTORE_RATE_LIMIT_PER_KEY=3", NULL};
    ts_daemon d;
    char ra[32];
    int n429 = 0, n200ish = 0;

    ts_d_init(&d, 1, env);
    ts_d_start(&d);
    for (int i = 0; i < 10; i++) {
        ts_resp *r = ts_req("GET", "/v1/traces/none", d.key_alpha, NULL);
        if (r->status == 429) {
            n429++;
            ck_assert_msg(ts_resp_header(r, "Retry-After", ra, sizeof(ra)) && atoi(ra) >= 1,
                          "429 without Retry-After");
            TS_J_STR(ts_json(r), "code", "rate_limited");
        } else {
            TS_STATUS(r, 404);
            n200ish++;
        }
        ts_resp_free(r);
    }
    ck_assert_int_ge(n429, 5);
    ck_assert_int_ge(n200ish, 3);
    /* Another key has its own bucket. */
    ts_resp *r = ts_req("GET", "/v1/traces/none", d.key_beta, NULL);
    TS_STATUS(r, 404);
    ts_resp_free(r);
    /* Respan routes answer 429 in their own shape. */
    for (int i = 0; i < 5; i++) {
        r = ts_req("DELETE", "/api/traces/none/", d.key_beta, NULL);
        if (r->status == 429) {
            ck_assert_ptr_nonnull(ts_jpath(ts_json(r), "detail"));
            ts_resp_free(r);
            break;
        }
        ts_resp_free(r);
        ck_assert_int_lt(i, 4);
    }
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

/* POST /track-request authenticates in its handler (the key may travel in
 * the body), and is limited like every route: key in the body or in the
 * header, each key with its own bucket (issue 23 point 2). */
static int track_429s(const char *body_key, const char *header_key, int n)
{
    char b[512], h[160], ra[32];
    const char *hs[2] = {h, NULL};
    int n429 = 0;
    snprintf(h, sizeof h, "X-API-KEY: %s", header_key ? header_key : "");
    if (body_key)
        snprintf(b, sizeof b, "{\"api_key\":\"%s\",\"kwargs\":{\"model\":\"gpt-4o\"}}", body_key);
    else
        snprintf(b, sizeof b, "{\"kwargs\":{\"model\":\"gpt-4o\"}}");
    for (int i = 0; i < n; i++) {
        ts_resp *r = ts_http("POST", "/track-request", header_key ? hs : NULL, b, strlen(b));
        if (r->status == 429) {
            n429++;
            ck_assert_msg(ts_resp_header(r, "Retry-After", ra, sizeof(ra)) && atoi(ra) >= 1,
                          "429 without Retry-After");
            TS_J_BOOL(ts_json(r), "success", 0);
            TS_J_STR(ts_json(r), "error", "rate_limited");
        } else {
            TS_STATUS(r, 200);
        }
        ts_resp_free(r);
    }
    return n429;
}

START_TEST(test_rate_limit_track_request)
{
    static const char *const env[] = {"TRACESTORE_RATE_LIMIT_PER_KEY=3", NULL};
    ts_daemon d;
    ts_d_init(&d, 1, env);
    ts_d_start(&d);
    int body = track_429s(d.key_alpha, NULL, 10);
    int header = track_429s(NULL, d.key_beta, 10);
    ck_assert_msg(body >= 5, "key in the body: %d of 10 requests limited", body);
    ck_assert_msg(header >= 5, "key in the header: %d of 10 requests limited", header);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

/* Revokes every key starting with key's first 12 characters, naming the
 * database by db. */
static void revoke_key(const char *key, const char *db)
{
    char prefix[13], *out = NULL, *err = NULL;
    snprintf(prefix, sizeof prefix, "%.12s", key);
    const char *args[] = {"key", "revoke", prefix, "--db", db, NULL};
    int rc = ts_cli(args, NULL, &out, &err);
    ck_assert_msg(rc == 0, "key revoke %s --db %s: exit %d\nstderr: %s", prefix, db, rc, err);
    free(out);
    free(err);
}

/* The daemon opens the database through a symlink; `key revoke` names the
 * file itself, and later the daemon's own spelling names it by a second
 * symlink. With the default key_cache_ms (10 s) each revoked key is
 * refused on the very next request (issue 23 point 9). */
START_TEST(test_revoke_through_another_path)
{
    ts_daemon d;
    char real[TS_IT_PATH_CAP], link2[TS_IT_PATH_CAP + 16];
    ts_d_init(&d, 1, NULL);
    snprintf(real, sizeof real, "%s", d.db);
    snprintf(d.db, sizeof d.db, "%s/link.db", d.dir);
    ck_assert_int_eq(symlink("tracestore.db", d.db), 0);
    snprintf(link2, sizeof link2, "%s/./other-link.db", d.dir);
    ck_assert_int_eq(symlink(real, link2), 0);
    ts_d_start(&d);
    const char *keys[2] = {d.key_alpha2, d.key_beta};
    const char *dbs[2] = {real, link2};
    for (int i = 0; i < 2; i++) {
        /* cached as valid first */
        ts_resp *r = ts_req("GET", "/v1/traces/none", keys[i], NULL);
        TS_STATUS(r, 404);
        ts_resp_free(r);
        revoke_key(keys[i], dbs[i]);
        r = ts_req("GET", "/v1/traces/none", keys[i], NULL);
        ck_assert_msg(r->status == 401, "key revoked via %s still answered %ld", dbs[i], r->status);
        ts_resp_free(r);
    }
    ts_resp *r = ts_req("GET", "/v1/traces/none", d.key_alpha, NULL);
    TS_STATUS(r, 404);
    ts_resp_free(r);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

static ts_daemon *backup_daemon;
static char backup_path[TS_IT_PATH_CAP];
static int backup_rc = -1;

/* Runs `tracestore backup` while the parallel ingest is still going. */
static void take_backup(void *arg)
{
    const char *args[] = {"backup", backup_path, "--db", backup_daemon->db, NULL};
    (void)arg;
    backup_rc = ts_cli(args, NULL, NULL, NULL);
}

START_TEST(test_backup_while_serving)
{
    enum { N = 200 };
    static char *bodies[N];
    static long status[N];
    ts_daemon d, copy;
    char path[128];

    ts_d_init(&d, 1, NULL);
    ts_d_start(&d);
    /* Acknowledged before the backup begins. */
    post_spans(&d, "before", 20);
    for (int i = 0; i < N; i++)
        bodies[i] = span_body("during", i);
    backup_daemon = &d;
    snprintf(backup_path, sizeof(backup_path), "%s/backup.db", d.dir);
    ts_http_parallel("/spans-bulk", d.key_alpha, bodies, N, 8, status, NULL, N / 2, take_backup,
                     NULL);
    ck_assert_int_eq(backup_rc, 0);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(status[i], 201);
        free(bodies[i]);
    }
    ts_d_stop(&d);

    /* Serve the copy: the keys live in the database, so alpha's key works. */
    ts_d_init(&copy, 0, NULL);
    snprintf(copy.db, sizeof(copy.db), "%s", backup_path);
    ts_d_start(&copy);
    for (int i = 0; i < 20; i++) {
        snprintf(path, sizeof(path), "/v1/traces/before-%d", i);
        ts_resp *r = ts_req("GET", path, d.key_alpha, NULL);
        TS_STATUS(r, 200);
        TS_J_INT(ts_json(r), "span_count", 1);
        ts_resp_free(r);
    }
    ts_d_stop(&copy);
    /* A second backup to an existing path is refused. */
    const char *args[] = {"backup", backup_path, "--db", d.db, NULL};
    ck_assert_int_ne(ts_cli(args, NULL, NULL, NULL), 0);
    copy.db[0] = '\0';
    ts_d_free(&copy);
    ts_d_free(&d);
}
END_TEST

/* The n-th (1-based) "write stages" line of d's log, or NULL when it has
 * not appeared within 5 s. malloc'd. */
static char *stage_line(ts_daemon *d, int n)
{
    for (int tries = 0; tries < 500; tries++) {
        char *log = ts_d_read_log(d), *p = log;
        for (int i = 0; p && i < n; i++)
            if ((p = strstr(p, "msg=\"write stages\"")) && i < n - 1)
                p++;
        if (p) {
            char *end = strchr(p, '\n');
            char *line = strndup(p, end ? (size_t)(end - p) : strlen(p));
            free(log);
            return line;
        }
        free(log);
        usleep(10000);
    }
    return NULL;
}

static double stage_field(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), " %s=", key);
    const char *p = strstr(line, pat);
    ck_assert_msg(p != NULL, "no %s in: %s", key, line);
    return strtod(p + strlen(pat), NULL);
}

START_TEST(test_write_stage_report)
{
    /* At level warn: the report is printed because an operator asked. */
    static const char *const env[] = {"TRACESTORE_LOG_LEVEL=warn", NULL};
    static const char *const stages[] = {"body_us",   "handler_us", "queue_us", "tx_us",
                                         "sync_us",   "resume_us",  "send_us"};
    ts_daemon d;
    ts_d_init(&d, 1, env);
    ts_d_start(&d);
    /* Start-up's health probes were writes (GET /healthz goes through the
     * writer); this report takes them away. A write is counted when MHD
     * reports it complete, just after the client has the answer: the
     * pauses let the last one be counted before a report. */
    usleep(300000);
    ts_d_signal(&d, SIGUSR1);
    char *line = stage_line(&d, 1);
    ck_assert_msg(line != NULL, "no write-stage report after SIGUSR1");
    free(line);
    post_spans(&d, "stages", 5);
    ts_resp *r = ts_req("GET", "/healthz", NULL, NULL);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    /* Refused before the store and reads are not writes. */
    r = ts_req("POST", "/spans-bulk", d.key_alpha, "{\"spans\": 5}");
    TS_STATUS(r, 422);
    ts_resp_free(r);
    r = ts_req("GET", "/v1/traces/stages-1", d.key_alpha, NULL);
    ts_resp_free(r);

    usleep(300000);
    ts_d_signal(&d, SIGUSR1);
    line = stage_line(&d, 2);
    ck_assert_msg(line != NULL, "no write-stage report after SIGUSR1");
    ck_assert_double_eq(stage_field(line, "writes"), 6);
    double sum = 0;
    for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
        double v = stage_field(line, stages[i]);
        ck_assert_msg(v >= 0, "%s negative in: %s", stages[i], line);
        sum += v;
    }
    double total = stage_field(line, "total_us");
    ck_assert_msg(total > 0, "total 0 in: %s", line);
    /* Each stage is rounded to a microsecond on its own. */
    ck_assert_msg(sum >= total - 8 && sum <= total + 8, "stages %.0f vs total %.0f", sum, total);
    ck_assert_double_ge(stage_field(line, "transactions"), 1);
    ck_assert_double_le(stage_field(line, "transactions"), 6);
    free(line);

    /* The report starts over: nothing was written since. */
    ts_d_signal(&d, SIGUSR1);
    line = stage_line(&d, 3);
    ck_assert_msg(line != NULL, "no third report after SIGUSR1");
    ck_assert_double_eq(stage_field(line, "writes"), 0);
    ck_assert_double_eq(stage_field(line, "transactions"), 0);
    free(line);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

/* A request of CK_SPANS spans of about 1 KB each in trace "ckpt-<i>". */
#define CK_SPANS 40
static char *big_body(int i)
{
    size_t cap = CK_SPANS * 1400 + 64, n = 0;
    char *b = malloc(cap), pad[1001];
    ck_assert_ptr_nonnull(b);
    for (int k = 0; k < 1000; k++)
        pad[k] = (char)('a' + (i + k) % 26);
    pad[1000] = '\0';
    n += (size_t)snprintf(b + n, cap - n, "{\"spans\":[");
    for (int s = 0; s < CK_SPANS; s++)
        n += (size_t)snprintf(b + n, cap - n,
                              "%s{\"name\":\"s%d\",\"context\":{\"trace_id\":\"ckpt-%d\","
                              "\"span_id\":\"sp%d\"},\"kind\":\"SpanKind.INTERNAL\","
                              "\"start_time\":%d,\"end_time\":%d,\"status\":{\"status_code\":"
                              "\"StatusCode.OK\"},\"attributes\":{\"pad\":\"%s\"}}",
                              s ? "," : "", s, i, s, 1000 + s, 2000 + s, pad);
    snprintf(b + n, cap - n, "]}");
    return b;
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    long sz = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        sz = ftell(f);
    if (f)
        fclose(f);
    return sz;
}

/* With small thresholds: the checkpointer copies in the background, the
 * writer checkpoints itself when the WAL reaches its bound, the WAL
 * restarts (its file stays far smaller than what was written through it),
 * and every acknowledged span is there, in a database that passes
 * integrity_check. */
START_TEST(test_checkpoints_keep_the_wal_bounded)
{
    static const char *const env[] = {"TRACESTORE_LOG_LEVEL=warn",
                                      "TRACESTORE_SQLITE_CHECKPOINT_PAGES=64",
                                      "TRACESTORE_SQLITE_WAL_MAX_PAGES=256", NULL};
    enum { N = 150 };
    static char *bodies[N];
    static long status[N];
    char wal[TS_IT_PATH_CAP + 8], path[64], cmd[TS_IT_PATH_CAP + 64], out[64] = "";
    ts_daemon d;

    ts_d_init(&d, 1, env);
    ts_d_start(&d);
    for (int i = 0; i < N; i++)
        bodies[i] = big_body(i);
    ts_http_parallel("/spans-bulk", d.key_alpha, bodies, N, 8, status, NULL, 0, NULL, NULL);
    for (int i = 0; i < N; i++)
        ck_assert_msg(status[i] == 201, "request %d answered %ld", i, status[i]);
    usleep(300000);
    ts_d_signal(&d, SIGUSR1);
    char *line = stage_line(&d, 1);
    ck_assert_msg(line != NULL, "no write-stage report after SIGUSR1");
    ck_assert_msg(stage_field(line, "checkpoints") >= 1, "no background checkpoint: %s", line);
    ck_assert_msg(stage_field(line, "writer_checkpoints") >= 1, "the writer never checkpointed: %s",
                  line);
    snprintf(wal, sizeof(wal), "%s-wal", d.db);
    fprintf(stderr, "checkpoints: %.0f background, %.0f by the writer; WAL file %ld bytes\n",
            stage_field(line, "checkpoints"), stage_field(line, "writer_checkpoints"),
            file_size(wal));
    free(line);
    /* 6,000 spans of 1 KB went through the WAL: over 1,500 pages, 6 MB.
     * Restarted at 256 pages, the file holds at most that plus one
     * transaction (8 requests), never all of it. */
    long sz = file_size(wal);
    ck_assert_msg(sz > 0 && sz < 1100L * 4120, "WAL file is %ld bytes", sz);
    for (int i = 0; i < N; i += 7) {
        snprintf(path, sizeof(path), "/v1/traces/ckpt-%d", i);
        ts_resp *r = ts_req("GET", path, d.key_alpha, NULL);
        TS_STATUS(r, 200);
        cJSON *j = ts_json(r);
        TS_J_INT(j, "span_count", CK_SPANS);
        ts_resp_free(r);
    }
    ts_d_stop(&d);
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA integrity_check; SELECT count(*) FROM spans'",
             d.db);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
    ck_assert_str_eq(out, "ok\n");
    ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
    ck_assert_int_eq(atoi(out), N * CK_SPANS);
    pclose(p);
    for (int i = 0; i < N; i++)
        free(bodies[i]);
    ts_d_free(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-ops");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rate_limit_per_key);
    tcase_add_test(tc, test_rate_limit_track_request);
    tcase_add_test(tc, test_revoke_through_another_path);
    tcase_add_test(tc, test_backup_while_serving);
    tcase_add_test(tc, test_write_stage_report);
    tcase_add_test(tc, test_checkpoints_keep_the_wal_bounded);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
