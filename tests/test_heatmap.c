/* tests/test_heatmap: shade levels, block averaging (exact on a known mask), header line, small and
 * empty matrices, and golden renderings in braille-mode shades and ASCII. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plots/heatmap.h"
#include "tests/golden.h"

static char *render(const char *name, const uint8_t *m, int rows, int cols, int w, int h, CanvasMode mode)
{
    CanvasText t;
    assert_int_equal(heatmap_render(&t, name, m, rows, cols, w, h, mode), TP_OK);
    assert_int_equal(t.h, h);
    for (int r = 0; r < h; r++) assert_int_equal(utf8_width(t.lines[r]), w);
    char *j = canvas_text_join(&t);
    canvas_text_free(&t);
    return j;
}

static void test_levels(void **state)
{
    (void)state;
    assert_int_equal(heatmap_level(0, 10), 0);
    assert_int_equal(heatmap_level(1, 10), 1);
    assert_int_equal(heatmap_level(1, 3), 1);  /* exactly 1/3 */
    assert_int_equal(heatmap_level(4, 10), 2);
    assert_int_equal(heatmap_level(2, 3), 2);  /* exactly 2/3 */
    assert_int_equal(heatmap_level(7, 10), 3);
    assert_int_equal(heatmap_level(99, 100), 3); /* almost full is not full */
    assert_int_equal(heatmap_level(10, 10), 4);
}

static void test_block_average(void **state)
{
    (void)state;
    /* 4x4: top-left 2x2 block full, top-right one live entry of four, bottom-left two, bottom-right none */
    const uint8_t m[16] = {1, 1, 1, 0, /**/ 1, 1, 0, 0, /**/ 1, 0, 0, 0, /**/ 0, 1, 0, 0};
    char *s = render("w", m, 4, 4, 2, 3, CANVAS_ASCII);
    assert_string_equal(s, "w \n@.\n: \n");
    free(s);
    CanvasText t;
    assert_int_equal(heatmap_render(&t, "w", m, 4, 4, 2, 3, CANVAS_BRAILLE), TP_OK);
    assert_string_equal(t.lines[1], "\xE2\x96\x88\xE2\x96\x91"); /* "█░" */
    assert_int_equal(t.tags[2], HEATMAP_TAG_LEVEL + 4);
    assert_int_equal(t.tags[3], HEATMAP_TAG_LEVEL + 1);
    assert_int_equal(t.tags[5], HEATMAP_TAG_LEVEL + 0);
    canvas_text_free(&t);
    /* one cell per entry when the matrix is smaller than the box: no upscaling */
    s = render("small", m, 4, 4, 12, 6, CANVAS_ASCII);
    assert_string_equal(s, "small  4x4  \n@@@         \n@@          \n@           \n @          \n            \n");
    free(s);
}

static void test_header(void **state)
{
    (void)state;
    uint8_t m[6] = {1, 0, 0, 1, 1, 0};
    char *s = render("l0.w_hh", m, 2, 3, 44, 1, CANVAS_BRAILLE); /* h = 1: the header only */
    assert_string_equal(s, "l0.w_hh  2x3  density 50.0%  nnz 3          \n");
    free(s);
    s = render("decoder.weight", NULL, 0, 5, 30, 3, CANVAS_ASCII);
    assert_string_equal(s, "decoder.weight  empty matrix  \n                              \n"
                           "                              \n");
    free(s);
    CanvasText t;
    assert_int_equal(heatmap_render(&t, "x", NULL, 2, 2, 10, 3, CANVAS_ASCII), TP_EINVAL);
    assert_int_equal(heatmap_render(&t, "x", m, -1, 2, 10, 3, CANVAS_ASCII), TP_EINVAL);
    assert_int_equal(heatmap_render(&t, "x", m, 2, 3, 0, 3, CANVAS_ASCII), TP_EINVAL);
}

/* A 4H x H recurrent matrix as pruning leaves it: dense gate blocks at different densities,
 * a few removed hidden units (zero columns), a row-balanced band. */
