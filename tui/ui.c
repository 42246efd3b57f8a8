/* tui/ui: tui_run, the main loop.  While paused it waits for a key and draws only when something
 * changed (a key, a command result, a resize): an idle workbench neither redraws nor touches a file.
 * While running, it executes "train epochs=1" with a progress hook that, after every minibatch, polls
 * the keyboard and redraws at most every 50 ms; keys that need a command stop the slice at the next
 * minibatch, the command runs, and training resumes.  A key therefore acts within one minibatch.
 * Keys go to the current screen first, then to the key table (tui/keys), whose bindings are actions
 * or command lines. */
#include <curses.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/signals.h"
#include "tui/app.h"
#include "tui/frame.h"
#include "tui/keys.h"
#include "tui/screens.h"
#include "tui/tui.h"

#define IDLE_POLL_MS 500       /* how often an idle loop looks at the stop signals */

static volatile sig_atomic_t ui_signal;
static int in_train;      /* a training slice is executing: the progress hook handles keys  */
static int quit_after;    /* q during a training slice: save and quit once the slice is over */

static void on_signal(int sig) { ui_signal = sig; }

static void redraw(App *a)
{
    double t0 = clock_now();
    screens_refresh(a);
    frame_draw(a);
    a->need_draw = 0;
    a->draw_seconds += clock_now() - t0;
    a->redraws++;
    a->last_draw = clock_now();
}

static void run_pending(App *a)
{
    int n = a->n_pending;
    char lines[APP_MAX_PENDING][PROMPT_MAX];
    int paged[APP_MAX_PENDING];
    memcpy(lines, a->pending, sizeof lines);
    memcpy(paged, a->pending_page, sizeof paged);
    a->n_pending = 0;
    int was_running = a->running;
    a->running = 0; /* so app_command executes instead of queueing */
    a->msg_err = 0;
    for (int i = 0; i < n && !a->quit; i++) (paged[i] ? app_command_paged : app_command)(a, lines[i]);
    /* resume unless a command failed or training stopped on a non-finite loss */
    if (!a->quit && was_running) a->running = !a->msg_err && !a->paused_by_nan;
}

/* Snapshot names for the prompt's completion (restore name=), read when Tab asks for them. */
static int snapshot_names(void *ctx, char out[][64], int max)
{
    App *a = ctx;
    ViewHistory *h = calloc(1, sizeof *h);
    int n = 0;
    if (h && view_history_load(h, a->s->dir) == TP_OK)
        for (int i = h->n_snaps - 1; i >= 0 && n < max; i--) snprintf(out[n++], 64, "%s", h->snaps[i].name);
    if (h) view_history_free(h);
    free(h);
    return n;
}

static void quit_request(App *a);

/* q: save and quit; under a training slice, stop it first so that the save is not nested in it */
static void quit_key(App *a)
{
    if (in_train) {
        quit_after = 1;
        a->running = 0;
        a->stop_request = 1;
        return;
    }
    quit_request(a);
}

static void quit_request(App *a)
{
    CommandResult r;
    a->running = 0;
    a->stop_request = 1;
    if (command_execute(a->s, "save", &r) == TP_OK) {
        a->quit = 1;
        return;
    }
    /* saving failed: ask, and lose nothing silently */
    app_message(a, 1, "save failed: %s -- quit anyway? (y/N)", err_msg());
    redraw(a);
    int ch = term_key(-1);
    if (ch == 'y' || ch == 'Y') a->quit = 1;
}

static int screen_index(const Screen *want)
{
    int n;
    const Screen *const *t = screens_table(&n);
    for (int i = 0; i < n; i++)
        if (t[i] == want) return i;
    return 0;
}

/* A global key from the key table. */
static void key_action(App *a, const KeyBinding *k)
{
    int n;
    const Screen *const *scr = screens_table(&n);
    char cmd[PROMPT_MAX];
    switch (k->action) {
    case ACT_COMMAND: app_command(a, k->command); break;
    case ACT_STEP:
        if (a->running) a->running = 0, a->stop_request = 1;
        app_command(a, k->command);
        break;
    case ACT_RUN:
        a->running = !a->running;
        a->stop_request = !a->running;
        app_message(a, 0, a->running ? "training..." : "paused");
        break;
    case ACT_GROW: case ACT_PRUNE: case ACT_RESIZE: case ACT_APPLY_REC:
        if (!screens_action(a, k->action)) app_message(a, 1, "%s: no screen implements this key", k->name);
        break;
    case ACT_EXPORT:
        snprintf(cmd, sizeof cmd, "export out=\"%.400s/export\"", a->s->dir);
        app_command(a, cmd);
        break;
    case ACT_PLOT:
        snprintf(cmd, sizeof cmd, "plot chart=%s", scr[a->screen]->chart ? scr[a->screen]->chart : "ppl");
        app_command(a, cmd);
        break;
    case ACT_PROMPT:
        a->prompt_on = 1;
        prompt_open(&a->prompt);
        break;
    case ACT_HELP: a->screen = screen_index(&SCREEN_HELP); break;
    case ACT_QUIT: quit_key(a); break;
    case ACT_SCREEN: if (k->arg < n) a->screen = k->arg; break;
    case ACT_NEXT_SCREEN: a->screen = (a->screen + 1) % n; break;
    case ACT_PREV_SCREEN: a->screen = (a->screen + n - 1) % n; break;
    case ACT_REDRAW: clearok(curscr, TRUE); break;
    case ACT_NONE: break;
    }
}

