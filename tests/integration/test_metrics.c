/* test_metrics.c: GET /metrics over the real binary. Access (off by
 * default, metrics_token only, never a workspace key), the counters moving
 * by exactly the requests sent between two scrapes, and the text checked
 * by a strict parser of the exposition format 0.0.4 written here (and by
 * promtool check metrics when Debian's prometheus package is installed). */
#include <ctype.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define TOKEN "metrics-token-0123456789abcdef"

/* ---- a strict parser ----
 * A violation longjmps out of parse(), which returns -1 with the reason in
 * perr, so the parser's own refusals can be tested too. */

static jmp_buf pjmp;
static char perr[1024];

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(perr, sizeof(perr), __VA_ARGS__);                                                 \
        longjmp(pjmp, 1);                                                                          \
    } while (0)
#define REQ(c, ...)                                                                                \
    do {                                                                                           \
        if (!(c))                                                                                  \
            FAIL(__VA_ARGS__);                                                                     \
    } while (0)

enum { MAX_SAMPLES = 4096, MAX_FAMILIES = 128 };

typedef struct sample {
    char series[512]; /* name{labels} exactly as written */
    char name[128];
    double value;
} sample;

typedef struct family {
    char name[128];
    char type[16];
    int help, samples;
} family;

typedef struct scrape {
    sample s[MAX_SAMPLES];
    size_t n;
    family f[MAX_FAMILIES];
    size_t nf;
} scrape;

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
            return 0;
    return 1;
}

static family *fam_find(scrape *sc, const char *name)
{
    for (size_t i = 0; i < sc->nf; i++)
        if (strcmp(sc->f[i].name, name) == 0)
            return &sc->f[i];
    return NULL;
}

/* The family a sample name belongs to (histograms: _bucket/_sum/_count). */
static family *fam_of_sample(scrape *sc, const char *name)
{
    family *f = fam_find(sc, name);
    if (f)
        return f;
    static const char *const suf[] = {"_bucket", "_sum", "_count"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(name), k = strlen(suf[i]);
        char base[128];
        if (n > k && strcmp(name + n - k, suf[i]) == 0 && n - k < sizeof(base)) {
            memcpy(base, name, n - k);
            base[n - k] = '\0';
            f = fam_find(sc, base);
            if (f && strcmp(f->type, "histogram") == 0)
                return f;
        }
    }
    return NULL;
}

/* Parses `{a="x",b="y"}` at p; returns the end or NULL. */
static const char *parse_labels(const char *p, int line)
{
    if (*p != '{')
        return p;
    p++;
    while (*p != '}') {
        const char *k = p;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        REQ(p > k && !isdigit((unsigned char)*k) && *p == '=' && p[1] == '"', "line %d: bad label",
            line);
        p += 2;
        for (; *p != '"'; p++) {
            REQ(*p && *p != '\n', "line %d: unterminated label value", line);
            if (*p == '\\') {
                p++;
                REQ(*p == '\\' || *p == '"' || *p == 'n', "line %d: bad escape", line);
            }
        }
        p++;
        if (*p == ',')
            p++;
        else
            REQ(*p == '}', "line %d: expected , or }", line);
    }
    return p + 1;
}

static void parse_sample(scrape *sc, const char *line, int lineno)
{
    const char *p = line;
    while (*p && *p != '{' && *p != ' ')
        p++;
    size_t nlen = (size_t)(p - line);
    REQ(name_ok(line, nlen) && nlen < 128, "line %d: bad metric name", lineno);
    const char *end = parse_labels(p, lineno);
    REQ(*end == ' ', "line %d: no space before the value", lineno);
    REQ((size_t)(end - line) < sizeof(sc->s[0].series), "line %d: too long", lineno);
    REQ(sc->n < MAX_SAMPLES, "too many samples");
    sample *s = &sc->s[sc->n];
    memcpy(s->name, line, nlen);
    s->name[nlen] = '\0';
    memcpy(s->series, line, (size_t)(end - line));
    s->series[end - line] = '\0';
    char *vend = NULL;
    const char *v = end + 1;
    if (strcmp(v, "+Inf") == 0 || strcmp(v, "-Inf") == 0 || strcmp(v, "NaN") == 0)
        FAIL("line %d: no metric here is infinite or NaN", lineno);
    s->value = strtod(v, &vend);
    REQ(vend != v && *vend == '\0', "line %d: bad value '%s'", lineno, v);
    for (size_t i = 0; i < sc->n; i++)
        REQ(strcmp(sc->s[i].series, s->series) != 0, "line %d: duplicate series %s", lineno,
            s->series);
    family *f = fam_of_sample(sc, s->name);
    REQ(f && f->help, "line %d: %s has no # HELP and # TYPE before it", lineno, s->name);
    REQ(f == &sc->f[sc->nf - 1], "line %d: %s is not in its family's block", lineno, s->name);
    if (strcmp(f->type, "counter") == 0) {
        REQ(strstr(s->name, "_total") != NULL, "line %d: counter without _total", lineno);
        REQ(s->value >= 0, "line %d: negative counter", lineno);
    }
    f->samples++;
    sc->n++;
}

