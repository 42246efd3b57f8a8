/* plots/canvas: see canvas.h. */
#include "canvas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

TpStatus canvas_init(Canvas *c, int w, int h, CanvasMode mode)
{
    memset(c, 0, sizeof *c);
    if (w < 1 || h < 1 || (long long)w * h > CANVAS_MAX_CELLS)
        return err_set(TP_EINVAL, "canvas: size %dx%d out of range (1..%d cells)", w, h, CANVAS_MAX_CELLS);
    size_t n = (size_t)w * (size_t)h;
    c->cp = calloc(n, sizeof *c->cp);
    c->dots = calloc(n, 1);
    c->tag = calloc(n, 1);
    if (!c->cp || !c->dots || !c->tag) {
        canvas_free(c);
        return err_set(TP_ENOMEM, "canvas: out of memory for %dx%d cells", w, h);
    }
    c->w = w;
    c->h = h;
    c->mode = mode;
    return TP_OK;
}

void canvas_free(Canvas *c)
{
    free(c->cp);
    free(c->dots);
    free(c->tag);
    memset(c, 0, sizeof *c);
}

void canvas_clear(Canvas *c)
{
    size_t n = (size_t)c->w * (size_t)c->h;
    memset(c->cp, 0, n * sizeof *c->cp);
    memset(c->dots, 0, n);
    memset(c->tag, 0, n);
}

/* ---- dots ------------------------------------------------------------------------------------ */

