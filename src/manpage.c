/* manpage.c: renders the man pages tracestore(8) and tracestore.conf(5)
 * from the tables the binary itself uses: the commands and options that
 * --help prints (cli.c) and the configuration key table (config.c), with
 * each key's explanation taken from config/tracestore.conf. The build runs
 * the hidden `tracestore manpage 8|5 [CONF_FILE]` (cmake/manpage.cmake), so
 * the pages cannot drift from the code; a key missing from CONF_FILE is an
 * error, and the build stops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tracestore/config.h"

#define DATE "2026"

/* Writes text as roff: backslashes escaped, a leading . or ' defused,
 * `code` in bold, and a hyphen that starts a word (an option) as \-. */
static void roff(FILE *f, const char *s)
{
    int bold = 0;
    if (*s == '.' || *s == '\'')
        fputs("\\&", f);
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            fputs("\\e", f);
        else if (*p == '`') {
            fputs(bold ? "\\fR" : "\\fB", f);
            bold = !bold;
        } else if (*p == '-' && (p == s || p[-1] == ' ' || p[-1] == '-' || p[-1] == '[' ||
                                 p[-1] == '(' || p[-1] == '`'))
            fputs("\\-", f);
        else
            fputc(*p, f);
    }
    if (bold)
        fputs("\\fR", f);
}

static void line(FILE *f, const char *s)
{
    roff(f, s);
    fputc('\n', f);
}

static void page8(FILE *f)
{
    fputs(".TH TRACESTORE 8 \"" DATE "\" \"tracestore " TS_VERSION "\" \"System Administration\"\n"
          ".SH NAME\ntracestore \\- self-hosted trace store for LLM and agent applications\n"
          ".SH SYNOPSIS\n",
          f);
    for (const ts_cli_cmd *c = ts_cli_commands; c->synopsis; c++) {
        fputs(".B tracestore\n", f);
        line(f, c->synopsis);
        fputs(".br\n", f);
    }
    fputs(".SH DESCRIPTION\n", f);
    line(f, "tracestore stores traces and spans sent with the PromptLayer, TruLayer and Respan "
            "trace APIs and OTLP/HTTP, in an embedded SQLite database, and answers their read "
            "APIs. API keys scope everything to a workspace. Every 2xx answer to a write means "
            "the data is committed (and, with sqlite_synchronous = full, on disk).");
    fputs(".PP\n", f);
    line(f, "On the first start, with an empty database, serve creates the workspace `default` "
            "and prints its API key once on standard output; only its hash is stored.");
    fputs(".SH COMMANDS\n", f);
    for (const ts_cli_cmd *c = ts_cli_commands; c->synopsis; c++) {
        fputs(".TP\n.B tracestore ", f);
        line(f, c->synopsis);
        line(f, c->help);
    }
    fputs(".SH OPTIONS\n", f);
    for (const ts_cli_opt *o = ts_cli_options; o->flag; o++) {
        fputs(".TP\n.B ", f);
        roff(f, o->flag);
        if (o->arg) {
            fputs(" ", f);
            fputs("\\fI", f);
            roff(f, o->arg);
            fputs("\\fR", f);
        }
        fputc('\n', f);
        line(f, o->help);
    }
    fputs(".PP\n", f);
    line(f, "A flag that takes a value accepts it as the next word or after `=`. Configuration "
            "precedence: built-in defaults < configuration file < environment < flags.");
    fputs(".SH SIGNALS\n.TP\n.B SIGTERM\\fR, \\fBSIGINT\n", f);
    line(f, "Drain and exit 0: stop accepting connections, finish the requests in flight (up to "
            "10 s), commit what the writer holds, checkpoint the WAL into the database file.");
    fputs(".TP\n.B SIGHUP\n", f);
    line(f, "Reopen log_file by its name (after logrotate moved it). Nothing else is reloaded: "
            "configuration changes need a restart.");
    fputs(".TP\n.B SIGUSR1\n", f);
    line(f, "Log one `write stages` line: where the writes completed since the last report "
            "spent their time, with transactions, jobs per transaction and checkpoints.");
    fputs(".SH FILES\n.TP\n.I /usr/local/etc/tracestore/tracestore.conf\n", f);
    line(f, "The configuration example installed by `make install` (under its PREFIX), every key "
            "at its default; see tracestore.conf(5).");
    fputs(".TP\n.I DB\\fR, \\fIDB\\fB\\-wal\\fR, \\fIDB\\fB\\-shm\\fR, \\fIDB\\fB\\-keys\n", f);
    line(f, "The database (db_path), its write-ahead log and shared-memory index, and the key "
            "epoch that tells running daemons a key was created or revoked.");
    fputs(".TP\n.I /lib/systemd/system/tracestore.service\n", f);
    line(f, "The systemd unit (under PREFIX): serve as a dynamic user with the database in "
            "/var/lib/tracestore.");
    fputs(".SH ENVIRONMENT\n.TP\n.B TRACESTORE_CONFIG\n", f);
    line(f, "The configuration file when --config is not given.");
    fputs(".TP\n.B TRACESTORE_DB\\fR, \\fBTRACESTORE_LISTEN\n", f);
    line(f, "Short names for db_path and listen (TRACESTORE_DB wins over TRACESTORE_DB_PATH).");
    fputs(".TP\n.BI TRACESTORE_ KEY\n", f);
    line(f, "Any configuration key in upper case, e.g. TRACESTORE_MAX_BODY_BYTES=16m; over the "
            "file, under the flags.");
    fputs(".SH EXIT STATUS\n.TP\n.B 0\n", f);
    line(f, "Success; for serve, a clean drain after SIGTERM or SIGINT.");
    fputs(".TP\n.B 1\n", f);
    line(f, "An error: a bad configuration file or environment value (named with file:line), a "
            "database that cannot be opened, a failed command.");
    fputs(".TP\n.B 2\n", f);
    line(f, "Bad usage: an unknown command or flag, a missing argument, a bad flag value.");
    fputs(".SH SEE ALSO\n.BR tracestore.conf (5),\n.BR systemd.exec (5),\n.BR logrotate (8)\n", f);
}

