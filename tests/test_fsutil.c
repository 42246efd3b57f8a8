/* tests/test_fsutil: atomic writes, appends, reads, CRC32 and mkdir -p.
 *
 * Failures are injected through the linker: the Makefile links this test with
 * -Wl,--wrap=write -Wl,--wrap=fsync -Wl,--wrap=rename, so every call from the library lands in the
 * __wrap_* functions below.  They behave like the real call unless a test armed a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"

/* ==== Linker seams ==== */

/* Contract of the mocks: when armed, the 'nth' call (1-based, counted from arming) fails with
 * errno 'err' and returns -1, exactly as the real call reports an error.  'write_max' > 0 makes
 * every write short (at most write_max bytes); 'write_eintr' makes the next N writes fail with EINTR. */
static struct {
    int write_nth, write_err, write_calls;
    int fsync_nth, fsync_err, fsync_calls;
    int rename_nth, rename_err, rename_calls;
    size_t write_max;
    int write_eintr;
} inj;

ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_fsync(int fd);
int __real_rename(const char *from, const char *to);

ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __wrap_fsync(int fd);
int __wrap_rename(const char *from, const char *to);

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    inj.write_calls++;
    if (inj.write_nth && inj.write_calls == inj.write_nth) {
        errno = inj.write_err;
        return -1;
    }
    if (inj.write_eintr > 0) {
        inj.write_eintr--;
        errno = EINTR;
        return -1;
    }
    if (inj.write_max && n > inj.write_max)
        n = inj.write_max;
    return __real_write(fd, buf, n);
}

int __wrap_fsync(int fd)
{
    inj.fsync_calls++;
    if (inj.fsync_nth && inj.fsync_calls == inj.fsync_nth) {
        errno = inj.fsync_err;
        return -1;
    }
    return __real_fsync(fd);
}

int __wrap_rename(const char *from, const char *to)
{
    inj.rename_calls++;
    if (inj.rename_nth && inj.rename_calls == inj.rename_nth) {
        errno = inj.rename_err;
        return -1;
    }
    return __real_rename(from, to);
}

/* ==== Fixture: a fresh temp directory per test ==== */

static char tdir[64];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    memset(&inj, 0, sizeof inj);
    snprintf(tdir, sizeof tdir, "/tmp/test_fsutil.XXXXXX");
    return mkdtemp(tdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    memset(&inj, 0, sizeof inj);
    return nftw(tdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tdir, name);
}

/* Number of leftover temp files ("*.tmp.*") in the test directory. */
static int count_tmp_files(void)
{
    int n = 0;
    DIR *d = opendir(tdir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp."))
            n++;
    closedir(d);
    return n;
}

static void assert_file_is(const char *path, const char *expect)
{
    void *data;
    size_t n;
    assert_int_equal(fsutil_read_file(path, 1 << 20, &data, &n), TP_OK);
    assert_int_equal(n, strlen(expect));
    assert_memory_equal(data, expect, n);
    free(data);
}

/* ==== Atomic write ==== */

static void test_write_read_round_trip(void **state)
{
    (void)state;
    char p[128];
    path_in(p, sizeof p, "a.bin");
    unsigned char data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + 3);

    assert_int_equal(fsutil_write_atomic(p, data, sizeof data), TP_OK);

    void *back;
    size_t n;
    assert_int_equal(fsutil_read_file(p, sizeof data, &back, &n), TP_OK);
    assert_int_equal(n, sizeof data);
    assert_memory_equal(back, data, n);
    assert_int_equal(((char *)back)[n], '\0'); /* the promised extra NUL */
    free(back);

    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
}

static void test_overwrite_leaves_no_temp(void **state)
{
    (void)state;
    char p[128];
    path_in(p, sizeof p, "f.txt");
    assert_int_equal(fsutil_write_atomic(p, "old", 3), TP_OK);
    assert_int_equal(fsutil_write_atomic(p, "new content", 11), TP_OK);
    assert_file_is(p, "new content");
    assert_int_equal(count_tmp_files(), 0);
}

static void test_empty_file(void **state)
{
    (void)state;
    char p[128];
    path_in(p, sizeof p, "empty");
    assert_int_equal(fsutil_write_atomic(p, "", 0), TP_OK);
    assert_file_is(p, "");
}

/* Arrange an old file, run one failing save, check that nothing changed and that it said why. */
static void check_failed_save(const char *errtext, const char *op)
{
    char p[128];
    path_in(p, sizeof p, "model.safetensors");
    int saved_write = inj.write_nth, saved_fsync = inj.fsync_nth, saved_rename = inj.rename_nth;
    inj.write_nth = inj.fsync_nth = inj.rename_nth = 0;
    assert_int_equal(fsutil_write_atomic(p, "previous bytes", 14), TP_OK);
    inj.write_calls = inj.fsync_calls = inj.rename_calls = 0;
    inj.write_nth = saved_write, inj.fsync_nth = saved_fsync, inj.rename_nth = saved_rename;

    TpStatus rc = fsutil_write_atomic(p, "the new version", 15);

    assert_int_equal(rc, TP_EIO);
    assert_non_null(strstr(err_msg(), errtext));
    assert_non_null(strstr(err_msg(), op));
    assert_non_null(strstr(err_msg(), "model.safetensors"));
    assert_file_is(p, "previous bytes");
    assert_int_equal(count_tmp_files(), 0);
}

