/* tui/app: the workbench's state shared by every screen (the session, the log and status line, the
 * prompt, training flags, the metric series, the generation of each cached view) and the services a
 * screen uses: app_command (every change to the session is a line of the command language, so it is
 * journaled, undoable and replayable), app_log, app_message.  Each screen's own state lives in its
 * own file (tui/screen_*.c); App holds it as an opaque pointer. */
#ifndef TP_APP_H
#define TP_APP_H

#include "sessions/command.h"
#include "sessions/session.h"
#include "sessions/view.h"
#include "tui/pager.h"
#include "tui/prompt.h"
#include "tui/term.h"

#define APP_LOG_LINES 64
#define APP_MAX_SCREENS 8
#define APP_MAX_PENDING 8
#define APP_KEY_QUEUE 32

/* Views cached by the screens, by the bit of CommandResult.views they follow (COMMAND_VIEW_*). */
enum { APP_VIEW_MODEL, APP_VIEW_METRICS, APP_VIEW_LATENCY, APP_VIEW_HISTORY, APP_VIEW_COUNT };

typedef struct App App;
/* Called with every command result (set by the main loop to offer it to the screens). */
typedef void (*AppResultFn)(App *a, const CommandResult *r);

struct App {
    Session *s;
    TermCaps caps;
    int screen;                /* index into the screen table                 */
    int running;               /* training requested (Space)                   */
    int stop_request;          /* stop the current slice run                   */
    int quit;
    int paused_by_nan;         /* the last command stopped on a non-finite loss */
    int in_command;            /* app_command is executing a command (a typed `train steps=N` runs
                                  to its end while paused; a key or signal still stops it) */
    /* commands typed or keyed while training: run between slices */
    char pending[APP_MAX_PENDING][PROMPT_MAX];
    int pending_page[APP_MAX_PENDING];   /* show its output in the pager (typed at `:`) */
    int n_pending;
    /* keys typed during a long operation (validation, profile), acted on after it */
    int keyq[APP_KEY_QUEUE];
    int n_keyq;
    int in_progress;           /* a long operation's progress is on the status line */
    char msg_before[256];      /* the status line before it                         */
    int msg_before_err;
    /* log of commands and events, newest last ('!' first marks an error) */
    char log[APP_LOG_LINES][200];
    int log_n;
    char msg[256];             /* status line                                  */
    int msg_err;
    int prompt_on;
    Prompt prompt;
    Pager pager;               /* the output pane of `:` commands (pager.on: shown) */
    ViewSeries m;              /* metric series for the charts                 */
    char confirm[PROMPT_MAX];  /* a refused command to run with force=1 if the next key is y */
    /* generation of each view's data: a screen recomputes its cache when the number moved */
    unsigned gen[APP_VIEW_COUNT];
    int need_draw;             /* something changed since the last frame       */
    AppResultFn on_result;
    void *screen_state[APP_MAX_SCREENS];
    /* measured responsiveness (TOPIARY_UI_STATS) */
    double last_draw;
    double key_latency_ms, key_train_max_ms;
    double last_step_end, step_sum;
    long n_steps, redraws;
    double draw_seconds;
};

void app_log(App *a, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void app_message(App *a, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Execute (or queue while training) one command line; the result goes to the log and status line,
 * the views it changed are marked (CommandResult.views), and on_result sees it. */
void app_command(App *a, const char *line);
/* app_command for a line typed at `:`: a multi-line output opens the pager. */
void app_command_paged(App *a, const char *line);
/* Mark views (COMMAND_VIEW_* bits) as changed. */
void app_touch(App *a, unsigned views);
/* metrics.tsv and events.tsv read again (after a command that changed them: undo, prune, a train). */
void app_reload_metrics(App *a);

/* Keys typed while a long operation runs are kept, in order, and acted on after it. */
void app_key_push(App *a, int ch);
int app_key_pop(App *a);         /* the oldest kept key, or -1 */
/* A long operation's progress (what: "validation", "profile", "eval"): the status line shows it. */
void app_progress(App *a, const char *what, double fraction);
/* A key typed during it: returns 1 to cancel the operation (Esc, or q which also quits after it, for
 * an operation that may be cancelled: not validation, which ends an epoch); any other key is kept. */
int app_progress_key(App *a, const char *what, int ch);
/* The operation ended: the status line gets `done` (or, when NULL, what it showed before). */
void app_progress_end(App *a, const char *done);

#endif
