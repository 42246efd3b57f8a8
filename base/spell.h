/* base/spell: "did you mean" for mistyped names (subcommands, verbs).
 *
 * SpellGuess g = SPELL_GUESS_INIT; then spell_consider(&g, typed, name) for every known name; g.best is
 * the closest name within SPELL_MAX_EDITS edits (the first of equally close ones), or NULL. */
#ifndef TP_SPELL_H
#define TP_SPELL_H

enum { SPELL_MAX_EDITS = 2 };

typedef struct {
    const char *best;   /* the closest name so far, or NULL */
    int distance;       /* its distance; SPELL_MAX_EDITS + 1 while best is NULL */
} SpellGuess;

#define SPELL_GUESS_INIT {NULL, SPELL_MAX_EDITS + 1}

/* Levenshtein distance (insert, delete, substitute one byte); 99 when either string is over 30 bytes. */
int spell_distance(const char *a, const char *b);
/* Take `name` as g->best when it is closer to `typed` than g->best is. */
void spell_consider(SpellGuess *g, const char *typed, const char *name);

#endif
