/* tui/ui: see ui.h.  The loop: while paused, draw and wait for a key (100 ms timeout); while
 * running, execute "train epochs=1" with a progress hook that, after every minibatch, polls the
 * keyboard and redraws at most every 50 ms; keys that need a command stop the slice at the next
 * minibatch, the command runs, and training resumes.  A key therefore acts within one minibatch. */
#include "ui.h"
#include "base/clock.h"

#include <curses.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/train.h"
#include "plots/tsv.h"
#include "sessions/command.h"
#include "tui/keys.h"

static volatile sig_atomic_t ui_signal;

static void on_signal(int sig) { ui_signal = sig; }


/* ---- log and status line -------------------------------------------------------------------- */

void ui_log(App *a, int err, const char *fmt, ...)
{
    if (a->log_n == UI_LOG_LINES) {
        memmove(a->log[0], a->log[1], sizeof a->log[0] * (UI_LOG_LINES - 1));
        a->log_n--;
    }
    char *line = a->log[a->log_n++];
    line[0] = err ? '!' : ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + 1, sizeof a->log[0] - 1, fmt, ap);
    va_end(ap);
}

void ui_message(App *a, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    a->msg_err = err;
    a->msg_t = clock_now();
}

/* ---- metric series ------------------------------------------------------------------------- */

static int series_push(UiSeries *m, const SessionMetrics *r)
{
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 256;
        double **cols[6] = {&m->step, &m->train_ppl, &m->valid_ppl, &m->sparsity, &m->nnz, &m->tok_s};
        for (int i = 0; i < 6; i++) {
            double *p = realloc(*cols[i], (size_t)cap * sizeof(double));
            if (!p) return -1;
            *cols[i] = p;
        }
        m->cap = cap;
    }
    m->step[m->n] = (double)r->step;
    m->train_ppl[m->n] = r->train_ppl;
    m->valid_ppl[m->n] = r->valid_ppl;
    m->sparsity[m->n] = 100.0 * r->sparsity;
    m->nnz[m->n] = (double)r->nnz;
    m->tok_s[m->n] = r->tokens_per_s;
    m->n++;
    return 0;
}

static void series_free(UiSeries *m)
{
    free(m->step);
    free(m->train_ppl);
    free(m->valid_ppl);
    free(m->sparsity);
    free(m->nnz);
    free(m->tok_s);
    memset(m, 0, sizeof *m);
}

static void load_metrics(App *a)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.tsv", a->s->dir);
    Tsv t;
    if (tsv_read(&t, path, NULL) != TP_OK) {
        ui_log(a, 1, "metrics.tsv: %s", err_msg());
        return;
    }
    const double *step = tsv_col(&t, "step"), *tp = tsv_col(&t, "train_ppl"), *vp = tsv_col(&t, "valid_ppl"),
                 *sp = tsv_col(&t, "sparsity"), *nz = tsv_col(&t, "nnz"), *ts = tsv_col(&t, "tokens_per_s");
    for (size_t i = 0; step && i < t.n_rows; i++) {
        SessionMetrics r = {0};
        r.step = (long)step[i];
        r.train_ppl = tp ? tp[i] : NAN;
        r.valid_ppl = vp ? vp[i] : NAN;
        r.sparsity = sp ? sp[i] : NAN;
        r.nnz = nz && isfinite(nz[i]) ? (size_t)nz[i] : 0;
        r.tokens_per_s = ts ? ts[i] : NAN;
        if (series_push(&a->m, &r)) break;
    }
    tsv_free(&t);
}

/* ---- commands ------------------------------------------------------------------------------ */

static int is_pausing_command(const char *line)
{
    /* commands that end the run instead of interrupting it */
    return !strncmp(line, "quit", 4);
}

