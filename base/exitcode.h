/* base/exitcode: the process exit codes of every topiary front end (DESIGN 2.1), defined once.
 *
 *   0  success
 *   1  runtime failure (I/O, out of memory, a device error, NaN in training, ...)
 *   2  bad usage or bad input: the user's to fix (unknown option, out-of-range value, malformed file,
 *      missing file, a feature not built in, a GPU asked for that is not there)
 */
#ifndef TP_EXITCODE_H
#define TP_EXITCODE_H

#include "base/status.h"

enum {
    EXIT_CODE_OK = 0,
    EXIT_CODE_RUNTIME = 1,
    EXIT_CODE_USAGE = 2,
};

/* The exit code for a failed status: bad input -> 2, anything else (TP_OK excepted) -> 1. */
int exitcode_from_status(TpStatus s);

#endif
