/* tui/tui: the one entry point of the ncurses workbench (DESIGN 1).
 *
 * The command line opens a session through sessions/ and hands it here; the TUI draws it, turns keys
 * into lines of the command language (command_execute), and returns when the user quits or a stop
 * signal arrives.  Nothing else of tui/ is visible to the front ends, and only the binary and the TUI's
 * own tests link ncurses. */
#ifndef TP_TUI_H
#define TP_TUI_H

#include "sessions/session.h"

typedef struct {
    int ascii;     /* ASCII charts and boxes instead of Unicode braille (TOPIARY_ASCII, --ascii)  */
    int no_color;  /* monochrome (NO_COLOR, --no-color)                                         */
    const char *screen; /* the screen to open on, by its tab name ("Lessons"); NULL: the first      */
} TuiOptions;

/* Run the workbench on an open session until quit; returns a process exit code (0 on a normal quit). */
int tui_run(Session *s, const TuiOptions *o);

#endif
