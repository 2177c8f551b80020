/* pg_util.c: the PostgreSQL backend's small vocabulary over libpq: text
 * parameters, statements prepared once per connection, column readers,
 * and the mapping of a server's SQLSTATE to tracestore's status codes
 * (what becomes a 503, a retry, a 4xx). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "store/pg_int.h"

void ts_pgp_reset(ts_pgp *p)
{
    p->n = 0;
    p->overflow = 0;
}

static char *slot(ts_pgp *p)
{
    if (p->n >= TS_PGP_MAX) {
        p->overflow = 1;
        return NULL;
    }
    return p->buf[p->n];
}

void ts_pgp_text(ts_pgp *p, const char *s)
{
    if (!slot(p))
        return;
    p->v[p->n++] = s;
}

void ts_pgp_null(ts_pgp *p)
{
    ts_pgp_text(p, NULL);
}

void ts_pgp_i64(ts_pgp *p, int64_t v)
{
    char *b = slot(p);
    if (!b)
        return;
    snprintf(b, sizeof p->buf[0], "%" PRId64, v);
    p->v[p->n++] = b;
}

void ts_pgp_i64_opt(ts_pgp *p, int64_t v)
{
    if (v == TS_TOKENS_ABSENT)
        ts_pgp_null(p);
    else
        ts_pgp_i64(p, v);
}

void ts_pgp_f64(ts_pgp *p, double v)
{
    char *b = slot(p);
    if (!b)
        return;
    snprintf(b, sizeof p->buf[0], "%.17g", v);
    p->v[p->n++] = b;
}

void ts_pgp_bytea(ts_pgp *p, const unsigned char *bytes, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *b = slot(p);
    if (!b)
        return;
    if (2 + 2 * n + 1 > sizeof p->buf[0]) {
        p->overflow = 1;
        return;
    }
    b[0] = '\\';
    b[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        b[2 + 2 * i] = hex[bytes[i] >> 4];
        b[3 + 2 * i] = hex[bytes[i] & 15];
    }
    b[2 + 2 * n] = '\0';
    p->v[p->n++] = b;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the socket (ev) until deadline (0: none); 0 when it passed. */
static int wait_sock(ts_pg_conn *c, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline ? deadline - mono_ms() : -1;
        if (deadline && left <= 0)
            return 0;
        struct pollfd pfd = {.fd = PQsocket(c->pc), .events = ev};
        int n = poll(&pfd, 1, deadline ? (int)(left > 60000 ? 60000 : left) : -1);
        if (n > 0 || (n < 0 && errno != EINTR))
            return 1; /* ready, or an error libpq will report */
    }
}

/* The server said nothing before the deadline: a cancel would need that
 * same server, so the connection is dropped instead. libpq then reports
 * it lost ("server closed the connection"), which ts_pg_check maps to
 * TS_EBUSY, and the server rolls the transaction back when it can. */
static void drop(ts_pg_conn *c)
{
    c->timed_out = 1;
    shutdown(PQsocket(c->pc), SHUT_RDWR);
    (void)PQconsumeInput(c->pc); /* reads the close: CONNECTION_BAD */
}

/* After a PQsend*: sends what is buffered and collects the results as
 * PQexec does (the last one, or the first error), but never waits on the
 * server past c->timeout_ms (a frozen or unreachable server, which a
 * server-side statement_timeout cannot end). */
static PGresult *finish(ts_pg_conn *c)
{
    int64_t deadline = c->timeout_ms > 0 ? mono_ms() + c->timeout_ms : 0;
    PGresult *res = NULL;
    int f, late = 0;

    while (!late && (f = PQflush(c->pc)) == 1) {
        if (!wait_sock(c, POLLIN | POLLOUT, deadline))
            late = 1;
        else if (!PQconsumeInput(c->pc))
            break;
    }
    for (;;) {
        while (!late && PQisBusy(c->pc)) {
            if (!wait_sock(c, POLLIN, deadline))
                late = 1;
            else if (!PQconsumeInput(c->pc))
                break;
        }
        if (late && PQstatus(c->pc) == CONNECTION_OK)
            drop(c);
        PGresult *r = PQgetResult(c->pc);
        if (!r)
            break;
        ExecStatusType st = PQresultStatus(res);
        if (res && (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR)) {
            PQclear(r); /* the first error is the one to report */
        } else {
            PQclear(res);
            res = r;
        }
    }
    return res;
}

