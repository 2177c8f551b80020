/* test_pg_reads.c: the PostgreSQL backend's reads against the SQLite
 * backend's, as the strongest check of "identical": the same requests go
 * to a daemon on SQLite and a daemon on PostgreSQL, then every list (each
 * filter operator on trace, any-span, metadata and text fields, each
 * sort in both directions, page-number pages and keyset cursors), every
 * trace, the metrics and the projects are asked of both and the answers
 * compared byte for byte, after blanking only the values each database
 * draws for itself (project and workspace UUIDs, masked row ids in
 * cursors and ids, the server's clock). Runs on PostgreSQL only
 * (integration-pg/test_pg_reads). */
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
#include <unistd.h>

#include "harness.h"

#define T0 INT64_C(1700000000000000000)
#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)

static ts_daemon S, P; /* SQLite, PostgreSQL */

/* P's database gets a linguistic collation (ICU en-US: "a" < "B" < "b",
 * lower("Ã") = "Ã©"), so that an ORDER BY or a lower() without
 * COLLATE "C" shows as a difference from SQLite's bytewise answers; the
 * suites' cluster itself is --no-locale, where both agree by chance. */
static void up(void)
{
    char admin[TS_IT_PATH_CAP + 32], sql[512], msg[1024];
    ts_pg_require();
    ts_d_init_on(&S, 1, NULL, NULL);
    ts_d_start(&S);
    ts_d_init_on(&P, 0, NULL, ts_pg_base());
    snprintf(admin, sizeof admin, "%s dbname=postgres", P.pg_base);
    snprintf(sql, sizeof sql, "DROP DATABASE %s", P.pg_db);
    ck_assert_msg(ts_pg_exec(admin, sql, msg, sizeof msg) == 0, "%s: %s", sql, msg);
    snprintf(sql, sizeof sql,
             "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu "
             "ICU_LOCALE 'en-US' LOCALE 'C.utf8'",
             P.pg_db);
    ck_assert_msg(ts_pg_exec(admin, sql, msg, sizeof msg) == 0, "%s: %s", sql, msg);
    ts_cli_key_create(P.db, "alpha", P.key_alpha);
    ts_cli_key_create(P.db, "beta", P.key_beta);
    ts_d_start(&P);
}

static void down(void)
{
    ts_d_free(&S);
    ts_d_free(&P);
}

/* Values each database chooses itself: blanked before comparing. */
static const char *const own_keys[] = {
    "project_id",      "workspace_id",           "next_cursor", "id",       "created_at",
    "updated_at",      "request_log_id",         "next",        "previous", "project",
    "organization_id", "unique_organization_id", "tenant_id",   NULL};

static int is_own(const char *k)
{
    for (int i = 0; own_keys[i]; i++)
        if (strcmp(own_keys[i], k) == 0)
            return 1;
    return 0;
}

/* in_events: j is inside an "events" array, whose timestamps are the
 * server's clock at ingest. */
static void blank_in(cJSON *j, int in_events)
{
    cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        if (it->string && !cJSON_IsNull(it) &&
            (is_own(it->string) || (in_events && strcmp(it->string, "timestamp") == 0))) {
            cJSON *s = cJSON_CreateString("<own>");
            char *key = strdup(it->string);
            ck_assert_ptr_nonnull(key);
            cJSON_ReplaceItemInObjectCaseSensitive(j, key, s);
            free(key);
            it = s;
            continue;
        }
        blank_in(it, in_events || (it->string && strcmp(it->string, "events") == 0));
    }
}

static void blank(cJSON *j)
{
    blank_in(j, 0);
}

/* The answer of d to METHOD path body (key: its alpha key), status and
 * body, with the database's own values blanked. Caller frees. */
static char *ask(ts_daemon *d, const char *method, const char *path, const char *body, long *status)
{
    ts_cur = d;
    ts_resp *r = ts_req(method, path, d->key_alpha, body);
    *status = r->status;
    cJSON *j = cJSON_Parse(r->body);
    char *out;
    if (j) {
        blank(j);
        out = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
    } else {
        out = strdup(r->body);
    }
    ts_resp_free(r);
    return out;
}

static int ncompared;

