/* test_respan.c: integration tests for the Respan surface of docs/API.md
 * (issue 4): POST /api/v1/traces/ingest, POST/GET /api/traces/list/ (every
 * operator, span-field filters, sort orders, page-number pagination with
 * absolute URLs), GET /api/traces/{id}/ with span_tree, bulk delete and
 * its bounds, and PromptLayer's POST /track-request; workspace isolation
 * on each. */
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

#define T0 INT64_C(1700000000000000000)
#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)

static ts_daemon D;

static void up(void)
{
    ts_d_init(&D, 1, NULL);
    ts_d_start(&D);
}

/* max_page_size 5: bulk delete refuses more than 5 matches. */
static void up_small(void)
{
    static const char *const env[] = {
        "TRACESTORE_MAX_PAGE_SIZE=5", "TRACESTORE_MAX_SPANS_PER_REQUEST=3",
        "TRACESTORE_MAX_STRING_BYTES=4096", "TRACESTORE_SPAN_ID_WINDOW=4", NULL};
    ts_d_init(&D, 1, env);
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

static void expect_free(ts_resp *r, long status, const char *file, int line)
{
    ts_expect_status_at(file, line, r, status);
    ts_resp_free(r);
}
#define EXPECT(r, s) expect_free((r), (s), __FILE__, __LINE__)

static void iso(int64_t ns, char out[48])
{
    ts_iso_from_ns(ns, out, 48);
}

/* A unique text id with a prefix (Respan ids are free-form). */
static void uid(const char *prefix, char out[64])
{
    char hex[17];
    ts_new_span_id(hex);
    snprintf(out, 64, "%s-%s", prefix, hex);
}

typedef struct rspan {
    const char *trace, *span, *parent, *name, *log_type, *model, *customer, *status;
    int64_t start;  /* ns */
    double latency; /* s */
    int64_t prompt, completion;
    int64_t total;        /* total_request_tokens, 0: absent */
    double cost;          /* < 0: absent */
    const char *metadata; /* raw JSON or NULL */
} rspan;

static cJSON *span_obj(const rspan *s)
{
    char st[48], en[48];
    cJSON *o = cJSON_CreateObject();
    iso(s->start, st);
    iso(s->start + (int64_t)(s->latency * 1e9), en);
    cJSON_AddStringToObject(o, "trace_unique_id", s->trace);
    cJSON_AddStringToObject(o, "span_unique_id", s->span);
    if (s->parent)
        cJSON_AddStringToObject(o, "span_parent_id", s->parent);
    if (s->name)
        cJSON_AddStringToObject(o, "span_name", s->name);
    if (s->log_type)
        cJSON_AddStringToObject(o, "log_type", s->log_type);
    if (s->model)
        cJSON_AddStringToObject(o, "model", s->model);
    if (s->customer)
        cJSON_AddStringToObject(o, "customer_identifier", s->customer);
    if (s->status)
        cJSON_AddStringToObject(o, "status", s->status);
    cJSON_AddStringToObject(o, "start_time", st);
    cJSON_AddStringToObject(o, "timestamp", en);
    cJSON_AddNumberToObject(o, "latency", s->latency);
    if (s->prompt || s->completion) {
        cJSON_AddNumberToObject(o, "prompt_tokens", (double)s->prompt);
        cJSON_AddNumberToObject(o, "completion_tokens", (double)s->completion);
    }
    if (s->total)
        cJSON_AddNumberToObject(o, "total_request_tokens", (double)s->total);
    if (s->cost >= 0)
        cJSON_AddNumberToObject(o, "cost", s->cost);
    if (s->metadata)
        cJSON_AddRawToObject(o, "metadata", s->metadata);
    return o;
}

static void ingest(const char *key, const rspan *s, int n, int wrap, const char *file, int line)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, span_obj(&s[i]));
    cJSON *root = arr;
    if (wrap) {
        root = cJSON_CreateObject();
        cJSON_AddItemToObject(root, "data", arr);
    }
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    ts_resp *r = ts_req("POST", "/api/v1/traces/ingest", key, body);
    ts_expect_status_at(file, line, r, 200);
    free(body);
    ts_resp_free(r);
}
#define INGEST(key, s, n) ingest((key), (s), (n), 0, __FILE__, __LINE__)

static rspan rs(const char *trace, const char *span, const char *parent, int64_t start)
{
    rspan s;
    memset(&s, 0, sizeof s);
    s.trace = trace;
    s.span = span;
    s.parent = parent;
    s.start = start;
    s.latency = 0.5;
    s.cost = -1;
    return s;
}

/* POST /api/traces/list/?query with body; status checked by the caller. */
static ts_resp *list(const char *key, const char *query, const char *body)
{
    char path[2048];
    snprintf(path, sizeof path, "/api/traces/list/%s%s", query ? "?" : "", query ? query : "");
    return ts_req("POST", path, key, body ? body : "{}");
}

static int has_id(const cJSON *root, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "results"))
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "trace_unique_id");
        if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0)
            return 1;
    }
    return 0;
}

/* filters: the JSON of the filters object, ANDed with the marker customer
 * filter that scopes a test to its own traces. */
static void expect_ids(const char *marker, const char *filters, const char *const *want, int n,
                       const char *file, int line)
{
    char body[4096];
    snprintf(body, sizeof body,
             "{\"filters\":{\"customer_identifier\":{\"operator\":\"\",\"value\":[\"%s\"]}%s%s}}",
             marker, filters[0] ? "," : "", filters);
    ts_resp *r = list(D.key_alpha, "page_size=100", body);
    ts_expect_status_at(file, line, r, 200);
    cJSON *j = ts_json_at(file, line, r);
    int got = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "results"));
    if (got != n)
        ts_fail_at(file, line, "%s: want %d traces, got %d: %.600s", filters, n, got, r->body);
    ts_j_int_at(file, line, j, "count", n);
    for (int i = 0; i < n; i++)
        if (!has_id(j, want[i]))
            ts_fail_at(file, line, "%s: %s missing: %.600s", filters, want[i], r->body);
    ts_resp_free(r);
}
#define EXPECT_IDS(m, f, ...)                                                                      \
    do {                                                                                           \
        const char *const w_[] = {__VA_ARGS__};                                                    \
        expect_ids((m), (f), w_, (int)(sizeof w_ / sizeof w_[0]), __FILE__, __LINE__);             \
    } while (0)
#define EXPECT_NONE(m, f) expect_ids((m), (f), NULL, 0, __FILE__, __LINE__)

/* ================= ingest and span tree ================= */

