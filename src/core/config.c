/* config.c: every tunable lives in one table below (name, type, field,
 * default, range, help); defaults, ts_config_set, the file and environment
 * loaders and --check-config's dump are all driven from it, so adding a key
 * is one table row plus one struct field. */
#include "tracestore/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tracestore/log.h"

enum { CFG_STR, CFG_INT };

typedef struct cfg_entry {
    const char *name;
    int type;
    size_t off;
    size_t size;     /* CFG_STR: capacity of the char array */
    const char *def; /* default, as text (parsed like any other value) */
    int64_t min, max;
    /* CFG_STR: extra check; may rewrite the value in place (canonical form) */
    int (*check)(char *value, ts_err *err, const char *key);
    const char *help;
} cfg_entry;

static int check_listen(char *value, ts_err *err, const char *key);
static int check_nonempty(char *value, ts_err *err, const char *key);
static int check_log_level(char *value, ts_err *err, const char *key);
static int check_synchronous(char *value, ts_err *err, const char *key);
static int check_token(char *value, ts_err *err, const char *key);
static int check_log_format(char *value, ts_err *err, const char *key);
static int check_store(char *value, ts_err *err, const char *key);

/* clang-format off */
#define STR(field, def, check, help) \
    {#field, CFG_STR, offsetof(ts_config, field), sizeof(((ts_config *)0)->field), \
     def, 0, 0, check, help}
