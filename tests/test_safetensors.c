/* tests/test_safetensors: writer/reader round trip, the exact byte format, and refusal of every
 * kind of malformed file (hand-built buffers through safetensors_parse, truncations, byte flips).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/safetensors.h"
#include "engine/safetensors_writer.h"
#include "base/fsutil.h"

/* ==== Fixture and helpers ==== */

static char tdir[64];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tdir, sizeof tdir, "/tmp/test_safetensors.XXXXXX");
    return mkdtemp(tdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(tdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A malloc'd file image: 8-byte little-endian length of 'json', 'json', then 'dn' data bytes. */
static void *build(const char *json, const void *data, size_t dn, size_t *n)
{
    size_t hl = strlen(json);
    unsigned char *b = malloc(8 + hl + dn + 1);
    assert_non_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, json, hl);
    if (dn)
        memcpy(b + 8 + hl, data, dn);
    *n = 8 + hl + dn;
    return b;
}

/* Parse a hand-built file and expect refusal with 'code' and 'why' in the message. */
static void expect_reject_data(const char *json, const void *data, size_t dn, TpStatus code, const char *why)
{
    size_t n;
    void *b = build(json, data, dn, &n);
    SafetensorsFile f;
    TpStatus rc = safetensors_parse(&f, b, n, NULL);
    if (rc != code || !strstr(err_msg(), why))
        fail_msg("header %s: got %d '%s', expected %d '%s'", json, rc, err_msg(), code, why);
    assert_int_equal(f.n, 0); /* nothing escapes a failed parse */
    assert_null(f.buf);
}

static const unsigned char zeros[64];

static void expect_reject(const char *json, size_t dn, const char *why)
{
    expect_reject_data(json, zeros, dn, TP_EFORMAT, why);
}

/* A small valid file with several dtypes, as the writer makes it. */
static void *sample_file(size_t *n)
{
    SafetensorsWriter *w = safetensors_writer_new();
    assert_non_null(w);
    float f32[6] = { 1.5f, -2.0f, 0.0f, 3.25f, 1e-40f, -0.0f };
    uint8_t u8[5] = { 0, 1, 1, 0, 255 };
    int16_t i16[3] = { -32768, 0, 32767 };
    double f64[2] = { 3.141592653589793, -1e300 };
    int64_t s23[2] = { 2, 3 }, s5[1] = { 5 }, s3[1] = { 3 }, s2[1] = { 2 };
    assert_int_equal(safetensors_writer_add(w, "mask.l0.w_hh", SAFETENSORS_U8, 1, s5, u8), TP_OK);
    assert_int_equal(safetensors_writer_add(w, "l0.w_hh", SAFETENSORS_F32, 2, s23, f32), TP_OK);
    assert_int_equal(safetensors_writer_add(w, "idx", SAFETENSORS_I16, 1, s3, i16), TP_OK);
    assert_int_equal(safetensors_writer_add(w, "d", SAFETENSORS_F64, 1, s2, f64), TP_OK);
    assert_int_equal(safetensors_writer_meta(w, "topiary", "{\"hidden\":[3]}"), TP_OK);
    void *buf;
    assert_int_equal(safetensors_writer_serialize(w, &buf, n), TP_OK);
    safetensors_writer_delete(w);
    return buf;
}

/* ==== Round trip and format ==== */

static void test_round_trip(void **state)
{
    (void)state;
    float f32[6] = { 1.5f, -2.0f, 0.0f, 3.25f, 1e-40f /* subnormal */, -0.0f };
    uint8_t u8[5] = { 0, 1, 1, 0, 255 };
    int16_t i16[3] = { -32768, 0, 32767 };
    int32_t i32[4] = { INT32_MIN, -1, 7, INT32_MAX };
    int64_t i64[1] = { INT64_MIN };
    double f64[2] = { 3.141592653589793, -1e300 };
    float scalar = 42.0f;
    int64_t s23[2] = { 2, 3 }, s5[1] = { 5 }, s3[1] = { 3 }, s22[2] = { 2, 2 }, s1[1] = { 1 },
            s2[1] = { 2 }, s04[2] = { 0, 4 }, s1111[4] = { 1, 1, 1, 1 };
    struct {
        const char *name;
        SafetensorsDtype dt;
        int ndim;
        const int64_t *shape;
        const void *data;
        size_t nbytes;
    } in[] = {
        { "mask.l0.w_hh", SAFETENSORS_U8, 1, s5, u8, sizeof u8 },
        { "l0.w_hh", SAFETENSORS_F32, 2, s23, f32, sizeof f32 },
        { "idx16", SAFETENSORS_I16, 1, s3, i16, sizeof i16 },
        { "row_ptr", SAFETENSORS_I32, 2, s22, i32, sizeof i32 },
        { "step", SAFETENSORS_I64, 1, s1, i64, sizeof i64 },
        { "rng \"state\"\n", SAFETENSORS_F64, 1, s2, f64, sizeof f64 },
        { "scalar", SAFETENSORS_F32, 0, NULL, &scalar, sizeof scalar },
        { "empty", SAFETENSORS_F32, 2, s04, NULL, 0 },
        { "deep", SAFETENSORS_F32, 4, s1111, &scalar, sizeof scalar },
    };
    int n_in = (int)(sizeof in / sizeof in[0]);
    const char *config = "{\"cell\":\"lstm\",\"hidden\":[650,650],\"note\":\"tab\\t é\"}";

    SafetensorsWriter *w = safetensors_writer_new();
    assert_non_null(w);
    for (int i = 0; i < n_in; i++)
        assert_int_equal(safetensors_writer_add(w, in[i].name, in[i].dt, in[i].ndim, in[i].shape, in[i].data),
                         TP_OK);
    assert_int_equal(safetensors_writer_meta(w, "topiary", "placeholder"), TP_OK);
    assert_int_equal(safetensors_writer_meta(w, "topiary", config), TP_OK); /* replaces */
    assert_int_equal(safetensors_writer_meta(w, "format", "pt"), TP_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/model.safetensors", tdir);
    assert_int_equal(safetensors_writer_save(w, path), TP_OK);
    void *ser;
    size_t n_ser;
    assert_int_equal(safetensors_writer_serialize(w, &ser, &n_ser), TP_OK);
    safetensors_writer_delete(w);

    SafetensorsFile f;
    assert_int_equal(safetensors_read(&f, path, NULL), TP_OK);
    assert_int_equal(f.buf_size, n_ser); /* save and serialize produce the same bytes */
    void *disk;
    size_t n_disk;
    assert_int_equal(fsutil_read_file(path, 1 << 20, &disk, &n_disk), TP_OK);
    assert_memory_equal(disk, ser, n_ser);
    free(disk);
    free(ser);

    assert_int_equal(f.n, n_in);
    for (int i = 0; i < n_in; i++) {
        const SafetensorsTensor *t = safetensors_find(&f, in[i].name);
        assert_non_null(t);
        assert_ptr_equal(t, &f.t[i]); /* header order = insertion order */
        assert_int_equal(t->dtype, in[i].dt);
        assert_int_equal(t->ndim, in[i].ndim);
        size_t elems = 1;
        for (int d = 0; d < t->ndim; d++) {
            assert_int_equal(t->shape[d], in[i].shape[d]);
            elems *= (size_t)in[i].shape[d];
        }
        assert_int_equal(t->n_elems, elems);
        assert_int_equal(t->nbytes, in[i].nbytes);
        if (t->nbytes)
            assert_memory_equal(t->data, in[i].data, t->nbytes); /* bit-identical, -0.0 included */
        assert_int_equal((uintptr_t)t->data % safetensors_dtype_size(t->dtype), 0);
    }
    assert_null(safetensors_find(&f, "nope"));
    assert_int_equal(f.n_meta, 2);
    assert_string_equal(safetensors_meta(&f, "topiary"), config);
    assert_string_equal(safetensors_meta(&f, "format"), "pt");
    assert_null(safetensors_meta(&f, "absent"));
    safetensors_free(&f);
    safetensors_free(&f); /* harmless twice */
}

static void test_golden_bytes(void **state)
{
    (void)state;
    /* Inserted U8 first, F32 second: the header keeps that order, the buffer puts the wider F32
     * first, and the header is padded with spaces to a multiple of 8 (132 -> 136 bytes). */
    static const char header[] =
        "{\"__metadata__\":{\"k\":\"v\"},"
        "\"m\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}    ";
    static const unsigned char data[11] = { 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 7, 8, 9 };
    unsigned char expect[8 + 136 + 11] = { 136, 0, 0, 0, 0, 0, 0, 0 };
    assert_int_equal(sizeof header - 1, 136);
    memcpy(expect + 8, header, 136);
    memcpy(expect + 8 + 136, data, sizeof data);

    SafetensorsWriter *w = safetensors_writer_new();
    uint8_t m[3] = { 7, 8, 9 };
    float a[2] = { 1.0f, 2.0f };
    int64_t s3[1] = { 3 }, s2[1] = { 2 };
    assert_int_equal(safetensors_writer_add(w, "m", SAFETENSORS_U8, 1, s3, m), TP_OK);
    assert_int_equal(safetensors_writer_add(w, "a", SAFETENSORS_F32, 1, s2, a), TP_OK);
    assert_int_equal(safetensors_writer_meta(w, "k", "v"), TP_OK);
    void *buf;
    size_t n;
    assert_int_equal(safetensors_writer_serialize(w, &buf, &n), TP_OK);
    safetensors_writer_delete(w);
    assert_int_equal(n, sizeof expect);
    assert_memory_equal(buf, expect, n);
    free(buf);

    /* The next three are the byte vectors of the reference implementation's own tests
     * (test_empty, test_serialization_forced_alignement): we write what it writes. */
    w = safetensors_writer_new();
    assert_int_equal(safetensors_writer_serialize(w, &buf, &n), TP_OK);
    safetensors_writer_delete(w);
    assert_int_equal(n, 16);
    assert_memory_equal(buf, "\x08\0\0\0\0\0\0\0{}      ", 16);
    SafetensorsFile f;
    assert_int_equal(safetensors_parse(&f, buf, n, NULL), TP_OK);
    assert_int_equal(f.n, 0);
    safetensors_free(&f);

    w = safetensors_writer_new();
    assert_int_equal(safetensors_writer_meta(w, "framework", "pt"), TP_OK);
    assert_int_equal(safetensors_writer_serialize(w, &buf, &n), TP_OK);
    safetensors_writer_delete(w);
    assert_int_equal(n, 48);
    assert_memory_equal(buf, "\x28\0\0\0\0\0\0\0{\"__metadata__\":{\"framework\":\"pt\"}}     ", 48);
    assert_int_equal(safetensors_parse(&f, buf, n, NULL), TP_OK);
    assert_string_equal(safetensors_meta(&f, "framework"), "pt");
    safetensors_free(&f);

    w = safetensors_writer_new();
    float attn[6] = { 0, 1, 2, 3, 4, 5 };
    int64_t s1123[4] = { 1, 1, 2, 3 };
    assert_int_equal(safetensors_writer_add(w, "attn0", SAFETENSORS_F32, 4, s1123, attn), TP_OK);
    assert_int_equal(safetensors_writer_serialize(w, &buf, &n), TP_OK);
    safetensors_writer_delete(w);
    assert_int_equal(n, 8 + 72 + 24);
    assert_memory_equal(buf,
                        "\x48\0\0\0\0\0\0\0{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],"
                        "\"data_offsets\":[0,24]}}       "
                        "\0\0\0\0\0\0\x80\x3f\0\0\0\x40\0\0\x40\x40\0\0\x80\x40\0\0\xa0\x40",
                        n);
    free(buf);
}

static void test_writer_rejects_bad_input(void **state)
{
    (void)state;
    SafetensorsWriter *w = safetensors_writer_new();
    float x[4] = { 0 };
    int64_t s4[1] = { 4 }, neg[1] = { -1 }, s9[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    assert_int_equal(safetensors_writer_add(w, "x", SAFETENSORS_F32, 1, s4, x), TP_OK);
    assert_int_equal(safetensors_writer_add(w, "x", SAFETENSORS_F32, 1, s4, x), TP_EINVAL);
    assert_non_null(strstr(err_msg(), "duplicate"));
    assert_int_equal(safetensors_writer_add(w, "__metadata__", SAFETENSORS_F32, 1, s4, x), TP_EINVAL);
    assert_int_equal(safetensors_writer_add(w, "", SAFETENSORS_F32, 1, s4, x), TP_EINVAL);
    assert_int_equal(safetensors_writer_add(w, "y", SAFETENSORS_F32, 1, neg, x), TP_EINVAL);
    assert_int_equal(safetensors_writer_add(w, "y", SAFETENSORS_F32, 9, s9, x), TP_EINVAL);
    assert_int_equal(safetensors_writer_add(w, "y", SAFETENSORS_F32, 1, s4, NULL), TP_EINVAL);
    assert_int_equal(safetensors_writer_add(w, "y", (SafetensorsDtype)17, 1, s4, x), TP_EINVAL);
    assert_int_equal(safetensors_writer_meta(w, "k", NULL), TP_EINVAL);
    safetensors_writer_delete(w);
    safetensors_writer_delete(NULL);
}

/* ==== Rejections ==== */

/* Header fragments: entry ENT(name, dtype, shape, offsets) and a file holding one tensor 'a'. */
#define ENT(name, dt, shape, offs) \
    "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" offs "}"
#define ONE(dt, shape, offs) "{" ENT("a", dt, shape, offs) "}"
#define T_A ENT("a", "F32", "[1]", "[0,4]")

static void test_reject_framing(void **state)
{
    (void)state;
    SafetensorsFile f;
    unsigned char *b = malloc(5);
    memset(b, 0, 5);
    assert_int_equal(safetensors_parse(&f, b, 5, NULL), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "too short"));
    assert_int_equal(safetensors_parse(&f, NULL, 0, NULL), TP_EFORMAT);

    /* A length larger than the file, then one over the header limit. */
    size_t n;
    b = build("{}", NULL, 0, &n);
    b[0] = 200;
    assert_int_equal(safetensors_parse(&f, b, n, NULL), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "exceeds the file size"));
    b = build("{}", NULL, 0, &n);
    b[6] = 1; /* 2^48 */
    assert_int_equal(safetensors_parse(&f, b, n, NULL), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "over the limit"));
    assert_non_null(strstr(err_msg(), "safetensors buffer")); /* names what it read */

    expect_reject("{\"a\":", 0, "not valid JSON");
    expect_reject("", 0, "not valid JSON");
    expect_reject("[1,2]", 0, "not a JSON object");
    expect_reject("{} x", 0, "garbage after the JSON");
    expect_reject("{}", 4, "4 trailing bytes");
}