/* Handle one key; returns 1 if a slice of training should stop now. */
static int handle_key(App *a, int ch)
{
    if (ch == ERR) return 0;
    a->need_draw = 1;
    if (ch == KEY_RESIZE) {
        clearok(curscr, TRUE);
        return 0;
    }
    if (a->confirm[0]) { /* the answer to "do it? (y/N)" */
        char line[PROMPT_MAX];
        snprintf(line, sizeof line, "%s", a->confirm);
        a->confirm[0] = '\0';
        if (ch == 'y' || ch == 'Y') app_command(a, line);
        else app_message(a, 0, "not done");
        return 0;
    }
    if (a->pager.on) {
        /* the output pane: its keys scroll or close it; any other key closes it and acts */
        if (pager_key(&a->pager, ch, frame_pager_rows())) return a->stop_request;
        pager_close(&a->pager);
    }
    if (a->prompt_on) {
        PromptState ps = prompt_key(&a->prompt, ch);
        if (ps == PROMPT_CANCEL) a->prompt_on = 0;
        if (ps == PROMPT_SUBMIT) {
            a->prompt_on = 0;
            char line[PROMPT_MAX];
            snprintf(line, sizeof line, "%s", a->prompt.buf);
            if (!strcmp(line, "quit") || !strcmp(line, "q")) {
                quit_key(a);
                return 1;
            }
            app_command_paged(a, line);
        }
        return a->stop_request;
    }
    /* the screen's own keys first (form editing, list selection) */
    if (screens_key(a, ch)) return a->stop_request;
    const KeyBinding *k = keys_lookup(ch);
    if (!k) return 0;
    key_action(a, k);
    return k->action == ACT_QUIT || a->stop_request;
}

/* A prune/grow a schedule made while training: a line of the log (sessions/events). */
static int on_train_event(void *ctx, TrainloopEvent ev, const Session *s, const TrainRun *run, const SessionMetrics *row)
{
    (void)s, (void)row;
    if (ev == TRAINLOOP_SCHEDULE && run->event) app_log(ctx, 0, "schedule: %s", run->event);
    return 0;
}

/* Called by the command layer after every minibatch of a `train` command. */
static int on_progress(void *ctx, const char *what, double fraction, const Session *s, const SessionMetrics *row)
{
    (void)s;
    App *a = ctx;
    if (!strcmp(what, "train") && !row) {
        double t = clock_now();
        if (a->last_step_end > 0 && t - a->last_step_end < 10) a->step_sum += t - a->last_step_end, a->n_steps++;
        a->last_step_end = t;
    }
    if (strcmp(what, "train") && strcmp(what, "epoch")) {
        /* a long operation (validation, profile): a progress bar; Esc cancels one that may be
         * cancelled, other keys are kept and act when it ends */
        app_progress(a, what, fraction);
        int ch, cancel = 0;
        while ((ch = term_key(0)) != ERR)
            if (ch != KEY_RESIZE && app_progress_key(a, what, ch)) cancel = 1;
        if (clock_now() - a->last_draw > 0.1) redraw(a);
        return cancel || ui_signal;
    }
    if (a->in_progress) {
        /* the validation that ends an epoch is over: say what it found */
        char done[96];
        if (row && isfinite(row->valid_ppl)) snprintf(done, sizeof done, "validation: valid ppl %.2f", row->valid_ppl);
        app_progress_end(a, row && isfinite(row->valid_ppl) ? done : NULL);
        redraw(a);
    }
    if (row) view_metrics_push(&a->m, row);
    int stop = 0, ch;
    /* keys kept during the validation first, in order, then the new ones */
    while ((ch = app_key_pop(a)) >= 0 || (ch = term_key(0)) != ERR) {
        double t0 = clock_now();
        if (handle_key(a, ch)) stop = 1;
        redraw(a);
        /* a key waits at most one minibatch to be read; this is the handling and redraw after it */
        a->key_latency_ms = 1e3 * (clock_now() - t0);
        if (a->key_latency_ms > a->key_train_max_ms) a->key_train_max_ms = a->key_latency_ms;
    }
    if (clock_now() - a->last_draw > 0.05) redraw(a);
    return stop || a->stop_request || ui_signal || (!a->running && !a->in_command);
}