#define INT(field, def, lo, hi, help) \
    {#field, CFG_INT, offsetof(ts_config, field), sizeof(int64_t), \
     #def, lo, hi, NULL, help}
/* clang-format on */

static const cfg_entry table[] = {
    STR(listen, "127.0.0.1:8080", check_listen, "HOST:PORT or [IPv6]:PORT; port 0 = any free"),
    STR(db_path, "data/tracestore.db", check_nonempty, "SQLite database file"),
    STR(store, "sqlite", check_store, "sqlite | postgres: the backend the store lives in"),
    STR(postgres_url, "", NULL,
        "libpq connection string or URI of the PostgreSQL database (store = postgres)"),
    INT(http_threads, 0, 0, 256, "HTTP worker threads, 0 = one per CPU"),
    INT(max_connections, 4096, 1, 1000000, "concurrent connections"),
    INT(per_ip_connections, 256, 0, 1000000, "concurrent connections per client IP, 0 = unlimited"),
    INT(connection_timeout_s, 30, 1, 3600, "idle connection timeout, seconds"),
    INT(request_timeout_s, 60, 1, 3600, "whole-request deadline, seconds"),
    STR(log_level, "info", check_log_level, "debug | info | warn | error"),
    INT(max_body_bytes, 8388608, 1024, 1073741824, "request body after decompression, bytes"),
    INT(max_spans_per_request, 10000, 1, 1000000, "spans in one ingest request"),
    INT(max_string_bytes, 1048576, 64, 268435456, "one string field or attribute value, bytes"),
    INT(max_attributes_per_span, 1024, 1, 100000, "attributes on one span"),
    INT(max_json_depth, 64, 4, 1000, "JSON nesting depth"),
    INT(max_page_size, 1000, 1, 100000, "items in one list page"),
    STR(sqlite_synchronous, "full", check_synchronous, "full | normal"),
    INT(sqlite_cache_mb, 64, 1, 65536, "writer page cache, MiB"),
    INT(read_connections, 0, 0, 1024,
        "read connections (SQLite or PostgreSQL), 0 = http_threads + 2"),
    INT(writer_queue_max, 4096, 1, 1000000, "pending write jobs before 503"),
    INT(writer_batch_max, 256, 1, 100000, "write jobs per group-commit transaction"),
    INT(sqlite_checkpoint_pages, 4096, 64, 1048576,
        "distinct pages appended to the WAL since the last checkpoint that start a background one"),
    INT(sqlite_wal_max_pages, 65536, 64, 16777216,
        "WAL pages at which the writer checkpoints itself so the WAL can restart"),
    INT(sqlite_coalesce_writes, 1, 0, 1,
        "1 = the WAL and checkpoints are written in large calls, 0 = as SQLite issues them"),
    INT(retention_days, 0, 0, 36500,
        "traces that ended longer ago are deleted, 0 = keep forever (workspaces may override)"),
    INT(retention_sweep_s, 60, 1, 86400, "how often the retention sweep runs, seconds"),
    INT(retention_batch, 500, 1, 100000, "traces one retention sweep job deletes at most"),
    INT(retention_batch_spans, 2000, 1, 10000000,
        "spans one retention sweep job deletes at most (a larger trace goes alone)"),
    INT(retention_day_s, 86400, 1, 86400, "seconds in one retention day (lower it only for tests)"),
    STR(price_file, "", NULL, "model price table file, empty = built-in table"),
    INT(rate_limit_per_key, 0, 0, 10000000, "requests per second per API key, 0 = off"),
    INT(key_cache_ms, 10000, 0, 3600000,
        "API key lookups cached this long (a revoke ends it at once), 0 = off"),
    INT(span_id_window, 262144, 0, 16777216,
        "newest spans /track-request can attach a log to at once (by span id), 0 = none"),
    INT(dims_settle_ms, 100, 0, 3600000,
        "how often new traces' span values enter their list index, 0 = at every commit"),
    /* operations: metrics and logs */
    STR(metrics_token, "", check_token,
        "bearer token GET /metrics requires (16+ printable characters), empty = /metrics off"),
    STR(log_format, "text", check_log_format, "text (key=value) | json (one object per line)"),
    STR(log_file, "", NULL, "log file (reopened on SIGHUP), empty = stderr"),
};

#define NENTRIES (sizeof table / sizeof table[0])

static const cfg_entry *find_entry(const char *key)
{
    size_t i;

    for (i = 0; i < NENTRIES; i++)
        if (strcmp(table[i].name, key) == 0)
            return &table[i];
    return NULL;
}

/* ---- value checks ---------------------------------------------------- */

static int check_listen(char *value, ts_err *err, const char *key)
{
    char host[256];
    int port;

    if (ts_config_listen_split(value, host, sizeof host, &port) != TS_OK)
        return ts_err_set(err, TS_EINVAL, "%s: '%s' is not HOST:PORT or [IPv6]:PORT", key, value);
    return TS_OK;
}

static int check_nonempty(char *value, ts_err *err, const char *key)
{
    if (value[0] == '\0')
        return ts_err_set(err, TS_EINVAL, "%s: must not be empty", key);
    return TS_OK;
}

/* Canonicalises to the lowercase level name. */
static int check_log_level(char *value, ts_err *err, const char *key)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    int lvl = ts_log_parse_level(value);

    if (lvl < 0)
        return ts_err_set(err, TS_EINVAL, "%s: '%s' is not debug, info, warn or error", key, value);
    memcpy(value, names[lvl], strlen(names[lvl]) + 1); /* never longer than the input */
    return TS_OK;
}

static int check_synchronous(char *value, ts_err *err, const char *key)
{
    if (strcasecmp(value, "full") == 0)
        memcpy(value, "full", 5);
    else if (strcasecmp(value, "normal") == 0)
        memcpy(value, "normal", 7);
    else
        return ts_err_set(err, TS_EINVAL, "%s: '%s' is not full or normal", key, value);
    return TS_OK;
}

/* Empty (off) or 16 to 255 printable ASCII characters without spaces: it
 * travels in an Authorization header. */
static int check_token(char *value, ts_err *err, const char *key)
{
    size_t n = strlen(value);

    if (n == 0)
        return TS_OK;
    if (n < 16)
        return ts_err_set(err, TS_EINVAL, "%s: must be at least 16 characters (or empty: off)",
                          key);
    for (size_t i = 0; i < n; i++)
        if (value[i] <= ' ' || value[i] > '~')
            return ts_err_set(err, TS_EINVAL, "%s: only printable ASCII characters without spaces",
                              key);
    return TS_OK;
}

static int check_store(char *value, ts_err *err, const char *key)
{
    if (strcasecmp(value, "sqlite") == 0)
        memcpy(value, "sqlite", 7);
    else if (strcasecmp(value, "postgres") == 0 || strcasecmp(value, "postgresql") == 0)
        memcpy(value, "postgres", 9);
    else
        return ts_err_set(err, TS_EINVAL, "%s: '%s' is not sqlite or postgres", key, value);
    return TS_OK;
}