/* Asks both daemons; fails unless the answers agree. Returns SQLite's
 * (blanked) body, caller frees. */
static char *same_at(const char *file, int line, const char *method, const char *path,
                     const char *body)
{
    long ss = 0, ps = 0;
    char *a = ask(&S, method, path, body, &ss);
    char *b = ask(&P, method, path, body, &ps);
    if (ss != ps || strcmp(a, b) != 0 || (ss != 200 && ss != 404)) {
        /* the bodies go to stderr: Check's message is short */
        fprintf(stderr, "%s %s %s\nsqlite (%ld): %s\npostgres (%ld): %s\n", method, path,
                body ? body : "", ss, a, ps, b);
        ts_fail_at(file, line, "%s %s %.200s: the backends differ (bodies above)", method, path,
                   body ? body : "");
    }
    free(b);
    ncompared++;
    return a;
}
#define SAME(m, p, b) free(same_at(__FILE__, __LINE__, (m), (p), (b)))

/* s percent-encoded for a path segment (malloc'd). */
static char *path_escape(const char *s)
{
    char *o = malloc(strlen(s) * 3 + 1), *w = o;
    ck_assert_ptr_nonnull(o);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_')
            *w++ = (char)*c;
        else
            w += snprintf(w, 4, "%%%02X", *c);
    }
    *w = '\0';
    return o;
}

/* ---- the data set ---- */

typedef struct rspan {
    const char *trace, *span, *parent, *name, *log_type, *model, *customer, *status;
    int64_t start;
    double latency; /* s */
    int64_t prompt, completion;
    double cost; /* < 0: absent */
    const char *metadata;
} rspan;

static cJSON *span_obj(const rspan *s)
{
    char st[48], en[48];
    cJSON *o = cJSON_CreateObject();
    ts_iso_from_ns(s->start, st, sizeof st);
    ts_iso_from_ns(s->start + (int64_t)(s->latency * 1e9), en, sizeof en);
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
    if (s->cost >= 0)
        cJSON_AddNumberToObject(o, "cost", s->cost);
    if (s->metadata)
        cJSON_AddRawToObject(o, "metadata", s->metadata);
    return o;
}

/* Traces with text that sorts differently bytewise and by locale, NULL
 * names and customers, equal start times (the row id breaks the tie),
 * costs whose sum depends on the order of addition, metadata of every
 * JSON type. */
static const rspan data[] = {
    {"cmp-a", "a1", NULL, "alpha", "chat", "gpt-4o", "cust-a", NULL, T0, 0.5, 10, 5, 0.1,
     "{\"n\":5,\"s\":\"abc\",\"tier\":\"gold\"}"},
    {"cmp-a", "a2", "a1", "tool call", "tool", NULL, NULL, "error", T0 + 100 * MS, 0.1, 0, 0, -1,
     NULL},
    {"Cmp-B", "b1", NULL, "Alpha", "chat", "GPT-4o", "cust-B", NULL, T0 + SEC, 1.25, 3, 4, 0.2,
     "{\"n\":\"5\",\"b\":true}"},
    {"cmp_c%", "c1", NULL, "be%ta_1", "task", "claude-3", NULL, NULL, T0 + SEC, 2.0, 100, 50, 0.3,
     "{\"n\":1.5,\"o\":{\"x\":[1,2]}}"},
    {"cmp-d~", "e1", NULL,
     "\xc3\x9cnic\xc3\xb6"
     "de",
     "chat", "gpt-4o-mini", "cust-a", "error", T0 + 2 * SEC, 0.75, 7, 0, 1e-05,
     "{\"n\":-3,\"s\":\"ABC\"}"},
    {"cmp-e", "e2", NULL, NULL, NULL, NULL, "Cust-a", NULL, T0 + 3 * SEC, 3.5, 0, 0, -1,
     "{\"n\":null}"},
    {"cmp-f", "f1", NULL, "zeta", "workflow", NULL, "cust-z", NULL, T0 + 4 * SEC, 0.01, 0, 0, 2.0,
     "{\"s\":\"x%y_z\",\"b\":false}"},
    {"cmp-f", "f2", "f1", "gamma", "chat", "gpt-4o", "cust-z", NULL, T0 + 4 * SEC + MS, 0.2, 12, 8,
     0.7, NULL},
    {"cmp-f", "f3", "f1", "gamma", "chat", "claude-3", "cust-z", "error", T0 + 4 * SEC + 2 * MS,
     0.3, 1, 1, 0.0001, NULL},
    {"cmp-g", "g1", NULL, "beta", "chat", "gpt-4o", "cust-B", NULL, T0 + 5 * SEC, 0.0, 2, 2, 0.05,
     "{\"n\":12}"},
    {"cmp-h", "h1", NULL, "Beta", NULL, NULL, NULL, NULL, T0 + 5 * SEC, 0.4, 0, 0, -1,
     "{\"s\":\"\"}"},
    {"cmp-i", "i1", NULL, "_alpha", "chat", "gpt-4o", "cust-a", NULL, T0 + 6 * SEC, 0.9, 5, 5, 0.1,
     "{\"tier\":\"silver\",\"n\":5.0}"},
    {"cmp-j", "j1", NULL, "alpha", "chat", "gpt-4o", "cust-a", NULL, T0 + 7 * SEC, 0.6, 9, 1, 0.2,
     "{\"tier\":\"gold\",\"a.b\":\"dot\"}"},
};
#define NDATA (sizeof data / sizeof data[0])

