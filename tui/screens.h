/* tui/screens: the table of screens (htop's Panel, ncdu's browse_*): each screen is one file
 * (tui/screen_*.c) exporting one Screen, with its state in that file.  The main loop dispatches
 * through this table only: refresh (recompute the cached view when its data changed), draw (from
 * memory, never a file), key (the screen's own keys before the global key table), and the global
 * actions a screen implements (g/p/r: the Grow & prune form; a: the Latency recommendation). */
#ifndef TP_SCREENS_H
#define TP_SCREENS_H

#include <stddef.h>

#include "sessions/command.h"
#include "tui/app.h"
#include "tui/keys.h"

typedef struct {
    const char *name;          /* tab label: "Train"                                       */
    const char *tab;           /* short tab label for narrow terminals ("Prune"); NULL: name */
    const char *chart;         /* what P plots on this screen (plot chart=...)             */
    size_t state_size;         /* zeroed state allocated by screens_init                   */
    void (*init)(App *a, void *st);                  /* may be NULL */
    void (*fini)(App *a, void *st);                  /* may be NULL */
    /* Recompute the cached view if the data it shows changed (App.gen); the only place a screen
     * may read the session directory.  May be NULL. */
    void (*refresh)(App *a, void *st);
    void (*draw)(App *a, void *st, int top, int h);
    int (*key)(App *a, void *st, int ch);            /* 1 if the key was used; may be NULL     */
    int (*action)(App *a, void *st, KeyAction act);  /* 1 if it implements act; may be NULL    */
    void (*result)(App *a, void *st, const CommandResult *r); /* every command result; may be NULL */
} Screen;

extern const Screen SCREEN_TRAIN, SCREEN_PRUNE, SCREEN_LATENCY, SCREEN_SESSIONS, SCREEN_HELP;
extern const Screen SCREEN_LESSONS; /* tui/screen_lessons.c */

/* The screens in tab order (number keys 1..n). */
const Screen *const *screens_table(int *n);

/* Allocate and initialise every screen's state (TP_ENOMEM); free it. */
TpStatus screens_init(App *a);
void screens_fini(App *a);

/* The current screen: refresh its view if needed, draw it; give it a key (1 if used). */
void screens_refresh(App *a);
void screens_draw(App *a, int top, int h);
int screens_key(App *a, int ch);
/* Offer a global action to the screens that implement it (1 if one did). */
int screens_action(App *a, KeyAction act);
/* Offer a command result to every screen. */
void screens_result(App *a, const CommandResult *r);

#endif
