/* timeutil.c: exact conversions between int64 Unix nanoseconds and text
 * (decimal ns, ISO 8601 / RFC 3339). Calendar math uses days-from-civil on
 * the proleptic Gregorian calendar, never timegm or a double, so results do
 * not depend on the process time zone and cover dates before 1970. */
#include "tracestore/timeutil.h"

#include <stdint.h>
#include <time.h>

#include "tracestore/err.h"

#define NS_PER_SEC INT64_C(1000000000)

int64_t ts_now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * NS_PER_SEC + (int64_t)ts.tv_nsec;
}

int ts_time_parse_ns(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;
    size_t i = 0;

    if (!s || !out)
        return TS_EINVAL;
    if (len > 0 && s[0] == '+')
        i = 1;
    if (i == len)
        return TS_EINVAL;
    for (; i < len; i++) {
        int d;

        if (s[i] < '0' || s[i] > '9')
            return TS_EINVAL;
        d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return TS_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return TS_OK;
}

/* Days since 1970-01-01 of y-m-d (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n digits at *p into *out and advances; 0 if not digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        char ch = (*p)[i];

        if (ch < '0' || ch > '9')
            return 0;
        v = v * 10 + (ch - '0');
    }
    *p += n;
    *out = v;
    return 1;
}

typedef struct iso_parts {
    int year, mon, day, hour, min, sec;
    int64_t frac_ns;
    int offset_s; /* local minus UTC */
} iso_parts;

/* '.' then 1..any digits; the first 9 are kept, the rest truncated. */
static int parse_frac(const char **p, int64_t *frac_ns)
{
    const char *s = *p + 1;
    int64_t v = 0;
    int n = 0;

    while (*s >= '0' && *s <= '9') {
        if (n < 9)
            v = v * 10 + (*s - '0');
        n++;
        s++;
    }
    if (n == 0)
        return 0;
    for (; n < 9; n++)
        v *= 10;
    *frac_ns = v;
    *p = s;
    return 1;
}

/* HH:MM[:SS[.frac]] */
static int parse_clock(const char **p, iso_parts *t)
{
    if (!digits(p, 2, &t->hour) || **p != ':')
        return 0;
    (*p)++;
    if (!digits(p, 2, &t->min))
        return 0;
    if (**p != ':')
        return 1;
    (*p)++;
    if (!digits(p, 2, &t->sec))
        return 0;
    if (**p == '.')
        return parse_frac(p, &t->frac_ns);
    return 1;
}

/* Z, z, +HH, +HH:MM, +HHMM (and '-'), or nothing; must end the string. */
static int parse_zone(const char *p, iso_parts *t)
{
    int sign, hh, mm = 0;

    if (*p == '\0')
        return 1;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 1;
    if (*p != '+' && *p != '-')
        return 0;
    sign = *p == '-' ? -1 : 1;
    p++;
    if (!digits(&p, 2, &hh))
        return 0;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &mm))
            return 0;
    } else if (*p != '\0' && !digits(&p, 2, &mm)) {
        return 0;
    }
    if (*p != '\0' || hh > 23 || mm > 59)
        return 0;
    t->offset_s = sign * (hh * 3600 + mm * 60);
    return 1;
}

static int parse_parts(const char *s, iso_parts *t)
{
    const char *p = s;

    if (!digits(&p, 4, &t->year) || *p++ != '-' || !digits(&p, 2, &t->mon) || *p++ != '-' ||
        !digits(&p, 2, &t->day))
        return 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!parse_clock(&p, t))
            return 0;
    }
    return parse_zone(p, t);
}

static int valid_parts(const iso_parts *t)
{
    if (t->year < 1 || t->mon < 1 || t->mon > 12 || t->day < 1)
        return 0;
    if (t->day > days_in_month(t->year, t->mon))
        return 0;
    /* sec 60 is a leap second; it reads as the first second of the next minute */
    return t->hour < 24 && t->min < 60 && t->sec <= 60;
}

int ts_time_parse_iso(const char *s, int64_t *out_ns)
{
    iso_parts t = {0};
    int64_t secs, frac, ns;

    if (!s || !out_ns || !parse_parts(s, &t) || !valid_parts(&t))
        return TS_EINVAL;
    /* years 1..9999 keep secs near +-2.6e11, far from int64 limits */
    secs = days_from_civil(t.year, t.mon, t.day) * 86400 + t.hour * 3600 + t.min * 60 + t.sec -
           t.offset_s;
    /* ...but ns only spans 1677-09-21..2262-04-11. Before 1970, borrow the
     * fraction from the next second so secs * 1e9 cannot overflow on the
     * way to a representable result (INT64_MIN has a nonzero fraction). */
    frac = t.frac_ns;
    if (secs < 0 && frac > 0) {
        secs += 1;
        frac -= NS_PER_SEC;
    }
    if (__builtin_mul_overflow(secs, NS_PER_SEC, &ns) || __builtin_add_overflow(ns, frac, &ns))
        return TS_EINVAL;
    *out_ns = ns;
    return TS_OK;
}

/* v as exactly n decimal digits, zero-padded, at p; returns p + n. */
static char *put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* ".mmm", ".uuuuuu" or ".nnnnnnnnn" (the shortest exact one), or nothing. */
static char *put_fraction(char *p, int64_t frac)
{
    int digits = 9;
    if (frac == 0)
        return p;
    if (frac % 1000000 == 0) {
        frac /= 1000000;
        digits = 3;
    } else if (frac % 1000 == 0) {
        frac /= 1000;
        digits = 6;
    }
    *p++ = '.';
    return put_digits(p, frac, digits);
}

/* Without printf: a trace answer formats three times per span (measured
 * with callgrind, snprintf here was a fifth of a 100-span GET). int64 ns
 * span the years 1677-2262, so the year always has four digits. */
char *ts_time_format_iso(int64_t ns, char buf[TS_ISO_BUFSZ])
{
    int64_t secs = ns / NS_PER_SEC, frac = ns % NS_PER_SEC, days, sod, y;
    int m, d;
    char *p = buf;

    if (frac < 0) { /* floor division: -1 ns is 1969-12-31T23:59:59.999999999Z */
        frac += NS_PER_SEC;
        secs -= 1;
    }
    days = secs / 86400;
    sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    civil_from_days(days, &y, &m, &d);
    p = put_digits(p, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sod % 60, 2);
    p = put_fraction(p, frac);
    *p++ = 'Z';
    *p = '\0';
    return buf;
}

int64_t ts_time_diff_ms(int64_t start_ns, int64_t end_ns)
{
    int64_t d;

    if (!__builtin_sub_overflow(end_ns, start_ns, &d))
        return d / 1000000;
    /* Overflow means opposite signs, so the whole-ms and remainder parts of
     * the difference have the difference's sign and neither overflows. */
    return end_ns / 1000000 - start_ns / 1000000 +
           (end_ns % 1000000 - start_ns % 1000000) / 1000000;
}