static void load(ts_daemon *d)
{
    ts_cur = d;
    /* newest first: the rows' physical order is not their start order */
    for (size_t i = NDATA; i-- > 0;) {
        cJSON *arr = cJSON_CreateArray();
        cJSON_AddItemToArray(arr, span_obj(&data[i]));
        char *body = cJSON_PrintUnformatted(arr);
        cJSON_Delete(arr);
        ts_resp *r = ts_req("POST", "/api/v1/traces/ingest", d->key_alpha, body);
        TS_STATUS(r, 200);
        ts_resp_free(r);
        free(body);
    }
}

/* TruLayer traces: explicit trace fields over the root's, two named
 * projects, tag maps, events, a closed trace (its closure is read back). */
static const char *const tl_traces[] = {
    "{\"id\":\"0b1f6a54-1c2d-4e5f-8a9b-0c1d2e3f4a01\",\"project_id\":\"proj-x\","
    "\"session_id\":\"s-1\",\"name\":\"answer\",\"input\":\"q\",\"output\":\"a\","
    "\"latency_ms\":812,\"cost\":0.25,\"tags\":{\"env\":\"prod\",\"team\":\"a\"},"
    "\"metadata\":{\"rag\":true},\"events\":[{\"level\":\"warn\",\"message\":\"m\"}],"
    "\"started_at\":\"2023-11-14T22:13:30Z\",\"ended_at\":\"2023-11-14T22:13:30.812Z\","
    "\"spans\":[{\"id\":\"0b1f6a54-1c2d-4e5f-8a9b-0c1d2e3f4b01\",\"name\":\"gen\","
    "\"type\":\"llm\",\"model\":\"gpt-4o\",\"prompt_tokens\":40,\"completion_tokens\":8,"
    "\"latency_ms\":640,\"start_time\":\"2023-11-14T22:13:30.100Z\","
    "\"end_time\":\"2023-11-14T22:13:30.740Z\"}]}",
    "{\"id\":\"0b1f6a54-1c2d-4e5f-8a9b-0c1d2e3f4a02\",\"project_id\":\"proj-y\","
    "\"name\":\"summarise\",\"error\":\"boom\",\"tags\":[\"legacy\"],"
    "\"started_at\":\"2023-11-14T22:13:31Z\","
    "\"spans\":[{\"id\":\"0b1f6a54-1c2d-4e5f-8a9b-0c1d2e3f4b02\",\"name\":\"call\","
    "\"type\":\"llm\",\"model\":\"claude-3\",\"error\":\"rate limit exceeded\","
    "\"start_time\":\"2023-11-14T22:13:31.100Z\",\"end_time\":\"2023-11-14T22:13:32Z\"}]}",
    /* no spans, no end: NULL end and cost */
    "{\"id\":\"0b1f6a54-1c2d-4e5f-8a9b-0c1d2e3f4a03\",\"name\":\"pending\","
    "\"started_at\":\"2023-11-14T22:13:33Z\"}",
};

