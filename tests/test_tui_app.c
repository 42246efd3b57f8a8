/* tests/test_tui_app: the workbench's state that needs no terminal: keys typed during a long
 * operation and the status line around it (tui/app), and the output pager of `:` commands
 * (tui/pager).
 *
 * Keys during validation (which ends an epoch and cannot be cancelled) are all kept, in order,
 * Space and q included, and Esc does not cancel it; during a profile Esc cancels and q cancels and is
 * kept (so it quits after); the status line shows the progress and, when the operation ends, what it
 * found or what it showed before (never the stale "validation: 100%").  The queue keeps its first
 * APP_KEY_QUEUE keys.  Lines typed at `:` under training are queued with the pager flag.
 * Pager: it holds the whole text (trailing newlines dropped), wraps long lines at spaces to the width
 * (a longer word is cut) without losing a character, scrolls with j/k/arrows/PgUp/PgDn/g/G within
 * its rows, closes on q and Esc, and leaves other keys to the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/app.h"
#include "tui/pager.h"

static void test_keys_during_validation_are_kept(void **state)
{
    (void)state;
    App *a = calloc(1, sizeof *a);
    assert_non_null(a);
    app_message(a, 0, "training...");
    app_progress(a, "validation", 0.5);
    assert_non_null(strstr(a->msg, "validation:  50%"));
    assert_null(strstr(a->msg, "Esc cancels"));
    assert_int_equal(app_progress_key(a, "validation", ' '), 0);
    assert_int_equal(app_progress_key(a, "validation", 'q'), 0);
    assert_int_equal(app_progress_key(a, "validation", 27), 0);
    assert_int_equal(app_progress_key(a, "validation", '4'), 0);
    app_progress(a, "validation", 1.0);
    assert_non_null(strstr(a->msg, "100%"));
    assert_non_null(strstr(a->msg, "3 keys kept"));
    assert_string_equal(a->msg_before, "training...");
    app_progress_end(a, "validation: valid ppl 12.34");
    assert_string_equal(a->msg, "validation: valid ppl 12.34");
    assert_int_equal(a->in_progress, 0);
    /* in the order typed; Esc was not kept */
    assert_int_equal(app_key_pop(a), ' ');
    assert_int_equal(app_key_pop(a), 'q');
    assert_int_equal(app_key_pop(a), '4');
    assert_int_equal(app_key_pop(a), -1);
    /* ending again changes nothing */
    app_progress_end(a, NULL);
    assert_string_equal(a->msg, "validation: valid ppl 12.34");
    free(a);
}

static void test_a_profile_may_be_cancelled(void **state)
{
    (void)state;
    App *a = calloc(1, sizeof *a);
    assert_non_null(a);
    app_message(a, 1, "before");
    app_progress(a, "profile", 0.25);
    assert_non_null(strstr(a->msg, "profile:  25%"));
    assert_non_null(strstr(a->msg, "Esc cancels"));
    assert_int_equal(app_progress_key(a, "profile", 's'), 0);
    assert_int_equal(app_progress_key(a, "profile", 27), 1);
    assert_int_equal(app_progress_key(a, "profile", 'q'), 1);
    app_progress_end(a, NULL);
    assert_string_equal(a->msg, "before"); /* what it showed before, error flag included */
    assert_int_equal(a->msg_err, 1);
    assert_int_equal(app_key_pop(a), 's');
    assert_int_equal(app_key_pop(a), 'q'); /* quits after the cancelled profile */
    assert_int_equal(app_key_pop(a), -1);
    for (int i = 0; i < APP_KEY_QUEUE + 8; i++) app_key_push(a, 'a' + i % 26);
    assert_int_equal(a->n_keyq, APP_KEY_QUEUE);
    assert_int_equal(app_key_pop(a), 'a');
    free(a);
}

