/* tests/test_sphere: engine/sphere on a real AN4 file (skipped with a message when ../shared/data/an4 is
 * absent) and on SPHERE files written here, sound and damaged: bad magic, truncated, wrong checksum,
 * wrong coding, a huge sample_count, a bad byte-order field, stereo, trailing bytes, a symlink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/sphere.h"
#include "tests/helpers.h"

#define REAL "an4/wav/an4_clstk/fash/an251-fash-b.sph"

static void assert_msg_has(const char *needle)
{
    if (!strstr(err_msg(), needle)) fail_msg("message '%s' lacks '%s'", err_msg(), needle);
}

/* Write a SPHERE file: magic, header size line, 'fields' (each line ending in \n), end_head, padding to
 * hdr_bytes, then n samples in the byte order 'big' (0/1), then 'extra' garbage bytes. */
static void write_sph(const char *path, const char *magic, int hdr_bytes, const char *fields, const int16_t *x,
                      size_t n, int big, size_t extra)
{
    char *hdr = malloc((size_t)hdr_bytes);
    assert_non_null(hdr);
    memset(hdr, ' ', (size_t)hdr_bytes);
    int len = snprintf(hdr, (size_t)hdr_bytes, "%s\n%7d\n%send_head\n", magic, hdr_bytes, fields);
    assert_true(len > 0 && len < hdr_bytes);
    hdr[len] = ' ';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(hdr, 1, (size_t)hdr_bytes, f), (size_t)hdr_bytes);
    for (size_t i = 0; i < n; i++) {
        uint16_t u = (uint16_t)x[i];
        unsigned char b[2] = {(unsigned char)(big ? u >> 8 : u & 0xff), (unsigned char)(big ? u & 0xff : u >> 8)};
        assert_int_equal(fwrite(b, 1, 2, f), 2);
    }
    for (size_t i = 0; i < extra; i++) fputc(0, f);
    assert_int_equal(fclose(f), 0);
    free(hdr);
}

static int16_t SAMPLES[1000];

static void fill(void)
{
    for (int i = 0; i < 1000; i++) SAMPLES[i] = (int16_t)((i * 7919) % 65536 - 32768);
}

/* The usual AN4 fields for n samples with checksum 'ck' (-1: the right one) and the given coding/order. */
static const char *fields(size_t n, long ck, const char *coding, const char *order, int channels, long count)
{
    static char buf[1024];
    if (ck < 0) ck = sphere_checksum(SAMPLES, n);
    snprintf(buf, sizeof buf,
             "sample_count -i %ld\nsample_rate -i 16000\nsample_n_bytes -i 2\nsample_byte_format -s%zu %s\n"
             "channel_count -i %d\nsample_coding -s%zu %s\nsample_max -i 99\nsample_checksum -i %ld\n",
             count >= 0 ? count : (long)n, strlen(order), order, channels, strlen(coding), coding, ck);
    return buf;
}

static void test_real_an4(void **state)
{
    (void)state;
    const char *p = th_shared_data(REAL);
    if (!p) { print_message("AN4 not found under ../shared/data (set TOPIARY_SHARED): skipping\n"); skip(); return; }
    SphereAudio a;
    assert_int_equal(sphere_read(p, 0, &a), TP_OK);
    assert_int_equal(a.n_samples, 16000);
    assert_int_equal(a.h.sample_rate, 16000);
    assert_int_equal(a.h.header_bytes, 1024);
    assert_int_equal(a.h.big_endian, 0);
    assert_true(a.h.has_checksum);
    assert_int_equal(a.h.checksum, 9508);
    assert_int_equal(sphere_checksum(a.samples, a.n_samples), 9508);
    /* the first samples, read with od -t d2 -j 1024 */
    int nonzero = 0;
    for (size_t i = 0; i < a.n_samples; i++) nonzero += a.samples[i] != 0;
    assert_true(nonzero > 8000);
    sphere_free(&a);
    assert_null(a.samples);
}

