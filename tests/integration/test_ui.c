/* test_ui.c: the web UI (issue 20). Over HTTP: the embedded files, their
 * Content-Type and security headers, the / redirect and the UI's two
 * endpoints. In a real browser: ingests known traces into a daemon and runs
 * tests/ui/ui.mjs (Debian's chromium through playwright-core, installed by
 * npm ci from tests/ui's lockfile) against it. With TS_UI_SHOTS=DIR the
 * browser also writes the README's screenshots there. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MS INT64_C(1000000)
#define NFILL 55
#define NBIG 2000

static ts_daemon D;

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src "
                          "'self' data:; connect-src 'self'; object-src 'none'; base-uri "
                          "'none'; form-action 'self'; frame-ancestors 'none'";

static void setup(void)
{
    ts_d_init(&D, 1, NULL);
    ts_d_start(&D);
}

static void teardown(void)
{
    ts_d_free(&D);
}

static void expect_header(const ts_resp *r, const char *name, const char *want)
{
    char got[1024];
    ck_assert_msg(ts_resp_header(r, name, got, sizeof(got)), "%s: no %s header:\n%s", r->what, name,
                  r->headers);
    ck_assert_msg(strcmp(got, want) == 0, "%s: %s is \"%s\", want \"%s\"", r->what, name, got,
                  want);
}

/* True when html has an event-handler attribute (` onclick=`...). */
static int has_handler_attr(const char *html)
{
    for (const char *p = strstr(html, " on"); p; p = strstr(p + 1, " on")) {
        const char *q = p + 3;
        while (*q >= 'a' && *q <= 'z')
            q++;
        if (q > p + 3 && *q == '=')
            return 1;
    }
    return 0;
}

static void expect_ui_headers(const ts_resp *r)
{
    expect_header(r, "Content-Security-Policy", CSP);
    expect_header(r, "X-Content-Type-Options", "nosniff");
    expect_header(r, "Referrer-Policy", "no-referrer");
}

