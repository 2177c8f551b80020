/* test_log.c: unit tests for src/core/log.c (level parsing and filtering,
 * line format, one line per call even from many threads). stderr is
 * redirected into a temporary file while a test writes log lines. */
#include <check.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracestore/log.h"

static int saved_fd = -1;
static char cap_path[64];

static void capture_begin(void)
{
    int fd;

    memcpy(cap_path, "/tmp/ts_test_log_XXXXXX", sizeof "/tmp/ts_test_log_XXXXXX");
    fd = mkstemp(cap_path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    saved_fd = dup(2);
    dup2(fd, 2);
    close(fd);
}

/* Restores stderr; returns the captured text (malloc'd, caller frees). */
static char *capture_end(void)
{
    FILE *f;
    char *buf;
    long n;

    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    f = fopen(cap_path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    unlink(cap_path);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* "ts=YYYY-MM-DDTHH:MM:SS.mmmZ level=" */
static int prefix_ok(const char *line)
{
    const char *pat = "ts=dddd-dd-ddTdd:dd:dd.dddZ level=";
    size_t i;

    for (i = 0; pat[i]; i++) {
        if (pat[i] == 'd' ? (line[i] < '0' || line[i] > '9') : line[i] != pat[i])
            return 0;
    }
    return 1;
}

START_TEST(default_level_is_info)
{
    ck_assert_int_eq(ts_log_level, TS_LOG_INFO);
}
END_TEST

START_TEST(parse_level_names)
{
    ck_assert_int_eq(ts_log_parse_level("debug"), TS_LOG_DEBUG);
    ck_assert_int_eq(ts_log_parse_level("info"), TS_LOG_INFO);
    ck_assert_int_eq(ts_log_parse_level("warn"), TS_LOG_WARN);
    ck_assert_int_eq(ts_log_parse_level("error"), TS_LOG_ERROR);
    ck_assert_int_eq(ts_log_parse_level("ERROR"), TS_LOG_ERROR);
    ck_assert_int_eq(ts_log_parse_level("warning"), TS_LOG_WARN);
    ck_assert_int_eq(ts_log_parse_level("verbose"), -1);
    ck_assert_int_eq(ts_log_parse_level(""), -1);
    ck_assert_int_eq(ts_log_parse_level("info "), -1);
    ck_assert_int_eq(ts_log_parse_level(NULL), -1);
}
END_TEST

START_TEST(set_level_ignores_out_of_range)
{
    ts_log_set_level(TS_LOG_ERROR);
    ck_assert_int_eq(ts_log_level, TS_LOG_ERROR);
    ts_log_set_level(42);
    ck_assert_int_eq(ts_log_level, TS_LOG_ERROR);
    ts_log_set_level(-1);
    ck_assert_int_eq(ts_log_level, TS_LOG_ERROR);
    ts_log_set_level(TS_LOG_INFO);
}
END_TEST

START_TEST(line_format)
{
    char *out;

    ts_log_set_level(TS_LOG_INFO);
    capture_begin();
    ts_log_write(TS_LOG_INFO, "msg=\"%s\" n=%d", "started", 3);
    out = capture_end();
    ck_assert_msg(prefix_ok(out), "bad prefix: %s", out);
    ck_assert_str_eq(out + strlen("ts=2026-11-22T10:00:00.123Z "),
                     "level=info msg=\"started\" n=3\n");
    free(out);
}
END_TEST

START_TEST(level_names_in_lines)
{
    char *out;

    ts_log_set_level(TS_LOG_DEBUG);
    capture_begin();
    ts_log_write(TS_LOG_DEBUG, "a");
    ts_log_write(TS_LOG_WARN, "b");
    ts_log_write(TS_LOG_ERROR, "c");
    out = capture_end();
    ts_log_set_level(TS_LOG_INFO);
    ck_assert_int_eq(count_lines(out), 3);
    ck_assert_ptr_nonnull(strstr(out, " level=debug a\n"));
    ck_assert_ptr_nonnull(strstr(out, " level=warn b\n"));
    ck_assert_ptr_nonnull(strstr(out, " level=error c\n"));
    free(out);
}
END_TEST

START_TEST(filtered_below_level)
{
    char *out;

    ts_log_set_level(TS_LOG_WARN);
    capture_begin();
    TS_LOG(TS_LOG_DEBUG, "hidden %d", 1);
    TS_LOG(TS_LOG_INFO, "hidden %d", 2);
    ts_log_write(TS_LOG_INFO, "hidden %d", 3);
    TS_LOG(TS_LOG_WARN, "shown");
    out = capture_end();
    ts_log_set_level(TS_LOG_INFO);
    ck_assert_int_eq(count_lines(out), 1);
    ck_assert_ptr_null(strstr(out, "hidden"));
    ck_assert_ptr_nonnull(strstr(out, "level=warn shown\n"));
    free(out);
}
END_TEST

START_TEST(newlines_cannot_split_a_record)
{
    char *out;

    capture_begin();
    ts_log_write(TS_LOG_ERROR, "first\nsecond\r\nthird\n");
    out = capture_end();
    ck_assert_int_eq(count_lines(out), 1);
    ck_assert_ptr_nonnull(strstr(out, "level=error first second  third\n"));
    free(out);
}
END_TEST

START_TEST(long_message_is_truncated_to_one_line)
{
    char *big = malloc(20000), *out;

    memset(big, 'x', 19999);
    big[19999] = '\0';
    capture_begin();
    ts_log_write(TS_LOG_ERROR, "%s", big);
    out = capture_end();
    ck_assert_int_eq(count_lines(out), 1);
    ck_assert(prefix_ok(out));
    ck_assert_uint_lt(strlen(out), 20000);
    free(out);
    free(big);
}
END_TEST

#define NTHREADS 8
#define NLINES 500

static void *writer(void *arg)
{
    int id = (int)(long)arg, i;

    for (i = 0; i < NLINES; i++)
        ts_log_write(TS_LOG_INFO, "thread=%d i=%d pad=%s", id, i,
                     "................................................................");
    return NULL;
}

START_TEST(threads_do_not_interleave)
{
    pthread_t t[NTHREADS];
    char *out, *line, *nl;
    int i, n = 0;

    capture_begin();
    for (i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, writer, (void *)(long)i);
    for (i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    out = capture_end();
    for (line = out; *line; line = nl + 1) {
        int id, k;

        nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        *nl = '\0';
        ck_assert(prefix_ok(line));
        ck_assert_int_eq(sscanf(strstr(line, "level=info "), "level=info thread=%d i=%d", &id, &k),
                         2);
        ck_assert_ptr_nonnull(strstr(line, "pad=....."));
        ck_assert_uint_eq(strlen(strstr(line, "pad=")), 4 + 64);
        n++;
    }
    ck_assert_int_eq(n, NTHREADS * NLINES);
    free(out);
}
END_TEST

/* ---- log_format = json, log_file and reopen ---- */

static cJSON *json_line(const char *out)
{
    ck_assert_msg(count_lines(out) == 1, "not one line: %s", out);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(cJSON_IsObject(j), "not a JSON object: %s", out);
    return j;
}

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    ck_assert_msg(cJSON_IsString(v), "%s is not a string", k);
    return v->valuestring;
}

START_TEST(json_fields)
{
    char *out;
    ck_assert_int_eq(ts_log_open(NULL, 1), 0);
    capture_begin();
    ts_log_write(TS_LOG_WARN,
                 "msg=access method=\"GET\" route=\"/v1/traces/{}\" status=404 bytes=57 "
                 "dur_us=120 ws=3 path=\"/a \\\"b\\\\c\" ratio=1.5 neg=-2 lead=007 word=x1");
    out = capture_end();
    ts_log_open(NULL, 0);
    cJSON *j = json_line(out);
    ck_assert_int_eq(strlen(jstr(j, "ts")), 24);
    ck_assert_str_eq(jstr(j, "level"), "warn");
    ck_assert_str_eq(jstr(j, "msg"), "access");
    ck_assert_str_eq(jstr(j, "method"), "GET");
    ck_assert_str_eq(jstr(j, "route"), "/v1/traces/{}");
    ck_assert_str_eq(jstr(j, "path"), "/a \"b\\c");
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "status")));
    ck_assert_int_eq(cJSON_GetObjectItem(j, "status")->valueint, 404);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "ws")->valueint, 3);
    ck_assert(cJSON_GetObjectItem(j, "ratio")->valuedouble == 1.5);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "neg")->valueint, -2);
    ck_assert_str_eq(jstr(j, "lead"), "007"); /* not a JSON number */
    ck_assert_str_eq(jstr(j, "word"), "x1");
    cJSON_Delete(j);
    free(out);
}
END_TEST

