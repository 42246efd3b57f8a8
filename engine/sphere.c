/* engine/sphere: NIST SPHERE header parsing and 16-bit PCM sample reading (see sphere.h). */
#include "engine/sphere.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"

#define FIELD_LINE_MAX 1024

uint16_t sphere_checksum(const int16_t *x, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++) s = (s + (uint16_t)x[i]) & 0xffffu;
    return (uint16_t)s;
}

/* A decimal integer filling the whole token [p, p+n): optional sign, digits, no overflow. */
static int parse_long(const char *p, size_t n, long *v)
{
    char tmp[32];
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!((tmp[i] >= '0' && tmp[i] <= '9') || (i == 0 && (tmp[i] == '-' || tmp[i] == '+')))) return -1;
    errno = 0;
    char *end;
    long x = strtol(tmp, &end, 10);
    if (errno || *end) return -1;
    *v = x;
    return 0;
}

typedef struct {
    int seen_count, seen_rate, seen_nbytes, seen_channels, seen_order;
    long n_bytes, channels;
} Seen;

/* One "name -type value" line (no '\n'), len bytes. */
static TpStatus field(const char *line, size_t len, const char *name, long lineno, SphereHeader *h, Seen *s)
{
    const char *sp = memchr(line, ' ', len);
    if (!sp || sp == line) return err_set(TP_EFORMAT, "%s: header line %ld: expected 'name -type value'", name, lineno);
    size_t nlen = (size_t)(sp - line);
    const char *t = sp + 1, *end = line + len;
    if (end - t < 2 || t[0] != '-')
        return err_set(TP_EFORMAT, "%s: header line %ld (%.*s): expected a type -i, -r or -sN", name, lineno,
                       (int)nlen, line);
    const char *vsp = memchr(t, ' ', (size_t)(end - t));
    if (!vsp) return err_set(TP_EFORMAT, "%s: header line %ld (%.*s): no value", name, lineno, (int)nlen, line);
    const char *val = vsp + 1;
    size_t vlen = (size_t)(end - val);
    char type = t[1];
    if (type != 's')  /* a number may be followed by blanks; a string's length counts every byte */
        while (vlen > 0 && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t')) vlen--;
    if (type == 's') {
        long slen;
        if (parse_long(t + 2, (size_t)(vsp - t - 2), &slen) || slen < 0 || (size_t)slen != vlen)
            return err_set(TP_EFORMAT, "%s: header line %ld (%.*s): string length %.*s does not match its value",
                           name, lineno, (int)nlen, line, (int)(vsp - t), t);
    } else if (!((type == 'i' || type == 'r') && vsp == t + 2)) {
        return err_set(TP_EFORMAT, "%s: header line %ld (%.*s): unknown type '%.*s'", name, lineno, (int)nlen, line,
                       (int)(vsp - t), t);
    }
#define IS(k) (nlen == sizeof(k) - 1 && memcmp(line, k, nlen) == 0)
#define INT_FIELD(k, dst, seenflag)                                                                          \
    if (IS(k)) {                                                                                             \
        if (type != 'i' || parse_long(val, vlen, &(dst)))                                                   \
            return err_set(TP_EFORMAT, "%s: %s: expected an integer (-i), got '%.*s'", name, k, (int)vlen, val); \
        seenflag = 1;                                                                                        \
        return TP_OK;                                                                                        \
    }
    INT_FIELD("sample_count", h->sample_count, s->seen_count)
    INT_FIELD("sample_rate", h->sample_rate, s->seen_rate)
    INT_FIELD("sample_n_bytes", s->n_bytes, s->seen_nbytes)
    INT_FIELD("channel_count", s->channels, s->seen_channels)
    INT_FIELD("sample_checksum", h->checksum, h->has_checksum)
#undef INT_FIELD
    if (IS("sample_coding")) {
        if (type != 's' || !(vlen == 3 && memcmp(val, "pcm", 3) == 0))
            return err_set(TP_EFORMAT, "%s: sample_coding '%.*s': only uncompressed 16-bit pcm is read", name,
                           (int)vlen, val);
        return TP_OK;
    }
    if (IS("sample_byte_format")) {
        if (type == 's' && vlen == 2 && memcmp(val, "01", 2) == 0) h->big_endian = 0;
        else if (type == 's' && vlen == 2 && memcmp(val, "10", 2) == 0) h->big_endian = 1;
        else
            return err_set(TP_EFORMAT, "%s: sample_byte_format '%.*s': expected 01 (little endian) or 10 (big endian)",
                           name, (int)vlen, val);
        s->seen_order = 1;
        return TP_OK;
    }
#undef IS
    return TP_OK;
}

TpStatus sphere_parse_header(const char *buf, size_t n, const char *name, SphereHeader *h)
{
    memset(h, 0, sizeof *h);
    if (n < 16 || memcmp(buf, "NIST_1A\n", 8) != 0)
        return err_set(TP_EFORMAT, "%s: not a NIST SPHERE file (no NIST_1A magic)", name);
    const char *p = buf + 8, *end = buf + n;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return err_set(TP_EFORMAT, "%s: header size line missing", name);
    const char *q = p;
    while (q < nl && *q == ' ') q++;
    long hb;
    if (parse_long(q, (size_t)(nl - q), &hb) || hb < 16 || hb > SPHERE_HEADER_MAX)
        return err_set(TP_EFORMAT, "%s: header size '%.*s' is not a number in [16, %d]", name, (int)(nl - p), p,
                       SPHERE_HEADER_MAX);
    if ((size_t)hb > n) return err_set(TP_EFORMAT, "%s: header of %ld bytes, but the file is shorter", name, hb);
    h->header_bytes = hb;
    end = buf + hb;
    p = nl + 1;
    Seen s = {0};
    long lineno = 2;
    int ended = 0;
    while (p < end) {
        lineno++;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;
        size_t len = (size_t)(nl - p);
        if (len > FIELD_LINE_MAX)
            return err_set(TP_EFORMAT, "%s: header line %ld over %d bytes", name, lineno, FIELD_LINE_MAX);
        if (len == 8 && memcmp(p, "end_head", 8) == 0) { ended = 1; break; }
        if (memchr(p, '\0', len)) return err_set(TP_EFORMAT, "%s: header line %ld holds a NUL byte", name, lineno);
        TpStatus st = field(p, len, name, lineno, h, &s);
        if (st) return st;
        p = nl + 1;
    }
    if (!ended) return err_set(TP_EFORMAT, "%s: no end_head within the %ld-byte header", name, hb);
    if (!s.seen_count) return err_set(TP_EFORMAT, "%s: no sample_count in the header", name);
    if (!s.seen_rate) return err_set(TP_EFORMAT, "%s: no sample_rate in the header", name);
    if (!s.seen_order) return err_set(TP_EFORMAT, "%s: no sample_byte_format in the header", name);
    if (s.seen_nbytes && s.n_bytes != 2)
        return err_set(TP_EFORMAT, "%s: sample_n_bytes %ld: only 16-bit samples are read", name, s.n_bytes);
    if (!s.seen_nbytes) return err_set(TP_EFORMAT, "%s: no sample_n_bytes in the header", name);
    if (s.seen_channels && s.channels != 1)
        return err_set(TP_EFORMAT, "%s: channel_count %ld: only mono is read", name, s.channels);
    if (h->sample_count <= 0) return err_set(TP_EFORMAT, "%s: sample_count %ld: expected > 0", name, h->sample_count);
    if (h->sample_rate <= 0) return err_set(TP_EFORMAT, "%s: sample_rate %ld: expected > 0", name, h->sample_rate);
    if (h->has_checksum && (h->checksum < 0 || h->checksum > 65535))
        return err_set(TP_EFORMAT, "%s: sample_checksum %ld: expected 0..65535", name, h->checksum);
    return TP_OK;
}

static TpStatus read_exact(int fd, void *buf, size_t n, const char *name)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return err_set(TP_EIO, "%s: read: %s", name, strerror(errno));
        if (r == 0) return err_set(TP_EFORMAT, "%s: file ends early (truncated)", name);
        p += r;
        n -= (size_t)r;
    }
    return TP_OK;
}