START_TEST(test_ingest_and_span_tree)
{
    char t[64], path[256];
    uid("tree", t);
    /* children before parents, an orphan, two roots' children in start order */
    rspan s[5] = {rs(t, "c2", "root", T0 + 300 * MS), rs(t, "c1", "root", T0 + 100 * MS),
                  rs(t, "g1", "c1", T0 + 150 * MS), rs(t, "root", NULL, T0),
                  rs(t, "orphan", "not-here", T0 + 50 * MS)};
    s[3].name = "workflow";
    s[3].log_type = "workflow";
    s[3].latency = 2.5;
    s[3].customer = "tree-user";
    s[3].metadata = "{\"env\":\"prod\"}";
    s[1].name = "openai.chat";
    s[1].model = "gpt-4";
    s[1].prompt = 50;
    s[1].completion = 75;
    s[1].cost = 0.00345;
    s[0].status = "error";
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < 5; i++)
        cJSON_AddItemToArray(arr, span_obj(&s[i]));
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "data", arr);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    ts_resp *r = ts_req("POST", "/api/v1/traces/ingest", D.key_alpha, body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "ingested_spans", 5);
    TS_J_INT(ts_json(r), "created_traces", 1);
    TS_J_STR(ts_json(r), "trace_ids.0", t);
    ts_resp_free(r);
    /* the same spans again: replaced in place (idempotent), no new trace */
    r = ts_req("POST", "/api/v1/traces/ingest", D.key_alpha, body);
    free(body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "created_traces", 0);
    ts_resp_free(r);
    for (int slash = 0; slash < 2; slash++) {
        snprintf(path, sizeof path, "/api/traces/%s%s", t, slash ? "/" : "");
        r = ts_req("GET", path, D.key_alpha, NULL);
        TS_STATUS(r, 200);
        cJSON *j = ts_json(r);
        TS_J_STR(j, "trace_unique_id", t);
        TS_J_STR(j, "root_span_unique_id", "root");
        TS_J_INT(j, "span_count", 5);
        TS_J_INT(j, "error_count", 1);
        TS_J_INT(j, "total_prompt_tokens", 50);
        TS_J_INT(j, "total_completion_tokens", 75);
        TS_J_INT(j, "total_tokens", 125);
        TS_J_NUM(j, "total_cost", 0.00345);
        TS_J_NUM(j, "duration", 2.5);
        TS_J_STR(j, "name", "workflow");
        TS_J_STR(j, "customer_identifier", "tree-user");
        TS_J_STR(j, "metadata.env", "prod");
        /* roots: root (t0) and the orphan (t0+50ms), by start time */
        TS_J_LEN(j, "span_tree", 2);
        TS_J_STR(j, "span_tree.0.span_unique_id", "root");
        TS_J_NULL(j, "span_tree.0.span_parent_id");
        TS_J_STR(j, "span_tree.1.span_unique_id", "orphan");
        TS_J_LEN(j, "span_tree.1.children", 0);
        TS_J_LEN(j, "span_tree.0.children", 2);
        TS_J_STR(j, "span_tree.0.children.0.span_unique_id", "c1");
        TS_J_STR(j, "span_tree.0.children.1.span_unique_id", "c2");
        TS_J_STR(j, "span_tree.0.children.1.status", "error");
        TS_J_LEN(j, "span_tree.0.children.0.children", 1);
        TS_J_STR(j, "span_tree.0.children.0.children.0.span_unique_id", "g1");
        const cJSON *c1 = ts_jpath(j, "span_tree.0.children.0");
        TS_J_STR(c1, "span_name", "openai.chat");
        TS_J_STR(c1, "span_parent_id", "root");
        TS_J_STR(c1, "trace_unique_id", t);
        TS_J_STR(c1, "model", "gpt-4");
        TS_J_INT(c1, "prompt_tokens", 50);
        TS_J_NUM(c1, "latency", 0.5);
        TS_J_STR(c1, "log_type", "chat");
        TS_J_TIME(c1, "timestamp");
        TS_J_STR(c1, "status", "success");
        TS_J_TYPE(c1, "children", "array");
        TS_J_NUM(ts_jpath(j, "span_tree.0"), "latency", 2.5);
        ts_resp_free(r);
    }
    /* unknown and other-workspace traces: 404 {"detail":...} */
    r = ts_req("GET", "/api/traces/no-such-trace/", D.key_alpha, NULL);
    TS_STATUS(r, 404);
    TS_J_TYPE(ts_json(r), "detail", "string");
    ts_resp_free(r);
    snprintf(path, sizeof path, "/api/traces/%s/", t);
    EXPECT(ts_req("GET", path, D.key_beta, NULL), 404);
    /* an id too long is 400 */
    char longid[201], lpath[256];
    memset(longid, 'x', 200);
    longid[200] = '\0';
    snprintf(lpath, sizeof lpath, "/api/traces/%s/", longid);
    EXPECT(ts_req("GET", lpath, D.key_alpha, NULL), 400);
}
END_TEST

/* Parent cycles and very deep chains still give a printable tree. */
START_TEST(test_span_tree_cycles_and_depth)
{
    char t[64], path[256], ids[60][16], parents[60][16];
    uid("cyc", t);
    rspan s[2] = {rs(t, "x", "y", T0), rs(t, "y", "x", T0 + MS)};
    INGEST(D.key_alpha, s, 2);
    snprintf(path, sizeof path, "/api/traces/%s/", t);
    ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    /* the cycle is broken at the earliest span, which becomes a root */
    TS_J_LEN(ts_json(r), "span_tree", 1);
    TS_J_STR(ts_json(r), "span_tree.0.span_unique_id", "x");
    TS_J_STR(ts_json(r), "span_tree.0.children.0.span_unique_id", "y");
    ts_resp_free(r);
    uid("deep", t);
    rspan chain[60];
    for (int i = 0; i < 60; i++) {
        snprintf(ids[i], sizeof ids[i], "d%d", i);
        snprintf(parents[i], sizeof parents[i], "d%d", i - 1);
        chain[i] = rs(t, ids[i], i ? parents[i] : NULL, T0 + i * MS);
    }
    INGEST(D.key_alpha, chain, 60);
    snprintf(path, sizeof path, "/api/traces/%s/", t);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_TYPE(ts_json(r), "span_tree", "array");
    TS_J_INT(ts_json(r), "span_count", 60);
    TS_J_STR(ts_json(r), "span_tree.0.children.0.span_unique_id", "d1");
    ts_resp_free(r);
}
END_TEST

START_TEST(test_ingest_bad_input)
{
    static const char *const bad[] = {
        "{\"spans\":[]}",
        "{\"data\":{}}",
        "42",
        "[{\"span_unique_id\":\"s\"}]",
        "[{\"trace_unique_id\":\"t\"}]",
        "[{\"trace_unique_id\":\"t\",\"span_unique_id\":\"s\",\"start_time\":\"noon\"}]",
        "[{\"trace_unique_id\":\"t\",\"span_unique_id\":\"s\",\"latency\":\"slow\"}]",
        "[{\"trace_unique_id\":\"t\",\"span_unique_id\":\"s\",\"prompt_tokens\":-1}]",
        "[{\"trace_unique_id\":\"t\",\"span_unique_id\":\"s\",\"cost\":\"x\"}]",
        "[{\"trace_unique_id\":\"t\",\"span_unique_id\":\"s\",\"metadata\":[1]}]",
        "[{\"trace_unique_id\":\"t\",\"span_unique_id\":\"s\",\"start_time\":"
        "\"2024-01-02T00:00:00Z\",\"timestamp\":\"2024-01-01T00:00:00Z\"}]",
        "[1]",
        "[{\"trace_unique_id\":",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ts_resp *r = ts_req("POST", "/api/v1/traces/ingest", D.key_alpha, bad[i]);
        if (r->status != 400)
            ts_fail_at(__FILE__, __LINE__, "case %zu (%s): want 400, got %ld %s", i, bad[i],
                       r->status, r->body);
        TS_J_TYPE(ts_json(r), "detail", "string");
        ts_resp_free(r);
    }
    /* an empty array is fine; the old path works too */
    EXPECT(ts_req("POST", "/api/v1/traces/ingest", D.key_alpha, "[]"), 200);
    EXPECT(ts_req("POST", "/api/traces/ingest/", D.key_alpha, "[]"), 200);
    EXPECT(ts_req("POST", "/api/v1/traces/ingest", NULL, "[]"), 401);
}
END_TEST

/* ================= list: operators, span fields, sorts ================= */

/* Three traces for the marker m:
 *   A: "alpha-run", 1 span, gpt-4, cost 0.01, 100+50 tokens, metadata tier=pro
 *   B: "beta-run", 3 spans (one gpt-3.5 child, one error), cost 0.2, metadata tier=free
 *   C: "gamma", 2 spans, no model, no cost, no metadata (no LLM call) */
static void three(const char *m, char a[64], char b[64], char c[64], int64_t base)
{
    uid("A", a);
    uid("B", b);
    uid("C", c);
    rspan s[6] = {rs(a, "a1", NULL, base),
                  rs(b, "b1", NULL, base + SEC),
                  rs(b, "b2", "b1", base + SEC + MS),
                  rs(b, "b3", "b1", base + SEC + 2 * MS),
                  rs(c, "c1", NULL, base + 2 * SEC),
                  rs(c, "c2", "c1", base + 2 * SEC + MS)};
    s[0].name = "alpha-run";
    s[0].model = "gpt-4";
    s[0].prompt = 100;
    s[0].completion = 50;
    s[0].cost = 0.01;
    s[0].metadata = "{\"tier\":\"pro\",\"n\":5}";
    s[0].latency = 1.0;
    s[1].name = "beta-run";
    s[1].metadata = "{\"tier\":\"free\",\"n\":50}";
    s[1].latency = 3.0;
    s[2].name = "llm-call";
    s[2].model = "gpt-3.5-turbo";
    s[2].cost = 0.2;
    s[2].prompt = 10;
    s[2].completion = 5;
    s[3].name = "tool";
    s[3].log_type = "tool";
    s[3].status = "error";
    s[4].name = "gamma";
    s[4].latency = 2.5;
    for (int i = 0; i < 6; i++)
        s[i].customer = m;
    INGEST(D.key_alpha, s, 6);
}