static void test_reject_entries(void **state)
{
    (void)state;
    expect_reject("{\"a\":3}", 0, "tensor 'a': entry is not a JSON object");
    expect_reject("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing dtype");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing shape");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a': missing data_offsets");
    expect_reject("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype is not a string");
    expect_reject(ONE("F32", "\"1\"", "[0,4]"), 4, "shape is not an array");
    expect_reject(ONE("F32", "[1]", "{}"), 4, "not an array of 2 integers");
    expect_reject(ONE("BF16", "[2]", "[0,4]"), 4, "unknown dtype 'BF16'");
    expect_reject(ONE("F32", "[-1]", "[0,4]"), 4, "shape[0] is negative");
    expect_reject(ONE("F32", "[1,1.5]", "[0,4]"), 4, "shape[1] is not an integer");
    expect_reject(ONE("F32", "[\"1\"]", "[0,4]"), 4, "shape[0] is not a number");
    expect_reject(ONE("F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]"), 4, "9 dimensions");
    expect_reject(ONE("U8", "[4294967296,4294967296,4294967296]", "[0,4]"), 4, "too large");
    expect_reject("{" T_A ",\"__metadata__\":[]}", 4, "__metadata__ is not a JSON object");
    expect_reject("{" T_A ",\"__metadata__\":{\"k\":1}}", 4, "value of 'k' is not a string");
    expect_reject("{" T_A ",\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 4,
                  "duplicate __metadata__ key 'k'");
    expect_reject("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate name '__metadata__'");
    expect_reject("{" T_A "," T_A "}", 4, "duplicate tensor name 'a'");
}

