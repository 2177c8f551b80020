/* err.h: the one status-code enum of tracestore and the optional detail
 * out-parameter. TS_OK is 0, every error is negative. ts_err carries a
 * human message and, for validation errors, the location of the bad field
 * (FastAPI-style loc path) so each API surface can render it its own way. */
#ifndef TS_ERR_H
#define TS_ERR_H

#include <stddef.h>

enum {
    TS_OK = 0,
    TS_ENOMEM = -1,    /* allocation failed */
    TS_EINVAL = -2,    /* client input is invalid (4xx) */
    TS_ENOTFOUND = -3, /* no such object in this workspace */
    TS_ECONFLICT = -4, /* state conflict, e.g. trace already closed */
    TS_ETOOBIG = -5,   /* a configured limit was exceeded (413) */
    TS_EIO = -6,       /* storage failure (5xx) */
    TS_EBUSY = -7,     /* overloaded: writer queue full (503) */
    TS_EAUTH = -8,     /* missing, unknown or revoked key (401) */
    TS_ESHUTDOWN = -9, /* daemon is stopping (503) */
    TS_EMEDIA = -10,   /* unsupported media type (415) */
};

#define TS_ERR_LOC_MAX 8

/* One element of a validation location: either an object key or an index. */
typedef struct ts_loc {
    int is_index;
    long index;
    char key[64];
} ts_loc;

typedef struct ts_err {
    int code;
    char msg[256];
    char type[32];             /* pydantic-style error type, e.g. "missing" */
    int nloc;
    ts_loc loc[TS_ERR_LOC_MAX];
} ts_err;

const char *ts_strerror(int rc);

/* Sets code and printf-style message; returns code so callers can
 * `return ts_err_set(err, TS_EINVAL, "...")`. err may be NULL. */
int ts_err_set(ts_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ts_err_clear(ts_err *err);
/* Append a location element (ignored beyond TS_ERR_LOC_MAX or if err NULL). */
void ts_err_loc_key(ts_err *err, const char *key);
void ts_err_loc_index(ts_err *err, long index);
void ts_err_type(ts_err *err, const char *type);

#endif
