/* test_pg_multi.c: two daemons on one PostgreSQL database (issue 19, point
 * 4, the writes): one trace ingested through both at once, with retries of
 * the same spans carrying other tokens, sums exactly its stored spans; a
 * close through A makes B reject later spans (trace_closed), and a close
 * racing ingest never loses an acknowledged span nor keeps a rejected
 * one; a delete through A is gone through B when its 200 arrives; a key
 * revoked by the CLI stops working on both within key_cache_ms; a
 * /track-request log and its span that missed each other (each job looked
 * before the other committed) are joined by the next retention sweep.
 * Runs as integration-pg/test_pg_multi (TS_TEST_STORE=postgres, the
 * suites' cluster); skipped elsewhere. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define T0 INT64_C(1700000000000000000)
#define MS INT64_C(1000000)

static ts_daemon A, B;
static const char *key;

/* Key lookups are cached for a second (the revoke test waits on it). */
#define KEY_CACHE_MS 1000
static const char *const serve_env[] = {"TRACESTORE_KEY_CACHE_MS=1000", NULL};

/* A fresh database, daemons A and B serving it, A's keys. */
static void up(void)
{
    ts_d_init(&A, 1, serve_env);
    ts_d_init_shared(&B, &A, serve_env);
    key = A.key_alpha;
    ts_d_start(&A);
    ts_d_start(&B);
}

static void down(void)
{
    ts_d_free(&B);
    ts_d_free(&A);
}

static ts_resp *on(ts_daemon *d, const char *method, const char *path, const char *body)
{
    ts_cur = d;
    return ts_req(method, path, key, body);
}

static ts_span_spec spec(const char *tid, const char *sid, int64_t in, int64_t outt, double price)
{
    ts_span_spec s;
    memset(&s, 0, sizeof s);
    s.trace_id = tid;
    s.span_id = sid;
    s.name = "s";
    s.start_ns = T0;
    s.end_ns = T0 + MS;
    s.model = "gpt-4o";
    s.input_tokens = in;
    s.output_tokens = outt;
    s.price = price;
    return s;
}

/* POSTs one span; 1 when it was stored, 0 when rejected (trace_closed),
 * -1 for any other answer. */
static int post_span(ts_daemon *d, const ts_span_spec *s)
{
    char *body = ts_spans_body(s, 1, 0);
    ts_resp *r = on(d, "POST", "/spans-bulk", body);
    int res = -1;
    free(body);
    /* no Check assertion here: writers are forked children */
    cJSON *j = r->status == 201 ? cJSON_Parse(r->body) : NULL;
    if (j) {
        const cJSON *rej = ts_jpath(j, "rejected_span_ids");
        const cJSON *why = ts_jpath(j, "rejection_reason");
        if (rej && cJSON_GetArraySize(rej) == 1 && cJSON_IsString(why) &&
            strcmp(why->valuestring, "trace_closed") == 0)
            res = 0;
        else if (!rej && cJSON_GetArraySize(ts_jpath(j, "spans")) == 1)
            res = 1;
    }
    if (res < 0)
        fprintf(stderr, "POST /spans-bulk %s: %ld %s\n", s->span_id, r->status, r->body);
    cJSON_Delete(j);
    ts_resp_free(r);
    return res;
}

/* Forks a writer that POSTs spans of tid one request at a time: span
 * `first + i*step` (i < n) with tokens from `salt`, through d. Each
 * outcome is a line "<span id> <post_span result>" in file. */
static pid_t writer(ts_daemon *d, const char *tid, int first, int step, int n, int salt,
                    const char *file)
{
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid)
        return pid;
    FILE *f = fopen(file, "w");
    if (!f)
        _exit(2);
    for (int i = 0; i < n; i++) {
        char sid[32];
        int k = first + i * step;
        snprintf(sid, sizeof sid, "sp%04d", k);
        /* prices in 1/64 USD: every sum of them is exact in a double */
        ts_span_spec s = spec(tid, sid, 10 * k + salt, salt + 1, (double)(k % 7 + salt) / 64.0);
        fprintf(f, "%s %d\n", sid, post_span(d, &s));
        fflush(f);
    }
    fclose(f);
    _exit(0);
}

static void wait_ok(pid_t pid)
{
    int st = 0;
    ck_assert_msg(waitpid(pid, &st, 0) == pid, "waitpid: %s", strerror(errno));
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer exited with status %d", st);
}