static void test_enospc_on_write(void **state)
{
    (void)state;
    inj.write_nth = 1;
    inj.write_err = ENOSPC;
    check_failed_save("No space left on device", "write");
}

static void test_enospc_after_short_write(void **state)
{
    (void)state;
    /* The first write is partial, the second hits a full disk: the half-written temp must go. */
    inj.write_max = 4;
    inj.write_nth = 2;
    inj.write_err = ENOSPC;
    check_failed_save("No space left on device", "write");
}

static void test_eio_on_fsync(void **state)
{
    (void)state;
    inj.fsync_nth = 1;
    inj.fsync_err = EIO;
    check_failed_save("Input/output error", "fsync");
    /* the whole message, as the status bar will show it */
    char expect[192];
    snprintf(expect, sizeof expect, "save %s/model.safetensors: fsync: Input/output error", tdir);
    assert_string_equal(err_msg(), expect);
}

static void test_exdev_on_rename(void **state)
{
    (void)state;
    inj.rename_nth = 1;
    inj.rename_err = EXDEV;
    check_failed_save("Invalid cross-device link", "rename");
}

static void test_eio_on_rename(void **state)
{
    (void)state;
    inj.rename_nth = 1;
    inj.rename_err = EIO;
    check_failed_save("Input/output error", "rename");
}

static void test_short_writes_completed(void **state)
{
    (void)state;
    char p[128];
    path_in(p, sizeof p, "short.txt");
    const char *text = "short writes must be completed by the loop, byte for byte";
    inj.write_max = 3;
    inj.write_eintr = 2; /* and interrupted calls are retried */
    assert_int_equal(fsutil_write_atomic(p, text, strlen(text)), TP_OK);
    assert_true(inj.write_calls > (int)(strlen(text) / 3));
    inj.write_max = 0;
    assert_file_is(p, text);
}

/* A streaming writer that fails on its own: its code and message come back, prefixed. */
static TpStatus failing_writer(int fd, void *ctx)
{
    (void)ctx;
    TpStatus rc = fsutil_write_all(fd, "partial", 7);
    if (rc != TP_OK)
        return rc;
    return err_set(TP_ENOMEM, "tensor 3: out of memory");
}

static void test_write_fn_error_propagates(void **state)
{
    (void)state;
    char p[128];
    path_in(p, sizeof p, "stream.bin");
    assert_int_equal(fsutil_write_atomic(p, "keep", 4), TP_OK);
    assert_int_equal(fsutil_write_atomic_fn(p, failing_writer, NULL), TP_ENOMEM);
    assert_non_null(strstr(err_msg(), "stream.bin: tensor 3: out of memory"));
    assert_file_is(p, "keep");
    assert_int_equal(count_tmp_files(), 0);
}

static void test_missing_directory(void **state)
{
    (void)state;
    char p[128];
    path_in(p, sizeof p, "no/such/dir/f");
    assert_int_equal(fsutil_write_atomic(p, "x", 1), TP_EIO);
    assert_non_null(strstr(err_msg(), "No such file or directory"));
}

/* ==== Read, CRC, append, mkdir ==== */

static void test_read_file_limit(void **state)
{
    (void)state;
    char p[128];
    path_in(p, sizeof p, "ten");
    assert_int_equal(fsutil_write_atomic(p, "0123456789", 10), TP_OK);

    void *data = (void *)1;
    size_t n = 99;
    assert_int_equal(fsutil_read_file(p, 9, &data, &n), TP_ERANGE);
    assert_null(data);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err_msg(), "limit"));
    assert_int_equal(fsutil_read_file(p, 10, &data, &n), TP_OK);
    assert_int_equal(n, 10);
    free(data);

    path_in(p, sizeof p, "absent");
    assert_int_equal(fsutil_read_file(p, 10, &data, &n), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "absent"));
}

/* Issue 11 case 8: where a regular file is expected, a device (/dev/zero: read until memory runs out,
 * a CRC that never ends), a FIFO (open blocks for a writer) or a directory is refused at once; a
 * symlink to a regular file is followed unless FSUTIL_NOFOLLOW. */
