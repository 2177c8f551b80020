/* test_pg_fault.c: PostgreSQL going away under load (issue 19 point 5).
 * Clients ingest without pause while the test crashes the database server
 * (pg_ctl stop -m immediate, on a cluster of its own: the suites' shared
 * one must not go down) and starts it again, twice. During each outage
 * every write answers 503 with Retry-After, reads answer 503, /healthz
 * answers 503, and no request takes longer than request_timeout_s; after
 * it the same daemon process serves again by itself. Each client retries
 * its request until it is acknowledged, with the same spans; at the end
 * every span is stored once with its values and every trace's totals are
 * exactly the sum over its spans. Then PostgreSQL restarts with the
 * daemon idle: the first write and read after it succeed. Last, the server
 * freezes (SIGSTOP: there but silent, as a partition looks): nothing may
 * hang past request_timeout_s. PostgreSQL only. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

#define CLIENTS 8
#define TRACES 16
#define REQ_MAX 20000
#define CYCLES 2
#define UP_MS 1500
#define OUTAGE_MS 3000
#define RECOVER_MS 60000
#define REQ_TIMEOUT_S 5
/* a request may take request_timeout_s and this much more (scheduling
 * on a loaded machine, ASan) before it counts as hung */
#define HANG_SLACK_MS 5000
#define RETRY_MS 100
#define DRAIN_MS 90000

static ts_daemon D;
static char cluster_dir[TS_IT_PATH_CAP];
static char cluster_base[TS_IT_PATH_CAP];
static int frozen; /* 1 while the cluster's processes are stopped (SIGSTOP) */

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {
    }
}

/* ---- the controller thread: the outages, and what /healthz and a read
 * say during them. It never asserts (Check is not thread-safe): it
 * records, the test checks. ---- */

enum { PHASE_UP, PHASE_DOWN, PHASE_RECOVERING };

typedef struct ctl {
    _Atomic int phase;
    _Atomic int cycle;     /* the outage under way or last begun */
    _Atomic int recovered; /* outages over (/healthz 200 again) */
    _Atomic int done;
    int port;
    char key[TS_IT_KEY_CAP];
    /* per cycle */
    int stop_rc[CYCLES], start_rc[CYCLES];
    char stop_out[CYCLES][512], start_out[CYCLES][512];
    int health_503[CYCLES];   /* /healthz answers 503 during the outage */
    int health_other[CYCLES]; /* answers other than 200 and 503 during it */
    long health_last[CYCLES];
    int read_503[CYCLES];   /* GET trace answers 503 after /healthz said 503 */
    int read_other[CYCLES]; /* ... or anything else than 503 */
    long read_bad_status[CYCLES];
    long recover_ms[CYCLES]; /* start-server to /healthz 200, -1: never */
    /* reads while PostgreSQL is up (they fill the read pool before each
     * crash): answers other than 200 (404 before the first outage: the
     * trace may not exist yet) */
    int read_up_bad;
    long read_up_status;
    int read_up_after; /* the outage the bad answer came after, -1: none */
} ctl;

static ctl C;

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static long get_status(int port, const char *path, const char *key)
{
    char url[256], kh[TS_IT_KEY_CAP + 16];
    long code = 0;
    struct curl_slist *hl = NULL;
    CURL *c = curl_easy_init();
    if (c == NULL)
        return 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    if (key != NULL) {
        snprintf(kh, sizeof kh, "X-API-KEY: %s", key);
        hl = curl_slist_append(hl, kh);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(REQ_TIMEOUT_S * 1000 + HANG_SLACK_MS));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return code;
}

/* UP_MS of reads every 100 ms; after: the outage just over (-1: none). */
static void up_phase(ctl *k, int after)
{
    long until = now_ms() + UP_MS;
    while (now_ms() < until) {
        long r = get_status(k->port, "/v1/traces/fault-00", k->key);
        if (r != 200 && !(r == 404 && after < 0) && k->read_up_bad++ == 0) {
            k->read_up_status = r;
            k->read_up_after = after;
        }
        sleep_ms(100);
    }
}