/* GET /v1/traces/{tid} through d: its totals equal the sums over its
 * spans exactly; returns the span count. */
static int check_sums(ts_daemon *d, const char *tid)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/traces/%s", tid);
    ts_resp *r = on(d, "GET", path, NULL);
    TS_STATUS(r, 200);
    cJSON *j = ts_json(r);
    const cJSON *spans = ts_jpath(j, "spans");
    int n = cJSON_GetArraySize(spans);
    int64_t p = 0, c = 0;
    double cost = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *s = cJSON_GetArrayItem(spans, i);
        p += (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "prompt_tokens"));
        c += (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "completion_tokens"));
        cost += cJSON_GetNumberValue(cJSON_GetObjectItem(s, "cost"));
    }
    TS_J_INT(j, "span_count", n);
    TS_J_INT(j, "prompt_tokens_total", p);
    TS_J_INT(j, "completion_tokens_total", c);
    TS_J_INT(j, "total_token_count", p + c);
    ts_j_num_at(__FILE__, __LINE__, j, "cost", cost, 0.0);
    ts_resp_free(r);
    return n;
}

/* Reads a writer's file: counts of stored (1) and rejected (0) answers;
 * fails on any other. stored/rejected: the span ids, when not NULL. */
static void outcomes(const char *file, int *stored, int *rejected, char ids[][16], int *res)
{
    FILE *f = fopen(file, "r");
    char sid[32];
    int v, n = 0;
    ck_assert_msg(f != NULL, "%s: %s", file, strerror(errno));
    *stored = *rejected = 0;
    while (fscanf(f, "%31s %d", sid, &v) == 2) {
        ck_assert_msg(v == 0 || v == 1, "span %s: unexpected answer (%d)", sid, v);
        *stored += v == 1;
        *rejected += v == 0;
        if (ids) {
            snprintf(ids[n], 16, "%.15s", sid);
            res[n] = v;
        }
        n++;
    }
    fclose(f);
    unlink(file);
}

START_TEST(test_concurrent_ingest_exact_sums)
{
    char tid[33], files[4][64];
    pid_t pids[4];
    ts_new_trace_id(tid);
    /* four writers, two per daemon, each sending all 40 spans in its own
     * order and with its own tokens: every span is written (and replaced)
     * concurrently through both daemons */
    for (int w = 0; w < 4; w++) {
        snprintf(files[w], sizeof files[w], "/tmp/ts-pgmulti-%d-w%d", (int)getpid(), w);
        pids[w] = writer(w % 2 ? &B : &A, tid, w < 2 ? 0 : 39, w < 2 ? 1 : -1, 40, w + 1, files[w]);
    }
    for (int w = 0; w < 4; w++) {
        int stored, rejected;
        wait_ok(pids[w]);
        outcomes(files[w], &stored, &rejected, NULL, NULL);
        ck_assert_int_eq(stored, 40);
    }
    ck_assert_int_eq(check_sums(&A, tid), 40);
    ck_assert_int_eq(check_sums(&B, tid), 40);
    /* new spans only, 40 through each daemon at once: the trace row takes
     * every one of them (no update of it lost to the other daemon's) */
    for (int w = 0; w < 2; w++)
        pids[w] = writer(w ? &B : &A, tid, 100 + 100 * w, 1, 40, 9, files[w]);
    for (int w = 0; w < 2; w++) {
        int stored, rejected;
        wait_ok(pids[w]);
        outcomes(files[w], &stored, &rejected, NULL, NULL);
        ck_assert_int_eq(stored, 40);
    }
    ck_assert_int_eq(check_sums(&A, tid), 120);
    ck_assert_int_eq(check_sums(&B, tid), 120);
    /* one more round of retries, sequential, through B then A: the sums
     * move by each replaced span's difference */
    for (int k = 0; k < 40; k += 3) {
        char sid[32];
        snprintf(sid, sizeof sid, "sp%04d", k);
        ts_span_spec s = spec(tid, sid, 1000 + k, 7, 0.5);
        ck_assert_int_eq(post_span(k % 2 ? &A : &B, &s), 1);
    }
    ck_assert_int_eq(check_sums(&A, tid), 120);
    ck_assert_int_eq(check_sums(&B, tid), 120);
}
END_TEST

