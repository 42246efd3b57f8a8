/* tui/screen_help: the key table, the keys of each screen and of the `:` prompt and its output pane,
 * then the command table; full width, scrolled with Up/Down/PgUp/PgDn.  The text is built once (the
 * tables are constant). */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "tui/draw.h"
#include "tui/screens.h"

#define HELP_LINES 192

typedef struct {
    char lines[HELP_LINES][256];
    int n;
    int scroll;                /* first line shown */
} HelpState;

static void help_init(App *a, void *st)
{
    (void)a;
    HelpState *h = st;
    int nk;
    const KeyBinding *k = keys_table(&nk);
    snprintf(h->lines[h->n++], 256, "KEYS");
    for (int i = 0; i < nk && h->n < HELP_LINES; i++) snprintf(h->lines[h->n++], 256, "  %-6s %s", k[i].name, k[i].help);
    if (h->n < HELP_LINES) h->lines[h->n++][0] = '\0';
    static const char *const SCREEN_KEYS[] = {
        "SCREEN KEYS",
        "  Grow & prune  Up/Down (j/k) pick a field; Enter edits it (steps a",
        "                choice, applies a schedule field); Left/Right step it;",
        "                [ ] pick the matrix of the mask.  Mask shade: share of",
        "                live weights per cell (legend below it).  The settings",
        "                are kept in SESSION/tui.txt for the next run.",
        "  Latency       Up/Down pick a layer; a applies its recommendation;",
        "                f: the sizes around the layers (l0, l1, ...) or all;",
        "                a diamond marks each hysteresis point.",
        "  Sessions      Up/Down pick a snapshot; Enter restores it; n takes",
        "                one; m marks one to compare with the selected one",
        "                (step, valid ppl, non-zeros, sparsity, size).",
        "  : prompt      Tab completes verbs, keys and values (choices of a",
        "                key, snapshot names after restore name=); Up/Down",
        "                recall lines.  Output wider or longer than the status",
        "                line opens in a pane: Up/Down j/k PgUp/PgDn g/G",
        "                scroll; q or Esc closes; other keys close and act.",
        "  Validation,   keys typed while one runs are kept and act when it",
        "  profile       ends (q quits then); Esc cancels a profile.",
        "  NO_COLOR      each series of a chart has its own glyph (+ o x ...),",
        "                shown in the chart's legend.",
        "",
    };
    for (size_t i = 0; i < sizeof SCREEN_KEYS / sizeof SCREEN_KEYS[0] && h->n < HELP_LINES; i++)
        snprintf(h->lines[h->n++], 256, "%s", SCREEN_KEYS[i]);
    const char *p = command_help(NULL);
    while (p && *p && h->n < HELP_LINES) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        snprintf(h->lines[h->n++], 256, "%.*s", len, p);
        p = nl ? nl + 1 : p + len;
    }
    if (h->n < HELP_LINES) h->lines[h->n++][0] = '\0';
    if (h->n < HELP_LINES)
        snprintf(h->lines[h->n++], 256, "`topiary help VERB` or `:help VERB` shows a verb's keys and their ranges.");
}

static int help_key(App *a, void *st, int ch)
{
    (void)a;
    HelpState *h = st;
    switch (ch) {
    case KEY_UP: h->scroll--; break;
    case KEY_DOWN: h->scroll++; break;
    case KEY_PPAGE: h->scroll -= 10; break;
    case KEY_NPAGE: h->scroll += 10; break;
    case KEY_HOME: h->scroll = 0; break;
    default: return 0;
    }
    if (h->scroll < 0) h->scroll = 0;
    return 1;
}

static void help_draw(App *a, void *st, int top, int h)
{
    (void)a;
    HelpState *hs = st;
    int rows = h - 2;
    if (hs->scroll > hs->n - rows) hs->scroll = hs->n - rows > 0 ? hs->n - rows : 0;
    draw_box_title(top, 0, h, COLS, hs->n > rows ? "help (Up/Down/PgUp/PgDn scroll)" : "help");
    for (int r = 0; r < rows && hs->scroll + r < hs->n; r++) {
        const char *l = hs->lines[hs->scroll + r];
        int bold = !strcmp(l, "KEYS") || !strcmp(l, "SCREEN KEYS") || !strncmp(l, "commands", 8);
        draw_text(top + 1 + r, 2, COLS - 4, bold ? (int)A_BOLD : (int)A_NORMAL, "%s", l);
    }
}

const Screen SCREEN_HELP = {
    .name = "Help",
    .chart = "ppl",
    .state_size = sizeof(HelpState),
    .init = help_init,
    .draw = help_draw,
    .key = help_key,
};
