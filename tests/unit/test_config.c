/* test_config.c: unit tests for src/core/config.c: defaults, ts_config_set
 * (suffixes, ranges, enums), the file and environment loaders (precedence,
 * file:line errors, all-or-nothing), listen parsing, and a check that the
 * shipped config/tracestore.conf documents every key at its default. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracestore/config.h"
#include "tracestore/err.h"

static char tmp_path[64];

/* Writes text to a fresh temporary file whose name is left in tmp_path. */
static const char *write_tmp(const char *text)
{
    int fd;
    size_t len = strlen(text);

    memcpy(tmp_path, "/tmp/ts_test_conf_XXXXXX", sizeof "/tmp/ts_test_conf_XXXXXX");
    fd = mkstemp(tmp_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return tmp_path;
}

/* ts_config_dump into a malloc'd string (caller frees). */
static char *dump(const ts_config *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    ts_config_dump(c, f);
    fclose(f);
    return buf;
}

static int same_config(const ts_config *a, const ts_config *b)
{
    char *da = dump(a), *db = dump(b);
    int same = strcmp(da, db) == 0;

    free(da);
    free(db);
    return same;
}

static int set(ts_config *c, const char *key, const char *value)
{
    return ts_config_set(c, key, value, NULL);
}

/* Setting key=value must succeed / must be refused as invalid. */
#define SET_OK(c, key, value)                                                                      \
    ck_assert_msg(set(c, key, value) == TS_OK, "%s=%s rejected", key, value)
#define SET_BAD(c, key, value)                                                                     \
    ck_assert_msg(set(c, key, value) == TS_EINVAL, "%s=%s accepted", key, value)

START_TEST(defaults_match_documentation)
{
    ts_config c;

    memset(&c, 0x5a, sizeof c);
    ts_config_defaults(&c);
    ck_assert_str_eq(c.listen, "127.0.0.1:8080");
    ck_assert_str_eq(c.db_path, "data/tracestore.db");
    ck_assert_int_eq(c.http_threads, 0);
    ck_assert_int_eq(c.max_connections, 4096);
    ck_assert_int_eq(c.per_ip_connections, 256);
    ck_assert_int_eq(c.connection_timeout_s, 30);
    ck_assert_int_eq(c.request_timeout_s, 60);
    ck_assert_str_eq(c.log_level, "info");
    ck_assert_int_eq(c.max_body_bytes, 8388608);
    ck_assert_int_eq(c.max_spans_per_request, 10000);
    ck_assert_int_eq(c.max_string_bytes, 1048576);
    ck_assert_int_eq(c.max_attributes_per_span, 1024);
    ck_assert_int_eq(c.max_json_depth, 64);
    ck_assert_int_eq(c.max_page_size, 1000);
    ck_assert_str_eq(c.sqlite_synchronous, "full");
    ck_assert_int_eq(c.sqlite_cache_mb, 64);
    ck_assert_int_eq(c.sqlite_coalesce_writes, 1);
    ck_assert_int_eq(c.read_connections, 0);
    ck_assert_int_eq(c.writer_queue_max, 4096);
    ck_assert_int_eq(c.writer_batch_max, 256);
    ck_assert_int_eq(c.sqlite_checkpoint_pages, 4096);
    ck_assert_int_eq(c.sqlite_wal_max_pages, 65536);
    ck_assert_int_eq(c.retention_days, 0);
    ck_assert_int_eq(c.retention_sweep_s, 60);
    ck_assert_int_eq(c.retention_batch, 500);
    ck_assert_int_eq(c.retention_batch_spans, 2000);
    ck_assert_int_eq(c.retention_day_s, 86400);
    ck_assert_int_eq(c.checkpoints, 1);
    ck_assert_str_eq(c.price_file, "");
    ck_assert_int_eq(c.rate_limit_per_key, 0);
    ck_assert_int_eq(c.key_cache_ms, 10000);
    ck_assert_int_eq(c.span_id_window, 262144);
    ck_assert_int_eq(c.dims_settle_ms, 100);
    ck_assert_str_eq(c.metrics_token, "");
    ck_assert_str_eq(c.log_format, "text");
    ck_assert_str_eq(c.log_file, "");
}
END_TEST

START_TEST(operations_keys)
{
    ts_config c;

    ts_config_defaults(&c);
    SET_OK(&c, "metrics_token", "0123456789abcdef");
    ck_assert_str_eq(c.metrics_token, "0123456789abcdef");
    SET_OK(&c, "metrics_token", "");
    ck_assert_str_eq(c.metrics_token, "");
    SET_BAD(&c, "metrics_token", "0123456789abcde"); /* 15: too short */
    SET_BAD(&c, "metrics_token", "0123456789 abcdef");
    SET_BAD(&c, "metrics_token", "0123456789abcdef\x7f");
    SET_OK(&c, "log_format", "JSON");
    ck_assert_str_eq(c.log_format, "json");
    SET_OK(&c, "log_format", "text");
    SET_BAD(&c, "log_format", "xml");
    SET_BAD(&c, "log_format", "");
    SET_OK(&c, "log_file", "/var/log/tracestore/tracestore.log");
    ck_assert_str_eq(c.log_file, "/var/log/tracestore/tracestore.log");
}
END_TEST

START_TEST(int_suffixes)
{
    ts_config c;

    ts_config_defaults(&c);
    SET_OK(&c, "max_body_bytes", "16k");
    ck_assert_int_eq(c.max_body_bytes, 16 * 1024);
    SET_OK(&c, "max_body_bytes", "16K");
    ck_assert_int_eq(c.max_body_bytes, 16 * 1024);
    SET_OK(&c, "max_body_bytes", "8m");
    ck_assert_int_eq(c.max_body_bytes, 8388608);
    SET_OK(&c, "max_body_bytes", "3M");
    ck_assert_int_eq(c.max_body_bytes, 3 * 1048576);
    SET_OK(&c, "max_body_bytes", "1g");
    ck_assert_int_eq(c.max_body_bytes, 1073741824);
    SET_OK(&c, "max_body_bytes", "1G");
    ck_assert_int_eq(c.max_body_bytes, 1073741824);
    SET_BAD(&c, "max_body_bytes", "2g"); /* over the maximum */
    SET_OK(&c, "max_string_bytes", "256m");
    ck_assert_int_eq(c.max_string_bytes, 268435456);
    SET_OK(&c, "max_connections", "1k");
    ck_assert_int_eq(c.max_connections, 1024);
    SET_BAD(&c, "max_body_bytes", "1kb");
    SET_BAD(&c, "max_body_bytes", "1kk");
    SET_BAD(&c, "max_body_bytes", "k");
    SET_BAD(&c, "max_body_bytes", "1t");
    SET_BAD(&c, "max_body_bytes", "9999999999999g"); /* int64 overflow */
    ck_assert_int_eq(c.max_body_bytes, 1073741824);
}
END_TEST

START_TEST(int_ranges)
{
    ts_config c;

    ts_config_defaults(&c);
    SET_OK(&c, "http_threads", "0");
    SET_OK(&c, "http_threads", "256");
    SET_BAD(&c, "http_threads", "257");
    SET_BAD(&c, "http_threads", "-1");
    ck_assert_int_eq(c.http_threads, 256);
    SET_BAD(&c, "max_connections", "0");
    SET_OK(&c, "max_connections", "1000000");
    SET_BAD(&c, "max_connections", "1000001");
    SET_OK(&c, "connection_timeout_s", "1");
    SET_BAD(&c, "connection_timeout_s", "0");
    SET_BAD(&c, "request_timeout_s", "3601");
    SET_OK(&c, "max_body_bytes", "1024");
    SET_BAD(&c, "max_body_bytes", "1023");
    SET_BAD(&c, "max_string_bytes", "63");
    SET_OK(&c, "max_string_bytes", "64");
    SET_BAD(&c, "max_json_depth", "3");
    SET_OK(&c, "max_json_depth", "1000");
    SET_BAD(&c, "max_json_depth", "1001");
    SET_BAD(&c, "max_page_size", "100001");
    SET_BAD(&c, "sqlite_cache_mb", "65537");
    SET_BAD(&c, "sqlite_checkpoint_pages", "63");
    SET_OK(&c, "sqlite_checkpoint_pages", "64");
    SET_BAD(&c, "sqlite_wal_max_pages", "16777217");
    SET_OK(&c, "read_connections", "1024");
    SET_BAD(&c, "read_connections", "1025");
    SET_BAD(&c, "writer_queue_max", "0");
    SET_BAD(&c, "writer_batch_max", "100001");
    SET_OK(&c, "rate_limit_per_key", "10000000");
    SET_BAD(&c, "rate_limit_per_key", "10000001");
    SET_OK(&c, "per_ip_connections", "0");
    SET_BAD(&c, "max_spans_per_request", "0");
    SET_BAD(&c, "max_attributes_per_span", "100001");
    SET_OK(&c, "key_cache_ms", "0");
    SET_BAD(&c, "key_cache_ms", "3600001");
    SET_OK(&c, "span_id_window", "0");
    ck_assert_int_eq(c.span_id_window, 0);
    SET_OK(&c, "span_id_window", "16777216");
    SET_BAD(&c, "span_id_window", "16777217");
    SET_BAD(&c, "span_id_window", "-1");
    SET_OK(&c, "dims_settle_ms", "0");
    ck_assert_int_eq(c.dims_settle_ms, 0);
    SET_OK(&c, "dims_settle_ms", "3600000");
    SET_BAD(&c, "dims_settle_ms", "3600001");
    SET_BAD(&c, "dims_settle_ms", "-1");
    SET_OK(&c, "retention_days", "0");
    SET_OK(&c, "retention_days", "36500");
    ck_assert_int_eq(c.retention_days, 36500);
    SET_BAD(&c, "retention_days", "36501");
    SET_BAD(&c, "retention_days", "-1");
    SET_OK(&c, "retention_sweep_s", "1");
    SET_OK(&c, "retention_sweep_s", "86400");
    ck_assert_int_eq(c.retention_sweep_s, 86400);
    SET_BAD(&c, "retention_sweep_s", "0");
    SET_BAD(&c, "retention_sweep_s", "86401");
    SET_OK(&c, "retention_batch", "1");
    SET_OK(&c, "retention_batch", "100000");
    ck_assert_int_eq(c.retention_batch, 100000);
    SET_BAD(&c, "retention_batch", "0");
    SET_BAD(&c, "retention_batch", "100001");
    SET_OK(&c, "retention_batch_spans", "1");
    SET_OK(&c, "retention_batch_spans", "10000000");
    ck_assert_int_eq(c.retention_batch_spans, 10000000);
    SET_BAD(&c, "retention_batch_spans", "0");
    SET_BAD(&c, "retention_batch_spans", "10000001");
    SET_OK(&c, "retention_day_s", "1");
    ck_assert_int_eq(c.retention_day_s, 1);
    SET_OK(&c, "retention_day_s", "86400");
    SET_BAD(&c, "retention_day_s", "0");
    SET_BAD(&c, "retention_day_s", "86401");
    SET_OK(&c, "sqlite_coalesce_writes", "0");
    ck_assert_int_eq(c.sqlite_coalesce_writes, 0);
    SET_BAD(&c, "sqlite_coalesce_writes", "2");
    SET_BAD(&c, "sqlite_coalesce_writes", "-1");
}
END_TEST

START_TEST(int_syntax)
{
    ts_config c;
    const char *bad[] = {"",
                         " 1",
                         "1 ",
                         "1.5",
                         "0x10",
                         "1e3",
                         "+-1",
                         "-",
                         "abc",
                         "9223372036854775808",
                         "99999999999999999999"};
    size_t i;

    ts_config_defaults(&c);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        SET_BAD(&c, "max_page_size", bad[i]);
    ck_assert_int_eq(c.max_page_size, 1000);
    SET_OK(&c, "max_page_size", "007");
    ck_assert_int_eq(c.max_page_size, 7);
}
END_TEST

START_TEST(error_messages_name_the_key)
{
    ts_config c;
    ts_err e;

    ts_config_defaults(&c);
    ts_err_clear(&e);
    ck_assert_int_eq(ts_config_set(&c, "nope", "1", &e), TS_EINVAL);
    ck_assert_str_eq(e.msg, "unknown key 'nope'");
    ck_assert_int_eq(ts_config_set(&c, "http_threads", "lots", &e), TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "http_threads"));
    ck_assert_ptr_nonnull(strstr(e.msg, "lots"));
    ck_assert_int_eq(ts_config_set(&c, "http_threads", "300", &e), TS_EINVAL);
    ck_assert_str_eq(e.msg, "http_threads: 300 is out of range 0..256");
    ck_assert_int_eq(ts_config_set(&c, "log_level", "loud", &e), TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "log_level"));
    /* keys are exact, case-sensitive names */
    ck_assert_int_eq(ts_config_set(&c, "HTTP_THREADS", "1", &e), TS_EINVAL);
    ck_assert_int_eq(ts_config_set(&c, NULL, "1", &e), TS_EINVAL);
    ck_assert_int_eq(ts_config_set(&c, "listen", NULL, &e), TS_EINVAL);
}
END_TEST

