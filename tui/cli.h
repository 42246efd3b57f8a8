/* tui/cli: what every subcommand of the command line shares: exit codes (DESIGN 2.1: 0 ok, 1 runtime
 * failure, 2 bad usage or bad input) and the one-line error report on stderr. */
#ifndef TP_CLI_H
#define TP_CLI_H

#include "base/status.h"

#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE 2

/* Bad input (the user's to fix) -> 2, anything else -> 1. */
int cli_exit_code(TpStatus s);
/* "topiary: [who: ]<message>" on stderr; returns cli_exit_code(s).  who may be NULL. */
int cli_fail(const char *who, TpStatus s);

#endif
