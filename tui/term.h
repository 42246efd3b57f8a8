/* tui/term: the terminal: ncurses setup and restore (also from crash signals and atexit), colours
 * (off with NO_COLOR or --no-color), UTF-8 detection for braille/shading (--ascii forces ASCII),
 * key reads with a timeout, and the minimum size check.  Nothing else in topiary calls curses
 * setup functions. */
#ifndef TP_TERM_H
#define TP_TERM_H

#include "base/status.h"

#define TERM_MIN_COLS 80
#define TERM_MIN_ROWS 24

/* Colour pairs (used with COLOR_PAIR when colours are on). */
enum {
    TERM_C_NORMAL = 0,
    TERM_C_BAR = 1,      /* status/key bars            */
    TERM_C_KEY = 2,      /* key names in the key bar   */
    TERM_C_ERR = 3,      /* errors                     */
    TERM_C_OK = 4,       /* good news                  */
    TERM_C_S1 = 5,       /* chart series 1..4          */
    TERM_C_S2 = 6,
    TERM_C_S3 = 7,
    TERM_C_S4 = 8,
    TERM_C_TITLE = 9,
    TERM_C_SEL = 10,     /* selection                  */
    TERM_C_MARK = 11,    /* chart markers              */
};

typedef struct {
    int color;           /* colours in use                     */
    int ascii;           /* ASCII instead of braille/shading   */
} TermCaps;

/* want_color: 0 to force off; want_ascii: 1 to force ASCII.  Refuses a non-TTY stdin/stdout. */
TpStatus term_init(TermCaps *caps, int want_color, int want_ascii);
void term_done(void);              /* idempotent; safe from atexit */
int term_too_small(void);          /* below TERM_MIN_COLS x TERM_MIN_ROWS */
/* Next key or ERR after timeout_ms (0 = poll, -1 = wait). */
int term_key(int timeout_ms);
int term_attr(int pair);           /* COLOR_PAIR(pair) when colours are on, else a mono attribute */

#endif
