/* base/exitcode: see exitcode.h. */
#include "base/exitcode.h"

int exitcode_from_status(TpStatus s)
{
    switch (s) {
    case TP_OK: return EXIT_CODE_OK;
    case TP_EINVAL: case TP_ERANGE: case TP_EFORMAT: case TP_ENOENT: case TP_ENOTAVAIL: case TP_ENODEV:
    case TP_EBUSY:
        return EXIT_CODE_USAGE;
    default: return EXIT_CODE_RUNTIME;
    }
}
