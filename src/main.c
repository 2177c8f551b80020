/* main.c: the entry point; everything lives in cli.c and daemon.c. */
#include "cli.h"

int main(int argc, char **argv)
{
    return ts_cli_main(argc, argv);
}
