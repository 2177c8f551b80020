/* test_timeutil.c: unit tests for src/core/timeutil.c: exact decimal ns,
 * ISO 8601 parsing (offsets, fractions, leap years, ranges) and RFC 3339
 * formatting, including times before 1970 and the int64 limits. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tracestore/err.h"
#include "tracestore/timeutil.h"

#define S INT64_C(1000000000)

static int64_t ns_of(const char *s)
{
    int64_t v = 0;

    ck_assert_msg(ts_time_parse_ns(s, strlen(s), &v) == TS_OK, "rejected %s", s);
    return v;
}

static int ns_bad(const char *s)
{
    int64_t v = 77;

    return ts_time_parse_ns(s, strlen(s), &v) == TS_EINVAL && v == 77;
}

static int64_t iso(const char *s)
{
    int64_t v = 0;
    int rc = ts_time_parse_iso(s, &v);

    ck_assert_msg(rc == TS_OK, "rejected %s", s);
    return v;
}

static int iso_bad(const char *s)
{
    int64_t v = 77;

    return ts_time_parse_iso(s, &v) == TS_EINVAL && v == 77;
}

static const char *fmt(int64_t ns)
{
    static char buf[TS_ISO_BUFSZ];

    return ts_time_format_iso(ns, buf);
}

START_TEST(now_is_plausible)
{
    int64_t a = ts_now_ns(), b = ts_now_ns();

    ck_assert_int_gt(a, INT64_C(1700000000) * S);
    ck_assert_int_ge(b, a);
    ck_assert_int_lt(llabs((long long)(a / S - (int64_t)time(NULL))), 5);
}
END_TEST

START_TEST(parse_ns_valid)
{
    ck_assert_int_eq(ns_of("0"), 0);
    ck_assert_int_eq(ns_of("+5"), 5);
    ck_assert_int_eq(ns_of("000123"), 123);
    ck_assert_int_eq(ns_of("1700000000123456789"), INT64_C(1700000000123456789));
    ck_assert_int_eq(ns_of("9223372036854775807"), INT64_MAX);
}
END_TEST

START_TEST(parse_ns_invalid)
{
    ck_assert(ns_bad(""));
    ck_assert(ns_bad("+"));
    ck_assert(ns_bad("-1"));
    ck_assert(ns_bad("-0"));
    ck_assert(ns_bad("++1"));
    ck_assert(ns_bad("1e18"));
    ck_assert(ns_bad(" 1"));
    ck_assert(ns_bad("1 "));
    ck_assert(ns_bad("1.0"));
    ck_assert(ns_bad("0x10"));
    ck_assert(ns_bad("9223372036854775808"));
    ck_assert(ns_bad("9223372036854775810"));
    ck_assert(ns_bad("18446744073709551616"));
    ck_assert(ns_bad("99999999999999999999999"));
    ck_assert_int_eq(ts_time_parse_ns(NULL, 0, NULL), TS_EINVAL);
}
END_TEST

START_TEST(parse_ns_respects_len)
{
    int64_t v = 0;
    char raw[3] = {'4', '2', '7'}; /* no terminator */

    ck_assert_int_eq(ts_time_parse_ns("123abc", 3, &v), TS_OK);
    ck_assert_int_eq(v, 123);
    ck_assert_int_eq(ts_time_parse_ns(raw, 2, &v), TS_OK);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(ts_time_parse_ns("123", 0, &v), TS_EINVAL);
}
END_TEST

