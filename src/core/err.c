/* err.c: status-code names and the ts_err detail out-parameter. Detail is
 * always optional: every function here accepts a NULL err and does nothing,
 * so callers that only want the code never pay for a message. */
#include "tracestore/err.h"
#include "tracestore/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ts_strerror(int rc)
{
    switch (rc) {
    case TS_OK:
        return "ok";
    case TS_ENOMEM:
        return "out of memory";
    case TS_EINVAL:
        return "invalid input";
    case TS_ENOTFOUND:
        return "not found";
    case TS_ECONFLICT:
        return "conflict";
    case TS_ETOOBIG:
        return "limit exceeded";
    case TS_EIO:
        return "storage error";
    case TS_EBUSY:
        return "overloaded";
    case TS_EAUTH:
        return "unauthorized";
    case TS_ESHUTDOWN:
        return "shutting down";
    case TS_EMEDIA:
        return "unsupported media type";
    default:
        return "unknown error";
    }
}

/* Copies src into dst (cap bytes), truncating on a character boundary;
 * always NUL-terminates. */
static void copy_trunc(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    ts_utf8_repair(dst);
}

/* Only code and msg change: a location or type recorded before or after the
 * call is kept, so a parser can push the loc first and set the message last.
 * The message is formatted into a temporary first, so the arguments may
 * include err->msg itself (e.g. prefixing "file:line: " to an inner error). */
int ts_err_set(ts_err *err, int code, const char *fmt, ...)
{
    char tmp[sizeof err->msg];
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    if (!fmt) {
        err->msg[0] = '\0';
        return code;
    }
    va_start(ap, fmt);
    if (vsnprintf(tmp, sizeof tmp, fmt, ap) < 0)
        tmp[0] = '\0';
    va_end(ap);
    ts_utf8_repair(tmp); /* a message cut at sizeof msg ends on a character */
    memcpy(err->msg, tmp, sizeof tmp);
    return code;
}

void ts_err_clear(ts_err *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

void ts_err_loc_key(ts_err *err, const char *key)
{
    ts_loc *l;

    if (!err || err->nloc < 0 || err->nloc >= TS_ERR_LOC_MAX)
        return;
    l = &err->loc[err->nloc++];
    l->is_index = 0;
    l->index = 0;
    copy_trunc(l->key, sizeof l->key, key);
}

void ts_err_loc_index(ts_err *err, long index)
{
    ts_loc *l;

    if (!err || err->nloc < 0 || err->nloc >= TS_ERR_LOC_MAX)
        return;
    l = &err->loc[err->nloc++];
    l->is_index = 1;
    l->index = index;
    l->key[0] = '\0';
}

void ts_err_type(ts_err *err, const char *type)
{
    if (err)
        copy_trunc(err->type, sizeof err->type, type);
}
