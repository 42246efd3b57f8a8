/* tui/cli: see cli.h. */
#include "cli.h"

#include <stdio.h>

int cli_exit_code(TpStatus s)
{
    switch (s) {
    case TP_EINVAL: case TP_ERANGE: case TP_EFORMAT: case TP_ENOENT: case TP_ENOTAVAIL: return CLI_EXIT_USAGE;
    default: return CLI_EXIT_RUNTIME;
    }
}

int cli_fail(const char *who, TpStatus s)
{
    fprintf(stderr, "topiary: %s%s%s\n", who ? who : "", who ? ": " : "", err_msg()[0] ? err_msg() : tp_strerror(s));
    return cli_exit_code(s);
}
