/* tests/test_tui_form: the Grow & prune form is generated from the verbs' key specs.
 *
 * Every field that names a verb key has exactly that key's type, range and choices (one source of
 * ranges: grow batches goes to 1e6 because the verb does); the schedule field's choices are the
 * schedule verb's words; one target field per layer with its size.  Validation follows the ranges
 * (ends accepted, beyond refused, whole numbers for integer keys, empty only where optional).  Every
 * action's command lines parse in the command language, and their values are the form's; an invalid
 * field is named; resize issues one line per layer whose target differs, none when none does;
 * stepping choices wraps, stepping numbers clamps to the range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sessions/command.h"
#include "tui/form.h"

static Form g_form;
static const int HIDDEN[2] = {32, 48};

static int setup(void **state)
{
    (void)state;
    return form_init(&g_form, 2, HIDDEN) == TP_OK ? 0 : -1;
}

static void test_fields_follow_the_key_specs(void **state)
{
    (void)state;
    const Form *f = &g_form;
    assert_int_equal(f->n, FORM_TARGET0 + 2);
    assert_int_equal(f->n_layers, 2);
    for (int i = 0; i < f->n; i++) {
        const FormField *x = &f->f[i];
        assert_non_null(x->label);
        assert_non_null(x->verb);
        if (!x->key) {
            assert_int_equal(x->type, FORM_CHOICE);
            /* the verb's words, less hwgp (it runs at once, from the : prompt) */
            if (strcmp(x->verb, "schedule")) assert_string_equal(x->choices, command_words(x->verb));
            else assert_string_equal(command_words(x->verb), "none|agp|gp|hwgp");
            continue;
        }
        CommandKeySpec ks;
        if (command_key_spec(x->verb, x->key, &ks) != TP_OK) fail_msg("%s: %s", x->label, err_msg());
        switch (ks.type) {
        case COMMAND_KEY_INT:
        case COMMAND_KEY_NUM:
            assert_int_equal(x->type, FORM_NUM);
            assert_int_equal(x->integer, ks.type == COMMAND_KEY_INT);
            assert_true(x->lo == ks.lo && x->hi == ks.hi);
            break;
        case COMMAND_KEY_ENUM:
            assert_int_equal(x->type, FORM_CHOICE);
            assert_string_equal(x->choices, ks.choices);
            break;
        case COMMAND_KEY_STR: assert_int_equal(x->type, FORM_TEXT); break;
        }
        /* the default is valid */
        if (!form_field_valid(x, x->value)) fail_msg("%s: default '%s' is invalid", x->label, x->value);
    }
    /* the range the form used to copy wrongly (1..1e5) is the verb's */
    CommandKeySpec b;
    assert_int_equal(command_key_spec("grow", "batches", &b), TP_OK);
    assert_true(f->f[FORM_BATCHES].hi == b.hi);
    assert_true(f->f[FORM_BATCHES].hi == 1e6);
    assert_string_equal(f->f[FORM_SCHED].choices, "none|agp|gp");
    assert_string_equal(f->f[FORM_TARGET0].value, "32");
    assert_string_equal(f->f[FORM_TARGET0 + 1].value, "48");
    assert_string_equal(f->f[FORM_TARGET0].verb, "resize");
    assert_string_equal(f->f[FORM_TARGET0].key, "hidden");
}

static void test_unknown_keys_are_refused(void **state)
{
    (void)state;
    CommandKeySpec ks;
    assert_int_equal(command_key_spec("grow", "nope", &ks), TP_EINVAL);
    assert_int_equal(command_key_spec("nope", "ratio", &ks), TP_EINVAL);
    assert_null(command_words("grow"));
    assert_null(command_words("nope"));
}