static void load_both(void)
{
    ts_daemon *ds[2] = {&S, &P};
    for (int k = 0; k < 2; k++) {
        load(ds[k]);
        ts_cur = ds[k];
        for (size_t i = 0; i < sizeof tl_traces / sizeof tl_traces[0]; i++) {
            ts_resp *r = ts_req("POST", "/v1/ingest", ds[k]->key_alpha, tl_traces[i]);
            TS_STATUS(r, 201);
            ts_resp_free(r);
        }
        ts_resp *r = ts_req("POST", "/api/public/v2/traces/cmp-g/close", ds[k]->key_alpha, "{}");
        TS_STATUS(r, 201);
        ts_resp_free(r);
    }
}

/* ---- the questions ---- */

static const char *const filters[] = {
    "{}",
    "{\"name\":{\"operator\":\"icontains\",\"value\":[\"ALPHA\"]}}",
    "{\"name\":{\"operator\":\"iexact\",\"value\":[\"alpha\"]}}",
    "{\"name\":{\"operator\":\"iexact\",\"value\":[\"\xc3\xbcnic\xc3\xb6"
    "de\"]}}",
    "{\"name\":{\"operator\":\"contains\",\"value\":[\"%\"]}}",
    "{\"name\":{\"operator\":\"contains\",\"value\":[\"_\"]}}",
    "{\"name\":{\"operator\":\"icontains\",\"value\":[\"_\"]}}",
    "{\"name\":{\"operator\":\"startswith\",\"value\":[\"be\"]}}",
    "{\"name\":{\"operator\":\"endswith\",\"value\":[\"a\"]}}",
    "{\"name\":{\"operator\":\"endswith\",\"value\":[\"\"]}}",
    "{\"name\":{\"operator\":\"lt\",\"value\":[\"b\"]}}",
    "{\"name\":{\"operator\":\"gte\",\"value\":[\"Z\"]}}",
    "{\"name\":{\"operator\":\"not\",\"value\":[\"alpha\",\"beta\"]}}",
    "{\"name\":{\"operator\":\"isnull\",\"value\":[true]}}",
    "{\"name\":{\"operator\":\"in\",\"value\":[\"alpha\",\"Beta\",\"nope\"]}}",
    "{\"trace_unique_id\":{\"operator\":\"gt\",\"value\":[\"cmp-b\"]}}",
    "{\"trace_unique_id\":{\"operator\":\"startswith\",\"value\":[\"cmp_\"]}}",
    "{\"customer_identifier\":{\"operator\":\"isnull\",\"value\":[true]}}",
    "{\"customer_identifier\":{\"operator\":\"not\",\"value\":[\"cust-a\"]}}",
    "{\"customer_identifier\":{\"operator\":\"iexact\",\"value\":[\"CUST-A\"]}}",
    "{\"total_cost\":{\"operator\":\"gte\",\"value\":[0.2]}}",
    "{\"total_cost\":{\"operator\":\"lt\",\"value\":[1]}}",
    "{\"total_cost\":{\"operator\":\"isnull\",\"value\":[true]}}",
    "{\"total_cost\":{\"operator\":\"contains\",\"value\":[\"0.1\"]}}",
    "{\"total_cost\":{\"operator\":\"iexact\",\"value\":[0.3]}}",
    "{\"total_cost\":{\"operator\":\"in\",\"value\":[0.1,2]}}",
    "{\"span_count\":{\"operator\":\"gt\",\"value\":[1]}}",
    "{\"span_count\":{\"operator\":\"startswith\",\"value\":[\"3\"]}}",
    "{\"error_count\":{\"operator\":\"gte\",\"value\":[1]}}",
    "{\"total_tokens\":{\"operator\":\"lte\",\"value\":[15]}}",
    "{\"duration\":{\"operator\":\"gt\",\"value\":[0.6]}}",
    "{\"start_time\":{\"operator\":\"gte\",\"value\":[\"2023-11-14T22:13:22Z\"]}}",
    "{\"end_time\":{\"operator\":\"lt\",\"value\":[\"2023-11-14T22:13:24Z\"]}}",
    "{\"metadata__n\":{\"operator\":\"\",\"value\":[\"5\"]}}",
    "{\"metadata__n\":{\"operator\":\"not\",\"value\":[\"5\"]}}",
    "{\"metadata__n\":{\"operator\":\"gt\",\"value\":[3]}}",
    "{\"metadata__n\":{\"operator\":\"lte\",\"value\":[5]}}",
    "{\"metadata__n\":{\"operator\":\"gt\",\"value\":[\"a\"]}}",
    "{\"metadata__n\":{\"operator\":\"lt\",\"value\":[\"a\"]}}",
    "{\"metadata__n\":{\"operator\":\"contains\",\"value\":[\"5\"]}}",
    "{\"metadata__n\":{\"operator\":\"isnull\",\"value\":[true]}}",
    "{\"metadata__n\":{\"operator\":\"isnull\",\"value\":[false]}}",
    "{\"metadata__s\":{\"operator\":\"icontains\",\"value\":[\"B\"]}}",
    "{\"metadata__s\":{\"operator\":\"iexact\",\"value\":[\"abc\"]}}",
    "{\"metadata__s\":{\"operator\":\"contains\",\"value\":[\"%\"]}}",
    "{\"metadata__s\":{\"operator\":\"endswith\",\"value\":[\"\"]}}",
    "{\"metadata__b\":{\"operator\":\"\",\"value\":[true]}}",
    "{\"metadata__b\":{\"operator\":\"gte\",\"value\":[1]}}",
    "{\"metadata__b\":{\"operator\":\"startswith\",\"value\":[\"1\"]}}",
    "{\"metadata__o\":{\"operator\":\"\",\"value\":[\"{\\\"x\\\":[1,2]}\"]}}",
    "{\"metadata__o\":{\"operator\":\"contains\",\"value\":[\"[1,2]\"]}}",
    "{\"metadata__tier\":{\"operator\":\"in\",\"value\":[\"gold\",\"silver\"]}}",
    "{\"metadata__a.b\":{\"operator\":\"\",\"value\":[\"dot\"]}}",
    "{\"model\":{\"operator\":\"\",\"value\":[\"gpt-4o\"]}}",
    "{\"model\":{\"operator\":\"in\",\"value\":[\"gpt-4o\",\"claude-3\"]}}",
    "{\"model\":{\"operator\":\"not\",\"value\":[\"gpt-4o\"]}}",
    "{\"model\":{\"operator\":\"iexact\",\"value\":[\"gpt-4O\"]}}",
    "{\"model\":{\"operator\":\"startswith\",\"value\":[\"gpt\"]}}",
    "{\"model\":{\"operator\":\"gt\",\"value\":[\"c\"]}}",
    "{\"model\":{\"operator\":\"isnull\",\"value\":[true]}}",
    "{\"status\":{\"operator\":\"\",\"value\":[\"error\"]}}",
    "{\"log_type\":{\"operator\":\"not\",\"value\":[\"tool\"]}}",
    "{\"span_name\":{\"operator\":\"icontains\",\"value\":[\"GAM\"]}}",
    "{\"span_parent_id\":{\"operator\":\"\",\"value\":[\"f1\"]}}",
    "{\"span_unique_id\":{\"operator\":\"in\",\"value\":[\"f3\",\"a2\",\"zz\"]}}",
    "{\"span_unique_id\":{\"operator\":\"not\",\"value\":[\"a1\"]}}",
    "{\"cost\":{\"operator\":\"gt\",\"value\":[0.15]}}",
    "{\"cost\":{\"operator\":\"contains\",\"value\":[\"0.0\"]}}",
    "{\"latency\":{\"operator\":\"lt\",\"value\":[0.5]}}",
    "{\"latency\":{\"operator\":\"iexact\",\"value\":[0.2]}}",
    "{\"prompt_tokens\":{\"operator\":\"gte\",\"value\":[10]}}",
    "{\"completion_tokens\":{\"operator\":\"\",\"value\":[5,8]}}",
    "{\"model\":{\"operator\":\"\",\"value\":[\"gpt-4o\"]},\"customer_identifier\":{\"operator\":"
    "\"\",\"value\":[\"cust-a\"]},\"total_cost\":{\"operator\":\"gt\",\"value\":[0.1]}}",
};