START_TEST(test_list_operators)
{
    char a[64], b[64], c[64], f[512];
    const char *m = "ops-marker";
    three(m, a, b, c, T0 + 100 * SEC);
    EXPECT_IDS(m, "", a, b, c);
    /* "" / "=" / in / iexact on trace text fields */
    snprintf(f, sizeof f, "\"trace_unique_id\":{\"operator\":\"\",\"value\":[\"%s\"]}", a);
    EXPECT_IDS(m, f, a);
    snprintf(f, sizeof f, "\"trace_unique_id\":{\"operator\":\"in\",\"value\":[\"%s\",\"%s\"]}", a,
             c);
    EXPECT_IDS(m, f, a, c);
    snprintf(f, sizeof f, "\"trace_unique_id\":{\"operator\":\"IN\",\"value\":[\"%s\"]}", b);
    EXPECT_IDS(m, f, b);
    EXPECT_IDS(m, "\"name\":{\"operator\":\"=\",\"value\":[\"gamma\"]}", c);
    EXPECT_IDS(m, "\"name\":{\"operator\":\"iexact\",\"value\":[\"GAMMA\"]}", c);
    EXPECT_IDS(m, "\"name\":{\"operator\":\"not\",\"value\":[\"gamma\"]}", a, b);
    EXPECT_IDS(m, "\"name\":{\"operator\":\"contains\",\"value\":[\"-run\"]}", a, b);
    EXPECT_NONE(m, "\"name\":{\"operator\":\"contains\",\"value\":[\"-RUN\"]}");
    EXPECT_IDS(m, "\"name\":{\"operator\":\"icontains\",\"value\":[\"-RUN\"]}", a, b);
    EXPECT_NONE(m, "\"name\":{\"operator\":\"icontains\",\"value\":[\"%\"]}");
    EXPECT_IDS(m, "\"name\":{\"operator\":\"startswith\",\"value\":[\"alp\"]}", a);
    EXPECT_IDS(m, "\"name\":{\"operator\":\"endswith\",\"value\":[\"ma\"]}", c);
    /* numbers: lt / lte / gt / gte */
    EXPECT_IDS(m, "\"span_count\":{\"operator\":\"gt\",\"value\":[1]}", b, c);
    EXPECT_IDS(m, "\"span_count\":{\"operator\":\"gte\",\"value\":[3]}", b);
    EXPECT_IDS(m, "\"span_count\":{\"operator\":\"lt\",\"value\":[2]}", a);
    EXPECT_IDS(m, "\"span_count\":{\"operator\":\"lte\",\"value\":[\"2\"]}", a, c);
    EXPECT_IDS(m, "\"total_cost\":{\"operator\":\"gt\",\"value\":[0.05]}", b);
    EXPECT_IDS(m, "\"total_request_tokens\":{\"operator\":\"gte\",\"value\":[150]}", a);
    EXPECT_IDS(m, "\"error_count\":{\"operator\":\"gt\",\"value\":[0]}", b);
    EXPECT_IDS(m, "\"llm_call_count\":{\"operator\":\"\",\"value\":[0]}", c);
    EXPECT_IDS(m, "\"duration\":{\"operator\":\"gte\",\"value\":[2.8]}", b);
    /* iexact on a number is numeric equality, in the count and the page
     * alike (the page once compared it as text and left the row out) */
    EXPECT_IDS(m, "\"total_cost\":{\"operator\":\"iexact\",\"value\":[0.01]}", a);
    EXPECT_IDS(m, "\"duration\":{\"operator\":\"iexact\",\"value\":[3]}", b);
    EXPECT_IDS(m, "\"latency\":{\"operator\":\"iexact\",\"value\":[2.5]}", c);
    /* isnull */
    EXPECT_IDS(m, "\"metadata__tier\":{\"operator\":\"isnull\",\"value\":[true]}", c);
    EXPECT_IDS(m, "\"metadata__tier\":{\"operator\":\"isnull\",\"value\":[false]}", a, b);
    /* metadata__<key> */
    EXPECT_IDS(m, "\"metadata__tier\":{\"operator\":\"\",\"value\":[\"pro\"]}", a);
    EXPECT_IDS(m, "\"metadata__n\":{\"operator\":\"gt\",\"value\":[10]}", b);
    /* unknown keys are dropped (Respan's backend does the same) */
    EXPECT_IDS(m, "\"no_such_field\":{\"operator\":\"\",\"value\":[\"x\"]}", a, b, c);
    /* several filters are ANDed */
    EXPECT_IDS(m,
               "\"span_count\":{\"operator\":\"gt\",\"value\":[1]},"
               "\"name\":{\"operator\":\"startswith\",\"value\":[\"g\"]}",
               c);
}
END_TEST

START_TEST(test_list_span_fields)
{
    char a[64], b[64], c[64];
    const char *m = "span-marker";
    three(m, a, b, c, T0 + 200 * SEC);
    /* a trace matches when any of its spans does */
    EXPECT_IDS(m, "\"model\":{\"operator\":\"\",\"value\":[\"gpt-3.5-turbo\"]}", b);
    EXPECT_IDS(m, "\"model\":{\"operator\":\"in\",\"value\":[\"gpt-4\",\"gpt-3.5-turbo\"]}", a, b);
    EXPECT_IDS(m, "\"model\":{\"operator\":\"startswith\",\"value\":[\"gpt-\"]}", a, b);
    EXPECT_IDS(m, "\"model\":{\"operator\":\"isnull\",\"value\":[true]}", c);
    EXPECT_IDS(m, "\"span_name\":{\"operator\":\"\",\"value\":[\"tool\"]}", b);
    EXPECT_IDS(m, "\"span_name\":{\"operator\":\"icontains\",\"value\":[\"CALL\"]}", b);
    EXPECT_IDS(m, "\"span_unique_id\":{\"operator\":\"\",\"value\":[\"c2\"]}", c);
    EXPECT_IDS(m, "\"span_unique_id\":{\"operator\":\"startswith\",\"value\":[\"b\"]}", b);
    EXPECT_IDS(m, "\"span_parent_id\":{\"operator\":\"\",\"value\":[\"c1\"]}", c);
    EXPECT_IDS(m, "\"status\":{\"operator\":\"\",\"value\":[\"error\"]}", b);
    EXPECT_IDS(m, "\"log_type\":{\"operator\":\"\",\"value\":[\"tool\"]}", b);
    EXPECT_IDS(m, "\"cost\":{\"operator\":\"gte\",\"value\":[0.1]}", b);
    EXPECT_IDS(m, "\"prompt_tokens\":{\"operator\":\"gt\",\"value\":[50]}", a);
    EXPECT_IDS(m, "\"latency\":{\"operator\":\"gte\",\"value\":[2.8]}", b);
    /* the rollups still cover the whole trace */
    char body[512];
    snprintf(body, sizeof body,
             "{\"filters\":{\"model\":{\"operator\":\"\",\"value\":[\"gpt-3.5-turbo\"]},"
             "\"customer_identifier\":{\"value\":[\"%s\"]}}}",
             m);
    ts_resp *r = list(D.key_alpha, NULL, body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "results.0.span_count", 3);
    /* b1 has no model and no log_type: not an LLM call; b3 is a tool */
    TS_J_INT(ts_json(r), "results.0.llm_call_count", 1);
    ts_resp_free(r);
}
END_TEST

START_TEST(test_list_bad_input)
{
    static const char *const bodies[] = {
        "{\"filters\":{\"name\":{\"operator\":\"near\",\"value\":[\"x\"]}}}",
        "{\"filters\":{\"name\":{\"operator\":\"\",\"value\":[]}}}",
        "{\"filters\":{\"name\":\"x\"}}",
        "{\"filters\":{\"span_count\":{\"operator\":\"gt\",\"value\":[\"many\"]}}}",
        "{\"filters\":{\"start_time\":{\"operator\":\"gt\",\"value\":[\"noon\"]}}}",
        "{\"filters\":[1]}",
        "{\"filters\":{\"metadata__a\\\"b\":{\"value\":[\"x\"]}}}",
        "[1]",
        "{bad json",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        ts_resp *r = list(D.key_alpha, NULL, bodies[i]);
        if (r->status != 400)
            ts_fail_at(__FILE__, __LINE__, "case %zu: want 400, got %ld %s", i, r->status, r->body);
        TS_J_TYPE(ts_json(r), "detail", "string");
        ts_resp_free(r);
    }
    ts_resp *r = list(D.key_alpha, "sort_by=-nonsense", NULL);
    TS_STATUS(r, 400);
    TS_J_TYPE(ts_json(r), "detail", "string");
    ts_resp_free(r);
    r = list(D.key_alpha, "start_time=yesterday", NULL);
    TS_STATUS(r, 400);
    ts_resp_free(r);
    r = list(D.key_alpha, "page=0", NULL);
    TS_STATUS(r, 404);
    TS_J_STR(ts_json(r), "detail", "Invalid page.");
    ts_resp_free(r);
    r = list(D.key_alpha, "page=abc", NULL);
    TS_STATUS(r, 404);
    ts_resp_free(r);
    r = list(D.key_alpha, "page=100000", NULL);
    TS_STATUS(r, 404);
    TS_J_STR(ts_json(r), "detail", "Invalid page.");
    ts_resp_free(r);
    /* page_size over the maximum is clamped, not refused */
    EXPECT(list(D.key_alpha, "page_size=5000", NULL), 200);
    EXPECT(list(D.key_alpha, NULL, NULL), 200);
    EXPECT(list(NULL, NULL, NULL), 401);
}
END_TEST

