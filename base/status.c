/* base/status: see status.h. */
#include "base/status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char msg_buf[1024];

const char *tp_strerror(TpStatus s)
{
    switch (s) {
    case TP_OK: return "ok";
    case TP_EINVAL: return "invalid argument";
    case TP_ENOMEM: return "out of memory";
    case TP_EIO: return "I/O error";
    case TP_EFORMAT: return "malformed file";
    case TP_ENAN: return "non-finite value";
    case TP_ENODEV: return "no such device";
    case TP_EDEVICE: return "device error";
    case TP_ENOTAVAIL: return "not available";
    case TP_ERANGE: return "out of range";
    case TP_ECANCEL: return "cancelled";
    case TP_EBUSY: return "busy";
    case TP_ENOENT: return "not found";
    }
    return "unknown error";
}

TpStatus err_set(TpStatus code, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg_buf, sizeof msg_buf, fmt, ap);
    va_end(ap);
    errno = saved;
    return code;
}

TpStatus err_wrap(TpStatus code, const char *fmt, ...)
{
    int saved = errno;
    char old[sizeof msg_buf];
    memcpy(old, msg_buf, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg_buf, sizeof msg_buf, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof msg_buf)
        snprintf(msg_buf + n, sizeof msg_buf - (size_t)n, "%s", old);
    errno = saved;
    return code;
}

const char *err_msg(void) { return msg_buf; }
void err_clear(void) { msg_buf[0] = '\0'; }