static ts_resp *close_on(ts_daemon *d, const char *tid)
{
    char path[128];
    snprintf(path, sizeof path, "/api/public/v2/traces/%s/close", tid);
    return on(d, "POST", path, NULL);
}

START_TEST(test_close_through_a_rejects_through_b)
{
    char tid[33];
    ts_resp *r;
    ts_new_trace_id(tid);
    ts_span_spec s = spec(tid, "root", 5, 5, 0.25);
    ck_assert_int_eq(post_span(&B, &s), 1);
    r = close_on(&A, tid);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    r = close_on(&B, tid);
    TS_STATUS(r, 409);
    ts_resp_free(r);
    s = spec(tid, "late", 1, 1, 0.25);
    ck_assert_int_eq(post_span(&B, &s), 0);
    s = spec(tid, "root", 50, 50, 0.5); /* a retry of a stored span is rejected too */
    ck_assert_int_eq(post_span(&B, &s), 0);
    ck_assert_int_eq(check_sums(&B, tid), 1);
    ck_assert_int_eq(check_sums(&A, tid), 1);
    char path[128];
    snprintf(path, sizeof path, "/v1/traces/%s", tid);
    r = on(&A, "GET", path, NULL);
    TS_J_INT(ts_json(r), "prompt_tokens_total", 5);
    TS_J_STR(ts_json(r), "spans.0.id", "root");
    ts_resp_free(r);
}
END_TEST

/* Spans race a close: every span acknowledged as stored is there, every
 * span rejected is not, and spans sent after the close's 201 are all
 * rejected. */
START_TEST(test_close_ingest_race)
{
    char tid[33], files[4][64], ids[4][200][16];
    int res[4][200];
    pid_t pids[4];
    ts_resp *r;
    for (int round = 0; round < 3; round++) {
        ts_new_trace_id(tid);
        ts_span_spec s = spec(tid, "first", 1, 1, 0.25);
        ck_assert_int_eq(post_span(&A, &s), 1);
        for (int w = 0; w < 4; w++) {
            snprintf(files[w], sizeof files[w], "/tmp/ts-pgmulti-%d-c%d", (int)getpid(), w);
            pids[w] = writer(w % 2 ? &B : &A, tid, w * 1000, 1, 200, w + 1, files[w]);
        }
        usleep((useconds_t)(50000 + 100000 * round));
        r = close_on(round % 2 ? &B : &A, tid);
        TS_STATUS(r, 201);
        ts_resp_free(r);
        /* after the close's 201: nothing more is stored, through either */
        for (int k = 0; k < 4; k++) {
            char sid[32];
            snprintf(sid, sizeof sid, "after%d", k);
            s = spec(tid, sid, 1, 1, 0.25);
            ck_assert_int_eq(post_span(k % 2 ? &A : &B, &s), 0);
        }
        int stored_total = 0;
        for (int w = 0; w < 4; w++) {
            int stored, rejected;
            wait_ok(pids[w]);
            outcomes(files[w], &stored, &rejected, ids[w], res[w]);
            stored_total += stored;
        }
        /* the trace holds exactly the acknowledged spans */
        char path[128];
        snprintf(path, sizeof path, "/v1/traces/%s", tid);
        r = on(&B, "GET", path, NULL);
        TS_STATUS(r, 200);
        const cJSON *spans = ts_jpath(ts_json(r), "spans");
        for (int w = 0; w < 4; w++)
            for (int i = 0; i < 200; i++) {
                int there = 0;
                for (int k = 0; k < cJSON_GetArraySize(spans) && !there; k++) {
                    const cJSON *id = cJSON_GetObjectItem(cJSON_GetArrayItem(spans, k), "id");
                    there = cJSON_IsString(id) && strcmp(id->valuestring, ids[w][i]) == 0;
                }
                ck_assert_msg(there == res[w][i], "span %s: answered %s, %s stored", ids[w][i],
                              res[w][i] ? "stored" : "rejected", there ? "is" : "is not");
            }
        ck_assert_int_eq(cJSON_GetArraySize(spans), stored_total + 1);
        fprintf(stderr, "close race %d: %d of 800 spans stored before the close\n", round,
                stored_total);
        ts_resp_free(r);
        ck_assert_int_eq(check_sums(&A, tid), stored_total + 1);
    }
}
END_TEST