static void test_reject_offsets(void **state)
{
    (void)state;
    expect_reject(ONE("F32", "[1]", "[0]"), 4, "not an array of 2 integers");
    expect_reject(ONE("F32", "[1]", "[0,4,8]"), 8, "not an array of 2");
    expect_reject(ONE("F32", "[1]", "[\"0\",4]"), 4, "not an array of 2");
    expect_reject(ONE("F32", "[1]", "[0.5,4]"), 4, "not an array of 2");
    expect_reject(ONE("F32", "[1]", "[-4,0]"), 4, "not an array of 2");
    expect_reject(ONE("F32", "[0]", "[8,4]"), 8, "begin 8 > end 4");
    expect_reject(ONE("F32", "[2]", "[0,8]"), 4, "end 8 is beyond");
    expect_reject(ONE("F32", "[3]", "[0,8]"), 8, "has 8 data bytes, its shape and dtype need 12");
    expect_reject("{" ENT("a", "F32", "[2]", "[0,8]") "," ENT("b", "F32", "[2]", "[4,12]") "}", 12,
                  "tensors 'a' and 'b' overlap");
    /* An empty tensor inside another one still overlaps it. */
    expect_reject("{" ENT("a", "F32", "[2]", "[0,8]") "," ENT("z", "F32", "[0]", "[4,4]") "}", 8, "overlap");
    expect_reject("{" ENT("a", "F32", "[1]", "[0,4]") "," ENT("b", "F32", "[1]", "[8,12]") "}", 12,
                  "gap of 4 unowned bytes before tensor 'b'");
    expect_reject("{" ENT("b", "F32", "[1]", "[4,8]") "}", 8, "gap of 4");
    expect_reject("{" T_A "}", 8, "4 trailing bytes after the last tensor");
    expect_reject("{" ENT("a", "U8", "[1]", "[0,1]") "," ENT("b", "F32", "[1]", "[1,5]") "}", 5,
                  "not a multiple of its 4-byte element size");
}

