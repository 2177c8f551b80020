/* test_trulayer.c: integration tests for the TruLayer surface of
 * docs/API.md (issue 4): POST /v1/ingest and /v1/ingest/batch, GET
 * /v1/traces (every filter, keyset pagination, bad input), POST
 * /v1/feedback, GET /v1/metrics, GET /v1/projects, and workspace isolation
 * on each. Each TCase runs its own daemon with a temporary database. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* 2023-11-14T22:13:20Z in ns; times below are offsets from it. */
#define T0 INT64_C(1700000000000000000)
#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)

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

START_TEST(test_clean_shutdown)
{
    ts_d_stop(&D);
}
END_TEST

/* ---- helpers ---- */

static void iso(int64_t ns, char out[48])
{
    ts_iso_from_ns(ns, out, 48);
}

/* A fresh trace id in UUID form. */
static void new_uuid(char out[37])
{
    char hex[33];
    ts_new_trace_id(hex);
    ts_hex_to_uuid(hex, out);
}

static void expect_free(ts_resp *r, long status, const char *file, int line)
{
    ts_expect_status_at(file, line, r, status);
    ts_resp_free(r);
}
#define EXPECT(r, s) expect_free((r), (s), __FILE__, __LINE__)

/* A trace spec for the builder below. */
typedef struct tspec {
    const char *id;      /* UUID form */
    const char *project; /* NULL: absent */
    const char *session;
    const char *model; /* model of its one llm span, NULL: no llm span */
    const char *error; /* span error text, NULL: none */
    const char *tags;  /* raw JSON for "tags", NULL: absent */
    int64_t start;     /* ns */
    int64_t latency_ms;
    int64_t prompt, completion;
    double cost; /* < 0: none */
} tspec;

/* TraceRequest JSON for s (malloc'd). */
static char *trace_json(const tspec *s)
{
    char st[48], en[48], sid[17];
    cJSON *o = cJSON_CreateObject(), *spans, *sp;
    iso(s->start, st);
    iso(s->start + s->latency_ms * MS, en);
    cJSON_AddStringToObject(o, "id", s->id);
    if (s->project)
        cJSON_AddStringToObject(o, "project_id", s->project);
    if (s->session)
        cJSON_AddStringToObject(o, "session_id", s->session);
    cJSON_AddStringToObject(o, "name", "answer_question");
    cJSON_AddStringToObject(o, "input", "question");
    cJSON_AddStringToObject(o, "output", "answer");
    cJSON_AddNumberToObject(o, "latency_ms", (double)s->latency_ms);
    cJSON_AddNullToObject(o, "error");
    if (s->tags)
        cJSON_AddRawToObject(o, "tags", s->tags);
    cJSON_AddStringToObject(o, "started_at", st);
    cJSON_AddStringToObject(o, "ended_at", en);
    spans = cJSON_AddArrayToObject(o, "spans");
    sp = cJSON_CreateObject();
    ts_new_span_id(sid);
    cJSON_AddStringToObject(sp, "id", sid);
    cJSON_AddStringToObject(sp, "trace_id", s->id);
    cJSON_AddStringToObject(sp, "name", s->model ? "generate" : "tool_call");
    cJSON_AddStringToObject(sp, "type", s->model ? "llm" : "tool");
    if (s->model)
        cJSON_AddStringToObject(sp, "model", s->model);
    if (s->error)
        cJSON_AddStringToObject(sp, "error", s->error);
    if (s->prompt || s->completion) {
        cJSON_AddNumberToObject(sp, "prompt_tokens", (double)s->prompt);
        cJSON_AddNumberToObject(sp, "completion_tokens", (double)s->completion);
    }
    if (s->cost >= 0)
        cJSON_AddNumberToObject(sp, "cost", s->cost);
    cJSON_AddStringToObject(sp, "start_time", st);
    cJSON_AddStringToObject(sp, "end_time", en);
    cJSON_AddItemToArray(spans, sp);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return txt;
}

static void ingest_ok(const char *key, const tspec *s, const char *file, int line)
{
    char *body = trace_json(s);
    ts_resp *r = ts_req("POST", "/v1/ingest", key, body);
    ts_expect_status_at(file, line, r, 201);
    free(body);
    ts_resp_free(r);
}
#define INGEST_OK(key, s) ingest_ok((key), (s), __FILE__, __LINE__)

static tspec spec(const char *id, int64_t start)
{
    tspec s;
    memset(&s, 0, sizeof s);
    s.id = id;
    s.start = start;
    s.latency_ms = 100;
    s.cost = -1;
    return s;
}

/* GET /v1/traces?query; returns the response (status checked by caller). */
static ts_resp *list(const char *key, const char *query)
{
    char path[2048];
    snprintf(path, sizeof path, "/v1/traces%s%s", query ? "?" : "", query ? query : "");
    return ts_req("GET", path, key, NULL);
}

static int has_id(const cJSON *root, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "traces"))
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0)
            return 1;
    }
    return 0;
}

/* The list for query (scoped by a marker session when sess != NULL) must
 * contain exactly the `want` ids (in any order). */
