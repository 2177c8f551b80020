/* log.c: the one logger. Each call becomes exactly one stderr line,
 * `ts=<RFC 3339 UTC, ms> level=<name> <message>`, assembled in a local
 * buffer and written under a mutex so concurrent lines never interleave. */
#include "tracestore/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tracestore/timeutil.h"

#define LOG_LINE_MAX 4096

int ts_log_level = TS_LOG_INFO;

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void ts_log_set_level(int level)
{
    if (level >= TS_LOG_DEBUG && level <= TS_LOG_ERROR)
        ts_log_level = level;
}

/* Case-insensitive; "warning" is accepted as a common spelling of "warn". */
int ts_log_parse_level(const char *s)
{
    int i;

    if (!s)
        return -1;
    for (i = TS_LOG_DEBUG; i <= TS_LOG_ERROR; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return TS_LOG_WARN;
    return -1;
}

/* Writes "ts=YYYY-MM-DDTHH:MM:SS.mmmZ level=NAME " into buf; returns length. */
static size_t format_prefix(char *buf, size_t cap, int level)
{
    int64_t now = ts_now_ns();
    time_t secs = (time_t)(now / 1000000000);
    int ms = (int)((now % 1000000000) / 1000000);
    struct tm tm;
    int n;

    if (ms < 0) { /* clock before 1970: floor, not truncate */
        ms += 1000;
        secs -= 1;
    }
    if (!gmtime_r(&secs, &tm))
        memset(&tm, 0, sizeof tm);
    n = snprintf(buf, cap, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms,
                 level_names[level]);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

void ts_log_write(int level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    size_t len, i;
    va_list ap;
    int n, force = level >= 0 && (level & TS_LOG_FORCE);

    if (force)
        level &= ~TS_LOG_FORCE;
    if (level < TS_LOG_DEBUG)
        level = TS_LOG_DEBUG;
    if (level > TS_LOG_ERROR)
        level = TS_LOG_ERROR;
    if ((!force && level < ts_log_level) || !fmt)
        return;
    len = format_prefix(line, sizeof line, level);
    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof line - len, fmt, ap);
    va_end(ap);
    if (n > 0)
        len += (size_t)n < sizeof line - len ? (size_t)n : sizeof line - len - 1;
    /* One call, one line: a newline inside the message would forge a record. */
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    for (i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len] = '\n';
    pthread_mutex_lock(&log_mu);
    fwrite(line, 1, len + 1, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_mu);
}