/* Braille dot numbering: left column dots 1,2,3,7 and right column 4,5,6,8, top to bottom. */
uint8_t canvas_braille_bit(int dx, int dy)
{
    static const uint8_t bit[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
    if (dx < 0 || dx > 1 || dy < 0 || dy > 3) return 0;
    return bit[dx][dy];
}

/* One character for up to 8 dots: the height of a flat run ('`-.), or the lean of a steep one. */
char canvas_ascii_for_dots(uint8_t bits)
{
    int n[2] = {0, 0}, sum[2] = {0, 0}, rmin = 4, rmax = -1;
    for (int dx = 0; dx < 2; dx++)
        for (int dy = 0; dy < 4; dy++)
            if (bits & canvas_braille_bit(dx, dy)) {
                n[dx]++;
                sum[dx] += dy;
                if (dy < rmin) rmin = dy;
                if (dy > rmax) rmax = dy;
            }
    if (rmax < 0) return ' ';
    if (rmax - rmin <= 1) {
        int twice_mid = rmin + rmax; /* 0..6 */
        return twice_mid <= 1 ? '\'' : twice_mid <= 4 ? '-' : '.';
    }
    if (n[0] && n[1]) {
        /* mean row of each column, compared without division */
        int l = sum[0] * n[1], r = sum[1] * n[0];
        if (l > r) return '/';
        if (l < r) return '\\';
    }
    return '|';
}

void canvas_dot(Canvas *c, int x, int y, uint8_t tag)
{
    if (x < 0 || y < 0 || x >= c->w * CANVAS_DOTS_X || y >= c->h * CANVAS_DOTS_Y) return;
    size_t i = (size_t)(y / CANVAS_DOTS_Y) * (size_t)c->w + (size_t)(x / CANVAS_DOTS_X);
    c->cp[i] = 0;
    c->dots[i] |= canvas_braille_bit(x % CANVAS_DOTS_X, y % CANVAS_DOTS_Y);
    c->tag[i] = tag;
}

int canvas_clip_segment(double *x0, double *y0, double *x1, double *y1, double xmin, double ymin, double xmax,
                        double ymax)
{
    double t0 = 0, t1 = 1, dx = *x1 - *x0, dy = *y1 - *y0;
    double p[4] = {-dx, dx, -dy, dy}, q[4] = {*x0 - xmin, xmax - *x0, *y0 - ymin, ymax - *y0};
    for (int k = 0; k < 4; k++) {
        if (p[k] == 0) {
            if (q[k] < 0) return 0;
            continue;
        }
        double t = q[k] / p[k];
        if (p[k] < 0) {
            if (t > t1) return 0;
            if (t > t0) t0 = t;
        } else {
            if (t < t0) return 0;
            if (t < t1) t1 = t;
        }
    }
    double ax = *x0 + t0 * dx, ay = *y0 + t0 * dy, bx = *x0 + t1 * dx, by = *y0 + t1 * dy;
    *x0 = ax;
    *y0 = ay;
    *x1 = bx;
    *y1 = by;
    return 1;
}

void canvas_line(Canvas *c, int x0, int y0, int x1, int y1, uint8_t tag)
{
    int W = c->w * CANVAS_DOTS_X, H = c->h * CANVAS_DOTS_Y;
    if (x0 < 0 || y0 < 0 || x1 < 0 || y1 < 0 || x0 >= W || x1 >= W || y0 >= H || y1 >= H) {
        double a = x0, b = y0, d = x1, e = y1;
        if (!canvas_clip_segment(&a, &b, &d, &e, 0, 0, W - 1, H - 1)) return;
        x0 = (int)lround(a);
        y0 = (int)lround(b);
        x1 = (int)lround(d);
        y1 = (int)lround(e);
    }
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        canvas_dot(c, x0, y0, tag);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

/* ---- text ------------------------------------------------------------------------------------ */

int utf8_encode(char out[4], uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp < 0xE000) cp = '?';
    if (cp < 0x10000) {
        if (cp == '?') {
            out[0] = '?';
            return 1;
        }
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp < 0x110000) {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
    }
    out[0] = '?';
    return 1;
}

const char *utf8_next(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    int len;
    uint32_t v, min;
    if (u[0] < 0x80) {
        *cp = u[0];
        return s + 1;
    } else if ((u[0] & 0xE0) == 0xC0) {
        len = 2, v = u[0] & 0x1F, min = 0x80;
    } else if ((u[0] & 0xF0) == 0xE0) {
        len = 3, v = u[0] & 0x0F, min = 0x800;
    } else if ((u[0] & 0xF8) == 0xF0) {
        len = 4, v = u[0] & 0x07, min = 0x10000;
    } else {
        *cp = '?';
        return s + 1;
    }
    for (int k = 1; k < len; k++) {
        if ((u[k] & 0xC0) != 0x80) { /* also stops at the NUL */
            *cp = '?';
            return s + k;
        }
        v = (v << 6) | (u[k] & 0x3F);
    }
    *cp = (v < min || v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) ? '?' : v;
    return s + len;
}

int utf8_width(const char *s)
{
    int n = 0;
    uint32_t cp;
    while (*s) {
        s = utf8_next(s, &cp);
        n++;
    }
    return n;
}

void canvas_put(Canvas *c, int col, int row, uint32_t cp, uint8_t tag)
{
    if (col < 0 || row < 0 || col >= c->w || row >= c->h) return;
    size_t i = (size_t)row * (size_t)c->w + (size_t)col;
    if (cp < 0x20 || cp == 0x7F) cp = cp ? ' ' : 0;
    c->cp[i] = cp;
    c->dots[i] = 0;
    c->tag[i] = tag;
}

int canvas_puts(Canvas *c, int col, int row, const char *s, uint8_t tag)
{
    int n = 0;
    uint32_t cp;
    while (*s) {
        s = utf8_next(s, &cp);
        canvas_put(c, col + n, row, cp ? cp : '?', tag);
        if (n < 1 << 30) n++;
    }
    return n;
}

uint32_t canvas_cell(const Canvas *c, int col, int row)
{
    if (col < 0 || row < 0 || col >= c->w || row >= c->h) return ' ';
    size_t i = (size_t)row * (size_t)c->w + (size_t)col;
    uint32_t cp = c->cp[i];
    if (!cp && c->dots[i]) {
        if (c->mode == CANVAS_BRAILLE) return c->glyph_ink[c->tag[i]] ? c->glyph_ink[c->tag[i]] : 0x2800u + c->dots[i];
        char ink = c->ascii_ink[c->tag[i]];
        return (uint32_t)(unsigned char)(ink ? ink : canvas_ascii_for_dots(c->dots[i]));
    }
    if (!cp) return ' ';
    if (c->mode == CANVAS_ASCII && cp >= 0x80) return '?';
    return cp;
}

/* ---- render ---------------------------------------------------------------------------------- */

void canvas_text_free(CanvasText *t)
{
    if (t->lines)
        for (int r = 0; r < t->h; r++) free(t->lines[r]);
    free(t->lines);
    free(t->tags);
    memset(t, 0, sizeof *t);
}

TpStatus canvas_render(const Canvas *c, CanvasText *out)
{
    memset(out, 0, sizeof *out);
    size_t n = (size_t)c->w * (size_t)c->h;
    out->lines = calloc((size_t)c->h + 1, sizeof *out->lines);
    out->tags = malloc(n);
    if (!out->lines || !out->tags) goto nomem;
    out->w = c->w;
    out->h = c->h;
    memcpy(out->tags, c->tag, n);
    for (int r = 0; r < c->h; r++) {
        char *line = malloc((size_t)c->w * 4 + 1), *p = line;
        if (!line) goto nomem;
        for (int k = 0; k < c->w; k++) p += utf8_encode(p, canvas_cell(c, k, r));
        *p = '\0';
        out->lines[r] = line;
    }
    return TP_OK;
nomem:
    canvas_text_free(out);
    return err_set(TP_ENOMEM, "canvas: out of memory rendering %dx%d cells", c->w, c->h);
}

char *canvas_text_join(const CanvasText *t)
{
    size_t n = 1;
    for (int r = 0; r < t->h; r++) n += strlen(t->lines[r]) + 1;
    char *s = malloc(n), *p = s;
    if (!s) return NULL;
    for (int r = 0; r < t->h; r++) {
        size_t k = strlen(t->lines[r]);
        memcpy(p, t->lines[r], k);
        p[k] = '\n';
        p += k + 1;
    }
    *p = '\0';
    return s;
}