START_TEST(json_free_text_and_bad_utf8)
{
    char *out;
    ck_assert_int_eq(ts_log_open(NULL, 1), 0);
    capture_begin();
    ts_log_write(TS_LOG_ERROR, "plain words, not key=value \x01 \xff\xfe caf\xc3\xa9");
    out = capture_end();
    ts_log_open(NULL, 0);
    cJSON *j = json_line(out);
    ck_assert_str_eq(jstr(j, "msg"),
                     "plain words, not key=value \x01 \xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9");
    cJSON_Delete(j);
    free(out);
    /* an unterminated quote is not key=value either: kept whole */
    ts_log_open(NULL, 1);
    capture_begin();
    ts_log_write(TS_LOG_ERROR, "msg=\"half");
    out = capture_end();
    ts_log_open(NULL, 0);
    j = json_line(out);
    ck_assert_str_eq(jstr(j, "msg"), "msg=\"half");
    cJSON_Delete(j);
    free(out);
}
END_TEST

/* Escaped six times over (\u0001), the line cannot fit even as free text:
 * the record says so, and stays one JSON object. */
START_TEST(json_line_too_long_says_so)
{
    static char big[4000];
    char *out;
    memset(big, '\x01', sizeof(big) - 1);
    ts_log_open(NULL, 1);
    capture_begin();
    ts_log_write(TS_LOG_ERROR, "%s", big);
    out = capture_end();
    ts_log_open(NULL, 0);
    ck_assert_msg(strlen(out) > 0 && out[strlen(out) - 1] == '\n' && strlen(out) + 1 < 200,
                  "not one short line: %zu bytes", strlen(out));
    ck_assert_msg(memchr(out, '\0', strlen(out)) == NULL, "NUL inside the line");
    ck_assert_msg(out[strlen(out) - 2] == '}', "does not end with }: %s", out);
    cJSON *j = json_line(out);
    ck_assert_str_eq(jstr(j, "msg"), "(line too long)");
    cJSON_Delete(j);
    free(out);
}
END_TEST

