/* tests/fuzz/fuzz_seed.h: shared by the libFuzzer targets.  fuzz_corpus_dir() finds the corpus
 * directory on the fuzzer's command line (the first argument that is not a -flag), so that
 * LLVMFuzzerInitialize can drop seed inputs into it: the seeds then follow the current formats
 * instead of going stale in the repository. */
#ifndef TP_FUZZ_SEED_H
#define TP_FUZZ_SEED_H

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *fuzz_corpus_dir(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (argv[i][0] != '-' && stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) return argv[i];
    }
    return NULL;
}

static void fuzz_write_seed(const char *dir, const char *name, const void *data, size_t n)
{
    if (!dir) return;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

#endif
