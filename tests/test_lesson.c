/* tests/test_lesson: sessions/lesson, lesson_check, lesson_progress, lesson_verbs and glossary.
 *
 * The bundled lessons (lessons/, read from the source tree as the tests run in it): at least 8, each
 * with steps, an exercise and checks; every step of every lesson parses against the verb table and
 * names a verb of it; every check compiles; every term a lesson links to is in the glossary, and the
 * glossary holds every term the screens show.  Malformed lesson, glossary and progress files are
 * refused naming FILE:LINE.  Checks: syntax errors name the column, NaN compares false, the glob
 * quantities count masks.  Then lesson 01 runs headless on the bundled task: its check fails right
 * after `lesson start`, every step runs through command_execute, and the check passes; the pass is
 * recorded in SESSION/lessons.txt and nothing is written outside the session directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "helpers.h"
#include "sessions/command.h"
#include "sessions/glossary.h"
#include "sessions/lesson_verbs.h"
#include "sessions/session_new.h"
#include "sessions/task.h"

static int is_verb(const char *v)
{
    for (const char *const *p = command_verbs(); *p; p++)
        if (!strcmp(*p, v)) return 1;
    return 0;
}

static void test_bundled_lessons(void **state)
{
    (void)state;
    lesson_set_dir(NULL);
    LessonCatalog cat;
    if (lesson_catalog_load(&cat) != TP_OK) fail_msg("%s", err_msg());
    assert_true(cat.n >= 8);
    Glossary g;
    if (glossary_load(&g) != TP_OK) fail_msg("%s", err_msg());
    for (int i = 0; i < cat.n; i++) {
        const Lesson *l = &cat.l[i];
        assert_true(l->title[0] && l->text[0] && l->exercise[0]);
        assert_true(l->n_steps >= 3);
        assert_true(l->n_checks >= 1);
        for (int k = 0; k < l->n_steps; k++) {
            Command c;
            if (command_parse(l->steps[k].command, &c) != TP_OK)
                fail_msg("%s:%d: step '%s': %s", l->path, l->steps[k].line, l->steps[k].command, err_msg());
            assert_false(c.empty);
            assert_true(is_verb(c.verb));
            assert_non_null(command_help(c.verb));
        }
        for (int k = 0; k < l->n_checks; k++)
            if (lesson_check_compile(l->checks[k]) != TP_OK) fail_msg("%s: check '%s': %s", l->id, l->checks[k], err_msg());
        /* every linked term is a glossary entry */
        for (const char *p = l->terms; *p;) {
            char one[64];
            size_t len = strcspn(p, ",");
            snprintf(one, sizeof one, "%.*s", (int)len, p);
            if (!glossary_find(&g, one)) fail_msg("%s: terms: '%s' is not in the glossary", l->id, one);
            p += len + (p[len] == ',');
            while (*p == ' ') p++;
        }
    }
    const Lesson *l;
    assert_int_equal(lesson_find(&cat, "2", &l), TP_OK);
    assert_string_equal(l->id, "02-pruning");
    assert_int_equal(lesson_find(&cat, "pruning", &l), TP_OK);
    assert_int_equal(lesson_find(&cat, "01-perplexity", &l), TP_OK);
    assert_int_equal(lesson_find(&cat, "prunning", &l), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "did you mean 'pruning'"));
    glossary_free(&g);
    lesson_catalog_free(&cat);
}

static void test_glossary_terms(void **state)
{
    (void)state;
    /* every term the screens show (issue 14) has a definition */
    static const char *const TERMS[] = {"perplexity", "loss", "valid", "test split", "sparsity", "density", "non-zeros",
                                        "live connection", "dormant", "mask", "magnitude pruning", "ratio vs sparsity",
                                        "dual ratio", "ih/hh", "row-balanced", "block", "4x4", "agp", "grow-and-prune",
                                        "nest", "rigl", "resize", "hysteresis point", "latency profile",
                                        "break-even density", "kernels", "csr", "sell", "bsr", "h-lstm",
                                        "hidden-state threshold", "snapshot", "undo", "journal", "replay", "export",
                                        "compact export"};
    Glossary g;
    assert_int_equal(glossary_load(&g), TP_OK);
    for (size_t i = 0; i < sizeof TERMS / sizeof TERMS[0]; i++)
        if (!glossary_find(&g, TERMS[i])) fail_msg("glossary: no entry for '%s'", TERMS[i]);
    for (int i = 0; i < g.n; i++) assert_true(strlen(g.e[i].text) > 40);
    assert_string_equal(glossary_suggest(&g, "hysterisis-point"), "hysteresis-point");
    assert_string_equal(glossary_suggest(&g, "hysteresis"), "hysteresis-point");
    assert_null(glossary_suggest(&g, "zzzzzzzz"));
    glossary_free(&g);
    /* the verb: words joined, unknown terms get the nearest */
    char out[4096];
    assert_int_equal(lesson_explain("Hysteresis Point", 78, out, sizeof out), TP_OK);
    assert_true(!strncmp(out, "hysteresis-point", 16));
    assert_int_equal(lesson_explain("perplexty", 78, out, sizeof out), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "did you mean 'perplexity'"));
    Command c;
    assert_int_equal(command_parse("explain break even density", &c), TP_OK);
    assert_string_equal(c.word, "break-even-density");
}

