/* tui/layout: see layout.h. */
#include "layout.h"

#include <stdio.h>
#include <string.h>

int layout_key_cells(const KeyBinding *k) { return (int)(strlen(k->name) + 1 + strlen(k->bar) + 1); }

int layout_key_bar(const KeyBinding *k, int n, int width, int *shown)
{
    int used = 0;
    for (int i = 0; i < n; i++) {
        shown[i] = k[i].bar != NULL;
        if (shown[i]) used += layout_key_cells(&k[i]);
    }
    /* drop the least important until it fits; bar_prio 0 (help, quit) is never dropped */
    while (used > width) {
        int drop = -1;
        for (int i = 0; i < n; i++)
            if (shown[i] && k[i].bar_prio > 0 && (drop < 0 || k[i].bar_prio > k[drop].bar_prio)) drop = i;
        if (drop < 0) break;
        shown[drop] = 0;
        used -= layout_key_cells(&k[drop]);
    }
    return used;
}

static int tabs_width(char out[][40], int n)
{
    int w = 0;
    for (int i = 0; i < n; i++)
        if (out[i][0]) w += (int)strlen(out[i]) + 2; /* " text " */
    return w;
}

int layout_tabs(const char *const *names, const char *const *shorts, int n, int cur, int width, char out[][40])
{
    int avail = width - LAYOUT_MIN_STATUS;
    for (int level = 0; level < 3; level++) {
        for (int i = 0; i < n; i++) {
            const char *nm = level == 0 || !shorts || !shorts[i] ? names[i] : shorts[i];
            if (level == 2 && i != cur) snprintf(out[i], 40, "%d", i + 1);
            else snprintf(out[i], 40, "%d %.30s", i % 100 + 1, nm);
        }
        int w = tabs_width(out, n);
        if (w <= avail) return w;
    }
    /* not even the numbers fit: none */
    for (int i = 0; i < n; i++) out[i][0] = '\0';
    return 0;
}

void layout_prune(int width, LayoutPrune *l)
{
    if (width >= 100) {
        *l = (LayoutPrune){.fw = 36, .label_w = 19, .value_w = 12, .tw = 34, .name_w = 13, .row_counts = 1};
    } else {
        /* narrow: a shorter form and table, so that the heatmap keeps about a third of the width */
        *l = (LayoutPrune){.fw = 34, .label_w = 18, .value_w = 12, .tw = 20, .name_w = 11, .row_counts = 0};
    }
    l->hw = width - l->fw - l->tw;
}

int layout_latency_range(const double *sizes, int n, const int *layers, int n_layers, double *lo, double *hi)
{
    if (n < 2 || n_layers < 1) return 0;
    double a = layers[0], b = layers[0];
    for (int l = 1; l < n_layers; l++) {
        if (layers[l] < a) a = layers[l];
        if (layers[l] > b) b = layers[l];
    }
    double x0 = a / 2, x1 = 2 * b;
    /* two measured sizes at or below a, two at or above b */
    int below = 0, above = 0;
    for (int i = n - 1; i >= 0 && below < 2; i--)
        if (sizes[i] <= a) {
            below++;
            if (sizes[i] < x0) x0 = sizes[i];
        }
    for (int i = 0; i < n && above < 2; i++)
        if (sizes[i] >= b) {
            above++;
            if (sizes[i] > x1) x1 = sizes[i];
        }
    double first = sizes[0] < a ? sizes[0] : a, last = sizes[n - 1] > b ? sizes[n - 1] : b;
    if (x0 < first) x0 = first;
    if (x1 > last) x1 = last;
    if (x0 <= sizes[0] && x1 >= sizes[n - 1]) return 0;
    *lo = x0;
    *hi = x1;
    return 1;
}