static int check_log_format(char *value, ts_err *err, const char *key)
{
    if (strcasecmp(value, "text") == 0)
        memcpy(value, "text", 5);
    else if (strcasecmp(value, "json") == 0)
        memcpy(value, "json", 5);
    else
        return ts_err_set(err, TS_EINVAL, "%s: '%s' is not text or json", key, value);
    return TS_OK;
}

/* ---- setting one key ------------------------------------------------- */

/* Decimal integer with an optional '-' and one k/m/g suffix (binary
 * multiples). 0 on junk or int64 overflow. */
static int parse_int(const char *s, int64_t *out)
{
    int64_t v = 0, mult = 1;
    int neg = 0, nd = 0;

    if (*s == '-') {
        neg = 1;
        s++;
    }
    for (; *s >= '0' && *s <= '9'; s++, nd++) {
        int d = *s - '0';

        if (v > (INT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (nd == 0)
        return 0;
    if (*s == 'k' || *s == 'K')
        mult = INT64_C(1) << 10;
    else if (*s == 'm' || *s == 'M')
        mult = INT64_C(1) << 20;
    else if (*s == 'g' || *s == 'G')
        mult = INT64_C(1) << 30;
    if (mult != 1)
        s++;
    if (*s != '\0' || v > INT64_MAX / mult)
        return 0;
    *out = (neg ? -v : v) * mult;
    return 1;
}

static int set_int(ts_config *c, const cfg_entry *e, const char *value, ts_err *err)
{
    int64_t v;

    if (!parse_int(value, &v))
        return ts_err_set(err, TS_EINVAL, "%s: '%s' is not an integer", e->name, value);
    if (v < e->min || v > e->max)
        return ts_err_set(err, TS_EINVAL, "%s: %lld is out of range %lld..%lld", e->name,
                          (long long)v, (long long)e->min, (long long)e->max);
    memcpy((char *)c + e->off, &v, sizeof v);
    return TS_OK;
}

static int set_str(ts_config *c, const cfg_entry *e, const char *value, ts_err *err)
{
    char tmp[TS_PATH_MAX];
    size_t len = strnlen(value, e->size);
    int rc;

    if (len >= e->size)
        return ts_err_set(err, TS_EINVAL, "%s: value longer than %zu bytes", e->name, e->size - 1);
    memcpy(tmp, value, len + 1);
    if (e->check && (rc = e->check(tmp, err, e->name)) != TS_OK)
        return rc;
    memcpy((char *)c + e->off, tmp, strlen(tmp) + 1);
    return TS_OK;
}

int ts_config_set(ts_config *c, const char *key, const char *value, ts_err *err)
{
    const cfg_entry *e;

    if (!c || !key || !value)
        return ts_err_set(err, TS_EINVAL, "config: missing key or value");
    e = find_entry(key);
    if (!e)
        return ts_err_set(err, TS_EINVAL, "unknown key '%s'", key);
    return e->type == CFG_INT ? set_int(c, e, value, err) : set_str(c, e, value, err);
}

void ts_config_defaults(ts_config *c)
{
    size_t i;

    memset(c, 0, sizeof *c);
    for (i = 0; i < NENTRIES; i++) {
        int rc = ts_config_set(c, table[i].name, table[i].def, NULL);

        assert(rc == TS_OK); /* a bad default is a bug in the table */
        (void)rc;
    }
    c->checkpoints = 1;
}

/* ---- config file ----------------------------------------------------- */

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

static char *trim(char *s)
{
    char *end;

    while (is_space(*s))
        s++;
    end = s + strlen(s);
    while (end > s && is_space(end[-1]))
        *--end = '\0';
    return s;
}

/* Splits the text after '=' into the value, in place: "quoted" (# inside is
 * literal) or bare (a # after whitespace starts a comment). NULL on junk. */
static char *line_value(char *v)
{
    char *p, *close;

    v = trim(v);
    if (*v == '"') {
        close = strchr(v + 1, '"');
        if (!close)
            return NULL;
        *close = '\0';
        p = close + 1;
        while (is_space(*p))
            p++;
        return *p == '\0' || *p == '#' ? v + 1 : NULL;
    }
    for (p = v; *p; p++) {
        if (*p == '#' && (p == v || is_space(p[-1]))) {
            *p = '\0';
            break;
        }
    }
    return trim(v);
}

/* One line; blank and comment lines are OK. Errors are prefixed by caller. */
static int load_line(ts_config *c, char *line, ts_err *err)
{
    char *key, *eq, *value;

    key = trim(line);
    if (*key == '\0' || *key == '#')
        return TS_OK;
    eq = strchr(key, '=');
    if (!eq)
        return ts_err_set(err, TS_EINVAL, "expected 'key = value'");
    *eq = '\0';
    key = trim(key);
    if (*key == '\0')
        return ts_err_set(err, TS_EINVAL, "expected 'key = value'");
    value = line_value(eq + 1);
    if (!value)
        return ts_err_set(err, TS_EINVAL, "%s: unterminated quote or junk after value", key);
    return ts_config_set(c, key, value, err);
}

/* True when nothing is left to read (a full last line without newline). */
static int at_eof(FILE *f)
{
    int ch = getc(f);

    if (ch == EOF)
        return 1;
    ungetc(ch, f);
    return 0;
}

int ts_config_load_file(ts_config *c, const char *path, ts_err *err)
{
    char line[TS_PATH_MAX + 512];
    ts_config next = *c; /* all or nothing: c changes only on success */
    FILE *f = NULL;
    long lineno = 0;
    int rc = TS_OK;

    if (!path)
        return ts_err_set(err, TS_EINVAL, "config: no file name");
    f = fopen(path, "r");
    if (!f) {
        int e = errno;

        return ts_err_set(err, e == ENOENT ? TS_ENOTFOUND : TS_EIO, "%s: cannot open: %s", path,
                          strerror(e));
    }
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);

        lineno++;
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !at_eof(f)) {
            rc = ts_err_set(err, TS_EINVAL, "%s:%ld: line longer than %zu bytes", path, lineno,
                            sizeof line - 2);
            goto out;
        }
        rc = load_line(&next, line, err);
        if (rc != TS_OK) {
            ts_err_set(err, rc, "%s:%ld: %s", path, lineno, err ? err->msg : "");
            goto out;
        }
    }
    if (ferror(f)) {
        rc = ts_err_set(err, TS_EIO, "%s: read error", path);
        goto out;
    }
    *c = next;
out:
    fclose(f);
    return rc;
}

