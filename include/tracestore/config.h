/* config.h: every tunable of tracestore in one struct, filled from one
 * table in config.c with one precedence: defaults < config file <
 * TRACESTORE_* environment < command-line flags. */
#ifndef TS_CONFIG_H
#define TS_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "tracestore/err.h"

#define TS_PATH_MAX 4096

typedef struct ts_config {
    /* server */
    char listen[256];              /* HOST:PORT */
    char db_path[TS_PATH_MAX];
    char store[16];                /* "sqlite" | "postgres" */
    char postgres_url[TS_PATH_MAX]; /* libpq connection string or URI (store = postgres) */
    int64_t http_threads;          /* 0: one per CPU */
    int64_t max_connections;
    int64_t per_ip_connections;    /* 0: unlimited */
    int64_t connection_timeout_s;  /* idle connection timeout */
    int64_t request_timeout_s;     /* whole-request deadline (slow bodies) */
    char log_level[16];
    /* limits */
    int64_t max_body_bytes;        /* request body, after decompression */
    int64_t max_spans_per_request;
    int64_t max_string_bytes;      /* any single string field or attribute value */
    int64_t max_attributes_per_span;
    int64_t max_json_depth;
    int64_t max_page_size;
    /* store */
    char sqlite_synchronous[16];   /* full | normal */
    int64_t sqlite_cache_mb;       /* writer page cache */
    int64_t sqlite_coalesce_writes; /* 1: store/sqlite_vfs.h for writes */
    int64_t read_connections;      /* 0: http_threads + 2 */
    int64_t writer_queue_max;      /* pending write jobs before 503 */
    int64_t writer_batch_max;      /* jobs per group-commit transaction */
    int64_t sqlite_checkpoint_pages; /* WAL growth that starts a background checkpoint */
    int64_t sqlite_wal_max_pages;  /* WAL size at which the writer checkpoints itself */
    /* retention (store/retention.c, ARCHITECTURE.md "Retention") */
    int64_t retention_days;        /* default for workspaces without their own, 0: forever */
    int64_t retention_sweep_s;     /* sweep interval */
    int64_t retention_batch;       /* traces per sweep job */
    int64_t retention_batch_spans; /* spans per sweep job (a larger trace goes alone) */
    int64_t retention_day_s;       /* the unit of retention days (86400; tests lower it) */
    /* pricing (cost engine) */
    char price_file[TS_PATH_MAX];  /* empty: the built-in table */
    /* overload protection */
    int64_t rate_limit_per_key;    /* requests/second per key, 0: off */
    int64_t key_cache_ms;          /* key lookups cached this long, 0: off */
    int64_t span_id_window;        /* newest spans found by span id alone (store/spanwin.h) */
    int64_t dims_settle_ms;        /* new traces' trace_dims rows enter trace_dims_val this often */
    /* operations */
    char metrics_token[256];       /* GET /metrics bearer token, "": off */
    char log_format[16];           /* text | json */
    char log_file[TS_PATH_MAX];    /* "": stderr; reopened on SIGHUP */
    /* Not a key: the short commands (cli.c) set it to 0 so that only the
     * daemon's store checkpoints (see ARCHITECTURE.md, "Checkpoints"). */
    int checkpoints;
} ts_config;

void ts_config_defaults(ts_config *c);

/* Sets one key from text. Unknown key, bad number or out-of-range value is
 * TS_EINVAL with a message naming the key. */
int ts_config_set(ts_config *c, const char *key, const char *value, ts_err *err);

/* Reads `key = value` lines (# comments, blank lines). Errors name
 * file:line. A missing file is TS_ENOTFOUND. */
int ts_config_load_file(ts_config *c, const char *path, ts_err *err);

/* Applies TRACESTORE_<KEY> variables (upper case) for every key, plus the
 * documented TRACESTORE_DB, TRACESTORE_LISTEN. TRACESTORE_CONFIG is read by
 * the caller (it names the file, which loads first). */
int ts_config_load_env(ts_config *c, ts_err *err);

/* Prints every key = value, for --check-config. */
void ts_config_dump(const ts_config *c, FILE *f);

/* The key table, as the man page tracestore.conf(5) shows it. */
typedef struct ts_config_key {
    const char *name;
    int is_int;       /* 1: integer (k/m/g suffixes), 0: string */
    const char *def;  /* default, as text */
    int64_t min, max; /* integers only */
    const char *help; /* one line, the unit after a comma */
} ts_config_key;
size_t ts_config_key_count(void);
/* TS_EINVAL past the end. */
int ts_config_key_at(size_t i, ts_config_key *out);

/* Splits c->listen into host (cap bytes) and port. TS_EINVAL if malformed. */
int ts_config_listen_split(const char *listen, char *host, size_t cap, int *port);

/* url with its password (URI user:PASSWORD@, password=VALUE) shown as ***,
 * for --check-config and logs. */
void ts_config_mask_url(const char *url, char *out, size_t cap);

#endif