START_TEST(json_long_line_stays_json)
{
    static char big[6000];
    char *out;
    memset(big, '"', sizeof(big) - 1); /* every byte escaped: twice as long */
    ts_log_open(NULL, 1);
    capture_begin();
    ts_log_write(TS_LOG_ERROR, "msg=x v=%s", big);
    out = capture_end();
    ts_log_open(NULL, 0);
    cJSON *j = json_line(out);
    cJSON_Delete(j);
    free(out);
}
END_TEST

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(log_file_reopen)
{
    char dir[] = "/tmp/ts_test_logf_XXXXXX", path[64], moved[80];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/t.log", dir);
    snprintf(moved, sizeof(moved), "%s/t.log.1", dir);
    ck_assert_int_eq(ts_log_open(path, 0), 0);
    ts_log_write(TS_LOG_ERROR, "msg=one");
    ck_assert_int_eq(rename(path, moved), 0);
    ts_log_write(TS_LOG_ERROR, "msg=two"); /* still the old file, as logrotate expects */
    ck_assert_int_eq(ts_log_reopen(), 0);
    ts_log_write(TS_LOG_ERROR, "msg=three");
    ts_log_open(NULL, 0);
    char *a = slurp(moved), *b = slurp(path);
    ck_assert_ptr_nonnull(strstr(a, "msg=one\n"));
    ck_assert_ptr_nonnull(strstr(a, "msg=two\n"));
    ck_assert_ptr_null(strstr(a, "three"));
    ck_assert_int_eq(count_lines(b), 1);
    ck_assert_ptr_nonnull(strstr(b, "msg=three\n"));
    free(a);
    free(b);
    /* a file that cannot be opened is refused and changes nothing */
    snprintf(path, sizeof(path), "%s/no/such/dir.log", dir);
    ck_assert_int_eq(ts_log_open(path, 0), -1);
    unlink(moved);
    snprintf(path, sizeof(path), "%s/t.log", dir);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, default_level_is_info);
    tcase_add_test(tc, parse_level_names);
    tcase_add_test(tc, set_level_ignores_out_of_range);
    tcase_add_test(tc, line_format);
    tcase_add_test(tc, level_names_in_lines);
    tcase_add_test(tc, filtered_below_level);
    tcase_add_test(tc, newlines_cannot_split_a_record);
    tcase_add_test(tc, long_message_is_truncated_to_one_line);
    tcase_add_test(tc, threads_do_not_interleave);
    tcase_add_test(tc, json_fields);
    tcase_add_test(tc, json_free_text_and_bad_utf8);
    tcase_add_test(tc, json_long_line_stays_json);
    tcase_add_test(tc, json_line_too_long_says_so);
    tcase_add_test(tc, log_file_reopen);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