void ui_command(App *a, const char *line)
{
    while (*line == ' ') line++;
    if (!*line) return;
    if (a->running && a->n_pending < 8) {
        /* training: stop at the next minibatch, run it, then resume */
        snprintf(a->pending[a->n_pending++], PROMPT_MAX, "%.*s", PROMPT_MAX - 1, line);
        a->stop_request = 1;
        if (is_pausing_command(line)) a->running = 0;
        return;
    }
    CommandResult r;
    double t0 = clock_now();
    TpStatus st = command_execute(a->s, line, &r);
    if (st != TP_OK) {
        ui_log(a, 1, "%s: %s", line, err_msg());
        ui_message(a, 1, "%s", err_msg());
        if (st == TP_ENAN) {
            a->running = 0;
            ui_message(a, 1, "%s -- training paused; press u to undo", err_msg());
        }
        return;
    }
    ui_log(a, 0, "%s -> %s", line, r.summary);
    char first[256];
    snprintf(first, sizeof first, "%.255s", r.text);
    char *nl = strchr(first, '\n');
    if (nl) *nl = '\0';
    ui_message(a, 0, "%s (%.1f s)", first, clock_now() - t0);
    if (!strncmp(line, "prune", 5) && strstr(line, "dry=1")) snprintf(a->preview, sizeof a->preview, "%.2047s", r.text);
    else a->preview_dirty = 1;
    if (r.quit) a->quit = 1;
}

static void run_pending(App *a)
{
    int n = a->n_pending;
    char lines[8][PROMPT_MAX];
    memcpy(lines, a->pending, sizeof lines);
    a->n_pending = 0;
    int was_running = a->running;
    a->running = 0; /* so ui_command executes instead of queueing */
    for (int i = 0; i < n && !a->quit; i++) ui_command(a, lines[i]);
    if (!a->quit && was_running && strncmp(a->msg, "NaN", 3)) a->running = was_running && !a->msg_err ? 1 : 0;
}

/* ---- keys ---------------------------------------------------------------------------------- */

static void quit_request(App *a)
{
    CommandResult r;
    a->running = 0;
    if (command_execute(a->s, "save", &r) == TP_OK) {
        a->quit = 1;
        return;
    }
    /* saving failed: ask, and lose nothing silently */
    ui_message(a, 1, "save failed: %s -- quit anyway? (y/N)", err_msg());
    draw_all(a);
    int ch = term_key(-1);
    if (ch == 'y' || ch == 'Y') a->quit = 1;
}

