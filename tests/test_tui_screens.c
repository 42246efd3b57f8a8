/* tests/test_tui_screens: the TUI's tables, checked without a terminal.
 *
 * The screen table: every screen has a name, a draw function and a chart for P; names are unique;
 * the table fits App's state slots; the Help screen is in it.  The key table: every binding has a
 * name and a help line; no key is bound twice; the number keys map to the screens in order; every
 * binding that stands for a command line carries one that the command language parses; the actions
 * map as documented (Space runs, u undoes, q quits; g/p/r/a are actions that the Grow & prune and
 * Latency screens implement, and no other screen claims actions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curses.h>
#include <string.h>

#include "sessions/command.h"
#include "tui/keys.h"
#include "tui/screens.h"

static void test_every_screen_is_complete(void **state)
{
    (void)state;
    int n;
    const Screen *const *t = screens_table(&n);
    assert_int_equal(n, 6);
    assert_true(n <= APP_MAX_SCREENS);
    int help = 0;
    for (int i = 0; i < n; i++) {
        assert_non_null(t[i]);
        assert_non_null(t[i]->name);
        assert_true(strlen(t[i]->name) > 0);
        assert_non_null(t[i]->draw);
        assert_non_null(t[i]->chart);
        char line[64];
        snprintf(line, sizeof line, "plot chart=%s", t[i]->chart);
        Command c;
        assert_int_equal(command_parse(line, &c), TP_OK);
        for (int j = 0; j < i; j++) assert_string_not_equal(t[i]->name, t[j]->name);
        if (t[i] == &SCREEN_HELP) help = 1;
    }
    assert_true(help);
    assert_string_equal(t[0]->name, "Train");
    assert_string_equal(t[2]->chart, "latency");
}

static void test_keys_are_unique_and_documented(void **state)
{
    (void)state;
    int n;
    const KeyBinding *k = keys_table(&n);
    assert_true(n > 10);
    for (int i = 0; i < n; i++) {
        assert_non_null(k[i].name);
        assert_non_null(k[i].help);
        assert_true(strlen(k[i].help) > 3);
        for (int j = 0; j < i; j++) assert_int_not_equal(k[i].key, k[j].key);
        assert_ptr_equal(keys_lookup(k[i].key), &k[i]);
        assert_int_equal(keys_action(k[i].key), k[i].action);
    }
    assert_null(keys_lookup('Z'));
    assert_int_equal(keys_action('Z'), ACT_NONE);
}

static void test_command_keys_carry_valid_lines(void **state)
{
    (void)state;
    int n;
    const KeyBinding *k = keys_table(&n);
    int with_command = 0;
    for (int i = 0; i < n; i++) {
        if (k[i].action == ACT_COMMAND || k[i].action == ACT_STEP) {
            assert_non_null(k[i].command);
            Command c;
            if (command_parse(k[i].command, &c) != TP_OK) fail_msg("key %s: '%s': %s", k[i].name, k[i].command, err_msg());
            assert_false(c.empty);
            with_command++;
        } else {
            assert_null(k[i].command);
        }
    }
    assert_true(with_command >= 3);
}

static void test_key_to_action(void **state)
{
    (void)state;
    assert_int_equal(keys_action(' '), ACT_RUN);
    assert_int_equal(keys_action('q'), ACT_QUIT);
    assert_int_equal(keys_action(':'), ACT_PROMPT);
    assert_int_equal(keys_action('?'), ACT_HELP);
    assert_int_equal(keys_action(KEY_F(1)), ACT_HELP);
    assert_int_equal(keys_action('\t'), ACT_NEXT_SCREEN);
    assert_int_equal(keys_action(KEY_BTAB), ACT_PREV_SCREEN);
    assert_int_equal(keys_action('g'), ACT_GROW);
    assert_int_equal(keys_action('p'), ACT_PRUNE);
    assert_int_equal(keys_action('r'), ACT_RESIZE);
    assert_int_equal(keys_action('a'), ACT_APPLY_REC);
    assert_string_equal(keys_lookup('u')->command, "undo");
    assert_string_equal(keys_lookup('w')->command, "save");
    assert_string_equal(keys_lookup('s')->command, "train steps=1");
    assert_int_equal(keys_action('l'), ACT_COMMAND);
    assert_non_null(strstr(keys_lookup('l')->command, "profile"));
    /* the number keys choose the screens in table order */
    int n;
    screens_table(&n);
    for (int i = 0; i < n; i++) {
        const KeyBinding *b = keys_lookup('1' + i);
        assert_non_null(b);
        assert_int_equal(b->action, ACT_SCREEN);
        assert_int_equal(b->arg, i);
    }
}

static void test_global_actions_have_one_screen(void **state)
{
    (void)state;
    int n;
    const Screen *const *t = screens_table(&n);
    /* without a session: the action hooks are only looked up here, not called */
    assert_non_null(SCREEN_PRUNE.action);
    assert_non_null(SCREEN_LATENCY.action);
    int with_action = 0;
    for (int i = 0; i < n; i++) with_action += t[i]->action != NULL;
    assert_int_equal(with_action, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_screen_is_complete),
        cmocka_unit_test(test_keys_are_unique_and_documented),
        cmocka_unit_test(test_command_keys_carry_valid_lines),
        cmocka_unit_test(test_key_to_action),
        cmocka_unit_test(test_global_actions_have_one_screen),
    };
    return cmocka_run_group_tests_name("tui screens and keys", tests, NULL, NULL);
}