TpStatus sphere_read(const char *path, size_t max_samples, SphereAudio *out)
{
    memset(out, 0, sizeof *out);
    if (max_samples == 0) max_samples = SPHERE_MAX_SAMPLES_DEFAULT;
    int fd = -1;
    uint64_t bytes = 0;
    char *hdr = NULL;
    int16_t *x = NULL;
    TpStatus st = fsutil_open_regular(path, FSUTIL_NOFOLLOW, "read", &fd, &bytes);
    if (st) return st;
    /* The header size is on line 2 of the first 1024 bytes; read those, then the rest if it is longer. */
    size_t first = bytes < 1024 ? (size_t)bytes : 1024;
    hdr = malloc(SPHERE_HEADER_MAX + 1);
    if (!hdr) { st = err_set(TP_ENOMEM, "%s: out of memory", path); goto fail; }
    if ((st = read_exact(fd, hdr, first, path))) goto fail;
    if (first < 16 || memcmp(hdr, "NIST_1A\n", 8) != 0) {
        st = err_set(TP_EFORMAT, "%s: not a NIST SPHERE file (no NIST_1A magic)", path);
        goto fail;
    }
    long hb = 0;
    {
        const char *nl = memchr(hdr + 8, '\n', first - 8);
        const char *q = hdr + 8;
        while (nl && q < nl && *q == ' ') q++;
        if (!nl || parse_long(q, (size_t)(nl - q), &hb) || hb < 16 || hb > SPHERE_HEADER_MAX) {
            st = err_set(TP_EFORMAT, "%s: header size on line 2 is not a number in [16, %d]", path, SPHERE_HEADER_MAX);
            goto fail;
        }
    }
    if ((uint64_t)hb > bytes) {
        st = err_set(TP_EFORMAT, "%s: header of %ld bytes, but the file has %llu (truncated)", path, hb,
                     (unsigned long long)bytes);
        goto fail;
    }
    if ((size_t)hb > first && (st = read_exact(fd, hdr + first, (size_t)hb - first, path))) goto fail;
    if ((st = sphere_parse_header(hdr, (size_t)hb, path, &out->h))) goto fail;
    SphereHeader *h = &out->h;
    if ((unsigned long)h->sample_count > max_samples) {
        st = err_set(TP_ERANGE, "%s: sample_count %ld is over the limit of %zu samples", path, h->sample_count,
                     max_samples);
        goto fail;
    }
    uint64_t want = (uint64_t)h->header_bytes + 2u * (uint64_t)h->sample_count;
    if (bytes != want) {
        st = err_set(TP_EFORMAT, "%s: %llu bytes, but header %ld + 2 x sample_count %ld = %llu (%s)", path,
                     (unsigned long long)bytes, h->header_bytes, h->sample_count, (unsigned long long)want,
                     bytes < want ? "truncated" : "trailing bytes");
        goto fail;
    }
    size_t n = (size_t)h->sample_count;
    x = malloc(n * sizeof *x);
    if (!x) { st = err_set(TP_ENOMEM, "%s: out of memory for %zu samples", path, n); goto fail; }
    if ((st = read_exact(fd, x, n * 2, path))) goto fail;
    /* Bytes on disk -> host order (the build targets little-endian x86-64 and aarch64). */
    unsigned char *b = (unsigned char *)x;
    for (size_t i = 0; i < n; i++) {
        unsigned lo = h->big_endian ? b[2 * i + 1] : b[2 * i], hi = h->big_endian ? b[2 * i] : b[2 * i + 1];
        x[i] = (int16_t)(uint16_t)(lo | hi << 8);
    }
    if (h->has_checksum) {
        uint16_t got = sphere_checksum(x, n);
        if (got != (uint16_t)h->checksum) {
            st = err_set(TP_EFORMAT, "%s: sample_checksum %ld in the header, but the samples sum to %u", path,
                         h->checksum, (unsigned)got);
            goto fail;
        }
    }
    close(fd);
    free(hdr);
    out->samples = x;
    out->n_samples = n;
    return TP_OK;
fail:
    if (fd >= 0) close(fd);
    free(hdr);
    free(x);
    memset(out, 0, sizeof *out);
    return st;
}

void sphere_free(SphereAudio *a)
{
    if (!a) return;
    free(a->samples);
    memset(a, 0, sizeof *a);
}