static void test_nonfinite(void **state)
{
    (void)state;
    float nan_f = NAN, inf_f = -INFINITY;
    double inf_d = INFINITY;
    expect_reject_data("{" T_A "}", &nan_f, 4, TP_EFORMAT, "tensor 'a': element 0 is NaN or infinite");
    expect_reject_data("{" T_A "}", &inf_f, 4, TP_EFORMAT, "NaN or infinite");
    double two[2] = { 1.0, inf_d };
    expect_reject_data("{" ENT("d", "F64", "[2]", "[0,16]") "}", two, 16, TP_EFORMAT,
                       "tensor 'd': element 1 is NaN or infinite");

    /* Accepted, bit for bit, when asked to. */
    size_t n;
    void *b = build("{" T_A "}", &nan_f, 4, &n);
    SafetensorsReadOpts o = { .allow_nonfinite = 1 };
    SafetensorsFile f;
    assert_int_equal(safetensors_parse(&f, b, n, &o), TP_OK);
    assert_true(isnan(*(const float *)f.t[0].data));
    assert_memory_equal(f.t[0].data, &nan_f, 4);
    safetensors_free(&f);

    /* Integer tensors may hold any bits. */
    uint32_t bits = 0x7fc00000u;
    b = build("{" ENT("i", "I32", "[1]", "[0,4]") "}", &bits, 4, &n);
    assert_int_equal(safetensors_parse(&f, b, n, NULL), TP_OK);
    safetensors_free(&f);
}

