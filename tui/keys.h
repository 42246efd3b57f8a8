/* tui/keys: the key table (htop's Action pattern): every key, what it does, its label in the key
 * bar, and its help line.  The help screen and the key bar are generated from this table. */
#ifndef TP_KEYS_H
#define TP_KEYS_H

typedef enum {
    ACT_NONE = 0,
    ACT_RUN,        /* Space: run / pause training                */
    ACT_STEP,       /* s: one minibatch                           */
    ACT_GROW,       /* g: grow with the form's settings           */
    ACT_PRUNE,      /* p: prune with the form's settings          */
    ACT_RESIZE,     /* r: resize layers to the form's targets     */
    ACT_PROFILE,    /* l: profile latency                         */
    ACT_APPLY_REC,  /* a: apply the recommended size              */
    ACT_UNDO,       /* u                                          */
    ACT_EXPORT,     /* e                                          */
    ACT_SAVE,       /* w                                          */
    ACT_PLOT,       /* P: gnuplot the current chart               */
    ACT_PROMPT,     /* :                                          */
    ACT_HELP,       /* ?                                          */
    ACT_QUIT,       /* q                                          */
    ACT_SCREEN1, ACT_SCREEN2, ACT_SCREEN3, ACT_SCREEN4, ACT_SCREEN5,
    ACT_NEXT_SCREEN, ACT_PREV_SCREEN,
    ACT_REDRAW,     /* Ctrl-L                                     */
} KeyAction;

typedef struct {
    int key;            /* curses key code                                  */
    const char *name;   /* as shown: "Space", "s", "F1", "Tab"              */
    const char *bar;    /* key-bar label, or NULL (not in the bar)          */
    KeyAction action;
    const char *help;
} KeyBinding;

const KeyBinding *keys_table(int *n);
KeyAction keys_action(int ch);

#endif