START_TEST(test_assets_and_headers)
{
    static const struct {
        const char *path, *ctype, *needle;
    } files[] = {
        {"/ui/", "text/html; charset=utf-8", "<script src=\"/ui/app.js\""},
        {"/ui", "text/html; charset=utf-8", "<script src=\"/ui/app.js\""},
        {"/ui/index.html", "text/html; charset=utf-8", "<title>tracestore</title>"},
        {"/ui/app.js", "text/javascript; charset=utf-8", "function renderTrace"},
        {"/ui/app.css", "text/css; charset=utf-8", ".wf-bar"},
        {"/ui/chart.js", "text/javascript; charset=utf-8", "Chart.js v3"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        ts_resp *r = ts_req("GET", files[i].path, NULL, NULL);
        TS_STATUS(r, 200);
        expect_header(r, "Content-Type", files[i].ctype);
        expect_ui_headers(r);
        ck_assert_msg(strstr(r->body, files[i].needle), "%s lacks %s", files[i].path,
                      files[i].needle);
        /* no inline script or style: the CSP would refuse them */
        if (strstr(files[i].ctype, "html")) {
            ck_assert_msg(!strstr(r->body, "<script>") && !strstr(r->body, "<style") &&
                              !strstr(r->body, "style=") && !has_handler_attr(r->body),
                          "inline script or style in %s", files[i].path);
        }
        ts_resp_free(r);
    }
    /* the same bytes as the files the build embedded */
    ts_resp *r = ts_req("GET", "/ui/app.js", NULL, NULL);
    char path[1024];
    snprintf(path, sizeof(path), "%s/src/ui/app.js", getenv("TS_SOURCE_DIR"));
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = malloc(r->len + 2);
    size_t n = fread(buf, 1, r->len + 1, f);
    fclose(f);
    ck_assert_uint_eq(n, r->len);
    ck_assert(memcmp(buf, r->body, n) == 0);
    free(buf);
    ts_resp_free(r);

    r = ts_req("GET", "/ui/nope.js", NULL, NULL);
    TS_STATUS(r, 404);
    expect_ui_headers(r);
    ck_assert_str_eq(r->body, "no UI file named nope.js");
    ts_resp_free(r);

    r = ts_req("GET", "/", NULL, NULL);
    TS_STATUS(r, 302);
    expect_header(r, "Location", "/ui/");
    expect_header(r, "X-Content-Type-Options", "nosniff");
    ts_resp_free(r);

    /* the API's answers carry no UI headers */
    r = ts_req("GET", "/healthz", NULL, NULL);
    char got[64];
    ck_assert(!ts_resp_header(r, "Content-Security-Policy", got, sizeof(got)));
    ts_resp_free(r);
}
END_TEST

START_TEST(test_workspace_and_state)
{
    ts_resp *r = ts_req("GET", "/v1/workspace", D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_STR(ts_json(r), "name", "alpha");
    TS_J_UUID(ts_json(r), "id");
    ts_resp_free(r);
    r = ts_req("GET", "/v1/workspace", D.key_beta, NULL);
    TS_J_STR(ts_json(r), "name", "beta");
    ts_resp_free(r);
    r = ts_req("GET", "/v1/workspace", "ts_000000000000000000000000000000000000000000000000", NULL);
    TS_STATUS(r, 401);
    TS_J_STR(ts_json(r), "message", "invalid API key");
    ts_resp_free(r);
    r = ts_req("GET", "/v1/workspace", NULL, NULL);
    TS_STATUS(r, 401);
    ts_resp_free(r);

    char tid[33], sid[17], uuid[37], path[160];
    ts_new_trace_id(tid);
    ts_new_span_id(sid);
    ts_hex_to_uuid(tid, uuid);
    ts_span_spec sp = {.trace_id = tid, .span_id = sid, .name = "s", .start_ns = 1, .end_ns = 2};
    char *body = ts_spans_body(&sp, 1, 0);
    r = ts_req("POST", "/spans-bulk", D.key_alpha, body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    free(body);
    snprintf(path, sizeof(path), "/v1/traces/%s/state", tid);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_STATUS(r, 200);
    TS_J_STR(ts_json(r), "id", uuid);
    TS_J_BOOL(ts_json(r), "closed", 0);
    ts_resp_free(r);
    /* another workspace's trace: the same 404 as a missing one */
    r = ts_req("GET", path, D.key_beta, NULL);
    TS_STATUS(r, 404);
    char *other = strdup(r->body);
    ts_resp_free(r);
    r = ts_req("GET", "/v1/traces/00000000000000000000000000000001/state", D.key_beta, NULL);
    TS_STATUS(r, 404);
    ck_assert_str_eq(r->body, other);
    TS_J_STR(ts_json(r), "message", "Trace not found.");
    free(other);
    ts_resp_free(r);
    snprintf(path, sizeof(path), "/api/public/v2/traces/%s/close", tid);
    r = ts_req("POST", path, D.key_alpha, NULL);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    snprintf(path, sizeof(path), "/v1/traces/%s/state", uuid);
    r = ts_req("GET", path, D.key_alpha, NULL);
    TS_J_BOOL(ts_json(r), "closed", 1);
    ts_resp_free(r);
}
END_TEST

/* ---- the browser test ---- */


static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void post_spans(const char *key, cJSON *spans)
{
    char *body = ts_spans_body_from(spans, 0);
    ts_resp *r = ts_req("POST", "/spans-bulk", key, body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    free(body);
}

/* One span of the agent trace, as ingested and as the browser must show it. */
typedef struct agent_span {
    const char *name, *parent; /* parent: name of the parent span, NULL for the root */
    int depth;                 /* expected waterfall nesting */
    int64_t start_ms, end_ms;  /* relative to the trace's start */
    const char *model, *input, *output, *error;
    int64_t in_tok, out_tok;
    double price;
    char id[17];
} agent_span;

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
}

/* The agent trace: 6 spans, three levels, two LLM calls, one error. */
static cJSON *ingest_agent(const char *tid, int64_t t0, char *long_out, cJSON *fx)
{
    static agent_span sp[] = {
        {"checkout agent", NULL, 0, 0, 1000, NULL, NULL, NULL, NULL, 0, 0, 0, ""},
        {"plan", "checkout agent", 1, 10, 200, NULL, NULL, NULL, NULL, 0, 0, 0, ""},
        {"chat gpt-4o-mini", "plan", 2, 20, 180, "gpt-4o-mini", "What is the refund policy?",
         "Refunds are accepted within 30 days.", NULL, 1000, 500, 0.00045, ""},
        {"lookup order", "checkout agent", 1, 200, 600, NULL, NULL, NULL, "order service timed out",
         0, 0, 0, ""},
        {"http GET /orders", "lookup order", 2, 210, 590, NULL, NULL, NULL, NULL, 0, 0, 0, ""},
        {"chat claude", "checkout agent", 1, 600, 950, "claude-3-5-sonnet", "Summarise the order",
         NULL, NULL, 200, 100, 0.0021, ""},
    };
    size_t n = sizeof(sp) / sizeof(sp[0]);
    cJSON *arr = cJSON_CreateArray(), *fspans = cJSON_CreateArray(), *order = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        ts_new_span_id(sp[i].id);
    for (size_t i = 0; i < n; i++) {
        const char *parent = NULL;
        for (size_t j = 0; j < n && sp[i].parent; j++)
            if (strcmp(sp[j].name, sp[i].parent) == 0)
                parent = sp[j].id;
        ts_span_spec s = {.trace_id = tid,
                          .span_id = sp[i].id,
                          .parent_id = parent,
                          .parent_null = parent == NULL,
                          .name = sp[i].name,
                          .kind = sp[i].model ? "SpanKind.CLIENT" : "SpanKind.INTERNAL",
                          .status_code = sp[i].error ? "StatusCode.ERROR" : "StatusCode.OK",
                          .description = sp[i].error,
                          .start_ns = t0 + sp[i].start_ms * MS,
                          .end_ns = t0 + sp[i].end_ms * MS,
                          .model = sp[i].model,
                          .input_text = sp[i].input,
                          .output_text = sp[i].output ? sp[i].output : long_out,
                          .input_tokens = sp[i].in_tok,
                          .output_tokens = sp[i].out_tok,
                          .price = sp[i].price};
        cJSON *o = ts_span_json(&s);
        cJSON *attrs = cJSON_CreateObject();
        cJSON_AddStringToObject(attrs, "ui.test.step", sp[i].name);
        cJSON_ReplaceItemInObject(o, "attributes", attrs);
        cJSON *ra = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "resource"), "attributes");
        cJSON_AddStringToObject(ra, "service.name", "checkout");
        cJSON_AddItemToArray(arr, o);
        cJSON *f = cJSON_CreateObject();
        add_str(f, "name", sp[i].name);
        cJSON_AddNumberToObject(f, "start_ms", (double)sp[i].start_ms);
        cJSON_AddNumberToObject(f, "end_ms", (double)sp[i].end_ms);
        add_str(f, "model", sp[i].model);
        add_str(f, "error", sp[i].error);
        cJSON_AddNumberToObject(f, "in_tok", (double)sp[i].in_tok);
        cJSON_AddNumberToObject(f, "out_tok", (double)sp[i].out_tok);
        cJSON_AddItemToArray(fspans, f);
        /* the spans are listed in depth-first order, children by start */
        cJSON *ord = cJSON_CreateObject();
        add_str(ord, "name", sp[i].name);
        cJSON_AddNumberToObject(ord, "depth", sp[i].depth);
        cJSON_AddItemToArray(order, ord);
    }
    post_spans(D.key_alpha, arr);
    cJSON *a = cJSON_AddObjectToObject(fx, "agent");
    char uuid[37], iso[48];
    ts_hex_to_uuid(tid, uuid);
    ts_iso_from_ns(t0, iso, sizeof(iso));
    cJSON_AddStringToObject(a, "id", uuid);
    cJSON_AddStringToObject(a, "name", sp[0].name);
    cJSON_AddStringToObject(a, "started_at", iso);
    cJSON_AddNumberToObject(a, "duration_ms", 1000);
    cJSON_AddItemToObject(a, "spans", fspans);
    cJSON_AddItemToObject(a, "order", order);
    cJSON_AddNumberToObject(a, "total_tokens", 1800);
    cJSON_AddNumberToObject(a, "cost", 0.00045 + 0.0021);
    cJSON_AddStringToObject(a, "models", "gpt-4o-mini, claude-3-5-sonnet");
    cJSON_AddStringToObject(a, "llm_name", sp[2].name);
    cJSON_AddStringToObject(a, "llm_model", sp[2].model);
    cJSON_AddNumberToObject(a, "llm_in", 1000);
    cJSON_AddNumberToObject(a, "llm_out", 500);
    cJSON_AddNumberToObject(a, "llm_price", 0.00045);
    cJSON_AddStringToObject(a, "llm_input", sp[2].input);
    cJSON_AddStringToObject(a, "llm_output", sp[2].output);
    cJSON_AddStringToObject(a, "llm_attr", "ui.test.step");
    cJSON_AddStringToObject(a, "long_name", sp[5].name);
    cJSON_AddStringToObject(a, "long_output", long_out);
    cJSON_AddStringToObject(a, "error_name", sp[3].name);
    cJSON_AddStringToObject(a, "error_text", sp[3].error);
    return a;
}

static void one_span_trace(const char *key, const char *tid, const char *name, int64_t t0,
                           int64_t dur_ms, const char *model, const char *input)
{
    char sid[17];
    ts_new_span_id(sid);
    ts_span_spec s = {.trace_id = tid,
                      .span_id = sid,
                      .parent_null = 1,
                      .name = name,
                      .start_ns = t0,
                      .end_ns = t0 + dur_ms * MS,
                      .model = model,
                      .input_text = input,
                      .input_tokens = 10,
                      .output_tokens = 5,
                      .price = 0.00001};
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, ts_span_json(&s));
    post_spans(key, arr);
}

