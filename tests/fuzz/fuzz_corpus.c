/* tests/fuzz/fuzz_corpus: libFuzzer target for the corpus loader (engine/corpus,
 * corpus_load_text) at word and char level, then again with the vocabulary it built (the path a
 * saved session takes).  Any text is loaded or refused; every id of a loaded corpus is < n_vocab. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/corpus.h"
#include "fuzz_seed.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = fuzz_corpus_dir(*argc, *argv);
    char text[4096];
    size_t n = 0;
    for (int i = 0; i < 30; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s line %d h\xc3\xa9 \xe2\x82\xac\n",
                              i % 3 ? "the cat" : "a dog <unk>", i);
    fuzz_write_seed(dir, "seed-lines", text, n);
    return 0;
}

static void check(const Corpus *c)
{
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < c->n_ids[k]; i++)
            if (c->ids[k][i] < 0 || c->ids[k][i] >= c->n_vocab) abort();
    for (int i = 0; i < c->n_vocab; i++)
        if (corpus_lookup(c, c->vocab[i]) != i) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int level = 0; level < 2; level++) {
        Corpus c, d;
        memset(&c, 0, sizeof c);
        memset(&d, 0, sizeof d);
        TpStatus st = corpus_load_text(&c, "fuzz.txt", (const char *)data, size, (CorpusLevel)level, 1000, NULL, 0);
        if (st == TP_OK) {
            check(&c);
            /* the same text with the vocabulary just built: must load, to the same ids */
            st = corpus_load_text(&d, "fuzz.txt", (const char *)data, size, (CorpusLevel)level, 0, c.vocab, c.n_vocab);
            if (st != TP_OK) abort();
            for (int k = 0; k < 3; k++)
                if (d.n_ids[k] != c.n_ids[k] || memcmp(d.ids[k], c.ids[k], c.n_ids[k] * sizeof(int32_t))) abort();
            corpus_free(&d);
        }
        corpus_free(&c);
    }
    return 0;
}
