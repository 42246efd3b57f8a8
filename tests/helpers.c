/* tests/helpers: see helpers.h. */
#include "helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *th_tempdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/topiary-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(tmpl)) return NULL;
    return strdup(tmpl);
}

void th_rmtree(const char *path)
{
    if (!path || strncmp(path, "/tmp/", 5) != 0) return; /* refuse anything that is not ours */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", path);
}

double th_max_rel_diff(const float *a, const float *b, size_t n, double floor)
{
    double d = 0.0, s = floor;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]), m = fabs((double)b[i]);
        d = e > d ? e : d;
        s = m > s ? m : s;
    }
    return d / s;
}

void th_fill_uniform(float *x, size_t n, float lo, float hi, Rng *r)
{
    for (size_t i = 0; i < n; i++) x[i] = rng_range(r, lo, hi);
}

const char *th_shared_data(const char *sub)
{
    static char buf[4096];
    const char *root = getenv("TOPIARY_SHARED");
    struct stat st;
    snprintf(buf, sizeof buf, "%s/data/%s", root && *root ? root : "../shared", sub);
    return stat(buf, &st) == 0 ? buf : NULL;
}

int th_write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(text, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

int th_write_words(const char *dir, const char *name, int n_lines, uint32_t seed, int n_words, int span)
{
    static const char *const WORDS[] = {"the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to", "house",
                                        "big", "small", "red", "tree", "under", "over", "bird", "sang", "and",
                                        "then", "slept", "in", "sun", "rain"};
    if (n_words < 1 || n_words > 24 || span < 1) return -1;
    size_t cap = (size_t)n_lines * 80 + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) return -1;
    uint32_t x = seed;
    for (int i = 0; i < n_lines; i++) {
        x = x * 1664525u + 1013904223u;
        int n = 3 + (int)((x >> 16) % (uint32_t)span);
        for (int k = 0; k < n; k++) {
            x = x * 1664525u + 1013904223u;
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", k ? " " : "", WORDS[(x >> 16) % (uint32_t)n_words]);
        }
        buf[len++] = '\n';
    }
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int rc = th_write_file(p, buf, len);
    free(buf);
    return rc;
}