/* ---- environment ----------------------------------------------------- */

static int apply_env(ts_config *c, const char *var, const char *key, ts_err *err)
{
    const char *value = getenv(var);
    int rc;

    if (!value)
        return TS_OK;
    rc = ts_config_set(c, key, value, err);
    if (rc != TS_OK)
        ts_err_set(err, rc, "environment %s: %s", var, err ? err->msg : "");
    return rc;
}

int ts_config_load_env(ts_config *c, ts_err *err)
{
    ts_config next = *c;
    char var[64];
    size_t i, j;
    int rc;

    for (i = 0; i < NENTRIES; i++) {
        const char *name = table[i].name;

        memcpy(var, "TRACESTORE_", 11);
        for (j = 0; name[j] && 11 + j < sizeof var - 1; j++)
            var[11 + j] = (char)toupper((unsigned char)name[j]);
        var[11 + j] = '\0';
        if ((rc = apply_env(&next, var, name, err)) != TS_OK)
            return rc;
    }
    /* the documented short names, applied last so they win */
    if ((rc = apply_env(&next, "TRACESTORE_DB", "db_path", err)) != TS_OK)
        return rc;
    if ((rc = apply_env(&next, "TRACESTORE_LISTEN", "listen", err)) != TS_OK)
        return rc;
    *c = next;
    return TS_OK;
}

/* ---- dump and listen ------------------------------------------------- */

/* A libpq connection string with its password replaced by "***": the
 * URI form's user:PASSWORD@ and ?password= / &password=, and the keyword
 * form's password=VALUE (quoted or not). */