/* Handle one key; returns 1 if a slice of training should stop now. */
static int handle_key(App *a, int ch)
{
    if (ch == ERR) return 0;
    if (ch == KEY_RESIZE) {
        clearok(curscr, TRUE);
        return 0;
    }
    if (a->prompt_on) {
        PromptState ps = prompt_key(&a->prompt, ch);
        if (ps == PROMPT_CANCEL) a->prompt_on = 0;
        if (ps == PROMPT_SUBMIT) {
            a->prompt_on = 0;
            char line[PROMPT_MAX];
            snprintf(line, sizeof line, "%s", a->prompt.buf);
            if (!strcmp(line, "quit") || !strcmp(line, "q")) {
                a->stop_request = 1;
                quit_request(a);
                return 1;
            }
            ui_command(a, line);
        }
        return a->stop_request;
    }
    /* screen-specific keys first (form editing, list selection) */
    if (a->screen == SCR_PRUNE && screen_prune_key(a, ch)) return a->stop_request;
    if (a->screen == SCR_LATENCY && screen_latency_key(a, ch)) return a->stop_request;
    if (a->screen == SCR_SESSIONS && screen_sessions_key(a, ch)) return a->stop_request;
    if (a->screen == SCR_HELP && screen_help_key(a, ch)) return a->stop_request;
    char cmd[PROMPT_MAX];
    switch (keys_action(ch)) {
    case ACT_RUN:
        a->running = !a->running;
        a->stop_request = !a->running;
        ui_message(a, 0, a->running ? "training..." : "paused");
        return a->stop_request;
    case ACT_STEP:
        if (a->running) { a->running = 0; a->stop_request = 1; }
        ui_command(a, "train steps=1");
        return a->stop_request;
    case ACT_GROW:
    case ACT_PRUNE:
    case ACT_RESIZE:
    case ACT_PROFILE:
    case ACT_APPLY_REC:
        form_command(a, keys_action(ch), cmd, sizeof cmd);
        if (cmd[0]) ui_command(a, cmd);
        return a->stop_request;
    case ACT_UNDO:
        ui_command(a, "undo");
        return a->stop_request;
    case ACT_EXPORT: {
        snprintf(cmd, sizeof cmd, "export out=\"%.400s/export\"", a->s->dir);
        ui_command(a, cmd);
        return a->stop_request;
    }
    case ACT_SAVE:
        ui_command(a, "save");
        return a->stop_request;
    case ACT_PLOT:
        ui_command(a, a->screen == SCR_LATENCY ? "plot chart=latency" : "plot chart=ppl");
        return a->stop_request;
    case ACT_PROMPT:
        a->prompt_on = 1;
        prompt_open(&a->prompt);
        return 0;
    case ACT_HELP:
        a->screen = SCR_HELP;
        return 0;
    case ACT_QUIT:
        a->stop_request = 1;
        quit_request(a);
        return 1;
    case ACT_SCREEN1: case ACT_SCREEN2: case ACT_SCREEN3: case ACT_SCREEN4: case ACT_SCREEN5:
        a->screen = (ScreenId)(keys_action(ch) - ACT_SCREEN1);
        return 0;
    case ACT_NEXT_SCREEN:
        a->screen = (ScreenId)((a->screen + 1) % SCR_COUNT);
        return 0;
    case ACT_PREV_SCREEN:
        a->screen = (ScreenId)((a->screen + SCR_COUNT - 1) % SCR_COUNT);
        return 0;
    case ACT_REDRAW:
        clearok(curscr, TRUE);
        return 0;
    case ACT_NONE:
        break;
    }
    return 0;
}

static void redraw(App *a)
{
    double t0 = clock_now();
    draw_all(a);
    a->draw_seconds += clock_now() - t0;
    a->redraws++;
    a->last_draw = clock_now();
}

/* Called by the command layer after every minibatch of a `train` command. */
static int on_progress(void *ctx, const char *what, double fraction, const Session *s, const SessionMetrics *row)
{
    (void)what;
    (void)fraction;
    (void)s;
    App *a = ctx;
    if (!strcmp(what, "train") && !row) {
        double t = clock_now();
        if (a->last_step_end > 0 && t - a->last_step_end < 10) a->step_sum += t - a->last_step_end, a->n_steps++;
        a->last_step_end = t;
    }
    if (strcmp(what, "train") && strcmp(what, "epoch")) {
        /* a long operation (profile): a progress bar, Esc cancels, other keys wait */
        ui_message(a, 0, "%s: %3.0f%%  (Esc cancels)", what, 100.0 * fraction);
        int ch, esc = 0;
        while ((ch = term_key(0)) != ERR)
            if (ch == 27) esc = 1;
        if (clock_now() - a->last_draw > 0.1) redraw(a);
        return esc || ui_signal;
    }
    if (row) series_push(&a->m, row);
    int stop = 0;
    int ch;
    while ((ch = term_key(0)) != ERR) {
        double t0 = clock_now();
        if (handle_key(a, ch)) stop = 1;
        redraw(a);
        a->key_latency_ms = 1e3 * (clock_now() - t0);
        /* a key waits at most one minibatch to be read; this is the handling and redraw after it */
        if (a->key_latency_ms > a->key_train_max_ms) a->key_train_max_ms = a->key_latency_ms;
    }
    if (clock_now() - a->last_draw > 0.05) redraw(a);
    return stop || a->stop_request || ui_signal || !a->running;
}

