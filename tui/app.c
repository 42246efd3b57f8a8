/* tui/app: see app.h. */
#include "app.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"

void app_log(App *a, int err, const char *fmt, ...)
{
    if (a->log_n == APP_LOG_LINES) {
        memmove(a->log[0], a->log[1], sizeof a->log[0] * (APP_LOG_LINES - 1));
        a->log_n--;
    }
    char *line = a->log[a->log_n++];
    line[0] = err ? '!' : ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + 1, sizeof a->log[0] - 1, fmt, ap);
    va_end(ap);
    a->need_draw = 1;
}

void app_message(App *a, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    a->msg_err = err;
    a->need_draw = 1;
}

void app_touch(App *a, unsigned views)
{
    for (int i = 0; i < APP_VIEW_COUNT; i++)
        if (views & (1u << i)) a->gen[i]++;
    a->need_draw = 1;
}

void app_reload_metrics(App *a)
{
    view_metrics_free(&a->m);
    if (view_metrics_load(&a->m, a->s->dir) != TP_OK) app_log(a, 1, "%s", err_msg());
}

static void command_run(App *a, const char *line, int paged)
{
    while (*line == ' ') line++;
    if (!*line) return;
    if (a->running) {
        /* training: stop at the next minibatch, run it, then resume */
        if (a->n_pending < APP_MAX_PENDING) {
            a->pending_page[a->n_pending] = paged;
            snprintf(a->pending[a->n_pending++], PROMPT_MAX, "%.*s", PROMPT_MAX - 1, line);
        }
        a->stop_request = 1;
        /* `quit` ends the run instead of interrupting it */
        Command c;
        if (command_parse(line, &c) == TP_OK && !strcmp(c.verb, "quit")) a->running = 0;
        return;
    }
    CommandResult r;
    double t0 = clock_now();
    a->in_command++;
    TpStatus st = command_execute(a->s, line, &r);
    app_progress_end(a, NULL); /* a profile's progress gives way to its result */
    a->in_command--;
    app_touch(a, r.views);
    if (r.views & COMMAND_VIEW_METRICS) app_reload_metrics(a);
    a->paused_by_nan = r.nan;
    if (st != TP_OK && r.confirm) {
        /* a command that asks first (undo of many steps): y runs it again with force=1 (tui/ui.c) */
        snprintf(a->confirm, sizeof a->confirm, "%.*s force=1", PROMPT_MAX - 10, line);
        app_message(a, 1, "do it? (y/N) -- %s", err_msg());
    } else if (st != TP_OK) {
        if (r.nan) a->running = 0;
        app_log(a, 1, "%s: %s", line, err_msg());
        if (r.nan) app_message(a, 1, "%s -- training paused; press u to undo", err_msg());
        else app_message(a, 1, "%s", err_msg());
    } else {
        app_log(a, 0, "%s -> %s", line, r.summary);
        char first[256];
        snprintf(first, sizeof first, "%.255s", r.text);
        char *nl = strchr(first, '\n');
        if (nl) *nl = '\0';
        app_message(a, 0, "%s (%.1f s)", first, clock_now() - t0);
        if (r.quit) a->quit = 1;
        /* the whole output in the pager when it does not fit the status line */
        int width = COLS > 0 ? COLS : TERM_MIN_COLS;
        if (paged && (nl || (int)strlen(r.text) + 8 > width)) {
            char title[160];
            snprintf(title, sizeof title, ":%.150s", line);
            if (pager_open(&a->pager, title, r.text) != TP_OK) app_message(a, 1, "%s", err_msg());
        }
    }
    if (a->on_result) a->on_result(a, &r);
}

void app_command(App *a, const char *line) { command_run(a, line, 0); }

void app_command_paged(App *a, const char *line) { command_run(a, line, 1); }

void app_key_push(App *a, int ch)
{
    if (a->n_keyq < APP_KEY_QUEUE) a->keyq[a->n_keyq++] = ch;
}

int app_key_pop(App *a)
{
    if (!a->n_keyq) return -1;
    int ch = a->keyq[0];
    memmove(a->keyq, a->keyq + 1, sizeof a->keyq[0] * (size_t)--a->n_keyq);
    return ch;
}

static int cancellable(const char *what) { return strcmp(what, "validation") != 0; }

void app_progress(App *a, const char *what, double fraction)
{
    if (!a->in_progress) {
        snprintf(a->msg_before, sizeof a->msg_before, "%s", a->msg);
        a->msg_before_err = a->msg_err;
        a->in_progress = 1;
    }
    char kept[48] = "";
    if (a->n_keyq) snprintf(kept, sizeof kept, ", %d key%s kept for after it", a->n_keyq, a->n_keyq == 1 ? "" : "s");
    app_message(a, 0, "%s: %3.0f%%  (%s%s)", what, 100.0 * fraction,
                cancellable(what) ? "Esc cancels" : "keys act when it ends", kept);
}

int app_progress_key(App *a, const char *what, int ch)
{
    if (ch == 27) return cancellable(what);
    app_key_push(a, ch);
    return ch == 'q' && cancellable(what);
}

void app_progress_end(App *a, const char *done)
{
    if (!a->in_progress) return;
    a->in_progress = 0;
    if (done) app_message(a, 0, "%s", done);
    else app_message(a, a->msg_before_err, "%s", a->msg_before);
}
