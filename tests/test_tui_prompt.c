/* tests/test_tui_prompt: the `:` prompt's Tab completion (tui/prompt), headless.
 *
 * Verbs complete as the first word (a common prefix extends and lists the candidates); keys complete
 * with "=", a verb's positional word as its second word; after "key=" the choices of an enumerated
 * key complete from the verb table's key specs (pattern, block, split, scope, init); a key that takes
 * a snapshot (restore name=) completes the session's snapshot names; a key with no choices says
 * what it takes; and every completed line parses in the command language. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sessions/command.h"
#include "tui/prompt.h"

static Prompt g_p;

static void type(const char *s)
{
    for (; *s; s++) assert_int_equal(prompt_key(&g_p, *s == '\t' ? '\t' : (unsigned char)*s), PROMPT_EDITING);
}

/* Type `keys` on a fresh prompt; the line must become `want`. */
static void expect(const char *keys, const char *want)
{
    prompt_open(&g_p);
    type(keys);
    if (strcmp(g_p.buf, want)) fail_msg("'%s' completed to '%s', wanted '%s'", keys, g_p.buf, want);
    Command c;
    if (command_parse(g_p.buf, &c) != TP_OK && want[strlen(want) - 1] == ' ')
        fail_msg("'%s' does not parse: %s", g_p.buf, err_msg());
}

static int names(void *ctx, char out[][64], int max)
{
    (void)ctx;
    static const char *const N[] = {"before-prune", "baseline", "e2e"};
    int n = 0;
    for (; n < 3 && n < max; n++) snprintf(out[n], 64, "%s", N[n]);
    return n;
}

static void test_verbs_and_keys(void **state)
{
    (void)state;
    expect("sna\t", "snapshot");
    assert_string_equal(g_p.hint, "snapshot snapshots");
    expect("undo\t", "undo ");
    expect("prune rat\t", "prune ratio=");
    expect("schedule ag\t", "schedule agp ");                /* a: agp or average= (hwgp) */
    expect("schedule a\t", "schedule a");
    expect("schedule agp spa\t", "schedule agp span=");   /* sp: span or speedup (hwgp) */
}

static void test_enumerated_values(void **state)
{
    (void)state;
    expect("prune pattern=\t", "prune pattern=");
    assert_string_equal(g_p.hint, "unstructured row block");
    expect("prune pattern=r\t", "prune pattern=row ");
    expect("prune pattern=u\t", "prune pattern=unstructured ");
    expect("prune ratio=0.2 pattern=block block=8\t", "prune ratio=0.2 pattern=block block=8x1 ");
    expect("prune block=\t", "prune block=");
    assert_string_equal(g_p.hint, "16x1 8x1 4x4");
    expect("eval split=te\t", "eval split=test ");
    expect("eval split=tr\t", "eval split=train ");
    expect("prune scope=g\t", "prune scope=global ");
    expect("grow init=g\t", "grow init=grad ");
    expect("resize init=f\t", "resize init=fanin ");
    expect("plot chart=la\t", "plot chart=latency ");
    /* not a choice: nothing inserted, the hint says what the key takes */
    expect("prune ratio=\t", "prune ratio=");
    assert_non_null(strstr(g_p.hint, "0..1"));
    expect("prune nosuch=\t", "prune nosuch=");
    assert_non_null(strstr(g_p.hint, "nosuch"));
}

static void test_snapshot_names(void **state)
{
    (void)state;
    g_p.names = NULL;
    expect("restore name=b\t", "restore name=b");
    g_p.names = names;
    expect("restore name=e\t", "restore name=e2e ");
    expect("restore name=b\t", "restore name=b");
    assert_string_equal(g_p.hint, "before-prune baseline");
    expect("restore name=bef\t", "restore name=before-prune ");
    /* a new snapshot's name is not completed from the old ones */
    expect("snapshot name=e\t", "snapshot name=e");
    g_p.names = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verbs_and_keys),
        cmocka_unit_test(test_enumerated_values),
        cmocka_unit_test(test_snapshot_names),
    };
    return cmocka_run_group_tests_name("tui prompt", tests, NULL, NULL);
}