/* ---- main loop ----------------------------------------------------------------------------- */

int tui_run(Session *s, const TuiOptions *o)
{
    App *a = calloc(1, sizeof *a);
    if (!a) return 1;
    a->s = s;
    TpStatus st = term_init(&a->caps, !o->no_color, o->ascii);
    if (st != TP_OK) {
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
    load_metrics(a);
    form_init(a);
    a->preview_dirty = 1;
    const ModelParam *first_w = model_param(&s->model, "l0.w_ih");
    if (!first_w) first_w = model_param(&s->model, "l0.fc1.weight");
    a->heat_tensor = first_w ? (int)(first_w - s->model.p) : 0;
    command_set_progress(on_progress, a);
    double t_start = clock_now();
    long step_start = s->trainer.step;
    double key_max_ms = 0.0;
    ui_log(a, 0, "opened %s at step %ld", s->dir, s->trainer.step);
    ui_message(a, 0, "Space runs training, ? shows every key, : takes a command");
    int rc = 0;
    while (!a->quit) {
        if (ui_signal) {
            CommandResult r;
            if (command_execute(s, "save", &r) != TP_OK) rc = 1;
            break;
        }
        if (a->n_pending) {
            run_pending(a);
            continue;
        }
        if (a->running && !term_too_small()) {
            a->stop_request = 0;
            CommandResult r;
            double t0 = clock_now();
            st = command_execute(s, "train epochs=1", &r);
            if (st != TP_OK) {
                a->running = 0;
                ui_log(a, 1, "train: %s", err_msg());
                ui_message(a, 1, st == TP_ENAN ? "%s -- paused; u undoes the last step" : "%s", err_msg());
            } else {
                ui_log(a, 0, "%s", r.summary);
            }
            a->step_t = clock_now() - t0;
            continue;
        }
        if (a->screen == SCR_PRUNE && a->preview_dirty && !a->running) {
            char cmd[PROMPT_MAX];
            form_command(a, ACT_PRUNE, cmd, sizeof cmd);
            a->preview_dirty = 0;
            if (cmd[0]) {
                CommandResult r;
                char dry[PROMPT_MAX + 8];
                snprintf(dry, sizeof dry, "%s dry=1", cmd);
                if (command_execute(s, dry, &r) == TP_OK) snprintf(a->preview, sizeof a->preview, "%.2047s", r.text);
                else snprintf(a->preview, sizeof a->preview, "preview: %s", err_msg());
            }
        }
        redraw(a);
        int ch = term_key(100);
        double t0 = clock_now();
        if (ch != ERR) {
            handle_key(a, ch);
            redraw(a);
            a->key_latency_ms = 1e3 * (clock_now() - t0);
        }
        if (a->key_latency_ms > key_max_ms) key_max_ms = a->key_latency_ms;
    }
    command_set_progress(NULL, NULL);
    term_done();
    if (ui_signal) fprintf(stderr, "topiary: signal %d: session saved\n", (int)ui_signal);
    if (getenv("TOPIARY_UI_STATS")) {
        /* responsiveness, measured: how much of the time went to drawing, and key-to-screen */
        double total = clock_now() - t_start;
        fprintf(stderr, "topiary: ui: %ld redraws in %.1f s (%.1f ms each, %.2f%% of the time), %ld steps trained, "
                        "key to screen: at most %.1f ms paused; under training at most one minibatch (%.1f ms mean) + %.1f ms\n", a->redraws,
                total, a->redraws ? 1e3 * a->draw_seconds / (double)a->redraws : 0.0, 100.0 * a->draw_seconds / total,
                s->trainer.step - step_start, key_max_ms, a->n_steps ? 1e3 * a->step_sum / (double)a->n_steps : 0.0,
                a->key_train_max_ms);
    }
    series_free(&a->m);
    free(a);
    return rc;
}