static void parse_comment(scrape *sc, const char *line, int lineno)
{
    char kw[8], name[128];
    int off = 0;
    if (sscanf(line, "# %7s %127s %n", kw, name, &off) < 2 || off == 0)
        FAIL("line %d: comment that is neither HELP nor TYPE: %s", lineno, line);
    REQ(name_ok(name, strlen(name)), "line %d: bad name", lineno);
    family *f = fam_find(sc, name);
    if (strcmp(kw, "HELP") == 0) {
        REQ(!f, "line %d: %s described twice", lineno, name);
        REQ(sc->nf < MAX_FAMILIES, "too many families");
        f = &sc->f[sc->nf++];
        snprintf(f->name, sizeof(f->name), "%s", name);
        f->help = 1;
        REQ(line[off] != '\0', "line %d: empty help", lineno);
    } else {
        REQ(strcmp(kw, "TYPE") == 0, "line %d: unknown comment %s", lineno, kw);
        REQ(f && f == &sc->f[sc->nf - 1] && !f->type[0] && f->samples == 0,
            "line %d: TYPE must follow its HELP, before the samples", lineno);
        const char *t = line + off;
        REQ(strcmp(t, "counter") == 0 || strcmp(t, "gauge") == 0 || strcmp(t, "histogram") == 0,
            "line %d: type %s", lineno, t);
        snprintf(f->type, sizeof(f->type), "%s", t);
    }
}

static sample *find(scrape *sc, const char *series)
{
    for (size_t i = 0; i < sc->n; i++)
        if (strcmp(sc->s[i].series, series) == 0)
            return &sc->s[i];
    return NULL;
}

/* Buckets of every histogram series are cumulative, end in +Inf and agree
 * with _count. */
static void check_histograms(scrape *sc)
{
    for (size_t i = 0; i < sc->n; i++) {
        const sample *s = &sc->s[i];
        size_t nl = strlen(s->name);
        if (nl < 7 || strcmp(s->name + nl - 7, "_bucket") != 0)
            continue;
        const char *le = strstr(s->series, "le=\"");
        REQ(le != NULL, "%s: bucket without le", s->series);
        if (strncmp(le, "le=\"+Inf\"", 9) != 0) {
            REQ(i + 1 < sc->n && strcmp(sc->s[i + 1].name, s->name) == 0 &&
                    sc->s[i + 1].value >= s->value,
                "%s: buckets not cumulative", s->series);
            continue;
        }
        /* name_count{same labels} == +Inf bucket */
        char cnt[1200], labels[520];
        size_t pre = (size_t)(le - s->series) - 1; /* before ',' or '{' */
        const char *brace = strchr(s->series, '{');
        size_t bi = (size_t)(brace - s->series), lb = pre > bi ? pre - bi - 1 : 0;
        snprintf(labels, sizeof(labels), "%.*s", (int)lb, brace + 1);
        snprintf(cnt, sizeof(cnt), "%.*s_count%s%s%s", (int)(nl - 7), s->name, lb ? "{" : "",
                 labels, lb ? "}" : "");
        sample *c = find(sc, cnt);
        REQ(c && c->value == s->value, "%.200s: +Inf bucket %g != %.200s", s->series, s->value,
            cnt);
    }
}

/* 0, or -1 with the first violation in perr. */
static int parse(scrape *sc, const char *text)
{
    static char line[1024];
    static int lineno;
    lineno = 0;
    memset(sc, 0, sizeof(*sc));
    perr[0] = '\0';
    if (setjmp(pjmp))
        return -1;
    REQ(*text && text[strlen(text) - 1] == '\n', "exposition must end with a newline");
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = (size_t)(nl - p);
        lineno++;
        REQ(n > 0 && n < sizeof(line), "line %d: empty or too long", lineno);
        memcpy(line, p, n);
        line[n] = '\0';
        if (line[0] == '#')
            parse_comment(sc, line, lineno);
        else
            parse_sample(sc, line, lineno);
        p = nl + 1;
    }
    for (size_t i = 0; i < sc->nf; i++)
        REQ(sc->f[i].type[0], "%s has no TYPE", sc->f[i].name);
    check_histograms(sc);
    return 0;
}