/* ---- tracestore.conf(5) ---- */

static int key_index(const char *name, size_t n)
{
    ts_config_key k;
    for (size_t i = 0; ts_config_key_at(i, &k) == 0; i++)
        if (strlen(k.name) == n && strncmp(k.name, name, n) == 0)
            return (int)i;
    return -1;
}

static void key_facts(FILE *f, const ts_config_key *k)
{
    char buf[256];
    if (k->is_int)
        snprintf(buf, sizeof(buf),
                 "Integer from %lld to %lld (k, m and g suffixes: binary multiples); default %s. "
                 "In short: %s.",
                 (long long)k->min, (long long)k->max, k->def, k->help);
    else
        snprintf(buf, sizeof(buf), "String; default \"%s\". In short: %s.", k->def, k->help);
    line(f, buf);
}

/* Is line (after "# ") `key = value` for a key of the table? */
static int setting_line(const char *l)
{
    size_t n = 0;
    while ((l[n] >= 'a' && l[n] <= 'z') || l[n] == '_')
        n++;
    return n > 0 && strncmp(l + n, " = ", 3) == 0 ? key_index(l, n) : -1;
}

/* Renders conf (the shipped file): its opening comment is DESCRIPTION,
 * each `## name` a subsection of KEYS, each key its paragraph above it.
 * Returns 0, or 1 when a key of the table is missing from the file. */
static int conf_body(FILE *f, FILE *conf, int *seen)
{
    char buf[1024], para[8192] = "";
    int in_keys = 0;
    while (fgets(buf, sizeof(buf), conf)) {
        buf[strcspn(buf, "\n")] = '\0';
        const char *l = buf[0] == '#' ? buf + 1 : buf;
        if (*l == ' ')
            l++;
        int k = buf[0] == '#' && buf[1] != '#' ? setting_line(l) : -1;
        if (strncmp(buf, "##", 2) == 0) {
            if (!in_keys)
                fputs(".SH KEYS\n", f);
            in_keys = 1;
            fputs(".SS ", f);
            line(f, buf + 3);
            para[0] = '\0';
        } else if (k >= 0) {
            ts_config_key key;
            ts_config_key_at((size_t)k, &key);
            seen[k] = 1;
            fputs(".TP\n.B ", f);
            line(f, key.name);
            if (para[0])
                line(f, para);
            fputs(".IP\n", f);
            key_facts(f, &key);
            para[0] = '\0';
        } else if (buf[0] == '#' && *l) {
            size_t n = strlen(para);
            snprintf(para + n, sizeof(para) - n, "%s%s", n ? " " : "", l);
        } else if (para[0] && !in_keys) {
            line(f, para); /* the file's opening paragraphs */
            fputs(".PP\n", f);
            para[0] = '\0';
        } else if (!in_keys) {
            para[0] = '\0';
        }
    }
    int missing = 0;
    ts_config_key key;
    for (size_t i = 0; ts_config_key_at(i, &key) == 0; i++)
        if (!seen[i]) {
            fprintf(stderr, "tracestore manpage: key %s is not in the configuration file\n",
                    key.name);
            missing = 1;
        }
    return missing;
}

static int page5(FILE *f, const char *conf_path)
{
    int seen[256] = {0}, rc = 0;
    fputs(".TH TRACESTORE.CONF 5 \"" DATE "\" \"tracestore " TS_VERSION "\" \"File Formats\"\n"
          ".SH NAME\ntracestore.conf \\- configuration of tracestore(8)\n.SH DESCRIPTION\n",
          f);
    if (ts_config_key_count() > sizeof(seen) / sizeof(seen[0]))
        return 1;
    if (conf_path) {
        FILE *conf = fopen(conf_path, "r");
        if (!conf) {
            perror(conf_path);
            return 1;
        }
        rc = conf_body(f, conf, seen);
        fclose(conf);
    } else {
        ts_config_key k;
        fputs(".SH KEYS\n", f);
        for (size_t i = 0; ts_config_key_at(i, &k) == 0; i++) {
            fputs(".TP\n.B ", f);
            line(f, k.name);
            key_facts(f, &k);
        }
    }
    fputs(".SH FILES\n.I /usr/local/etc/tracestore/tracestore.conf\n"
          ".SH SEE ALSO\n.BR tracestore (8)\n",
          f);
    return rc;
}

int ts_manpage_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "8") == 0 && argc == 2) {
        page8(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (argc >= 2 && strcmp(argv[1], "5") == 0 && argc <= 3) {
        int rc = page5(stdout, argc == 3 ? argv[2] : NULL);
        return fflush(stdout) == 0 ? rc : 1;
    }
    fprintf(stderr, "usage: tracestore manpage 8 | tracestore manpage 5 [CONF_FILE]\n");
    return 2;
}