static void order_of(const char *m, const char *sort, const char *first, const char *last,
                     const char *file, int line)
{
    char body[256], q[128];
    snprintf(body, sizeof body, "{\"filters\":{\"customer_identifier\":{\"value\":[\"%s\"]}}}", m);
    snprintf(q, sizeof q, "sort_by=%s", sort);
    ts_resp *r = list(D.key_alpha, q, body);
    ts_expect_status_at(file, line, r, 200);
    cJSON *j = ts_json_at(file, line, r);
    ts_j_str_at(file, line, j, "results.0.trace_unique_id", first);
    ts_j_str_at(file, line, j, "results.2.trace_unique_id", last);
    ts_resp_free(r);
}
#define ORDER(m, s, f, l) order_of((m), (s), (f), (l), __FILE__, __LINE__)

START_TEST(test_list_sorts)
{
    char a[64], b[64], c[64];
    const char *m = "sort-marker";
    three(m, a, b, c, T0 + 300 * SEC);
    ORDER(m, "-timestamp", c, a); /* the default */
    ORDER(m, "", c, a);
    ORDER(m, "start_time", a, c);
    ORDER(m, "span_count", a, b);
    ORDER(m, "-span_count", b, a);
    ORDER(m, "-total_cost", b, c);
    ORDER(m, "duration", a, b);
    ORDER(m, "-duration", b, a);
    ORDER(m, "name", a, c);
    ORDER(m, "-name", c, a);
    ORDER(m, "-total_tokens", a, c);
    ORDER(m, "-error_count", b, a); /* ties: newest row first */
    ORDER(m, "end_time", a, c);
}
END_TEST

