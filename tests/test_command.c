/* tests/test_command: the command language (DESIGN 2.2): parser, table and help.
 *
 * Parser: every verb of the table parses its valid forms (quoted values, comments, blank lines,
 * positional words), and every key the help text lists accepts the ends of its range and refuses a
 * value outside it; every error path gives TP_EINVAL/TP_ERANGE with the right column and text.
 * Help is generated from the same table: help(NULL) lists every verb, help(verb) every key.
 * The verbs' execution on a session is tests/test_command_verbs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command_forms.h"
#include "helpers.h"
#include "sessions/command.h"
#include "base/fsutil.h"
#include "sessions/journal.h"
#include "sessions/session.h"
#include "sessions/session_new.h"
#include "sessions/snapshot.h"
#include "sessions/task.h"

/* ==== Parser: valid forms ==== */

/* The valid lines: tests/command_forms.c. */

static void test_valid_forms(void **state)
{
    (void)state;
    for (int i = 0; i < N_VALID; i++) {
        Command c;
        TpStatus st = command_parse(VALID[i].line, &c);
        if (st != TP_OK) fail_msg("'%s': %d %s", VALID[i].line, st, err_msg());
        assert_false(c.empty);
        assert_string_equal(c.verb, VALID[i].verb);
        assert_string_equal(c.word, VALID[i].word);
        assert_int_equal(c.n_args, VALID[i].n_args);
        if (VALID[i].key0) {
            assert_string_equal(c.args[0].key, VALID[i].key0);
            assert_string_equal(c.args[0].value, VALID[i].value0);
        }
    }
}

static void test_every_verb_has_a_valid_form(void **state)
{
    (void)state;
    const char *const *verbs = command_verbs();
    int n = 0;
    for (; verbs[n]; n++) {
        int found = 0;
        for (int i = 0; i < N_VALID && !found; i++) found = !strcmp(VALID[i].verb, verbs[n]);
        if (!found) fail_msg("verb '%s' has no valid form in this test", verbs[n]);
    }
    assert_true(n >= 19);
}

static void test_blank_and_comment_lines(void **state)
{
    (void)state;
    const char *lines[] = {"", "   ", "\t", "# only a comment", "   # indented comment", "\n", "\r\n", "#train steps=1"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        Command c;
        assert_int_equal(command_parse(lines[i], &c), TP_OK);
        assert_true(c.empty);
    }
}

static void test_argument_columns(void **state)
{
    (void)state;
    Command c;
    assert_int_equal(command_parse("  set lr=1   clip=\"2\"", &c), TP_OK);
    assert_int_equal(c.n_args, 2);
    assert_int_equal(c.args[0].column, 7);
    assert_int_equal(c.args[1].column, 14);
    assert_string_equal(c.args[1].value, "2");
}

/* One key's line from help: "  key  range  help". */
typedef struct {
    char key[32];
    char range[96];
} HelpKey;

static int help_keys(const char *verb, HelpKey *out, int max)
{
    const char *h = command_help(verb);
    assert_non_null(h);
    int n = 0;
    const char *p = strchr(h, '\n'); /* skip the synopsis line */
    assert_non_null(p);
    p = strchr(p + 1, '\n');         /* and the summary line */
    while (p && p[1] && n < max) {
        p++;
        if (sscanf(p, " %31s %95s", out[n].key, out[n].range) == 2) n++;
        p = strchr(p, '\n');
    }
    return n;
}

static void line_for(char *buf, size_t n, const char *verb, const char *key, const char *value)
{
    /* a verb with positional words needs one before its keys */
    const char *word = !strcmp(verb, "schedule") ? (!strcmp(key, "grow") || !strcmp(key, "prune") ||
                                                   !strcmp(key, "tolerance") ? " gp" : " agp")
                       : !strcmp(verb, "lesson") ? " show"
                                                 : "";
    snprintf(buf, n, "%s%s %s=%s", verb, word, key, value);
}

/* Every key that help lists parses at both ends of its range (or every choice), and refuses values
 * just outside with TP_ERANGE naming the range, and a word with "expected a ...". */