static void expect_ids(const char *query, const char *const *want, int n, const char *file,
                       int line)
{
    ts_resp *r = list(D.key_alpha, query);
    ts_expect_status_at(file, line, r, 200);
    cJSON *j = ts_json_at(file, line, r);
    int got = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "traces"));
    if (got != n)
        ts_fail_at(file, line, "%s: want %d traces, got %d: %.800s", query, n, got, r->body);
    for (int i = 0; i < n; i++)
        if (!has_id(j, want[i]))
            ts_fail_at(file, line, "%s: trace %s missing: %.800s", query, want[i], r->body);
    ts_resp_free(r);
}
#define EXPECT_IDS(q, ...)                                                                         \
    do {                                                                                           \
        const char *const w_[] = {__VA_ARGS__};                                                    \
        expect_ids((q), w_, (int)(sizeof w_ / sizeof w_[0]), __FILE__, __LINE__);                  \
    } while (0)
#define EXPECT_NONE(q) expect_ids((q), NULL, 0, __FILE__, __LINE__)

static void expect_400(const char *query, const char *code, const char *file, int line)
{
    ts_resp *r = list(D.key_alpha, query);
    ts_expect_status_at(file, line, r, 400);
    cJSON *j = ts_json_at(file, line, r);
    ts_j_str_at(file, line, j, "code", code);
    ts_j_type_at(file, line, j, "error", "string");
    ts_j_type_at(file, line, j, "message", "string");
    ts_resp_free(r);
}
#define EXPECT_400(q, code) expect_400((q), (code), __FILE__, __LINE__)

/* ================= ingest ================= */

START_TEST(test_ingest_single_and_duplicate)
{
    char id[37], sid[37], st[48], sst[48], sen[48], body[4096], path[128];
    new_uuid(id);
    new_uuid(sid);
    iso(T0, st);
    iso(T0 + 101 * MS, sst);
    iso(T0 + 741 * MS, sen);
    /* The exact SDK wire shape of trulayer-api.md 3.2 (children before parents). */
    snprintf(body, sizeof body,
             "{\"id\":\"%s\",\"project_id\":\"rag-app\",\"session_id\":\"conv-42\","
             "\"external_id\":null,\"name\":\"answer_question\",\"input\":\"{\\\"q\\\":1}\","
             "\"output\":\"...\",\"model\":null,\"latency_ms\":812,\"cost\":null,\"error\":null,"
             "\"tags\":[\"prod\"],\"metadata\":{\"rag_v2\":true},"
             "\"spans\":[{\"id\":\"%s\",\"trace_id\":\"%s\",\"parent_span_id\":\"missing-parent\","
             "\"name\":\"generate\",\"type\":\"llm\",\"input\":\"...\",\"output\":\"...\","
             "\"error\":null,\"latency_ms\":640,\"model\":\"gpt-4o-mini\",\"prompt_tokens\":412,"
             "\"completion_tokens\":88,\"metadata\":{\"cost_usd\":0.25},\"start_time\":\"%s\","
             "\"end_time\":\"%s\"}],"
             "\"events\":[{\"level\":\"warn\",\"message\":\"fallback triggered\"},"
             "{\"message\":\"cache hit\",\"span_id\":\"%s\",\"metadata\":{\"k\":1}}],"
             "\"started_at\":\"%s\",\"ended_at\":\"2023-11-14T22:13:20.812Z\"}",
             id, sid, id, sst, sen, sid, st);
    ts_resp *r = ts_req("POST", "/v1/ingest", D.key_alpha, body);
    TS_STATUS(r, 201);
    TS_J_STR(ts_json(r), "id", id);
    TS_J_TIME(ts_json(r), "created_at");
    ts_resp_free(r);
    /* The same id again: 200 duplicate, nothing changes. */
    r = ts_req("POST", "/v1/ingest", D.key_alpha, body);
    TS_STATUS(r, 200);
    TS_J_STR(ts_json(r), "status", "duplicate");
    ts_resp_free(r);
    snprintf(path, sizeof path, "/v1/traces/%s", id);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    cJSON *j = ts_json(r);
    TS_J_STR(j, "id", id);
    TS_J_UUID(j, "project_id");
    TS_J_STR(j, "session_id", "conv-42");
    TS_J_STR(j, "name", "answer_question");
    TS_J_INT(j, "latency_ms", 812);
    TS_J_STR(j, "tags.0", "prod");
    TS_J_ABSENT(j, "tag_map");
    TS_J_INT(j, "span_count", 1);
    TS_J_INT(j, "total_token_count", 500);
    TS_J_NUM(j, "cost", 0.25); /* metadata.cost_usd prices the span */
    TS_J_STR(j, "started_at", "2023-11-14T22:13:20Z");
    TS_J_STR(j, "ended_at", "2023-11-14T22:13:20.812Z");
    TS_J_LEN(j, "events", 2);
    TS_J_STR(j, "events.0.level", "warn");
    TS_J_STR(j, "events.0.message", "fallback triggered");
    TS_J_STR(j, "events.1.level", "info");
    TS_J_INT(j, "events.1.metadata.k", 1);
    TS_J_STR(j, "spans.0.id", sid);
    TS_J_STR(j, "spans.0.model", "gpt-4o-mini");
    TS_J_INT(j, "spans.0.latency_ms", 640);
    TS_J_BOOL(j, "metadata.rag_v2", 1);
    ts_resp_free(r);
}
END_TEST