static const char *const sorts[] = {
    "timestamp",
    "-timestamp",
    "end_time",
    "-end_time",
    "duration",
    "-duration",
    "total_cost",
    "-total_cost",
    "total_tokens",
    "-total_prompt_tokens",
    "span_count",
    "-llm_call_count",
    "error_count",
    "name",
    "-name",
    "customer_identifier",
    "-customer_identifier",
    "trace_unique_id",
    "-trace_unique_id",
};

START_TEST(test_respan_lists_agree)
{
    char path[256];
    load_both();
    /* every filter in the default order and by name */
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        char body[2048];
        snprintf(body, sizeof body, "{\"filters\":%s}", filters[i]);
        SAME("POST", "/api/traces/list/?page_size=50", body);
        SAME("POST", "/api/traces/list/?page_size=50&sort_by=name", body);
    }
    /* every sort, as pages of 4 */
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        for (int page = 1; page <= 4; page++) {
            snprintf(path, sizeof path, "/api/traces/list/?page_size=4&page=%d&sort_by=%s", page,
                     sorts[i]);
            SAME("POST", path, "{}");
        }
    ck_assert_int_ge(ncompared, (int)(2 * sizeof filters / sizeof filters[0] +
                                      4 * sizeof sorts / sizeof sorts[0]));
}
END_TEST