/* One slice of training: an epoch, or less when a key or a signal stops it. */
static void train_slice(App *a)
{
    a->stop_request = 0;
    CommandResult r;
    in_train = 1;
    TpStatus st = command_execute(a->s, "train epochs=1", &r);
    in_train = 0;
    app_progress_end(a, NULL);
    app_touch(a, r.views);
    if (r.views & COMMAND_VIEW_METRICS) app_reload_metrics(a); /* the schedule's event rows too */
    if (st != TP_OK) {
        a->running = 0;
        a->paused_by_nan = r.nan;
        app_log(a, 1, "train: %s", err_msg());
        app_message(a, 1, r.nan ? "%s -- paused; u undoes the last step" : "%s", err_msg());
    } else {
        app_log(a, 0, "%s", r.summary);
    }
}

static void print_stats(const App *a, double t_start, long step_start, double key_max_ms)
{
    /* responsiveness, measured: how much of the time went to drawing, and key-to-screen */
    double total = clock_now() - t_start;
    fprintf(stderr, "topiary: ui: %ld redraws in %.1f s (%.1f ms each, %.2f%% of the time), %ld steps trained, "
                    "key to screen: at most %.1f ms paused; under training at most one minibatch (%.1f ms mean) + %.1f ms\n",
            a->redraws, total, a->redraws ? 1e3 * a->draw_seconds / (double)a->redraws : 0.0, 100.0 * a->draw_seconds / total,
            view_step(a->s) - step_start, key_max_ms, a->n_steps ? 1e3 * a->step_sum / (double)a->n_steps : 0.0,
            a->key_train_max_ms);
}

int tui_run(Session *s, const TuiOptions *o)
{
    App *a = calloc(1, sizeof *a);
    if (!a) return 1;
    a->s = s;
    if (view_metrics_load(&a->m, s->dir) != TP_OK) app_log(a, 1, "%s", err_msg());
    if (screens_init(a) != TP_OK) {
        fprintf(stderr, "topiary: %s\n", err_msg());
        view_metrics_free(&a->m);
        free(a);
        return 1;
    }
    TpStatus st = term_init(&a->caps, !o->no_color, o->ascii);
    if (st != TP_OK) {
        screens_fini(a);
        view_metrics_free(&a->m);
        free(a);
        fprintf(stderr, "topiary: %s\n", err_msg());
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (o->screen) { /* the screen asked for (topiary learn) */
        int n;
        const Screen *const *t = screens_table(&n);
        for (int i = 0; i < n; i++)
            if (!strcmp(t[i]->name, o->screen)) a->screen = i;
    }
    a->on_result = screens_result;
    a->prompt.names = snapshot_names;
    a->prompt.names_ctx = a;
    command_set_progress(on_progress, a);
    command_set_train_hook(on_train_event, a);
    double t_start = clock_now(), key_max_ms = 0.0;
    long step_start = view_step(s);
    app_log(a, 0, "opened %s at step %ld", s->dir, step_start);
    app_message(a, 0, "Space runs training, ? shows every key, : takes a command");
    int rc = 0;
    while (!a->quit) {
        if (ui_signal) {
            CommandResult r;
            if (command_execute(s, "save", &r) != TP_OK) rc = 1;
            break;
        }
        if (quit_after) {
            quit_after = 0;
            quit_request(a);
            continue;
        }
        if (a->n_pending) {
            run_pending(a);
            continue;
        }
        if (a->running && !term_too_small()) {
            train_slice(a);
            continue;
        }
        if (a->need_draw) redraw(a);
        /* keys kept during a long operation act now, in order */
        int ch = app_key_pop(a);
        if (ch < 0) ch = term_key(IDLE_POLL_MS);
        if (ch == ERR) continue;
        double t0 = clock_now();
        handle_key(a, ch);
        if (!a->quit) redraw(a);
        a->key_latency_ms = 1e3 * (clock_now() - t0);
        if (a->key_latency_ms > key_max_ms) key_max_ms = a->key_latency_ms;
    }
    command_set_progress(NULL, NULL);
    command_set_train_hook(NULL, NULL);
    term_done();
    if (ui_signal) {
        fprintf(stderr, "topiary: signal %d: %s\n", (int)ui_signal, rc ? "the save failed" : "session saved");
        /* a stop by a signal is not a success: 128 + signal, as a shell reports it (base/signals) */
        if (!rc) rc = signals_exit_code(ui_signal);
    }
    if (getenv("TOPIARY_UI_STATS")) print_stats(a, t_start, step_start, key_max_ms);
    screens_fini(a);
    view_metrics_free(&a->m);
    free(a);
    return rc;
}
