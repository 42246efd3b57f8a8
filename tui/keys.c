/* tui/keys: see keys.h. */
#include "keys.h"

#include <curses.h>
#include <stddef.h>

static const KeyBinding KEYS[] = {
    {' ', "Space", "Run", ACT_RUN, NULL, 0, "run or pause training (one minibatch per slice; keys act between minibatches)", 1},
    {'s', "s", "Step", ACT_STEP, "train steps=1", 0, "train one minibatch", 6},
    {'g', "g", "Grow", ACT_GROW, NULL, 0, "grow connections with the settings of the Grow & prune screen", 5},
    {'p', "p", "Prune", ACT_PRUNE, NULL, 0, "prune with the settings of the Grow & prune screen", 4},
    {'r', "r", "Resize", ACT_RESIZE, NULL, 0, "resize every layer to its target size (Grow & prune screen)", 7},
    /* a shorter budget than the CLI's minute: the screen shows progress and Esc cancels */
    {'l', "l", "Latency", ACT_COMMAND, "profile budget_s=30", 0, "profile the latency of the layer sizes (Latency screen)", 8},
    {'a', "a", NULL, ACT_APPLY_REC, NULL, 0, "apply the recommended size of the selected layer (Latency screen)", 0},
    {'D', "D", NULL, ACT_COMMAND, "dse", 0,
     "accelerator design-space exploration of the model: Pareto front and chosen design in the log (:dse for lists, out=, plot=)", 0},
    {'u', "u", "Undo", ACT_COMMAND, "undo", 0, "undo the last train/grow/prune/resize", 3},
    {'e', "e", "Export", ACT_EXPORT, NULL, 0, "export the model to SESSION/export", 10},
    {'w', "w", "Save", ACT_COMMAND, "save", 0, "save the session now", 9},
    {'P', "P", NULL, ACT_PLOT, NULL, 0, "write the current chart as PNG through gnuplot (SESSION/plots/)", 0},
    {':', ":", "Cmd", ACT_PROMPT, NULL, 0, "command prompt: the full command language, with history (Up/Down) and Tab completion", 2},
    {'?', "?", "Help", ACT_HELP, NULL, 0, "this help", 0},
    {'q', "q", "Quit", ACT_QUIT, NULL, 0, "save and quit", 0},
    {'1', "1", NULL, ACT_SCREEN, NULL, 0, "Train screen", 0},
    {'2', "2", NULL, ACT_SCREEN, NULL, 1, "Grow & prune screen", 0},
    {'3', "3", NULL, ACT_SCREEN, NULL, 2, "Latency screen", 0},
    {'4', "4", NULL, ACT_SCREEN, NULL, 3, "Sessions screen", 0},
    {'5', "5", NULL, ACT_SCREEN, NULL, 4, "Help screen", 0},
    {'6', "6", NULL, ACT_SCREEN, NULL, 5, "Lessons screen: lessons on the bundled task, and the glossary (x)", 0},
    {KEY_F(1), "F1", NULL, ACT_HELP, NULL, 0, "help", 0},
    {'\t', "Tab", NULL, ACT_NEXT_SCREEN, NULL, 0, "next screen", 0},
    {KEY_BTAB, "S-Tab", NULL, ACT_PREV_SCREEN, NULL, 0, "previous screen", 0},
    {12, "C-l", NULL, ACT_REDRAW, NULL, 0, "redraw the screen", 0},
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