START_TEST(test_traces_agree)
{
    char path[256];
    load_both();
    for (size_t i = 0; i < NDATA; i++) {
        if (i && strcmp(data[i].trace, data[i - 1].trace) == 0)
            continue;
        char *esc = path_escape(data[i].trace);
        snprintf(path, sizeof path, "/api/traces/%s/", esc);
        SAME("GET", path, NULL);
        free(esc);
    }
    SAME("GET", "/api/traces/cmp-missing/", NULL);
    /* PromptLayer's trace (closure state, spans by start then id) */
    SAME("GET", "/api/public/v2/traces/cmp-g", NULL);
    SAME("GET", "/api/public/v2/traces/cmp-f", NULL);
    SAME("GET", "/v1/traces/cmp-g/state", NULL);
    ck_assert_int_ge(ncompared, 11);
}
END_TEST

START_TEST(test_trulayer_agrees)
{
    char path[512];
    load_both();
    static const char *const queries[] = {
        "limit=50",
        "limit=50&model=gpt-4o",
        "limit=50&error=true",
        "limit=50&error=false",
        "limit=50&latency_min=500&latency_max=2000",
        "limit=50&token_count_min=10",
        "limit=50&failure_type=timeout",
        "limit=50&from=2023-11-14T22:13:21Z&to=2023-11-14T22:13:25Z",
        "limit=50&project_id=proj-x",
        "limit=50&project_id=PROJ-X",
        "limit=50&project_id=no-such-project",
        "limit=50&tag_key=env&tag_value=prod",
        "limit=50&tag_key=team&tag_value=b",
        "limit=50&session_id=s-1",
        "limit=50&failure_type=rate_limit",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        snprintf(path, sizeof path, "/v1/traces?%s", queries[i]);
        SAME("GET", path, NULL);
    }
    /* keyset pages: each daemon follows its own cursor (the masked row
     * ids differ), the pages must agree */
    char cur_s[256] = "", cur_p[256] = "";
    for (int page = 0; page < 8; page++) {
        long st = 0;
        char ps[512], pp[512];
        snprintf(ps, sizeof ps, "/v1/traces?limit=2%s%s", cur_s[0] ? "&cursor=" : "", cur_s);
        snprintf(pp, sizeof pp, "/v1/traces?limit=2%s%s", cur_p[0] ? "&cursor=" : "", cur_p);
        char *a = ask(&S, "GET", ps, NULL, &st);
        char *b = ask(&P, "GET", pp, NULL, &st);
        ck_assert_msg(strcmp(a, b) == 0, "page %d differs\nsqlite: %s\npostgres: %s", page, a, b);
        ncompared++;
        free(a);
        free(b);
        /* the raw cursors, for the next page */
        ts_daemon *ds[2] = {&S, &P};
        char *curs[2] = {cur_s, cur_p};
        const char *paths[2] = {ps, pp};
        int more = 0;
        for (int k = 0; k < 2; k++) {
            ts_cur = ds[k];
            ts_resp *r = ts_req("GET", paths[k], ds[k]->key_alpha, NULL);
            TS_STATUS(r, 200);
            const cJSON *nc = ts_jpath(ts_json(r), "next_cursor");
            more = cJSON_IsString(nc);
            snprintf(curs[k], 256, "%s", more ? nc->valuestring : "");
            ts_resp_free(r);
        }
        if (!more)
            break;
        ck_assert_msg(page < 7, "more than 7 pages of 2 for 11 traces");
    }
    static const char *const metrics[] = {
        "from=2023-11-14T22:13:00Z&to=2023-11-14T22:14:00Z",
        "from=2023-11-14T22:13:20Z&to=2023-11-14T22:13:22Z",
        "from=2023-11-14T22:13:21Z&to=2023-11-14T22:13:24Z",
        "from=2023-11-14T22:15:00Z&to=2023-11-14T22:16:00Z",
    };
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
        snprintf(path, sizeof path, "/v1/metrics?%s", metrics[i]);
        SAME("GET", path, NULL);
    }
    SAME("GET", "/v1/projects", NULL);
    SAME("GET", "/v1/projects?limit=1", NULL);
    /* a project by its UUID in capitals: each daemon's own UUID */
    char *by_uuid[2];
    ts_daemon *dd[2] = {&S, &P};
    for (int k = 0; k < 2; k++) {
        char up[64] = "";
        const cJSON *it;
        ts_cur = dd[k];
        ts_resp *r = ts_req("GET", "/v1/projects", dd[k]->key_alpha, NULL);
        TS_STATUS(r, 200);
        cJSON_ArrayForEach(it, ts_jpath(ts_json(r), "projects"))
        {
            if (strcmp(TS_J_GETSTR(it, "name"), "proj-x") == 0)
                snprintf(up, sizeof up, "%s", TS_J_GETSTR(it, "id"));
        }
        ts_resp_free(r);
        ck_assert_msg(up[0], "proj-x not listed");
        for (char *c = up; *c; c++)
            if (*c >= 'a' && *c <= 'f')
                *c = (char)(*c - 'a' + 'A');
        long st = 0;
        snprintf(path, sizeof path, "/v1/traces?limit=50&project_id=%s", up);
        by_uuid[k] = ask(dd[k], "GET", path, NULL, &st);
        cJSON *pj = cJSON_Parse(by_uuid[k]);
        TS_J_LEN(pj, "traces", 1);
        cJSON_Delete(pj);
    }
    ck_assert_msg(strcmp(by_uuid[0], by_uuid[1]) == 0, "by UUID: %s\n%s", by_uuid[0], by_uuid[1]);
    free(by_uuid[0]);
    free(by_uuid[1]);
    SAME("GET", "/v1/metrics?from=2023-11-14T22:13:00Z&to=2023-11-14T22:14:00Z&project_id=proj-x",
         NULL);
    for (size_t i = 0; i < sizeof tl_traces / sizeof tl_traces[0]; i++) {
        snprintf(path, sizeof path, "/v1/traces/0b1f6a54-1c2d-4e5f-8a9b-0c1d2e3f4a0%zu", i + 1);
        SAME("GET", path, NULL);
    }
    for (size_t i = 0; i < NDATA; i++) {
        char *esc = path_escape(data[i].trace);
        snprintf(path, sizeof path, "/v1/traces/%s", esc);
        SAME("GET", path, NULL);
        free(esc);
    }
}
END_TEST