START_TEST(iso_basic_forms)
{
    ck_assert_int_eq(iso("2024-01-15T10:30:00Z"), INT64_C(1705314600) * S);
    ck_assert_int_eq(iso("2024-01-15t10:30:00z"), INT64_C(1705314600) * S);
    ck_assert_int_eq(iso("2024-01-15 10:30:00Z"), INT64_C(1705314600) * S);
    ck_assert_int_eq(iso("2024-01-15T10:30:00"), INT64_C(1705314600) * S);
    ck_assert_int_eq(iso("2024-01-15T10:30Z"), INT64_C(1705314600) * S);
    ck_assert_int_eq(iso("2024-01-15T10:30"), INT64_C(1705314600) * S);
    ck_assert_int_eq(iso("2024-01-15"), INT64_C(1705276800) * S);
    ck_assert_int_eq(iso("2024-01-15Z"), INT64_C(1705276800) * S);
    ck_assert_int_eq(iso("1970-01-01T00:00:00Z"), 0);
}
END_TEST

START_TEST(iso_offsets)
{
    int64_t base = INT64_C(1705314600) * S;

    ck_assert_int_eq(iso("2024-01-15T10:30:00+05:30"), base - 19800 * S);
    ck_assert_int_eq(iso("2024-01-15T10:30:00+0530"), base - 19800 * S);
    ck_assert_int_eq(iso("2024-01-15T10:30:00+05"), base - 18000 * S);
    ck_assert_int_eq(iso("2024-01-15T10:30:00-08:00"), base + 28800 * S);
    ck_assert_int_eq(iso("2024-01-15T10:30:00-0800"), base + 28800 * S);
    ck_assert_int_eq(iso("2024-01-15T10:30:00+00:00"), base);
    ck_assert_int_eq(iso("2024-01-15T10:30:00-00:00"), base);
    ck_assert_int_eq(iso("2024-01-15T10:30:00.5+01:00"), base - 3600 * S + S / 2);
    /* an offset can cross the date line */
    ck_assert_int_eq(iso("2024-01-01T01:00:00+02:00"), iso("2023-12-31T23:00:00Z"));
    ck_assert_int_eq(iso("2023-12-31T23:00:00-01:30"), iso("2024-01-01T00:30:00Z"));
    ck_assert_int_eq(iso("2024-01-15T10:30:00+23:59"), base - (23 * 3600 + 59 * 60) * S);
}
END_TEST

START_TEST(iso_fractions)
{
    int64_t base = INT64_C(1705314600) * S;

    ck_assert_int_eq(iso("2024-01-15T10:30:00.1Z"), base + 100000000);
    ck_assert_int_eq(iso("2024-01-15T10:30:00.12Z"), base + 120000000);
    ck_assert_int_eq(iso("2024-01-15T10:30:00.123Z"), base + 123000000);
    ck_assert_int_eq(iso("2024-01-15T10:30:00.123456Z"), base + 123456000);
    ck_assert_int_eq(iso("2024-01-15T10:30:00.123456789Z"), base + 123456789);
    ck_assert_int_eq(iso("2024-01-15T10:30:00.000000001Z"), base + 1);
    /* beyond 9 digits: truncated, never rounded */
    ck_assert_int_eq(iso("2024-01-15T10:30:00.1234567899Z"), base + 123456789);
    ck_assert_int_eq(iso("2024-01-15T10:30:00.99999999999999999999Z"), base + 999999999);
    ck_assert_int_eq(iso("2024-01-15T10:30:00.000000000000Z"), base);
    ck_assert_int_eq(iso("2024-01-15T10:30:00.5"), base + 500000000);
}
END_TEST

START_TEST(iso_leap_years)
{
    ck_assert_int_eq(iso("2024-02-29"), INT64_C(1709164800) * S);
    ck_assert_int_eq(iso("2000-02-29"), INT64_C(951782400) * S);
    ck_assert_int_eq(iso("2024-03-01") - iso("2024-02-28"), 2 * 86400 * S);
    ck_assert_int_eq(iso("2023-03-01") - iso("2023-02-28"), 86400 * S);
    ck_assert_int_eq(iso("2000-03-01") - iso("2000-02-28"), 2 * 86400 * S);
    ck_assert(iso_bad("2023-02-29"));
    ck_assert(iso_bad("1900-02-29")); /* divisible by 100, not 400 */
    ck_assert(iso_bad("2100-02-29"));
    ck_assert(iso_bad("2024-02-30"));
}
END_TEST

