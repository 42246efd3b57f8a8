/* sessions/distill: a session's distillation teacher (engine/train.h, TrainTeacher): which export
 * teaches, with what weight, and the teacher model loaded from it while the session trains.
 *
 * The choice is a setting of the task (Task.teacher, .distill_alpha, .teacher_crc; manifest "task"
 * "distill"), so a reopened session keeps distilling; the model is loaded when training starts
 * (distill_attach), not when the session opens, so a session whose teacher has moved or changed still
 * opens, evaluates and exports, and only training says why it cannot go on.  The teacher is an export
 * directory (sessions/export: checksums.json checked, vocab.json identical to the session's, word for
 * word); the CRC32 of its model.safetensors is recorded when it is chosen and checked at every load,
 * and the `distill` verb journals it, so a replay distils from the same teacher or refuses.  Nothing
 * in the export is ever written. */
#ifndef TP_DISTILL_H
#define TP_DISTILL_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "engine/corpus.h"
#include "engine/model.h"
#include "engine/train.h"
#include "sessions/task.h"

/* The loaded teacher of a session (Session.distill; NULL until training needs it). */
typedef struct SessionDistill {
    char dir[512];        /* the export it was loaded from                 */
    uint32_t crc;         /* CRC32 of its model.safetensors                */
    Model model;          /* the teacher                                   */
    TrainTeacher tt;      /* what the trainer borrows                      */
    char describe[160];   /* "EXPORTDIR (2x200 lstm, valid ppl 117.15)"    */
} SessionDistill;

/* What the functions below work on: a session's pieces (sessions/session fills it; this module sits
 * below it).  The setting is task's; *loaded is the session's loaded teacher (owned, may be NULL). */
typedef struct {
    Task *task;
    const Corpus *corpus;     /* the student's vocabulary        */
    const Model *student;
    Trainer *trainer;         /* its .teacher is set or cleared  */
    SessionDistill **loaded;
} DistillSlot;

/* Choose the export in dir as the teacher with weight alpha (0..1).  crc_hex (may be NULL): the
 * model.safetensors CRC32 the journal recorded; a different file is refused.  The export is loaded
 * and checked here (a clear error and no change otherwise); said gets a sentence for the user. */
TpStatus distill_choose(const DistillSlot *d, const char *dir, float alpha, const char *crc_hex, char *said, size_t n);
/* Stop distilling (the loaded teacher is freed). */
void distill_off(const DistillSlot *d);
/* Before training: the trainer's teacher for the setting (loaded on first use, checked against the
 * recorded CRC32), or none.  An unusable teacher stops training with its reason. */
TpStatus distill_attach(const DistillSlot *d);
/* One line for `status` and the TUI: "distilling from DIR (alpha 0.5)", or "" when not. */
void distill_status(const Task *task, char *buf, size_t n);
/* Free a loaded teacher (*loaded = NULL); trainer (may be NULL) stops borrowing it. */
void distill_free(SessionDistill **loaded, Trainer *trainer);

#endif
