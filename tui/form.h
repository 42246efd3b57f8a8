/* tui/form: the Grow & prune form, generated from the verbs' key specs (command_key_spec): each field
 * names the verb key it sets, and its type, range and choices are that key's, so the form accepts
 * exactly what the verb accepts (one source of ranges).  The form's own knowledge is only the label,
 * the default value and whether a field may stay empty.  Pure data: no curses, no session. */
#ifndef TP_FORM_H
#define TP_FORM_H

#include <stddef.h>

#include "base/status.h"

#define FORM_MAX_FIELDS 26
#define FORM_MAX_LAYERS 8
#define FORM_LINE_MAX 512

typedef enum { FORM_NUM, FORM_CHOICE, FORM_TEXT } FormFieldType;

typedef struct {
    const char *label;
    const char *verb, *key;    /* the verb key it sets; key NULL: the verb's positional word   */
    FormFieldType type;
    int integer;               /* FORM_NUM: whole numbers only                                 */
    double lo, hi;             /* FORM_NUM range (the verb's)                                  */
    const char *choices;       /* FORM_CHOICE "a|b|c" (the verb's)                             */
    int optional;              /* may be empty                                                 */
    char value[64];
} FormField;

/* Field indices (the per-layer targets follow FORM_TARGET0). */
enum { FORM_GROW, FORM_INIT, FORM_BATCHES, FORM_PRUNE, FORM_THRESH, FORM_IH, FORM_HH, FORM_PATTERN, FORM_BLOCK, FORM_ROWS,
       FORM_SCOPE, FORM_PARAMS, FORM_SCHED, FORM_AGP_TO, FORM_AGP_STEPS, FORM_GP_TOL, FORM_TAU, FORM_TARGET0 };

typedef struct {
    FormField f[FORM_MAX_FIELDS];
    int n;
    int n_layers;
} Form;

typedef enum { FORM_CMD_GROW, FORM_CMD_PRUNE, FORM_CMD_RESIZE, FORM_CMD_SCHEDULE, FORM_CMD_STATE } FormCommand;

/* The fields with their defaults; one target per layer (its current size).  TP_EINVAL if a field
 * names a key the verb table does not have. */
TpStatus form_init(Form *f, int n_layers, const int *hidden);
/* 1 if v is a valid value of the field (empty only when optional). */
int form_field_valid(const FormField *f, const char *v);
/* The next (dir > 0) or previous choice; numbers move by 0.05 (ranges up to 1) or 8 (sizes). */
void form_field_step(FormField *f, int dir);
/* 1 if the field belongs to the schedule (Enter applies the schedule). */
int form_field_is_schedule(int i);
/* The command lines of a form action (resize: one per layer whose target differs from hidden[];
 * possibly none).  step: the session's step (schedule agp starts now).  TP_EINVAL naming the field
 * when the form is invalid or the action has nothing to do it with. */
TpStatus form_commands(const Form *f, FormCommand c, long step, const int *hidden, char lines[][FORM_LINE_MAX], int max,
                       int *n);

/* The settings as text, one "verb.key=value" line per field (the per-layer targets are not kept:
 * they follow the model), for the TUI's state file; form_state_load applies the lines of such a text
 * whose field exists and whose value is valid, skips the others, and returns how many it applied. */
void form_state_text(const Form *f, char *buf, size_t n);
int form_state_load(Form *f, const char *text);

#endif
