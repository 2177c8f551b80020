/* cli.c: command-line parsing and the small commands. Every command loads
 * configuration the same way: defaults < config file (--config or
 * TRACESTORE_CONFIG) < TRACESTORE_* environment < flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cost/price.h"
#include "daemon.h"
#include "tracestore/apikey.h"
#include "tracestore/config.h"
#include "tracestore/log.h"
#include "tracestore/store.h"
#include "tracestore/timeutil.h"

/* The commands and options, once: --help prints them and the man page
 * tracestore(8) is generated from them (manpage.c), so the two cannot
 * drift. */
const ts_cli_cmd ts_cli_commands[] = {
    {"serve [--config FILE] [--db PATH] [--listen HOST:PORT] [--check-config]",
     "run the daemon in the foreground (SIGTERM/SIGINT drain and exit 0; SIGHUP reopens "
     "log_file; SIGUSR1 logs where recent writes spent their time)"},
    {"key create --workspace NAME [--db PATH] [--config FILE]",
     "create the workspace if needed and print a new API key on stdout"},
    {"key list [--db PATH] [--config FILE]",
     "list the keys' prefixes, workspaces, creation times and status (never a key)"},
    {"key revoke KEY_PREFIX [--db PATH] [--config FILE]",
     "revoke every key starting with KEY_PREFIX (at least 12 characters); effective on the "
     "daemon's next request"},
    {"workspace list [--db PATH] [--config FILE]",
     "list every workspace with its active keys, traces and retention"},
    {"workspace set-retention NAME DAYS|default [--db PATH] [--config FILE]",
     "keep NAME's traces DAYS days after they end (0 = forever; default = the config's "
     "retention_days); works whether or not a daemon serves the database"},
    {"backup DEST [--db PATH] [--config FILE]",
     "consistent online copy of the database (safe while serve runs), integrity-checked"},
    {"vacuum [--db PATH] [--config FILE]",
     "shrink the file to its live pages (only while no daemon has it open; exit 1 otherwise)"},
    {NULL, NULL},
};

const ts_cli_opt ts_cli_options[] = {
    {"--config", "FILE",
     "read the configuration file FILE (tracestore.conf(5)); without it, TRACESTORE_CONFIG "
     "names one, else only defaults and the environment apply"},
    {"--db", "PATH", "the SQLite database file (the db_path key)"},
    {"--listen", "HOST:PORT", "serve on this address (the listen key)"},
    {"--workspace", "NAME", "key create: the workspace the new key belongs to"},
    {"--check-config", NULL,
     "serve: validate the configuration and the price table, print every effective value "
     "and exit"},
    {"--help, -h", NULL, "print this usage on stdout and exit 0"},
    {"--version", NULL, "print the version and exit 0"},
    {NULL, NULL, NULL},
};