static void test_size_limit_and_missing(void **state)
{
    (void)state;
    size_t n;
    void *b = sample_file(&n);
    void *copy = malloc(n);
    memcpy(copy, b, n);
    SafetensorsReadOpts o = { .max_bytes = n - 1 };
    SafetensorsFile f;
    assert_int_equal(safetensors_parse(&f, b, n, &o), TP_ERANGE);
    o.max_bytes = n;
    assert_int_equal(safetensors_parse(&f, copy, n, &o), TP_OK);

    char path[128];
    snprintf(path, sizeof path, "%s/big.safetensors", tdir);
    assert_int_equal(fsutil_write_atomic(path, f.buf, n), TP_OK);
    safetensors_free(&f);
    o.max_bytes = 64;
    assert_int_equal(safetensors_read(&f, path, &o), TP_ERANGE);
    assert_non_null(strstr(err_msg(), "big.safetensors"));

    snprintf(path, sizeof path, "%s/missing.safetensors", tdir);
    assert_int_equal(safetensors_read(&f, path, NULL), TP_ENOENT);
    assert_non_null(strstr(err_msg(), "missing.safetensors"));

    /* A malformed file on disk is refused with its path in the message. */
    snprintf(path, sizeof path, "%s/bad.safetensors", tdir);
    b = build("{" T_A "}", zeros, 8, &n);
    assert_int_equal(fsutil_write_atomic(path, b, n), TP_OK);
    free(b);
    assert_int_equal(safetensors_read(&f, path, NULL), TP_EFORMAT);
    assert_non_null(strstr(err_msg(), "bad.safetensors: 4 trailing bytes"));
}