static void *controller(void *arg)
{
    ctl *k = arg;
    for (int cy = 0; cy < CYCLES; cy++) {
        long until;
        atomic_store(&k->cycle, cy);
        up_phase(k, cy - 1);
        k->stop_rc[cy] =
            ts_pg_cluster("stop-server", cluster_dir, k->stop_out[cy], sizeof k->stop_out[cy]);
        atomic_store(&k->phase, PHASE_DOWN);
        until = now_ms() + OUTAGE_MS;
        while (now_ms() < until) {
            long h = get_status(k->port, "/healthz", NULL);
            k->health_last[cy] = h;
            if (h == 503) {
                long r = get_status(k->port, "/v1/traces/fault-00", k->key);
                k->health_503[cy]++;
                if (r == 503) {
                    k->read_503[cy]++;
                } else {
                    k->read_other[cy]++;
                    k->read_bad_status[cy] = r;
                }
            } else if (h != 200) {
                k->health_other[cy]++;
            }
            sleep_ms(100);
        }
        k->start_rc[cy] =
            ts_pg_cluster("start-server", cluster_dir, k->start_out[cy], sizeof k->start_out[cy]);
        atomic_store(&k->phase, PHASE_RECOVERING);
        {
            long t0 = now_ms();
            k->recover_ms[cy] = -1;
            while (now_ms() - t0 < RECOVER_MS) {
                if (get_status(k->port, "/healthz", NULL) == 200) {
                    k->recover_ms[cy] = now_ms() - t0;
                    break;
                }
                sleep_ms(50);
            }
        }
        atomic_store(&k->phase, PHASE_UP);
        if (k->recover_ms[cy] < 0)
            break;
        atomic_store(&k->recovered, cy + 1);
    }
    up_phase(k, CYCLES - 1);
    atomic_store(&k->done, 1);
    return NULL;
}

/* ---- the clients ---- */

/* Request i adds spans r<i>-a and r<i>-b to trace fault-<i % TRACES>. */
static int64_t tok_in(int i, int b)
{
    return b ? 2 + i % 3 : 1 + i % 7;
}
static int64_t tok_out(int i, int b)
{
    return b ? 1 : 1 + i % 5;
}
static double price(int b)
{
    return b ? 0.5 : 0.25; /* binary fractions: every sum is exact */
}

static char *make_body(int i)
{
    char *b = malloc(2048);
    int n = 0;
    ck_assert_ptr_nonnull(b);
    n += snprintf(b + n, 2048 - (size_t)n, "{\"spans\":[");
    for (int s = 0; s < 2; s++)
        n += snprintf(
            b + n, 2048 - (size_t)n,
            "%s{\"name\":\"f%d\",\"context\":{\"trace_id\":\"fault-%02d\",\"span_id\":\"r%d-%c\"},"
            "\"kind\":\"SpanKind.CLIENT\",\"start_time\":%d,\"end_time\":%d,"
            "\"status\":{\"status_code\":\"StatusCode.OK\"},\"log_request\":{\"provider\":"
            "\"openai\",\"model\":\"gpt-4o\",\"input\":\"q\",\"output\":\"a\",\"input_tokens\":%"
            "lld,"
            "\"output_tokens\":%lld,\"price\":%g}}",
            s ? "," : "", s, i % TRACES, i, s ? 'b' : 'a', 1000 + i, 2000 + i,
            (long long)tok_in(i, s), (long long)tok_out(i, s), price(s));
    snprintf(b + n, 2048 - (size_t)n, "]}");
    return b;
}

typedef struct req {
    int acked;
    int tries;
} req;

/* What the clients saw, for the checks. */
typedef struct tally {
    long ok, ok_down, s503, s503_down, no_retry_after, max_ms;
    long other; /* answers other than 2xx and 503 */
    long other_status, other_i;
    char other_body[512];
    long acked_after[CYCLES]; /* 2xx completed after cycle's recovery */
    long s503_cycle[CYCLES];
} tally;

typedef struct slot {
    CURL *c;
    struct curl_slist *hl;
    int i;      /* request index, -1 when idle */
    char *body; /* owned */
    char *head; /* response headers */
    size_t hlen;
    char resp[512];
    size_t rlen;
} slot;