START_TEST(test_delete_through_a_gone_through_b)
{
    char tid[33], uuid[37], path[256];
    ts_resp *r;
    for (int round = 0; round < 5; round++) {
        ts_new_trace_id(tid);
        ts_hex_to_uuid(tid, uuid);
        ts_span_spec s = spec(tid, "root", 3, 4, 0.25);
        ck_assert_int_eq(post_span(&A, &s), 1);
        s = spec(tid, "child", 3, 4, 0.25);
        ck_assert_int_eq(post_span(&B, &s), 1);
        snprintf(path, sizeof path, "/v1/traces/%s", tid);
        r = on(&B, "GET", path, NULL);
        TS_STATUS(r, 200);
        ts_resp_free(r);
        snprintf(path, sizeof path, "/api/traces/%s/", tid);
        r = on(&A, "DELETE", path, NULL);
        TS_STATUS(r, 200);
        ts_resp_free(r);
        /* at once, through B: 404 and absent from its list */
        snprintf(path, sizeof path, "/v1/traces/%s", tid);
        r = on(&B, "GET", path, NULL);
        TS_STATUS(r, 404);
        ts_resp_free(r);
        r = on(&B, "GET", "/v1/traces?from=2023-11-14T00:00:00Z&to=2023-11-16T00:00:00Z", NULL);
        TS_STATUS(r, 200);
        const cJSON *list = ts_jpath(ts_json(r), "traces");
        ck_assert_msg(cJSON_IsArray(list), "no traces array: %s", r->body);
        for (int i = 0; i < cJSON_GetArraySize(list); i++) {
            const cJSON *id = cJSON_GetObjectItem(cJSON_GetArrayItem(list, i), "id");
            ck_assert_msg(!cJSON_IsString(id) || (strcmp(id->valuestring, uuid) != 0 &&
                                                  strcmp(id->valuestring, tid) != 0),
                          "deleted trace %s still listed through B", tid);
        }
        ts_resp_free(r);
        /* its span ids are free again: a new trace of the same id starts empty */
        s = spec(tid, "again", 1, 1, 0.25);
        ck_assert_int_eq(post_span(&B, &s), 1);
        ck_assert_int_eq(check_sums(&A, tid), 1);
    }
}
END_TEST

static long since_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A key revoked by the CLI (a third process on the database) stops
 * working on both daemons within key_cache_ms, and stays refused; the
 * workspace's other key goes on working on both. */
START_TEST(test_key_revoked_reaches_both_daemons)
{
    char tid[33], path[128], prefix[13], *out = NULL, *err = NULL;
    ts_daemon *d[2] = {&A, &B};
    long refused_at[2] = {-1, -1};
    struct timespec t0;
    ts_new_trace_id(tid);
    ts_span_spec s = spec(tid, "root", 1, 1, 0.25);
    ck_assert_int_eq(post_span(&A, &s), 1);
    snprintf(path, sizeof path, "/v1/traces/%s", tid);
    for (int i = 0; i < 2; i++) { /* both caches hold alpha2 as valid */
        ts_cur = d[i];
        ts_resp *r = ts_req("GET", path, A.key_alpha2, NULL);
        TS_STATUS(r, 200);
        ts_resp_free(r);
    }
    snprintf(prefix, sizeof prefix, "%.12s", A.key_alpha2);
    const char *args[] = {"key", "revoke", prefix, "--db", A.db, NULL};
    int rc = ts_cli(args, NULL, &out, &err);
    ck_assert_msg(rc == 0, "key revoke: exit %d\n%s\n%s", rc, out, err);
    free(out);
    free(err);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (refused_at[0] < 0 || refused_at[1] < 0) {
        for (int i = 0; i < 2; i++) {
            ts_cur = d[i];
            ts_resp *r = ts_req("GET", path, A.key_alpha2, NULL);
            long st = r->status, ms = since_ms(&t0);
            ts_resp_free(r);
            if (refused_at[i] >= 0) {
                ck_assert_msg(st == 401, "daemon %c: the revoked key works again (%ld)", "AB"[i],
                              st);
            } else if (st == 401) {
                refused_at[i] = ms;
            } else {
                ck_assert_msg(st == 200, "daemon %c: revoked key answered %ld", "AB"[i], st);
                ck_assert_msg(ms < KEY_CACHE_MS + 1500,
                              "daemon %c: a key revoked by the CLI still works after %ld ms "
                              "(key_cache_ms %d)",
                              "AB"[i], ms, KEY_CACHE_MS);
            }
        }
        usleep(50 * 1000);
    }
    fprintf(stderr, "revoked key refused after %ld ms by A, %ld ms by B\n", refused_at[0],
            refused_at[1]);
    for (int i = 0; i < 2; i++) {
        ts_cur = d[i];
        ts_resp *r = ts_req("GET", path, A.key_alpha, NULL);
        TS_STATUS(r, 200);
        ts_resp_free(r);
    }
}
END_TEST