PGresult *ts_pg_simple(ts_pg_conn *c, const char *sql)
{
    if (!c || !c->pc)
        return NULL;
    if (!PQsendQuery(c->pc, sql))
        return NULL;
    return finish(c);
}

PGresult *ts_pg_run(ts_pg_conn *c, int id, const char *sql, const ts_pgp *p)
{
    if (p && p->overflow)
        return NULL;
    return ts_pg_run_raw(c, id, sql, p ? p->n : 0, p ? p->v : NULL, NULL, NULL);
}

PGresult *ts_pg_run_raw(ts_pg_conn *c, int id, const char *sql, int n, const char *const *vals,
                        const int *lens, const int *fmts)
{
    if (!c || !c->pc)
        return NULL;
    if (id < 0 || id >= TS_PG_STMT_MAX)
        return PQsendQueryParams(c->pc, sql, n, NULL, vals, lens, fmts, 0) ? finish(c) : NULL;
    char name[16];
    snprintf(name, sizeof name, "s%d", id);
    if (!c->prepared[id]) {
        PGresult *r = PQsendPrepare(c->pc, name, sql, n, NULL) ? finish(c) : NULL;
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
            return r; /* the caller's ts_pg_check reports it */
        PQclear(r);
        c->prepared[id] = 1;
    }
    return PQsendQueryPrepared(c->pc, name, n, vals, lens, fmts, 0) ? finish(c) : NULL;
}

int ts_pg_conn_bad(const ts_pg_conn *c)
{
    return !c || !c->pc || PQstatus(c->pc) != CONNECTION_OK;
}

int ts_pg_check(ts_pg_conn *c, const PGresult *r, ts_err *err)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return TS_OK;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : (c && c->pc ? PQerrorMessage(c->pc) : "");
    size_t len = msg ? strcspn(msg, "\n") : 0;

    if (!msg || !*msg)
        msg = r ? "query failed" : "out of memory or too many parameters";
    /* no SQLSTATE: the server never answered (the connection is lost);
     * 57014: statement_timeout; 57P: shutdown or restart; 53: resources */
    if (!r || ts_pg_conn_bad(c) || !state || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57", 2) == 0 || strncmp(state, "53", 2) == 0)
        return ts_err_set(err, TS_EBUSY, "postgres unavailable: %.*s", (int)len, msg);
    if (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0)
        return ts_err_set(err, TS_PG_RETRY, "postgres: %.*s", (int)len, msg);
    if (strcmp(state, "23505") == 0)
        return ts_err_set(err, TS_ECONFLICT, "postgres: %.*s", (int)len, msg);
    if (strncmp(state, "22", 2) == 0)
        return ts_err_set(err, TS_EINVAL, "postgres: %.*s", (int)len, msg);
    return ts_err_set(err, TS_EIO, "postgres: %.*s", (int)len, msg);
}

int ts_pg_do(ts_pg_conn *c, int id, const char *sql, const ts_pgp *p, ts_err *err)
{
    PGresult *r = ts_pg_run(c, id, sql, p);
    int rc = ts_pg_check(c, r, err);
    PQclear(r);
    return rc;
}

int ts_pg_isnull(const PGresult *r, int row, int col)
{
    return row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col);
}

int64_t ts_pg_i64(const PGresult *r, int row, int col, int64_t dflt)
{
    if (ts_pg_isnull(r, row, col))
        return dflt;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double ts_pg_f64(const PGresult *r, int row, int col, double dflt)
{
    if (ts_pg_isnull(r, row, col))
        return dflt;
    return strtod(PQgetvalue(r, row, col), NULL);
}

char *ts_pg_text(ts_arena *a, const PGresult *r, int row, int col)
{
    if (ts_pg_isnull(r, row, col))
        return NULL;
    return ts_arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}