START_TEST(test_list_pagination)
{
    const char *m = "page-marker";
    char ids[7][64], body[256];
    for (int i = 0; i < 7; i++) {
        uid("P", ids[i]);
        rspan s = rs(ids[i], "root", NULL, T0 + 400 * SEC + i * SEC);
        s.customer = m;
        INGEST(D.key_alpha, &s, 1);
    }
    snprintf(body, sizeof body, "{\"filters\":{\"customer_identifier\":{\"value\":[\"%s\"]}}}", m);
    int seen[7] = {0};
    char query[512] = "page_size=3&sort_by=-start_time";
    for (int page = 1; page <= 3; page++) {
        ts_resp *r = list(D.key_alpha, query, body);
        TS_STATUS(r, 200);
        cJSON *j = ts_json(r);
        TS_J_INT(j, "count", 7);
        const cJSON *it;
        cJSON_ArrayForEach(it, ts_jpath(j, "results"))
        {
            const char *id = cJSON_GetObjectItemCaseSensitive(it, "trace_unique_id")->valuestring;
            for (int i = 0; i < 7; i++)
                seen[i] += strcmp(id, ids[i]) == 0;
        }
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next");
        const cJSON *prev = cJSON_GetObjectItemCaseSensitive(j, "previous");
        if (page == 1) {
            TS_J_NULL(j, "previous");
            TS_J_LEN(j, "results", 3);
        } else {
            ck_assert_msg(cJSON_IsString(prev), "previous missing on page %d", page);
            ck_assert_msg(strncmp(prev->valuestring, "http://", 7) == 0, "not absolute: %s",
                          prev->valuestring);
            if (page == 2)
                ck_assert_msg(strstr(prev->valuestring, "page=") == NULL,
                              "previous of page 2 has a page param: %s", prev->valuestring);
        }
        if (page < 3) {
            ck_assert_msg(cJSON_IsString(next), "next missing on page %d: %s", page, r->body);
            ck_assert_msg(strncmp(next->valuestring, "http://127.0.0.1:", 17) == 0,
                          "next not absolute: %s", next->valuestring);
            ck_assert_msg(strstr(next->valuestring, "page_size=3") != NULL, "params lost: %s",
                          next->valuestring);
            ck_assert_msg(strstr(next->valuestring, "sort_by=-start_time") != NULL, "sort lost: %s",
                          next->valuestring);
            const char *qs = strchr(next->valuestring, '?');
            snprintf(query, sizeof query, "%s", qs ? qs + 1 : "");
        } else {
            TS_J_NULL(j, "next");
            TS_J_LEN(j, "results", 1);
        }
        ts_resp_free(r);
    }
    for (int i = 0; i < 7; i++)
        ck_assert_msg(seen[i] == 1, "trace %d seen %d times", i, seen[i]);
    /* A fixed end_time keeps a page walk stable while new traces arrive. */
    {
        char en2[48], q2[256];
        int seen2[7] = {0};
        iso(T0 + 400 * SEC + 6 * SEC, en2);
        for (int page = 1; page <= 3; page++) {
            snprintf(q2, sizeof q2, "page_size=3&page=%d&end_time=%s", page, en2);
            ts_resp *r2 = list(D.key_alpha, q2, body);
            TS_STATUS(r2, 200);
            const cJSON *it;
            cJSON_ArrayForEach(it, ts_jpath(ts_json(r2), "results"))
            {
                const char *id =
                    cJSON_GetObjectItemCaseSensitive(it, "trace_unique_id")->valuestring;
                for (int i = 0; i < 7; i++)
                    seen2[i] += strcmp(id, ids[i]) == 0;
            }
            ts_resp_free(r2);
            char nid[64];
            uid("late", nid);
            rspan ns = rs(nid, "root", NULL, T0 + 400 * SEC + 100 * SEC + page * SEC);
            ns.customer = m;
            INGEST(D.key_alpha, &ns, 1);
        }
        for (int i = 0; i < 7; i++)
            ck_assert_msg(seen2[i] == 1, "with arrivals: trace %d seen %d times", i, seen2[i]);
    }
    /* GET works the same (no body: no filters) */
    ts_resp *r = ts_req("GET", "/api/traces/list?page_size=2", D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_LEN(ts_json(r), "results", 2);
    ts_resp_free(r);
    /* start_time / end_time window on the trace's start */
    char q[256], st[48], en[48];
    iso(T0 + 402 * SEC, st);
    iso(T0 + 404 * SEC, en);
    snprintf(q, sizeof q, "start_time=%s&end_time=%s", st, en);
    r = list(D.key_alpha, q, body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "count", 3);
    ts_resp_free(r);
}
END_TEST

/* ================= bulk delete ================= */

START_TEST(test_bulk_delete)
{
    char a[64], b[64], c[64], body[512], path[128];
    const char *m = "bulk-marker";
    three(m, a, b, c, T0 + 500 * SEC);
    /* beta has a trace with the same marker: never touched */
    char other[64];
    uid("beta", other);
    rspan bs = rs(other, "x", NULL, T0 + 500 * SEC);
    bs.customer = m;
    INGEST(D.key_beta, &bs, 1);
    /* filters required and non-empty */
    static const char *const bad[] = {"{}", "{\"filters\":{}}", "{\"filters\":null}", ""};
    for (int i = 0; i < 4; i++) {
        ts_resp *r = ts_req("POST", "/api/traces/bulk-delete/", D.key_alpha, bad[i]);
        TS_STATUS(r, 400);
        TS_J_TYPE(ts_json(r), "detail", "string");
        TS_J_TYPE(ts_json(r), "error", "string");
        ts_resp_free(r);
    }
    /* only unknown keys: refused rather than deleting everything */
    EXPECT(ts_req("POST", "/api/traces/bulk-delete/", D.key_alpha,
                  "{\"filters\":{\"bogus\":{\"value\":[1]}}}"),
           400);
    /* delete B by metadata, via the SDK path */
    snprintf(body, sizeof body,
             "{\"filters\":{\"customer_identifier\":{\"value\":[\"%s\"]},"
             "\"metadata__tier\":{\"value\":[\"free\"]}}}",
             m);
    ts_resp *r = ts_req("POST", "/api/traces/bulk/", D.key_alpha, body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "deleted_count", 1);
    TS_J_STR(ts_json(r), "message", "Successfully deleted 1 traces");
    ts_resp_free(r);
    snprintf(path, sizeof path, "/api/traces/%s/", b);
    EXPECT(ts_req("GET", path, D.key_alpha, NULL), 404);
    /* nothing matches now */
    r = ts_req("POST", "/api/traces/bulk-delete", D.key_alpha, body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "deleted_count", 0);
    TS_J_STR(ts_json(r), "message", "No traces matched the given filters");
    ts_resp_free(r);
    /* the rest of alpha's marker traces */
    snprintf(body, sizeof body, "{\"filters\":{\"customer_identifier\":{\"value\":[\"%s\"]}}}", m);
    r = ts_req("POST", "/api/traces/bulk-delete/", D.key_alpha, body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "deleted_count", 2);
    ts_resp_free(r);
    /* beta's trace is still there */
    snprintf(path, sizeof path, "/api/traces/%s/", other);
    EXPECT(ts_req("GET", path, D.key_beta, NULL), 200);
    r = list(D.key_beta, NULL, body);
    TS_J_INT(ts_json(r), "count", 1);
    ts_resp_free(r);
}
END_TEST

/* Limits from the configuration: spans per request (413), string bytes
 * (400), page size, on both vendors' ingest and list routes. */
START_TEST(test_config_limits)
{
    char big[6000], body[7000];
    memset(big, 'x', 5000);
    big[5000] = '\0';
    const char *four = "[{\"trace_unique_id\":\"L\",\"span_unique_id\":\"1\"},"
                       "{\"trace_unique_id\":\"L\",\"span_unique_id\":\"2\"},"
                       "{\"trace_unique_id\":\"L\",\"span_unique_id\":\"3\"},"
                       "{\"trace_unique_id\":\"L\",\"span_unique_id\":\"4\"}]";
    ts_resp *r = ts_req("POST", "/api/v1/traces/ingest", D.key_alpha, four);
    TS_STATUS(r, 413);
    TS_J_CONTAINS(ts_json(r), "detail", "max_spans_per_request");
    ts_resp_free(r);
    r = ts_req("POST", "/v1/ingest", D.key_alpha,
               "{\"spans\":[{\"name\":\"a\",\"type\":\"t\"},{\"name\":\"a\",\"type\":\"t\"},"
               "{\"name\":\"a\",\"type\":\"t\"},{\"name\":\"a\",\"type\":\"t\"}]}");
    TS_STATUS(r, 413);
    TS_J_STR(ts_json(r), "code", "payload_too_large");
    ts_resp_free(r);
    snprintf(body, sizeof body,
             "[{\"trace_unique_id\":\"L\",\"span_unique_id\":\"1\",\"input\":\"%s\"}]", big);
    r = ts_req("POST", "/api/v1/traces/ingest", D.key_alpha, body);
    TS_STATUS(r, 400);
    TS_J_CONTAINS(ts_json(r), "detail", "max_string_bytes");
    ts_resp_free(r);
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", big);
    r = ts_req("POST", "/v1/ingest", D.key_alpha, body);
    TS_STATUS(r, 400);
    TS_J_CONTAINS(ts_json(r), "error", "max_string_bytes");
    ts_resp_free(r);
    /* TruLayer's limit is bounded by max_page_size */
    r = ts_req("GET", "/v1/traces?limit=6", D.key_alpha, NULL);
    TS_STATUS(r, 400);
    TS_J_STR(ts_json(r), "code", "error.invalid_parameter");
    ts_resp_free(r);
    EXPECT(ts_req("GET", "/v1/traces?limit=5", D.key_alpha, NULL), 200);
    /* POST on a trace path reads it (Respan S1 allows POST) */
    EXPECT(ts_req("POST", "/api/traces/nothing-here/", D.key_alpha, NULL), 404);
}
END_TEST

/* With max_page_size 5: more than 5 matches deletes nothing. */
START_TEST(test_bulk_delete_bound)
{
    char body[256];
    const char *m = "bound-marker";
    for (int i = 0; i < 6; i++) {
        char id[64];
        uid("B", id);
        rspan s = rs(id, "r", NULL, T0 + i * SEC);
        s.customer = m;
        INGEST(D.key_alpha, &s, 1);
    }
    snprintf(body, sizeof body, "{\"filters\":{\"customer_identifier\":{\"value\":[\"%s\"]}}}", m);
    ts_resp *r = ts_req("POST", "/api/traces/bulk-delete/", D.key_alpha, body);
    TS_STATUS(r, 400);
    TS_J_INT(ts_json(r), "matched_count", 6);
    TS_J_CONTAINS(ts_json(r), "detail", "more than 5");
    ts_resp_free(r);
    r = list(D.key_alpha, NULL, body);
    TS_J_INT(ts_json(r), "count", 6);
    ts_resp_free(r);
    /* narrowed to 5: deleted */
    snprintf(body, sizeof body,
             "{\"filters\":{\"customer_identifier\":{\"value\":[\"%s\"]},"
             "\"start_time\":{\"operator\":\"gte\",\"value\":[\"2023-11-14T22:13:21Z\"]}}}",
             m);
    r = ts_req("POST", "/api/traces/bulk-delete/", D.key_alpha, body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "deleted_count", 5);
    ts_resp_free(r);
    /* the list's page_size is bounded by the same limit */
    r = list(D.key_alpha, "page_size=50", NULL);
    TS_STATUS(r, 200);
    ts_resp_free(r);
}
END_TEST

/* ================= isolation ================= */

START_TEST(test_isolation)
{
    char a[64], b[64], c[64], body[256];
    const char *m = "iso-marker";
    three(m, a, b, c, T0 + 600 * SEC);
    snprintf(body, sizeof body, "{\"filters\":{\"customer_identifier\":{\"value\":[\"%s\"]}}}", m);
    ts_resp *r = list(D.key_beta, NULL, body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "count", 0);
    TS_J_LEN(ts_json(r), "results", 0);
    ts_resp_free(r);
    r = ts_req("POST", "/api/traces/bulk-delete/", D.key_beta, body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "deleted_count", 0);
    ts_resp_free(r);
    r = list(D.key_alpha, NULL, body);
    TS_J_INT(ts_json(r), "count", 3);
    ts_resp_free(r);
    char path[128];
    snprintf(path, sizeof path, "/api/traces/%s", a);
    EXPECT(ts_req("GET", path, D.key_beta, NULL), 404);
    /* Respan 401 shape on the new routes */
    r = ts_req("POST", "/api/traces/list/", "ts_000000000000000000000000000000000000000000000000",
               "{}");
    TS_STATUS(r, 401);
    TS_J_CONTAINS(ts_json(r), "detail", "invalid or expired");
    ts_resp_free(r);
    EXPECT(ts_req("POST", "/api/traces/bulk-delete/", NULL, body), 401);
    EXPECT(ts_req("GET", path, NULL, NULL), 401);
}
END_TEST

/* ================= PromptLayer /track-request ================= */

static char *track_body(const char *key, const char *span_id, int64_t in, int64_t out)
{
    char *b = malloc(2048);
    snprintf(
        b, 2048,
        "{\"api_key\":\"%s\",\"function_name\":\"openai.chat.completions.create\","
        "\"provider_type\":\"openai\",\"span_id\":%s%s%s,"
        "\"kwargs\":{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]},"
        "\"request_response\":{\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"message\":"
        "{\"role\":\"assistant\",\"content\":\"hello!\"}}],\"usage\":{\"prompt_tokens\":%lld,"
        "\"completion_tokens\":%lld}},\"request_start_time\":\"2024-01-01T00:00:00Z\","
        "\"request_end_time\":\"2024-01-01T00:00:01Z\",\"tags\":[],\"metadata\":{}}",
        key ? key : "", span_id ? "\"" : "", span_id ? span_id : "null", span_id ? "\"" : "",
        (long long)in, (long long)out);
    return b;
}

static int64_t track(const char *key, const char *span_id, int64_t in, int64_t out)
{
    char *body = track_body(key, span_id, in, out);
    /* no X-API-KEY header: the key is in the body */
    const char *h[] = {"Content-Type: application/json", NULL};
    ts_resp *r = ts_http("POST", "/track-request", h, body, strlen(body));
    free(body);
    TS_STATUS(r, 200);
    TS_J_BOOL(ts_json(r), "success", 1);
    int64_t id = TS_J_GETINT(ts_json(r), "request_id");
    ts_resp_free(r);
    return id;
}

static void spans_bulk(const char *key, const char *tid, const char *sid, const char *parent)
{
    ts_span_spec s;
    memset(&s, 0, sizeof s);
    s.trace_id = tid;
    s.span_id = sid;
    s.parent_id = parent;
    s.name = "openai.chat";
    s.kind = "SpanKind.CLIENT";
    s.start_ns = T0;
    s.end_ns = T0 + SEC;
    char *body = ts_spans_body(&s, 1, 0);
    ts_resp *r = ts_req("POST", "/spans-bulk", key, body);
    TS_STATUS(r, 201);
    free(body);
    ts_resp_free(r);
}

START_TEST(test_track_request)
{
    char t1[33], s1[17], t2[33], s2[17], root[17], path[128];
    ts_new_trace_id(t1);
    ts_new_span_id(s1);
    ts_new_trace_id(t2);
    ts_new_span_id(s2);
    ts_new_span_id(root);
    /* span first, then the request log */
    spans_bulk(D.key_alpha, t1, root, NULL);
    spans_bulk(D.key_alpha, t1, s1, root);
    int64_t rid = track(D.key_alpha, s1, 120, 30);
    ck_assert_int_gt(rid, 0);
    snprintf(path, sizeof path, "/api/public/v2/traces/%s", t1);
    ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    cJSON *j = ts_json(r);
    const cJSON *sp = ts_jpath(j, "spans.1");
    if (strcmp(TS_J_GETSTR(sp, "span_id"), s1) != 0)
        sp = ts_jpath(j, "spans.0");
    TS_J_STR(sp, "model", "gpt-4o-2024-08-06");
    TS_J_STR(sp, "provider", "openai");
    TS_J_INT(sp, "input_tokens", 120);
    TS_J_INT(sp, "output_tokens", 30);
    TS_J_INT(sp, "request_log_id", rid);
    /* No price sent (as the JS SDK): priced from the table, gpt-4o snapshot
     * -> gpt-4o at $2.50 / $10.00 per million: 120 * 2.5e-6 + 30 * 1e-5. */
    TS_J_NUM(sp, "cost", 0.0006);
    ts_resp_free(r);
    snprintf(path, sizeof path, "/v1/traces/%s", t1);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_J_INT(ts_json(r), "total_token_count", 150);
    TS_J_INT(ts_json(r), "span_count", 2);
    ts_resp_free(r);
    /* request log first, then the span: applied on arrival */
    rid = track(D.key_alpha, s2, 7, 3);
    spans_bulk(D.key_alpha, t2, s2, NULL);
    snprintf(path, sizeof path, "/v1/traces/%s", t2);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "total_token_count", 10);
    TS_J_STR(ts_json(r), "spans.0.model", "gpt-4o-2024-08-06");
    TS_J_STR(ts_json(r), "spans.0.output", "hello!");
    ts_resp_free(r);
    /* the model filter sees it */
    char body[256];
    snprintf(body, sizeof body,
             "{\"filters\":{\"trace_unique_id\":{\"value\":[\"%s\"]},"
             "\"model\":{\"value\":[\"gpt-4o-2024-08-06\"]}}}",
             t2);
    r = list(D.key_alpha, NULL, body);
    TS_J_INT(ts_json(r), "count", 1);
    ts_resp_free(r);
    /* no span id: stored, attached to nothing */
    ck_assert_int_gt(track(D.key_alpha, NULL, 1, 1), 0);
    /* beta's log for alpha's span id does not touch alpha's span */
    char t3[33], s3[17];
    ts_new_trace_id(t3);
    ts_new_span_id(s3);
    spans_bulk(D.key_alpha, t3, s3, NULL);
    track(D.key_beta, s3, 999, 999);
    snprintf(path, sizeof path, "/v1/traces/%s", t3);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_J_INT(ts_json(r), "total_token_count", 0);
    ts_resp_free(r);
    /* keys: missing or wrong is 401 in PromptLayer's shape; a header key works */
    const char *h[] = {"Content-Type: application/json", NULL};
    char *bad = track_body("ts_000000000000000000000000000000000000000000000000", s1, 1, 1);
    r = ts_http("POST", "/track-request", h, bad, strlen(bad));
    TS_STATUS(r, 401);
    TS_J_BOOL(ts_json(r), "success", 0);
    TS_J_STR(ts_json(r), "error", "invalid_api_key");
    ts_resp_free(r);
    free(bad);
    bad = track_body(NULL, s1, 1, 1);
    r = ts_http("POST", "/track-request", h, bad, strlen(bad));
    TS_STATUS(r, 401);
    ts_resp_free(r);
    r = ts_req("POST", "/track-request", D.key_alpha, bad);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    free(bad);
    /* malformed JSON with a valid header key: 400, never 5xx */
    EXPECT(ts_req("POST", "/track-request", D.key_alpha, "{\"api_key\":"), 400);
}
END_TEST

