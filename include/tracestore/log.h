/* log.h: the one log macro. Levels are filtered before formatting; lines
 * are `ts=... level=... msg="..." key=value ...` (or the same as one JSON
 * object per line) on stderr or the log file. Thread-safe. */
#ifndef TS_LOG_H
#define TS_LOG_H

enum { TS_LOG_DEBUG = 0, TS_LOG_INFO = 1, TS_LOG_WARN = 2, TS_LOG_ERROR = 3 };
/* Or'ed into a level for ts_log_write: the line is written whatever the
 * configured level (a report an operator asked for). */
enum { TS_LOG_FORCE = 1 << 4 };

extern int ts_log_level;

void ts_log_set_level(int level);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int ts_log_parse_level(const char *s);
void ts_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends lines to path (appended, created 0640; NULL or "": stderr), as
 * JSON objects when json is set. -1 (errno set, nothing changed) when the
 * file cannot be opened. */
int ts_log_open(const char *path, int json);
/* Opens the log file again by its name (after logrotate moved it); on
 * failure returns -1 and keeps the old descriptor. No-op for stderr.
 * Call from a thread, not from a signal handler. */
int ts_log_reopen(void);

#define TS_LOG(level, ...)                                                     \
    do {                                                                       \
        if ((level) >= ts_log_level)                                           \
            ts_log_write((level), __VA_ARGS__);                                \
    } while (0)

#endif
