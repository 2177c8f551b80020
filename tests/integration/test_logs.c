/* test_logs.c: the access log over the real binary. One line per request
 * with method, route pattern, status, response bytes, duration and
 * workspace id; log_format = json makes every line a JSON object; SIGHUP
 * reopens log_file, so after logrotate's rename new lines go to a fresh
 * file. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Every line of text parses as a JSON object with ts and level; returns
 * the access line whose path is `path` (caller deletes) or NULL. */
static cJSON *access_line(const char *text, const char *path, int *lines)
{
    cJSON *found = NULL;
    *lines = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL, "last line not terminated");
        char *line = strndup(p, (size_t)(nl - p));
        cJSON *j = cJSON_Parse(line);
        ck_assert_msg(cJSON_IsObject(j), "not a JSON object: %s", line);
        ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "ts")));
        ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "level")));
        const cJSON *msg = cJSON_GetObjectItem(j, "msg");
        const cJSON *pa = cJSON_GetObjectItem(j, "path");
        if (!found && cJSON_IsString(msg) && strcmp(msg->valuestring, "access") == 0 &&
            cJSON_IsString(pa) && strcmp(pa->valuestring, path) == 0)
            found = j;
        else
            cJSON_Delete(j);
        free(line);
        (*lines)++;
        p = nl + 1;
    }
    return found;
}

static int64_t jint(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(j, k);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
    return (int64_t)v->valuedouble;
}

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(j, k);
    ck_assert_msg(cJSON_IsString(v), "%s is not a string", k);
    return v->valuestring;
}

/* Waits (5 s) until path holds an access line for req_path. */
static cJSON *wait_access(const char *file, const char *req_path)
{
    for (int i = 0; i < 500; i++) {
        char *t = slurp(file);
        int n;
        cJSON *j = t ? access_line(t, req_path, &n) : NULL;
        free(t);
        if (j)
            return j;
        usleep(10000);
    }
    ck_abort_msg("no access line for %s in %s", req_path, file);
    return NULL;
}

