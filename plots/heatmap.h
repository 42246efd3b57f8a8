/* plots/heatmap: a weight matrix's mask density as shaded cells (DESIGN 1: arrays in, lines out).
 *
 * Line 0 is a header: "<name>  <rows>x<cols>  density 23.4%  nnz 1234" (clipped to w).  The other
 * h - 1 lines show the matrix, aggregated by block averages: the grid has min(rows, h - 1) x
 * min(cols, w) cells (no upscaling; a small matrix sits at the top left), cell (i, j) averaging
 * matrix rows [i*rows/gr, (i+1)*rows/gr) and columns [j*cols/gc, (j+1)*cols/gc).  Shades:
 *   ' ' no live entry, '░' density <= 1/3, '▒' <= 2/3, '▓' < 1, '█' all live
 *   (ASCII mode: ' ' '.' ':' '#' '@').
 * Tags: 0 for the header, HEATMAP_TAG_LEVEL + shade level (0..4) for the matrix cells.
 */
#ifndef TP_HEATMAP_H
#define TP_HEATMAP_H

#include <stdint.h>

#include "plots/canvas.h"

#define HEATMAP_TAG_LEVEL 1

/* Shade level 0..4 of a block with nnz live entries out of n (n > 0). */
int heatmap_level(size_t nnz, size_t n);

/* mask: [rows*cols] row-major, non-zero = live.  rows or cols 0 shows "empty matrix".
 * TP_EINVAL for a bad size or a NULL mask with entries. */
TpStatus heatmap_render(CanvasText *out, const char *name, const uint8_t *mask, int rows, int cols, int w, int h,
                        CanvasMode mode);

/* The legend of a heatmap_render(rows, cols, w, h) picture in at most `width` cells: the most
 * complete of
 *   "live share per cell (4x8 weights): ' ' none ░ <=1/3 ▒ <=2/3 ▓ <all █ all"
 *   "cell 4x8: ░<=1/3 ▒<=2/3 ▓<all █all live"
 *   "░<=1/3 ▒<=2/3 ▓<all █all"
 * that fits (the ASCII shades in ASCII mode; "" when none fits).  Returns its width in cells. */
int heatmap_legend(char *buf, size_t n, int rows, int cols, int w, int h, CanvasMode mode, int width);

#endif