/* A 2,000-span trace, a binary tree (span i's parent is span (i-1)/2). */
static void ingest_big(const char *tid, int64_t t0)
{
    static char ids[NBIG][17];
    char name[32];
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < NBIG; i++)
        ts_new_span_id(ids[i]);
    for (int i = 0; i < NBIG; i++) {
        snprintf(name, sizeof(name), "step %d", i);
        ts_span_spec s = {.trace_id = tid,
                          .span_id = ids[i],
                          .parent_id = i ? ids[(i - 1) / 2] : NULL,
                          .parent_null = i == 0,
                          .name = name,
                          .start_ns = t0 + (int64_t)i * MS,
                          .end_ns = t0 + (i ? (int64_t)i * MS + 500 * MS : 5000 * MS)};
        cJSON_AddItemToArray(arr, ts_span_json(&s));
    }
    post_spans(D.key_alpha, arr);
}

static void add_uuid(cJSON *o, const char *k, const char *hex)
{
    char uuid[37];
    ts_hex_to_uuid(hex, uuid);
    cJSON_AddStringToObject(o, k, uuid);
}

START_TEST(test_browser)
{
    char dir[1200], cmd[4096], base[128], fixture[1400];
    static char out[1 << 16];
    ts_node_setup("ui", "ui.mjs", "playwright-core/package.json", dir, sizeof(dir));
    snprintf(base, sizeof(base), "http://%s", D.listen);

    int64_t now = now_ns();
    cJSON *fx = cJSON_CreateObject();
    cJSON_AddStringToObject(fx, "base", base);
    cJSON_AddStringToObject(fx, "key", D.key_alpha);
    cJSON_AddStringToObject(fx, "workspace", "alpha");
    cJSON_AddStringToObject(fx, "bad_key", "ts_000000000000000000000000000000000000000000000000");
    cJSON_AddStringToObject(fx, "bad_key_message", "invalid API key");
    const char *shots = getenv("TS_UI_SHOTS");
    if (shots && *shots)
        cJSON_AddStringToObject(fx, "shots", shots);

    char agent[33], del[33], xss[33], big[33], other[33], missing[33], fill[33], oldest[33];
    char long_out[1400];
    size_t lo = 0;
    while (lo + 40 < sizeof(long_out))
        lo += (size_t)snprintf(long_out + lo, sizeof(long_out) - lo, "The order %zu shipped. ", lo);
    ts_new_trace_id(agent);
    ingest_agent(agent, now - 5 * 60 * 1000 * MS, long_out, fx);
    cJSON_AddStringToObject(fx, "newest_name", "checkout agent");

    ts_new_trace_id(del);
    one_span_trace(D.key_alpha, del, "delete me", now - 10 * 60 * 1000 * MS, 50, NULL, NULL);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(fx, "delete"), "id", del);

    ts_new_trace_id(xss);
    one_span_trace(D.key_alpha, xss, "<img src=x onerror=alert(1)>", now - 15 * 60 * 1000 * MS, 20,
                   "gpt-4o-mini", "<script>alert(2)</script>");
    cJSON *x = cJSON_AddObjectToObject(fx, "xss");
    cJSON_AddStringToObject(x, "name", "<img src=x onerror=alert(1)>");
    cJSON_AddStringToObject(x, "id", xss);
    cJSON_AddStringToObject(x, "input", "<script>alert(2)</script>");

    ts_new_trace_id(big);
    ingest_big(big, now - 20 * 60 * 1000 * MS);
    cJSON *b = cJSON_AddObjectToObject(fx, "big");
    cJSON_AddStringToObject(b, "id", big);
    cJSON_AddNumberToObject(b, "spans", NBIG);

    for (int i = 0; i < NFILL; i++) {
        char name[32];
        ts_new_trace_id(fill);
        snprintf(name, sizeof(name), "page filler %d", i);
        one_span_trace(D.key_alpha, fill, name, now - (3 * 3600 + i) * 1000 * MS, 5, "gpt-4o-mini",
                       NULL);
        memcpy(oldest, fill, sizeof(oldest));
    }
    cJSON_AddStringToObject(fx, "oldest_id", oldest);
    /* 1000+500+200+100 (agent) + 15 per one-span LLM trace (xss and fillers) */
    cJSON_AddNumberToObject(fx, "tokens_24h", 1800 + 15 * (NFILL + 1));
    cJSON_AddStringToObject(fx, "chart_model", "gpt-4o-mini");
    add_uuid(fx, "top_by_cost", agent);
    add_uuid(fx, "top_by_tokens", agent);
    add_uuid(fx, "top_by_duration", big);

    ts_new_trace_id(other);
    one_span_trace(D.key_beta, other, "beta secret plan", now - 60 * 1000 * MS, 10, NULL, NULL);
    cJSON_AddStringToObject(fx, "other_ws_id", other);
    cJSON_AddStringToObject(fx, "other_ws_name", "beta secret plan");
    ts_new_trace_id(missing);
    cJSON_AddStringToObject(fx, "missing_id", missing);

    snprintf(fixture, sizeof(fixture), "%s/fixture.json", D.dir);
    char *text = cJSON_Print(fx);
    FILE *f = fopen(fixture, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(text);
    cJSON_Delete(fx);

    snprintf(cmd, sizeof(cmd), "cd '%s' && node ui.mjs '%s' 2>&1", dir, fixture);
    int rc = ts_run_cmd(cmd, out, sizeof(out));
    fprintf(stderr, "ui.mjs: %s\n", out);
    ck_assert_msg(rc == 0, "the browser test failed (exit %d):\n%s", rc, out);
    /* the key the browser signed in with is in no log line */
    char *log = ts_d_read_log(&D);
    ck_assert_msg(strstr(log, "path=\"/ui/") != NULL,
                  "the UI's requests are not in the log (%zu bytes)", strlen(log));
    ck_assert_msg(strstr(log, D.key_alpha) == NULL, "the key is in the log");
    free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ui");
    TCase *tc = tcase_create("ui");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 540);
    tcase_add_test(tc, test_assets_and_headers);
    tcase_add_test(tc, test_workspace_and_state);
    tcase_add_test(tc, test_browser);
    suite_add_tcase(s, tc);
    return ts_it_run(s);
}