static void test_good_and_big_endian(void **state)
{
    (void)state;
    fill();
    char *d = th_tempdir("sphere");
    char p[4200];
    snprintf(p, sizeof p, "%s/le.sph", d);
    write_sph(p, "NIST_1A", 1024, fields(1000, -1, "pcm", "01", 1, -1), SAMPLES, 1000, 0, 0);
    SphereAudio a;
    assert_int_equal(sphere_read(p, 0, &a), TP_OK);
    assert_int_equal(a.n_samples, 1000);
    assert_memory_equal(a.samples, SAMPLES, sizeof SAMPLES);
    sphere_free(&a);
    snprintf(p, sizeof p, "%s/be.sph", d);
    write_sph(p, "NIST_1A", 2048, fields(1000, -1, "pcm", "10", 1, -1), SAMPLES, 1000, 1, 0);
    assert_int_equal(sphere_read(p, 0, &a), TP_OK);
    assert_int_equal(a.h.big_endian, 1);
    assert_int_equal(a.h.header_bytes, 2048);
    assert_memory_equal(a.samples, SAMPLES, sizeof SAMPLES);
    sphere_free(&a);
    th_rmtree(d);
    free(d);
}

/* Each damaged file is refused with its name and the reason, and *out is left empty. */
static void expect_bad(const char *path, TpStatus code, const char *reason)
{
    SphereAudio a;
    a.samples = (int16_t *)1;
    TpStatus st = sphere_read(path, 0, &a);
    if (st != code) fail_msg("%s: got %d (%s), expected %d", path, st, err_msg(), code);
    assert_null(a.samples);
    assert_int_equal(a.n_samples, 0);
    assert_msg_has(path);
    assert_msg_has(reason);
}

static void test_damaged(void **state)
{
    (void)state;
    fill();
    char *d = th_tempdir("sphere");
    char p[4200];
#define CASE(name, magic, f, big, extra, code, reason)                     \
    snprintf(p, sizeof p, "%s/%s.sph", d, name);                           \
    write_sph(p, magic, 1024, f, SAMPLES, 1000, big, extra);               \
    expect_bad(p, code, reason);
    CASE("magic", "NIST_1B", fields(1000, -1, "pcm", "01", 1, -1), 0, 0, TP_EFORMAT, "NIST_1A magic")
    CASE("checksum", "NIST_1A", fields(1000, sphere_checksum(SAMPLES, 1000) ^ 1, "pcm", "01", 1, -1), 0, 0,
         TP_EFORMAT, "sample_checksum")
    CASE("coding", "NIST_1A", fields(1000, -1, "pcm,embedded-shorten-v2.00", "01", 1, -1), 0, 0, TP_EFORMAT,
         "sample_coding")
    CASE("ulaw", "NIST_1A", fields(1000, -1, "ulaw", "01", 1, -1), 0, 0, TP_EFORMAT, "only uncompressed")
    CASE("order", "NIST_1A", fields(1000, -1, "pcm", "1", 1, -1), 0, 0, TP_EFORMAT, "sample_byte_format")
    CASE("order2", "NIST_1A", fields(1000, -1, "pcm", "0123", 1, -1), 0, 0, TP_EFORMAT, "sample_byte_format")
    CASE("stereo", "NIST_1A", fields(1000, -1, "pcm", "01", 2, -1), 0, 0, TP_EFORMAT, "channel_count")
    CASE("huge", "NIST_1A", fields(1000, -1, "pcm", "01", 1, 2000000000L), 0, 0, TP_ERANGE, "over the limit")
    CASE("count", "NIST_1A", fields(1000, -1, "pcm", "01", 1, 1001), 0, 0, TP_EFORMAT, "truncated")
    CASE("trailing", "NIST_1A", fields(1000, -1, "pcm", "01", 1, -1), 0, 3, TP_EFORMAT, "trailing bytes")
    CASE("badline", "NIST_1A", "sample_count 1000\n", 0, 0, TP_EFORMAT, "header line 3")
    CASE("noend", "NIST_1A", "", 0, 0, TP_EFORMAT, "no sample_count")
#undef CASE
    /* a truncated copy: the header says 1000 samples, the file stops after 500 */
    snprintf(p, sizeof p, "%s/trunc.sph", d);
    write_sph(p, "NIST_1A", 1024, fields(1000, -1, "pcm", "01", 1, -1), SAMPLES, 500, 0, 0);
    expect_bad(p, TP_EFORMAT, "truncated");
    /* cut inside the header */
    assert_int_equal(truncate(p, 600), 0);
    expect_bad(p, TP_EFORMAT, "truncated");
    /* a header-size line claiming 1 GB */
    snprintf(p, sizeof p, "%s/hdr.sph", d);
    assert_int_equal(th_write_file(p, "NIST_1A\n1000000000\nend_head\n", 28), 0);
    expect_bad(p, TP_EFORMAT, "header size");
    /* the cap given by the caller */
    snprintf(p, sizeof p, "%s/cap.sph", d);
    write_sph(p, "NIST_1A", 1024, fields(1000, -1, "pcm", "01", 1, -1), SAMPLES, 1000, 0, 0);
    SphereAudio a;
    assert_int_equal(sphere_read(p, 999, &a), TP_ERANGE);
    assert_int_equal(sphere_read(p, 1000, &a), TP_OK);
    sphere_free(&a);
    /* a symlink to a good file, and a directory */
    char l[4300];
    snprintf(l, sizeof l, "%s/link.sph", d);
    assert_int_equal(symlink(p, l), 0);
    assert_int_not_equal(sphere_read(l, 0, &a), TP_OK);
    assert_null(a.samples);
    assert_int_equal(sphere_read(d, 0, &a), TP_EINVAL);
    snprintf(p, sizeof p, "%s/missing.sph", d);
    assert_int_equal(sphere_read(p, 0, &a), TP_ENOENT);
    th_rmtree(d);
    free(d);
}

