/* tui/pager: see pager.h. */
#include "pager.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/canvas.h"

TpStatus pager_open(Pager *p, const char *title, const char *text)
{
    pager_close(p);
    size_t n = strlen(text);
    while (n && text[n - 1] == '\n') n--; /* no empty rows at the end */
    p->text = malloc(n + 1);
    if (!p->text) return err_set(TP_ENOMEM, "pager: out of memory");
    memcpy(p->text, text, n);
    p->text[n] = '\0';
    snprintf(p->title, sizeof p->title, "%s", title);
    p->on = 1;
    return TP_OK;
}

void pager_close(Pager *p)
{
    free(p->text);
    free(p->row_off);
    free(p->row_len);
    memset(p, 0, sizeof *p);
}

static int push_row(Pager *p, int off, int len)
{
    if (p->n_rows == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        int *o = realloc(p->row_off, (size_t)cap * sizeof *o);
        if (!o) return 0;
        p->row_off = o;
        int *l = realloc(p->row_len, (size_t)cap * sizeof *l);
        if (!l) return 0;
        p->row_len = l;
        p->cap = cap;
    }
    p->row_off[p->n_rows] = off;
    p->row_len[p->n_rows++] = len;
    return 1;
}

/* Bytes of the first `cells` code points of s[0..len) (one cell per code point). */
static int bytes_of_cells(const char *s, int len, int cells)
{
    int b = 0;
    for (int c = 0; c < cells && b < len; c++) {
        uint32_t cp;
        b = (int)(utf8_next(s + b, &cp) - s);
    }
    return b < len ? b : len;
}

static int cells_of(const char *s, int len)
{
    int c = 0;
    for (int i = 0; i < len; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

int pager_layout(Pager *p, int width)
{
    if (width < 1) width = 1;
    if (p->width == width && p->n_rows) return p->n_rows;
    p->n_rows = 0;
    p->width = width;
    if (!p->text) return 0;
    const char *t = p->text;
    int off = 0, n = (int)strlen(t);
    while (off <= n) {
        const char *nl = strchr(t + off, '\n');
        int end = nl ? (int)(nl - t) : n;
        /* one logical line: rows of at most width cells, broken after a space when there is one */
        int s = off;
        do {
            int len = end - s;
            if (cells_of(t + s, len) > width) {
                int cut = bytes_of_cells(t + s, len, width), brk = cut;
                while (brk > 0 && t[s + brk - 1] != ' ') brk--;
                len = brk > width / 3 ? brk : cut;
            }
            if (!push_row(p, s, len)) {
                p->width = 0;
                return p->n_rows = 0;
            }
            s += len;
        } while (s < end);
        if (!nl) break;
        off = end + 1;
    }
    return p->n_rows;
}

void pager_clamp(Pager *p, int rows)
{
    if (p->top > p->n_rows - rows) p->top = p->n_rows - rows;
    if (p->top < 0) p->top = 0;
}

int pager_key(Pager *p, int ch, int rows)
{
    int page = rows > 1 ? rows - 1 : 1;
    switch (ch) {
    case 'q':
    case 'Q':
    case 27: /* Esc */
        pager_close(p);
        return 1;
    case KEY_UP: case 'k': p->top--; break;
    case KEY_DOWN: case 'j': case '\n': case '\r': case KEY_ENTER: p->top++; break;
    case KEY_PPAGE: case 'b': p->top -= page; break;
    case KEY_NPAGE: case ' ': p->top += page; break;
    case KEY_HOME: case 'g': p->top = 0; break;
    case KEY_END: case 'G': p->top = p->n_rows; break;
    default: return 0;
    }
    pager_clamp(p, rows);
    return 1;
}
