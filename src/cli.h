/* cli.h: the command line: serve, key create|list|revoke, backup. */
#ifndef TS_CLI_H
#define TS_CLI_H

#include <stddef.h>

/* Runs the command in argv; returns the process exit code (2: usage). */
int ts_cli_main(int argc, char **argv);

/* The commands and options --help lists, NULL-terminated (cli.c); the man
 * page tracestore(8) is rendered from the same tables. */
typedef struct ts_cli_cmd {
    const char *synopsis; /* "key create --workspace NAME [--db PATH] ..." */
    const char *help;
} ts_cli_cmd;
typedef struct ts_cli_opt {
    const char *flag; /* "--db" */
    const char *arg;  /* "PATH" or NULL */
    const char *help;
} ts_cli_opt;
extern const ts_cli_cmd ts_cli_commands[];
extern const ts_cli_opt ts_cli_options[];

/* `tracestore manpage 8|5 [CONF_FILE]` (manpage.c): prints the page in
 * man(7) format on stdout. argv[0] is "manpage". */
int ts_manpage_main(int argc, char **argv);

#endif