START_TEST(test_json_access_log_and_sighup_reopen)
{
    char file[TS_IT_PATH_CAP + 16], moved[TS_IT_PATH_CAP + 16], envf[TS_IT_PATH_CAP + 64];
    char trace[40], path[128];
    const char *env[] = {"TRACESTORE_LOG_FORMAT=json", envf, NULL};
    ts_daemon d;
    ts_d_init(&d, 1, NULL);
    snprintf(file, sizeof(file), "%s/ts.log", d.dir);
    snprintf(moved, sizeof(moved), "%s/ts.log.1", d.dir);
    snprintf(envf, sizeof(envf), "TRACESTORE_LOG_FILE=%s", file);
    d.env[0] = env[0];
    d.env[1] = env[1];
    d.env[2] = NULL;
    ts_d_start(&d);

    /* the workspace's row id: the log is the operator's, who reads the
     * database, not a workspace's (the API shows ids masked per workspace) */
    ts_new_trace_id(trace);
    ts_span_spec sp = {
        .trace_id = trace, .span_id = "1a2b3c4d5e6f7a8b", .name = "op", .start_ns = 1, .end_ns = 2};
    char *body = ts_spans_body(&sp, 1, 0);
    ts_resp *r = ts_req("POST", "/spans-bulk", d.key_alpha, body);
    TS_STATUS(r, 201);
    ts_resp_free(r);
    free(body);
    snprintf(path, sizeof(path), "/api/public/v2/traces/%s/close", trace);
    r = ts_req("POST", path, d.key_alpha, NULL);
    TS_STATUS(r, 201);
    int64_t ws = ts_d_sql_int(&d, "SELECT id FROM workspaces WHERE name = 'alpha'");
    size_t close_len = r->len;
    ts_resp_free(r);
    r = ts_req("GET", "/v1/traces/missing-one", d.key_alpha, NULL);
    TS_STATUS(r, 404);
    size_t get_len = r->len;
    ts_resp_free(r);

    cJSON *a = wait_access(file, path);
    ck_assert_str_eq(jstr(a, "method"), "POST");
    ck_assert_str_eq(jstr(a, "route"), "/api/public/v2/traces/{}/close");
    ck_assert_int_eq(jint(a, "status"), 201);
    ck_assert_int_eq(jint(a, "bytes"), (int64_t)close_len);
    ck_assert_int_eq(jint(a, "ws"), ws);
    ck_assert_int_ge(jint(a, "dur_us"), 0);
    cJSON_Delete(a);
    a = wait_access(file, "/v1/traces/missing-one");
    ck_assert_str_eq(jstr(a, "method"), "GET");
    ck_assert_str_eq(jstr(a, "route"), "/v1/traces/{}");
    ck_assert_int_eq(jint(a, "status"), 404);
    ck_assert_int_eq(jint(a, "bytes"), (int64_t)get_len);
    ck_assert_int_eq(jint(a, "ws"), ws);
    cJSON_Delete(a);
    /* an unrouted, unauthenticated request: route "-", workspace 0 */
    r = ts_req("GET", "/nowhere", NULL, NULL);
    TS_STATUS(r, 404);
    ts_resp_free(r);
    a = wait_access(file, "/nowhere");
    ck_assert_str_eq(jstr(a, "route"), "-");
    ck_assert_int_eq(jint(a, "ws"), 0);
    cJSON_Delete(a);

    /* logrotate: rename, SIGHUP, and the next lines go to a new file */
    ck_assert_int_eq(rename(file, moved), 0);
    ts_d_signal(&d, SIGHUP);
    struct stat st;
    for (int i = 0; i < 500 && stat(file, &st) != 0; i++)
        usleep(10000);
    ck_assert_msg(stat(file, &st) == 0, "SIGHUP did not reopen %s", file);
    r = ts_req("GET", "/v1/traces/after-rotate", d.key_alpha, NULL);
    TS_STATUS(r, 404);
    ts_resp_free(r);
    a = wait_access(file, "/v1/traces/after-rotate");
    cJSON_Delete(a);
    char *old = slurp(moved);
    int n;
    ck_assert_ptr_nonnull(old);
    ck_assert_ptr_null(strstr(old, "after-rotate"));
    cJSON *none = access_line(old, "/v1/traces/after-rotate", &n);
    ck_assert_ptr_null(none);
    ck_assert_int_gt(n, 3);
    free(old);
    /* the daemon still drains and exits 0 after a SIGHUP */
    ts_d_stop(&d);
    char *fresh = slurp(file);
    ck_assert_ptr_nonnull(strstr(fresh, "\"msg\":\"stopped cleanly\""));
    free(fresh);
    ts_d_free(&d);
}
END_TEST

START_TEST(test_text_access_line)
{
    ts_daemon d;
    ts_d_init(&d, 1, NULL);
    ts_d_start(&d);
    ts_resp *r = ts_req("GET", "/v1/traces/text-form", d.key_alpha, NULL);
    TS_STATUS(r, 404);
    ts_resp_free(r);
    ts_d_stop(&d);
    char *log = ts_d_read_log(&d);
    const char *line = strstr(log, "msg=access method=\"GET\" route=\"/v1/traces/{}\" status=404 ");
    ck_assert_msg(line != NULL, "no text access line in:\n%s", log);
    const char *eol = strchr(line, '\n');
    ck_assert_ptr_nonnull(eol);
    char *l = strndup(line, (size_t)(eol - line));
    ck_assert_ptr_nonnull(strstr(l, " bytes="));
    ck_assert_ptr_nonnull(strstr(l, " dur_us="));
    ck_assert_ptr_nonnull(strstr(l, " ws="));
    ck_assert_ptr_nonnull(strstr(l, " path=\"/v1/traces/text-form\""));
    free(l);
    free(log);
    ts_d_free(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("integration-logs");
    TCase *tc = tcase_create("logs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_json_access_log_and_sighup_reopen);
    tcase_add_test(tc, test_text_access_line);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