static void test_every_key_of_the_table(void **state)
{
    (void)state;
    int total = 0;
    for (const char *const *v = command_verbs(); *v; v++) {
        HelpKey keys[16];
        int nk = help_keys(*v, keys, 16);
        for (int k = 0; k < nk; k++, total++) {
            char line[512], val[128];
            Command c;
            const char *r = keys[k].range;
            const char *dots = strstr(r, "..");
            if (!strcmp(r, "text")) {
                line_for(line, sizeof line, *v, keys[k].key, "x");
                if (command_parse(line, &c) != TP_OK) fail_msg("'%s': %s", line, err_msg());
                line_for(line, sizeof line, *v, keys[k].key, "\"\"");
                assert_int_equal(command_parse(line, &c), TP_EINVAL);
                assert_non_null(strstr(err_msg(), "empty value"));
            } else if (dots) {
                double lo = strtod(r, NULL), hi = strtod(dots + 2, NULL);
                for (int end = 0; end < 2; end++) {
                    snprintf(val, sizeof val, "%.*s", end ? (int)strlen(dots + 2) : (int)(dots - r),
                             end ? dots + 2 : r);
                    line_for(line, sizeof line, *v, keys[k].key, val);
                    if (command_parse(line, &c) != TP_OK) fail_msg("'%s': %s", line, err_msg());
                }
                double below = lo >= 1 ? lo - 1 : lo > 0 ? lo / 2 : -1;
                double above = hi >= 1 ? hi * 2 + 1 : hi + 1;
                double outside[2] = {below, above};
                for (int j = 0; j < 2; j++) {
                    snprintf(val, sizeof val, "%.17g", outside[j]);
                    line_for(line, sizeof line, *v, keys[k].key, val);
                    TpStatus st = command_parse(line, &c);
                    if (st != TP_ERANGE) fail_msg("'%s': %d, expected TP_ERANGE (%s)", line, st, err_msg());
                    char want[128];
                    snprintf(want, sizeof want, "out of range (allowed %s)", r);
                    if (!strstr(err_msg(), want)) fail_msg("'%s': '%s' lacks '%s'", line, err_msg(), want);
                    if (strncmp(err_msg(), "column ", 7)) fail_msg("'%s': '%s' has no column", line, err_msg());
                }
                line_for(line, sizeof line, *v, keys[k].key, "abc");
                assert_int_equal(command_parse(line, &c), TP_EINVAL);
                assert_non_null(strstr(err_msg(), "expected a "));
            } else {
                /* choices a|b|c: each is accepted, anything else refused listing them */
                char choices[96];
                snprintf(choices, sizeof choices, "%s", r);
                for (char *save = NULL, *tok = strtok_r(choices, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
                    line_for(line, sizeof line, *v, keys[k].key, tok);
                    if (command_parse(line, &c) != TP_OK) fail_msg("'%s': %s", line, err_msg());
                }
                line_for(line, sizeof line, *v, keys[k].key, "bogus");
                assert_int_equal(command_parse(line, &c), TP_EINVAL);
                char want[128];
                snprintf(want, sizeof want, "expected one of %s", r);
                if (!strstr(err_msg(), want)) fail_msg("'%s': '%s' lacks '%s'", line, err_msg(), want);
            }
        }
    }
    assert_true(total >= 40);
}

/* ==== Parser: errors ==== */

static const struct {
    const char *line;
    TpStatus st;
    const char *text[3];   /* substrings the message must contain; text[0] starts it */
} ERRORS[] = {
    /* unknown verbs, with and without a suggestion */
    {"trian steps=1", TP_EINVAL, {"column 1: unknown verb 'trian'", "did you mean 'train'?"}},
    {"   snapshto", TP_EINVAL, {"column 4: unknown verb 'snapshto'", "did you mean 'snapshot'?"}},
    {"frobnicate", TP_EINVAL, {"column 1: unknown verb 'frobnicate'", "try 'help'"}},
    {"averyveryveryverylongverbnameindeed x=1", TP_EINVAL, {"column 1: verb too long"}},
    /* unknown key, listing the expected ones */
    {"train foo=1", TP_EINVAL, {"column 7: train: unknown key 'foo'", "expected: steps, epochs"}},
    {"eval  splt=test", TP_EINVAL, {"column 7: eval: unknown key 'splt' (did you mean 'split'?", "keys: split"}},
    {"prune ratoi=0.5", TP_EINVAL, {"column 7: prune: unknown key 'ratoi' (did you mean 'ratio'?", "keys: ratio, threshold"}},
    {"undo forse=1", TP_EINVAL, {"column 6: undo: unknown key 'forse' (did you mean 'force'?"}},
    {"undo force=2", TP_ERANGE, {"column 6: undo force=2: out of range", "allowed 1..1"}},
    {"save now=1", TP_EINVAL, {"column 6: save: unknown key 'now'", "expected: none"}},
    /* out of range, naming the range */
    {"train steps=0", TP_ERANGE, {"column 7: train steps=0: out of range", "allowed 1..1e+12"}},
    {"set lr=1 clip=-1", TP_ERANGE, {"column 10: set clip=-1: out of range", "allowed 0..1e+09"}},
    {"prune ratio=1.5", TP_ERANGE, {"column 7: prune ratio=1.5: out of range", "allowed 0..1"}},
    {"resize layer=8 hidden=10", TP_ERANGE, {"column 8: resize layer=8: out of range", "allowed 0..7"}},
    /* wrong type */
    {"train steps=ten", TP_EINVAL, {"column 7: train steps=ten: expected a whole number"}},
    {"train steps=2.5", TP_EINVAL, {"column 7: train steps=2.5: expected a whole number"}},
    {"train steps=5x", TP_EINVAL, {"column 7: train steps=5x: expected a whole number"}},
    {"set lr=fast", TP_EINVAL, {"column 5: set lr=fast: expected a number"}},
    {"set lr=nan", TP_EINVAL, {"column 5: set lr=nan: expected a number"}},
    {"set lr=inf", TP_EINVAL, {"column 5: set lr=inf: expected a number"}},
    {"set lr=", TP_EINVAL, {"column 5: set lr=: expected a number"}},
    {"eval split=dev", TP_EINVAL, {"column 6: eval split=dev: expected one of valid|test|train"}},
    {"prune ratio=0.1 pattern=diagonal", TP_EINVAL, {"column 17: prune pattern=diagonal: expected one of", "unstructured|row"}},
    {"snapshot name=", TP_EINVAL, {"column 10: snapshot name=: empty value"}},
    /* duplicate key */
    {"train steps=1 steps=2", TP_EINVAL, {"column 15: train: key 'steps' given twice"}},
    {"set lr=1 clip=1 lr=2", TP_EINVAL, {"column 17: set: key 'lr' given twice"}},
    /* missing '=' */
    {"train steps", TP_EINVAL, {"column 7: train: expected key=value, got 'steps'", "keys: steps, epochs"}},
    {"train steps=1 5", TP_EINVAL, {"column 15: train: expected key=value, got '5'"}},
    {"undo now", TP_EINVAL, {"column 6: undo: expected key=value, got 'now'", "keys: force"}},
    {"redo now", TP_EINVAL, {"column 6: redo: expected key=value, got 'now'", "keys: none"}},
    /* unterminated quote: the column of the quote */
    {"snapshot name=\"abc", TP_EINVAL, {"column 15: unterminated quote"}},
    {"export out=\"/tmp/x y", TP_EINVAL, {"column 12: unterminated quote"}},
    /* positional words */
    {"schedule", TP_EINVAL, {"column 9: schedule: expected one of none|agp|gp|hwgp first"}},
    {"schedule from=0.1 to=0.5", TP_EINVAL, {"column 10: schedule: expected one of none|agp|gp|hwgp first"}},
    {"schedule linear from=0.1", TP_EINVAL, {"column 10: schedule linear: expected one of none|agp|gp|hwgp"}},
    {"schedule agp from=0.1 gp", TP_EINVAL, {"column 23: schedule: expected key=value, got 'gp'"}},
    {"help trian", TP_EINVAL, {"column 6: help: unknown verb 'trian'"}},
    {"help train prune", TP_EINVAL, {"column 12: help: expected key=value, got 'prune'"}},
};
enum { N_ERRORS = sizeof ERRORS / sizeof ERRORS[0] };

static void test_error_paths(void **state)
{
    (void)state;
    for (int i = 0; i < N_ERRORS; i++) {
        Command c;
        err_clear();
        TpStatus st = command_parse(ERRORS[i].line, &c);
        if (st != ERRORS[i].st) fail_msg("'%s': status %d, expected %d (%s)", ERRORS[i].line, st, ERRORS[i].st, err_msg());
        const char *m = err_msg();
        if (strncmp(m, ERRORS[i].text[0], strlen(ERRORS[i].text[0])))
            fail_msg("'%s': message '%s' does not start with '%s'", ERRORS[i].line, m, ERRORS[i].text[0]);
        for (int k = 1; k < 3 && ERRORS[i].text[k]; k++)
            if (!strstr(m, ERRORS[i].text[k]))
                fail_msg("'%s': message '%s' lacks '%s'", ERRORS[i].line, m, ERRORS[i].text[k]);
    }
}

static void test_long_values_are_refused(void **state)
{
    (void)state;
    /* a value longer than the buffer is refused (a cut path would name another directory), the
     * longest that fits is kept whole, quoted or not; a key longer than any is unknown */
    size_t max = sizeof(((CommandArg *)0)->value) - 1;
    char *line = malloc(max + 64);
    assert_non_null(line);
    Command c;
    for (int quoted = 0; quoted < 2; quoted++) {
        for (size_t len = max; len <= max + 1; len++) {
            int k = snprintf(line, 64, "export out=%s", quoted ? "\"" : "");
            memset(line + k, 'a', len);
            strcpy(line + k + len, quoted ? "\"" : "");
            TpStatus st = command_parse(line, &c);
            if (len == max) {
                assert_int_equal(st, TP_OK);
                assert_int_equal(strlen(c.args[0].value), max);
            } else {
                assert_int_equal(st, TP_EINVAL);
                assert_non_null(strstr(err_msg(), "column 8: export out=: value longer than"));
            }
        }
    }
    strcpy(line, "train ");
    memset(line + 6, 'k', 200);
    strcpy(line + 206, "=1");
    assert_int_equal(command_parse(line, &c), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "column 7: train: unknown key"));
    free(line);
}