START_TEST(iso_matches_timegm)
{
    /* cross-check days-from-civil against libc across 1902..2037 */
    int y, m;

    for (y = 1902; y <= 2037; y += 7) {
        for (m = 1; m <= 12; m++) {
            struct tm tm = {0};
            char buf[48];

            tm.tm_year = y - 1900;
            tm.tm_mon = m - 1;
            tm.tm_mday = 28;
            tm.tm_hour = 13;
            tm.tm_min = 14;
            tm.tm_sec = 15;
            snprintf(buf, sizeof buf, "%04d-%02d-28T13:14:15Z", y, m);
            ck_assert_int_eq(iso(buf), (int64_t)timegm(&tm) * S);
        }
    }
}
END_TEST

START_TEST(iso_range_checks)
{
    ck_assert(iso_bad("2024-00-10"));
    ck_assert(iso_bad("2024-13-10"));
    ck_assert(iso_bad("2024-01-00"));
    ck_assert(iso_bad("2024-01-32"));
    ck_assert(iso_bad("2024-04-31"));
    ck_assert(iso_bad("2024-06-31"));
    ck_assert(iso_bad("2024-09-31"));
    ck_assert(iso_bad("2024-11-31"));
    ck_assert_int_eq(iso("2024-12-31T23:59:59Z"), iso("2025-01-01") - S);
    ck_assert(iso_bad("2024-01-15T24:00:00Z"));
    ck_assert(iso_bad("2024-01-15T10:60:00Z"));
    ck_assert(iso_bad("2024-01-15T10:30:61Z"));
    /* leap second 60 reads as the next minute's first second */
    ck_assert_int_eq(iso("2016-12-31T23:59:60Z"), iso("2017-01-01T00:00:00Z"));
    ck_assert(iso_bad("2024-01-15T10:30:00+24:00"));
    ck_assert(iso_bad("2024-01-15T10:30:00+05:60"));
    ck_assert(iso_bad("0000-01-01"));
    /* valid calendar dates outside int64 nanoseconds (1677..2262) */
    ck_assert(iso_bad("0001-01-01"));
    ck_assert(iso_bad("9999-12-31T23:59:59Z"));
    ck_assert(iso_bad("1677-09-21T00:12:43.145224191Z"));
    ck_assert(iso_bad("2262-04-11T23:47:16.854775808Z"));
    ck_assert_int_eq(iso("1677-09-21T00:12:43.145224192Z"), INT64_MIN);
    ck_assert_int_eq(iso("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
}
END_TEST

START_TEST(iso_malformed)
{
    const char *bad[] = {
        "",
        "2024",
        "2024-01",
        "24-01-15",
        "2024-1-15",
        "2024-01-5",
        "2024/01/15",
        "20240115",
        "2024-01-15T",
        "2024-01-15T10",
        "2024-01-15T10:3",
        "2024-01-15T1:30:00",
        "2024-01-15T10:30:0",
        "2024-01-15T10:30:00.",
        "2024-01-15T10:30:00.Z",
        "2024-01-15T10:30.5",
        "2024-01-15T10:30:00,5Z",
        "2024-01-15T10:30:00ZZ",
        "2024-01-15T10:30:00Zx",
        "2024-01-15T10:30:00 ",
        " 2024-01-15",
        "2024-01-15 ",
        "2024-01-15x",
        "2024-01-15T10:30:00+",
        "2024-01-15T10:30:00+5",
        "2024-01-15T10:30:00+5:30",
        "2024-01-15T10:30:00+05:3",
        "2024-01-15T10:30:00+05:",
        "2024-01-15T10:30:00+053",
        "2024-01-15T10:30:00+05300",
        "2024-01-15T10:30:00+05:30:00",
        "2024-01-15T10:30:00 Z",
        "2024-01-15T10:30:00UTC",
        "-2024-01-15",
        "+2024-01-15",
        "12024-01-15",
        "2024-01-15T10:30:00.123456789123456789123456789x",
    };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(iso_bad(bad[i]), "accepted '%s'", bad[i]);
    ck_assert_int_eq(ts_time_parse_iso(NULL, NULL), TS_EINVAL);
}
END_TEST

START_TEST(format_basic)
{
    ck_assert_str_eq(fmt(0), "1970-01-01T00:00:00Z");
    ck_assert_str_eq(fmt(INT64_C(1705314600) * S), "2024-01-15T10:30:00Z");
    ck_assert_str_eq(fmt(INT64_C(1709164800) * S), "2024-02-29T00:00:00Z");
    ck_assert_str_eq(fmt(INT64_C(951868799) * S), "2000-02-29T23:59:59Z");
}
END_TEST

START_TEST(format_fraction_widths)
{
    int64_t b = INT64_C(1705314600) * S;

    ck_assert_str_eq(fmt(b + 500000000), "2024-01-15T10:30:00.500Z");
    ck_assert_str_eq(fmt(b + 1000000), "2024-01-15T10:30:00.001Z");
    ck_assert_str_eq(fmt(b + 123000000), "2024-01-15T10:30:00.123Z");
    ck_assert_str_eq(fmt(b + 123400000), "2024-01-15T10:30:00.123400Z");
    ck_assert_str_eq(fmt(b + 123456000), "2024-01-15T10:30:00.123456Z");
    ck_assert_str_eq(fmt(b + 1000), "2024-01-15T10:30:00.000001Z");
    ck_assert_str_eq(fmt(b + 123456780), "2024-01-15T10:30:00.123456780Z");
    ck_assert_str_eq(fmt(b + 1), "2024-01-15T10:30:00.000000001Z");
    ck_assert_str_eq(fmt(INT64_C(1700000000123456789)), "2023-11-14T22:13:20.123456789Z");
}
END_TEST

START_TEST(format_before_1970)
{
    ck_assert_str_eq(fmt(-1), "1969-12-31T23:59:59.999999999Z");
    ck_assert_str_eq(fmt(-1000000), "1969-12-31T23:59:59.999Z");
    ck_assert_str_eq(fmt(-S), "1969-12-31T23:59:59Z");
    ck_assert_str_eq(fmt(-S - 1), "1969-12-31T23:59:58.999999999Z");
    ck_assert_str_eq(fmt(-86400 * S), "1969-12-31T00:00:00Z");
    ck_assert_str_eq(fmt(-86400 * S - 1), "1969-12-30T23:59:59.999999999Z");
    ck_assert_str_eq(fmt(INT64_C(-14182940) * S), "1969-07-20T20:17:40Z");
    ck_assert_str_eq(fmt(INT64_C(-2208988800) * S), "1900-01-01T00:00:00Z");
    ck_assert_str_eq(fmt(INT64_MIN), "1677-09-21T00:12:43.145224192Z");
    ck_assert_str_eq(fmt(INT64_MAX), "2262-04-11T23:47:16.854775807Z");
}
END_TEST

START_TEST(round_trip_exact)
{
    int64_t samples[] = {0,
                         1,
                         -1,
                         999999999,
                         1000000000,
                         INT64_C(1700000000123456789),
                         INT64_C(1705314600123000000),
                         INT64_C(-1705314600123456000),
                         INT64_C(951782399999999999),
                         INT64_MAX,
                         INT64_MIN,
                         INT64_MIN + 1,
                         INT64_MAX - 1};
    size_t i;
    uint64_t x = 0x9e3779b97f4a7c15u;

    for (i = 0; i < sizeof samples / sizeof samples[0]; i++)
        ck_assert_int_eq(iso(fmt(samples[i])), samples[i]);
    for (i = 0; i < 20000; i++) { /* xorshift over the whole int64 range */
        int64_t v;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&v, &x, sizeof v);
        ck_assert_msg(iso(fmt(v)) == v, "round trip of %lld via %s", (long long)v, fmt(v));
    }
}
END_TEST

/* What the snprintf formatter printed, with gmtime_r for the calendar. */
static void ref_iso(int64_t ns, char *out, size_t cap)
{
    int64_t secs = ns / S, frac = ns % S;
    char f[16] = "";
    struct tm tm;
    time_t t;

    if (frac < 0) {
        frac += S;
        secs -= 1;
    }
    t = (time_t)secs;
    ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
    if (frac != 0 && frac % 1000000 == 0)
        snprintf(f, sizeof f, ".%03d", (int)(frac / 1000000));
    else if (frac != 0 && frac % 1000 == 0)
        snprintf(f, sizeof f, ".%06d", (int)(frac / 1000));
    else if (frac != 0)
        snprintf(f, sizeof f, ".%09d", (int)frac);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f);
}

