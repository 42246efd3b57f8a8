/* tui/keys: see keys.h. */
#include "keys.h"

#include <curses.h>

static const KeyBinding KEYS[] = {
    {' ', "Space", "Run", ACT_RUN, "run or pause training (one minibatch per slice; keys act between minibatches)"},
    {'s', "s", "Step", ACT_STEP, "train one minibatch"},
    {'g', "g", "Grow", ACT_GROW, "grow connections with the settings of the Grow & prune screen"},
    {'p', "p", "Prune", ACT_PRUNE, "prune with the settings of the Grow & prune screen"},
    {'r', "r", "Resize", ACT_RESIZE, "resize every layer to its target size (Grow & prune screen)"},
    {'l', "l", "Latency", ACT_PROFILE, "profile the latency of the layer sizes (Latency screen)"},
    {'a', "a", NULL, ACT_APPLY_REC, "apply the recommended size of the selected layer (Latency screen)"},
    {'u', "u", "Undo", ACT_UNDO, "undo the last train/grow/prune/resize"},
    {'e', "e", "Export", ACT_EXPORT, "export the model to SESSION/export"},
    {'w', "w", "Save", ACT_SAVE, "save the session now"},
    {'P', "P", NULL, ACT_PLOT, "write the current chart as PNG through gnuplot (SESSION/plots/)"},
    {':', ":", "Cmd", ACT_PROMPT, "command prompt: the full command language, with history (Up/Down) and Tab completion"},
    {'?', "?", "Help", ACT_HELP, "this help"},
    {'q', "q", "Quit", ACT_QUIT, "save and quit"},
    {'1', "1", NULL, ACT_SCREEN1, "Train screen"},
    {'2', "2", NULL, ACT_SCREEN2, "Grow & prune screen"},
    {'3', "3", NULL, ACT_SCREEN3, "Latency screen"},
    {'4', "4", NULL, ACT_SCREEN4, "Sessions screen"},
    {'5', "5", NULL, ACT_SCREEN5, "Help screen"},
    {KEY_F(1), "F1", NULL, ACT_HELP, "help"},
    {'\t', "Tab", NULL, ACT_NEXT_SCREEN, "next screen"},
    {KEY_BTAB, "S-Tab", NULL, ACT_PREV_SCREEN, "previous screen"},
    {12, "C-l", NULL, ACT_REDRAW, "redraw the screen"},
};

const KeyBinding *keys_table(int *n)
{
    *n = (int)(sizeof KEYS / sizeof KEYS[0]);
    return KEYS;
}

KeyAction keys_action(int ch)
{
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (KEYS[i].key == ch) return KEYS[i].action;
    return ACT_NONE;
}
