/* engine/rank: see rank.h. */
#include "engine/rank.h"

int rank_by_score(const void *pa, const void *pb)
{
    const RankItem *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

int rank_by_index(const void *pa, const void *pb)
{
    const RankItem *a = pa, *b = pb;
    return (a->idx > b->idx) - (a->idx < b->idx);
}
