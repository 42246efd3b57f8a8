/* tests/test_mem: MEM_FREE_ALL frees every pointer listed, NULL ones included (run under the
 * sanitizers/valgrind a leak or a double free shows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "base/mem.h"

static void test_free_all(void **state)
{
    (void)state;
    struct { float *a; int *b; char *c; } s = {malloc(4 * sizeof(float)), NULL, malloc(3)};
    assert_non_null(s.a);
    assert_non_null(s.c);
    MEM_FREE_ALL(s.a, s.b, s.c); /* members of any pointer type, NULL among them */
}

static void test_free_all_counts(void **state)
{
    (void)state;
    void *p[3] = {malloc(1), malloc(2), NULL};
    mem_free_all(p, 3);
    mem_free_all(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_free_all), cmocka_unit_test(test_free_all_counts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
