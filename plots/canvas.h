/* plots/canvas: a plain w x h cell buffer that charts draw into, rendered to lines of UTF-8 text.
 *
 * Knows nothing of curses or sessions (DESIGN 1): drawing in, NUL-terminated strings out.
 *
 * Two layers share the cells, painted in order (the last writer of a cell wins):
 *   - text: one code point per cell (canvas_put, canvas_puts);
 *   - dots: a dot space of 2 x 4 dots per cell (x right, y down, origin at the top left dot), shown
 *     as Unicode braille (U+2800 + dot bits) or, in ASCII mode, as one ASCII character per cell.
 * A dot drawn into a text cell replaces the text; text drawn into a dot cell replaces the dots; dots
 * drawn into a dot cell are OR'ed.  Every cell also remembers the style tag of its last writer (a
 * small int the TUI maps to a colour pair; 0 = plain).  Drawing outside the box is clipped: nothing
 * is ever written outside the w x h cells, whatever the coordinates.
 *
 * Every rendered cell is exactly one code point of display width 1 (braille, box drawing, shades,
 * or ASCII), so a line of w cells is w columns wide and the tag of column i is tags[row * w + i].
 * In ASCII mode the output is pure 7-bit ASCII (any other code point is rendered as '?').
 */
#ifndef TP_CANVAS_H
#define TP_CANVAS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define CANVAS_DOTS_X 2 /* dots per cell, horizontally */
#define CANVAS_DOTS_Y 4 /* dots per cell, vertically   */
#define CANVAS_MAX_CELLS (1 << 22)

typedef enum { CANVAS_BRAILLE = 0, CANVAS_ASCII = 1 } CanvasMode;

typedef struct {
    int w, h;            /* cells                                                          */
    CanvasMode mode;
    uint32_t *cp;        /* [h*w] text code point of a cell, 0 = none                       */
    uint8_t *dots;       /* [h*w] braille dot bits of a cell (bit layout of U+2800)         */
    uint8_t *tag;        /* [h*w] style tag of the last writer                              */
    char ascii_ink[256]; /* ASCII mode: character for the dots of a tag; 0 = dot shape      */
    uint32_t glyph_ink[256]; /* braille mode: code point for the dots of a tag; 0 = braille  */
} Canvas;

/* Lines of rendered text: h NUL-terminated UTF-8 strings (lines[h] == NULL) and their tags. */
typedef struct {
    int w, h;
    char **lines;        /* [h + 1], each exactly w cells                                   */
    uint8_t *tags;       /* [h*w] style tag per cell, row-major                              */
} CanvasText;

/* w, h >= 1 and w * h <= CANVAS_MAX_CELLS, else TP_EINVAL. */
TpStatus canvas_init(Canvas *c, int w, int h, CanvasMode mode);
void canvas_free(Canvas *c);
void canvas_clear(Canvas *c);

/* The U+2800 bit of dot (dx, dy) inside a cell, dx in 0..1, dy in 0..3 (braille dots 1-8). */
uint8_t canvas_braille_bit(int dx, int dy);
/* The ASCII character standing for a cell's dot bits: '.', '-', '`', ':', '|', '/', '\\', ... */
char canvas_ascii_for_dots(uint8_t bits);

/* Dot space: (0,0) is the top left dot; the box is 2w x 4h dots; outside is ignored. */
void canvas_dot(Canvas *c, int x, int y, uint8_t tag);
/* Liang-Barsky: clip the segment (x0,y0)-(x1,y1) to [xmin,xmax] x [ymin,ymax] in place; returns 0
 * when nothing of it is inside.  Finite inputs only. */
int canvas_clip_segment(double *x0, double *y0, double *x1, double *y1, double xmin, double ymin, double xmax,
                        double ymax);
/* Bresenham line between two dots, both ends included; clipped to the box first, so far-away
 * end points cost nothing. */
void canvas_line(Canvas *c, int x0, int y0, int x1, int y1, uint8_t tag);

/* One code point into a cell (cp 0 clears the cell); outside the box is ignored. */
void canvas_put(Canvas *c, int col, int row, uint32_t cp, uint8_t tag);
/* A UTF-8 string from (col,row) to the right, clipped at the box; invalid bytes become '?', control
 * characters ' '.  Returns the number of code points of s (its width, including clipped ones). */
int canvas_puts(Canvas *c, int col, int row, const char *s, uint8_t tag);
/* The code point a cell renders as (' ' for an empty cell). */
uint32_t canvas_cell(const Canvas *c, int col, int row);

/* Render every cell into out (caller frees with canvas_text_free). */
TpStatus canvas_render(const Canvas *c, CanvasText *out);
void canvas_text_free(CanvasText *t);
/* All lines joined with '\n' after each (malloc'd; NULL when out of memory). */
char *canvas_text_join(const CanvasText *t);

/* UTF-8 helpers shared by the plots modules. */
int utf8_encode(char out[4], uint32_t cp);       /* bytes written (1..4); invalid cp -> '?' */
const char *utf8_next(const char *s, uint32_t *cp); /* decode one code point; invalid -> '?' */
int utf8_width(const char *s);                    /* number of code points */

#endif