/* Write text to dir/name and return lesson_read's status; the message must name "name:line:". */
static void expect_bad_lesson(const char *dir, const char *text, int line, const char *what)
{
    char path[1200], want[1300];
    snprintf(path, sizeof path, "%s/bad.lesson", dir);
    assert_int_equal(th_write_file(path, text, strlen(text)), 0);
    Lesson *l = malloc(sizeof *l);
    TpStatus st = lesson_read(l, path);
    free(l);
    if (st == TP_OK) fail_msg("accepted: %s", text);
    snprintf(want, sizeof want, "%s:%d:", path, line);
    if (!strstr(err_msg(), want) || !strstr(err_msg(), what)) fail_msg("message '%s' lacks '%s' / '%s'", err_msg(), want, what);
}

static void test_malformed_files(void **state)
{
    (void)state;
    char *dir = th_tempdir("lesson");
    const char *ok = "title: T\nSome text.\nstep: eval\nexercise: E\ncheck: step >= 0\n";
    char path[1200];
    snprintf(path, sizeof path, "%s/ok.lesson", dir);
    assert_int_equal(th_write_file(path, ok, strlen(ok)), 0);
    Lesson *l = malloc(sizeof *l);
    assert_int_equal(lesson_read(l, path), TP_OK);
    assert_string_equal(l->id, "ok");
    assert_int_equal(l->n_steps, 1);
    free(l);
    expect_bad_lesson(dir, "title: T\nstpe: eval\n", 2, "did you mean 'step:'");
    expect_bad_lesson(dir, "title: T\nstep: trian steps=3\n", 2, "unknown verb 'trian'");
    expect_bad_lesson(dir, "title: T\nstep: prune ratio=2\n", 2, "out of range");
    expect_bad_lesson(dir, "title: T\nlook: at this\n", 2, "before the first step");
    expect_bad_lesson(dir, "title: T\nstep: eval\nexercise: E\ncheck: valid_pp < 3\n", 4, "unknown quantity 'valid_pp'");
    expect_bad_lesson(dir, "title: T\nstep: eval\nexercise: E\ncheck: step >=\n", 4, "column");
    expect_bad_lesson(dir, "title: T\nstep: eval\nexercise: E\n", 3, "no check:");
    expect_bad_lesson(dir, "title: T\ntask: --hidden banana\nstep: eval\n", 2, "task:");
    expect_bad_lesson(dir, "title: T\nstep: eval\nA\rB\n", 3, "carriage return");
    /* a malformed lesson in an extra directory stops the catalog, naming it */
    lesson_set_dir(dir);
    LessonCatalog cat;
    assert_int_not_equal(lesson_catalog_load(&cat), TP_OK);
    assert_non_null(strstr(err_msg(), "bad.lesson:3:"));
    /* a teacher's good lesson joins the bundled ones */
    snprintf(path, sizeof path, "%s/bad.lesson", dir);
    remove(path);
    assert_int_equal(lesson_catalog_load(&cat), TP_OK);
    const Lesson *found;
    assert_int_equal(lesson_find(&cat, "ok", &found), TP_OK);
    lesson_catalog_free(&cat);
    lesson_set_dir(NULL);
    /* glossary */
    Glossary g = {0};
    snprintf(path, sizeof path, "%s/glossary.txt", dir);
    const char *bad = "term: a\ndefinition\n\nmore text\n";
    assert_int_equal(th_write_file(path, bad, strlen(bad)), 0);
    assert_int_equal(glossary_read(&g, path), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "glossary.txt:4:"));
    glossary_free(&g);
    /* progress */
    snprintf(path, sizeof path, "%s/lessons.txt", dir);
    const char *badp = "current\tx\nlesson\tx\tpassed=maybe\n";
    assert_int_equal(th_write_file(path, badp, strlen(badp)), 0);
    LessonProgress p;
    assert_int_equal(lesson_progress_load(&p, dir), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "lessons.txt:2:"));
    th_rmtree(dir);
    free(dir);
}