/* Header lengths that are not a multiple of 8 (other writers) still give aligned data. */
static void test_unpadded_header_aligned(void **state)
{
    (void)state;
    double v[2] = { 0.25, -8.5 };
    size_t n;
    const char *json = "{" ENT("v", "F64", "[2]", "[0,16]") "}";
    assert_true(strlen(json) % 8 != 0);
    void *b = build(json, v, sizeof v, &n);
    SafetensorsFile f;
    assert_int_equal(safetensors_parse(&f, b, n, NULL), TP_OK);
    const SafetensorsTensor *t = safetensors_find(&f, "v");
    assert_non_null(t);
    assert_int_equal((uintptr_t)t->data % 8, 0);
    assert_memory_equal(t->data, v, sizeof v);
    safetensors_free(&f);
}

/* ==== Robustness ==== */

static void test_truncation_refused(void **state)
{
    (void)state;
    size_t n;
    void *full = sample_file(&n);
    for (int k = 0; k < 16; k++) {
        size_t len = n * (size_t)k / 16;
        void *b = malloc(len ? len : 1);
        memcpy(b, full, len);
        SafetensorsFile f;
        TpStatus rc = safetensors_parse(&f, b, len, NULL);
        if (rc != TP_EFORMAT)
            fail_msg("truncated to %zu of %zu bytes: got %d", len, n, rc);
    }
    /* Sanity: the untruncated file is fine. */
    SafetensorsFile f;
    assert_int_equal(safetensors_parse(&f, full, n, NULL), TP_OK);
    assert_int_equal(f.n, 4);
    safetensors_free(&f);
}

static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void test_byte_flips_never_crash(void **state)
{
    (void)state;
    size_t n;
    void *full = sample_file(&n);
    const unsigned char *u = full;
    size_t hlen = 8 + (size_t)u[0] + ((size_t)u[1] << 8); /* the header is < 64 KiB here */
    uint32_t seed = 0x70b1a5u;
    int accepted = 0;
    for (int iter = 0; iter < 400; iter++) {
        unsigned char *b = malloc(n);
        memcpy(b, full, n);
        int flips = 1 + (int)(xorshift32(&seed) % 3);
        for (int j = 0; j < flips; j++) {
            /* Mostly hit the header, where the parser lives; sometimes the data. */
            size_t pos = xorshift32(&seed) % 4 ? xorshift32(&seed) % hlen : xorshift32(&seed) % n;
            b[pos] ^= (unsigned char)(1u << (xorshift32(&seed) % 8));
        }
        SafetensorsFile f;
        TpStatus rc = safetensors_parse(&f, b, n, NULL);
        assert_true(rc == TP_OK || rc == TP_EFORMAT || rc == TP_ERANGE);
        if (rc == TP_OK) {
            accepted++;
            for (int i = 0; i < f.n; i++) {
                const SafetensorsTensor *t = &f.t[i];
                assert_ptr_equal(safetensors_find(&f, t->name), t);
                assert_true((const char *)t->data + t->nbytes <= (const char *)f.buf + f.buf_size);
            }
            safetensors_meta(&f, "topiary");
        }
        safetensors_free(&f);
    }
    free(full);
    /* Flips in tensor data or whitespace are legitimately accepted; most header flips are not. */
    assert_true(accepted > 0 && accepted < 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_writer_rejects_bad_input),
        cmocka_unit_test(test_reject_framing),
        cmocka_unit_test(test_reject_entries),
        cmocka_unit_test(test_reject_offsets),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test_setup_teardown(test_size_limit_and_missing, setup, teardown),
        cmocka_unit_test(test_unpadded_header_aligned),
        cmocka_unit_test(test_truncation_refused),
        cmocka_unit_test(test_byte_flips_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