void ts_config_mask_url(const char *url, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = url;
    int uri = strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
    const char *at = uri ? strchr(url, '@') : NULL;
    const char *auth = uri ? strstr(url, "://") + 3 : NULL;

#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 < cap)                                                                           \
            out[o++] = (ch);                                                                       \
    } while (0)
    if (cap == 0)
        return;
    while (*p) {
        if (at && p == auth) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            const char *slash = strchr(auth, '/');

            if (colon && (!slash || slash > at)) {
                for (; p <= colon; p++)
                    PUT(*p);
                for (int k = 0; k < 3; k++)
                    PUT('*');
                p = at;
                continue;
            }
        }
        if (strncmp(p, "password=", 9) == 0 &&
            (p == url || p[-1] == ' ' || p[-1] == '?' || p[-1] == '&' || p[-1] == '\t')) {
            for (int i = 0; i < 9; i++)
                PUT(p[i]);
            p += 9;
            if (*p == '\'') {
                for (p++; *p && *p != '\''; p++)
                    if (*p == '\\' && p[1])
                        p++;
                if (*p)
                    p++;
            } else {
                while (*p && *p != ' ' && *p != '&' && *p != '\t')
                    p++;
            }
            for (int k = 0; k < 3; k++)
                PUT('*');
            continue;
        }
        PUT(*p);
        p++;
    }
#undef PUT
    out[o] = '\0';
}

/* Strings are printed quoted so the output loads back with
 * ts_config_load_file (a value containing '"' would not; none of the keys
 * has a use for one). The help text follows as a comment. */
void ts_config_dump(const ts_config *c, FILE *f)
{
    size_t i;

    if (!c || !f)
        return;
    for (i = 0; i < NENTRIES; i++) {
        const cfg_entry *e = &table[i];
        const char *field = (const char *)c + e->off;

        if (e->type == CFG_INT) {
            int64_t v;

            memcpy(&v, field, sizeof v);
            fprintf(f, "%s = %lld  # %s\n", e->name, (long long)v, e->help);
        } else if (strcmp(e->name, "postgres_url") == 0) {
            char masked[TS_PATH_MAX];

            ts_config_mask_url(field, masked, sizeof masked);
            fprintf(f, "%s = \"%s\"  # %s\n", e->name, masked, e->help);
        } else {
            fprintf(f, "%s = \"%s\"  # %s\n", e->name, field, e->help);
        }
    }
}

static int parse_port(const char *s, int *port)
{
    long v = 0;
    int nd = 0;

    for (; *s >= '0' && *s <= '9'; s++, nd++) {
        v = v * 10 + (*s - '0');
        if (v > 65535)
            return 0;
    }
    if (nd == 0 || *s != '\0')
        return 0;
    *port = (int)v;
    return 1;
}

int ts_config_listen_split(const char *listen, char *host, size_t cap, int *port)
{
    const char *colon, *hstart;
    size_t hlen;
    int p;

    if (!listen || !host || cap == 0 || !port)
        return TS_EINVAL;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');

        if (!close || close[1] != ':')
            return TS_EINVAL;
        hstart = listen + 1;
        hlen = (size_t)(close - hstart);
        colon = close + 1;
        if (memchr(hstart, '[', hlen))
            return TS_EINVAL;
    } else {
        colon = strchr(listen, ':');
        if (!colon || strchr(colon + 1, ':'))
            return TS_EINVAL; /* bare IPv6 must be bracketed */
        hstart = listen;
        hlen = (size_t)(colon - listen);
        if (memchr(hstart, ']', hlen))
            return TS_EINVAL;
    }
    if (hlen == 0 || hlen >= cap || !parse_port(colon + 1, &p))
        return TS_EINVAL;
    memcpy(host, hstart, hlen);
    host[hlen] = '\0';
    *port = p;
    return TS_OK;
}

/* ---- the key table, for the man page --------------------------------- */

size_t ts_config_key_count(void)
{
    return NENTRIES;
}

int ts_config_key_at(size_t i, ts_config_key *out)
{
    if (i >= NENTRIES || !out)
        return TS_EINVAL;
    out->name = table[i].name;
    out->is_int = table[i].type == CFG_INT;
    out->def = table[i].def;
    out->min = table[i].min;
    out->max = table[i].max;
    out->help = table[i].help;
    return TS_OK;
}
