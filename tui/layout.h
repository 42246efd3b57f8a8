/* tui/layout: where the frame's items go at a given width, as pure arithmetic (no curses), so that
 * what each width shows is tested headless.  The key bar drops its least important items first (the
 * key table's bar_prio; ? Help and q Quit never go); the screen tabs shorten their names, then show
 * the numbers with only the current screen's name; the Grow & prune screen narrows its form and
 * table so that the mask heatmap keeps a usable width from 80 columns up. */
#ifndef TP_LAYOUT_H
#define TP_LAYOUT_H

#include "tui/keys.h"

#define LAYOUT_MAX_ITEMS 32
#define LAYOUT_MIN_STATUS 34   /* status-bar text kept left of the tabs ("paused | step N ep a/b | valid X") */

/* Key bar: shown[i] = 1 for the bindings k[i] drawn at `width` (bindings with a bar label only).
 * Returns the cells used. */
int layout_key_bar(const KeyBinding *k, int n, int width, int *shown);
/* The cells one binding takes in the key bar: "name label ". */
int layout_key_cells(const KeyBinding *k);

/* Screen tabs at the right of the status bar: each tab's text (out[i], "" when hidden) and the
 * cells they take.  Full names when they fit, else the short ones, else numbers with the current
 * screen's name; avail is what the status text leaves (at least LAYOUT_MIN_STATUS is left to it). */
int layout_tabs(const char *const *names, const char *const *shorts, int n, int cur, int width, char out[][40]);

/* The Grow & prune screen's columns: form (with its label and value widths), the matrices table
 * (tensor name width; live/row shown or not) and the mask heatmap; fw + tw + hw == width. */
typedef struct {
    int fw, label_w, value_w;
    int tw, name_w, row_counts;
    int hw;
} LayoutPrune;

void layout_prune(int width, LayoutPrune *l);

/* The Latency chart's default x range: about an octave around the model's layer sizes (min a, max b:
 * [a/2, 2b]), widened to hold at least two measured sizes on each side of them where the profile has
 * them, and kept within the measured sizes and the layers.  Returns 1 with [*lo, *hi] when that is
 * narrower than the whole profile, 0 when the whole range is the view (sizes ascending). */
int layout_latency_range(const double *sizes, int n, const int *layers, int n_layers, double *lo, double *hi);

#endif