/* Prints text wrapped at 78 columns, each line indented by ind spaces. */
static void wrap(FILE *f, const char *text, int ind)
{
    const char *p = text;
    while (*p) {
        int width = 78 - ind, n = 0, last = -1;
        while (p[n] && n < width) {
            if (p[n] == ' ')
                last = n;
            n++;
        }
        if (p[n] && last > 0)
            n = last;
        fprintf(f, "%*s%.*s\n", ind, "", n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

typedef struct opts {
    const char *config, *db, *listen, *workspace;
    const char *positional[4];
    int npos;
    int check_config;
} opts;

static int usage(FILE *f, int code)
{
    fputs("usage: tracestore <command> [options]\n\ncommands:\n", f);
    for (const ts_cli_cmd *c = ts_cli_commands; c->synopsis; c++) {
        fprintf(f, "  %s\n", c->synopsis);
        wrap(f, c->help, 8);
    }
    fputs("\noptions:\n", f);
    for (const ts_cli_opt *o = ts_cli_options; o->flag; o++) {
        fprintf(f, "  %s%s%s\n", o->flag, o->arg ? " " : "", o->arg ? o->arg : "");
        wrap(f, o->help, 8);
    }
    fputs("\nenvironment: TRACESTORE_CONFIG, TRACESTORE_DB, TRACESTORE_LISTEN, TRACESTORE_<KEY>\n"
          "exit status: 0 success, 1 error, 2 bad usage; see tracestore(8)\n",
          f);
    return code;
}

/* Parses flags after the command words. Returns -1 to exit 0 (help or
 * version printed), 2 on a bad flag, 0 otherwise. */
static int parse(int argc, char **argv, int first, opts *o, const char *allowed)
{
    memset(o, 0, sizeof(*o));
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, 0);
            return -1;
        }
        if (strcmp(a, "--version") == 0) {
            printf("tracestore %s\n", TS_VERSION);
            return -1;
        }
        if (strcmp(a, "--check-config") == 0 && strstr(allowed, "check")) {
            o->check_config = 1;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        if (n == 8 && strncmp(a, "--config", n) == 0 && strstr(allowed, "config"))
            slot = &o->config;
        else if (n == 4 && strncmp(a, "--db", n) == 0 && strstr(allowed, "db"))
            slot = &o->db;
        else if (n == 8 && strncmp(a, "--listen", n) == 0 && strstr(allowed, "listen"))
            slot = &o->listen;
        else if (n == 11 && strncmp(a, "--workspace", n) == 0 && strstr(allowed, "workspace"))
            slot = &o->workspace;
        if (slot) {
            if (eq)
                *slot = eq + 1;
            else if (i + 1 < argc)
                *slot = argv[++i];
            else {
                fprintf(stderr, "tracestore: %s needs a value\n", a);
                return usage(stderr, 2);
            }
            continue;
        }
        if (a[0] == '-' || o->npos >= 4) {
            fprintf(stderr, "tracestore: unknown option '%s'\n", a);
            return usage(stderr, 2);
        }
        o->positional[o->npos++] = a;
    }
    return 0;
}

/* defaults < file < environment < flags */
static int load_config(const opts *o, ts_config *cfg)
{
    ts_err err;
    ts_err_clear(&err);
    ts_config_defaults(cfg);
    const char *file = o->config ? o->config : getenv("TRACESTORE_CONFIG");
    if (file && *file && ts_config_load_file(cfg, file, &err) != TS_OK) {
        fprintf(stderr, "tracestore: %s\n", err.msg);
        return 1;
    }
    if (ts_config_load_env(cfg, &err) != TS_OK) {
        fprintf(stderr, "tracestore: %s\n", err.msg);
        return 1;
    }
    if ((o->db && ts_config_set(cfg, "db_path", o->db, &err) != TS_OK) ||
        (o->listen && ts_config_set(cfg, "listen", o->listen, &err) != TS_OK)) {
        fprintf(stderr, "tracestore: %s\n", err.msg);
        return 2;
    }
    ts_log_set_level(ts_log_parse_level(cfg->log_level));
    return 0;
}

/* The short commands write a row or two and never checkpoint: the daemon
 * may be running on the same database, and only its store may checkpoint
 * (SQLite 3.40's WAL-reset race, see ARCHITECTURE.md "Checkpoints"). */
static int open_store(const ts_config *cfg, ts_store **s)
{
    ts_err err;
    ts_config c = *cfg;
    c.checkpoints = 0;
    ts_err_clear(&err);
    if (ts_apikey_init() != TS_OK || ts_store_open(&c, s, &err) != TS_OK) {
        fprintf(stderr, "tracestore: %s\n", err.msg[0] ? err.msg : "cannot initialise");
        return 1;
    }
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    opts o;
    ts_config cfg;
    int rc = parse(argc, argv, 2, &o, "config db listen check");
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.npos) {
        fprintf(stderr, "tracestore: serve takes no arguments\n");
        return usage(stderr, 2);
    }
    if ((rc = load_config(&o, &cfg)) != 0)
        return rc;
    if (o.check_config) {
        /* The price table is part of the configuration: check it too. */
        ts_prices *prices = NULL;
        ts_err perr;
        if (ts_prices_load(cfg.price_file, &prices, &perr) != TS_OK) {
            fprintf(stderr, "tracestore: %s\n", perr.msg);
            return 1;
        }
        ts_prices_free(prices);
        ts_config_dump(&cfg, stdout);
        return 0;
    }
    return ts_daemon_run(&cfg);
}