static uint8_t *gate_mask(int H)
{
    int rows = 4 * H, cols = H;
    uint8_t *m = malloc((size_t)rows * (size_t)cols);
    uint32_t x = 12345;
    static const int keep_pct[4] = {90, 50, 20, 70}; /* i f g o */
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            x = x * 1664525u + 1013904223u;
            int gate = r / H, keep = (int)((x >> 8) % 100) < keep_pct[gate];
            if (c >= H / 2 && c < H / 2 + H / 8) keep = 0;            /* removed units */
            if (gate == 2 && r % 8 == 0) keep = (c % 4) == 0;        /* row-balanced rows */
            if (gate == 3 && c < H / 8) keep = 1;                    /* a dense band */
            m[(size_t)r * cols + c] = (uint8_t)keep;
        }
    return m;
}

static void test_golden(void **state)
{
    (void)state;
    int H = 64;
    uint8_t *m = gate_mask(H);
    char *a = render("l0.w_hh", m, 4 * H, H, 48, 17, CANVAS_BRAILLE);
    char *b = render("l0.w_hh", m, 4 * H, H, 48, 17, CANVAS_ASCII);
    char *c = render("l0.w_hh", m, 4 * H, H, 20, 5, CANVAS_BRAILLE); /* heavier aggregation */
    char all[8192];
    snprintf(all, sizeof all, "%s--- ascii\n%s--- 20x5\n%s", a, b, c);
    free(a), free(b), free(c);
    free(m);
    assert_int_equal(golden_check("heatmap.txt", all), 0);
}

static void test_big_matrix_is_quick(void **state)
{
    (void)state;
    int rows = 2600, cols = 650; /* 4H x H for H = 650 */
    uint8_t *m = malloc((size_t)rows * cols);
    for (size_t i = 0; i < (size_t)rows * cols; i++) m[i] = (i % 7) != 0;
    char *s = render("l1.w_hh", m, rows, cols, 78, 20, CANVAS_BRAILLE);
    assert_non_null(strstr(s, "l1.w_hh  2600x650  density 85.7%  nnz 1448571"));
    free(s);
    free(m);
}

/* The legend names every shade and, when there is room, the weights per cell; the widest form that
 * fits is chosen, none when nothing fits, ASCII shades in ASCII mode. */
static void test_legend(void **state)
{
    (void)state;
    char b[256];
    /* 128x16 into 22x8 cells: 7 rows of ceil(128/7) = 19 rows, 16 columns of 1 */
    int w = heatmap_legend(b, sizeof b, 128, 16, 22, 8, CANVAS_BRAILLE, 200);
    assert_non_null(strstr(b, "per cell (19x1 weights)"));
    assert_non_null(strstr(b, "' ' none"));
    assert_non_null(strstr(b, "\u2588 all"));
    assert_true(w > 40 && w <= 200);
    w = heatmap_legend(b, sizeof b, 128, 16, 22, 8, CANVAS_BRAILLE, 45);
    assert_string_equal(b, "cell 19x1: \u2591<=1/3 \u2592<=2/3 \u2593<all \u2588all live");
    assert_int_equal(w, 40);
    w = heatmap_legend(b, sizeof b, 128, 16, 22, 8, CANVAS_BRAILLE, 24);
    assert_string_equal(b, "\u2591<=1/3 \u2592<=2/3 \u2593<all \u2588all");
    assert_int_equal(w, 24);
    w = heatmap_legend(b, sizeof b, 128, 16, 22, 8, CANVAS_ASCII, 24);
    assert_string_equal(b, ".<=1/3 :<=2/3 #<all @all");
    assert_int_equal(heatmap_legend(b, sizeof b, 128, 16, 22, 8, CANVAS_ASCII, 10), 0);
    assert_string_equal(b, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels), cmocka_unit_test(test_block_average), cmocka_unit_test(test_header),
        cmocka_unit_test(test_golden), cmocka_unit_test(test_big_matrix_is_quick), cmocka_unit_test(test_legend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
