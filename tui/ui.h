/* tui/ui: the interactive workbench: view state (screen, focus, form values, prompt, log), the main
 * loop, and training in slices between key polls (DESIGN 1).  It owns no model state: every change
 * to the session is a line of the command language sent to command_execute(), so it is journaled,
 * undoable and replayable; the screens only read the session. */
#ifndef TP_UI_H
#define TP_UI_H

#include <stddef.h>

#include "plots/canvas.h"
#include "sessions/session.h"
#include "tui/prompt.h"
#include "tui/term.h"
#include "tui/tui.h"

typedef enum { SCR_TRAIN = 0, SCR_PRUNE, SCR_LATENCY, SCR_SESSIONS, SCR_HELP, SCR_COUNT } ScreenId;

/* Metric series for the charts (from metrics.tsv, then live). */
typedef struct {
    int n, cap;
    double *step, *train_ppl, *valid_ppl, *sparsity, *nnz, *tok_s;
} UiSeries;

/* The Grow & prune form. */
typedef enum { FIELD_NUM, FIELD_CHOICE, FIELD_TEXT } FieldType;
typedef struct {
    const char *label;
    const char *key;          /* what it controls, for the status line */
    FieldType type;
    double lo, hi;            /* FIELD_NUM range                      */
    const char *choices;      /* FIELD_CHOICE "a|b|c"                 */
    int optional;             /* may be empty                         */
    char value[64];
    int valid;
} UiField;

#define UI_MAX_FIELDS 24
#define UI_LOG_LINES 64

typedef struct {
    Session *s;
    TermCaps caps;
    ScreenId screen;
    int running;               /* training requested (Space)               */
    int stop_request;          /* stop the current slice run               */
    int quit;
    /* pending commands typed or keyed while training: run between slices */
    char pending[8][PROMPT_MAX];
    int n_pending;
    /* log of commands and events, newest last */
    char log[UI_LOG_LINES][200];
    int log_n;
    char msg[256];             /* status line                              */
    int msg_err;
    double msg_t;
    /* prompt */
    int prompt_on;
    Prompt prompt;
    /* Grow & prune form */
    UiField f[UI_MAX_FIELDS];
    int n_fields, sel, editing;
    char edit_buf[64];
    char preview[2048];        /* dry-run result of the next prune          */
    int preview_dirty;
    int heat_tensor;           /* tensor shown in the mask heatmap          */
    /* Latency screen */
    int lat_layer;             /* selected layer                            */
    /* Sessions screen */
    int snap_sel, snap_mark;   /* selection and the one marked for compare  */
    int help_scroll;           /* first line shown on the Help screen       */
    /* charts */
    UiSeries m;
    int chart_sel;             /* which chart P exports on the Train screen */
    double last_draw, step_t;  /* redraw throttle; last minibatch time      */
    double key_latency_ms;     /* measured: key read to screen drawn        */
    double key_train_max_ms;   /* measured under training: key to screen    */
    double last_step_end, step_sum; /* minibatch timing under the UI          */
    long n_steps;
    long redraws;
    double draw_seconds;
} App;


/* ---- shared by the screens (tui/draw.c, tui/screens.c) ---- */
void ui_log(App *a, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ui_message(App *a, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Execute (or queue while training) one command line; results go to the log/status line. */
void ui_command(App *a, const char *line);

void draw_all(App *a);
void draw_text(int y, int x, int w, int attr, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void draw_box_title(int y, int x, int h, int w, const char *title);
/* A chart of series into a region, colours from the cells' tags. */
void draw_chart(App *a, int y, int x, int h, int w, const char *title, const char *const *names, const double *x_vals,
                const double *const *y_vals, int n_series, int n_points, int log_y, const double *marks_x,
                const char *const *mark_labels, int n_marks);
void screen_train(App *a, int top, int h);
void screen_prune(App *a, int top, int h);
void screen_latency(App *a, int top, int h);
void screen_sessions(App *a, int top, int h);
void screen_help(App *a, int top, int h);
int screen_prune_key(App *a, int ch);     /* 1 if the key was used by the form */
int screen_latency_key(App *a, int ch);
int screen_sessions_key(App *a, int ch);
int screen_help_key(App *a, int ch);
void form_init(App *a);
/* Build the command line of an action from the form ("" if the form is invalid). */
void form_command(App *a, int action, char *buf, size_t n);

#endif
