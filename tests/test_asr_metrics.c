/* tests/test_asr_metrics: edit distances on pairs worked out by hand, WER and CER of single utterances
 * and of a small corpus (sums of edits over sums of lengths), and the limits. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/asr_metrics.h"

static long dist_int(const int *a, int na, const int *b, int nb)
{
    long d;
    assert_int_equal(asr_edit_distance(&d, a, na, b, nb), TP_OK);
    return d;
}

static void test_edit_distance(void **state)
{
    (void)state;
    /* kitten -> sitting: 3 (k->s, e->i, +g) */
    const int k[] = {'k', 'i', 't', 't', 'e', 'n'}, s[] = {'s', 'i', 't', 't', 'i', 'n', 'g'};
    assert_int_equal(dist_int(k, 6, s, 7), 3);
    assert_int_equal(dist_int(s, 7, k, 6), 3);
    assert_int_equal(dist_int(k, 6, k, 6), 0);
    assert_int_equal(dist_int(k, 0, k, 6), 6);
    assert_int_equal(dist_int(k, 6, k, 0), 6);
    assert_int_equal(dist_int(k, 0, k, 0), 0);
    /* a b c d -> b c d e: delete a, insert e = 2 (not 4 substitutions) */
    const int x[] = {1, 2, 3, 4}, y[] = {2, 3, 4, 5};
    assert_int_equal(dist_int(x, 4, y, 4), 2);
    long d;
    assert_int_equal(asr_edit_distance(&d, x, -1, y, 4), TP_ERANGE);
}

static void check(const char *ref, const char *hyp, long we, long wn, long ce, long cn)
{
    long e, n;
    assert_int_equal(asr_word_errors(&e, &n, ref, hyp), TP_OK);
    if (e != we || n != wn) fail_msg("words '%s' / '%s': %ld/%ld, expected %ld/%ld", ref, hyp, e, n, we, wn);
    assert_int_equal(asr_char_errors(&e, &n, ref, hyp), TP_OK);
    if (e != ce || n != cn) fail_msg("chars '%s' / '%s': %ld/%ld, expected %ld/%ld", ref, hyp, e, n, ce, cn);
}

static void test_pairs(void **state)
{
    (void)state;
    check("YES", "YES", 0, 1, 0, 3);
    /* one word substituted: 1 word edit; YES -> YET is one character */
    check("YES", "YET", 1, 1, 1, 3);
    /* spaces: runs and ends do not count; characters ignore spaces altogether */
    check("  G  M E ", "G M E", 0, 3, 0, 3);
    /* "GME" is one wrong word against three, but the same characters */
    check("G M E", "GME", 3, 3, 0, 3);
    /* deletion and insertion of words */
    check("RUBOUT G M E F THREE NINE", "RUBOUT G M F THREE NINE", 1, 7, 1, 19);
    check("ENTER SIX", "ENTER SIX TWO", 1, 2, 3, 8);
    /* empty hypothesis: every reference word / character deleted */
    check("ERASE C Q", "", 3, 3, 7, 7);
    /* empty reference: insertions only, no length */
    check("", "NO", 1, 0, 2, 0);
    /* apostrophes are characters */
    check("IT'S", "ITS", 1, 1, 1, 4);
}

static void test_totals(void **state)
{
    (void)state;
    AsrTotals t;
    asr_totals_init(&t);
    assert_float_equal(asr_wer(&t), 0.0, 0.0);
    assert_int_equal(asr_totals_add(&t, "YES", "YES"), TP_OK);                     /* 0/1 words, 0/3 chars */
    assert_int_equal(asr_totals_add(&t, "ENTER SIX", "ENTER SIX TWO"), TP_OK);     /* 1/2, 3/8 */
    assert_int_equal(asr_totals_add(&t, "ERASE C Q", ""), TP_OK);                  /* 3/3, 7/7 */
    assert_int_equal(t.utts, 3);
    assert_int_equal(t.exact, 1);
    assert_int_equal(t.word_edits, 4);
    assert_int_equal(t.words, 6);
    assert_int_equal(t.char_edits, 10);
    assert_int_equal(t.chars, 18);
    /* sums over sums: 4/6, not the mean of 0, 1/2, 1 (= 1/2) */
    assert_float_equal(asr_wer(&t), 4.0 / 6.0, 1e-12);
    assert_float_equal(asr_cer(&t), 10.0 / 18.0, 1e-12);
    AsrTotals e;
    asr_totals_init(&e);
    assert_int_equal(asr_totals_add(&e, "", ""), TP_OK);
    assert_float_equal(asr_wer(&e), 0.0, 0.0);
    assert_int_equal(asr_totals_add(&e, "", "A"), TP_OK);
    assert_true(isinf(asr_wer(&e)));
}

static void test_limits(void **state)
{
    (void)state;
    size_t n = ASR_MAX_TOKENS + 1;
    char *big = malloc(n + 1);
    memset(big, 'A', n);
    big[n] = '\0';
    long e, len;
    /* one long word is fine for WER, too many characters for CER */
    assert_int_equal(asr_word_errors(&e, &len, big, "A"), TP_OK);
    assert_int_equal(e, 1);
    assert_int_equal(asr_char_errors(&e, &len, big, "A"), TP_ERANGE);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_totals),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
