/* base/mem: freeing what a struct owns, stated once.
 *
 * A destructor lists the members it owns rather than writing free() once per line:
 *     MEM_FREE_ALL(m->step, m->train_ppl, m->valid_ppl);
 * frees each pointer (NULL ones too, as free does), in the order given. */
#ifndef TP_MEM_H
#define TP_MEM_H

#include <stddef.h>

/* free(p[0]) .. free(p[n-1]). */
void mem_free_all(void *const *p, size_t n);

/* free(v[0]) .. free(v[n-1]), then v itself: an owned array of owned strings (n <= 0: v only). */
void mem_free_strings(char **v, int n);

#define MEM_FREE_ALL(...) \
    mem_free_all((void *const[]){__VA_ARGS__}, sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))

#endif