static void test_check_syntax(void **state)
{
    (void)state;
    assert_int_equal(lesson_check_compile("valid_ppl <= 1.05 * baseline_valid_ppl and sparsity(l*.w_*) >= 0.8"), TP_OK);
    assert_int_equal(lesson_check_compile("not (hidden(0) == 64) or -step < 3"), TP_OK);
    assert_int_equal(lesson_check_compile("baseline_hidden0 != 1"), TP_OK);
    assert_int_equal(lesson_check_compile("(step"), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "expected ')'"));
    assert_int_equal(lesson_check_compile("step 3"), TP_EINVAL);
    assert_int_equal(lesson_check_compile("baseline_banana > 1"), TP_EINVAL);
    assert_int_equal(lesson_check_compile(""), TP_EINVAL);
}

/* Files directly in dir (names), sorted into one string, to see what a run wrote. */
static void list_dir(const char *dir, char *out, size_t n)
{
    out[0] = '\0';
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t used = strlen(out);
        snprintf(out + used, n - used, "%s ", e->d_name);
    }
    closedir(d);
}

static void test_lesson_headless(void **state)
{
    (void)state;
    char *root = th_tempdir("lessonrun");
    char dir[1200], before[2048], after[2048];
    snprintf(dir, sizeof dir, "%s/s", root);
    LessonCatalog cat;
    assert_int_equal(lesson_catalog_load(&cat), TP_OK);
    const Lesson *l;
    assert_int_equal(lesson_find(&cat, "01-perplexity", &l), TP_OK);
    /* the session of `topiary learn 01 --session DIR`: the lesson's task options on the bundled task */
    Task t;
    task_defaults(&t);
    char copy[256], *av[64];
    int ac = 0;
    snprintf(copy, sizeof copy, "%s", l->task);
    for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " ")) av[ac++] = tok;
    for (int i = 0; i < ac;) {
        int matched = 0;
        assert_int_equal(task_parse_arg(&t, ac, av, &i, &matched), TP_OK);
        assert_true(matched);
    }
    Session s;
    if (session_new(&s, dir, &t) != TP_OK) fail_msg("%s", err_msg());
    list_dir(root, before, sizeof before);
    CommandResult r;
    assert_int_equal(command_execute(&s, "lesson start name=1", &r), TP_OK);
    assert_non_null(strstr(r.text, "01-perplexity started"));
    LessonProgress p;
    LessonVerdict v;
    assert_int_equal(lesson_progress_load(&p, dir), TP_OK);
    assert_string_equal(p.current, "01-perplexity");
    assert_int_equal(lesson_check(&s, l, &p, &v), TP_OK);
    assert_false(v.pass); /* nothing trained, nothing measured */
    assert_int_equal(command_execute(&s, "lesson check", &r), TP_OK);
    assert_non_null(strstr(r.text, "not yet"));
    for (int i = 0; i < l->n_steps; i++)
        if (command_execute(&s, l->steps[i].command, &r) != TP_OK) fail_msg("step '%s': %s", l->steps[i].command, err_msg());
    assert_int_equal(lesson_progress_load(&p, dir), TP_OK);
    const LessonRecord *rec = lesson_progress_find(&p, l->id);
    assert_non_null(rec);
    assert_false(rec->passed);
    double base;
    assert_true(lesson_refs_get(&rec->refs, "valid_ppl", &base) && base > 30); /* marked after the first eval */
    assert_int_equal(command_execute(&s, "lesson check", &r), TP_OK);
    assert_non_null(strstr(r.text, "PASSED"));
    assert_int_equal(lesson_progress_load(&p, dir), TP_OK);
    rec = lesson_progress_find(&p, l->id);
    assert_true(rec->passed);
    assert_int_equal(rec->passed_step, s.trainer.step);
    /* after an undo of the training the check fails again (it reads the live state) */
    assert_int_equal(command_execute(&s, "undo", &r), TP_OK);
    assert_int_equal(lesson_verdict(&s, l, rec, &v), TP_OK);
    assert_false(v.pass);
    /* lesson and explain are never journaled; only the session directory was written */
    assert_false(command_is_journaled("lesson"));
    assert_false(command_is_journaled("explain"));
    list_dir(root, after, sizeof after);
    assert_string_equal(before, after);
    char path[1300];
    snprintf(path, sizeof path, "%s/lessons.txt", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fclose(f);
    session_free(&s);
    lesson_catalog_free(&cat);
    th_rmtree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundled_lessons), cmocka_unit_test(test_glossary_terms),
        cmocka_unit_test(test_malformed_files), cmocka_unit_test(test_check_syntax),
        cmocka_unit_test(test_lesson_headless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