START_TEST(test_ingest_tag_map_and_costs)
{
    char id[37], body[2048], path[128];
    new_uuid(id);
    snprintf(body, sizeof body,
             "{\"id\":\"%s\",\"tags\":{\"tier\":\"pro\",\"region\":\"eu\"},\"cost\":1.5,"
             "\"spans\":[{\"name\":\"a\",\"type\":\"llm\",\"cost\":0.1,"
             "\"metadata\":{\"cost_usd\":9}},{\"name\":\"b\",\"type\":\"custom_kind\"}]}",
             id);
    EXPECT(ts_req("POST", "/v1/ingest", D.key_alpha, body), 201);
    snprintf(path, sizeof path, "/v1/traces/%s", id);
    ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    cJSON *j = ts_json(r);
    TS_J_STR(j, "tag_map.tier", "pro");
    TS_J_STR(j, "tag_map.region", "eu");
    TS_J_LEN(j, "tags", 0);
    TS_J_NUM(j, "cost", 1.5); /* explicit trace cost wins */
    TS_J_INT(j, "span_count", 2);
    /* explicit span cost beats metadata.cost_usd; unknown types are kept */
    const cJSON *spans = ts_jpath(j, "spans"), *s;
    int seen = 0;
    cJSON_ArrayForEach(s, spans)
    {
        const char *name = cJSON_GetObjectItemCaseSensitive(s, "name")->valuestring;
        if (strcmp(name, "a") == 0) {
            TS_J_NUM(s, "cost", 0.1);
            seen++;
        } else {
            TS_J_STR(s, "type", "custom_kind");
            TS_J_ABSENT(s, "cost");
            seen++;
        }
    }
    ck_assert_int_eq(seen, 2);
    ts_resp_free(r);
}
END_TEST

START_TEST(test_ingest_batch)
{
    char a[37], b[37], c[37], body[4096];
    new_uuid(a);
    new_uuid(b);
    new_uuid(c);
    tspec sa = spec(a, T0);
    INGEST_OK(D.key_alpha, &sa);
    /* a already exists: skipped, not failed; b twice: first wins */
    snprintf(body, sizeof body,
             "{\"traces\":[{\"id\":\"%s\",\"name\":\"again\"},{\"id\":\"%s\",\"name\":\"b\","
             "\"spans\":[{\"name\":\"s\",\"type\":\"tool\"}]},{\"id\":\"%s\",\"name\":\"c\"},"
             "{\"id\":\"%s\",\"name\":\"b2\"}]}",
             a, b, c, b);
    ts_resp *r = ts_req("POST", "/v1/ingest/batch", D.key_alpha, body);
    TS_STATUS(r, 201);
    cJSON *j = ts_json(r);
    TS_J_INT(j, "ingested", 2);
    TS_J_LEN(j, "ids", 3);
    TS_J_STR(j, "ids.0", a);
    TS_J_STR(j, "ids.1", b);
    TS_J_STR(j, "ids.2", c);
    ts_resp_free(r);
    char path[128];
    snprintf(path, sizeof path, "/v1/traces/%s", a);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_J_STR(ts_json(r), "name", "answer_question"); /* the duplicate changed nothing */
    ts_resp_free(r);
    snprintf(path, sizeof path, "/v1/traces/%s", b);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_J_STR(ts_json(r), "name", "b");
    TS_J_INT(ts_json(r), "span_count", 1);
    ts_resp_free(r);
    /* a trace with no spans exists too */
    snprintf(path, sizeof path, "/v1/traces/%s", c);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "span_count", 0);
    ts_resp_free(r);
}
END_TEST

static void expect_ingest_400(const char *path, const char *body, const char *needle,
                              const char *file, int line)
{
    ts_resp *r = ts_req("POST", path, D.key_alpha, body);
    ts_expect_status_at(file, line, r, 400);
    cJSON *j = ts_json_at(file, line, r);
    ts_j_type_at(file, line, j, "code", "string");
    if (needle)
        ts_j_contains_at(file, line, j, "error", needle);
    ts_resp_free(r);
}
#define EXPECT_INGEST_400(p, b, n) expect_ingest_400((p), (b), (n), __FILE__, __LINE__)