START_TEST(string_keys)
{
    ts_config c;
    char big[TS_PATH_MAX + 10];

    ts_config_defaults(&c);
    SET_OK(&c, "log_level", "debug");
    ck_assert_str_eq(c.log_level, "debug");
    SET_OK(&c, "log_level", "WARN");
    ck_assert_str_eq(c.log_level, "warn");
    SET_BAD(&c, "log_level", "trace");
    SET_BAD(&c, "log_level", "");
    ck_assert_str_eq(c.log_level, "warn");
    SET_OK(&c, "sqlite_synchronous", "normal");
    ck_assert_str_eq(c.sqlite_synchronous, "normal");
    SET_OK(&c, "sqlite_synchronous", "FULL");
    ck_assert_str_eq(c.sqlite_synchronous, "full");
    SET_BAD(&c, "sqlite_synchronous", "off");
    SET_BAD(&c, "sqlite_synchronous", "extra");
    SET_OK(&c, "price_file", "/etc/prices.json");
    ck_assert_str_eq(c.price_file, "/etc/prices.json");
    SET_OK(&c, "price_file", "");
    ck_assert_str_eq(c.price_file, "");
    SET_BAD(&c, "db_path", "");
    SET_OK(&c, "db_path", "/var/lib/ts/x.db");
    ck_assert_str_eq(c.db_path, "/var/lib/ts/x.db");
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    SET_BAD(&c, "db_path", big);
    big[TS_PATH_MAX] = '\0';
    SET_BAD(&c, "db_path", big);
    big[TS_PATH_MAX - 1] = '\0'; /* exactly fits with its NUL */
    SET_OK(&c, "db_path", big);
    ck_assert_uint_eq(strlen(c.db_path), TS_PATH_MAX - 1);
    SET_OK(&c, "listen", "0.0.0.0:0");
    SET_OK(&c, "listen", "[::1]:9000");
    SET_BAD(&c, "listen", "localhost");
    SET_BAD(&c, "listen", "::1:9000");
    ck_assert_str_eq(c.listen, "[::1]:9000");
}
END_TEST

