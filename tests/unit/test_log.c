/* test_log.c: unit tests for src/core/log.c (level parsing and filtering,
 * line format, one line per call even from many threads). stderr is
 * redirected into a temporary file while a test writes log lines. */
#include <check.h>
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
