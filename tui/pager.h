/* tui/pager: the output pane of the `:` prompt: the whole multi-line text of a command (help VERB,
 * snapshots, status, recommend, ...), wrapped to the pane's width and scrolled with Up/Down/j/k,
 * PgUp/PgDn/Space/b, Home/End/g/G; q or Esc closes it.  Pure state: no curses calls, no session
 * (tui/frame draws it), so it is tested headless. */
#ifndef TP_PAGER_H
#define TP_PAGER_H

#include "base/status.h"

typedef struct {
    int on;                    /* shown                                          */
    char title[160];           /* the command line it shows the output of        */
    char *text;                /* owned copy of the output                       */
    int width;                 /* the width the rows were wrapped at (0: none)   */
    int *row_off, *row_len;    /* visual rows: byte offset and length into text  */
    int n_rows, cap;
    int top;                   /* first visual row shown                         */
} Pager;

/* Show text (copied) under title; TP_ENOMEM leaves the pager closed. */
TpStatus pager_open(Pager *p, const char *title, const char *text);
void pager_close(Pager *p);
/* Wrap to width cells (words break at spaces when they can; a longer word is cut); cheap when the
 * width did not change.  Returns the number of visual rows (0 when out of memory). */
int pager_layout(Pager *p, int width);
/* A key, with `rows` text rows visible: 1 if used (closing on q/Esc is using it); 0 for a key the
 * pager does not take (it stays open). */
int pager_key(Pager *p, int ch, int rows);
/* Keep top within [0, n_rows - rows]. */
void pager_clamp(Pager *p, int rows);

#endif