static int key_create(const ts_config *cfg, const char *ws)
{
    ts_store *s = NULL;
    char key[TS_KEY_LEN + 1];
    ts_err err;
    ts_err_clear(&err);
    if (open_store(cfg, &s))
        return 1;
    int rc = ts_apikey_create(s, ws, key, NULL, &err);
    ts_store_close(s);
    if (rc != TS_OK) {
        fprintf(stderr, "tracestore: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", key);
    return 0;
}

static int key_list(const ts_config *cfg)
{
    ts_store *s = NULL;
    ts_key_info *keys = NULL;
    size_t n = 0;
    ts_arena *a = ts_arena_new(4096);
    char t[TS_ISO_BUFSZ];
    if (!a || open_store(cfg, &s)) {
        ts_arena_free(a);
        return 1;
    }
    int rc = ts_store_key_list(s, a, &keys, &n);
    if (rc == TS_OK) {
        printf("%-14s %-24s %-26s %s\n", "PREFIX", "WORKSPACE", "CREATED", "STATUS");
        for (size_t i = 0; i < n; i++)
            printf("%-14s %-24s %-26s %s\n", keys[i].prefix, keys[i].workspace,
                   ts_time_format_iso(keys[i].created_ns, t),
                   keys[i].revoked_ns ? "revoked" : "active");
    }
    ts_store_close(s);
    ts_arena_free(a);
    return rc == TS_OK ? 0 : 1;
}

static int key_revoke(const ts_config *cfg, const char *prefix)
{
    ts_store *s = NULL;
    char p[TS_KEY_PREFIX_LEN + 1];
    ts_write w;
    if (strlen(prefix) < TS_KEY_PREFIX_LEN) {
        fprintf(stderr, "tracestore: KEY_PREFIX must be at least %d characters (see key list)\n",
                TS_KEY_PREFIX_LEN);
        return 2;
    }
    memcpy(p, prefix, TS_KEY_PREFIX_LEN);
    p[TS_KEY_PREFIX_LEN] = '\0';
    if (open_store(cfg, &s))
        return 1;
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_KEY_REVOKE;
    w.key_prefix = p;
    int rc = ts_store_write_sync(s, &w);
    ts_store_close(s);
    if (rc != TS_OK) {
        fprintf(stderr, "tracestore: revoke failed: %s\n", ts_strerror(rc));
        return 1;
    }
    if (w.affected == 0) {
        fprintf(stderr, "tracestore: no active key starts with %s\n", p);
        return 1;
    }
    printf("revoked %lld key(s) starting with %s\n", (long long)w.affected, p);
    return 0;
}

static int cmd_key(int argc, char **argv)
{
    opts o;
    ts_config cfg;
    const char *sub = argc > 2 ? argv[2] : NULL;
    int rc;
    if (!sub || sub[0] == '-') {
        rc = parse(argc, argv, 2, &o, "");
        if (rc)
            return rc < 0 ? 0 : rc;
        fprintf(stderr, "tracestore: key needs a subcommand: create, list or revoke\n");
        return usage(stderr, 2);
    }
    int is_create = strcmp(sub, "create") == 0;
    if (!is_create && strcmp(sub, "list") != 0 && strcmp(sub, "revoke") != 0) {
        fprintf(stderr, "tracestore: unknown key subcommand '%s'\n", sub);
        return usage(stderr, 2);
    }
    rc = parse(argc, argv, 3, &o, is_create ? "config db workspace" : "config db");
    if (rc)
        return rc < 0 ? 0 : rc;
    if (is_create && (!o.workspace || o.npos)) {
        fprintf(stderr, "tracestore: key create needs --workspace NAME\n");
        return usage(stderr, 2);
    }
    if (strcmp(sub, "revoke") == 0 && o.npos != 1) {
        fprintf(stderr, "tracestore: key revoke needs exactly one KEY_PREFIX\n");
        return usage(stderr, 2);
    }
    if (strcmp(sub, "list") == 0 && o.npos) {
        fprintf(stderr, "tracestore: key list takes no arguments\n");
        return usage(stderr, 2);
    }
    if ((rc = load_config(&o, &cfg)) != 0)
        return rc;
    /* Keep the CLI quiet on stderr unless something is wrong. */
    if (ts_log_level < TS_LOG_WARN)
        ts_log_set_level(TS_LOG_WARN);
    if (is_create)
        return key_create(&cfg, o.workspace);
    if (strcmp(sub, "list") == 0)
        return key_list(&cfg);
    return key_revoke(&cfg, o.positional[0]);
}

/* WORKSPACE KEYS TRACES RETENTION: the retention is "forever" or "<N>d",
 * then "(default)" when it is the config's retention_days. */
static int ws_list(const ts_config *cfg)
{
    ts_store *s = NULL;
    ts_workspace_info *ws = NULL;
    size_t n = 0;
    ts_arena *a = ts_arena_new(4096);
    char r[48];
    if (!a || open_store(cfg, &s)) {
        ts_arena_free(a);
        return 1;
    }
    int rc = ts_store_workspace_list(s, a, &ws, &n);
    if (rc == TS_OK) {
        printf("%-24s %6s %12s %s\n", "WORKSPACE", "KEYS", "TRACES", "RETENTION");
        for (size_t i = 0; i < n; i++) {
            int64_t d = ws[i].retention_days >= 0 ? ws[i].retention_days : cfg->retention_days;
            if (d > 0)
                snprintf(r, sizeof(r), "%lldd", (long long)d);
            else
                snprintf(r, sizeof(r), "forever");
            printf("%-24s %6lld %12lld %s%s\n", ws[i].name, (long long)ws[i].keys,
                   (long long)ws[i].traces, r, ws[i].retention_days >= 0 ? "" : " (default)");
        }
    } else {
        fprintf(stderr, "tracestore: workspace list failed: %s\n", ts_strerror(rc));
    }
    ts_store_close(s);
    ts_arena_free(a);
    return rc == TS_OK ? 0 : 1;
}

/* DAYS: 0..36500 (the bounds of retention_days) or "default" (-1). */
static int parse_days(const char *v, int64_t *days)
{
    char *end;
    if (strcmp(v, "default") == 0) {
        *days = -1;
        return 0;
    }
    if (!*v || *v == '-' || *v == '+')
        return -1;
    long long d = strtoll(v, &end, 10);
    if (*end || d > 36500)
        return -1;
    *days = d;
    return 0;
}

/* Through a writer job of this command's own store, like key revoke, so
 * it works whether or not a daemon serves the database; the daemon's
 * sweeper reads the retention afresh at every sweep. */
static int ws_set_retention(const ts_config *cfg, const char *name, int64_t days)
{
    ts_store *s = NULL;
    ts_write w;
    if (open_store(cfg, &s))
        return 1;
    memset(&w, 0, sizeof(w));
    w.kind = TS_W_WS_RETENTION;
    w.ws_name = name;
    w.retention_days = days;
    int rc = ts_store_write_sync(s, &w);
    ts_store_close(s);
    if (rc != TS_OK) {
        fprintf(stderr, "tracestore: %s\n", w.err.msg[0] ? w.err.msg : ts_strerror(rc));
        return 1;
    }
    if (days < 0)
        printf("workspace %s: retention is the default (retention_days = %lld)\n", name,
               (long long)cfg->retention_days);
    else if (days == 0)
        printf("workspace %s: traces are kept forever\n", name);
    else
        printf("workspace %s: traces are deleted %lld days after they end\n", name,
               (long long)days);
    return 0;
}

static int cmd_workspace(int argc, char **argv)
{
    opts o;
    ts_config cfg;
    const char *sub = argc > 2 ? argv[2] : NULL;
    int64_t days = 0;
    int rc;
    if (!sub || sub[0] == '-') {
        rc = parse(argc, argv, 2, &o, "");
        if (rc)
            return rc < 0 ? 0 : rc;
        fprintf(stderr, "tracestore: workspace needs a subcommand: list or set-retention\n");
        return usage(stderr, 2);
    }
    int is_list = strcmp(sub, "list") == 0;
    if (!is_list && strcmp(sub, "set-retention") != 0) {
        fprintf(stderr, "tracestore: unknown workspace subcommand '%s'\n", sub);
        return usage(stderr, 2);
    }
    if ((rc = parse(argc, argv, 3, &o, "config db")) != 0)
        return rc < 0 ? 0 : rc;
    if (is_list && o.npos) {
        fprintf(stderr, "tracestore: workspace list takes no arguments\n");
        return usage(stderr, 2);
    }
    if (!is_list && o.npos != 2) {
        fprintf(stderr, "tracestore: workspace set-retention needs NAME and DAYS\n");
        return usage(stderr, 2);
    }
    if (!is_list && parse_days(o.positional[1], &days) != 0) {
        fprintf(stderr, "tracestore: DAYS must be 0 to 36500 or 'default', not '%s'\n",
                o.positional[1]);
        return 2;
    }
    if ((rc = load_config(&o, &cfg)) != 0)
        return rc;
    if (ts_log_level < TS_LOG_WARN)
        ts_log_set_level(TS_LOG_WARN);
    return is_list ? ws_list(&cfg) : ws_set_retention(&cfg, o.positional[0], days);
}

static int cmd_backup(int argc, char **argv)
{
    opts o;
    ts_config cfg;
    ts_store *s = NULL;
    ts_err err;
    int rc = parse(argc, argv, 2, &o, "config db");
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.npos != 1) {
        fprintf(stderr, "tracestore: backup needs exactly one DEST path\n");
        return usage(stderr, 2);
    }
    if ((rc = load_config(&o, &cfg)) != 0)
        return rc;
    if (ts_log_level < TS_LOG_WARN)
        ts_log_set_level(TS_LOG_WARN);
    if (open_store(&cfg, &s))
        return 1;
    ts_err_clear(&err);
    rc = ts_store_backup(s, o.positional[0], &err);
    ts_store_close(s);
    if (rc != TS_OK) {
        fprintf(stderr, "tracestore: backup failed: %s\n", err.msg);
        return 1;
    }
    printf("backup written to %s (integrity_check ok)\n", o.positional[0]);
    return 0;
}