static void test_parse_header(void **state)
{
    (void)state;
    SphereHeader h;
    const char *ok = "NIST_1A\n   1024\nsample_count -i 5  \nsample_rate -i 8000\nsample_n_bytes -i 2\n"
                     "sample_byte_format -s2 10\ndatabase_id -s7 TIMIT x\nend_head\n";
    /* "-s7 TIMIT x" has 7 bytes: accepted; the header is shorter than 1024 bytes here, so give n = 1024 */
    char buf[1024];
    memset(buf, ' ', sizeof buf);
    memcpy(buf, ok, strlen(ok));
    assert_int_equal(sphere_parse_header(buf, sizeof buf, "h", &h), TP_OK);
    assert_int_equal(h.sample_count, 5);
    assert_int_equal(h.sample_rate, 8000);
    assert_int_equal(h.big_endian, 1);
    assert_int_equal(h.has_checksum, 0);
    /* a string whose declared length is wrong */
    const char *bad = "NIST_1A\n   1024\nsample_count -i 5\nsample_byte_format -s3 01\nend_head\n";
    memset(buf, ' ', sizeof buf);
    memcpy(buf, bad, strlen(bad));
    assert_int_equal(sphere_parse_header(buf, sizeof buf, "h", &h), TP_EFORMAT);
    assert_msg_has("string length");
    /* an integer that is not one */
    const char *bad2 = "NIST_1A\n   1024\nsample_count -i 5x\nend_head\n";
    memset(buf, ' ', sizeof buf);
    memcpy(buf, bad2, strlen(bad2));
    assert_int_equal(sphere_parse_header(buf, sizeof buf, "h", &h), TP_EFORMAT);
    assert_msg_has("sample_count: expected an integer");
    /* sample_n_bytes 1 */
    const char *bad3 = "NIST_1A\n   1024\nsample_count -i 5\nsample_rate -i 8000\nsample_n_bytes -i 1\n"
                       "sample_byte_format -s2 01\nend_head\n";
    memset(buf, ' ', sizeof buf);
    memcpy(buf, bad3, strlen(bad3));
    assert_int_equal(sphere_parse_header(buf, sizeof buf, "h", &h), TP_EFORMAT);
    assert_msg_has("16-bit");
}

static void test_checksum(void **state)
{
    (void)state;
    const int16_t x[] = {-1, 1, 32767, 1, -32768};
    /* 0xffff + 1 = 0 (wraps); + 0x7fff + 1 = 0x8000; + 0x8000 = 0 */
    assert_int_equal(sphere_checksum(x, 5), 0);
    assert_int_equal(sphere_checksum(x, 3), 32767);
    assert_int_equal(sphere_checksum(x, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_an4),
        cmocka_unit_test(test_good_and_big_endian),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_parse_header),
        cmocka_unit_test(test_checksum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