/* The value of series, 0 when absent (counters appear once they move). */
static double val(scrape *sc, const char *series)
{
    sample *s = find(sc, series);
    return s ? s->value : 0;
}

static double must(scrape *sc, const char *series)
{
    sample *s = find(sc, series);
    ck_assert_msg(s != NULL, "no series %s", series);
    return s->value;
}

/* ---- requests ---- */

static ts_resp *get_metrics(const char *auth)
{
    const char *h[] = {auth, NULL};
    return ts_http("GET", "/metrics", auth ? h : NULL, NULL, 0);
}

static void scrape_now(scrape *sc, char **text)
{
    ts_resp *r = get_metrics("Authorization: Bearer " TOKEN);
    char ct[128];
    TS_STATUS(r, 200);
    ck_assert(ts_resp_header(r, "Content-Type", ct, sizeof(ct)));
    ck_assert_str_eq(ct, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_msg(parse(sc, r->body) == 0, "exposition: %s", perr);
    if (text)
        *text = strdup(r->body);
    ts_resp_free(r);
}

static void post_span(const ts_daemon *d, const char *trace, const char *span, long want)
{
    char b[512];
    snprintf(b, sizeof(b),
             "{\"spans\":[{\"name\":\"op\",\"context\":{\"trace_id\":\"%s\",\"span_id\":\"%s\"},"
             "\"kind\":\"SpanKind.INTERNAL\",\"start_time\":1,\"end_time\":2,"
             "\"status\":{\"status_code\":\"StatusCode.OK\"}}]}",
             trace, span);
    ts_resp *r = ts_req("POST", "/spans-bulk", d->key_alpha, b);
    TS_STATUS(r, want);
    ts_resp_free(r);
}

/* promtool's own check (lint included), when it is installed. */
static void promtool_check(const ts_daemon *d, const char *text)
{
    char path[TS_IT_PATH_CAP + 16], cmd[TS_IT_PATH_CAP * 3 + 64];
    if (access("/usr/bin/promtool", X_OK) != 0) {
        fprintf(stderr, "test_metrics: promtool not installed, the strict parser alone checked\n");
        return;
    }
    snprintf(path, sizeof(path), "%s/scrape.txt", d->dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s.out 2>&1", path, path);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof(cmd), "cat %s.out >&2", path);
        ck_assert_int_eq(system(cmd), 0);
    }
    ck_assert_msg(rc == 0, "promtool check metrics failed");
}

START_TEST(test_metrics_off_by_default)
{
    ts_daemon d;
    ts_d_init(&d, 1, NULL);
    ts_d_start(&d);
    ts_resp *r = get_metrics("Authorization: Bearer " TOKEN);
    TS_STATUS(r, 404);
    TS_J_CONTAINS(ts_json(r), "message", "metrics_token");
    ts_resp_free(r);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

START_TEST(test_metrics_access)
{
    static const char *const env[] = {"TRACESTORE_METRICS_TOKEN=" TOKEN, NULL};
    char h[256];
    ts_daemon d;
    ts_d_init(&d, 1, env);
    ts_d_start(&d);
    ts_resp *r = get_metrics(NULL);
    TS_STATUS(r, 401);
    ts_resp_free(r);
    /* a workspace key is not the token, in either header */
    snprintf(h, sizeof(h), "Authorization: Bearer %s", d.key_alpha);
    r = get_metrics(h);
    TS_STATUS(r, 401);
    ts_resp_free(r);
    snprintf(h, sizeof(h), "X-API-KEY: %s", d.key_alpha);
    r = get_metrics(h);
    TS_STATUS(r, 401);
    ts_resp_free(r);
    r = get_metrics("Authorization: Bearer " TOKEN "x");
    TS_STATUS(r, 401);
    ts_resp_free(r);
    r = get_metrics("Authorization: Bearer metrics-token-0123456789abcdeX");
    TS_STATUS(r, 401);
    ts_resp_free(r);
    r = get_metrics("Authorization: Bearer " TOKEN);
    TS_STATUS(r, 200);
    ts_resp_free(r);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

#define SB "tracestore_http_requests_total{route=\"/spans-bulk\",method=\"POST\",status_class="
#define TL "tracestore_http_requests_total{route=\"/v1/traces/{}\",method=\"GET\",status_class="

START_TEST(test_metrics_count_exactly)
{
    enum { N = 9 };
    static const char *const env[] = {"TRACESTORE_METRICS_TOKEN=" TOKEN, NULL};
    static scrape a, b;
    char trace[40], span[24], path[128];
    char *text = NULL;
    ts_daemon d;
    ts_d_init(&d, 1, env);
    ts_d_start(&d);
    scrape_now(&a, NULL);

    ts_new_trace_id(trace);
    for (int i = 0; i < N; i++) {
        ts_new_span_id(span);
        post_span(&d, trace, span, 201);
    }
    /* 3 reads of a missing trace, 2 invalid bodies, 1 unknown route */
    for (int i = 0; i < 3; i++) {
        ts_resp *r = ts_req("GET", "/v1/traces/nope", d.key_alpha, NULL);
        TS_STATUS(r, 404);
        ts_resp_free(r);
    }
    for (int i = 0; i < 2; i++) {
        ts_resp *r = ts_req("POST", "/spans-bulk", d.key_alpha, "{\"spans\":[{\"name\":1}]}");
        TS_STATUS(r, 422);
        ts_resp_free(r);
    }
    ts_resp *r = ts_req("GET", "/no/such/route", NULL, NULL);
    TS_STATUS(r, 404);
    ts_resp_free(r);
    /* close the trace: one more span for it is rejected; then delete it */
    snprintf(path, sizeof(path), "/api/public/v2/traces/%s/close", trace);
    r = ts_req("POST", path, d.key_alpha, NULL);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    ts_new_span_id(span);
    post_span(&d, trace, span, 201);
    snprintf(path, sizeof(path), "/api/traces/%s/", trace);
    r = ts_req("DELETE", path, d.key_alpha, NULL);
    TS_STATUS(r, 200);
    ts_resp_free(r);

    scrape_now(&b, &text);
    ck_assert_double_eq(val(&b, SB "\"2xx\"}") - val(&a, SB "\"2xx\"}"), N + 1);
    ck_assert_double_eq(val(&b, SB "\"4xx\"}") - val(&a, SB "\"4xx\"}"), 2);
    ck_assert_double_eq(val(&b, TL "\"4xx\"}") - val(&a, TL "\"4xx\"}"), 3);
    ck_assert_double_eq(
        val(&b,
            "tracestore_http_requests_total{route=\"none\",method=\"GET\",status_class=\"4xx\"}"),
        1);
    /* the first scrape itself is counted, the second not yet */
    ck_assert_double_eq(must(&b, "tracestore_http_requests_total{route=\"/"
                                 "metrics\",method=\"GET\",status_class=\"2xx\"}"),
                        1);
    ck_assert_double_eq(
        must(&b, "tracestore_http_request_duration_seconds_count{route=\"/spans-bulk\"}") -
            val(&a, "tracestore_http_request_duration_seconds_count{route=\"/spans-bulk\"}"),
        N + 3);
    ck_assert_double_eq(must(&b, "tracestore_spans_accepted_total") -
                            must(&a, "tracestore_spans_accepted_total"),
                        N);
    ck_assert_double_eq(must(&b, "tracestore_spans_rejected_total{reason=\"closed_trace\"}") -
                            must(&a, "tracestore_spans_rejected_total{reason=\"closed_trace\"}"),
                        1);
    ck_assert_double_eq(
        must(&b, "tracestore_ingest_requests_rejected_total{reason=\"invalid\"}") -
            must(&a, "tracestore_ingest_requests_rejected_total{reason=\"invalid\"}"),
        2);
    ck_assert_double_eq(
        must(&b, "tracestore_traces_closed_total") - must(&a, "tracestore_traces_closed_total"), 1);
    ck_assert_double_eq(must(&b, "tracestore_traces_deleted_total") -
                            must(&a, "tracestore_traces_deleted_total"),
                        1);
    /* 9 + 1 ingests, the close, the delete: at least one transaction more */
    ck_assert(must(&b, "tracestore_writer_transactions_total") >
              must(&a, "tracestore_writer_transactions_total"));
    ck_assert_double_eq(
        must(&b, "tracestore_writer_jobs_total") - must(&a, "tracestore_writer_jobs_total"), N + 3);
    /* one trace created (the rejected span made none); each committed
     * transaction observed once in the writer's histograms, each sync in
     * the syncer's */
    ck_assert_double_eq(must(&b, "tracestore_traces_created_total") -
                            must(&a, "tracestore_traces_created_total"),
                        1);
    double txs = must(&b, "tracestore_writer_transactions_total") -
                 must(&a, "tracestore_writer_transactions_total");
    ck_assert_double_eq(must(&b, "tracestore_writer_jobs_per_transaction_count") -
                            val(&a, "tracestore_writer_jobs_per_transaction_count"),
                        txs);
    ck_assert_double_eq(must(&b, "tracestore_writer_jobs_per_transaction_sum") -
                            val(&a, "tracestore_writer_jobs_per_transaction_sum"),
                        N + 3);
    ck_assert_double_eq(must(&b, "tracestore_writer_commit_duration_seconds_count") -
                            val(&a, "tracestore_writer_commit_duration_seconds_count"),
                        txs);
    ck_assert_double_eq(must(&b, "tracestore_writer_sync_duration_seconds_count") -
                            val(&a, "tracestore_writer_sync_duration_seconds_count"),
                        must(&b, "tracestore_writer_syncs_total") -
                            must(&a, "tracestore_writer_syncs_total"));
    /* 16 requests authenticated with a key: each a cache hit or a miss */
    double keys = must(&b, "tracestore_key_cache_hits_total") +
                  must(&b, "tracestore_key_cache_misses_total") -
                  must(&a, "tracestore_key_cache_hits_total") -
                  must(&a, "tracestore_key_cache_misses_total");
    ck_assert_double_eq(keys, N + 3 + 2 + 1 + 1 + 1);
    ck_assert(must(&b, "tracestore_database_bytes") > 0);
    ck_assert(must(&b, "tracestore_wal_bytes") >= 0);
    ck_assert(must(&b, "tracestore_http_open_connections") >= 1);
    ck_assert(must(&b, "tracestore_writer_queue_depth") >= 0);
    ck_assert(must(&b, "process_start_time_seconds") > 1.7e9);
    ck_assert_double_eq(must(&b, "tracestore_build_info{version=\""
                                 "0.1.0"
                                 "\"}"),
                        1);
    must(&b, "tracestore_checkpoints_total{by=\"background\"}");
    /* no label names a workspace, a key or a trace */
    ck_assert_ptr_null(strstr(text, "alpha"));
    ck_assert_ptr_null(strstr(text, trace));
    ck_assert_ptr_null(strstr(text, d.key_alpha));
    ck_assert_ptr_null(strstr(text, "/no/such"));
    promtool_check(&d, text);
    free(text);
    ts_d_stop(&d);
    ts_d_free(&d);
}
END_TEST

/* The parser itself refuses what the format forbids (so a pass means
 * something). */
static const char *const bad_texts[] = {
    "x_total 1\n",                                                      /* no HELP/TYPE */
    "# HELP x_total h\n# TYPE x_total counter\nx_total 1\nx_total 2\n", /* duplicate */
    "# HELP x_total h\n# TYPE x_total counter\nx_total{a=\"b} 1\n",     /* label */
    "# HELP x h\n# TYPE x counter\nx 1\n",                              /* counter name */
    "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
    "h_sum 1\nh_count 1\n",                /* not cumulative */
    "# HELP g h\n# TYPE g gauge\ng one\n", /* value */
};

START_TEST(test_parser_refuses)
{
    static scrape sc;
    static const char good[] = "# HELP h_seconds h\n# TYPE h_seconds histogram\n"
                               "h_seconds_bucket{a=\"x\\\"y\",le=\"1\"} 1\n"
                               "h_seconds_bucket{a=\"x\\\"y\",le=\"+Inf\"} 2\n"
                               "h_seconds_sum{a=\"x\\\"y\"} 1.5\nh_seconds_count{a=\"x\\\"y\"} 2\n";
    ck_assert_msg(parse(&sc, good) == 0, "%s", perr);
    for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++)
        ck_assert_msg(parse(&sc, bad_texts[i]) == -1, "accepted: %s", bad_texts[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_parser_refuses);
    tcase_add_test(tc, test_metrics_off_by_default);
    tcase_add_test(tc, test_metrics_access);
    tcase_add_test(tc, test_metrics_count_exactly);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
