/* tui/keys: the key table (htop's Action pattern): every global key, the action or the command line
 * it stands for, its label in the key bar, and its help line.  The help screen and the key bar are
 * generated from this table.  Keys a screen uses itself (form editing, list selection) are that
 * screen's; it sees a key before this table does. */
#ifndef TP_KEYS_H
#define TP_KEYS_H

typedef enum {
    ACT_NONE = 0,
    ACT_COMMAND,    /* run the binding's command line             */
    ACT_RUN,        /* Space: run / pause training                */
    ACT_STEP,       /* s: pause, then the binding's command line  */
    ACT_GROW,       /* g: grow with the form's settings           */
    ACT_PRUNE,      /* p: prune with the form's settings          */
    ACT_RESIZE,     /* r: resize layers to the form's targets     */
    ACT_APPLY_REC,  /* a: apply the recommended size              */
    ACT_EXPORT,     /* e                                          */
    ACT_PLOT,       /* P: gnuplot the current screen's chart      */
    ACT_PROMPT,     /* :                                          */
    ACT_HELP,       /* ?                                          */
    ACT_QUIT,       /* q                                          */
    ACT_SCREEN,     /* 1..5: the screen numbered `arg`            */
    ACT_NEXT_SCREEN, ACT_PREV_SCREEN,
    ACT_REDRAW,     /* Ctrl-L                                     */
} KeyAction;

typedef struct {
    int key;             /* curses key code                                  */
    const char *name;    /* as shown: "Space", "s", "F1", "Tab"              */
    const char *bar;     /* key-bar label, or NULL (not in the bar)          */
    KeyAction action;
    const char *command; /* ACT_COMMAND / ACT_STEP: the command line, else NULL */
    int arg;             /* ACT_SCREEN: the screen index                      */
    const char *help;
    int bar_prio;        /* key bar: dropped first when narrow (highest first); 0 = never dropped */
} KeyBinding;

const KeyBinding *keys_table(int *n);
/* The binding of a key, or NULL. */
const KeyBinding *keys_lookup(int ch);
/* keys_lookup(ch)->action, or ACT_NONE. */
KeyAction keys_action(int ch);

#endif