/* ---- the late attach: a pending log beside its stored span ---- */

/* The sweep every second, so the late attach comes within the wait. */
static const char *const sweep_env[] = {"TRACESTORE_KEY_CACHE_MS=1000",
                                        "TRACESTORE_RETENTION_SWEEP_S=1", NULL};

static void up_sweep(void)
{
    ts_d_init(&A, 1, sweep_env);
    ts_d_init_shared(&B, &A, sweep_env);
    key = A.key_alpha;
    ts_d_start(&A);
    ts_d_start(&B);
}

/* POST /track-request through d (key in the body, no price: the store
 * prices the span); its request_id. */
static int64_t track_on(ts_daemon *d, const char *sid, int64_t in, int64_t outt)
{
    char b[2048];
    snprintf(b, sizeof b,
             "{\"api_key\":\"%s\",\"function_name\":\"openai.chat.completions.create\","
             "\"provider_type\":\"openai\",\"span_id\":\"%s\",\"kwargs\":{\"model\":\"gpt-4o\","
             "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]},\"request_response\":"
             "{\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"message\":{\"role\":\"assistant\","
             "\"content\":\"hello!\"}}],\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":"
             "%lld}},\"request_start_time\":\"2024-01-01T00:00:00Z\",\"request_end_time\":"
             "\"2024-01-01T00:00:01Z\",\"tags\":[],\"metadata\":{}}",
             key, sid, (long long)in, (long long)outt);
    const char *h[] = {"Content-Type: application/json", NULL};
    ts_cur = d;
    ts_resp *r = ts_http("POST", "/track-request", h, b, strlen(b));
    TS_STATUS(r, 200);
    int64_t id = TS_J_GETINT(ts_json(r), "request_id");
    ts_resp_free(r);
    return id;
}

/* A span without an LLM view of its own, through d. */
static void plain_span(ts_daemon *d, const char *tid, const char *sid)
{
    ts_span_spec s = spec(tid, sid, 0, 0, 0);
    s.model = NULL;
    s.name = "openai.chat";
    s.kind = "SpanKind.CLIENT";
    ck_assert_int_eq(post_span(d, &s), 1);
}

static void sql(const char *q)
{
    char msg[512];
    ck_assert_msg(ts_pg_exec(ts_d_pg_url(&A), q, msg, sizeof msg) >= 0, "%s: %s", q, msg);
}

/* GET /v1/traces/{tid} through d (caller frees). */
static ts_resp *trace_on(ts_daemon *d, const char *tid)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/traces/%s", tid);
    ts_resp *r = on(d, "GET", path, NULL);
    TS_STATUS(r, 200);
    return r;
}

static double num(const cJSON *j, const char *p)
{
    const cJSON *v = ts_jpath(j, p);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", p);
    return cJSON_GetNumberValue(v);
}

static const char *str(const cJSON *j, const char *p)
{
    const cJSON *v = ts_jpath(j, p);
    ck_assert_msg(cJSON_IsString(v), "%s is not a string", p);
    return v->valuestring;
}

