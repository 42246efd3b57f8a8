/* sessions/session_new: see session_new.h. */
#include "sessions/session_new.h"

#include "sessions/snapshot.h"

TpStatus session_new(Session *s, const char *dir, const Task *task)
{
    TpStatus st = session_create_files(s, dir, task);
    if (st != TP_OK) return st;
    /* the replay starting point */
    if ((st = snapshot_take_initial(s)) != TP_OK) session_free(s);
    return st;
}

TpStatus session_create(Session *s, const char *dir, const Task *task) { return session_new(s, dir, task); }