START_TEST(format_matches_printf)
{
    static const int64_t edges[] = {0,    1,         -1,        999,
                                    1000, 1000000,   S - 1,     S,
                                    -S,   INT64_MAX, INT64_MIN, INT64_C(951782400000000000)};
    char want[64];
    uint64_t x = 0x2545f4914f6cdd1du;

    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        ref_iso(edges[i], want, sizeof want);
        ck_assert_str_eq(fmt(edges[i]), want);
    }
    for (int i = 0; i < 100000; i++) {
        int64_t v;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&v, &x, sizeof v);
        /* whole ms and us too, which print shorter fractions */
        v = i % 3 == 0 ? v : i % 3 == 1 ? v / 1000 * 1000 : v / 1000000 * 1000000;
        ref_iso(v, want, sizeof want);
        ck_assert_msg(strcmp(fmt(v), want) == 0, "%lld: %s, want %s", (long long)v, fmt(v), want);
    }
}
END_TEST

START_TEST(buffer_is_enough)
{
    char buf[TS_ISO_BUFSZ];

    memset(buf, 'x', sizeof buf);
    ck_assert_ptr_eq(ts_time_format_iso(INT64_MIN, buf), buf);
    ck_assert_uint_lt(strlen(buf), TS_ISO_BUFSZ);
}
END_TEST