/* A request log still waiting for its span when the daemon restarts is
 * applied when the span arrives afterwards (the writer learns at start
 * that logs are pending, and skips the lookup per span only without). */
START_TEST(test_track_request_pending_across_restart)
{
    char t[33], s[17], path[128];
    ts_new_trace_id(t);
    ts_new_span_id(s);
    track(D.key_alpha, s, 11, 4);
    ts_d_stop(&D);
    ts_d_start(&D);
    spans_bulk(D.key_alpha, t, s, NULL);
    snprintf(path, sizeof path, "/v1/traces/%s", t);
    ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "total_token_count", 15);
    TS_J_STR(ts_json(r), "spans.0.model", "gpt-4o-2024-08-06");
    ts_resp_free(r);
}
END_TEST

/* A span written before a restart is still found by its id: the writer
 * refills its span id window from the newest spans at start. */
START_TEST(test_track_request_existing_span_across_restart)
{
    char t[33], s[17], path[128];
    ts_new_trace_id(t);
    ts_new_span_id(s);
    spans_bulk(D.key_alpha, t, s, NULL);
    ts_d_stop(&D);
    ts_d_start(&D);
    int64_t rid = track(D.key_alpha, s, 20, 5);
    /* attached at once: the span is not written again */
    snprintf(path, sizeof path, "/api/public/v2/traces/%s", t);
    ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "spans.0.input_tokens", 20);
    TS_J_INT(ts_json(r), "spans.0.request_log_id", rid);
    ts_resp_free(r);
}
END_TEST

static int64_t trace_tokens(const char *tid)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/traces/%s", tid);
    ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    int64_t n = TS_J_GETINT(ts_json(r), "total_token_count");
    ts_resp_free(r);
    return n;
}

/* span_id_window = 4 (up_small): the newest 2 to 4 spans are found by id.
 * A log for an older span waits, and is applied when the span is written
 * again; a log for a recent one is attached at once. PostgreSQL has no
 * window (docs/ARCHITECTURE.md): its index finds every stored span, so
 * there the old span's log is attached at once too. */
START_TEST(test_track_request_span_id_window)
{
    char t[5][33], s[5][17];
    for (int i = 0; i < 5; i++) {
        ts_new_trace_id(t[i]);
        ts_new_span_id(s[i]);
        spans_bulk(D.key_alpha, t[i], s[i], NULL);
    }
    track(D.key_alpha, s[4], 3, 1);
    ck_assert_int_eq(trace_tokens(t[4]), 4);
    track(D.key_alpha, s[0], 30, 10);
    if (ts_backend_is_pg()) {
        ck_assert_int_eq(trace_tokens(t[0]), 40); /* no window: found by the index */
        return;
    }
    ck_assert_int_eq(trace_tokens(t[0]), 0); /* out of the window: pending */
    spans_bulk(D.key_alpha, t[0], s[0], NULL);
    ck_assert_int_eq(trace_tokens(t[0]), 40);
}
END_TEST

/* A /track-request log for span_id naming model and provider (key in the
 * body, no price: the store prices the final span). */
static void track_model(const char *key, const char *span_id, const char *model,
                        const char *provider, int64_t in, int64_t out)
{
    char b[2048];
    snprintf(b, sizeof b,
             "{\"api_key\":\"%s\",\"function_name\":\"x.create\",\"provider_type\":\"%s\","
             "\"span_id\":\"%s\",\"kwargs\":{\"model\":\"%s\",\"messages\":[]},"
             "\"request_response\":{\"model\":\"%s\",\"usage\":{\"prompt_tokens\":%lld,"
             "\"completion_tokens\":%lld}},\"tags\":[],\"metadata\":{}}",
             key, provider, span_id, model, model, (long long)in, (long long)out);
    const char *h[] = {"Content-Type: application/json", NULL};
    ts_resp *r = ts_http("POST", "/track-request", h, b, strlen(b));
    TS_STATUS(r, 200);
    ts_resp_free(r);
}

/* Respan's list filtered by trace id and one more {"key": value} filter:
 * the match count. */
static int64_t count_with(const char *tid, const char *key, const char *val)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"filters\":{\"trace_unique_id\":{\"value\":[\"%s\"]},\"%s\":{\"value\":[\"%s\"]}}}",
             tid, key, val);
    ts_resp *r = list(D.key_alpha, NULL, body);
    TS_STATUS(r, 200);
    int64_t n = TS_J_GETINT(ts_json(r), "count");
    ts_resp_free(r);
    return n;
}

/* TruLayer's view of trace tid (caller frees). */
static ts_resp *tl_trace(const char *tid)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/traces/%s", tid);
    ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    return r;
}

/* Issue 23.1: attaching a log moves every any-span filter entry (model,
 * provider, log_type) from the span's old values to the new ones, as a
 * re-ingest does, and bulk delete by filter follows. */