/* ==== Help ==== */

static void test_help_lists_every_verb_and_key(void **state)
{
    (void)state;
    const char *all = command_help(NULL);
    assert_non_null(all);
    char *copy = strdup(all); /* command_help reuses one buffer */
    assert_non_null(copy);
    for (const char *const *v = command_verbs(); *v; v++) {
        char want[64];
        snprintf(want, sizeof want, "\n  %s ", *v);
        if (!strstr(copy, want)) fail_msg("help(NULL) does not list '%s'", *v);
        const char *one = command_help(*v);
        assert_non_null(one);
        assert_int_equal(strncmp(one, *v, strlen(*v)), 0); /* starts with the synopsis */
    }
    free(copy);
    /* each key of a verb's synopsis appears in its help as a "  key  range  help" line */
    const char *prune = command_help("prune");
    const char *keys[] = {"ratio", "threshold", "params", "pattern", "ih", "hh", "scope"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "\n  %-10s ", keys[i]);
        if (!strstr(prune, want)) fail_msg("help(prune) lacks key '%s':\n%s", keys[i], prune);
    }
    HelpKey hk[16];
    assert_int_equal(help_keys("train", hk, 16), 4); /* steps, epochs, limit, undo */
    assert_string_equal(hk[0].key, "steps");
    assert_string_equal(hk[0].range, "1..1e+12");
    assert_int_equal(help_keys("eval", hk, 16), 4); /* split, beam, runtime (speech sessions), average */
    assert_string_equal(hk[0].range, "valid|test|train");
    assert_string_equal(hk[1].key, "beam");
    assert_string_equal(hk[2].key, "runtime");
    assert_string_equal(hk[2].range, "0..1");
    assert_int_equal(help_keys("undo", hk, 16), 1); /* force */
    assert_int_equal(help_keys("redo", hk, 16), 0);
    assert_null(command_help("nosuchverb"));
    assert_non_null(strstr(command_help(""), "commands")); /* "" = the list */
}