static size_t on_head(char *p, size_t size, size_t n, void *ud)
{
    slot *s = ud;
    size_t len = size * n;
    char *nh = realloc(s->head, s->hlen + len + 1);
    if (nh == NULL)
        return 0;
    s->head = nh;
    memcpy(s->head + s->hlen, p, len);
    s->hlen += len;
    s->head[s->hlen] = '\0';
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    slot *s = ud;
    size_t len = size * n, room = sizeof s->resp - 1 - s->rlen;
    memcpy(s->resp + s->rlen, p, len < room ? len : room);
    s->rlen += len < room ? len : room;
    s->resp[s->rlen] = '\0';
    return len;
}

static void slot_send(CURLM *m, slot *s, int i, const char *url, const char *key)
{
    char kh[TS_IT_KEY_CAP + 16];
    snprintf(kh, sizeof kh, "X-API-KEY: %s", key);
    s->i = i;
    s->body = make_body(i);
    s->hlen = 0;
    s->rlen = 0;
    s->resp[0] = '\0';
    s->c = curl_easy_init();
    ck_assert_ptr_nonnull(s->c);
    s->hl = curl_slist_append(NULL, kh);
    s->hl = curl_slist_append(s->hl, "Content-Type: application/json");
    s->hl = curl_slist_append(s->hl, "Expect:");
    curl_easy_setopt(s->c, CURLOPT_URL, url);
    curl_easy_setopt(s->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->c, CURLOPT_TIMEOUT_MS, (long)(REQ_TIMEOUT_S * 1000 + HANG_SLACK_MS));
    curl_easy_setopt(s->c, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(s->c, CURLOPT_HTTPHEADER, s->hl);
    curl_easy_setopt(s->c, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(s->c, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->c, CURLOPT_PRIVATE, s);
    curl_multi_add_handle(m, s->c);
}

static void slot_done(CURLM *m, slot *s)
{
    curl_multi_remove_handle(m, s->c);
    curl_easy_cleanup(s->c);
    curl_slist_free_all(s->hl);
    free(s->body);
    s->c = NULL;
    s->body = NULL;
    s->i = -1;
}

/* Records one answer; returns 1 when request i is acknowledged. */
static int record(tally *t, slot *s, long code, long ms)
{
    int phase = atomic_load(&C.phase), cycle = atomic_load(&C.cycle),
        recovered = atomic_load(&C.recovered);
    ts_resp tmp;
    char ra[32];
    int down = phase != PHASE_UP;
    if (ms > t->max_ms)
        t->max_ms = ms;
    if (code >= 200 && code < 300) {
        t->ok++;
        if (down)
            t->ok_down++;
        if (phase == PHASE_UP && recovered > 0)
            t->acked_after[recovered - 1]++;
        return 1;
    }
    if (code == 503) {
        memset(&tmp, 0, sizeof tmp);
        tmp.headers = s->head;
        t->s503++;
        if (down) {
            t->s503_down++;
            t->s503_cycle[cycle]++;
        }
        if (s->head == NULL || !ts_resp_header(&tmp, "Retry-After", ra, sizeof ra) ||
            strtol(ra, NULL, 10) < 1)
            t->no_retry_after++;
        return 0;
    }
    if (t->other++ == 0) {
        t->other_status = code;
        t->other_i = s->i;
        snprintf(t->other_body, sizeof t->other_body, "%s", s->resp);
    }
    return 0;
}

/* Runs the clients until the controller is done and every request sent
 * is acknowledged (or DRAIN_MS more have passed). Each client sends its
 * request again RETRY_MS after an answer other than 2xx, and a new one
 * after a 2xx. Returns the number of requests. */
static int run_clients(req *reqs, tally *t)
{
    CURLM *m = curl_multi_init();
    static slot slots[CLIENTS];
    static long started[CLIENTS], ready_at[CLIENTS];
    static int retry[CLIENTS]; /* the request to send again, -1: none */
    char url[128];
    int next = 0, busy = 0, waiting = 0;
    long drain_until = -1;
    ck_assert_ptr_nonnull(m);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/spans-bulk", D.port);
    for (int k = 0; k < CLIENTS; k++) {
        slots[k].i = -1;
        retry[k] = -1;
    }
    for (;;) {
        int running, left, done = atomic_load(&C.done);
        CURLMsg *msg;
        if (done && drain_until < 0) /* a daemon that did not recover: no wait */
            drain_until = now_ms() + (atomic_load(&C.recovered) == CYCLES ? DRAIN_MS : 2000);
        if (done && busy == 0 && waiting == 0)
            break;
        if (drain_until >= 0 && now_ms() > drain_until)
            break;
        for (int k = 0; k < CLIENTS; k++) {
            int i = -1;
            if (slots[k].i >= 0)
                continue;
            if (retry[k] >= 0) {
                if (ready_at[k] > now_ms())
                    continue;
                i = retry[k];
                retry[k] = -1;
                waiting--;
            } else if (!done && next < REQ_MAX) {
                i = next++;
            } else {
                continue;
            }
            reqs[i].tries++;
            started[k] = now_ms();
            slot_send(m, &slots[k], i, url, D.key_alpha);
            busy++;
        }
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            slot *s = NULL;
            long code = 0;
            int k;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            k = (int)(s - slots);
            if (msg->data.result == CURLE_OK)
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (record(t, s, code, now_ms() - started[k])) {
                reqs[s->i].acked = 1;
            } else {
                retry[k] = s->i;
                ready_at[k] = now_ms() + RETRY_MS;
                waiting++;
            }
            free(s->head);
            s->head = NULL;
            slot_done(m, s);
            busy--;
        }
        curl_multi_poll(m, NULL, 0, 20, NULL);
    }
    for (int k = 0; k < CLIENTS; k++)
        if (slots[k].i >= 0) {
            free(slots[k].head);
            slots[k].head = NULL;
            slot_done(m, &slots[k]);
        }
    curl_multi_cleanup(m);
    return next;
}

/* ---- the checks ---- */

/* Every span of every trace: present once, with its values; the trace's
 * totals equal the sums over its stored spans and over the sent spans. */
static void verify(const req *reqs, int sent)
{
    static unsigned char seen[REQ_MAX][2];
    long spans_total = 0;
    memset(seen, 0, sizeof seen);
    for (int tr = 0; tr < TRACES; tr++) {
        char path[64];
        int64_t want_n = 0, want_in = 0, want_out = 0, sum_in = 0, sum_out = 0;
        double want_cost = 0, sum_cost = 0;
        const cJSON *sp, *spans;
        for (int i = tr; i < sent; i += TRACES)
            if (reqs[i].acked)
                for (int b = 0; b < 2; b++) {
                    want_n++;
                    want_in += tok_in(i, b);
                    want_out += tok_out(i, b);
                    want_cost += price(b);
                }
        snprintf(path, sizeof path, "/v1/traces/fault-%02d", tr);
        ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
        if (want_n == 0 && r->status == 404) {
            ts_resp_free(r);
            continue;
        }
        TS_STATUS(r, 200);
        spans = ts_jpath(ts_json(r), "spans");
        ck_assert_msg(cJSON_IsArray(spans), "%s: no spans array", path);
        cJSON_ArrayForEach(sp, spans)
        {
            const char *sid = TS_J_GETSTR(sp, "otel_span_id");
            int i = -1;
            char b = 0;
            ck_assert_msg(sscanf(sid, "r%d-%c", &i, &b) == 2 && i >= 0 && i < sent &&
                              (b == 'a' || b == 'b') && i % TRACES == tr,
                          "%s: unexpected span %s", path, sid);
            ck_assert_msg(!seen[i][b == 'b'], "%s: span %s stored twice", path, sid);
            seen[i][b == 'b'] = 1;
            TS_J_INT(sp, "prompt_tokens", tok_in(i, b == 'b'));
            TS_J_INT(sp, "completion_tokens", tok_out(i, b == 'b'));
            TS_J_NUM(sp, "cost", price(b == 'b'));
            sum_in += tok_in(i, b == 'b');
            sum_out += tok_out(i, b == 'b');
            sum_cost += price(b == 'b');
            spans_total++;
        }
        /* the totals are the sums over the stored spans, and (every
         * request was acknowledged in the end) over the spans sent */
        TS_J_INT(ts_json(r), "span_count", cJSON_GetArraySize(spans));
        TS_J_INT(ts_json(r), "prompt_tokens_total", sum_in);
        TS_J_INT(ts_json(r), "completion_tokens_total", sum_out);
        TS_J_INT(ts_json(r), "total_token_count", sum_in + sum_out);
        TS_J_NUM(ts_json(r), "cost", sum_cost);
        /* nothing acknowledged is missing (a request answered 503 may be
         * stored all the same: its transaction can commit while its answer
         * is lost with the connection; its retry then rewrites the same
         * spans, which must not count them twice) */
        for (int i = tr; i < sent; i += TRACES)
            ck_assert_msg(!reqs[i].acked || (seen[i][0] && seen[i][1]),
                          "%s: acknowledged request %d (spans r%d-a, r%d-b; %d tries) is missing",
                          path, i, i, i, reqs[i].tries);
        TS_J_INT(ts_json(r), "span_count", want_n);
        TS_J_INT(ts_json(r), "prompt_tokens_total", want_in);
        TS_J_INT(ts_json(r), "completion_tokens_total", want_out);
        TS_J_NUM(ts_json(r), "cost", want_cost);
        ts_resp_free(r);
    }
    fprintf(stderr, "fault: %ld spans stored in %d traces, all with exact totals\n", spans_total,
            TRACES);
}

static void cluster_up(void)
{
    char out[1024];
    int rc;
    if (!ts_pg_bins_present()) {
        fprintf(stderr, "skipped: the PostgreSQL server binaries are not installed\n");
        fflush(NULL);
        _exit(77);
    }
    snprintf(cluster_dir, sizeof cluster_dir, "/tmp/ts-pgfault-XXXXXX");
    ck_assert_msg(mkdtemp(cluster_dir) != NULL, "mkdtemp");
    rc = ts_pg_cluster("start", cluster_dir, out, sizeof out);
    ck_assert_msg(rc == 0, "cluster.sh start %s: status %d: %s", cluster_dir, rc, out);
    snprintf(cluster_base, sizeof cluster_base, "%.500s", out);
}

static void cluster_down(void)
{
    char out[1024];
    if (frozen) /* a failed check left it stopped: nothing could stop it */
        ts_pg_cluster("thaw", cluster_dir, out, sizeof out);
    ts_d_free(&D);
    /* TS_KEEP_TMP: the data and the server log stay, the server does not */
    if (cluster_dir[0] != '\0')
        ts_pg_cluster(getenv("TS_KEEP_TMP") != NULL ? "stop-server" : "stop", cluster_dir, out,
                      sizeof out);
}

START_TEST(test_pg_outage_under_ingest)
{
    static req reqs[REQ_MAX];
    static tally t;
    /* key lookups every second: they too run between the outages */
    static const char *const env[] = {"TRACESTORE_REQUEST_TIMEOUT_S=5",
                                      "TRACESTORE_KEY_CACHE_MS=1000", NULL};
    pthread_t th;
    int sent, status;
    ts_d_init_on(&D, 1, env, cluster_base);
    ts_d_start(&D);
    memset(&C, 0, sizeof C);
    C.port = D.port;
    snprintf(C.key, sizeof C.key, "%s", D.key_alpha);
    ck_assert_int_eq(pthread_create(&th, NULL, controller, &C), 0);
    sent = run_clients(reqs, &t);
    pthread_join(th, NULL);
    fprintf(stderr,
            "fault: %d requests, %ld answers 2xx (%ld while down), %ld 503 (%ld while down), "
            "longest %ld ms; recovery after start-server %ld ms, %ld ms\n",
            sent, t.ok, t.ok_down, t.s503, t.s503_down, t.max_ms, C.recover_ms[0], C.recover_ms[1]);
    for (int cy = 0; cy < CYCLES; cy++) {
        ck_assert_msg(C.stop_rc[cy] == 0, "outage %d: cluster.sh stop-server: %s", cy,
                      C.stop_out[cy]);
        ck_assert_msg(C.start_rc[cy] == 0, "outage %d: cluster.sh start-server: %s", cy,
                      C.start_out[cy]);
        ck_assert_msg(C.health_503[cy] > 0,
                      "outage %d: /healthz never answered 503 in %d ms with PostgreSQL down "
                      "(last answer %ld)",
                      cy, OUTAGE_MS, C.health_last[cy]);
        ck_assert_msg(C.health_other[cy] == 0,
                      "outage %d: /healthz answered neither 200 nor 503 %d times", cy,
                      C.health_other[cy]);
        ck_assert_msg(C.read_other[cy] == 0,
                      "outage %d: GET /v1/traces/fault-00 answered %ld (not 503) while /healthz "
                      "said 503",
                      cy, C.read_bad_status[cy]);
        ck_assert_msg(C.recover_ms[cy] >= 0,
                      "outage %d: /healthz not 200 within %d ms of PostgreSQL's restart: the "
                      "daemon did not reconnect",
                      cy, RECOVER_MS);
        ck_assert_msg(t.s503_cycle[cy] > 0, "outage %d: no write answered 503", cy);
        ck_assert_msg(t.acked_after[cy] > 0, "outage %d: no write acknowledged after recovery", cy);
    }
    ck_assert_msg(C.read_up_bad == 0,
                  "%d reads answered other than 200 with PostgreSQL up; the first: %ld, after "
                  "outage %d had ended (/healthz 200 again; a pooled read connection from before "
                  "the crash?)",
                  C.read_up_bad, C.read_up_status, C.read_up_after);
    ck_assert_msg(t.other == 0,
                  "%ld writes answered neither 2xx nor 503; the first: request %ld, status %ld "
                  "(0: no answer within %d ms), body %s",
                  t.other, t.other_i, t.other_status, REQ_TIMEOUT_S * 1000 + HANG_SLACK_MS,
                  t.other_body);
    ck_assert_msg(t.no_retry_after == 0, "%ld of %ld 503 answers without Retry-After >= 1",
                  t.no_retry_after, t.s503);
    ck_assert_msg(t.max_ms <= REQ_TIMEOUT_S * 1000 + HANG_SLACK_MS,
                  "a write took %ld ms (request_timeout_s = %d)", t.max_ms, REQ_TIMEOUT_S);
    for (int i = 0; i < sent; i++)
        ck_assert_msg(reqs[i].acked, "request %d never acknowledged after %d tries", i,
                      reqs[i].tries);
    /* the daemon recovered by itself: still the first process */
    ck_assert_int_eq(D.starts, 1);
    ck_assert_msg(waitpid(D.pid, &status, WNOHANG) == 0, "the daemon exited during the test");
    /* reads recovered too: every read connection is usable, none left
     * from before the crash (the key lookups between the outages opened
     * some) */
    for (int i = 0; i < 8; i++) {
        ts_resp *r = ts_req("GET", "/v1/traces/fault-00", D.key_alpha, NULL);
        ck_assert_msg(r->status == 200,
                      "read %d after PostgreSQL's restart (and /healthz 200) answered %ld: %s (a "
                      "pooled read connection from before the crash?)",
                      i, r->status, r->body);
        ts_resp_free(r);
    }
    verify(reqs, sent);
    ts_d_stop(&D);
    ts_d_free(&D);
}
END_TEST

/* PostgreSQL restarted while the daemon is idle (no request during the
 * outage): the first write and the first read after it see no trace of
 * the restart (the writer's and the pooled read connections broken by it
 * are replaced before use), several times over. */
START_TEST(test_pg_restart_while_idle)
{
    char out[1024], *body;
    ts_d_init_on(&D, 1, NULL, cluster_base);
    ts_d_start(&D);
    for (int round = 0; round < 3; round++) {
        ts_resp *r;
        body = make_body(100000 + round);
        r = ts_req("POST", "/spans-bulk", D.key_alpha, body);
        TS_STATUS(r, 201);
        ts_resp_free(r);
        r = ts_req("GET", "/v1/traces/fault-00", D.key_alpha, NULL);
        TS_STATUS(r, 200);
        ts_resp_free(r);
        ck_assert_msg(ts_pg_cluster("stop-server", cluster_dir, out, sizeof out) == 0, "%s", out);
        ck_assert_msg(ts_pg_cluster("start-server", cluster_dir, out, sizeof out) == 0, "%s", out);
        /* the first requests after the restart */
        r = ts_req("POST", "/spans-bulk", D.key_alpha, body);
        ck_assert_msg(r->status == 201, "round %d: the first write after an idle restart: %ld %s",
                      round, r->status, r->body);
        ts_resp_free(r);
        r = ts_req("GET", "/v1/traces/fault-00", D.key_alpha, NULL);
        ck_assert_msg(r->status == 200, "round %d: the first read after an idle restart: %ld %s",
                      round, r->status, r->body);
        ts_resp_free(r);
        free(body);
    }
    ts_d_stop(&D);
    ts_d_free(&D);
}
END_TEST

/* ---- a frozen server: PostgreSQL there but answering nothing (SIGSTOP,
 * as a network partition looks to the daemon) ---- */

#define FROZEN_WRITES 4
#define FROZEN_REQS (FROZEN_WRITES + 2)

typedef struct timed {
    const char *path;
    char *body; /* NULL: GET */
    long status, ms;
    int retry_after; /* the header's value, -1: absent */
    CURL *c;
    struct curl_slist *hl;
    char *head;
    size_t hlen;
    long t0;
} timed;

static size_t timed_head(char *p, size_t size, size_t n, void *ud)
{
    timed *t = ud;
    size_t len = size * n;
    char *nh = realloc(t->head, t->hlen + len + 1);
    if (nh == NULL)
        return 0;
    t->head = nh;
    memcpy(t->head + t->hlen, p, len);
    t->hlen += len;
    t->head[t->hlen] = '\0';
    return len;
}

/* Sends every request at once and waits for all (each cut at limit_ms). */
static void timed_all(timed *ts, int n, const char *key, long limit_ms)
{
    CURLM *m = curl_multi_init();
    char kh[TS_IT_KEY_CAP + 16], url[256];
    int running = 1;
    ck_assert_ptr_nonnull(m);
    snprintf(kh, sizeof kh, "X-API-KEY: %s", key);
    for (int i = 0; i < n; i++) {
        timed *t = &ts[i];
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", D.port, t->path);
        t->c = curl_easy_init();
        ck_assert_ptr_nonnull(t->c);
        t->hl = curl_slist_append(NULL, kh);
        t->hl = curl_slist_append(t->hl, "Content-Type: application/json");
        t->hl = curl_slist_append(t->hl, "Expect:");
        curl_easy_setopt(t->c, CURLOPT_URL, url);
        curl_easy_setopt(t->c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(t->c, CURLOPT_TIMEOUT_MS, limit_ms);
        curl_easy_setopt(t->c, CURLOPT_HTTPHEADER, t->hl);
        if (t->body != NULL)
            curl_easy_setopt(t->c, CURLOPT_POSTFIELDS, t->body);
        curl_easy_setopt(t->c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(t->c, CURLOPT_HEADERFUNCTION, timed_head);
        curl_easy_setopt(t->c, CURLOPT_HEADERDATA, t);
        curl_easy_setopt(t->c, CURLOPT_PRIVATE, t);
        t->status = 0;
        t->ms = -1;
        t->t0 = now_ms();
        curl_multi_add_handle(m, t->c);
    }
    while (running) {
        CURLMsg *msg;
        int left;
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            timed *t = NULL;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            t->ms = now_ms() - t->t0;
            if (msg->data.result == CURLE_OK)
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &t->status);
        }
        if (running)
            curl_multi_poll(m, NULL, 0, 20, NULL);
    }
    for (int i = 0; i < n; i++) {
        timed *t = &ts[i];
        ts_resp tmp;
        char v[32];
        memset(&tmp, 0, sizeof tmp);
        tmp.headers = t->head;
        t->retry_after = t->head != NULL && ts_resp_header(&tmp, "Retry-After", v, sizeof v)
                             ? (int)strtol(v, NULL, 10)
                             : -1;
        curl_multi_remove_handle(m, t->c);
        curl_easy_cleanup(t->c);
        curl_slist_free_all(t->hl);
        free(t->head);
        t->head = NULL;
    }
    curl_multi_cleanup(m);
}

/* PostgreSQL frozen for longer than request_timeout_s: writes, a read and
 * /healthz sent meanwhile are each answered 503 (with Retry-After) within
 * request_timeout_s + HANG_SLACK_MS, none hangs; after the thaw the same
 * daemon serves again and every write is stored once (a write answered
 * 503 may have committed after the thaw: sending it again stores it once). */
START_TEST(test_pg_frozen_server_no_hang)
{
    static const char *const env[] = {"TRACESTORE_REQUEST_TIMEOUT_S=3", NULL};
    const long limit = 3 * 1000 + HANG_SLACK_MS;
    timed ts[FROZEN_REQS];
    char out[1024], paths[FROZEN_WRITES][64];
    ts_resp *r;
    long t0;
    memset(ts, 0, sizeof ts);
    ts_d_init_on(&D, 1, env, cluster_base);
    ts_d_start(&D);
    for (int i = 0; i < FROZEN_WRITES; i++) {
        ts_span_spec sp = {0};
        char tid[33], sid[17];
        ts_new_trace_id(tid);
        ts_new_span_id(sid);
        sp.trace_id = tid;
        sp.span_id = sid;
        sp.name = "frozen";
        sp.start_ns = 1000;
        sp.end_ns = 2000;
        ts[i].path = "/spans-bulk";
        ts[i].body = ts_spans_body(&sp, 1, 0);
        snprintf(paths[i], sizeof paths[i], "/v1/traces/%s", tid);
    }
    /* the read's trace, and warm connections */
    r = ts_req("POST", "/spans-bulk", D.key_alpha, ts[0].body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    r = ts_req("GET", paths[0], D.key_alpha, NULL);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    ts[FROZEN_WRITES].path = paths[0];
    ts[FROZEN_WRITES + 1].path = "/healthz";

    ck_assert_msg(ts_pg_cluster("freeze", cluster_dir, out, sizeof out) == 0, "freeze: %s", out);
    frozen = 1;
    t0 = now_ms();
    timed_all(ts, FROZEN_REQS, D.key_alpha, limit + 5000);
    /* frozen for at least twice request_timeout_s in all */
    while (now_ms() - t0 < 2 * 3000)
        sleep_ms(50);
    ck_assert_msg(ts_pg_cluster("thaw", cluster_dir, out, sizeof out) == 0, "thaw: %s", out);
    frozen = 0;
    for (int i = 0; i < FROZEN_REQS; i++)
        fprintf(stderr, "frozen: %s %s: %ld in %ld ms, Retry-After %d\n",
                ts[i].body != NULL ? "POST" : "GET", ts[i].path, ts[i].status, ts[i].ms,
                ts[i].retry_after);
    for (int i = 0; i < FROZEN_REQS; i++) {
        const char *what = i < FROZEN_WRITES    ? "a write"
                           : i == FROZEN_WRITES ? "a read"
                                                : "/healthz";
        ck_assert_msg(ts[i].status != 0 && ts[i].ms <= limit,
                      "%s sent while PostgreSQL was frozen got %s after %ld ms (request_timeout_s "
                      "= 3): a hang",
                      what, ts[i].status != 0 ? "its answer" : "no answer", ts[i].ms);
        ck_assert_msg(ts[i].status == 503 && ts[i].retry_after >= 1,
                      "%s sent while PostgreSQL was frozen: %ld (Retry-After %d), want 503 with "
                      "Retry-After",
                      what, ts[i].status, ts[i].retry_after);
    }
    /* the daemon comes back by itself */
    for (t0 = now_ms(); now_ms() - t0 < RECOVER_MS; sleep_ms(100)) {
        r = ts_req("GET", "/healthz", NULL, NULL);
        long st = r->status;
        ts_resp_free(r);
        if (st == 200)
            break;
    }
    for (int i = 0; i < FROZEN_WRITES; i++) {
        r = ts_req("POST", "/spans-bulk", D.key_alpha, ts[i].body);
        TS_STATUS(r, 201);
        ts_resp_free(r);
        r = ts_req("GET", paths[i], D.key_alpha, NULL);
        TS_STATUS(r, 200);
        TS_J_INT(ts_json(r), "span_count", 1);
        ts_resp_free(r);
        free(ts[i].body);
    }
    ck_assert_int_eq(D.starts, 1);
    ts_d_stop(&D);
    ts_d_free(&D);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-pg-fault");
    TCase *tc = tcase_create("outage");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
    tcase_add_test(tc, test_pg_outage_under_ingest);
    tcase_add_test(tc, test_pg_restart_while_idle);
    tcase_add_test(tc, test_pg_frozen_server_no_hang);
    suite_add_tcase(s, tc);
    return ts_it_run(s);
}
