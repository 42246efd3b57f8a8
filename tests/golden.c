/* tests/golden: see golden.h. */
#include "golden.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    for (size_t got; b && (got = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    if (b) b[n] = '\0';
    return b;
}

int golden_check(const char *name, const char *got)
{
    const char *dir = getenv("TOPIARY_GOLDEN_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/golden", name);
    const char *upd = getenv("TOPIARY_UPDATE_GOLDEN");
    if (upd && !strcmp(upd, "1")) {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(got, 1, strlen(got), f) != strlen(got) || fclose(f) != 0) {
            fprintf(stderr, "golden: cannot write %s\n", path);
            return -1;
        }
        fprintf(stderr, "golden: wrote %s\n", path);
        return 0;
    }
    char *want = slurp(path);
    if (!want) {
        fprintf(stderr, "golden: cannot read %s (run from the repository root, or set TOPIARY_GOLDEN_DIR; "
                        "TOPIARY_UPDATE_GOLDEN=1 writes it)\n", path);
        return -1;
    }
    int same = !strcmp(want, got);
    if (!same) {
        size_t i = 0;
        while (want[i] && want[i] == got[i]) i++;
        fprintf(stderr, "golden: %s differs at byte %zu\n--- expected\n%s--- got\n%s---\n", path, i, want, got);
    }
    free(want);
    return same ? 0 : -1;
}