/* Every key listed by help is accepted by the parser under that verb (same table), and a verb's
 * keys all appear in the "unknown key" message. */
static void test_help_and_parser_agree(void **state)
{
    (void)state;
    for (const char *const *v = command_verbs(); *v; v++) {
        HelpKey keys[16];
        int nk = help_keys(*v, keys, 16);
        char line[256];
        line_for(line, sizeof line, *v, "zzz", "1");
        Command c;
        assert_int_equal(command_parse(line, &c), TP_EINVAL);
        const char *m = err_msg();
        assert_non_null(strstr(m, "unknown key 'zzz'"));
        for (int k = 0; k < nk; k++)
            if (!strstr(m, keys[k].key)) fail_msg("%s: '%s' does not list key %s", *v, m, keys[k].key);
    }
}

int main(void)
{
    const struct CMUnitTest parser[] = {
        cmocka_unit_test(test_valid_forms),
        cmocka_unit_test(test_every_verb_has_a_valid_form),
        cmocka_unit_test(test_blank_and_comment_lines),
        cmocka_unit_test(test_argument_columns),
        cmocka_unit_test(test_every_key_of_the_table),
        cmocka_unit_test(test_error_paths),
        cmocka_unit_test(test_long_values_are_refused),
        cmocka_unit_test(test_help_lists_every_verb_and_key),
        cmocka_unit_test(test_help_and_parser_agree),
    };
    int fails = cmocka_run_group_tests_name("command parser", parser, NULL, NULL);
    return fails;
}