static int cmd_vacuum(int argc, char **argv)
{
    opts o;
    ts_config cfg;
    ts_vacuum_info vi;
    ts_err err;
    int rc = parse(argc, argv, 2, &o, "config db");
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.npos) {
        fprintf(stderr, "tracestore: vacuum takes no arguments\n");
        return usage(stderr, 2);
    }
    if ((rc = load_config(&o, &cfg)) != 0)
        return rc;
    ts_err_clear(&err);
    if (ts_store_vacuum(&cfg, &vi, &err) != TS_OK) {
        fprintf(stderr, "tracestore: vacuum failed: %s\n", err.msg);
        return 1;
    }
    printf("vacuumed %s: %lld bytes before, %lld after (%lld free pages reclaimed)\n",
           cfg.db_path, (long long)vi.bytes_before, (long long)vi.bytes_after,
           (long long)vi.free_pages_before);
    return 0;
}

int ts_cli_main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd)
        return usage(stderr, 2);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return usage(stdout, 0);
    if (strcmp(cmd, "--version") == 0) {
        printf("tracestore %s\n", TS_VERSION);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc, argv);
    if (strcmp(cmd, "key") == 0)
        return cmd_key(argc, argv);
    if (strcmp(cmd, "backup") == 0)
        return cmd_backup(argc, argv);
    if (strcmp(cmd, "workspace") == 0)
        return cmd_workspace(argc, argv);
    if (strcmp(cmd, "vacuum") == 0)
        return cmd_vacuum(argc, argv);
    if (strcmp(cmd, "manpage") == 0) /* hidden: the build generates the man pages with it */
        return ts_manpage_main(argc - 1, argv + 1);
    fprintf(stderr, "tracestore: unknown command '%s'\n", cmd);
    return usage(stderr, 2);
}