/* Span latency from its times: exact even where end - start overflows
 * (a span from 1677 to 2262, which the ISO parsers accept). */
START_TEST(diff_ms_never_overflows)
{
    ck_assert(ts_time_diff_ms(0, 1999999) == 1);
    ck_assert(ts_time_diff_ms(1999999, 0) == -1);
    ck_assert(ts_time_diff_ms(INT64_MIN, INT64_MAX) == INT64_C(18446744073709));
    ck_assert(ts_time_diff_ms(INT64_MAX, INT64_MIN) == -INT64_C(18446744073709));
    ck_assert(ts_time_diff_ms(-1, INT64_MAX) == INT64_C(9223372036854));
    ck_assert(ts_time_diff_ms(INT64_MAX, -999999) == -INT64_C(9223372036855));
}
END_TEST

static Suite *timeutil_suite(void)
{
    Suite *s = suite_create("timeutil");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, now_is_plausible);
    tcase_add_test(tc, parse_ns_valid);
    tcase_add_test(tc, parse_ns_invalid);
    tcase_add_test(tc, parse_ns_respects_len);
    tcase_add_test(tc, iso_basic_forms);
    tcase_add_test(tc, iso_offsets);
    tcase_add_test(tc, iso_fractions);
    tcase_add_test(tc, iso_leap_years);
    tcase_add_test(tc, iso_matches_timegm);
    tcase_add_test(tc, iso_range_checks);
    tcase_add_test(tc, iso_malformed);
    tcase_add_test(tc, format_basic);
    tcase_add_test(tc, format_fraction_widths);
    tcase_add_test(tc, format_before_1970);
    tcase_add_test(tc, round_trip_exact);
    tcase_add_test(tc, format_matches_printf);
    tcase_add_test(tc, buffer_is_enough);
    tcase_add_test(tc, diff_ms_never_overflows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(timeutil_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
