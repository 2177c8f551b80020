/* cli.h: the command line: serve, key create|list|revoke, backup. */
#ifndef TS_CLI_H
#define TS_CLI_H

/* Runs the command in argv; returns the process exit code (2: usage). */
int ts_cli_main(int argc, char **argv);

#endif