START_TEST(listen_split)
{
    char host[64];
    int port = -1;

    ck_assert_int_eq(ts_config_listen_split("127.0.0.1:8080", host, sizeof host, &port), TS_OK);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 8080);
    ck_assert_int_eq(ts_config_listen_split("[::1]:443", host, sizeof host, &port), TS_OK);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 443);
    ck_assert_int_eq(ts_config_listen_split("[fe80::1%eth0]:1", host, sizeof host, &port), TS_OK);
    ck_assert_str_eq(host, "fe80::1%eth0");
    ck_assert_int_eq(ts_config_listen_split("localhost:0", host, sizeof host, &port), TS_OK);
    ck_assert_str_eq(host, "localhost");
    ck_assert_int_eq(port, 0);
    ck_assert_int_eq(ts_config_listen_split("h:65535", host, sizeof host, &port), TS_OK);
    ck_assert_int_eq(port, 65535);
    ck_assert_int_eq(ts_config_listen_split("h:00080", host, sizeof host, &port), TS_OK);
    ck_assert_int_eq(port, 80);
    ck_assert_int_eq(ts_config_listen_split("h:65536", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("h:99999999999", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("h:-1", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("h:", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("h", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split(":80", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("h:80x", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("h: 80", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("::1:80", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("[::1]", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("[::1]80", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("[]:80", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("[::1:80", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("h]:80", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split("", host, sizeof host, &port), TS_EINVAL);
    ck_assert_int_eq(ts_config_listen_split(NULL, host, sizeof host, &port), TS_EINVAL);
    /* host must fit in cap with its NUL */
    ck_assert_int_eq(ts_config_listen_split("abcd:1", host, 5, &port), TS_OK);
    ck_assert_int_eq(ts_config_listen_split("abcde:1", host, 5, &port), TS_EINVAL);
}
END_TEST

START_TEST(load_file_syntax)
{
    ts_config c;
    ts_err e;
    const char *path = write_tmp("# whole-line comment\n"
                                 "\n"
                                 "   \t\n"
                                 "  # indented comment\n"
                                 "http_threads = 4\n"
                                 "max_connections=12  # trailing comment\n"
                                 "db_path = \"/tmp/a # not a comment.db\"  # but this is\n"
                                 "price_file = prices#1.json\n"
                                 "listen = \"[::1]:9000\"\n"
                                 "log_level   =   debug   \n"
                                 "sqlite_synchronous = normal\r\n"
                                 "max_body_bytes = 16m\n"
                                 "max_page_size = 10\n"
                                 "max_page_size = 20\n"
                                 "rate_limit_per_key = 5");

    ts_config_defaults(&c);
    ts_err_clear(&e);
    ck_assert_int_eq(ts_config_load_file(&c, path, &e), TS_OK);
    unlink(path);
    ck_assert_int_eq(c.http_threads, 4);
    ck_assert_int_eq(c.max_connections, 12);
    ck_assert_str_eq(c.db_path, "/tmp/a # not a comment.db");
    ck_assert_str_eq(c.price_file, "prices#1.json");
    ck_assert_str_eq(c.listen, "[::1]:9000");
    ck_assert_str_eq(c.log_level, "debug");
    ck_assert_str_eq(c.sqlite_synchronous, "normal");
    ck_assert_int_eq(c.max_body_bytes, 16 * 1048576);
    ck_assert_int_eq(c.max_page_size, 20);     /* the last one wins */
    ck_assert_int_eq(c.rate_limit_per_key, 5); /* last line without newline */
    ck_assert_int_eq(c.max_json_depth, 64);    /* untouched keys keep defaults */
}
END_TEST

START_TEST(load_file_empty_values)
{
    ts_config c;
    const char *path = write_tmp("price_file = \"\"\n");

    ts_config_defaults(&c);
    ck_assert_int_eq(set(&c, "price_file", "x"), TS_OK);
    ck_assert_int_eq(ts_config_load_file(&c, path, NULL), TS_OK);
    unlink(path);
    ck_assert_str_eq(c.price_file, "");
    path = write_tmp("price_file =\nlog_level = warn\n");
    ck_assert_int_eq(ts_config_load_file(&c, path, NULL), TS_OK);
    unlink(path);
    ck_assert_str_eq(c.price_file, "");
    ck_assert_str_eq(c.log_level, "warn");
}
END_TEST

/* Loads text and expects rc and the exact "file:line: ..." message. */
static void expect_file_error(const char *text, int rc, int line, const char *msg)
{
    ts_config c, before;
    ts_err e;
    char want[512];
    const char *path = write_tmp(text);

    ts_config_defaults(&c);
    before = c;
    ts_err_clear(&e);
    ck_assert_int_eq(ts_config_load_file(&c, path, &e), rc);
    snprintf(want, sizeof want, "%s:%d: %s", path, line, msg);
    unlink(path);
    ck_assert_str_eq(e.msg, want);
    ck_assert_int_eq(e.code, rc);
    ck_assert_msg(same_config(&c, &before), "config changed by a failed load");
}

START_TEST(load_file_errors_name_file_and_line)
{
    expect_file_error("# c\n\nbogus = 1\n", TS_EINVAL, 3, "unknown key 'bogus'");
    expect_file_error("http_threads = 4\nmax_json_depth = 2\n", TS_EINVAL, 2,
                      "max_json_depth: 2 is out of range 4..1000");
    expect_file_error("http_threads = 4\nhttp_threads = four\n", TS_EINVAL, 2,
                      "http_threads: 'four' is not an integer");
    expect_file_error("just words\n", TS_EINVAL, 1, "expected 'key = value'");
    expect_file_error("= 5\n", TS_EINVAL, 1, "expected 'key = value'");
    expect_file_error("db_path = \"open\n", TS_EINVAL, 1,
                      "db_path: unterminated quote or junk after value");
    expect_file_error("db_path = \"a\" b\n", TS_EINVAL, 1,
                      "db_path: unterminated quote or junk after value");
    expect_file_error("log_level = loud\n", TS_EINVAL, 1,
                      "log_level: 'loud' is not debug, info, warn or error");
    /* a trailing '#' only starts a comment after whitespace */
    expect_file_error("http_threads = 4# four\n", TS_EINVAL, 1,
                      "http_threads: '4# four' is not an integer");
    expect_file_error("http_threads = # none\n", TS_EINVAL, 1,
                      "http_threads: '' is not an integer");
}
END_TEST

START_TEST(load_file_long_line)
{
    size_t n = TS_PATH_MAX + 2000;
    char *text = malloc(n + 32);
    ts_config c, before;
    ts_err e;
    const char *path;

    memcpy(text, "db_path = ", 10);
    memset(text + 10, 'x', n);
    memcpy(text + 10 + n, "\n", 2);
    path = write_tmp(text);
    free(text);
    ts_config_defaults(&c);
    before = c;
    ts_err_clear(&e);
    ck_assert_int_eq(ts_config_load_file(&c, path, &e), TS_EINVAL);
    unlink(path);
    ck_assert_ptr_nonnull(strstr(e.msg, ":1: line longer than"));
    ck_assert(same_config(&c, &before));
}
END_TEST

START_TEST(load_file_longest_path_fits)
{
    char *text = malloc(TS_PATH_MAX + 32);
    ts_config c;
    const char *path;

    memcpy(text, "db_path = ", 10);
    memset(text + 10, 'y', TS_PATH_MAX - 1);
    memcpy(text + 10 + TS_PATH_MAX - 1, "", 1); /* no newline at EOF */
    path = write_tmp(text);
    free(text);
    ts_config_defaults(&c);
    ck_assert_int_eq(ts_config_load_file(&c, path, NULL), TS_OK);
    unlink(path);
    ck_assert_uint_eq(strlen(c.db_path), TS_PATH_MAX - 1);
}
END_TEST

START_TEST(load_file_missing)
{
    ts_config c;
    ts_err e;

    ts_config_defaults(&c);
    ts_err_clear(&e);
    ck_assert_int_eq(ts_config_load_file(&c, "/nonexistent/dir/ts.conf", &e), TS_ENOTFOUND);
    ck_assert_int_eq(e.code, TS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/dir/ts.conf"));
    ck_assert_int_eq(ts_config_load_file(&c, "/nonexistent/dir/ts.conf", NULL), TS_ENOTFOUND);
}
END_TEST

START_TEST(dump_round_trips_through_load)
{
    ts_config c, d;
    char *text;
    const char *path;

    ts_config_defaults(&c);
    SET_OK(&c, "db_path", "/tmp/with space # and hash.db");
    SET_OK(&c, "http_threads", "7");
    SET_OK(&c, "price_file", "");
    SET_OK(&c, "listen", "[::]:0");
    text = dump(&c);
    ck_assert_ptr_nonnull(strstr(text, "\nhttp_threads = 7  # "));
    ck_assert_ptr_nonnull(strstr(text, "listen = \"[::]:0\"  # "));
    path = write_tmp(text);
    free(text);
    ts_config_defaults(&d);
    ck_assert_int_eq(ts_config_load_file(&d, path, NULL), TS_OK);
    unlink(path);
    ck_assert(same_config(&c, &d));
    ck_assert_str_eq(d.db_path, "/tmp/with space # and hash.db");
}
END_TEST

static void clear_env(void)
{
    unsetenv("TRACESTORE_DB");
    unsetenv("TRACESTORE_DB_PATH");
    unsetenv("TRACESTORE_LISTEN");
    unsetenv("TRACESTORE_HTTP_THREADS");
    unsetenv("TRACESTORE_MAX_BODY_BYTES");
    unsetenv("TRACESTORE_LOG_LEVEL");
    unsetenv("TRACESTORE_PRICE_FILE");
    unsetenv("TRACESTORE_MAX_ATTRIBUTES_PER_SPAN");
}

START_TEST(env_overrides_file)
{
    ts_config c;
    ts_err e;
    const char *path = write_tmp("http_threads = 4\nmax_body_bytes = 2m\nlog_level = debug\n");

    clear_env();
    ts_config_defaults(&c);
    ck_assert_int_eq(ts_config_load_file(&c, path, NULL), TS_OK);
    unlink(path);
    setenv("TRACESTORE_HTTP_THREADS", "9", 1);
    setenv("TRACESTORE_MAX_ATTRIBUTES_PER_SPAN", "1k", 1);
    setenv("TRACESTORE_PRICE_FILE", "", 1);
    ts_err_clear(&e);
    ck_assert_int_eq(ts_config_load_env(&c, &e), TS_OK);
    clear_env();
    ck_assert_int_eq(c.http_threads, 9);             /* env wins over file */
    ck_assert_int_eq(c.max_body_bytes, 2 * 1048576); /* file wins over default */
    ck_assert_str_eq(c.log_level, "debug");
    ck_assert_int_eq(c.max_attributes_per_span, 1024);
    ck_assert_str_eq(c.price_file, "");
}
END_TEST

START_TEST(env_short_names_win)
{
    ts_config c;

    clear_env();
    ts_config_defaults(&c);
    setenv("TRACESTORE_DB_PATH", "/long.db", 1);
    ck_assert_int_eq(ts_config_load_env(&c, NULL), TS_OK);
    ck_assert_str_eq(c.db_path, "/long.db");
    setenv("TRACESTORE_DB", "/short.db", 1);
    setenv("TRACESTORE_LISTEN", "0.0.0.0:1234", 1);
    ck_assert_int_eq(ts_config_load_env(&c, NULL), TS_OK);
    clear_env();
    ck_assert_str_eq(c.db_path, "/short.db");
    ck_assert_str_eq(c.listen, "0.0.0.0:1234");
}
END_TEST

START_TEST(env_errors_name_the_variable)
{
    ts_config c, before;
    ts_err e;

    clear_env();
    ts_config_defaults(&c);
    before = c;
    setenv("TRACESTORE_HTTP_THREADS", "2", 1);
    setenv("TRACESTORE_MAX_BODY_BYTES", "1", 1);
    ts_err_clear(&e);
    ck_assert_int_eq(ts_config_load_env(&c, &e), TS_EINVAL);
    ck_assert_str_eq(e.msg,
                     "environment TRACESTORE_MAX_BODY_BYTES: max_body_bytes: 1 is out of range "
                     "1024..1073741824");
    ck_assert(same_config(&c, &before)); /* all or nothing */
    clear_env();
    setenv("TRACESTORE_DB", "", 1);
    ck_assert_int_eq(ts_config_load_env(&c, &e), TS_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "TRACESTORE_DB: db_path"));
    clear_env();
    ck_assert_int_eq(ts_config_load_env(&c, NULL), TS_OK);
    ck_assert(same_config(&c, &before));
}
END_TEST

START_TEST(store_backend_names)
{
    ts_config c;

    ts_config_defaults(&c);
    ck_assert_str_eq(c.store, "sqlite");
    ck_assert_str_eq(c.postgres_url, "");
    SET_OK(&c, "store", "PostgreSQL");
    ck_assert_str_eq(c.store, "postgres");
    SET_OK(&c, "store", "SQLite");
    ck_assert_str_eq(c.store, "sqlite");
    SET_BAD(&c, "store", "mysql");
    SET_BAD(&c, "store", "");
    ck_assert_str_eq(c.store, "sqlite");
}
END_TEST

/* --check-config never shows a PostgreSQL password, in either libpq form. */
START_TEST(postgres_url_password_masked)
{
    static const char *const cases[][2] = {
        {"postgresql://ts:s3cret@db:5432/ts", "postgresql://ts:***@db:5432/ts"},
        {"postgres://ts@db/ts?password=s3cret&sslmode=require",
         "postgres://ts@db/ts?password=***&sslmode=require"},
        {"host=db password=s3cret user=ts", "host=db password=*** user=ts"},
        {"host=db password='s3 \\'cret' user=ts", "host=db password=*** user=ts"},
        {"password=s3cret", "password=***"},
        {"host=/tmp dbname=ts", "host=/tmp dbname=ts"},
        {"postgresql:///ts?host=/tmp", "postgresql:///ts?host=/tmp"},
    };
    char out[256];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ts_config_mask_url(cases[i][0], out, sizeof out);
        ck_assert_str_eq(out, cases[i][1]);
        ck_assert_ptr_null(strstr(out, "s3"));
    }
}
END_TEST

/* ---- the shipped config/tracestore.conf --------------------------------- */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void shipped_path(char *buf, size_t cap)
{
    const char *dir = getenv("TS_SOURCE_DIR");

#ifdef TS_SOURCE_DIR
    if (!dir)
        dir = TS_SOURCE_DIR;
#endif
    ck_assert_msg(dir != NULL, "TS_SOURCE_DIR is not set");
    snprintf(buf, cap, "%s/config/tracestore.conf", dir);
}

/* True when keys (a ts_config_dump) has a line for the n-byte key at name. */
static int known_key(const char *keys, const char *name, size_t n)
{
    char pat[80];

    if (n + 5 > sizeof pat)
        return 0;
    pat[0] = '\n';
    memcpy(pat + 1, name, n);
    memcpy(pat + 1 + n, " = ", 4);
    return strncmp(keys, pat + 1, n + 3) == 0 || strstr(keys, pat) != NULL;
}

/* If line is `key = ...` or `# key = ...` for a known key, returns where
 * the key starts (so the caller can uncomment the line); else NULL. */
static const char *setting_on_line(const char *line, const char *keys)
{
    const char *p = line, *k;
    size_t n = 0;

    if (*p == '#')
        p++;
    while (*p == ' ' || *p == '\t')
        p++;
    while ((p[n] >= 'a' && p[n] <= 'z') || p[n] == '_')
        n++;
    k = p + n;
    while (*k == ' ' || *k == '\t')
        k++;
    return n > 0 && *k == '=' && known_key(keys, p, n) ? p : NULL;
}

START_TEST(shipped_conf_documents_every_key_at_default)
{
    char path[TS_PATH_MAX];
    ts_config defaults, c;
    char *keys, *text, *line, *next, *out, *o;
    const char *p;
    int nset = 0, nkeys = 0;

    ts_config_defaults(&defaults);
    keys = dump(&defaults);
    shipped_path(path, sizeof path);
    text = read_all(path);

    /* 1. as shipped, it loads cleanly and changes nothing */
    c = defaults;
    ck_assert_int_eq(ts_config_load_file(&c, path, NULL), TS_OK);
    ck_assert(same_config(&c, &defaults));

    /* 2. uncomment every `# key = value` line: still exactly the defaults */
    out = o = malloc(strlen(text) + 1);
    for (line = text; *line; line = next) {
        const char *start = setting_on_line(line, keys);
        size_t len;

        next = strchr(line, '\n');
        next = next ? next + 1 : line + strlen(line);
        len = (size_t)(next - line);
        if (start) {
            len = (size_t)(next - start);
            memcpy(o, start, len);
            nset++;
        } else {
            memcpy(o, line, len);
        }
        o += len;
    }
    *o = '\0';
    p = write_tmp(out);
    c = defaults;
    ck_assert_int_eq(ts_config_load_file(&c, p, NULL), TS_OK);
    unlink(p);
    ck_assert_msg(same_config(&c, &defaults), "a value in %s differs from its default", path);

    /* 3. every key of the table is there */
    for (line = keys; *line; line = strchr(line, '\n') + 1) {
        char key[64], pat1[80], pat2[80];
        size_t n = strcspn(line, " ");

        ck_assert_uint_lt(n, sizeof key);
        memcpy(key, line, n);
        key[n] = '\0';
        snprintf(pat1, sizeof pat1, "\n# %s = ", key);
        snprintf(pat2, sizeof pat2, "\n%s = ", key);
        ck_assert_msg(strstr(text, pat1) || strstr(text, pat2), "%s does not document '%s'", path,
                      key);
        nkeys++;
    }
    ck_assert_int_eq(nset, nkeys); /* and each exactly once */
    free(out);
    free(text);
    free(keys);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, defaults_match_documentation);
    tcase_add_test(tc, int_suffixes);
    tcase_add_test(tc, operations_keys);
    tcase_add_test(tc, int_ranges);
    tcase_add_test(tc, int_syntax);
    tcase_add_test(tc, error_messages_name_the_key);
    tcase_add_test(tc, string_keys);
    tcase_add_test(tc, listen_split);
    tcase_add_test(tc, load_file_syntax);
    tcase_add_test(tc, load_file_empty_values);
    tcase_add_test(tc, load_file_errors_name_file_and_line);
    tcase_add_test(tc, load_file_long_line);
    tcase_add_test(tc, load_file_longest_path_fits);
    tcase_add_test(tc, load_file_missing);
    tcase_add_test(tc, dump_round_trips_through_load);
    tcase_add_test(tc, env_overrides_file);
    tcase_add_test(tc, env_short_names_win);
    tcase_add_test(tc, env_errors_name_the_variable);
    tcase_add_test(tc, shipped_conf_documents_every_key_at_default);
    tcase_add_test(tc, store_backend_names);
    tcase_add_test(tc, postgres_url_password_masked);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
