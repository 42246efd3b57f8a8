/* tui/keys: see keys.h. */
#include "keys.h"

#include <curses.h>
#include <stddef.h>

static const KeyBinding KEYS[] = {
    {' ', "Space", "Run", ACT_RUN, NULL, 0, "run or pause training (one minibatch per slice; keys act between minibatches)"},
    {'s', "s", "Step", ACT_STEP, "train steps=1", 0, "train one minibatch"},
    {'g', "g", "Grow", ACT_GROW, NULL, 0, "grow connections with the settings of the Grow & prune screen"},
    {'p', "p", "Prune", ACT_PRUNE, NULL, 0, "prune with the settings of the Grow & prune screen"},
    {'r', "r", "Resize", ACT_RESIZE, NULL, 0, "resize every layer to its target size (Grow & prune screen)"},
    /* a shorter budget than the CLI's minute: the screen shows progress and Esc cancels */
    {'l', "l", "Latency", ACT_COMMAND, "profile budget_s=30", 0, "profile the latency of the layer sizes (Latency screen)"},
    {'a', "a", NULL, ACT_APPLY_REC, NULL, 0, "apply the recommended size of the selected layer (Latency screen)"},
    {'u', "u", "Undo", ACT_COMMAND, "undo", 0, "undo the last train/grow/prune/resize"},
    {'e', "e", "Export", ACT_EXPORT, NULL, 0, "export the model to SESSION/export"},
    {'w', "w", "Save", ACT_COMMAND, "save", 0, "save the session now"},
    {'P', "P", NULL, ACT_PLOT, NULL, 0, "write the current chart as PNG through gnuplot (SESSION/plots/)"},
    {':', ":", "Cmd", ACT_PROMPT, NULL, 0, "command prompt: the full command language, with history (Up/Down) and Tab completion"},
    {'?', "?", "Help", ACT_HELP, NULL, 0, "this help"},
    {'q', "q", "Quit", ACT_QUIT, NULL, 0, "save and quit"},
    {'1', "1", NULL, ACT_SCREEN, NULL, 0, "Train screen"},
    {'2', "2", NULL, ACT_SCREEN, NULL, 1, "Grow & prune screen"},
    {'3', "3", NULL, ACT_SCREEN, NULL, 2, "Latency screen"},
    {'4', "4", NULL, ACT_SCREEN, NULL, 3, "Sessions screen"},
    {'5', "5", NULL, ACT_SCREEN, NULL, 4, "Help screen"},
    {'6', "6", NULL, ACT_SCREEN, NULL, 5, "Lessons screen: lessons on the bundled task, and the glossary (x)"},
    {KEY_F(1), "F1", NULL, ACT_HELP, NULL, 0, "help"},
    {'\t', "Tab", NULL, ACT_NEXT_SCREEN, NULL, 0, "next screen"},
    {KEY_BTAB, "S-Tab", NULL, ACT_PREV_SCREEN, NULL, 0, "previous screen"},
    {12, "C-l", NULL, ACT_REDRAW, NULL, 0, "redraw the screen"},
};

const KeyBinding *keys_table(int *n)
{
    *n = (int)(sizeof KEYS / sizeof KEYS[0]);
    return KEYS;
}

const KeyBinding *keys_lookup(int ch)
{
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (KEYS[i].key == ch) return &KEYS[i];
    return NULL;
}

KeyAction keys_action(int ch)
{
    const KeyBinding *k = keys_lookup(ch);
    return k ? k->action : ACT_NONE;
}