static void test_prompt_lines_under_training_keep_the_pager_flag(void **state)
{
    (void)state;
    App *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->running = 1;
    app_command_paged(a, "help prune");
    app_command(a, "status");
    assert_int_equal(a->n_pending, 2);
    assert_string_equal(a->pending[0], "help prune");
    assert_int_equal(a->pending_page[0], 1);
    assert_int_equal(a->pending_page[1], 0);
    assert_int_equal(a->stop_request, 1);
    free(a);
}

static char *rejoin(const Pager *p)
{
    char *s = calloc(1, strlen(p->text) + 1);
    for (int r = 0; r < p->n_rows; r++) strncat(s, p->text + p->row_off[r], (size_t)p->row_len[r]);
    return s;
}

static void test_pager_wraps_and_scrolls(void **state)
{
    (void)state;
    Pager p;
    memset(&p, 0, sizeof p);
    char text[4096] = "";
    for (int i = 0; i < 30; i++) snprintf(text + strlen(text), sizeof text - strlen(text), "line %d\n", i);
    strcat(text, "a long line of words that does not fit in forty columns and goes on to wrap twice or more\n");
    strcat(text, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n\n\n");
    assert_int_equal(pager_open(&p, ":help prune", text), TP_OK);
    assert_true(p.on);
    assert_string_equal(p.title, ":help prune");
    int n = pager_layout(&p, 40);
    assert_true(n >= 30 + 3 + 3);
    for (int r = 0; r < n; r++) assert_true(p.row_len[r] <= 40);
    /* wrapped at a space: the row ends with one, and nothing is lost */
    assert_int_equal(p.text[p.row_off[30] + p.row_len[30] - 1], ' ');
    char *joined = rejoin(&p), *want = calloc(1, sizeof text);
    for (const char *q = p.text; *q; q++)
        if (*q != '\n') strncat(want, q, 1);
    assert_string_equal(joined, want);
    free(joined);
    free(want);
    assert_int_equal(p.row_len[n - 1], 83 - 80); /* the long word: 40 + 40 + 3, no empty rows after */
    int rows = 10;
    assert_int_equal(pager_key(&p, 'j', rows), 1);
    assert_int_equal(p.top, 1);
    assert_int_equal(pager_key(&p, KEY_UP, rows), 1);
    assert_int_equal(pager_key(&p, 'k', rows), 1);
    assert_int_equal(p.top, 0);
    assert_int_equal(pager_key(&p, KEY_NPAGE, rows), 1);
    assert_int_equal(p.top, rows - 1);
    assert_int_equal(pager_key(&p, 'G', rows), 1);
    assert_int_equal(p.top, n - rows);
    assert_int_equal(pager_key(&p, KEY_DOWN, rows), 1);
    assert_int_equal(p.top, n - rows);
    assert_int_equal(pager_key(&p, KEY_PPAGE, rows), 1);
    assert_int_equal(p.top, n - rows - (rows - 1));
    assert_int_equal(pager_key(&p, 'g', rows), 1);
    assert_int_equal(p.top, 0);
    /* a width change wraps again */
    assert_true(pager_layout(&p, 200) < n);
    assert_int_equal(pager_key(&p, '2', rows), 0);
    assert_true(p.on);
    assert_int_equal(pager_key(&p, 'q', rows), 1);
    assert_false(p.on);
    assert_null(p.text);
    assert_int_equal(pager_open(&p, "x", "one\ntwo"), TP_OK);
    assert_int_equal(pager_layout(&p, 80), 2);
    assert_int_equal(pager_key(&p, 27, 20), 1);
    assert_false(p.on);
    pager_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_during_validation_are_kept),
        cmocka_unit_test(test_a_profile_may_be_cancelled),
        cmocka_unit_test(test_prompt_lines_under_training_keep_the_pager_flag),
        cmocka_unit_test(test_pager_wraps_and_scrolls),
    };
    return cmocka_run_group_tests_name("tui app and pager", tests, NULL, NULL);
}
