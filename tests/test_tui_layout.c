/* tests/test_tui_layout: what the frame shows at each width (tui/layout), headless.
 *
 * Key bar: from 80 columns up every binding of priority 0 (? Help, q Quit) and the run key are shown
 * and the bar fits; at 200 every bar key is; items go least important first, never help or quit.
 * Tabs: at 80x24 every screen number is there and the current screen's name, leaving the status text
 * its minimum; at 100 every tab has a name; at 160 the full names.  Grow & prune: the columns add
 * up to the width, the mask heatmap has at least 24 columns at 80 and the form shows a whole
 * "unstructured".  Latency: the default view is around the layers with two measured sizes on each
 * side, the whole range when the layers span the profile, none without layers or points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tui/keys.h"
#include "tui/layout.h"
#include "tui/screens.h"

static int shown_key(const KeyBinding *k, const int *shown, int n, int key)
{
    for (int i = 0; i < n; i++)
        if (k[i].key == key) return shown[i];
    return -1;
}

static void test_key_bar_keeps_help_and_quit(void **state)
{
    (void)state;
    int n;
    const KeyBinding *k = keys_table(&n);
    assert_true(n <= LAYOUT_MAX_ITEMS);
    for (int w = 20; w <= 220; w++) {
        int shown[LAYOUT_MAX_ITEMS];
        int used = layout_key_bar(k, n, w, shown);
        assert_int_equal(shown_key(k, shown, n, '?'), 1);
        assert_int_equal(shown_key(k, shown, n, 'q'), 1);
        if (w >= 80) {
            assert_true(used <= w);
            assert_int_equal(shown_key(k, shown, n, ' '), 1);
            assert_int_equal(shown_key(k, shown, n, ':'), 1);
            assert_int_equal(shown_key(k, shown, n, 'u'), 1);
        }
        int sum = 0;
        for (int i = 0; i < n; i++) {
            if (!k[i].bar) assert_int_equal(shown[i], 0);
            if (shown[i]) sum += layout_key_cells(&k[i]);
            /* a shown item outranks every dropped one */
            for (int j = 0; j < n; j++)
                if (shown[i] && k[j].bar && !shown[j]) assert_true(k[i].bar_prio < k[j].bar_prio);
        }
        assert_int_equal(sum, used);
        if (w == 200)
            for (int i = 0; i < n; i++) assert_int_equal(shown[i], k[i].bar != NULL);
    }
}

static int tabs_at(int width, int cur, char out[][40])
{
    int n;
    const Screen *const *t = screens_table(&n);
    const char *names[APP_MAX_SCREENS], *shorts[APP_MAX_SCREENS];
    for (int i = 0; i < n; i++) names[i] = t[i]->name, shorts[i] = t[i]->tab;
    int used = layout_tabs(names, shorts, n, cur, width, out);
    assert_true(used <= width - LAYOUT_MIN_STATUS);
    int sum = 0;
    for (int i = 0; i < n; i++) sum += out[i][0] ? (int)strlen(out[i]) + 2 : 0;
    assert_int_equal(sum, used);
    return n;
}

static void test_tabs_fit_from_80_columns(void **state)
{
    (void)state;
    char out[APP_MAX_SCREENS][40];
    int n;
    const Screen *const *t = screens_table(&n);
    for (int cur = 0; cur < n; cur++) {
        for (int w = 80; w <= 200; w += 4) {
            tabs_at(w, cur, out);
            for (int i = 0; i < n; i++) {
                char num[16];
                snprintf(num, sizeof num, "%d", i + 1);
                assert_memory_equal(out[i], num, strlen(num)); /* every number */
            }
            assert_true(strlen(out[cur]) > 2); /* the current screen's name */
        }
        tabs_at(100, cur, out);
        for (int i = 0; i < n; i++) assert_true(strlen(out[i]) > 2); /* a name on every tab */
        tabs_at(160, cur, out);
        for (int i = 0; i < n; i++) assert_string_equal(out[i] + 2, t[i]->name);
    }
    /* below the room for numbers: nothing rather than a cut tab */
    tabs_at(LAYOUT_MIN_STATUS + 3, 0, out);
    for (int i = 0; i < n; i++) assert_string_equal(out[i], "");
}

static void test_prune_columns(void **state)
{
    (void)state;
    for (int w = 80; w <= 240; w++) {
        LayoutPrune L;
        layout_prune(w, &L);
        assert_int_equal(L.fw + L.tw + L.hw, w);
        assert_true(L.hw >= 24);
        assert_true(L.value_w >= (int)strlen("unstructured"));
        assert_true(1 + L.label_w + 1 + L.value_w <= L.fw - 2);
        assert_true(L.name_w + 7 + (L.row_counts ? 9 : 0) <= L.tw - 2);
    }
}

static void test_latency_range(void **state)
{
    (void)state;
    double sizes[96], lo = -1, hi = -1;
    for (int i = 0; i < 96; i++) sizes[i] = 16.0 * (i + 1); /* 16..1536 */
    int layers[2] = {48, 32};
    assert_int_equal(layout_latency_range(sizes, 96, layers, 2, &lo, &hi), 1);
    assert_true(lo <= 16 && lo >= 16);   /* 32/2 = 16, and the two sizes at or below 32 are 16, 32 */
    assert_true(hi >= 96 && hi <= 96);   /* 2 * 48 */
    /* a layer near the end: two sizes above it where there are, never past the profile */
    int big[1] = {1520};
    assert_int_equal(layout_latency_range(sizes, 96, big, 1, &lo, &hi), 1);
    assert_true(lo <= 760 && lo >= 760);
    assert_true(hi <= 1536 && hi >= 1536);
    /* a sparse profile: at least two measured sizes on each side */
    double few[6] = {16, 64, 256, 512, 1024, 1536};
    int mid[1] = {300};
    assert_int_equal(layout_latency_range(few, 6, mid, 1, &lo, &hi), 1);
    assert_true(lo <= 64);
    assert_true(hi >= 1024 && hi < 1536);
    /* layers spanning the profile: the whole range */
    int span[2] = {16, 1536};
    assert_int_equal(layout_latency_range(sizes, 96, span, 2, &lo, &hi), 0);
    assert_int_equal(layout_latency_range(sizes, 96, span, 0, &lo, &hi), 0);
    assert_int_equal(layout_latency_range(sizes, 1, mid, 1, &lo, &hi), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_bar_keeps_help_and_quit),
        cmocka_unit_test(test_tabs_fit_from_80_columns),
        cmocka_unit_test(test_prune_columns),
        cmocka_unit_test(test_latency_range),
    };
    return cmocka_run_group_tests_name("tui layout", tests, NULL, NULL);
}