static void test_validation_follows_the_ranges(void **state)
{
    (void)state;
    const FormField *ratio = &g_form.f[FORM_GROW], *batches = &g_form.f[FORM_BATCHES];
    assert_true(form_field_valid(ratio, "0"));
    assert_true(form_field_valid(ratio, "1"));
    assert_false(form_field_valid(ratio, "1.01"));
    assert_false(form_field_valid(ratio, "-0.1"));
    assert_false(form_field_valid(ratio, "x"));
    assert_false(form_field_valid(ratio, ""));              /* not optional */
    assert_true(form_field_valid(&g_form.f[FORM_THRESH], "")); /* optional */
    assert_true(form_field_valid(batches, "1000000"));
    assert_false(form_field_valid(batches, "1000001"));
    assert_false(form_field_valid(batches, "2.5"));          /* a whole number */
    assert_true(form_field_valid(&g_form.f[FORM_PATTERN], "row"));
    assert_false(form_field_valid(&g_form.f[FORM_PATTERN], "rows"));
    assert_false(form_field_valid(&g_form.f[FORM_PARAMS], "a b"));
}

static void parse_all(char lines[][FORM_LINE_MAX], int n, const char *verb)
{
    for (int i = 0; i < n; i++) {
        Command c;
        if (command_parse(lines[i], &c) != TP_OK) fail_msg("'%s': %s", lines[i], err_msg());
        assert_string_equal(c.verb, verb);
    }
}

static void test_commands_parse(void **state)
{
    (void)state;
    char lines[4][FORM_LINE_MAX];
    int n;
    assert_int_equal(form_commands(&g_form, FORM_CMD_GROW, 0, HIDDEN, lines, 4, &n), TP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(lines[0], "grow ratio=0.1 init=zero batches=20 scope=matrix");
    parse_all(lines, n, "grow");
    assert_int_equal(form_commands(&g_form, FORM_CMD_PRUNE, 0, HIDDEN, lines, 4, &n), TP_OK);
    assert_string_equal(lines[0], "prune ratio=0.2 pattern=unstructured scope=matrix");
    parse_all(lines, n, "prune");
    /* resize: nothing differs, then one layer does */
    assert_int_equal(form_commands(&g_form, FORM_CMD_RESIZE, 0, HIDDEN, lines, 4, &n), TP_OK);
    assert_int_equal(n, 0);
    Form f = g_form;
    snprintf(f.f[FORM_TARGET0 + 1].value, sizeof f.f[0].value, "40");
    assert_int_equal(form_commands(&f, FORM_CMD_RESIZE, 0, HIDDEN, lines, 4, &n), TP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(lines[0], "resize layer=1 hidden=40");
    parse_all(lines, n, "resize");
    /* schedules */
    for (const char *const *k = (const char *const[]){"none", "agp", "gp", NULL}; *k; k++) {
        snprintf(f.f[FORM_SCHED].value, sizeof f.f[0].value, "%s", *k);
        assert_int_equal(form_commands(&f, FORM_CMD_SCHEDULE, 100, HIDDEN, lines, 4, &n), TP_OK);
        assert_int_equal(n, 1);
        parse_all(lines, n, "schedule");
    }
    assert_non_null(strstr(lines[0], "tolerance=2"));
    /* state tau: only when set */
    assert_int_equal(form_commands(&f, FORM_CMD_STATE, 0, HIDDEN, lines, 4, &n), TP_OK);
    assert_int_equal(n, 0);
    snprintf(f.f[FORM_TAU].value, sizeof f.f[0].value, "0.1");
    assert_int_equal(form_commands(&f, FORM_CMD_STATE, 0, HIDDEN, lines, 4, &n), TP_OK);
    assert_string_equal(lines[0], "state tau=0.1");
    parse_all(lines, n, "state");
}

static void test_invalid_forms_are_named(void **state)
{
    (void)state;
    char lines[2][FORM_LINE_MAX];
    int n = 7;
    Form f = g_form;
    snprintf(f.f[FORM_BATCHES].value, sizeof f.f[0].value, "0");
    assert_int_equal(form_commands(&f, FORM_CMD_GROW, 0, HIDDEN, lines, 2, &n), TP_EINVAL);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err_msg(), "grow batches"));
    f = g_form;
    f.f[FORM_PRUNE].value[0] = '\0';
    assert_int_equal(form_commands(&f, FORM_CMD_PRUNE, 0, HIDDEN, lines, 2, &n), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "set a ratio"));
    snprintf(f.f[FORM_THRESH].value, sizeof f.f[0].value, "0.01");
    assert_int_equal(form_commands(&f, FORM_CMD_PRUNE, 0, HIDDEN, lines, 2, &n), TP_OK);
    assert_string_equal(lines[0], "prune threshold=0.01 pattern=unstructured scope=matrix");
}