static void test_non_regular_refused(void **state)
{
    (void)state;
    char fifo[128], dir[128], file[128], link[128];
    void *data = (void *)1;
    size_t n = 99;
    uint32_t crc;
    uint64_t bytes;
    int fd;
    FILE *f = NULL;

    assert_int_equal(fsutil_read_file("/dev/zero", SIZE_MAX, &data, &n), TP_EINVAL);
    assert_null(data);
    assert_non_null(strstr(err_msg(), "/dev/zero: a character device"));
    assert_int_equal(fsutil_crc32_file("/dev/zero", &crc, &bytes), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "crc32 /dev/zero"));

    path_in(fifo, sizeof fifo, "fifo"); /* no writer ever opens it: a blocking open would hang here */
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(fsutil_read_file(fifo, SIZE_MAX, &data, &n), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "a FIFO"));
    assert_int_equal(fsutil_crc32_file(fifo, &crc, &bytes), TP_EINVAL);
    assert_int_equal(fsutil_fopen_regular(fifo, &f), TP_EINVAL);
    assert_null(f);

    path_in(dir, sizeof dir, "sub");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(fsutil_read_file(dir, SIZE_MAX, &data, &n), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "a directory"));

    path_in(file, sizeof file, "plain");
    path_in(link, sizeof link, "link");
    assert_int_equal(fsutil_write_atomic(file, "abc", 3), TP_OK);
    assert_int_equal(symlink(file, link), 0);
    assert_int_equal(fsutil_read_file(link, SIZE_MAX, &data, &n), TP_OK);
    assert_int_equal(n, 3);
    free(data);
    assert_int_equal(fsutil_open_regular(link, FSUTIL_NOFOLLOW, "read", &fd, &bytes), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "symbolic link"));
    assert_int_equal(fsutil_open_regular(file, FSUTIL_NOFOLLOW, "read", &fd, &bytes), TP_OK);
    assert_int_equal(bytes, 3);
    close(fd);
    assert_int_equal(fsutil_fopen_regular(link, &f), TP_OK);
    assert_int_equal(fgetc(f), 'a');
    fclose(f);
    assert_int_equal(fsutil_open_regular(fifo, 0, "read", &fd, NULL), TP_EINVAL);
    assert_int_equal(fd, -1);

    assert_true(fsutil_memory_bytes() > (1u << 20));
    unlink(fifo);
    unlink(link);
    unlink(file);
    rmdir(dir);
}

static void test_crc32(void **state)
{
    (void)state;
    assert_int_equal(fsutil_crc32("123456789", 9), 0xCBF43926u);
    assert_int_equal(fsutil_crc32("", 0), 0);

    char p[128];
    path_in(p, sizeof p, "crc");
    assert_int_equal(fsutil_write_atomic(p, "123456789", 9), TP_OK);
    uint32_t crc = 0;
    uint64_t bytes = 0;
    assert_int_equal(fsutil_crc32_file(p, &crc, &bytes), TP_OK);
    assert_int_equal(crc, 0xCBF43926u);
    assert_int_equal(bytes, 9);

    path_in(p, sizeof p, "nope");
    assert_int_equal(fsutil_crc32_file(p, &crc, &bytes), TP_ENOENT);
}

static void test_append_line(void **state)
{
    (void)state;
    char p[128];
    path_in(p, sizeof p, "journal.txt");
    assert_int_equal(fsutil_append_line(p, "0\t2024-01-01T00:00:00\ttrain steps=10"), TP_OK);
    assert_int_equal(fsutil_append_line(p, "10\t2024-01-01T00:01:00\tprune ratio=0.5\n"), TP_OK);
    int calls_before = inj.write_calls;
    assert_int_equal(fsutil_append_line(p, ""), TP_OK);
    assert_int_equal(inj.write_calls - calls_before, 1); /* one write(2) per line */
    assert_file_is(p, "0\t2024-01-01T00:00:00\ttrain steps=10\n"
                      "10\t2024-01-01T00:01:00\tprune ratio=0.5\n"
                      "\n");

    assert_int_equal(fsutil_append_line(p, "two\nlines"), TP_EINVAL);

    inj.fsync_nth = inj.fsync_calls + 1;
    inj.fsync_err = EIO;
    assert_int_equal(fsutil_append_line(p, "x"), TP_EIO);
    assert_non_null(strstr(err_msg(), "journal.txt: fsync: Input/output error"));
}

static void test_mkdir_p(void **state)
{
    (void)state;
    char p[128], f[160];
    path_in(p, sizeof p, "a/b/c/d");
    assert_int_equal(fsutil_mkdir_p(p), TP_OK);
    assert_true(fsutil_exists(p));
    assert_int_equal(fsutil_mkdir_p(p), TP_OK); /* idempotent */
    path_in(p, sizeof p, "a/b//e/");
    assert_int_equal(fsutil_mkdir_p(p), TP_OK);
    path_in(p, sizeof p, "a/b/e");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    /* A file in the way is an error, not silently accepted. */
    path_in(f, sizeof f, "a/file");
    assert_int_equal(fsutil_write_atomic(f, "x", 1), TP_OK);
    path_in(p, sizeof p, "a/file/sub");
    assert_int_equal(fsutil_mkdir_p(p), TP_EIO);
    assert_non_null(strstr(err_msg(), "Not a directory"));
    assert_int_equal(fsutil_mkdir_p(""), TP_EINVAL);
    assert_false(fsutil_exists(p));
}

static void test_fsync_dir(void **state)
{
    (void)state;
    assert_int_equal(fsutil_fsync_dir(tdir), TP_OK);
    char p[128];
    path_in(p, sizeof p, "missing");
    assert_int_equal(fsutil_fsync_dir(p), TP_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_read_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overwrite_leaves_no_temp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_on_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_after_short_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eio_on_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exdev_on_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eio_on_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_writes_completed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_fn_error_propagates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_file_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_regular_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crc32, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_dir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