START_TEST(test_track_request_moves_filters)
{
    char t1[33], s1[17], t2[33], s2[17], body[512];
    ts_new_trace_id(t1);
    ts_new_span_id(s1);
    ts_new_trace_id(t2);
    ts_new_span_id(s2);
    rspan a = rs(t1, s1, NULL, T0);
    a.log_type = "llm";
    a.model = "model-a-23";
    INGEST(D.key_alpha, &a, 1);
    spans_bulk(D.key_alpha, t2, s2, NULL); /* no model: type "other" */
    ck_assert_int_eq(count_with(t1, "model", "model-a-23"), 1);
    ck_assert_int_eq(count_with(t2, "log_type", "other"), 1);
    track_model(D.key_alpha, s1, "model-b-23", "prov-b-23", 5, 5);
    track_model(D.key_alpha, s2, "model-b-23", "prov-b-23", 5, 5);
    ck_assert_int_eq(count_with(t1, "model", "model-a-23"), 0);
    ck_assert_int_eq(count_with(t1, "model", "model-b-23"), 1);
    ck_assert_int_eq(count_with(t1, "provider_id", "prov-b-23"), 1);
    ck_assert_int_eq(count_with(t2, "log_type", "other"), 0);
    ck_assert_int_eq(count_with(t2, "log_type", "llm"), 1);
    ck_assert_int_eq(count_with(t2, "model", "model-b-23"), 1);
    /* bulk delete by the old model hits nothing */
    snprintf(body, sizeof body,
             "{\"filters\":{\"trace_unique_id\":{\"value\":[\"%s\"]},"
             "\"model\":{\"value\":[\"model-a-23\"]}}}",
             t1);
    ts_resp *r = ts_req("POST", "/api/traces/bulk-delete/", D.key_alpha, body);
    TS_STATUS(r, 200);
    TS_J_INT(ts_json(r), "deleted_count", 0);
    ts_resp_free(r);
    /* a re-ingest with a third model moves the count off the log's model */
    a.model = "model-c-23";
    INGEST(D.key_alpha, &a, 1);
    ck_assert_int_eq(count_with(t1, "model", "model-b-23"), 0);
    ck_assert_int_eq(count_with(t1, "model", "model-c-23"), 1);
    /* the span as re-sent names no provider: the log's goes with it */
    ck_assert_int_eq(count_with(t1, "provider_id", "prov-b-23"), 0);
}
END_TEST

/* Issue 23.3: after an attach, cost and unpriced status are those of a
 * fresh ingest of the final span. */
START_TEST(test_track_request_reprices)
{
    char t1[33], s1[17], t2[33], s2[17];
    ts_new_trace_id(t1);
    ts_new_span_id(s1);
    ts_new_trace_id(t2);
    ts_new_span_id(s2);
    /* an unknown model, unpriced; the log names gpt-4o: priced, counted no more */
    rspan a = rs(t1, s1, NULL, T0);
    a.log_type = "llm";
    a.model = "no-such-model-23";
    a.prompt = 100;
    a.completion = 10;
    INGEST(D.key_alpha, &a, 1);
    ts_resp *r = tl_trace(t1);
    TS_J_INT(ts_json(r), "unpriced_span_count", 1);
    TS_J_NULL(ts_json(r), "cost");
    ts_resp_free(r);
    track_model(D.key_alpha, s1, "gpt-4o", "openai", 120, 30);
    r = tl_trace(t1);
    TS_J_INT(ts_json(r), "unpriced_span_count", 0);
    TS_J_NUM(ts_json(r), "cost", 0.0006); /* 120 * 2.5e-6 + 30 * 1e-5 */
    TS_J_NUM(ts_json(r), "spans.0.cost", 0.0006);
    ts_resp_free(r);
    /* priced for gpt-4o, then a log with another (unknown) model and fewer
     * tokens: the old cost goes, the span is unpriced */
    rspan b = rs(t2, s2, NULL, T0);
    b.log_type = "llm";
    b.model = "gpt-4o";
    b.prompt = 1000;
    b.completion = 100;
    INGEST(D.key_alpha, &b, 1);
    r = tl_trace(t2);
    TS_J_NUM(ts_json(r), "cost", 0.0035);
    ts_resp_free(r);
    track_model(D.key_alpha, s2, "no-such-model-23", "acme", 10, 1);
    r = tl_trace(t2);
    TS_J_NULL(ts_json(r), "cost");
    TS_J_ABSENT(ts_json(r), "spans.0.cost");
    TS_J_INT(ts_json(r), "unpriced_span_count", 1);
    TS_J_INT(ts_json(r), "total_token_count", 11);
    ts_resp_free(r);
    /* and back to gpt-4o with the log's tokens */
    track_model(D.key_alpha, s2, "gpt-4o", "openai", 120, 30);
    r = tl_trace(t2);
    TS_J_NUM(ts_json(r), "cost", 0.0006);
    TS_J_INT(ts_json(r), "unpriced_span_count", 0);
    ts_resp_free(r);
    /* the log first, then its span (priced for gpt-4o on its own): the
     * final span has the log's unknown model, so it is unpriced */
    char t3[33], s3[17];
    ts_new_trace_id(t3);
    ts_new_span_id(s3);
    track_model(D.key_alpha, s3, "no-such-model-23", "acme", 10, 1);
    rspan c = rs(t3, s3, NULL, T0);
    c.log_type = "llm";
    c.model = "gpt-4o";
    c.prompt = 1000;
    c.completion = 100;
    INGEST(D.key_alpha, &c, 1);
    r = tl_trace(t3);
    TS_J_STR(ts_json(r), "spans.0.model", "no-such-model-23");
    TS_J_NULL(ts_json(r), "cost");
    TS_J_INT(ts_json(r), "unpriced_span_count", 1);
    TS_J_INT(ts_json(r), "total_token_count", 11);
    ts_resp_free(r);
}
END_TEST

/* Respan's trace detail (caller frees). */
static ts_resp *rs_trace(const char *tid)
{
    char path[128];
    snprintf(path, sizeof path, "/api/traces/%s/", tid);
    ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    return r;
}

/* Issue 23.4: Respan's LLM log types (chat is the default with a model)
 * are LLM spans for pricing, the unpriced count and the LLM count alike. */
START_TEST(test_chat_spans_priced)
{
    char t1[33], t2[33];
    ts_new_trace_id(t1);
    ts_new_trace_id(t2);
    rspan a = rs(t1, "chat-1", NULL, T0);
    a.model = "gpt-4o"; /* no log_type: chat */
    a.prompt = 1000;
    a.completion = 100;
    rspan b = rs(t1, "chat-2", "chat-1", T0 + MS);
    b.log_type = "chat";
    b.model = "no-such-model-23";
    b.prompt = 5;
    b.completion = 5;
    rspan both[2] = {a, b};
    INGEST(D.key_alpha, both, 2);
    ts_resp *r = tl_trace(t1);
    TS_J_NUM(ts_json(r), "cost", 0.0035); /* 1000 * 2.5e-6 + 100 * 1e-5 */
    TS_J_INT(ts_json(r), "unpriced_span_count", 1);
    ts_resp_free(r);
    r = rs_trace(t1);
    TS_J_NUM(ts_json(r), "total_cost", 0.0035);
    TS_J_INT(ts_json(r), "llm_call_count", 2);
    ts_resp_free(r);
    /* a non-LLM log type is neither priced nor counted */
    rspan c = rs(t2, "task-1", NULL, T0);
    c.log_type = "task";
    c.model = "gpt-4o";
    c.prompt = 1000;
    c.completion = 100;
    INGEST(D.key_alpha, &c, 1);
    r = tl_trace(t2);
    TS_J_NULL(ts_json(r), "cost");
    TS_J_INT(ts_json(r), "unpriced_span_count", 0);
    ts_resp_free(r);
}
END_TEST

/* Issue 23.7: a span's reported total wins over prompt + completion, the
 * trace's total is the sum of what its spans show, and replacing a span
 * moves it by that same value. */