/* pattern=block: the block field joins prune, grow and the schedules */
static void test_block_pattern(void **state)
{
    (void)state;
    char lines[2][FORM_LINE_MAX];
    int n;
    Form f = g_form;
    assert_string_equal(f.f[FORM_BLOCK].choices, "16x1|8x1|4x4");
    snprintf(f.f[FORM_PATTERN].value, sizeof f.f[0].value, "block");
    snprintf(f.f[FORM_BLOCK].value, sizeof f.f[0].value, "4x4");
    assert_int_equal(form_commands(&f, FORM_CMD_PRUNE, 0, HIDDEN, lines, 2, &n), TP_OK);
    assert_string_equal(lines[0], "prune ratio=0.2 pattern=block block=4x4 scope=matrix");
    parse_all(lines, n, "prune");
    assert_int_equal(form_commands(&f, FORM_CMD_GROW, 0, HIDDEN, lines, 2, &n), TP_OK);
    assert_string_equal(lines[0], "grow ratio=0.1 init=zero batches=20 scope=matrix pattern=block block=4x4");
    parse_all(lines, n, "grow");
    for (const char *const *k = (const char *const[]){"agp", "gp", NULL}; *k; k++) {
        snprintf(f.f[FORM_SCHED].value, sizeof f.f[0].value, "%s", *k);
        assert_int_equal(form_commands(&f, FORM_CMD_SCHEDULE, 100, HIDDEN, lines, 2, &n), TP_OK);
        assert_non_null(strstr(lines[0], " pattern=block block=4x4"));
        parse_all(lines, n, "schedule");
    }
    /* block rows by word frequency: grow and prune take it, the schedules keep the natural grid */
    assert_string_equal(f.f[FORM_ROWS].choices, "natural|freq");
    snprintf(f.f[FORM_ROWS].value, sizeof f.f[0].value, "freq");
    assert_int_equal(form_commands(&f, FORM_CMD_PRUNE, 0, HIDDEN, lines, 2, &n), TP_OK);
    assert_string_equal(lines[0], "prune ratio=0.2 pattern=block block=4x4 rows=freq scope=matrix");
    parse_all(lines, n, "prune");
    assert_int_equal(form_commands(&f, FORM_CMD_GROW, 0, HIDDEN, lines, 2, &n), TP_OK);
    assert_string_equal(lines[0], "grow ratio=0.1 init=zero batches=20 scope=matrix pattern=block block=4x4 rows=freq");
    parse_all(lines, n, "grow");
    assert_int_equal(form_commands(&f, FORM_CMD_SCHEDULE, 100, HIDDEN, lines, 2, &n), TP_OK);
    assert_null(strstr(lines[0], "rows="));
    snprintf(f.f[FORM_PATTERN].value, sizeof f.f[0].value, "unstructured"); /* rows= needs pattern=block */
    assert_int_equal(form_commands(&f, FORM_CMD_PRUNE, 0, HIDDEN, lines, 2, &n), TP_OK);
    assert_null(strstr(lines[0], "rows="));
}

