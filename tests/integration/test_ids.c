/* test_ids.c: the integer ids the API shows carry nothing about other
 * workspaces (issue 23 point 12). Span and request-log ids, /track-request's
 * request_id and the positions in TruLayer cursors were global row ids, so
 * the gap between two of workspace A's ids counted B's writes in between.
 * Each is now shown through a permutation keyed per workspace
 * (core/idmask.c): the gaps tell nothing, the same row keeps its id (also
 * across a restart), and what a client passes back (cursors) still works. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define T0 INT64_C(1700000000000000000)
#define JS_SAFE (INT64_C(1) << 53)

static ts_daemon D;

static void up(void)
{
    ts_d_init(&D, 1, NULL);
    ts_d_start(&D);
}

static void down(void)
{
    ts_d_free(&D);
}

/* Posts n one-span traces to /spans-bulk as key (with a log_request when
 * model is set) and returns the first span's shown id (and its log's, when
 * log_id is not NULL). */
static int64_t post_spans(const char *key, int n, const char *model, int64_t *log_id,
                          char first_trace[33])
{
    ts_span_spec *sp = calloc((size_t)n, sizeof *sp);
    char(*tids)[33] = calloc((size_t)n, sizeof *tids), (*sids)[17] = calloc((size_t)n, 17);
    ck_assert(sp && tids && sids);
    for (int i = 0; i < n; i++) {
        ts_new_trace_id(tids[i]);
        ts_new_span_id(sids[i]);
        sp[i].trace_id = tids[i];
        sp[i].span_id = sids[i];
        sp[i].parent_null = 1;
        sp[i].name = "op";
        sp[i].start_ns = T0 + i;
        sp[i].end_ns = T0 + i + 1000;
        sp[i].model = model;
        sp[i].input_tokens = 3;
        sp[i].output_tokens = 4;
    }
    char *body = ts_spans_body(sp, (size_t)n, 0);
    ts_resp *r = ts_req("POST", "/spans-bulk", key, body);
    TS_STATUS(r, 201);
    TS_J_LEN(ts_json(r), "spans", n);
    int64_t id = TS_J_GETINT(ts_json(r), "spans.0.id");
    if (log_id)
        *log_id = TS_J_GETINT(ts_json(r), "request_logs.0.id");
    if (first_trace)
        memcpy(first_trace, tids[0], 33);
    ts_resp_free(r);
    free(body);
    free(sp);
    free(tids);
    free(sids);
    return id;
}

static int64_t track(const char *key, const char *span_id)
{
    char b[512];
    snprintf(b, sizeof b,
             "{\"api_key\":\"%s\"%s%s%s,\"kwargs\":{\"model\":\"gpt-4o\"},\"request_response\":{"
             "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}}",
             key, span_id ? ",\"span_id\":\"" : "", span_id ? span_id : "", span_id ? "\"" : "");
    ts_resp *r = ts_req("POST", "/track-request", NULL, b);
    TS_STATUS(r, 200);
    int64_t id = TS_J_GETINT(ts_json(r), "request_id");
    ts_resp_free(r);
    return id;
}

static void check_range(const char *what, int64_t id)
{
    ck_assert_msg(id >= 1 && id < JS_SAFE, "%s %lld is not in [1, 2^53)", what, (long long)id);
}

/* A writes, B writes k_i rows, A writes again: with global row ids A's gap
 * was exactly k_i + 1 for spans, request logs and request_ids alike. */
START_TEST(test_gaps_say_nothing_about_other_workspaces)
{
    static const int k[] = {3, 7, 1, 12};
    enum { N = sizeof k / sizeof k[0] + 1 };
    int64_t span[N], log[N], req[N];
    for (int i = 0; i < N; i++) {
        span[i] = post_spans(D.key_alpha, 1, "gpt-4o", &log[i], NULL);
        req[i] = track(D.key_alpha, NULL);
        check_range("span id", span[i]);
        check_range("request log id", log[i]);
        check_range("request_id", req[i]);
        if (i == N - 1)
            break;
        post_spans(D.key_beta, k[i], "gpt-4o", NULL, NULL);
        for (int j = 0; j < k[i]; j++)
            track(D.key_beta, NULL);
    }
    for (int i = 0; i + 1 < N; i++) {
        fprintf(stderr,
                "ids: beta wrote %d; alpha's span id %lld -> %lld, request_id %lld -> %lld\n", k[i],
                (long long)span[i], (long long)span[i + 1], (long long)req[i],
                (long long)req[i + 1]);
        ck_assert_msg(span[i + 1] - span[i] != k[i] + 1,
                      "alpha's span ids %lld, %lld count beta's %d spans", (long long)span[i],
                      (long long)span[i + 1], k[i]);
        /* a log per span, then a track-request: k + 1 spans' logs apart */
        ck_assert_msg(log[i + 1] - log[i] != 2 * k[i] + 2,
                      "alpha's request log ids %lld, %lld count beta's writes", (long long)log[i],
                      (long long)log[i + 1]);
        ck_assert_msg(req[i + 1] - req[i] != 2 * k[i] + 2,
                      "alpha's request_ids %lld, %lld count beta's writes", (long long)req[i],
                      (long long)req[i + 1]);
    }
}
END_TEST

/* The id a write answers is the id reads show, also after a restart, and
 * /track-request's request_id is the request_log_id of the span it joins. */
