/* base/status: status codes and the last-error text.
 *
 * Every call that can fail returns a TpStatus (0 ok, < 0 error) and records a human-readable
 * detail with err_set(); front ends show err_msg().  The text is per thread.  Nothing here prints.
 */
#ifndef TP_STATUS_H
#define TP_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Persisted nowhere, but keep the numbers stable: scripts see them through exit codes. */
typedef enum {
    TP_OK        =   0,
    TP_EINVAL    =  -1,  /* bad argument or impossible parameter (user input)        */
    TP_ENOMEM    =  -2,  /* allocation failed                                        */
    TP_EIO       =  -3,  /* read/write/fsync/rename failed (errno kept in the text)  */
    TP_EFORMAT   =  -4,  /* malformed file                                           */
    TP_ENAN      =  -5,  /* non-finite loss or gradient                              */
    TP_ENODEV    =  -6,  /* no such device (e.g. no CUDA GPU)                        */
    TP_EDEVICE   =  -7,  /* device error                                             */
    TP_ENOTAVAIL =  -8,  /* feature not built yet / not compiled in                  */
    TP_ERANGE    =  -9,  /* value out of the allowed range                           */
    TP_ECANCEL   = -10,  /* cancelled by the user                                    */
    TP_EBUSY     = -11,  /* locked by another process                                */
    TP_ENOENT    = -12,  /* file or object not found                                 */
} TpStatus;

/* Short name of a status ("invalid argument", ...). Never NULL. */
const char *tp_strerror(TpStatus s);

/* Record a detail message (printf format) and return `code`, so callers can write
 *   return err_set(TP_EINVAL, "--hidden: expected a positive integer, got '%s'", s);
 * errno is preserved across the call. */
TpStatus err_set(TpStatus code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with more context: "open foo: " + old message. Returns `code`. */
TpStatus err_wrap(TpStatus code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last recorded message ("" if none). Valid until the next err_set/err_clear. */
const char *err_msg(void);
void err_clear(void);

#ifdef __cplusplus
}
#endif
#endif