static void test_stepping(void **state)
{
    (void)state;
    Form f = g_form;
    FormField *pat = &f.f[FORM_PATTERN];
    form_field_step(pat, 1);
    assert_string_equal(pat->value, "row");
    form_field_step(pat, 1);
    assert_string_equal(pat->value, "block");
    form_field_step(pat, 1);
    assert_string_equal(pat->value, "unstructured");
    form_field_step(pat, -1);
    assert_string_equal(pat->value, "block");
    FormField *blk = &f.f[FORM_BLOCK];
    assert_string_equal(blk->value, "16x1");
    form_field_step(blk, 1);
    assert_string_equal(blk->value, "8x1");
    form_field_step(blk, 1);
    assert_string_equal(blk->value, "4x4");
    FormField *ratio = &f.f[FORM_GROW];
    snprintf(ratio->value, sizeof ratio->value, "0.98");
    form_field_step(ratio, 1);
    assert_string_equal(ratio->value, "1.00");
    FormField *t = &f.f[FORM_TARGET0];
    form_field_step(t, 1);
    assert_string_equal(t->value, "40");
    snprintf(t->value, sizeof t->value, "4");
    form_field_step(t, -1);
    assert_string_equal(t->value, "1");
    assert_true(form_field_is_schedule(FORM_SCHED));
    assert_false(form_field_is_schedule(FORM_TAU));
}

/* The settings kept for the next run: what form_state_text writes, form_state_load reads back into
 * a fresh form (targets are not kept); unknown fields, invalid values and junk are skipped. */
static void test_state_round_trip(void **state)
{
    (void)state;
    Form f, g;
    assert_int_equal(form_init(&f, 2, HIDDEN), TP_OK);
    snprintf(f.f[FORM_PRUNE].value, sizeof f.f[FORM_PRUNE].value, "0.5");
    snprintf(f.f[FORM_PATTERN].value, sizeof f.f[FORM_PATTERN].value, "block");
    snprintf(f.f[FORM_BLOCK].value, sizeof f.f[FORM_BLOCK].value, "4x4");
    snprintf(f.f[FORM_SCHED].value, sizeof f.f[FORM_SCHED].value, "agp");
    snprintf(f.f[FORM_THRESH].value, sizeof f.f[FORM_THRESH].value, "0.01");
    snprintf(f.f[FORM_TARGET0].value, sizeof f.f[FORM_TARGET0].value, "64");
    char text[4096];
    form_state_text(&f, text, sizeof text);
    assert_non_null(strstr(text, "prune.ratio=0.5\n"));
    assert_non_null(strstr(text, "schedule=agp\n"));
    assert_null(strstr(text, "resize"));
    assert_int_equal(form_init(&g, 2, HIDDEN), TP_OK);
    assert_int_equal(form_state_load(&g, text), FORM_TARGET0);
    for (int i = 0; i < FORM_TARGET0; i++) assert_string_equal(g.f[i].value, f.f[i].value);
    assert_string_equal(g.f[FORM_TARGET0].value, "32");
    /* junk is skipped, the rest applied */
    assert_int_equal(form_init(&g, 2, HIDDEN), TP_OK);
    assert_int_equal(form_state_load(&g, "prune.ratio=7\nnope=1\ngrow.init=bogus\n\ngarbage\nprune.pattern=row\n"
                                          "prune.threshold=\ngrow.batches=2.5\nprune.block=8x1"),
                     3);
    assert_string_equal(g.f[FORM_PRUNE].value, "0.2");
    assert_string_equal(g.f[FORM_PATTERN].value, "row");
    assert_string_equal(g.f[FORM_BLOCK].value, "8x1");
    assert_string_equal(g.f[FORM_THRESH].value, "");
    assert_string_equal(g.f[FORM_BATCHES].value, "20");
    /* a buffer too small holds whole lines only */
    form_state_text(&f, text, 30);
    assert_true(strlen(text) < 30);
    assert_true(!text[0] || text[strlen(text) - 1] == '\n');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_follow_the_key_specs),
        cmocka_unit_test(test_unknown_keys_are_refused),
        cmocka_unit_test(test_validation_follows_the_ranges),
        cmocka_unit_test(test_commands_parse),
        cmocka_unit_test(test_invalid_forms_are_named),
        cmocka_unit_test(test_stepping),
        cmocka_unit_test(test_block_pattern),
        cmocka_unit_test(test_state_round_trip),
    };
    return cmocka_run_group_tests_name("tui form", tests, setup, NULL);
}