START_TEST(test_ids_are_stable)
{
    char tid[33], sid[17], path[128];
    ts_new_span_id(sid);
    int64_t log_id = 0, span_id = post_spans(D.key_alpha, 1, "gpt-4o", &log_id, tid);
    snprintf(path, sizeof path, "/api/public/v2/traces/%s", tid);
    for (int pass = 0; pass < 2; pass++) {
        ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
        TS_STATUS(r, 200);
        TS_J_INT(ts_json(r), "spans.0.id", span_id);
        TS_J_INT(ts_json(r), "spans.0.request_log_id", log_id);
        ts_resp_free(r);
        if (pass == 0) {
            ts_d_stop(&D);
            ts_d_start(&D);
        }
    }
    /* a track-request for a new span: its request_id shows on the span */
    ts_span_spec sp = {0};
    char tid2[33];
    ts_new_trace_id(tid2);
    sp.trace_id = tid2;
    sp.span_id = sid;
    sp.parent_null = 1;
    sp.name = "op";
    sp.start_ns = T0;
    sp.end_ns = T0 + 1;
    int64_t req = track(D.key_alpha, sid);
    char *body = ts_spans_body(&sp, 1, 0);
    ts_resp *r = ts_req("POST", "/spans-bulk", D.key_alpha, body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    free(body);
    snprintf(path, sizeof path, "/api/public/v2/traces/%s", tid2);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "spans.0.request_log_id", req);
    ts_resp_free(r);
}
END_TEST

/* Walks GET base&limit=1&cursor=... to the end with B writing between the
 * pages; returns how many items came, failing on a repeated one. */
static int walk(const char *base, const char *arr, const char *idfield, char seen[][64], int cap)
{
    char cursor[256] = "", path[512];
    int n = 0;
    for (;;) {
        snprintf(path, sizeof path, "%s%climit=1%s%s", base, strchr(base, '?') ? '&' : '?',
                 cursor[0] ? "&cursor=" : "", cursor);
        ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
        TS_STATUS(r, 200);
        cJSON *j = ts_json(r);
        const cJSON *it;
        cJSON_ArrayForEach(it, ts_jpath(j, arr))
        {
            const char *id = cJSON_GetObjectItemCaseSensitive(it, idfield)->valuestring;
            for (int i = 0; i < n; i++)
                ck_assert_msg(strcmp(seen[i], id) != 0, "%s listed twice", id);
            ck_assert_int_lt(n, cap);
            snprintf(seen[n++], 64, "%s", id);
        }
        const cJSON *next = ts_jpath(j, "next_cursor");
        if (!cJSON_IsString(next)) {
            ts_resp_free(r);
            return n;
        }
        snprintf(cursor, sizeof cursor, "%s", next->valuestring);
        ts_resp_free(r);
        post_spans(D.key_beta, 2, NULL, NULL, NULL);
    }
}

static void tl_ingest(const char *key, const char *project)
{
    char id[33], uuid[37], b[512];
    ts_new_trace_id(id);
    ts_hex_to_uuid(id, uuid);
    snprintf(b, sizeof b,
             "{\"id\":\"%s\",\"project_id\":\"%s\",\"name\":\"t\",\"started_at\":"
             "\"2024-01-01T00:00:00Z\",\"ended_at\":\"2024-01-01T00:00:01Z\"}",
             uuid, project);
    ts_resp *r = ts_req("POST", "/v1/ingest", key, b);
    ck_assert_msg(r->status == 200 || r->status == 201, "ingest: %ld %s", r->status, r->body);
    ts_resp_free(r);
}

/* Cursors hold a shown position: every page continues where the last one
 * stopped, and an id that no shown cursor holds (0) is refused. */
START_TEST(test_cursors_still_work)
{
    static char seen[64][64];
    char projects[8][32];
    for (int i = 0; i < 3; i++) {
        snprintf(projects[i], sizeof projects[i], "ids-proj-%d", i);
        tl_ingest(D.key_alpha, projects[i]);
        tl_ingest(D.key_beta, "beta-proj");
    }
    int traces = walk("/v1/traces", "traces", "id", seen, 64);
    ts_resp *r = ts_req("GET", "/v1/traces?limit=200", D.key_alpha, NULL);
    TS_STATUS(r, 200);
    int all = cJSON_GetArraySize(ts_jpath(ts_json(r), "traces"));
    ts_resp_free(r);
    ck_assert_msg(traces == all && all >= 3, "paged %d traces of %d", traces, all);
    int projs = walk("/v1/projects", "projects", "id", seen, 64);
    r = ts_req("GET", "/v1/projects", D.key_alpha, NULL);
    TS_STATUS(r, 200);
    int allp = cJSON_GetArraySize(ts_jpath(ts_json(r), "projects"));
    ts_resp_free(r);
    ck_assert_msg(projs == allp && allp >= 3, "paged %d projects of %d", projs, allp);
    /* "v1:0:0" in hex: position 0 is never shown */
    r = ts_req("GET", "/v1/traces?cursor=76313a303a30", D.key_alpha, NULL);
    TS_STATUS(r, 400);
    ts_resp_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-ids");
    TCase *tc = tcase_create("ids");
    tcase_add_unchecked_fixture(tc, up, down);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gaps_say_nothing_about_other_workspaces);
    tcase_add_test(tc, test_ids_are_stable);
    tcase_add_test(tc, test_cursors_still_work);
    suite_add_tcase(s, tc);
    return ts_it_run(s);
}
