/* base/spell: see spell.h. */
#include "base/spell.h"

#include <string.h>

int spell_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 30 || lb > 30) return 99;
    int d[32][32];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int k = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < k) k = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < k) k = d[i][j - 1] + 1;
            d[i][j] = k;
        }
    return d[la][lb];
}

void spell_consider(SpellGuess *g, const char *typed, const char *name)
{
    int d = spell_distance(typed, name);
    if (d < g->distance) {
        g->distance = d;
        g->best = name;
    }
}