START_TEST(test_ingest_bad_input)
{
    char big[8192];
    size_t o = 0;
    EXPECT_INGEST_400("/v1/ingest/batch", "{\"traces\":[]}", "traces");
    o += (size_t)snprintf(big + o, sizeof big - o, "{\"traces\":[");
    for (int i = 0; i < 101; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "%s{}", i ? "," : "");
    snprintf(big + o, sizeof big - o, "]}");
    EXPECT_INGEST_400("/v1/ingest/batch", big, "traces");
    EXPECT_INGEST_400("/v1/ingest/batch", "{\"traces\":{}}", "traces");
    EXPECT_INGEST_400("/v1/ingest", "{\"spans\":[{\"type\":\"llm\"}]}", "name");
    EXPECT_INGEST_400("/v1/ingest", "{\"spans\":[{\"name\":\"x\"}]}", "type");
    EXPECT_INGEST_400("/v1/ingest", "{\"started_at\":\"yesterday\"}", "started_at");
    EXPECT_INGEST_400("/v1/ingest", "{\"latency_ms\":-1}", "latency_ms");
    EXPECT_INGEST_400("/v1/ingest", "{\"latency_ms\":\"abc\"}", "latency_ms");
    EXPECT_INGEST_400("/v1/ingest", "{\"cost\":-2}", "cost");
    /* issue 23.6: the bounds of 1e9 USD and 10^15 tokens a span */
    EXPECT_INGEST_400("/v1/ingest", "{\"cost\":1e308}", "1e9");
    EXPECT_INGEST_400("/v1/ingest", "{\"spans\":[{\"name\":\"x\",\"type\":\"llm\",\"cost\":1e10}]}",
                      "cost");
    EXPECT_INGEST_400("/v1/ingest",
                      "{\"spans\":[{\"name\":\"x\",\"type\":\"llm\","
                      "\"prompt_tokens\":9223372036854775807}]}",
                      "prompt_tokens");
    EXPECT_INGEST_400("/v1/ingest", "{\"tags\":5}", "tags");
    EXPECT_INGEST_400("/v1/ingest", "{\"tags\":[1]}", "tags");
    EXPECT_INGEST_400(
        "/v1/ingest",
        "{\"tags\":{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
        "kkkkk\":\"v\"}}",
        "64");
    EXPECT_INGEST_400("/v1/ingest", "{\"metadata\":[1]}", "metadata");
    EXPECT_INGEST_400("/v1/ingest", "{\"events\":[{\"level\":\"info\"}]}", "message");
    EXPECT_INGEST_400("/v1/ingest", "{\"id\":\"\"}", "id");
    EXPECT_INGEST_400("/v1/ingest", "[1,2]", NULL);
    EXPECT_INGEST_400("/v1/ingest", "{\"id\":", NULL);
    {
        char s[400];
        memset(s, 'x', 300);
        s[300] = '\0';
        char body[512];
        snprintf(body, sizeof body, "{\"session_id\":\"%s\"}", s);
        EXPECT_INGEST_400("/v1/ingest", body, "session_id");
    }
}
END_TEST

/* ================= projects ================= */

START_TEST(test_projects)
{
    char a[37], b[37], c[37], pid[64], q[256];
    new_uuid(a);
    new_uuid(b);
    new_uuid(c);
    tspec sa = spec(a, T0), sb = spec(b, T0 + SEC), sc = spec(c, T0 + 2 * SEC);
    sa.project = "proj-alpha";
    sb.project = "proj-alpha"; /* same name: same project */
    INGEST_OK(D.key_alpha, &sa);
    INGEST_OK(D.key_alpha, &sb);
    ts_resp *r = ts_req("GET", "/v1/projects", D.key_alpha, NULL);
    TS_STATUS(r, 200);
    cJSON *j = ts_json(r);
    const cJSON *it;
    pid[0] = '\0';
    cJSON_ArrayForEach(it, ts_jpath(j, "projects"))
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(it, "name")->valuestring, "proj-alpha") == 0)
            snprintf(pid, sizeof pid, "%s",
                     cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring);
    }
    ck_assert_msg(pid[0], "proj-alpha not listed: %s", r->body);
    TS_J_ABSENT(j, "next_cursor"); /* no cursor/limit: the full list, no paging fields */
    ts_resp_free(r);
    /* A project UUID is used as is. */
    sc.project = pid;
    INGEST_OK(D.key_alpha, &sc);
    snprintf(q, sizeof q, "project_id=%s", pid);
    EXPECT_IDS(q, a, b, c);
    EXPECT_IDS("project_id=proj-alpha", a, b, c);
    EXPECT_NONE("project_id=no-such-project");
    /* paging: limit=1 walks every project exactly once */
    {
        char cursor[128] = "", path[256], first[64] = "";
        int pages = 0;
        for (;;) {
            snprintf(path, sizeof path, "/v1/projects?limit=1%s%s", cursor[0] ? "&cursor=" : "",
                     cursor);
            r = ts_req("GET", path, D.key_alpha, NULL);
            TS_STATUS(r, 200);
            TS_J_LEN(ts_json(r), "projects", 1);
            const char *id = TS_J_GETSTR(ts_json(r), "projects.0.id");
            if (pages == 0)
                snprintf(first, sizeof first, "%s", id);
            else
                ck_assert_str_ne(first, id);
            pages++;
            int more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ts_json(r), "has_more"));
            if (more)
                snprintf(cursor, sizeof cursor, "%s", TS_J_GETSTR(ts_json(r), "next_cursor"));
            else
                TS_J_NULL(ts_json(r), "next_cursor");
            ts_resp_free(r);
            if (!more || pages > 10)
                break;
        }
        ck_assert_int_ge(pages, 2);
        ck_assert_int_le(pages, 10);
    }
    /* Another workspace does not see alpha's projects. */
    r = ts_req("GET", "/v1/projects", D.key_beta, NULL);
    TS_STATUS(r, 200);
    ck_assert_msg(strstr(r->body, "proj-alpha") == NULL, "beta sees alpha's project: %s", r->body);
    ts_resp_free(r);
    EXPECT(ts_req("GET", "/v1/projects?limit=0", D.key_alpha, NULL), 400);
}
END_TEST