START_TEST(test_track_request_missed_span_attached_by_sweep)
{
    char tc[33], sc[17], tm[33], sm[17], q[512];
    ts_new_trace_id(tc);
    ts_new_span_id(sc);
    ts_new_trace_id(tm);
    ts_new_span_id(sm);
    /* The control, the ordinary way: the span through B, then its log through A. */
    plain_span(&B, tc, sc);
    int64_t rc_id = track_on(&A, sc, 120, 30);

    /* The missed state: the log stored pending (no span yet) ... */
    int64_t rm_id = track_on(&A, sm, 120, 30);
    snprintf(q, sizeof q,
             "SELECT count(*) FROM request_logs WHERE span_id = '%s' AND trace_id = ''", sm);
    ck_assert_int_eq(ts_d_sql_int(&A, q), 1);
    /* ... hidden from the span's ingest (as a log not committed yet) ... */
    snprintf(q, sizeof q, "UPDATE request_logs SET span_id = span_id || 'x' WHERE span_id = '%s'",
             sm);
    sql(q);
    plain_span(&B, tm, sm);
    ts_resp *r = trace_on(&B, tm);
    TS_J_INT(ts_json(r), "total_token_count", 0);
    ts_resp_free(r);
    /* ... then committed: a pending log beside its stored span. */
    snprintf(q, sizeof q, "UPDATE request_logs SET span_id = '%s' WHERE span_id = '%sx'", sm, sm);
    sql(q);
    snprintf(q, sizeof q,
             "SELECT count(*) FROM request_logs WHERE span_id = '%s' AND trace_id = ''", sm);
    ck_assert_int_eq(ts_d_sql_int(&A, q), 1);

    /* A sweep (every second) attaches it. */
    long long left = 1;
    for (int i = 0; i < 100 && left; i++) {
        usleep(100 * 1000);
        left = ts_d_sql_int(&A, q);
    }
    ck_assert_msg(left == 0, "the log still waits for its stored span after 10 s");

    /* Exactly as the ordinary attach: the span's LLM view and the trace's totals. */
    ts_resp *rc = trace_on(&A, tc);
    r = trace_on(&B, tm);
    const cJSON *c = ts_json(rc), *m = ts_json(r);
    TS_J_INT(c, "total_token_count", 150);
    static const char *const nums[] = {"span_count",
                                       "prompt_tokens_total",
                                       "completion_tokens_total",
                                       "total_token_count",
                                       "cost",
                                       "unpriced_span_count",
                                       "spans.0.prompt_tokens",
                                       "spans.0.completion_tokens",
                                       "spans.0.cost"};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        ck_assert_msg(num(c, nums[i]) == num(m, nums[i]), "%s: %g (ordinary) vs %g (late)", nums[i],
                      num(c, nums[i]), num(m, nums[i]));
    static const char *const strs[] = {"model", "spans.0.model", "spans.0.type", "spans.0.input",
                                       "spans.0.output"};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        ck_assert_str_eq(str(m, strs[i]), str(c, strs[i]));
    ts_resp_free(rc);
    ts_resp_free(r);
    /* the log names its span's trace (id and row), and the span its log
     * (the API's request ids are masked: compare the rows by span id) */
    snprintf(q, sizeof q,
             "SELECT count(*) FROM request_logs r JOIN spans s ON s.request_log_id = r.id AND "
             "s.trow = r.trow JOIN traces t ON t.id = r.trow WHERE s.span_id = '%s' AND "
             "r.span_id = '%s' AND r.trace_id = '%s' AND t.trace_id = '%s'",
             sm, sm, tm, tm);
    ck_assert_int_eq(ts_d_sql_int(&A, q), 1);
    /* the control's log is its span's the same way */
    snprintf(q, sizeof q,
             "SELECT count(*) FROM request_logs r JOIN spans s ON s.request_log_id = r.id AND "
             "s.trow = r.trow WHERE s.span_id = '%s' AND r.trace_id = '%s'",
             sc, tc);
    ck_assert_int_eq(ts_d_sql_int(&A, q), 1);
    ck_assert_int_gt(rc_id, 0);
    ck_assert_int_gt(rm_id, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pg_multi");
    TCase *tc = tcase_create("two_daemons");
    if (!ts_backend_is_pg()) {
        fprintf(stderr, "test_pg_multi: PostgreSQL only (TS_TEST_STORE=postgres): skipped\n");
        return 77;
    }
    ts_pg_require();
    tcase_add_checked_fixture(tc, up, down);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_concurrent_ingest_exact_sums);
    tcase_add_test(tc, test_close_through_a_rejects_through_b);
    tcase_add_test(tc, test_close_ingest_race);
    tcase_add_test(tc, test_delete_through_a_gone_through_b);
    tcase_add_test(tc, test_key_revoked_reaches_both_daemons);
    suite_add_tcase(s, tc);
    TCase *late = tcase_create("late_attach");
    tcase_add_checked_fixture(late, up_sweep, down);
    tcase_set_timeout(late, 120);
    tcase_add_test(late, test_track_request_missed_span_attached_by_sweep);
    suite_add_tcase(s, late);
    return ts_it_run(s);
}
