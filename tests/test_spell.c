/* tests/test_spell: edit distance and the "did you mean" guess of base/spell. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/spell.h"

static void test_distance(void **state)
{
    (void)state;
    assert_int_equal(spell_distance("train", "train"), 0);
    assert_int_equal(spell_distance("trian", "train"), 2);
    assert_int_equal(spell_distance("tran", "train"), 1);
    assert_int_equal(spell_distance("", "abc"), 3);
    assert_int_equal(spell_distance("kitten", "sitting"), 3);
    assert_int_equal(spell_distance("0123456789012345678901234567890", "a"), 99);
}

static void test_guess(void **state)
{
    (void)state;
    static const char *const NAMES[] = {"prune", "grow", "profile", "export"};
    SpellGuess g = SPELL_GUESS_INIT;
    for (int i = 0; i < 4; i++) spell_consider(&g, "prnue", NAMES[i]);
    assert_string_equal(g.best, "prune");
    assert_int_equal(g.distance, 2);

    SpellGuess far = SPELL_GUESS_INIT;
    for (int i = 0; i < 4; i++) spell_consider(&far, "zzzzzz", NAMES[i]);
    assert_null(far.best);

    SpellGuess tie = SPELL_GUESS_INIT; /* equally close: the first considered wins */
    spell_consider(&tie, "ab", "xb");
    spell_consider(&tie, "ab", "ax");
    assert_string_equal(tie.best, "xb");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_distance), cmocka_unit_test(test_guess)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