/* ================= list filters ================= */

/* trace_dims follow span replacement: a model no span carries any more
 * stops matching, also when several spans change in one request. */
START_TEST(test_list_model_follows_replacement)
{
    char t[33], s1[17], s2[17], uid[37], m1[64], m2[64], q[160];
    ts_new_trace_id(t);
    ts_new_span_id(s1);
    ts_new_span_id(s2);
    ts_hex_to_uuid(t, uid);
    snprintf(m1, sizeof m1, "dim-old-%s", s1);
    snprintf(m2, sizeof m2, "dim-new-%s", s2);
    ts_span_spec sp[2];
    memset(sp, 0, sizeof sp);
    for (int i = 0; i < 2; i++) {
        sp[i].trace_id = t;
        sp[i].span_id = i ? s2 : s1;
        sp[i].parent_id = i ? s1 : NULL;
        sp[i].name = i ? "child" : "root";
        sp[i].start_ns = T0 + i;
        sp[i].end_ns = T0 + 10;
        sp[i].model = m1;
        sp[i].input_tokens = 1;
        sp[i].output_tokens = 1;
    }
    /* Both spans carry m1 in one request. */
    char *body = ts_spans_body(sp, 2, 0);
    ts_resp *r = ts_req("POST", "/spans-bulk", D.key_alpha, body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    free(body);
    snprintf(q, sizeof q, "model=%s", m1);
    EXPECT_IDS(q, uid);
    /* One span moves to m2: both models match. */
    sp[0].model = m2;
    body = ts_spans_body(sp, 1, 0);
    r = ts_req("POST", "/spans-bulk", D.key_alpha, body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    free(body);
    EXPECT_IDS(q, uid);
    snprintf(q, sizeof q, "model=%s", m2);
    EXPECT_IDS(q, uid);
    /* Both spans on m2 in one request: m1 no longer matches. */
    sp[1].model = m2;
    body = ts_spans_body(sp, 2, 0);
    r = ts_req("POST", "/spans-bulk", D.key_alpha, body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    free(body);
    snprintf(q, sizeof q, "model=%s", m1);
    EXPECT_NONE(q);
    snprintf(q, sizeof q, "model=%s", m2);
    EXPECT_IDS(q, uid);
}
END_TEST

START_TEST(test_list_filters)
{
    char a[37], b[37], c[37], d[37], q[512], from[48], to[48];
    const int64_t base = T0 + 1000 * SEC;
    new_uuid(a);
    new_uuid(b);
    new_uuid(c);
    new_uuid(d);
    tspec sa = spec(a, base), sb = spec(b, base + SEC), sc = spec(c, base + 2 * SEC),
          sd = spec(d, base + 3 * SEC);
    sa.session = sb.session = sc.session = sd.session = "filters-sess";
    sa.model = "gpt-4o";
    sa.latency_ms = 100;
    sa.prompt = 100;
    sa.completion = 50;
    sa.tags = "{\"tier\":\"pro\"}";
    sb.model = "claude-3";
    sb.error = "upstream request timed out";
    sb.latency_ms = 2000;
    sb.prompt = 1000;
    sb.completion = 500;
    sc.model = "gpt-4o";
    sc.error = "429 rate limit exceeded";
    sc.latency_ms = 500;
    sc.tags = "{\"tier\":\"free\"}";
    sd.latency_ms = 5000;
    sd.error = "maximum context length exceeded";
    sd.tags = "[\"legacy\"]";
    INGEST_OK(D.key_alpha, &sa);
    INGEST_OK(D.key_alpha, &sb);
    INGEST_OK(D.key_alpha, &sc);
    INGEST_OK(D.key_alpha, &sd);
#define S "session_id=filters-sess"
    EXPECT_IDS(S, a, b, c, d);
    EXPECT_IDS(S "&model=gpt-4o", a, c);
    EXPECT_IDS(S "&model=claude-3", b);
    EXPECT_NONE(S "&model=nope");
    EXPECT_IDS(S "&error=true", b, c, d);
    EXPECT_IDS(S "&error=false", a);
    EXPECT_IDS(S "&failure_type=timeout", b);
    EXPECT_IDS(S "&failure_type=rate_limit", c);
    EXPECT_IDS(S "&failure_type=context_length", d);
    EXPECT_NONE(S "&failure_type=invalid_response");
    EXPECT_IDS(S "&latency_min=500", b, c, d);
    EXPECT_IDS(S "&latency_max=500", a, c);
    EXPECT_IDS(S "&latency_min=500&latency_max=2000", b, c);
    EXPECT_IDS(S "&token_count_min=150", a, b);
    EXPECT_IDS(S "&token_count_min=151", b);
    EXPECT_IDS(S "&token_count_max=150", a, c, d);
    EXPECT_IDS(S "&tag_key=tier&tag_value=pro", a);
    EXPECT_IDS(S "&tag_key=tier&tag_value=free", c);
    EXPECT_NONE(S "&tag_key=tier&tag_value=gold");
    EXPECT_IDS(S "&model=gpt-4o&error=true", c);
    {
        /* an explicit trace model and error count for model / failure_type */
        char e[37], body[512];
        new_uuid(e);
        snprintf(body, sizeof body,
                 "{\"id\":\"%s\",\"session_id\":\"filters-sess\",\"model\":\"trace-level-model\","
                 "\"error\":\"deadline exceeded\",\"started_at\":\"2023-11-14T00:00:00Z\"}",
                 e);
        EXPECT(ts_req("POST", "/v1/ingest", D.key_alpha, body), 201);
        EXPECT_IDS(S "&model=trace-level-model", e);
        EXPECT_IDS(S "&failure_type=timeout", b, e);
        EXPECT_IDS(S "&error=true", b, c, d, e);
        EXPECT(ts_req("POST", "/v1/ingest", D.key_alpha, body), 200);
    }
    /* from inclusive, to exclusive, on started_at */
    iso(base + SEC, from);
    iso(base + 3 * SEC, to);
    snprintf(q, sizeof q, S "&from=%s&to=%s", from, to);
    EXPECT_IDS(q, b, c);
    /* a session filter alone */
    EXPECT_NONE("session_id=no-such-session");
    /* list items carry aggregates and span_count, not spans */
    ts_resp *r = list(D.key_alpha, S "&model=claude-3");
    cJSON *j = ts_json(r);
    TS_J_INT(j, "traces.0.span_count", 1);
    TS_J_INT(j, "traces.0.total_token_count", 1500);
    TS_J_INT(j, "traces.0.latency_ms", 2000);
    TS_J_STR(j, "traces.0.error", "upstream request timed out");
    TS_J_ABSENT(j, "traces.0.spans");
    TS_J_ABSENT(j, "traces.0.control_loop_depth");
    TS_J_BOOL(j, "has_more", 0);
    TS_J_NULL(j, "next_cursor");
    ts_resp_free(r);
    /* newest first */
    r = list(D.key_alpha, S);
    TS_J_STR(ts_json(r), "traces.0.id", d);
    TS_J_STR(ts_json(r), "traces.3.id", a);
    TS_J_LEN(ts_json(r), "traces", 5);
    ts_resp_free(r);
#undef S
}
END_TEST

START_TEST(test_list_bad_input)
{
    EXPECT_400("tag_key=tier", "error.tags_filter_incomplete");
    EXPECT_400("tag_value=pro", "error.tags_filter_incomplete");
    EXPECT_400("latency_min=10&latency_max=5", "error.invalid_range");
    EXPECT_400("token_count_min=10&token_count_max=5", "error.invalid_range");
    EXPECT_400("latency_min=abc", "error.invalid_parameter");
    EXPECT_400("latency_max=-1", "error.invalid_parameter");
    EXPECT_400("token_count_min=1.5", "error.invalid_parameter");
    EXPECT_400("token_count_max=99999999999999999999999", "error.invalid_parameter");
    EXPECT_400("from=yesterday", "error.invalid_parameter");
    EXPECT_400("to=2024-13-45T00:00:00Z", "error.invalid_parameter");
    EXPECT_400("from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z", "error.invalid_range");
    EXPECT_400("limit=0", "error.invalid_parameter");
    EXPECT_400("limit=201", "error.invalid_parameter");
    EXPECT_400("limit=ten", "error.invalid_parameter");
    EXPECT_400("error=maybe", "error.invalid_parameter");
    EXPECT_400("failure_type=oom", "error.invalid_parameter");
    EXPECT_400("cursor=zz", "error.invalid_cursor");
    EXPECT_400("cursor=76313a", "error.invalid_cursor");
    EXPECT_400("tag_key=a%22b&tag_value=x", "error.invalid_parameter");
    EXPECT(list(D.key_alpha, "limit=200"), 200);
    EXPECT(list(D.key_alpha, "limit=1"), 200);
}
END_TEST

/* Walks every page of query with limit; returns the ids seen (malloc'd
 * array of n strings). New traces (newer than everything) are ingested
 * between pages when arrive is set: they must not disturb the walk. */
static char **walk(const char *query, int limit, int arrive, int *n_out)
{
    char path[1024], cursor[256] = "";
    char **ids = calloc(1000, sizeof(char *));
    int n = 0;
    for (int page = 0; page < 100; page++) {
        snprintf(path, sizeof path, "%s&limit=%d%s%s", query, limit, cursor[0] ? "&cursor=" : "",
                 cursor);
        ts_resp *r = list(D.key_alpha, path);
        TS_STATUS(r, 200);
        cJSON *j = ts_json(r);
        const cJSON *it;
        int cnt = 0;
        cJSON_ArrayForEach(it, ts_jpath(j, "traces"))
        {
            ids[n++] = strdup(cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring);
            cnt++;
        }
        ck_assert_int_le(cnt, limit);
        int more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "has_more"));
        const cJSON *nc = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
        if (more)
            snprintf(cursor, sizeof cursor, "%s", nc->valuestring);
        else
            ck_assert_msg(cJSON_IsNull(nc), "next_cursor must be null on the last page");
        ts_resp_free(r);
        if (arrive) {
            char id[37];
            new_uuid(id);
            tspec s = spec(id, T0 + 900000 * SEC + page * SEC);
            s.session = "page-sess";
            INGEST_OK(D.key_alpha, &s);
        }
        if (!more)
            break;
    }
    *n_out = n;
    return ids;
}

START_TEST(test_list_pagination_keyset)
{
    char ids[23][37];
    /* 23 traces, three of them sharing one started_at (ties by row id) */
    for (int i = 0; i < 23; i++) {
        new_uuid(ids[i]);
        tspec s = spec(ids[i], T0 + 5000 * SEC + (i < 3 ? 0 : i) * SEC);
        s.session = "page-sess";
        s.model = "page-model";
        INGEST_OK(D.key_alpha, &s);
    }
    /* the same walk driven by an any-span filter (trace_dims order) */
    {
        int m = 0;
        char **byk = walk("model=page-model", 4, 0, &m);
        ck_assert_int_eq(m, 23);
        ck_assert_str_eq(byk[0], ids[22]);
        for (int i = 0; i < 23; i++) {
            int hits = 0;
            for (int k = 0; k < m; k++)
                hits += strcmp(byk[k], ids[i]) == 0;
            ck_assert_msg(hits == 1, "model walk: trace %d seen %d times", i, hits);
        }
        for (int k = 0; k < m; k++)
            free(byk[k]);
        free(byk);
    }
    int n = 0;
    char **seen = walk("session_id=page-sess", 5, 1, &n);
    ck_assert_int_eq(n, 23);
    for (int i = 0; i < 23; i++) {
        int hits = 0;
        for (int k = 0; k < n; k++)
            hits += strcmp(seen[k], ids[i]) == 0;
        ck_assert_msg(hits == 1, "trace %d seen %d times", i, hits);
    }
    /* newest first across pages */
    ck_assert_str_eq(seen[0], ids[22]);
    for (int k = 0; k < n; k++)
        free(seen[k]);
    free(seen);
    /* the traces that arrived meanwhile are all there on a fresh walk */
    seen = walk("session_id=page-sess", 200, 0, &n);
    ck_assert_int_eq(n, 23 + 5);
    for (int k = 0; k < n; k++)
        free(seen[k]);
    free(seen);
    /* default limit is 50 */
    for (int i = 0; i < 30; i++) {
        char id[37];
        new_uuid(id);
        tspec s = spec(id, T0 + 7000 * SEC + i * SEC);
        s.session = "page-sess";
        INGEST_OK(D.key_alpha, &s);
    }
    ts_resp *r = list(D.key_alpha, "session_id=page-sess");
    TS_J_LEN(ts_json(r), "traces", 50);
    TS_J_BOOL(ts_json(r), "has_more", 1);
    ts_resp_free(r);
}
END_TEST

/* ================= feedback ================= */

START_TEST(test_feedback)
{
    char a[37], body[512];
    new_uuid(a);
    tspec s = spec(a, T0);
    INGEST_OK(D.key_alpha, &s);
    snprintf(body, sizeof body,
             "{\"trace_id\":\"%s\",\"label\":\"good\",\"score\":0.9,\"comment\":\"nice\","
             "\"metadata\":{\"by\":\"qa\"}}",
             a);
    ts_resp *r = ts_req("POST", "/v1/feedback", D.key_alpha, body);
    TS_STATUS(r, 201);
    cJSON *j = ts_json(r);
    TS_J_UUID(j, "id");
    TS_J_STR(j, "trace_id", a);
    TS_J_STR(j, "label", "good");
    TS_J_NUM(j, "score", 0.9);
    TS_J_STR(j, "comment", "nice");
    TS_J_TIME(j, "created_at");
    ts_resp_free(r);
    /* free-form labels are accepted */
    snprintf(body, sizeof body, "{\"trace_id\":\"%s\",\"label\":\"edit\"}", a);
    EXPECT(ts_req("POST", "/v1/feedback", D.key_alpha, body), 201);
    /* bad input */
    snprintf(body, sizeof body, "{\"trace_id\":\"%s\"}", a);
    EXPECT(ts_req("POST", "/v1/feedback", D.key_alpha, body), 400);
    EXPECT(ts_req("POST", "/v1/feedback", D.key_alpha, "{\"label\":\"good\"}"), 400);
    snprintf(body, sizeof body, "{\"trace_id\":\"%s\",\"label\":\"good\",\"score\":\"x\"}", a);
    EXPECT(ts_req("POST", "/v1/feedback", D.key_alpha, body), 400);
    EXPECT(ts_req("POST", "/v1/feedback", D.key_alpha, "nope"), 400);
    /* unknown trace, and another workspace's trace: 404 */
    char other[37];
    new_uuid(other);
    snprintf(body, sizeof body, "{\"trace_id\":\"%s\",\"label\":\"bad\"}", other);
    EXPECT(ts_req("POST", "/v1/feedback", D.key_alpha, body), 404);
    snprintf(body, sizeof body, "{\"trace_id\":\"%s\",\"label\":\"bad\"}", a);
    r = ts_req("POST", "/v1/feedback", D.key_beta, body);
    TS_STATUS(r, 404);
    TS_J_STR(ts_json(r), "code", "not_found");
    ts_resp_free(r);
}
END_TEST

/* ================= metrics ================= */

START_TEST(test_metrics)
{
    /* A window nobody else writes into: 10 traces, latencies 100..1000 ms,
     * 3 errored, cost 0.1 each. */
    const int64_t base = T0 + 50000 * SEC;
    char q[256], from[48], to[48];
    for (int i = 0; i < 10; i++) {
        char id[37];
        new_uuid(id);
        tspec s = spec(id, base + i * SEC);
        s.latency_ms = (i + 1) * 100;
        s.cost = 0.1;
        s.model = "gpt-4o";
        if (i < 3)
            s.error = "boom";
        INGEST_OK(D.key_alpha, &s);
    }
    iso(base, from);
    iso(base + 10 * SEC, to);
    snprintf(q, sizeof q, "/v1/metrics?from=%s&to=%s", from, to);
    ts_resp *r = ts_req("GET", q, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    cJSON *j = ts_json(r);
    TS_J_INT(j, "total_traces", 10);
    TS_J_INT(j, "error_count", 3);
    TS_J_NUM(j, "error_rate", 0.3);
    TS_J_INT(j, "p50_latency_ms", 500);
    TS_J_INT(j, "p95_latency_ms", 1000);
    TS_J_INT(j, "p99_latency_ms", 1000);
    ts_j_num_at(__FILE__, __LINE__, j, "total_cost", 1.0, 1e-9);
    TS_J_STR(j, "from", from);
    TS_J_STR(j, "to", to);
    ts_resp_free(r);
    /* the same window for beta: nothing */
    r = ts_req("GET", q, D.key_beta, NULL);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "total_traces", 0);
    TS_J_NULL(ts_json(r), "error_rate");
    ts_resp_free(r);
    /* default window is the last 24 h: these 2023 traces are outside */
    r = ts_req("GET", "/v1/metrics", D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_TIME(ts_json(r), "from");
    ts_resp_free(r);
    EXPECT(ts_req("GET", "/v1/metrics?from=nope", D.key_alpha, NULL), 400);
    snprintf(q, sizeof q, "/v1/metrics?from=%s&to=%s", to, from);
    EXPECT(ts_req("GET", q, D.key_alpha, NULL), 400);
}
END_TEST

/* ================= isolation ================= */

START_TEST(test_isolation)
{
    char a[37], path[128], body[256];
    new_uuid(a);
    tspec s = spec(a, T0 + 90000 * SEC);
    s.session = "iso-sess";
    s.model = "iso-model";
    INGEST_OK(D.key_alpha, &s);
    snprintf(path, sizeof path, "/v1/traces/%s", a);
    EXPECT(ts_req("GET", path, D.key_beta, NULL), 404);
    ts_resp *r = list(D.key_beta, "session_id=iso-sess");
    TS_STATUS(r, 200);
    TS_J_LEN(ts_json(r), "traces", 0);
    ts_resp_free(r);
    r = list(D.key_beta, "model=iso-model");
    TS_J_LEN(ts_json(r), "traces", 0);
    ts_resp_free(r);
    r = list(D.key_beta, "limit=200");
    ck_assert_msg(!has_id(ts_json(r), a), "beta lists alpha's trace");
    ts_resp_free(r);
    /* the same id in beta is a new trace there, not a duplicate */
    INGEST_OK(D.key_beta, &s);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_J_INT(ts_json(r), "span_count", 1);
    ts_resp_free(r);
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", a);
    r = ts_req("POST", "/v1/ingest", D.key_beta, body);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    /* 401 on every TruLayer route without a key */
    static const char *const gets[] = {"/v1/traces", "/v1/metrics", "/v1/projects"};
    for (size_t i = 0; i < 3; i++) {
        r = ts_req("GET", gets[i], NULL, NULL);
        TS_STATUS(r, 401);
        TS_J_STR(ts_json(r), "code", "invalid_api_key");
        ts_resp_free(r);
    }
    EXPECT(ts_req("POST", "/v1/ingest", NULL, "{}"), 401);
    EXPECT(ts_req("POST", "/v1/ingest/batch", NULL, "{}"), 401);
    EXPECT(ts_req("POST", "/v1/feedback", NULL, "{}"), 401);
}
END_TEST

static void reset_per_test(void)
{
}

static TCase *daemon_case(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, reset_per_test, NULL);
    tcase_add_unchecked_fixture(tc, up, down);
    tcase_set_timeout(tc, 120);
    return tc;
}

static Suite *trulayer_suite(void)
{
    Suite *s = suite_create("integration-trulayer");
    TCase *tc = daemon_case("trulayer");
    tcase_add_test(tc, test_ingest_single_and_duplicate);
    tcase_add_test(tc, test_ingest_tag_map_and_costs);
    tcase_add_test(tc, test_ingest_batch);
    tcase_add_test(tc, test_ingest_bad_input);
    tcase_add_test(tc, test_projects);
    tcase_add_test(tc, test_list_filters);
    tcase_add_test(tc, test_list_model_follows_replacement);
    tcase_add_test(tc, test_list_bad_input);
    tcase_add_test(tc, test_list_pagination_keyset);
    tcase_add_test(tc, test_feedback);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_isolation);
    tcase_add_test(tc, test_clean_shutdown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ts_it_run(trulayer_suite());
}
