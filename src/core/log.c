/* log.c: the one logger. Each call becomes exactly one line, assembled in a
 * local buffer and written with one write(2) under a mutex so concurrent
 * lines never interleave: `ts=<RFC 3339 UTC, ms> level=<name> <message>`,
 * or with log_format = json the same fields as one JSON object (the
 * message's key=value pairs become members). The destination is stderr or
 * log_file, which ts_log_reopen opens afresh (SIGHUP, for logrotate). */
#include "tracestore/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tracestore/timeutil.h"

#define LOG_LINE_MAX 4096

int ts_log_level = TS_LOG_INFO;

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = 2;      /* under log_mu */
static int log_json;        /* under log_mu */
static char log_path[4096]; /* under log_mu; "" = stderr */

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

/* ---- JSON form ---- */

typedef struct jbuf {
    char *p;
    size_t len, cap; /* cap leaves room for the closing "}\n" */
    int full;
} jbuf;

static void jput(jbuf *b, const char *s, size_t n)
{
    if (b->full || b->len + n > b->cap) {
        b->full = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t k = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] >= 0xf5 || k == 0 || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return k;
}

/* A JSON string of n bytes at s; invalid UTF-8 becomes U+FFFD. */
static void jstr(jbuf *b, const char *s, size_t n)
{
    jput(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            jput(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            jput(b, esc, 6);
        } else if (c < 0x80) {
            jput(b, (const char *)&s[i], 1);
        } else {
            size_t k = utf8_len((const unsigned char *)s + i, n - i);
            if (k) {
                jput(b, s + i, k);
                i += k - 1;
            } else {
                jput(b, "\\ufffd", 6);
            }
        }
    }
    jput(b, "\"", 1);
}

/* A bare value that JSON reads as the same number. */
static int is_number(const char *s, size_t n)
{
    size_t i = 0, d = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
        return 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        d++;
    if (i < n && s[i] == '.') {
        size_t f = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            f++;
        if (!f)
            return 0;
    }
    return d > 0 && i == n;
}

/* Adds the message's `key=value` / `key="quoted \" value"` pairs as
 * members; 0 when the message is not in that form. */
static int jfields(jbuf *b, const char *m)
{
    while (*m) {
        const char *k = m, *v;
        size_t vn;
        while ((*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z') || (*m >= '0' && *m <= '9') ||
               *m == '_' || *m == '.')
            m++;
        if (m == k || *m != '=')
            return 0;
        jput(b, ",", 1);
        jstr(b, k, (size_t)(m - k));
        jput(b, ":", 1);
        m++;
        if (*m == '"') {
            char un[LOG_LINE_MAX];
            size_t u = 0;
            for (m++; *m && *m != '"'; m++) {
                if (*m == '\\' && (m[1] == '"' || m[1] == '\\'))
                    m++;
                un[u++] = *m;
            }
            if (*m != '"')
                return 0;
            m++;
            jstr(b, un, u);
        } else {
            v = m;
            while (*m && *m != ' ')
                m++;
            vn = (size_t)(m - v);
            if (is_number(v, vn))
                jput(b, v, vn);
            else
                jstr(b, v, vn);
        }
        if (*m && *m != ' ')
            return 0;
        while (*m == ' ')
            m++;
    }
    return 1;
}

/* {"ts":...,"level":...,<fields>}; a message not in key=value form is
 * kept whole as "msg". Returns the length written into out. */
static size_t json_line(char *out, size_t cap, const char *ts, size_t tsn, int level,
                        const char *msg)
{
    jbuf b = {out, 0, cap - 3, 0};
    jput(&b, "{\"ts\":", 6);
    jstr(&b, ts, tsn);
    jput(&b, ",\"level\":\"", 10);
    jput(&b, level_names[level], strlen(level_names[level]));
    jput(&b, "\"", 1);
    size_t mark = b.len;
    if (!jfields(&b, msg) || b.full) {
        b.len = mark;
        b.full = 0;
        jput(&b, ",\"msg\":", 7);
        jstr(&b, msg, strlen(msg));
        if (b.full) { /* too long even so: say so rather than cut the JSON */
            b.len = mark;
            b.full = 0;
            static const char too_long[] = ",\"msg\":\"(line too long)\"";
            jput(&b, too_long, sizeof(too_long) - 1);
        }
    }
    out[b.len++] = '}';
    return b.len;
}

static void emit(const char *line, size_t len)
{
    pthread_mutex_lock(&log_mu);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(log_fd, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    pthread_mutex_unlock(&log_mu);
}

void ts_log_write(int level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    size_t len, i, plen;
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
    len = plen = format_prefix(line, sizeof line, level);
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
    line[len] = '\0';
    if (log_json) {
        char js[LOG_LINE_MAX * 2];
        /* the prefix is "ts=<time> level=<name> " */
        size_t jl = json_line(js, sizeof(js) - 1, line + 3, 24, level, line + plen);
        js[jl] = '\n';
        emit(js, jl + 1);
        return;
    }
    line[len] = '\n';
    emit(line, len + 1);
}

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int ts_log_open(const char *path, int json)
{
    int fd = 2;
    if (path && *path && (fd = open_file(path)) < 0)
        return -1;
    pthread_mutex_lock(&log_mu);
    if (log_fd != 2)
        close(log_fd);
    log_fd = fd;
    log_json = json;
    snprintf(log_path, sizeof(log_path), "%s", path ? path : "");
    pthread_mutex_unlock(&log_mu);
    return 0;
}

int ts_log_reopen(void)
{
    pthread_mutex_lock(&log_mu);
    int rc = 0;
    if (log_path[0]) {
        int fd = open_file(log_path);
        if (fd < 0) {
            rc = -1; /* keep writing to the old file rather than nowhere */
        } else {
            close(log_fd);
            log_fd = fd;
        }
    }
    pthread_mutex_unlock(&log_mu);
    return rc;
}
