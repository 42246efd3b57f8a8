/* tests/test_tree: removing directory trees never follows a symlink (issue 11, case 1), and the checks a
 * new session makes of its directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/tree.h"
#include "helpers.h"

static char *root;

static int setup(void **state)
{
    (void)state;
    root = th_tempdir("tree");
    return root ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    th_rmtree(root);
    free(root);
    return 0;
}

static void pathf(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", root, name);
}

static void mk(const char *name)
{
    char p[4200];
    pathf(p, sizeof p, name);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void put(const char *name)
{
    char p[4200];
    pathf(p, sizeof p, name);
    assert_int_equal(th_write_file(p, "x\n", 2), 0);
}

static void link_to(const char *target_name, const char *link_name)
{
    char t[4200], l[4200];
    pathf(t, sizeof t, target_name);
    pathf(l, sizeof l, link_name);
    assert_int_equal(symlink(t, l), 0);
}

static int exists(const char *name)
{
    char p[4200];
    struct stat st;
    pathf(p, sizeof p, name);
    return lstat(p, &st) == 0;
}

static void test_removes_nested_tree(void **state)
{
    (void)state;
    mk("t");
    mk("t/a");
    mk("t/a/b");
    put("t/f");
    put("t/a/g");
    put("t/a/b/h");
    char p[4200];
    pathf(p, sizeof p, "t");
    assert_int_equal(tree_remove(p), TP_OK);
    assert_false(exists("t"));
}

static void test_missing_is_fine(void **state)
{
    (void)state;
    char p[4200];
    pathf(p, sizeof p, "nothing-here");
    assert_int_equal(tree_remove(p), TP_OK);
}

/* The reproduction of issue 11 case 1: a snapshot directory replaced by a symlink to a user's folder. */
static void test_symlink_at_top_is_not_followed(void **state)
{
    (void)state;
    mk("precious");
    put("precious/keep.txt");
    mk("snapshots");
    link_to("precious", "snapshots/undo-2.tmp");
    char p[4200];
    pathf(p, sizeof p, "snapshots/undo-2.tmp");
    assert_int_equal(tree_remove(p), TP_OK);
    assert_false(exists("snapshots/undo-2.tmp"));
    assert_true(exists("precious/keep.txt"));
}

static void test_symlink_inside_is_not_followed(void **state)
{
    (void)state;
    mk("precious");
    put("precious/keep.txt");
    mk("t");
    mk("t/sub");
    put("t/sub/f");
    link_to("precious", "t/link-dir");
    link_to("precious/keep.txt", "t/sub/link-file");
    char p[4200];
    pathf(p, sizeof p, "t");
    assert_int_equal(tree_remove(p), TP_OK);
    assert_false(exists("t"));
    assert_true(exists("precious/keep.txt"));
}

static void test_regular_file_removed(void **state)
{
    (void)state;
    put("f");
    char p[4200];
    pathf(p, sizeof p, "f");
    assert_int_equal(tree_remove(p), TP_OK);
    assert_false(exists("f"));
}

static void test_dir_is_empty(void **state)
{
    (void)state;
    char p[4200];
    int empty = -1;
    pathf(p, sizeof p, "absent");
    assert_int_equal(tree_dir_is_empty(p, &empty), TP_OK);
    assert_int_equal(empty, 1);
    mk("d");
    pathf(p, sizeof p, "d");
    assert_int_equal(tree_dir_is_empty(p, &empty), TP_OK);
    assert_int_equal(empty, 1);
    put("d/x");
    assert_int_equal(tree_dir_is_empty(p, &empty), TP_OK);
    assert_int_equal(empty, 0);
    /* a symlink to an empty directory is refused, not followed */
    mk("e");
    link_to("e", "l");
    pathf(p, sizeof p, "l");
    assert_int_equal(tree_dir_is_empty(p, &empty), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "symlink"));
    put("file");
    pathf(p, sizeof p, "file");
    assert_int_equal(tree_check_dir(p), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "not a directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_removes_nested_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_is_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_at_top_is_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_inside_is_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regular_file_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_is_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