START_TEST(test_reported_totals_summed)
{
    char t[33];
    ts_new_trace_id(t);
    rspan a = rs(t, "tot-1", NULL, T0);
    a.log_type = "chat";
    a.model = "gpt-4o";
    a.prompt = 20;
    a.completion = 10;
    a.total = 100; /* reasoning and cached tokens counted by the provider */
    rspan b = rs(t, "tot-2", "tot-1", T0 + MS);
    b.log_type = "chat";
    b.model = "gpt-4o";
    b.prompt = 15;
    b.completion = 10;
    b.total = 40;
    rspan c = rs(t, "tot-3", "tot-1", T0 + 2 * MS); /* no total: prompt + completion */
    c.log_type = "chat";
    c.model = "gpt-4o";
    c.prompt = 3;
    c.completion = 4;
    rspan all[3] = {a, b, c};
    INGEST(D.key_alpha, all, 3);
    ts_resp *r = tl_trace(t);
    TS_J_INT(ts_json(r), "total_token_count", 147);
    TS_J_INT(ts_json(r), "prompt_tokens_total", 38);
    TS_J_INT(ts_json(r), "completion_tokens_total", 24);
    ts_resp_free(r);
    /* each span shows what was summed: the root's 100, its children 40 + 7 */
    r = rs_trace(t);
    TS_J_INT(ts_json(r), "total_tokens", 147);
    const cJSON *root = ts_jpath(ts_json(r), "span_tree.0"), *it;
    TS_J_INT(root, "total_request_tokens", 100);
    int64_t sum = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "children")) sum +=
        TS_J_GETINT(it, "total_request_tokens");
    ck_assert_int_eq(sum, 47);
    ts_resp_free(r);
    /* the 40 becomes 60: the trace moves by 20 */
    b.total = 60;
    INGEST(D.key_alpha, &b, 1);
    r = tl_trace(t);
    TS_J_INT(ts_json(r), "total_token_count", 167);
    ts_resp_free(r);
}
END_TEST

/* POSTs a raw Respan ingest body; returns the status (body kept in *out). */
static long ingest_raw(const char *body, char *detail, size_t cap)
{
    ts_resp *r = ts_req("POST", "/api/v1/traces/ingest", D.key_alpha, body);
    long st = r->status;
    snprintf(detail, cap, "%s", r->body);
    ts_resp_free(r);
    return st;
}

/* /v1/metrics total_cost over the hour from ns. */
static double metrics_cost(int64_t ns)
{
    char a[48], b[48], path[160];
    iso(ns, a);
    iso(ns + 3600 * SEC, b);
    snprintf(path, sizeof path, "/v1/metrics?from=%s&to=%s", a, b);
    ts_resp *r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_TYPE(ts_json(r), "total_cost", "number");
    double c = ts_jpath(ts_json(r), "total_cost")->valuedouble;
    ts_resp_free(r);
    return c;
}

/* Issue 23.6: a trace's cost and tokens stay the sum over its spans:
 * absurd values are refused at ingest (bounds 1e9 USD and 10^15 tokens a
 * span), a difference that cannot be exact is re-summed from the spans,
 * and big integers print as integers. */
START_TEST(test_sums_stay_exact)
{
    const int64_t tm = T0 + INT64_C(900) * 86400 * SEC; /* an hour no other test uses */
    char t1[33], t2[33], t3[33], detail[1024], body[1024], st[48];
    ts_resp *r;
    ts_new_trace_id(t1);
    ts_new_trace_id(t2);
    ts_new_trace_id(t3);
    iso(tm, st);
    /* out of bounds: 400 naming the field */
    snprintf(body, sizeof body,
             "[{\"trace_unique_id\":\"%s\",\"span_unique_id\":\"x\",\"start_time\":\"%s\","
             "\"latency\":1,\"cost\":1e308}]",
             t1, st);
    ck_assert_int_eq(ingest_raw(body, detail, sizeof detail), 400);
    ck_assert_msg(strstr(detail, "cost") != NULL, "%s", detail);
    snprintf(body, sizeof body,
             "[{\"trace_unique_id\":\"%s\",\"span_unique_id\":\"x\",\"start_time\":\"%s\","
             "\"latency\":1,\"prompt_tokens\":9223372036854775807}]",
             t1, st);
    ck_assert_int_eq(ingest_raw(body, detail, sizeof detail), 400);
    ck_assert_msg(strstr(detail, "prompt_tokens") != NULL, "%s", detail);
    /* and on /track-request */
    r = ts_req("POST", "/track-request", D.key_alpha,
               "{\"request_response\":{\"usage\":{\"prompt_tokens\":9223372036854775807}}}");
    TS_STATUS(r, 400);
    TS_J_CONTAINS(ts_json(r), "message", "prompt_tokens");
    ts_resp_free(r);
    r = ts_req("POST", "/track-request", D.key_alpha, "{\"price\":1e300}");
    TS_STATUS(r, 400);
    TS_J_CONTAINS(ts_json(r), "message", "price");
    ts_resp_free(r);
    /* two spans at the bound, then re-sent at 1.0 */
    rspan a = rs(t1, "big-1", NULL, tm), b = rs(t1, "big-2", "big-1", tm + MS);
    a.cost = b.cost = 1e9;
    rspan ab[2] = {a, b};
    INGEST(D.key_alpha, ab, 2);
    r = tl_trace(t1);
    TS_J_NUM(ts_json(r), "cost", 2e9);
    ts_resp_free(r);
    ck_assert(metrics_cost(tm) == 2e9);
    ab[0].cost = ab[1].cost = 1.0;
    INGEST(D.key_alpha, ab, 2);
    r = tl_trace(t1);
    TS_J_NUM(ts_json(r), "cost", 2.0);
    ts_resp_free(r);
    ck_assert(metrics_cost(tm) == 2.0);
    /* 0.001 + 1e9, then the 1e9 span replaced by 0: exactly 0.001 */
    rspan c = rs(t2, "small", NULL, tm), d = rs(t2, "huge", "small", tm + MS);
    c.cost = 0.001;
    d.cost = 1e9;
    rspan cd[2] = {c, d};
    INGEST(D.key_alpha, cd, 2);
    d.cost = 0;
    INGEST(D.key_alpha, &d, 1);
    r = tl_trace(t2);
    ts_j_num_at(__FILE__, __LINE__, ts_json(r), "cost", 0.001, 1e-15);
    ts_resp_free(r);
    r = rs_trace(t2);
    ts_j_num_at(__FILE__, __LINE__, ts_json(r), "total_cost", 0.001, 1e-15);
    ts_resp_free(r);
    /* tokens at the bound: sums exact, printed as integers */
    rspan e = rs(t3, "tok-1", NULL, tm), f = rs(t3, "tok-2", "tok-1", tm + MS);
    e.prompt = f.prompt = INT64_C(1000000000000000);
    e.completion = f.completion = 0;
    rspan ef[2] = {e, f};
    INGEST(D.key_alpha, ef, 2);
    r = tl_trace(t3);
    ck_assert_msg(strstr(r->body, "\"total_token_count\":2000000000000000") != NULL, "%.300s",
                  r->body);
    ts_resp_free(r);
    r = rs_trace(t3);
    ck_assert_msg(strstr(r->body, "\"total_tokens\":2000000000000000") != NULL, "%.300s", r->body);
    ck_assert_msg(strstr(r->body, "\"total_prompt_tokens\":2000000000000000") != NULL, "%.300s",
                  r->body);
    ts_resp_free(r);
    f.prompt = 1;
    f.completion = 2;
    INGEST(D.key_alpha, &f, 1);
    r = tl_trace(t3);
    ck_assert_msg(strstr(r->body, "\"total_token_count\":1000000000000003") != NULL, "%.300s",
                  r->body);
    ts_resp_free(r);
}
END_TEST

static void reset_per_test(void)
{
}

static TCase *daemon_case(const char *name, void (*setup)(void))
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, reset_per_test, NULL);
    tcase_add_unchecked_fixture(tc, setup, down);
    tcase_set_timeout(tc, 120);
    return tc;
}

static Suite *respan_suite(void)
{
    Suite *s = suite_create("integration-respan");
    TCase *tc = daemon_case("respan", up);
    tcase_add_test(tc, test_ingest_and_span_tree);
    tcase_add_test(tc, test_span_tree_cycles_and_depth);
    tcase_add_test(tc, test_ingest_bad_input);
    tcase_add_test(tc, test_list_operators);
    tcase_add_test(tc, test_list_span_fields);
    tcase_add_test(tc, test_list_bad_input);
    tcase_add_test(tc, test_list_sorts);
    tcase_add_test(tc, test_list_pagination);
    tcase_add_test(tc, test_bulk_delete);
    tcase_add_test(tc, test_isolation);
    tcase_add_test(tc, test_track_request);
    tcase_add_test(tc, test_track_request_pending_across_restart);
    tcase_add_test(tc, test_track_request_existing_span_across_restart);
    tcase_add_test(tc, test_track_request_moves_filters);
    tcase_add_test(tc, test_track_request_reprices);
    tcase_add_test(tc, test_chat_spans_priced);
    tcase_add_test(tc, test_reported_totals_summed);
    tcase_add_test(tc, test_sums_stay_exact);
    tcase_add_test(tc, test_clean_shutdown);
    suite_add_tcase(s, tc);
    tc = daemon_case("bounds", up_small);
    tcase_add_test(tc, test_bulk_delete_bound);
    tcase_add_test(tc, test_track_request_span_id_window);
    tcase_add_test(tc, test_config_limits);
    tcase_add_test(tc, test_clean_shutdown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ts_it_run(respan_suite());
}