/* Bulk deletes select through ts_pg_query_where: the same filters delete
 * the same traces (and a filter over the bound deletes none and says how
 * many matched). */
START_TEST(test_bulk_deletes_agree)
{
    static const char *const bodies[] = {
        "{\"filters\":{\"name\":{\"operator\":\"icontains\",\"value\":[\"ALPHA\"]},"
        "\"model\":{\"value\":[\"gpt-4o\"]}}}",
        "{\"filters\":{\"metadata__n\":{\"operator\":\"gt\",\"value\":[\"a\"]}}}",
        "{\"filters\":{\"span_unique_id\":{\"operator\":\"in\",\"value\":[\"f2\",\"zz\"]}}}",
        "{\"filters\":{\"total_cost\":{\"operator\":\"isnull\",\"value\":[true]}}}",
    };
    load_both();
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        SAME("POST", "/api/traces/bulk-delete/", bodies[i]);
        SAME("POST", "/api/traces/list/?page_size=50", "{}");
    }
}
END_TEST

/* ---- reads after PostgreSQL restarted (a cluster of the test's own) ---- */

static ts_daemon R;
static char cluster_dir[TS_IT_PATH_CAP], cluster_base[TS_IT_PATH_CAP];

static void cluster_up(void)
{
    char out[1024];
    ts_pg_require();
    snprintf(cluster_dir, sizeof cluster_dir, "/tmp/ts-pgreads-XXXXXX");
    ck_assert_msg(mkdtemp(cluster_dir) != NULL, "mkdtemp");
    int rc = ts_pg_cluster("start", cluster_dir, out, sizeof out);
    ck_assert_msg(rc == 0, "cluster.sh start %s: status %d: %s", cluster_dir, rc, out);
    snprintf(cluster_base, sizeof cluster_base, "%.500s", out);
}

