/* tests/test_canvas: braille bit patterns of known dots, Bresenham lines, clipping (nothing outside
 * the box, far-away end points), the painter's order of text and dots, the ASCII fallback, UTF-8. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plots/canvas.h"

/* Render and join; the caller frees. */
static char *render(const Canvas *c)
{
    CanvasText t;
    assert_int_equal(canvas_render(c, &t), TP_OK);
    assert_int_equal(t.h, c->h);
    assert_null(t.lines[t.h]);
    for (int r = 0; r < t.h; r++) assert_int_equal(utf8_width(t.lines[r]), c->w);
    char *s = canvas_text_join(&t);
    canvas_text_free(&t);
    return s;
}

static void test_braille_bits(void **state)
{
    (void)state;
    /* U+2800 dots 1,2,3,7 down the left column, 4,5,6,8 down the right */
    static const uint8_t want[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
    for (int dx = 0; dx < 2; dx++)
        for (int dy = 0; dy < 4; dy++) assert_int_equal(canvas_braille_bit(dx, dy), want[dx][dy]);
    assert_int_equal(canvas_braille_bit(2, 0), 0);
    assert_int_equal(canvas_braille_bit(0, -1), 0);

    Canvas c;
    assert_int_equal(canvas_init(&c, 3, 2, CANVAS_BRAILLE), TP_OK);
    canvas_dot(&c, 0, 0, 1);  /* cell (0,0), dot 1 */
    canvas_dot(&c, 3, 7, 2);  /* cell (1,1), right column, bottom row: dot 8 */
    canvas_dot(&c, 4, 2, 3);  /* cell (2,0), left column, third row: dot 3 */
    assert_int_equal(canvas_cell(&c, 0, 0), 0x2801);
    assert_int_equal(canvas_cell(&c, 1, 1), 0x2880);
    assert_int_equal(canvas_cell(&c, 2, 0), 0x2804);
    assert_int_equal(canvas_cell(&c, 1, 0), ' ');
    assert_int_equal(c.tag[1 * 3 + 1], 2);
    char *s = render(&c);
    assert_string_equal(s, "\xE2\xA0\x81 \xE2\xA0\x84\n \xE2\xA2\x80 \n"); /* "⠁ ⠄\n ⢀ \n" */
    free(s);
    /* all eight dots of a cell: U+28FF */
    canvas_clear(&c);
    for (int dx = 0; dx < 2; dx++)
        for (int dy = 0; dy < 4; dy++) canvas_dot(&c, dx, dy, 0);
    assert_int_equal(canvas_cell(&c, 0, 0), 0x28FF);
    canvas_free(&c);
}

static void test_lines(void **state)
{
    (void)state;
    Canvas c;
    assert_int_equal(canvas_init(&c, 2, 1, CANVAS_BRAILLE), TP_OK);
    canvas_line(&c, 0, 0, 3, 0, 5); /* top row of both cells */
    assert_int_equal(canvas_cell(&c, 0, 0), 0x2809);
    assert_int_equal(canvas_cell(&c, 1, 0), 0x2809);
    canvas_clear(&c);
    canvas_line(&c, 0, 0, 3, 3, 5); /* diagonal: (0,0) (1,1) | (2,2) (3,3) */
    assert_int_equal(canvas_cell(&c, 0, 0), 0x2800 + (0x01 | 0x10));
    assert_int_equal(canvas_cell(&c, 1, 0), 0x2800 + (0x04 | 0x80));
    /* the same line drawn backwards sets the same dots */
    Canvas d;
    assert_int_equal(canvas_init(&d, 2, 1, CANVAS_BRAILLE), TP_OK);
    canvas_line(&d, 3, 3, 0, 0, 5);
    assert_memory_equal(c.dots, d.dots, 2);
    /* a single-dot line */
    canvas_clear(&d);
    canvas_line(&d, 1, 2, 1, 2, 5);
    assert_int_equal(canvas_cell(&d, 0, 0), 0x2800 + 0x20);
    canvas_free(&d);
    canvas_free(&c);

    /* a vertical line through a 1x3 canvas fills the left column of every cell */
    assert_int_equal(canvas_init(&c, 1, 3, CANVAS_BRAILLE), TP_OK);
    canvas_line(&c, 0, 0, 0, 11, 1);
    for (int r = 0; r < 3; r++) assert_int_equal(canvas_cell(&c, 0, r), 0x2847);
    canvas_free(&c);
}

static void test_clipping(void **state)
{
    (void)state;
    Canvas c;
    assert_int_equal(canvas_init(&c, 4, 2, CANVAS_BRAILLE), TP_OK);
    /* dots and text outside the box are ignored */
    canvas_dot(&c, -1, 0, 1);
    canvas_dot(&c, 8, 0, 1);
    canvas_dot(&c, 0, 8, 1);
    canvas_dot(&c, INT_MIN, INT_MAX, 1);
    canvas_put(&c, 4, 0, 'x', 1);
    canvas_put(&c, 0, -1, 'x', 1);
    char *s = render(&c);
    assert_string_equal(s, "    \n    \n");
    free(s);
    /* far-away end points: clipped first, so this is quick and stays inside */
    canvas_line(&c, INT_MIN, INT_MIN, INT_MAX, INT_MAX, 1);
    canvas_line(&c, -1000000, 3, 1000000, 3, 2);
    for (int k = 0; k < 4; k++) assert_true(c.dots[k] & 0x44); /* row 3 of the top cells */
    /* a line entirely outside draws nothing */
    Canvas d;
    assert_int_equal(canvas_init(&d, 4, 2, CANVAS_BRAILLE), TP_OK);
    canvas_line(&d, -10, -10, -1, 100, 1);
    canvas_line(&d, 8, 0, 100, 7, 1);
    for (int k = 0; k < 8; k++) assert_int_equal(d.dots[k], 0);
    /* a clipped line equals the visible part of the unclipped one */
    canvas_line(&d, -4, 0, 11, 0, 1);
    for (int k = 0; k < 4; k++) assert_int_equal(d.dots[k], 0x09);
    canvas_free(&d);
    /* text runs off both edges */
    canvas_clear(&c);
    assert_int_equal(canvas_puts(&c, -2, 1, "abcdefgh", 0), 8);
    s = render(&c);
    assert_string_equal(s, "    \ncdef\n");
    free(s);
    canvas_free(&c);
    /* Liang-Barsky */
    double x0 = -5, y0 = 0, x1 = 5, y1 = 10; /* passes left of the box's corner */
    assert_int_equal(canvas_clip_segment(&x0, &y0, &x1, &y1, 0, 0, 4, 4), 0);
    x0 = -2, y0 = 1, x1 = 6, y1 = 1;
    assert_int_equal(canvas_clip_segment(&x0, &y0, &x1, &y1, 0, 0, 4, 4), 1);
    assert_true(x0 == 0 && y0 == 1 && x1 == 4 && y1 == 1);
    x0 = 0, y0 = 0, x1 = 10, y1 = 10;
    assert_int_equal(canvas_clip_segment(&x0, &y0, &x1, &y1, 0, 0, 4, 4), 1);
    assert_true(x0 == 0 && y0 == 0 && x1 == 4 && y1 == 4);
    assert_int_equal(canvas_clip_segment(&x0, &y0, &x1, &y1, 5, 5, 9, 9), 0);
}

static void test_painter_order(void **state)
{
    (void)state;
    Canvas c;
    assert_int_equal(canvas_init(&c, 3, 1, CANVAS_BRAILLE), TP_OK);
    canvas_puts(&c, 0, 0, "ab", 7);
    canvas_dot(&c, 0, 0, 9); /* a dot replaces text */
    assert_int_equal(canvas_cell(&c, 0, 0), 0x2801);
    assert_int_equal(c.tag[0], 9);
    assert_int_equal(canvas_cell(&c, 1, 0), 'b');
    canvas_dot(&c, 1, 1, 4); /* dots OR */
    assert_int_equal(canvas_cell(&c, 0, 0), 0x2801 + 0x10);
    assert_int_equal(c.tag[0], 4);
    canvas_put(&c, 0, 0, 'z', 2); /* text replaces dots */
    assert_int_equal(canvas_cell(&c, 0, 0), 'z');
    assert_int_equal(c.dots[0], 0);
    canvas_put(&c, 0, 0, '\t', 2); /* control characters are blanks */
    assert_int_equal(canvas_cell(&c, 0, 0), ' ');
    canvas_put(&c, 0, 0, 0, 0); /* cp 0 clears */
    assert_int_equal(canvas_cell(&c, 0, 0), ' ');
    canvas_free(&c);
}

static uint8_t bits(const char *rows[4])
{
    uint8_t b = 0;
    for (int dy = 0; dy < 4; dy++)
        for (int dx = 0; dx < 2; dx++)
            if (rows[dy][dx] == 'o') b |= canvas_braille_bit(dx, dy);
    return b;
}

static void test_ascii_fallback(void **state)
{
    (void)state;
    const char *top[4] = {"oo", "..", "..", ".."}, *mid[4] = {"..", "oo", "..", ".."};
    const char *bottom[4] = {"..", "..", "..", "oo"}, *vert[4] = {"o.", "o.", "o.", "o."};
    const char *rise[4] = {".o", ".o", "o.", "o."}, *fall[4] = {"o.", "o.", ".o", ".o"};
    const char *low2[4] = {"..", "..", "o.", ".o"};
    assert_int_equal(canvas_ascii_for_dots(0), ' ');
    assert_int_equal(canvas_ascii_for_dots(bits(top)), '\'');
    assert_int_equal(canvas_ascii_for_dots(bits(mid)), '-');
    assert_int_equal(canvas_ascii_for_dots(bits(bottom)), '.');
    assert_int_equal(canvas_ascii_for_dots(bits(low2)), '.');
    assert_int_equal(canvas_ascii_for_dots(bits(vert)), '|');
    assert_int_equal(canvas_ascii_for_dots(bits(rise)), '/');
    assert_int_equal(canvas_ascii_for_dots(bits(fall)), '\\');

    Canvas c;
    assert_int_equal(canvas_init(&c, 4, 1, CANVAS_ASCII), TP_OK);
    canvas_line(&c, 0, 3, 3, 0, 1);      /* rising diagonal across two cells */
    canvas_put(&c, 2, 0, 0x2588, 0);     /* non-ASCII text renders as '?'     */
    canvas_dot(&c, 7, 1, 5);
    c.ascii_ink[5] = '*';                /* a tag with its own character       */
    char *s = render(&c);
    assert_string_equal(s, ".'?*\n");
    free(s);
    canvas_free(&c);
}

static void test_utf8(void **state)
{
    (void)state;
    char b[4];
    uint32_t cp;
    const uint32_t cps[] = {'A', 0xB5, 0x2800, 0x28FF, 0x1F600};
    const int lens[] = {1, 2, 3, 3, 4};
    for (int i = 0; i < 5; i++) {
        char z[5] = {0};
        assert_int_equal(utf8_encode(b, cps[i]), lens[i]);
        memcpy(z, b, (size_t)lens[i]);
        assert_ptr_equal(utf8_next(z, &cp), z + lens[i]);
        assert_int_equal(cp, cps[i]);
    }
    assert_int_equal(utf8_encode(b, 0xD800), 1); /* surrogate -> '?' */
    assert_int_equal(b[0], '?');
    utf8_next("\xC0\xAF", &cp); /* overlong */
    assert_int_equal(cp, '?');
    const char *p = utf8_next("\xE2\x82", &cp); /* truncated: stops at the NUL */
    assert_int_equal(cp, '?');
    assert_int_equal(*p, '\0');
    assert_int_equal(utf8_width("a\xC2\xB5\xE2\xA3\xBF"), 3);

    Canvas c;
    assert_int_equal(canvas_init(&c, 3, 1, CANVAS_BRAILLE), TP_OK);
    assert_int_equal(canvas_puts(&c, 0, 0, "\xC2\xB5s\xFF", 0), 3);
    assert_int_equal(canvas_cell(&c, 0, 0), 0xB5);
    assert_int_equal(canvas_cell(&c, 2, 0), '?');
    canvas_free(&c);
}

static void test_init_and_tags(void **state)
{
    (void)state;
    Canvas c;
    assert_int_equal(canvas_init(&c, 0, 3, CANVAS_BRAILLE), TP_EINVAL);
    assert_int_equal(canvas_init(&c, 3, -1, CANVAS_BRAILLE), TP_EINVAL);
    assert_int_equal(canvas_init(&c, 1 << 16, 1 << 16, CANVAS_BRAILLE), TP_EINVAL);
    assert_int_equal(canvas_init(&c, 1, 1, CANVAS_BRAILLE), TP_OK);
    canvas_put(&c, 0, 0, 'x', 42);
    CanvasText t;
    assert_int_equal(canvas_render(&c, &t), TP_OK);
    assert_int_equal(t.tags[0], 42);
    assert_string_equal(t.lines[0], "x");
    canvas_text_free(&t);
    canvas_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_braille_bits),   cmocka_unit_test(test_lines),       cmocka_unit_test(test_clipping),
        cmocka_unit_test(test_painter_order), cmocka_unit_test(test_ascii_fallback), cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_init_and_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
