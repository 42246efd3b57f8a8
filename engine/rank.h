/* engine/rank: ranking items by a score, the one order every selection of the engine uses.
 *
 * Resize keeps the most important units and the row-balanced layout the k largest |w| of a row: both
 * sort (score, index) pairs with qsort by the score descending, equal scores by the index ascending, so
 * the choice is deterministic whatever the qsort. */
#ifndef TP_RANK_H
#define TP_RANK_H

typedef struct {
    float score;
    int idx;
} RankItem;

/* qsort comparator: larger score first; equal scores, lower index first. */
int rank_by_score(const void *a, const void *b);
/* qsort comparator: lower index first. */
int rank_by_index(const void *a, const void *b);

#endif