static void cluster_down(void)
{
    char out[1024];
    ts_d_free(&R);
    if (cluster_dir[0] != '\0')
        ts_pg_cluster("stop", cluster_dir, out, sizeof out);
}

static long status_of(const char *method, const char *path, const char *body)
{
    ts_resp *r = ts_req(method, path, R.key_alpha, body);
    long st = r->status;
    ts_resp_free(r);
    return st;
}

/* The read pool's connections outlive a restart of PostgreSQL; the first
 * read on each after it must not answer 503 once the daemon is back (it
 * did: a connection whose server had closed it passed the pool's check
 * when the server's notice arrived before the end of the connection). */
START_TEST(test_reads_after_restart)
{
    char out[1024];
    ts_d_init_on(&R, 1, NULL, cluster_base);
    ts_d_start(&R);
    ts_cur = &R;
    load(&R);
    /* several reads at once, so that the pool holds several connections */
    char *bodies[8];
    long st[8];
    for (int i = 0; i < 8; i++)
        bodies[i] = strdup("{\"filters\":{}}");
    ts_http_parallel("/api/traces/list/", R.key_alpha, bodies, 8, 8, st, NULL, 0, NULL, NULL);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(st[i], 200);
        free(bodies[i]);
    }
    ck_assert_int_eq(status_of("GET", "/api/traces/cmp-a/", NULL), 200);
    ck_assert_int_eq(ts_pg_cluster("stop-server", cluster_dir, out, sizeof out), 0);
    ck_assert_int_eq(ts_pg_cluster("start-server", cluster_dir, out, sizeof out), 0);
    long h = 0;
    for (int i = 0; i < 600 && h != 200; i++) {
        if ((h = status_of("GET", "/healthz", NULL)) != 200)
            usleep(50 * 1000);
    }
    ck_assert_msg(h == 200, "/healthz not 200 within 30 s of the restart");
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(status_of("GET", "/api/traces/cmp-a/", NULL), 200);
        ck_assert_int_eq(status_of("POST", "/api/traces/list/?page_size=5", "{}"), 200);
        ck_assert_int_eq(status_of("GET", "/v1/traces?limit=5", NULL), 200);
        ck_assert_int_eq(
            status_of("GET", "/v1/metrics?from=2023-11-14T22:13:00Z&to=2023-11-14T22:14:00Z", NULL),
            200);
        ck_assert_int_eq(status_of("GET", "/v1/projects", NULL), 200);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pg_reads");
    TCase *tc = tcase_create("agree");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, up, down);
    tcase_add_test(tc, test_respan_lists_agree);
    tcase_add_test(tc, test_traces_agree);
    tcase_add_test(tc, test_trulayer_agrees);
    tcase_add_test(tc, test_bulk_deletes_agree);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("restart");
    tcase_set_timeout(tr, 300);
    tcase_add_unchecked_fixture(tr, cluster_up, cluster_down);
    tcase_add_test(tr, test_reads_after_restart);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    return ts_it_run(suite());
}
