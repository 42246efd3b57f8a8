/* tui/frame: one frame of the workbench: the status bar with the screen tabs, the current screen
 * (through the screen table), the message or prompt line and the key bar (from the key table).
 * One refresh per frame (no flicker); below the minimum size, only a note saying so. */
#ifndef TP_FRAME_H
#define TP_FRAME_H

#include "tui/app.h"

void frame_draw(App *a);
/* Text rows of the `:` output pane at the current size (for its scrolling keys). */
int frame_pager_rows(void);

#endif
