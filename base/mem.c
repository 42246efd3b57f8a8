/* base/mem: see mem.h. */
#include "base/mem.h"

#include <stdlib.h>

void mem_free_all(void *const *p, size_t n)
{
    for (size_t i = 0; i < n; i++) free(p[i]);
}

void mem_free_strings(char **v, int n)
{
    for (int i = 0; v && i < n; i++) free(v[i]);
    free(v);
}
