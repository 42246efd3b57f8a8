/* tests/test_evaluate: sessions/evaluate.
 *
 * Split names map to the corpus splits (and nothing else does); evaluate_session gives the numbers
 * the `eval` verb reports; evaluate_export on the session's export (model.compact.safetensors)
 * reproduces the session's perplexity through the inference runtime and says which file and kernels
 * it used; a missing export and a bad split are refused.
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

#include "base/fsutil.h"
#include "helpers.h"
#include "word_fixture.h"
#include "sessions/command.h"
#include "sessions/evaluate.h"
#include "sessions/export.h"
#include "sessions/session.h"
#include "sessions/session_new.h"

static int group_setup(void **state)
{
    (void)state;
    return wf_setup("evaluate");
}

static int group_teardown(void **state)
{
    (void)state;
    wf_teardown();
    return 0;
}

static void new_session(Session *s, char *dir, size_t n) { wf_new_session(s, dir, n, 16); }

static void test_split_names(void **state)
{
    (void)state;
    assert_int_equal(evaluate_split_index("valid"), CORPUS_VALID);
    assert_int_equal(evaluate_split_index("test"), CORPUS_TEST);
    assert_int_equal(evaluate_split_index("train"), CORPUS_TRAIN);
    assert_int_equal(evaluate_split_index("Valid"), -1);
    assert_int_equal(evaluate_split_index(""), -1);
}

static void test_session_and_export(void **state)
{
    (void)state;
    Session s;
    char dir[2048], out[2100];
    new_session(&s, dir, sizeof dir);
    CommandResult r;
    assert_int_equal(command_execute(&s, "train steps=5", &r), TP_OK);
    EvalResult e;
    assert_int_equal(evaluate_session(&s, CORPUS_VALID, &e), TP_OK);
    assert_true(e.tokens > 0 && e.ppl > 1.0 && isfinite(e.loss));
    assert_int_equal(command_execute(&s, "eval split=valid", &r), TP_OK);
    char want[64];
    snprintf(want, sizeof want, "valid ppl %.2f", e.ppl);
    assert_non_null(strstr(r.text, want));
    assert_int_equal(evaluate_session(&s, 7, &e), TP_EINVAL);
    snprintf(out, sizeof out, "%s-export", dir);
    assert_int_equal(export_write(&s, out), TP_OK);
    ExportEval x;
    assert_int_equal(evaluate_export(out, NULL, CORPUS_VALID, 0, &x), TP_OK);
    assert_string_equal(x.file, "model.compact.safetensors");
    assert_true(x.kernels[0] != '\0');
    assert_int_equal(x.eval_batch, 1);
    assert_int_equal(x.r.tokens, e.tokens);
    assert_true(fabs(x.r.ppl - e.ppl) < 1e-3 * e.ppl);
    assert_true(isnan(x.state_sparsity) || (x.state_sparsity >= 0 && x.state_sparsity <= 1));
    assert_int_equal(evaluate_export(out, NULL, CORPUS_VALID, 3, &x), TP_OK);
    assert_int_equal(x.eval_batch, 3);
    char missing[2200];
    snprintf(missing, sizeof missing, "%s/none", wf_root);
    assert_int_not_equal(evaluate_export(missing, NULL, CORPUS_VALID, 0, &x), TP_OK);
    assert_int_equal(evaluate_export(out, NULL, -1, 0, &x), TP_EINVAL);
    session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_names),
        cmocka_unit_test(test_session_and_export),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
